import Foundation
import Testing
import Equilibrium

/// f(z) = z − arctan(z − c) elementwise, fixed point z = c: Newton on arctan overshoots from
/// |z − c| > 1.39, so a full Newton step from 0 with c = 5 runs away and the line search must
/// backtrack. Defined here through the public protocol, as a researcher would.
struct ShiftedArctan: DifferentiableMap {
    let dimension: Int
    let batchSize: Int
    let center: Double

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        for i in 0..<(samples.count * dimension) { fz[i] = z[i] - atan(z[i] - center) }
    }

    func makeJacobianWorkspace(maxSamples: Int) {}

    func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                               into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>, workspace: Void) {
        for i in 0..<(samples.count * dimension) {
            let x = z[i] - center
            out[i] = (1 - 1 / (1 + x * x)) * v[i]
        }
    }

    func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>, covector u: UnsafePointer<Double>,
                               into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>, workspace: Void) {
        jacobianVectorProduct(at: z, image: fz, vector: u, into: out, samples: samples, workspace: ())
    }
}

@Suite struct NewtonKrylovTests {
    @Test(arguments: [0.9, 3.0])
    func oneNewtonStepOnAffineMapWhenGMRESIsExact(spectralNorm: Double) throws {
        let d = 20
        let map = try AffineMap.random(dimension: d, batchSize: 3, spectralNorm: spectralNorm, seed: 5)
        let result = try NewtonKrylov(krylovDimension: d, forcing: .constant(1e-13))
            .solve(map, from: Matrix(rows: 3, columns: d), criteria: try StoppingCriteria(tolerance: 1e-12))
        #expect(result.converged)
        for report in result.samples {
            #expect(report.iterations == 1)
            #expect(report.evaluations == 2)   // f(z₀) and f(z₁)
            #expect(report.krylovIterations! <= d)
            #expect(report.jacobianVectorProducts == report.krylovIterations)
        }
        #expect(maxRowRelativeError(result.solution, try map.exactFixedPoint()) <= 1e-10)
    }

    @Test func restartedGMRESStillSolvesTheNewtonSystem() throws {
        // GMRES(5) on d = 30 needs restarts; the restart residual comes from the Arnoldi
        // recurrence, so an error there would stall the inner solve.
        let map = try AffineMap.random(dimension: 30, batchSize: 2, spectralNorm: 0.5, seed: 8)
        let result = try NewtonKrylov(krylovDimension: 5, maxRestarts: 20, forcing: .constant(1e-11))
            .solve(map, from: Matrix(rows: 2, columns: 30), criteria: try StoppingCriteria(tolerance: 1e-10))
        #expect(result.converged)
        #expect(result.samples.allSatisfy { $0.iterations == 1 && $0.krylovIterations! > 5 })
        #expect(maxRowRelativeError(result.solution, try map.exactFixedPoint()) <= 1e-9)
    }

