import Testing
import Equilibrium

@Suite struct PathIndependenceTests {
    /// A contractive cell has one fixed point: AA = 1 to solver tolerance.
    @Test func contractiveCellIsPathIndependent() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 6, spectralNorm: 0.9, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 2000)
        let solver = AndersonAcceleration()
        let reference = try solver.solve(cell, from: Matrix(rows: 6, columns: 32), criteria: criteria)
        let alignment = try PathIndependence.alignment(of: cell, solver: solver, reference: reference.solution, criteria: criteria)
        // Relative residual 1e-10 bounds ‖z − z*‖/‖z*‖ by 1e-10/(1 − 0.9) = 1e-9 per solve, so
        // 1 − cos ≤ ½(2e-9)² ≪ 1e-9: margin of many orders.
        #expect(abs(alignment.score - 1) <= 1e-9)
        #expect(abs(alignment.offDiagonalScore - 1) <= 1e-9)
        #expect(alignment.convergedFraction == 1)
    }

    /// The closed form. f_i(z) = ½ z + ½ cᵢ sign(z) on ℝ (cᵢ > 0) has two attractors ±cᵢ whose
    /// basins are the half-lines, so re-solving input i from z_j = s_j c_j lands on s_j cᵢ and
    /// cos(zᵢ, z_{i|j}) = sᵢ s_j exactly (1-D cosines are signs). With p of the B signs
    /// positive, S = Σ sᵢ = 2p − B:
    ///     AA = S²/B²,   AA_off = (S² − B)/(B(B − 1)).
    /// For B = 5, p = 2: AA = 1/25 = 0.04, AA_off = (1 − 5)/20 = −0.2.
    /// One more input k contracts slowly (rate 1 − 10⁻³), so its re-solves from the other
    /// inputs' points stay on their side (same cosine) but do not converge in 200 steps: the
    /// converged fraction is 1 − (B − 1)/B², and excluding those pairs gives the mean of sᵢ s_j
    /// over the remaining ones.
    @Test func twoAttractorMapHasTheClosedFormScore() throws {
        let signs: [Double] = [1, 1, -1, -1, -1]
        let scales: [Double] = [0.7, 1.3, 2.0, 0.4, 1.1]
        let b = signs.count
        let slow = 3   // the input whose map contracts slowly
        let map = try ClosureMap(dimension: 1, batchSize: b) { i, z, fz in
            let side = z[0] >= 0 ? 1.0 : -1.0
            let rate = i == slow ? 1 - 1e-3 : 0.5
            fz[0] = rate * z[0] + (1 - rate) * scales[i] * side
        }
        let reference = Matrix(rows: b, columns: 1, storage: zip(signs, scales).map { $0 * $1 })
        let criteria = try StoppingCriteria(tolerance: 1e-12, maxIterations: 200)
        let alignment = try PathIndependence.alignment(of: map, solver: ForwardIteration(), reference: reference, criteria: criteria)

        let s = signs.reduce(0, +)
        // Cosines of 1-D vectors are ±1 exactly; sums of ±1/25 are exact to a few ulps.
        #expect(abs(alignment.score - s * s / Double(b * b)) <= 1e-15)
        #expect(abs(alignment.score - 0.04) <= 1e-15)
        #expect(abs(alignment.offDiagonalScore - (s * s - Double(b)) / Double(b * (b - 1))) <= 1e-15)
        #expect(abs(alignment.offDiagonalScore + 0.2) <= 1e-15)
        for i in 0..<b {
            #expect(abs(alignment.perExample[i] - signs[i] * s / Double(b)) <= 1e-15)
            for j in 0..<b {
                #expect(alignment.pairCosines[i * b + j] == signs[i] * signs[j])
                // Only the slow input's re-solves from the other inputs' points fail to converge
                // (its own point is its fixed point: converged at step 0).
                #expect(alignment.pairConverged[i * b + j] == (i != slow || j == slow), "pair \(i), \(j)")
            }
        }
        #expect(abs(alignment.convergedFraction - (1 - Double(b - 1) / Double(b * b))) <= 1e-15)
        #expect(alignment.pairCount(over: .all, convergedOnly: true) == b * b - (b - 1))

        // Excluding the non-converged pairs: rows i ≠ slow (every j) plus the pair (slow, slow).
        var sum = 0.0, count = 0.0, offSum = 0.0, offCount = 0.0
        for i in 0..<b {
            for j in 0..<b where i != slow || j == slow {
                sum += signs[i] * signs[j]
                count += 1
                if i != j {
                    offSum += signs[i] * signs[j]
                    offCount += 1
                }
            }
        }
        // Means of ≤ 36 cosines (|c| ≤ 1, here ±1 and exact) in two orders: the sums are of exactly
        // representable values, so both are exact up to the final division, u.
        #expect(abs(alignment.score(over: .all, convergedOnly: true) - sum / count) <= 1e-15)
        #expect(abs(alignment.score(over: .offDiagonal, convergedOnly: true) - offSum / offCount) <= 1e-15)
        #expect(alignment.score(over: .all, convergedOnly: true) != alignment.score)   // the option changes the number
    }

    /// A symmetric W with ‖W‖₂ = 2 and a weak injection has several attracting fixed points:
    /// starting from another input's fixed point lands elsewhere, so AA is clearly below 1;
    /// every pair's cosine is the one of an independent one-sample re-solve.
    @Test func multiAttractorCellIsPathDependent() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 6, spectralNorm: 2, symmetric: true,
                                             injectionScale: 0.05, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 5000)
        let solver = try ForwardIteration(damping: 0.5)
        let reference = try solver.solve(cell, from: try Initialization.gaussian(scale: 1, seed: 3).makeBatch(batchSize: 6, dimension: 32),
                                     criteria: criteria)
        let alignment = try PathIndependence.alignment(of: cell, solver: solver, reference: reference.solution, criteria: criteria)
        #expect(alignment.score < 0.9)
        #expect(alignment.convergedFraction == 1)
        // The diagonal pairs restart at a fixed point: cosine 1 to the tolerance (1e-10 relative
        // residual, contraction about ½ near a stable point: error ≤ 2e-10, 1 − cos ≤ 1e-19).
        for i in 0..<6 { #expect(abs(alignment.pairCosines[i * 6 + i] - 1) <= 1e-9) }
        // AA = AA_off + (1/B²) Σᵢ (cᵢᵢ − AA_off): the diagonal's share, recomputed.
        let diagonal = (0..<6).map { alignment.pairCosines[$0 * 6 + $0] }.reduce(0, +)
        let off = alignment.offDiagonalScore
        #expect(abs(alignment.score - (off * 30 + diagonal) / 36) <= 1e-14)
        // The orientation of the pair matrix: entry (i, j) = (1, 4) is input 1 re-solved from
        // z₄ (every row started at z₄, as the measurement does), compared with z₁.
        var start = reference.solution
        for i in 0..<6 { for k in 0..<32 { start[i, k] = reference.solution[4, k] } }
        let again = try solver.solve(cell, from: start, criteria: criteria)
        let expected = PathIndependence.cosine(reference.solution.row(1), again.solution.row(1))
        #expect(abs(alignment.pairCosines[1 * 6 + 4] - expected) <= 1e-12)
    }

    @Test func cosineEdgeCases() {
        #expect(PathIndependence.cosine([0, 0], [0, 0]) == 1)
        #expect(PathIndependence.cosine([1, 0], [0, 0]) == 0)
        // cos of parallel vectors: a dot product and two norms of 2 entries, a few u.
        #expect(abs(PathIndependence.cosine([1, 2], [2, 4]) - 1) <= 1e-15)
        #expect(abs(PathIndependence.cosine([1, 0], [-1, 0]) + 1) <= 1e-15)
    }
}
