import Foundation
import Testing
import Equilibrium

/// A thread-unsafe call counter for closure maps (tests run each case on one thread).
final class EvaluationCounter: @unchecked Sendable {
    var callsPerSample: [Int]
    init(batchSize: Int) { callsPerSample = Array(repeating: 0, count: batchSize) }
}

/// The contract of REFERENCE §2, checked for every solver in `solverZoo`.
@Suite struct SolverContractTests {
    /// A batch gives the same per-sample results as solving each sample alone.
    @Test(arguments: solverZoo.indices)
    func batchEqualsPerSample(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let cell = try TanhCell.random(.init(dimension: 48, batchSize: 4, spectralNorm: 0.95, seed: 11))
        let criteria = try StoppingCriteria(tolerance: 1e-9, maxIterations: 3000)
        let batch = try solver.solve(cell, from: Matrix(rows: 4, columns: 48), criteria: criteria)
        for i in 0..<4 {
            let single = try cell.binding(input: Matrix(rows: 1, columns: 48, storage: cell.input.row(i)))
            let alone = try solver.solve(single, from: Matrix(rows: 1, columns: 48), criteria: criteria)
            #expect(alone.samples[0].outcome == batch.samples[i].outcome, "\(label) sample \(i)")
            #expect(alone.samples[0].iterations == batch.samples[i].iterations, "\(label) sample \(i)")
            #expect(alone.samples[0].evaluations == batch.samples[i].evaluations, "\(label) sample \(i)")
            // Alone and in a batch the arithmetic differs only in how a GEMM kernel blocks 1 and B rows:
            // per evaluation at most 2γ_d Σ|terms| (d ≤ 48: ≈ 1e-14 relative), and a contraction with rate
            // ρ ≤ 0.98 amplifies such perturbations of the iterates by at most 1/(1 − ρ) = 50 at the returned
            // point: ≈ 5e-13; 1e-12 is a 2× margin.
            #expect(maxRowRelativeError(alone.solution, Matrix(rows: 1, columns: 48, storage: batch.solution.row(i))) <= 1e-12,
                    "\(label) sample \(i)")
        }
    }

    /// A converged sample costs no further evaluations: the map is called for a sample exactly
    /// as often as the reported nfe, and samples converge after different counts.
    @Test(arguments: solverZoo.indices)
    func convergedSamplesCostNothing(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let d = 10
        // Sample i contracts at rate 0.1 (i + 1).
        let counter = EvaluationCounter(batchSize: 4)
        let map = try ClosureMap(dimension: d, batchSize: 4) { sample, z, fz in
            counter.callsPerSample[sample] += 1
            let rate = 0.1 * Double(sample + 1)
            for j in 0..<d { fz[j] = rate * z[j] + 1 }
        }
        // Sample 0 starts at its fixed point 1/(1 − 0.1); the others start at 0.
        var start = Matrix(rows: 4, columns: d)
        start.setRow(0, to: Array(repeating: 1 / 0.9, count: d))
        let result = try solver.solve(map, from: start,
                                  criteria: try StoppingCriteria(tolerance: 1e-10, maxIterations: 1000))
        #expect(result.converged, "\(label)")
        #expect(result.samples[0].evaluations == 1, "\(label)")
        #expect(result.samples.map(\.evaluations) == counter.callsPerSample, "\(label)")
        // One history entry per iterate; its nfe column counts every evaluation, including
        // line-search trials and finite-difference probes that have no entry of their own.
        #expect(result.samples.map { $0.history.evaluations.last ?? 0 } == counter.callsPerSample, "\(label)")
        #expect(Set(result.samples.map(\.evaluations)).count > 1, "\(label): samples should finish at different counts")
    }

    /// The reported residual is the true residual of the returned point, and a sample that did
    /// not converge returns its lowest-residual evaluated point.
    @Test(arguments: solverZoo.indices)
    func nonConvergedSampleReturnsBestEvaluatedPoint(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 5))
        let criteria = try StoppingCriteria(tolerance: 1e-14, measure: .absolute, maxIterations: 6)
        let result = try solver.solve(cell, from: Matrix(rows: 2, columns: 32), criteria: criteria)
        let image = try cell(result.solution)
        for i in 0..<2 {
            let report = result.samples[i]
            #expect(report.outcome == .maxIterationsReached, "\(label)")
            #expect(report.iterations == 6, "\(label)")
            #expect(report.absoluteResidual == report.history.absolute.min(), "\(label)")
            let trueResidual = BLAS.nrm2(zip(image.row(i), result.solution.row(i)).map { $0 - $1 })
            // The residual of the same returned point recomputed from the whole batch: the sums of f differ
            // only in order, √d · 2γ_{d+1} · max Σ|terms| ≈ 5 · 4.6e-15 · O(1) ≈ 2e-14 relative for d ≤ 20; 1e-12
            // is a wide margin (the norms themselves add d u).
            #expect(abs(trueResidual - report.absoluteResidual) <= 1e-15 + 1e-12 * trueResidual, "\(label)")
        }
    }

    @Test(arguments: solverZoo.indices)
    func evaluationCapIsAnOutcome(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 5))
        let result = try solver.solve(cell, from: Matrix(rows: 2, columns: 32),
                                  criteria: try StoppingCriteria(tolerance: 1e-14, maxIterations: 1000, maxEvaluations: 4))
        for report in result.samples {
            #expect(report.outcome == .maxEvaluationsReached, "\(label)")
            // A solver stops early when its next step needs more evaluations than remain
            // (Newton–Krylov with finite differences needs a probe and the step).
            #expect(report.evaluations <= 4 && report.evaluations >= 3, "\(label)")
        }
    }

    /// A map that returns NaN for one sample stops that sample as non-finite and returns its
    /// last finite best point; the other samples are unaffected.
    @Test(arguments: solverZoo.indices)
    func nanEndsAsNonFinite(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let d = 6
        let counter = EvaluationCounter(batchSize: 3)
        let map = try ClosureMap(dimension: d, batchSize: 3) { sample, z, fz in
            counter.callsPerSample[sample] += 1
            for j in 0..<d { fz[j] = 0.5 * z[j] + 1 }
            if sample == 1 && counter.callsPerSample[sample] >= 3 { fz[2] = .nan }
        }
        let result = try solver.solve(map, from: Matrix(rows: 3, columns: d),
                                  criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 500))
        #expect(result.samples[1].outcome == .nonFinite, "\(label)")
        // Line searches may backtrack from a non-finite trial before giving up.
        #expect(result.samples[1].evaluations >= 3, "\(label)")
        #expect(result.samples[1].evaluations == counter.callsPerSample[1], "\(label)")
        #expect(result.samples[1].absoluteResidual.isFinite, "\(label)")
        let finiteRow = result.solution.row(1).allSatisfy { $0.isFinite }
        #expect(finiteRow, "\(label)")
        #expect(result.samples[0].converged && result.samples[2].converged, "\(label)")
        #expect(!result.converged, "\(label)")
    }

    @Test func nanAtTheStartIsReportedNotHidden() throws {
        let map = try ClosureMap(dimension: 3, batchSize: 1) { _, _, fz in
            for j in 0..<3 { fz[j] = .nan }
        }
        for (label, solver) in solverZoo {
            let result = try solver.solve(map, from: Matrix(rows: 1, columns: 3), criteria: StoppingCriteria())
            #expect(result.samples[0].outcome == .nonFinite, "\(label)")
            #expect(!result.converged, "\(label)")
            #expect(result.samples[0].evaluations == 1, "\(label)")
        }
    }

    /// Forward iteration on an expanding affine map ends as diverged, with the documented rule
    /// ‖r_k‖ > divergenceFactor · ‖r₀‖.
    @Test func expandingAffineMapDiverges() throws {
        let map = try AffineMap.random(dimension: 20, batchSize: 2, spectralNorm: 1.5, symmetric: true, seed: 4)
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 10_000, divergenceFactor: 1e4)
        let result = try ForwardIteration().solve(map, from: Matrix(rows: 2, columns: 20), criteria: criteria)
        for report in result.samples {
            #expect(report.outcome == .diverged)
            #expect(report.iterations < 10_000)
            let last = try #require(report.history.absolute.last)
            #expect(last > 1e4 * report.history.absolute[0])
        }
    }

    /// Anderson on an expanding affine map: with memory m ≥ d it is GMRES in exact arithmetic and
    /// must find the (repelling) fixed point; with a short memory every sample ends with an
    /// outcome its own numbers support: converged only at the exact fixed point, diverged only
    /// when the recorded residual passed the factor, otherwise a true residual above the tolerance.
    @Test func andersonOnExpandingAffineMapIsHonest() throws {
        let map = try AffineMap.random(dimension: 20, batchSize: 2, spectralNorm: 1.5, symmetric: true, seed: 4)
        let exact = try map.exactFixedPoint()
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 2000)
        for memory in [1, 5, 20, 25] {
            let result = try AndersonAcceleration(memory: memory).solve(map, from: Matrix(rows: 2, columns: 20), criteria: criteria)
            let residuals = try trueResiduals(map, result.solution)
            for (i, report) in result.samples.enumerated() {
                let one = Matrix(rows: 1, columns: 20, storage: result.solution.row(i))
                let truth = Matrix(rows: 1, columns: 20, storage: exact.row(i))
                // The reported residual is the returned point's (re-evaluated here).
                // The residual of the same returned point recomputed from the whole batch: the sums of f differ
                // only in order, √d · 2γ_{d+1} · max Σ|terms| ≈ 5 · 4.6e-15 · O(1) ≈ 2e-14 relative for d ≤ 20; 1e-12
                // is a wide margin (the norms themselves add d u).
                #expect(abs(residuals[i] - report.absoluteResidual) <= 1e-12 * max(1, residuals[i]), "m = \(memory)")
                switch report.outcome {
                case .converged:
                    // Relative residual 1e-10 and ‖(I − A)⁻¹‖ ≤ 1/min|1 − λ(A)|: error ≤ 1e-10 times
                    // the conditioning (a few hundred here); 1e-6 leaves a margin of 1e2 or more.
                    #expect(maxRowRelativeError(one, truth) < 1e-6, "m = \(memory)")
                case .diverged:
                    let h = report.history.absolute
                    #expect(h.last! > criteria.divergenceFactor * h[0], "m = \(memory)")
                default:
                    #expect(report.outcome != .nonFinite, "m = \(memory)")
                    #expect(report.relativeResidual > criteria.tolerance, "m = \(memory)")
                }
            }
            if memory >= 20 {
                #expect(result.converged, "m = \(memory) ≥ d: Anderson is GMRES and solves a linear system")
            }
        }
    }


    /// The absolute and relative measures stop where they should.
    @Test func stoppingMeasures() throws {
        let map = try AffineMap.random(dimension: 16, batchSize: 1, spectralNorm: 0.5, seed: 2)
        for measure in StoppingCriteria.Measure.allCases {
            let result = try ForwardIteration().solve(map, from: Matrix(rows: 1, columns: 16),
                                                  criteria: try StoppingCriteria(tolerance: 1e-6, measure: measure))
            let report = result.samples[0]
            let final = measure == .absolute ? report.absoluteResidual : report.relativeResidual
            #expect(final <= 1e-6)
            // The point before the last did not yet meet the tolerance.
            let history = measure == .absolute ? report.history.absolute : report.history.relative
            #expect(history.dropLast().allSatisfy { $0 > 1e-6 })
        }
    }

    /// Anderson's λ is relative to the Gram matrix, so it reaches tolerances far below any
    /// absolute regularisation without stalling.
    @Test func andersonReachesTightTolerance() throws {
        let cell = try TanhCell.random(.init(dimension: 128, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 9))
        for memory in [5, 20] {
            let result = try AndersonAcceleration(memory: memory, regularization: 1e-4).solve(
                cell, from: Matrix(rows: 2, columns: 128),
                criteria: try StoppingCriteria(tolerance: 1e-13, measure: .absolute, maxIterations: 3000))
            #expect(result.converged, "m = \(memory): \(result.samples.map(\.outcome))")
        }
    }

    @Test func initialisationsAreSeededAndChecked() throws {
        let a = try Initialization.gaussian(scale: 2, seed: 3).makeBatch(batchSize: 2, dimension: 5)
        let b = try Initialization.gaussian(scale: 2, seed: 3).makeBatch(batchSize: 2, dimension: 5)
        let c = try Initialization.gaussian(scale: 2, seed: 4).makeBatch(batchSize: 2, dimension: 5)
        #expect(a == b && a != c)
        let u = try Initialization.uniform(low: -1, high: 3, seed: 1).makeBatch(batchSize: 3, dimension: 100)
        #expect(u.storage.allSatisfy { $0 >= -1 && $0 < 3 })
        let mixed = try Initialization.mixed(probability: 0.5, scale: 1, seed: 1).makeBatch(batchSize: 4, dimension: 100)
        let zeros = mixed.storage.filter { $0 == 0 }.count
        #expect(zeros > 100 && zeros < 300)
        #expect(throws: UsageError.self) {
            try Initialization.explicit(Matrix(rows: 2, columns: 4)).makeBatch(batchSize: 2, dimension: 5)
        }
        #expect(throws: UsageError.self) {
            try Initialization.explicit(Matrix(rows: 1, columns: 2, storage: [1, .nan])).makeBatch(batchSize: 1, dimension: 2)
        }
        #expect(throws: UsageError.self) {
            try Initialization.uniform(low: 1, high: 1, seed: 0).makeBatch(batchSize: 1, dimension: 2)
        }
    }

    /// A result can seed the next solve: starting from a fixed point costs one evaluation.
    @Test func explicitStartFromEarlierResult() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 3, spectralNorm: 0.9, seed: 8))
        let criteria = try StoppingCriteria(tolerance: 1e-10)
        let first = try AndersonAcceleration().solve(cell, initialization: .gaussian(scale: 1, seed: 1), criteria: criteria)
        let again = try ForwardIteration().solve(cell, initialization: .explicit(first.solution), criteria: criteria)
        #expect(again.converged)
        #expect(again.samples.allSatisfy { $0.evaluations == 1 && $0.iterations == 0 })
    }

    /// f(z) = z + 2 cosh z on ℝ has no fixed point (g = f − z ≥ 2), and every solver's steps
    /// run away from it: forward iteration climbs z + 2 cosh z, the secant-type solvers
    /// (Anderson, Broyden) and Newton (no line search) jump past the flat minimum of g. Each must
    /// end `diverged` exactly at the first iterate whose residual exceeds the factor times the
    /// initial one, return its best point (by the relative residual, the stopping measure) with that
    /// point's true residual, and never converge
    /// (the relative residual 2 cosh z / |z + 2 cosh z| is above 0.7 everywhere).
    @Test(arguments: ["forward", "anderson", "broyden", "newton-krylov"])
    func solverWithoutAFixedPointDiverges(name: String) throws {
        let map = try ClosureMap(dimension: 1, batchSize: 2) { _, z, fz in fz[0] = z[0] + 2 * cosh(z[0]) }
        let solver: any FixedPointSolver
        switch name {
        case "forward": solver = ForwardIteration()
        case "anderson": solver = try AndersonAcceleration(memory: 2)
        case "broyden": solver = Broyden()
        default: solver = try NewtonKrylov(lineSearch: false, jacobianProducts: .finiteDifference)
        }
        let factor = 100.0
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 500, divergenceFactor: factor)
        let start = Matrix(rows: 2, columns: 1, storage: [0.1, -0.3])
        let result = try solver.solve(map, from: start, criteria: criteria)
        let residuals = try trueResiduals(map, result.solution)
        for (i, report) in result.samples.enumerated() {
            #expect(report.outcome == .diverged, "\(name) sample \(i): \(report.outcome)")
            let h = report.history.absolute
            #expect(h.count >= 2)
            #expect(h.last! > factor * h[0], "\(name): the last residual passed the factor")
            #expect(h.dropLast().allSatisfy { $0 <= factor * h[0] }, "\(name): it stopped at the first that did")
            // f = z + 2 cosh z is evaluated entry by entry (no sums): the residual recomputed agrees to the
            // rounding of a norm of d terms, d u ≈ 1e-15 relative; 1e-12 is a wide margin.
            #expect(residuals[i] >= 2 && abs(residuals[i] - report.absoluteResidual) <= 1e-12 * residuals[i], "\(name)")
            // The best point by the stopping measure (relative here) is returned.
            let best = report.history.relative.min()!
            // The same number stored twice (the history and the report) up to one division: a few u.
            #expect(abs(report.relativeResidual - best) <= 1e-12 * best, "\(name): the best point is returned")
            #expect(best > 0.7, "\(name): no point comes near a fixed point")
        }
        #expect(!result.converged)
        #expect(result.solution.isFinite)
    }

    /// With its line search Newton–Krylov refuses the steps that raise ‖g‖ on the same map: it
    /// cannot diverge, and as g has no root it ends stagnated or out of iterations, never converged.
    @Test func newtonKrylovWithLineSearchStopsWithoutAFixedPoint() throws {
        let map = try ClosureMap(dimension: 1, batchSize: 2) { _, z, fz in fz[0] = z[0] + 2 * cosh(z[0]) }
        let result = try NewtonKrylov().solve(map, from: Matrix(rows: 2, columns: 1, storage: [0.1, -0.3]),
                                             criteria: try StoppingCriteria(tolerance: 1e-10, maxIterations: 200, divergenceFactor: 100))
        let residuals = try trueResiduals(map, result.solution)
        for (i, report) in result.samples.enumerated() {
            #expect(report.outcome == .stagnated || report.outcome == .maxIterationsReached, "\(report.outcome)")
            // The line search only accepts decreases: the best residual is at most the start's
            // (2 cosh 0.1 or 2 cosh 0.3) and at least the minimum 2 of g.
            #expect(residuals[i] >= 2 && residuals[i] <= 2 * cosh(0.3) + 1e-12)
            #expect(abs(residuals[i] - report.absoluteResidual) <= 1e-12 * residuals[i])
        }
    }

    /// The fused one-pass residual norms against BLAS `dnrm2` (which scales), at magnitudes where
    /// the plain sum of squares is exact to rounding and where it would overflow or underflow.
    /// A sum of d squares has relative error ≤ (d/4 + 2) ε with four partial sums; its square
    /// root halves that, and `dnrm2` adds its own d ε: 2 (d + 2) ε bounds both, d = 37.
    @Test(arguments: [1.0, 1e-3, 1e150, 1e200, 1e-160, 1e-200, 1e-300, 0.0])
    func residualNormsMatchScaledNorms(scale: Double) throws {
        let d = 37
        let map = try ClosureMap(dimension: d, batchSize: 1) { _, z, fz in for j in 0..<d { fz[j] = z[j] } }
        let context = try SolveContext(map: map, initial: Matrix(rows: 1, columns: d), criteria: StoppingCriteria())
        var generator = SplitMix64(seed: 11)
        let f = generator.gaussians(count: d, scale: scale), z = generator.gaussians(count: d, scale: scale)
        var residual = [Double](repeating: .nan, count: d)
        let (absolute, image) = context.residualNorms(z: z, fz: f, residual: &residual)
        let g = zip(f, z).map { $0 - $1 }
        #expect(residual == g)
        let bound = 2 * Double(d + 2) * Double.ulpOfOne
        for (value, reference) in [(absolute, BLAS.nrm2(g)), (image, BLAS.nrm2(f))] {
            #expect(value.isFinite)
            #expect(abs(value - reference) <= bound * reference + Double.leastNonzeroMagnitude, "\(value) vs \(reference)")
        }
        // A non-finite entry stays visible.
        var withNaN = f
        withNaN[5] = .nan
        #expect(context.residualNorms(z: z, fz: withNaN, residual: &residual).image.isNaN)
        var withInfinity = f
        withInfinity[3] = .infinity
        #expect(!context.residualNorms(z: z, fz: withInfinity, residual: &residual).absolute.isFinite)
    }
}