    @Test(arguments: JacobianProducts.allCases)
    func fixedPointOfHardTanhCell(products: JacobianProducts) throws {
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 3, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 1))
        let result = try NewtonKrylov(jacobianProducts: products)
            .solve(cell, from: Matrix(rows: 3, columns: 64), criteria: try StoppingCriteria(tolerance: 1e-10, measure: .absolute))
        #expect(result.converged, "\(products)")
        let residuals = try trueResiduals(cell, result.solution)
        for (i, report) in result.samples.enumerated() {
            // The solve's own tolerance (absolute 1e-10), recomputed: met up to the residual-agreement bound below.
            #expect(residuals[i] <= 1e-10)
            #expect(abs(residuals[i] - report.absoluteResidual) <= (try ErrorBound.residualAgreement(cell, result.solution))[i])
            #expect(report.krylovIterations! >= report.iterations)
            #expect(report.evaluations >= report.iterations + 1)
        }
    }

    @Test func superlinearDecreaseNearTheSolution() throws {
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 1, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 1))
        let result = try NewtonKrylov().solve(cell, from: Matrix(rows: 1, columns: 64),
                                          criteria: try StoppingCriteria(tolerance: 1e-12, measure: .absolute))
        #expect(result.converged)
        let residuals = result.samples[0].history.absolute
        let ratios = zip(residuals.dropFirst(), residuals).map { $0 / $1 }
        try #require(ratios.count >= 5)
        // The contraction ratios shrink step after step, far below any linear rate. The final
        // step is left out: its forcing term is raised to ½ τ/‖g‖ on purpose (no oversolving),
        // so it only has to reach the tolerance.
        let tail = Array(ratios.dropLast().suffix(3))
        #expect(tail[0] > tail[1] && tail[1] > tail[2], "\(ratios)")
        #expect(tail[2] < 1e-3, "\(ratios)")
        #expect(ratios.last! < 0.1, "\(ratios)")
    }

    @Test func fewerEvaluationsThanForwardOnHardCell() throws {
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 5000)
        let finite = try NewtonKrylov(jacobianProducts: .finiteDifference).solve(cell, from: Matrix(rows: 2, columns: 64), criteria: criteria)
        let forward = try ForwardIteration().solve(cell, from: Matrix(rows: 2, columns: 64), criteria: criteria)
        #expect(finite.converged && forward.converged)
        #expect(3 * finite.mostEvaluations < forward.mostEvaluations)
    }

    @Test(arguments: [JacobianProducts.analytic, .finiteDifference])
    func batchEqualsSingleSampleSolves(products: JacobianProducts) throws {
        let cell = try TanhCell.random(.init(dimension: 48, batchSize: 3, spectralNorm: 0.98, symmetric: true,
                                             injectionScale: 0.1, seed: 6))
        let solver = try NewtonKrylov(krylovDimension: 10, maxRestarts: 1, jacobianProducts: products)
        let criteria = try StoppingCriteria(tolerance: 1e-11)
        let batch = try solver.solve(cell, from: Matrix(rows: 3, columns: 48), criteria: criteria)
        #expect(batch.converged)
        for i in 0..<3 {
            let single = try solver.solve(singleSample(cell, i), from: Matrix(rows: 1, columns: 48), criteria: criteria)
            let (s, b) = (single.samples[0], batch.samples[i])
            #expect(s.iterations == b.iterations)
            #expect(s.evaluations == b.evaluations)
            #expect(s.krylovIterations == b.krylovIterations)
            #expect(s.jacobianVectorProducts == b.jacobianVectorProducts)
            // Alone and in a batch the arithmetic differs only in how a GEMM kernel blocks 1 and B rows:
            // per evaluation at most 2γ_d Σ|terms| (d ≤ 48: ≈ 1e-14 relative), and a contraction with rate
            // ρ ≤ 0.98 amplifies such perturbations of the iterates by at most 1/(1 − ρ) = 50 at the returned
            // point: ≈ 5e-13; 1e-12 is a 2× margin.
            #expect(abs(s.absoluteResidual - b.absoluteResidual) <= 1e-12)
            #expect(BLAS.nrm2(zip(single.solution.row(0), batch.solution.row(i)).map { $0 - $1 }) <= 1e-12)
        }
    }

    @Test func lineSearchTrialsAreCounted() throws {
        let map = ShiftedArctan(dimension: 3, batchSize: 2, center: 5)
        let criteria = try StoppingCriteria(tolerance: 1e-12, measure: .absolute)
        let result = try NewtonKrylov().solve(map, from: Matrix(rows: 2, columns: 3), criteria: criteria)
        #expect(result.converged)
        for report in result.samples {
            // Rejected trials happened and were counted: more evaluations than iterations + 1.
            #expect(report.evaluations > report.iterations + 1)
            #expect(report.history.evaluations.last == report.evaluations)
        }
        #expect(result.solution.storage.allSatisfy { abs($0 - 5) <= 1e-10 })
    }

    @Test(arguments: [JacobianProducts.analytic, .finiteDifference])
    func singularMapStagnates(products: JacobianProducts) throws {
        // f(z) = z + b: J_g = 0. Analytically GMRES finds no usable direction; with finite
        // differences the direction is rounding noise and the line search rejects it.
        let map = try AffineMap(matrix: .identity(5), offsets: gaussianBatch(2, 5, seed: 1))
        let result = try NewtonKrylov(jacobianProducts: products)
            .solve(map, from: Matrix(rows: 2, columns: 5), criteria: try StoppingCriteria(maxIterations: 50))
        for (i, report) in result.samples.enumerated() {
            #expect(report.outcome == .stagnated, "\(products)")
            // A = I: g = b exactly, and both sides are ‖b‖ from norms of 5 O(1) entries in two orders,
            // within 5u ‖b‖ ≈ 3e-15 for ‖b‖ ≈ 3; 1e-12 is a wide margin.
            #expect(abs(report.absoluteResidual - BLAS.nrm2(map.offsets.row(i))) <= 1e-12)
        }
        #expect(result.solution.isFinite)
    }

    @Test func singularMapWithoutLineSearchEndsNotConverged() throws {
        let map = try AffineMap(matrix: .identity(5), offsets: gaussianBatch(2, 5, seed: 1))
        let result = try NewtonKrylov(lineSearch: false, jacobianProducts: .finiteDifference)
            .solve(map, from: Matrix(rows: 2, columns: 5), criteria: try StoppingCriteria(measure: .absolute, maxIterations: 30))
        // g(z) = b everywhere: the residual of every point is ‖bᵢ‖, so the solve can neither
        // converge (‖bᵢ‖ ≫ 1e-8) nor diverge (the residual never grows); it must say which limit
        // stopped it, and report the true residual.
        for (i, report) in result.samples.enumerated() {
            #expect(report.outcome == .stagnated || report.outcome == .maxIterationsReached, "\(report.outcome)")
            #expect(abs(report.absoluteResidual - BLAS.nrm2(map.offsets.row(i))) <= 1e-12 * BLAS.nrm2(map.offsets.row(i)))
        }
        #expect(result.solution.isFinite)
    }

    @Test func nonFiniteMapEndsNonFinite() throws {
        let alwaysNaN = try ClosureMap(dimension: 3, batchSize: 2) { _, _, fz in
            for j in 0..<fz.count { fz[j] = .nan }
        }
        let result = try NewtonKrylov().solve(alwaysNaN, from: Matrix(rows: 2, columns: 3), criteria: StoppingCriteria())
        #expect(result.samples.allSatisfy { $0.outcome == .nonFinite && $0.evaluations == 1 })

        // The Newton step lands where f is NaN and backtracking cannot leave that region.
        for lineSearch in [true, false] {
            let later = try NewtonKrylov(lineSearch: lineSearch)
                .solve(nanBeyondOneAndAHalf(), from: Matrix(rows: 2, columns: 3), criteria: StoppingCriteria())
            #expect(later.samples.allSatisfy { $0.outcome == .nonFinite }, "\(later.samples.map(\.outcome))")
            #expect(later.solution.isFinite)
            let residuals = try trueResiduals(try nanBeyondOneAndAHalf(), later.solution)
            for (i, report) in later.samples.enumerated() {
                #expect(abs(residuals[i] - report.absoluteResidual) <= 1e-14)  // f = ½ z + 1 on 3 entries: exact up to a few roundings of O(1) values
            }
        }
    }

    @Test func evaluationBudgetIsRespected() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 3))
        for products in [JacobianProducts.analytic, .finiteDifference] {
            let result = try NewtonKrylov(jacobianProducts: products)
                .solve(cell, from: Matrix(rows: 2, columns: 32), criteria: try StoppingCriteria(tolerance: 1e-14, maxEvaluations: 12))
            for report in result.samples {
                #expect(report.evaluations <= 12, "\(products)")
                #expect(report.converged || report.outcome == .maxEvaluationsReached, "\(products)")
            }
            if products == .finiteDifference {
                #expect(result.samples.allSatisfy { $0.outcome == .maxEvaluationsReached })
            }
        }
    }

    @Test func forcingTermsChangeTheInnerWork() throws {
        // A constant tight η spends more Krylov steps per Newton step than Eisenstat–Walker.
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 1, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 4))
        let criteria = try StoppingCriteria(tolerance: 1e-10)
        let adaptive = try NewtonKrylov().solve(cell, from: Matrix(rows: 1, columns: 64), criteria: criteria)
        let tight = try NewtonKrylov(forcing: .constant(1e-8)).solve(cell, from: Matrix(rows: 1, columns: 64), criteria: criteria)
        #expect(adaptive.converged && tight.converged)
        #expect(tight.samples[0].iterations < adaptive.samples[0].iterations)
        #expect(Double(tight.samples[0].krylovIterations!) / Double(tight.samples[0].iterations)
                > Double(adaptive.samples[0].krylovIterations!) / Double(adaptive.samples[0].iterations))
    }
}
