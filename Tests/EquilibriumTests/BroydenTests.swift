import Testing
import Equilibrium

/// Sample `i` of a tanh cell as a cell of its own (batch size 1).
func singleSample(_ cell: TanhCell, _ i: Int) throws -> TanhCell {
    try cell.binding(input: Matrix(rows: 1, columns: cell.input.columns, storage: cell.input.row(i)))
}

/// ‖f(z) − z‖ for every row, re-evaluated independently of any solver.
func trueResiduals(_ map: some FixedPointMap, _ z: Matrix) throws -> [Double] {
    let image = try map(z)
    return (0..<z.rows).map { i in BLAS.nrm2(zip(image.row(i), z.row(i)).map { $0 - $1 }) }
}

/// f(z) = ½ z + 1 elementwise (fixed point 2), but NaN as soon as some |zⱼ| > 1.5.
func nanBeyondOneAndAHalf() throws -> ClosureMap {
    try ClosureMap(dimension: 3, batchSize: 2) { _, z, fz in
        let outside = z.contains { abs($0) > 1.5 }
        for j in 0..<z.count { fz[j] = outside ? .nan : 0.5 * z[j] + 1 }
    }
}

@Suite struct BroydenTests {
    @Test(arguments: [0.9, 1.5, 3.0])
    func gayTwoDimensionStepTermination(spectralNorm: Double) throws {
        // Good Broyden with full steps and unlimited memory solves an affine problem in ≤ 2d
        // steps (Gay 1979), contractive or not.
        let d = 8
        let map = try AffineMap.random(dimension: d, batchSize: 3, spectralNorm: spectralNorm, seed: 7)
        let exact = try map.exactFixedPoint()
        let result = try Broyden(memory: 2 * d).solve(map, from: Matrix(rows: 3, columns: d),
                                                  criteria: try StoppingCriteria(tolerance: 1e-12))
        #expect(result.converged, "\(result.samples.map(\.outcome))")
        for report in result.samples {
            #expect(report.iterations <= 2 * d)
            #expect(report.evaluations == report.iterations + 1)
        }
        // Solved to 1e-10 on an affine contraction (ρ ≤ 0.9): ‖z − z*‖ ≤ r/(1 − ρ) ≈ 1e-9 absolute,
        // below 1e-10 relative to ‖z*‖ = O(√d) ≥ 10; the LU reference adds κ u ≈ 1e-14.
        #expect(maxRowRelativeError(result.solution, exact) <= 1e-10)
    }

