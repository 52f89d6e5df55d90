import Equilibrium
import Foundation

/// Benchmark 3: hard cells, where the Jacobian at the fixed point is close to W.
///
/// Symmetric W with ρ(W) = ‖W‖₂ ∈ {0.99, 0.999} and a small injection (x ~ N(0, 0.05² I)), so
/// z* is small, tanh is nearly linear there and J = diag(1 − z*²) W ≈ W. Evaluations to a
/// relative residual of 1e-8 for forward iteration and Anderson with m ∈ {5, 10, 20, 40}.
/// Goal: Anderson with a larger memory (m ≥ 10) needs at least 4× fewer evaluations (max nfe
/// over the samples) than forward iteration, and no stall: every sample converges.
enum HardCellsBenchmark {
    static let goal = 4.0

    static func run(_ options: BenchmarkOptions) throws {
        printSection("3. Hard cells: symmetric W, injection 0.05 (J ≈ W at the fixed point)")
        print("""
        tol 1e-8 relative, max 100 000 iterations, z₀ = 0, history off; one solve per row (nfe is
        deterministic; wall time is one run). Ratio = forward max nfe / this solver's max nfe.
        Goal for m ≥ 10: ratio ≥ \(fixed(goal, 0))× and every sample converged (no stall); m = 5 is shown
        for reference and judged on "no stall" only.
        """)
        var cases: [(d: Int, b: Int)] = [(512, 8)]
        if !options.quick { cases.append((2048, 4)) }
        var table = TextTable(header: ["cell", "solver", "max nfe", "mean nfe", "converged", "wall s",
                                       "fwd/this", "goal", "verdict"], leftColumns: 2)
        var misses: [String] = []
        var seed: UInt64 = 1
        for (d, b) in cases {
            for rho in [0.99, 0.999] {
                let cell = try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: rho, symmetric: true,
                                                     injectionScale: 0.05, seed: seed))
                seed += 1
                let criteria = try StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 100_000,
                                                recordHistory: false)
                let z0 = Matrix(rows: b, columns: d)
                let name = "d=\(d) B=\(b) ρ=\(rho)"
                var forwardNFE = 0
                for solver in [BenchmarkSolver.forward, .anderson(memory: 5), .anderson(memory: 10),
                               .anderson(memory: 20), .anderson(memory: 40)] {
                    let start = monotonicSeconds()
                    let result = solver.solve(cell, from: z0, criteria: criteria)
                    let wall = monotonicSeconds() - start
                    let nfe = result.mostEvaluations
                    var goalText = "", verdict = ""
                    var ratioText = "—"
                    switch solver {
                    case .forward:
                        forwardNFE = nfe
                        goalText = "all converge"
                        verdict = result.converged ? "(ref)" : "(ref, stalled)"
                    case .anderson(let m):
                        let ratio = Double(forwardNFE) / Double(nfe)
                        ratioText = fixed(ratio, 1) + "×"
                        if m >= 10 {
                            goalText = "≥ \(fixed(goal, 0))×, all converge"
                            verdict = ratio >= goal && result.converged ? "PASS" : "MISS"
                        } else {
                            goalText = "all converge"
                            verdict = result.converged ? "PASS" : "MISS"
                        }
                        if verdict == "MISS" { misses.append("\(name) \(solver)") }
                    case .broyden, .newtonKrylov:
                        break  // not in this benchmark's list (see SolverFamiliesBenchmark)
                    }
                    table.add([name, solver.description, "\(nfe)", fixed(result.meanEvaluations, 1),
                               result.convergedFraction, fixed(wall, 3), ratioText, goalText, verdict])
                }
            }
        }
        print("")
        print(table.render())
        print("")
        print(misses.isEmpty ? "hard-cell goal (m ≥ 10: ≥ 4× fewer evaluations than forward, no stall): PASS on every row"
                             : "hard-cell goal MISSED on: " + misses.joined(separator: ", "))
    }
}
