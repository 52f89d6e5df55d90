import Equilibrium
import Foundation

/// Benchmark 5: the four solver families side by side on the hard cells of benchmark 3.
///
/// Symmetric W with ρ(W) = ‖W‖₂ ∈ {0.99, 0.999}, x ~ N(0, 0.05² I) (J ≈ W at the fixed point),
/// d = 512 (B = 8) and d = 2048 (B = 4), relative tolerance 1e-8, z₀ = 0, history off: forward
/// iteration, Anderson (library default m = 5, and m = 20), Broyden (defaults) and Newton–Krylov
/// (defaults) with analytic and with finite-difference J·v. Per row: max and mean nfe, analytic
/// J·v products, Krylov iterations, converged k/B, wall time (median of interleaved rounds) and the
/// ratio forward max nfe / this max nfe. For analytic Newton–Krylov a J·v costs about one
/// evaluation (one GEMM with W plus an elementwise product for the tanh cell), so its ratio is
/// also given on "work" = nfe + J·v.
///
/// Goal: Broyden and Newton–Krylov need at least 4× fewer evaluations (max over the samples) than
/// forward iteration with every sample converged; for analytic Newton–Krylov the ratio on
/// nfe + J·v is the one judged (counting a product as an evaluation).
enum SolverFamiliesBenchmark {
    static let goal = 4.0

    static let solvers: [BenchmarkSolver] = [.forward, .anderson(memory: 5), .anderson(memory: 20), .broyden,
                                             .newtonKrylov(products: .analytic), .newtonKrylov(products: .finiteDifference)]

    static func run(_ options: BenchmarkOptions) throws {
        printSection("5. Solver families on the hard cells: symmetric W, injection 0.05 (J ≈ W)")
        let rounds = options.quick ? 1 : 3
        print("""
        tol 1e-8 relative, max 100 000 iterations, z₀ = 0, history off. nfe is deterministic; wall time is
        the median of \(rounds) interleaved round(s) (every solver once per round; forward iteration dominates the
        run time). "jvp" = analytic J·v products (not in nfe); with fd J·v every probe is an f evaluation
        (in nfe). fwd/this = forward max nfe / this max nfe; "work" counts nfe + jvp (a J·v costs about one
        evaluation here). Goal: Broyden and Newton–Krylov ≥ \(fixed(goal, 0))× fewer evaluations than forward
        (analytic NK judged on work), every sample converged. Anderson rows are for reference.
        """)
        var cases: [(d: Int, b: Int)] = [(512, 8)]
        if !options.quick { cases.append((2048, 4)) }
        var table = TextTable(header: ["cell", "solver", "max nfe", "mean nfe", "max jvp", "max krylov",
                                       "converged", "wall s", "fwd/this nfe", "fwd/this work", "goal", "verdict"],
                              leftColumns: 2)
        var misses: [String] = []
        var seed: UInt64 = 1  // the seeds of benchmark 3, so the cells are the same
        for (d, b) in cases {
            for rho in [0.99, 0.999] {
                let cell = try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: rho, symmetric: true,
                                                     injectionScale: 0.05, seed: seed))
                seed += 1
                let criteria = try StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 100_000,
                                                recordHistory: false)
                let z0 = Matrix(rows: b, columns: d)
                var times = Array(repeating: [Double](), count: solvers.count)
                var results = [SolveResult?](repeating: nil, count: solvers.count)
                for _ in 0..<rounds {
                    for (k, solver) in solvers.enumerated() {
                        let start = monotonicSeconds()
                        results[k] = solver.solve(cell, from: z0, criteria: criteria)
                        times[k].append(monotonicSeconds() - start)
                    }
                }
                let name = "d=\(d) B=\(b) ρ=\(rho)"
                let forwardNFE = results[0]!.mostEvaluations
                for (k, solver) in solvers.enumerated() {
                    let result = results[k]!
                    let nfe = result.mostEvaluations
                    let jvp = result.maxJacobianVectorProducts
                    let work = result.samples.map { $0.evaluations + $0.jacobianVectorProducts }.max() ?? 0
                    let krylov = result.samples.compactMap(\.krylovIterations).max()
                    let nfeRatio = Double(forwardNFE) / Double(max(1, nfe))
                    let workRatio = Double(forwardNFE) / Double(max(1, work))
                    var goalText = "—", verdict = ""
                    switch solver {
                    case .forward:
                        verdict = result.converged ? "(ref)" : "(ref, stalled)"
                    case .anderson:
                        verdict = result.converged ? "(ref)" : "(ref, not all converged)"
                    case .broyden, .newtonKrylov:
                        let judged: Double
                        if case .newtonKrylov(.analytic) = solver { judged = workRatio } else { judged = nfeRatio }
                        goalText = "≥ \(fixed(goal, 0))×, all converge"
                        verdict = judged >= goal && result.converged ? "PASS" : "MISS"
                        if verdict == "MISS" { misses.append("\(name) \(solver)") }
                    }
                    table.add([name, solver.description, "\(nfe)", fixed(result.meanEvaluations, 1), "\(jvp)",
                               krylov.map(String.init) ?? "—", result.convergedFraction, fixed(median(times[k]), 3),
                               k == 0 ? "—" : fixed(nfeRatio, 1) + "×", k == 0 ? "—" : fixed(workRatio, 1) + "×",
                               goalText, verdict])
                }
            }
        }
        print("")
        print(table.render())
        print("")
        print(misses.isEmpty ? "families goal (Broyden, Newton–Krylov ≥ \(fixed(goal, 0))× fewer evaluations than forward, all converge): PASS on every row"
                             : "families goal MISSED on: " + misses.joined(separator: ", "))
    }
}
