import Equilibrium
import Foundation

/// `deq-bench backward`: the backward pass of a DEQ against its forward solve.
///
/// On tanh cells (d = 512 and 2048, B = 8) solved forward by Broyden to a relative residual of
/// 1e-8: the exact implicit gradient with each backward solver (to 1e-8 as well), the phantom
/// gradient (unrolled and Neumann, k = 5, λ = 1), the Jacobian-free gradient and SHINE, each as
/// a ratio to the forward solve's time and as a speedup over the fastest exact backward solve
/// that converged. Accuracy is the cosine with a reference gradient (Newton–Krylov on the
/// adjoint to 1e-12). Times are the minimum of several runs (release build, the machine's BLAS
/// threads).
///
/// The phantom-gradient paper reports a backward pass about 1.7× faster than the exact
/// gradient at equal or better training accuracy. Here a phantom row PASSes when it is at least
/// 1.7× faster than the fastest exact backward solve **and** its cosine with the exact gradient
/// is at least 0.99; otherwise it is a MISS, with the reason. Per cell, the smallest k in
/// {1, 2, 5, 10, 20, 50} at which the phantom gradient reaches cosine 0.99 is searched too.
enum BackwardBenchmark {
    static let targetSpeedup = 1.7
    static let targetCosine = 0.99

    struct Cell {
        var label: String
        var configuration: TanhCell.Configuration
    }

    static func cells(dimension d: Int) -> [Cell] {
        [
            Cell(label: "d=\(d) generic ‖W‖=0.9 s=1",
                 configuration: .init(dimension: d, batchSize: 8, spectralNorm: 0.9, symmetric: false, injectionScale: 1, seed: 1)),
            Cell(label: "d=\(d) sym ‖W‖=0.9 s=0.05",
                 configuration: .init(dimension: d, batchSize: 8, spectralNorm: 0.9, symmetric: true, injectionScale: 0.05, seed: 1)),
            Cell(label: "d=\(d) sym ‖W‖=0.99 s=0.05",
                 configuration: .init(dimension: d, batchSize: 8, spectralNorm: 0.99, symmetric: true, injectionScale: 0.05, seed: 1)),
        ]
    }

