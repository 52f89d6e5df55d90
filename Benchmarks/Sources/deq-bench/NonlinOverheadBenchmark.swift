import Equilibrium
import Foundation

/// Benchmark 6: the overhead of Broyden and the time split of Newton–Krylov, on the cells of
/// benchmark 1 (tanh, W Gaussian non-symmetric with ‖W‖₂ = 0.9, x ~ N(0, I), d = 512 with B = 8 and
/// d = 2048 with B = 4, tol 1e-8 relative, z₀ = 0, history off).
///
///     Broyden:        ratio = solve time / (nfe × one batched evaluation)        goal ≤ 1.15
///     Newton–Krylov:  solve time = time in f + time in J·v + the rest (GMRES orthogonalisation,
///                     Givens rotations, line search bookkeeping, residual norms)
///
/// Measured as benchmark 1: each of `repeats` rounds (after a warm-up round) times, interleaved,
/// a burst of batched evaluations and every solve; the judged ratio is the median over rounds of
/// the ratio within a round. The split comes from separate solves of the same cell wrapped in
/// ``TimedMap`` (f only; finite-difference J·v, whose probes are f calls) or
/// ``TimedDifferentiableMap`` (f and analytic J·v).
enum NonlinOverheadBenchmark {
    static let goal = 1.15