    @Test(arguments: [false, true])
    func fixedPointOfHardTanhCell(lineSearch: Bool) throws {
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 3, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 1))
        let result = try Broyden(lineSearch: lineSearch).solve(cell, from: Matrix(rows: 3, columns: 64),
                                                           criteria: try StoppingCriteria(tolerance: 1e-10, measure: .absolute))
        #expect(result.converged)
        let residuals = try trueResiduals(cell, result.solution)
        for (i, report) in result.samples.enumerated() {
            // The solve's own tolerance, recomputed (the next line bounds the recomputation).
            #expect(residuals[i] <= 1e-10)
            #expect(abs(residuals[i] - report.absoluteResidual) <= (try ErrorBound.residualAgreement(cell, result.solution))[i])
            #expect(report.evaluations >= report.iterations + 1)
            #expect(report.krylovIterations == nil)
        }
    }

    @Test func fewerEvaluationsThanForwardOnHardCell() throws {
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 5000)
        let broyden = try Broyden().solve(cell, from: Matrix(rows: 2, columns: 64), criteria: criteria)
        let forward = try ForwardIteration().solve(cell, from: Matrix(rows: 2, columns: 64), criteria: criteria)
        #expect(broyden.converged && forward.converged)
        #expect(3 * broyden.mostEvaluations < forward.mostEvaluations)
    }

    @Test(arguments: Broyden.MemoryPolicy.allCases)
    func memoryPoliciesReachTheSolutionOfAnAffineMap(policy: Broyden.MemoryPolicy) throws {
        // Memory 3 on d = 20: the policy is exercised many times.
        let map = try AffineMap.random(dimension: 20, batchSize: 2, spectralNorm: 0.7, seed: 4)
        let result = try Broyden(memory: 3, whenMemoryFull: policy)
            .solve(map, from: Matrix(rows: 2, columns: 20), criteria: try StoppingCriteria(tolerance: 1e-11))
        #expect(result.converged, "\(policy)")
        #expect(result.samples.allSatisfy { $0.iterations > 3 }, "\(policy)")
        #expect(maxRowRelativeError(result.solution, try map.exactFixedPoint()) <= 1e-9, "\(policy)")
    }

    @Test func batchEqualsSingleSampleSolves() throws {
        let cell = try TanhCell.random(.init(dimension: 48, batchSize: 3, spectralNorm: 0.98, symmetric: true,
                                             injectionScale: 0.1, seed: 6))
        let criteria = try StoppingCriteria(tolerance: 1e-11)
        let batch = try Broyden(memory: 10).solve(cell, from: Matrix(rows: 3, columns: 48), criteria: criteria)
        #expect(batch.converged)
        for i in 0..<3 {
            let single = try Broyden(memory: 10).solve(singleSample(cell, i), from: Matrix(rows: 1, columns: 48), criteria: criteria)
            #expect(single.samples[0].iterations == batch.samples[i].iterations)
            #expect(single.samples[0].evaluations == batch.samples[i].evaluations)
            // Alone and in a batch the arithmetic differs only in how a GEMM kernel blocks 1 and B rows:
            // per evaluation at most 2γ_d Σ|terms| (d ≤ 48: ≈ 1e-14 relative), and a contraction with rate
            // ρ ≤ 0.98 amplifies such perturbations of the iterates by at most 1/(1 − ρ) = 50 at the returned
            // point: ≈ 5e-13; 1e-12 is a 2× margin.
            #expect(abs(single.samples[0].absoluteResidual - batch.samples[i].absoluteResidual) <= 1e-12)
            let difference = zip(single.solution.row(0), batch.solution.row(i)).map { $0 - $1 }
            #expect(BLAS.nrm2(difference) <= 1e-12)
        }
    }

    @Test func lineSearchTrialsAreCounted() throws {
        // f(z) = −1.5 z + b: the first (forward) step overshoots, ‖g‖ grows by 1.5, and the
        // search halves it once. Every trial is an evaluation.
        let map = try AffineMap(matrix: -1.5 * Matrix.identity(4), offsets: gaussianBatch(2, 4, seed: 1))
        let result = try Broyden(lineSearch: true).solve(map, from: Matrix(rows: 2, columns: 4),
                                                     criteria: try StoppingCriteria(tolerance: 1e-12))
        #expect(result.converged)
        for report in result.samples {
            #expect(report.evaluations > report.iterations + 1)
            #expect(report.history.evaluations.last == report.evaluations)
        }
        // Solved to 1e-10 on an affine contraction, against the LU fixed point: ‖z − z*‖ ≤ r/(1 − ρ) relative.
        #expect(maxRowRelativeError(result.solution, try map.exactFixedPoint()) <= 1e-10)
    }

    @Test(arguments: [false, true])
    func singularMapStagnates(lineSearch: Bool) throws {
        // f(z) = z + b has no fixed point: I − J = 0.
        let map = try AffineMap(matrix: .identity(5), offsets: gaussianBatch(2, 5, seed: 1))
        let result = try Broyden(lineSearch: lineSearch).solve(map, from: Matrix(rows: 2, columns: 5),
                                                           criteria: try StoppingCriteria(maxIterations: 50))
        for (i, report) in result.samples.enumerated() {
            #expect(report.outcome == .stagnated)
            // A = I: g = b exactly, and both sides are ‖b‖ from norms of 5 O(1) entries in two orders,
            // within 5u ‖b‖ ≈ 3e-15 for ‖b‖ ≈ 3; 1e-12 is a wide margin.
            #expect(abs(report.absoluteResidual - BLAS.nrm2(map.offsets.row(i))) <= 1e-12)
        }
        #expect(result.solution.isFinite)
    }

    @Test func nonFiniteMapEndsNonFinite() throws {
        let alwaysNaN = try ClosureMap(dimension: 3, batchSize: 2) { _, _, fz in
            for j in 0..<fz.count { fz[j] = .nan }
        }
        let result = try Broyden().solve(alwaysNaN, from: Matrix(rows: 2, columns: 3), criteria: StoppingCriteria())
        #expect(result.samples.allSatisfy { $0.outcome == .nonFinite && $0.evaluations == 1 })

        // NaN met after a few steps: the returned point is the best finite one.
        let later = try Broyden().solve(nanBeyondOneAndAHalf(), from: Matrix(rows: 2, columns: 3), criteria: StoppingCriteria())
        #expect(later.samples.allSatisfy { $0.outcome == .nonFinite })
        #expect(later.solution.isFinite)
        let residuals = try trueResiduals(try nanBeyondOneAndAHalf(), later.solution)
        for (i, report) in later.samples.enumerated() {
            #expect(report.absoluteResidual.isFinite)
            #expect(abs(residuals[i] - report.absoluteResidual) <= 1e-14)  // f = ½ z + 1 on 3 entries: exact up to a few roundings of O(1) values
        }
    }

    @Test func divergenceIsAnOutcome() throws {
        // Drop-oldest with a tiny memory on a hard cell: the residual runs away; the solve
        // ends with an outcome and the best point, never a crash or a false convergence.
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 1))
        let result = try Broyden(memory: 10, whenMemoryFull: .dropOldest)
            .solve(cell, from: Matrix(rows: 2, columns: 64), criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 2000))
        let residuals = try trueResiduals(cell, result.solution)
        let criteria = try StoppingCriteria(tolerance: 1e-12, maxIterations: 2000)
        for (i, report) in result.samples.enumerated() {
            #expect(abs(residuals[i] - report.absoluteResidual) <= (try ErrorBound.residualAgreement(cell, result.solution))[i])
            let h = report.history.absolute
            // Each outcome is the one its own numbers (re-evaluated here) call for: converged iff
            // the returned point meets the tolerance; diverged iff the recorded residual passed
            // the factor, at the last iterate and no earlier one.
            let relative = residuals[i] / BLAS.nrm2(try cell(result.solution).row(i))
            #expect((report.outcome == .converged) == (relative <= criteria.tolerance * (1 + 1e-12)), "\(report.outcome), \(relative)")
            #expect((report.outcome == .diverged) == (h.last! > criteria.divergenceFactor * h[0]), "\(report.outcome)")
            if report.outcome == .diverged {
                #expect(h.dropLast().allSatisfy { $0 <= criteria.divergenceFactor * h[0] })
            }
        }
        // The dedicated divergence check of every solver is SolverContractTests.solverWithoutAFixedPointDiverges.
    }

    @Test func evaluationBudgetIsRespected() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                             injectionScale: 0.05, seed: 3))
        for lineSearch in [false, true] {
            let result = try Broyden(lineSearch: lineSearch).solve(cell, from: Matrix(rows: 2, columns: 32),
                                                               criteria: try StoppingCriteria(tolerance: 1e-14, maxEvaluations: 12))
            #expect(result.samples.allSatisfy { $0.outcome == .maxEvaluationsReached && $0.evaluations <= 12 })
        }
    }
}
