import Equilibrium
import Foundation

/// `deq-bench profile`: one solver on one overhead-benchmark cell (tanh, ‖W‖₂ = 0.9, seed 11),
/// solved N times in a row, for a sampling profiler (`perf record -- deq-bench profile …`).
/// It prints the mean solve time, the mean time of one batched evaluation and their ratio
/// solve / (nfe × eval); the overhead benchmark (`deq-bench overhead`) is the one that judges.
enum ProfileLoop {
    struct Settings {
        var solver = BenchmarkSolver.broyden
        var dimension = 512
        var batchSize = 1
        var solves = 2000
    }

    /// Parses `SOLVER D B N` (e.g. `broyden 512 1 2000`; SOLVER is forward, anderson-m5,
    /// anderson-m20, broyden, newton-krylov (analytic J·v) or newton-krylov-fd). For Newton–Krylov
    /// the printed ratio counts f evaluations only, not its J·v products.
    static func settings(_ words: [String]) -> Settings? {
        var s = Settings()
        guard words.count == 4, let d = Int(words[1]), d >= 1, d <= 8192, let b = Int(words[2]), b >= 1, b <= 256,
              let n = Int(words[3]), n >= 1, n <= 1_000_000 else { return nil }
        switch words[0] {
        case "forward": s.solver = .forward
        case "anderson-m5": s.solver = .anderson(memory: 5)
        case "anderson-m20": s.solver = .anderson(memory: 20)
        case "broyden": s.solver = .broyden
        case "newton-krylov": s.solver = .newtonKrylov(products: .analytic)
        case "newton-krylov-fd": s.solver = .newtonKrylov(products: .finiteDifference)
        default: return nil
        }
        (s.dimension, s.batchSize, s.solves) = (d, b, n)
        return s
    }

    static func run(_ s: Settings) throws {
        let cell = try TanhCell.random(.init(dimension: s.dimension, batchSize: s.batchSize,
                                             spectralNorm: 0.9, symmetric: false, injectionScale: 1, seed: 11))
        let first = OverheadBenchmark.timeSolve(cell, s.solver, history: false)
        let nfe = first.result.mostEvaluations
        let evaluation = try OverheadBenchmark.evaluationSeconds(cell, burst: max(1, nfe))
        // The solver is made once, as in the overhead benchmark's timings (``OverheadBenchmark/timeSolve``).
        let made = s.solver.make(), stopping = OverheadBenchmark.criteria(history: false)
        let z0 = Matrix(rows: cell.batchSize, columns: cell.dimension)
        let start = monotonicSeconds()
        for _ in 0..<s.solves { _ = BenchmarkSolver.solve(made, cell, from: z0, criteria: stopping) }
        let solve = (monotonicSeconds() - start) / Double(s.solves)
        print("\(s.solver) d=\(s.dimension) B=\(s.batchSize): \(s.solves) solves, nfe \(nfe), "
              + "solve \(fixed(solve * 1e6, 1)) µs, eval \(fixed(evaluation * 1e6, 1)) µs, "
              + "ratio \(fixed(solve / (Double(nfe) * evaluation), 3))")
    }
}
