import Equilibrium
import Foundation

/// Benchmark 1: the solvers' own overhead.
///
///     ratio = median solve time / (nfe × median time of one batched evaluation)
///
/// (reported as the median over rounds of the ratio within a round, so that a slow drift of the
/// machine's load cancels), where nfe is the largest nfe over the samples (= the number of batched calls) and one batched
/// evaluation is `cell.evaluate` on all B rows, timed in the same run. The goal is ratio ≤ 1.10
/// for forward iteration and Anderson (m = 5). The ratio can fall below 1: converged samples
/// leave the batch, so late evaluations run on fewer rows than the full batch timed here.
enum OverheadBenchmark {
    static let goal = 1.10

    struct Case {
        var dimension: Int
        var batchSize: Int
    }

    static func run(_ options: BenchmarkOptions) throws {
        printSection("1. Overhead: solve time / (nfe × one batched evaluation)")
        print("""
        tanh cells f(z) = tanh(W z + x), W Gaussian non-symmetric with ‖W‖₂ = 0.9, x ~ N(0, I), z₀ = 0;
        tol 1e-8 relative, max 1000 iterations. \(options.repeats) rounds after a warm-up round. Each round times,
        interleaved, one batched evaluation (cell.evaluate on all B rows, the mean of a burst of nfe
        consecutive calls, so it is timed like the evaluations inside a solve) and every solve once.
        "ratio" is the median over rounds of solve / (nfe × eval) within the round; the times shown
        are medians over rounds.
        Ratio with history recording OFF (StoppingCriteria(recordHistory: false)) is the one judged;
        the ratio with history ON is shown beside it. "in f" / "own" split the solve time (history off)
        into time inside cell.evaluate and the solver's own work (compaction, residuals, Anderson
        least squares, bookkeeping), measured in separate runs with a timing wrapper around the cell.
        """)
        // Issue 13: d ∈ {512, 2048} × B ∈ {1, 8}; forward, Anderson m = 5 and 20, Broyden.
        let cases = options.quick ? [Case(dimension: 512, batchSize: 1), Case(dimension: 512, batchSize: 8)]
                                  : [Case(dimension: 512, batchSize: 1), Case(dimension: 512, batchSize: 8),
                                     Case(dimension: 2048, batchSize: 1), Case(dimension: 2048, batchSize: 8)]
        var table = TextTable(header: ["cell", "solver", "nfe max", "nfe mean", "eval ms", "solve ms",
                                       "ratio", "goal", "verdict", "ratio hist.on", "in f ms", "own ms", "own %"],
                              leftColumns: 2)
        var misses: [String] = []
        for c in cases {
            let cell = try TanhCell.random(.init(dimension: c.dimension, batchSize: c.batchSize,
                                                 spectralNorm: 0.9, symmetric: false, injectionScale: 1, seed: 11))
            let solvers = [BenchmarkSolver.forward, .anderson(memory: 5), .anderson(memory: 20), .broyden]
            // Interleaved: each round times the evaluation and every variant once, so that a
            // change of machine load (other jobs on the 2 cores) hits all of them alike.
            var evaluations: [Double] = []
            var off = Array(repeating: [Double](), count: solvers.count)
            var on = off, inside = off, own = off, ratios = off, ratiosOn = off
            var results: [SolveResult?] = Array(repeating: nil, count: solvers.count)
            let burst = max(1, timeSolve(cell, .forward, history: false).result.mostEvaluations)
            for round in 0...options.repeats {  // round 0 is the warm-up
                let evaluation = try evaluationSeconds(cell, burst: burst)
                if round > 0 { evaluations.append(evaluation) }
                for (i, solver) in solvers.enumerated() {
                    let a = timeSolve(cell, solver, history: false)
                    let b = timeSolve(cell, solver, history: true)
                    let split = splitSolve(cell, solver)
                    guard round > 0 else { continue }
                    off[i].append(a.seconds)
                    on[i].append(b.seconds)
                    ratios[i].append(a.seconds / (Double(a.result.mostEvaluations) * evaluation))
                    ratiosOn[i].append(b.seconds / (Double(b.result.mostEvaluations) * evaluation))
                    inside[i].append(split.inside)
                    own[i].append(split.own)
                    results[i] = a.result
                }
            }
            let evaluation = median(evaluations)
            for (i, solver) in solvers.enumerated() {
                let result = results[i]!
                let nfe = result.mostEvaluations
                let solveSeconds = median(off[i])
                let ratio = median(ratios[i])
                let ratioOn = median(ratiosOn[i])
                let insideSeconds = median(inside[i]), ownSeconds = median(own[i])
                let pass = ratio <= goal && result.converged
                let name = "d=\(c.dimension) B=\(c.batchSize)"
                if !pass { misses.append("\(name) \(solver)") }
                table.add([name, solver.description, "\(nfe)", fixed(result.meanEvaluations, 1),
                           fixed(evaluation * 1e3, 3), fixed(solveSeconds * 1e3, 2),
                           fixed(ratio, 3), "≤ \(fixed(goal, 2))", pass ? "PASS" : "MISS",
                           fixed(ratioOn, 3), fixed(insideSeconds * 1e3, 2), fixed(ownSeconds * 1e3, 2),
                           fixed(100 * ownSeconds / (insideSeconds + ownSeconds), 1)])
            }
        }
        print("")
        print(table.render())
        print("")
        print(MachineDescription.loadLine(label: "load average at end"))
        print(misses.isEmpty ? "overhead goal (ratio ≤ \(fixed(goal, 2)) with history off): PASS on every row"
                             : "overhead goal MISSED on: " + misses.joined(separator: ", "))
    }