    static func run(_ options: BenchmarkOptions) throws {
        printSection("6. Broyden overhead and Newton–Krylov time split")
        print("""
        cells of step 1 (tanh, ‖W‖₂ = 0.9 non-symmetric, x ~ N(0, I)), tol 1e-8 relative, z₀ = 0, history off;
        \(options.repeats) interleaved rounds after a warm-up round, medians over rounds.
        Broyden (L = \(Broyden().memory), restart, no line search): ratio = solve / (nfe × one batched evaluation),
        goal ≤ \(fixed(goal, 2)); "in f" / "own" from a second solve with a timing wrapper around the cell.
        Newton–Krylov (GMRES(40), Eisenstat–Walker, line search): the solve split into time inside f (with fd
        J·v every probe is an f call), inside the analytic J·v, and the rest (Arnoldi orthogonalisation,
        Givens rotations, the step update, line search and residual bookkeeping). "work ratio" =
        solve / ((nfe + jvp) × one evaluation), information only.
        """)
        var cases: [(d: Int, b: Int)] = [(512, 8)]
        if !options.quick { cases.append((2048, 4)) }
        var broydenTable = TextTable(header: ["cell", "nfe max", "eval ms", "solve ms", "ratio", "goal", "verdict",
                                              "in f ms", "own ms", "own %", "own µs/sample/step"], leftColumns: 1)
        var krylovTable = TextTable(header: ["cell", "J·v", "nfe", "jvp", "krylov", "solve ms", "in f ms", "in J·v ms",
                                             "rest ms", "f %", "J·v %", "rest %", "rest µs/krylov step", "work ratio"],
                                    leftColumns: 2)
        var misses: [String] = []
        for (d, b) in cases {
            let cell = try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: 0.9, symmetric: false,
                                                 injectionScale: 1, seed: 11))
            let name = "d=\(d) B=\(b)"
            let z0 = Matrix(rows: b, columns: d)
            let criteria = OverheadBenchmark.criteria(history: false)
            let burst = max(1, OverheadBenchmark.timeSolve(cell, .forward, history: false).result.mostEvaluations)
            let variants: [BenchmarkSolver] = [.newtonKrylov(products: .analytic), .newtonKrylov(products: .finiteDifference)]
            var evaluations: [Double] = [], broydenTimes: [Double] = [], ratios: [Double] = []
            var broydenInside: [Double] = [], broydenOwn: [Double] = []
            var broydenResult: SolveResult?
            var solveTimes = Array(repeating: [Double](), count: variants.count)
            var inF = solveTimes, inJv = solveTimes, rest = solveTimes, workRatios = solveTimes
            var results = [SolveResult?](repeating: nil, count: variants.count)
            for round in 0...options.repeats {  // round 0 is the warm-up
                let evaluation = try OverheadBenchmark.evaluationSeconds(cell, burst: burst)
                let plain = OverheadBenchmark.timeSolve(cell, .broyden, history: false)
                let split = OverheadBenchmark.splitSolve(cell, .broyden)
                var timed: [(solve: Double, f: Double, jv: Double, total: Double, result: SolveResult)] = []
                for solver in variants {
                    let start = monotonicSeconds()
                    let result = solver.solve(cell, from: z0, criteria: criteria)
                    let solve = monotonicSeconds() - start
                    let fClock = EvaluationClock(), jvClock = EvaluationClock()
                    let wrapped = TimedDifferentiableMap(base: cell, evaluations: fClock, products: jvClock)
                    let splitStart = monotonicSeconds()
                    _ = solver.solve(wrapped, from: z0, criteria: criteria)
                    let total = monotonicSeconds() - splitStart
                    timed.append((solve, fClock.seconds, jvClock.seconds, total, result))
                }
                guard round > 0 else { continue }
                evaluations.append(evaluation)
                broydenTimes.append(plain.seconds)
                ratios.append(plain.seconds / (Double(plain.result.mostEvaluations) * evaluation))
                broydenInside.append(split.inside)
                broydenOwn.append(split.own)
                broydenResult = plain.result
                for (k, t) in timed.enumerated() {
                    solveTimes[k].append(t.solve)
                    inF[k].append(t.f)
                    inJv[k].append(t.jv)
                    rest[k].append(t.total - t.f - t.jv)
                    let work = t.result.mostEvaluations + t.result.maxJacobianVectorProducts
                    workRatios[k].append(t.solve / (Double(work) * evaluation))
                    results[k] = t.result
                }
            }
            let evaluation = median(evaluations)
            let result = broydenResult!
            let ratio = median(ratios)
            let pass = ratio <= goal && result.converged
            if !pass { misses.append("\(name) broyden") }
            let inside = median(broydenInside), own = median(broydenOwn)
            let steps = Double(result.samples.reduce(0) { $0 + $1.iterations })
            broydenTable.add([name, "\(result.mostEvaluations)", fixed(evaluation * 1e3, 3), fixed(median(broydenTimes) * 1e3, 2),
                              fixed(ratio, 3), "≤ \(fixed(goal, 2))", pass ? "PASS" : "MISS",
                              fixed(inside * 1e3, 2), fixed(own * 1e3, 2), fixed(100 * own / (inside + own), 1),
                              fixed(own * 1e6 / max(1, steps), 1)])
            for (k, solver) in variants.enumerated() {
                let r = results[k]!
                let f = median(inF[k]), jv = median(inJv[k]), other = median(rest[k])
                let total = f + jv + other
                let krylov = r.samples.compactMap(\.krylovIterations).reduce(0, +)
                let isAnalytic: Bool
                if case .newtonKrylov(.analytic) = solver { isAnalytic = true } else { isAnalytic = false }
                krylovTable.add([name, isAnalytic ? "analytic" : "fd", "\(r.mostEvaluations)", "\(r.maxJacobianVectorProducts)",
                                 "\(r.samples.compactMap(\.krylovIterations).max() ?? 0)",
                                 fixed(median(solveTimes[k]) * 1e3, 2), fixed(f * 1e3, 2), fixed(jv * 1e3, 2),
                                 fixed(other * 1e3, 2), fixed(100 * f / total, 1), fixed(100 * jv / total, 1),
                                 fixed(100 * other / total, 1), fixed(other * 1e6 / Double(max(1, krylov)), 1),
                                 fixed(median(workRatios[k]), 3) + (r.converged ? "" : " (not all converged)")])
            }
        }
        print("")
        print("Broyden overhead")
        print(broydenTable.render())
        print("")
        print("Newton–Krylov time split (nfe, jvp, krylov: max over the samples; rest per Krylov step summed over samples)")
        print(krylovTable.render())
        print("")
        print(misses.isEmpty ? "Broyden overhead goal (ratio ≤ \(fixed(goal, 2)) with history off): PASS on every row"
                             : "Broyden overhead goal MISSED on: " + misses.joined(separator: ", "))
    }
}