    /// The minimum wall time of `runs` calls and the last result.
    static func timed<T>(_ runs: Int, _ body: () -> T) -> (seconds: Double, value: T) {
        var best = Double.infinity
        var value: T? = nil
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            value = body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return (best, value!)
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "%.1f ms", seconds * 1e3) : String(format: "%.2f s", seconds)
    }

    static func run() throws {
        print("# Backward pass against the forward solve (release build, BLAS threads: \(BenchmarkBLAS.threadCount))")
        print("")
        print("Forward: Broyden (L = 20), relative residual ≤ 1e-8. Exact backward: the adjoint y = Jᵀy + c to a relative")
        print("residual ≤ 1e-8 with each solver. Reference: Newton–Krylov on the adjoint to 1e-12. c ~ N(0, I). Times: minimum of")
        print("several runs. Speedup: the fastest converged exact backward time / this one. PASS: speedup ≥ \(targetSpeedup)× and cos ≥ \(targetCosine).")
        print("")
        print("| cell | ρ(J) | forward | estimator | VJP/sample | backward | ÷ forward | speedup vs fastest exact | cos θ | verdict |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        var verdicts: [String] = []
        for d in [512, 2048] {
            let runs = d <= 512 ? 5 : 3
            for cell in cells(dimension: d) {
                verdicts += try measure(cell, runs: runs)
            }
        }
        print("")
        print("## Where the phantom gradient reaches \(targetSpeedup)× at cos ≥ \(targetCosine)")
        print("")
        for line in verdicts { print("- \(line)") }
    }

    /// One cell: prints its rows, returns its verdict lines.
    static func measure(_ spec: Cell, runs: Int) throws -> [String] {
        let cell = try TanhCell.random(spec.configuration)
        let b = cell.batchSize, d = cell.dimension
        let criteria = try StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 2000, recordHistory: false)
        let z0 = Matrix(rows: b, columns: d)
        let (forwardSeconds, forward) = timed(runs) { try! Broyden().solve(cell, from: z0, criteria: criteria) }
        let byproducts = forward.byproducts
        var generator = SplitMix64(seed: 7)
        let c = Matrix.gaussian(rows: b, columns: d, using: &generator)
        let z = forward.solution
        let rho = try JacobianDiagnostics.spectralRadius(of: cell, at: z).estimates.max() ?? .nan
        let tight = try StoppingCriteria(tolerance: 1e-12, measure: .relative, maxIterations: 500, recordHistory: false)
        let reference = try ImplicitGradient(solver: NewtonKrylov(), criteria: tight).estimate(cell: cell, solution: z, upstream: c)

        struct Row {
            var label: String
            var seconds: Double
            var result: GradientResult
            var cosine: Double
        }
        func row(_ estimator: any GradientEstimator, label: String? = nil) -> Row {
            let (seconds, result) = timed(runs) {
                try! estimator.estimate(cell: cell, solution: z, upstream: c, byproducts: byproducts)
            }
            return Row(label: label ?? result.label, seconds: seconds, result: result,
                       cosine: try! GradientComparison(result, reference: reference).parameterCosine)
        }
        let backwardCriteria = try StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 5000, recordHistory: false)
        let exact: [Row] = ([ForwardIteration(), AndersonAcceleration(), Broyden(), NewtonKrylov()] as [any FixedPointSolver]).map {
            row(try! ImplicitGradient(solver: $0, criteria: backwardCriteria))
        }
        let converged = exact.filter(\.result.converged)
        guard let fastest = converged.min(by: { $0.seconds < $1.seconds }) else {
            print("| \(spec.label) | | | no exact backward solve converged | | | | | | |")
            return ["\(spec.label): no exact backward solve converged; no comparison"]
        }
        let others: [Row] = [
            row(try PhantomGradient(mode: .unrolled, steps: 5, damping: 1)),
            row(try PhantomGradient(mode: .neumann, steps: 5, damping: 1)),
            row(JacobianFreeGradient()),
            row(SHINEGradient()),
        ]
        func verdict(_ r: Row) -> String {
            let speedup = fastest.seconds / r.seconds
            if speedup >= targetSpeedup && r.cosine >= targetCosine { return "PASS" }
            var reasons: [String] = []
            if r.cosine < targetCosine { reasons.append("cos < \(targetCosine)") }
            if speedup < targetSpeedup { reasons.append("< \(targetSpeedup)×") }
            return "MISS (" + reasons.joined(separator: ", ") + ")"
        }
        var first = true
        for r in exact + others {
            let isPhantom = r.result.estimator == "phantom" || r.result.estimator == "neumann"
            var backward = format(r.seconds)
            if let report = r.result.statistics.backward, !report.converged {
                backward += " (\(report.convergedSamples)/\(report.outcomes.count) conv.: \(report.worstOutcome.rawValue))"
            }
            let cellText = first ? "\(spec.label)" : ""
            let rhoText = first ? String(format: "%.3f", rho) : ""
            let forwardText = first ? "\(format(forwardSeconds)), nfe \(forward.mostEvaluations)" : ""
            first = false
            print("| \(cellText) | \(rhoText) | \(forwardText) | \(r.label)\(r.label == fastest.label ? " (fastest exact)" : "") | "
                  + "\(r.result.statistics.vectorJacobianProducts) | \(backward) | \(String(format: "%.2f", r.seconds / forwardSeconds)) | "
                  + "\(String(format: "%.2f×", fastest.seconds / r.seconds)) | \(String(format: "%.5f", r.cosine)) | \(isPhantom ? verdict(r) : "") |")
        }

        // The smallest k reaching the cosine target, per phantom mode.
        var lines: [String] = []
        for mode in PhantomGradient.Mode.allCases {
            var found: Row?
            for k in [1, 2, 5, 10, 20, 50] {
                let r = row(try PhantomGradient(mode: mode, steps: k, damping: 1))
                if r.cosine >= targetCosine { found = r; break }
            }
            let name = mode == .unrolled ? "unrolled phantom" : "Neumann phantom"
            if let found {
                let speedup = fastest.seconds / found.seconds
                lines.append("\(spec.label) (ρ(J) ≈ \(String(format: "%.3f", rho))): \(name) reaches cos \(String(format: "%.4f", found.cosine)) at \(found.result.label), "
                             + "\(format(found.seconds)) = \(String(format: "%.2f", speedup))× faster than \(fastest.label): "
                             + (speedup >= targetSpeedup ? "PASS" : "MISS (slower than \(targetSpeedup)×)"))
            } else {
                lines.append("\(spec.label) (ρ(J) ≈ \(String(format: "%.3f", rho))): \(name) does not reach cos \(targetCosine) with k ≤ 50: MISS")
            }
        }
        return lines
    }
}