    /// The time of one `cell.evaluate` on all B rows, as the mean over a burst of `burst`
    /// consecutive calls (burst = the forward solve's nfe, so that the burst is timed like the
    /// evaluations inside a solve and meets the same interruptions), at a point near the fixed
    /// point (three forward steps from 0, so tanh sees realistic arguments).
    static func evaluationSeconds(_ cell: TanhCell, burst: Int) throws -> Double {
        let b = cell.batchSize, d = cell.dimension
        var z = Matrix(rows: b, columns: d)
        for _ in 0..<3 { z = try cell(z) }
        var fz = [Double](repeating: 0, count: b * d)
        let rows = Array(0..<b)
        return z.storage.withUnsafeBufferPointer { pz in
            fz.withUnsafeMutableBufferPointer { pf in
                rows.withUnsafeBufferPointer { r in
                    cell.evaluate(pz.baseAddress!, into: pf.baseAddress!, samples: r)  // warm
                    let start = monotonicSeconds()
                    for _ in 0..<burst { cell.evaluate(pz.baseAddress!, into: pf.baseAddress!, samples: r) }
                    return (monotonicSeconds() - start) / Double(burst)
                }
            }
        }
    }

    static func criteria(history: Bool) -> StoppingCriteria {
        // Valid constant settings: a throw here is a bug of the benchmark.
        try! StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 1000, recordHistory: history)
    }

    /// The wall time of one solve from z₀ = 0. The solver is made from the catalog before the
    /// clock starts: its lookup and settings (0.2–0.5 % of a d = 512, B = 1 solve by perf) are not
    /// the solve.
    static func timeSolve(_ cell: TanhCell, _ solver: BenchmarkSolver, history: Bool) -> (seconds: Double, result: SolveResult) {
        let z0 = Matrix(rows: cell.batchSize, columns: cell.dimension)
        let made = solver.make(), stopping = criteria(history: history)
        let start = monotonicSeconds()
        let result = BenchmarkSolver.solve(made, cell, from: z0, criteria: stopping)
        return (monotonicSeconds() - start, result)
    }

    /// One solve (history off) split into the time inside f and the rest.
    static func splitSolve(_ cell: TanhCell, _ solver: BenchmarkSolver) -> (inside: Double, own: Double) {
        let z0 = Matrix(rows: cell.batchSize, columns: cell.dimension)
        let clock = EvaluationClock(), timed = TimedMap(base: cell, clock: clock)
        let made = solver.make(), stopping = criteria(history: false)
        let start = monotonicSeconds()
        _ = BenchmarkSolver.solve(made, timed, from: z0, criteria: stopping)
        let total = monotonicSeconds() - start
        return (clock.seconds, total - clock.seconds)
    }
}
