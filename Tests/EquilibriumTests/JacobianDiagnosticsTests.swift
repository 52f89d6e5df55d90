import Foundation
import Testing
import Equilibrium

@Suite struct JacobianDiagnosticsTests {
    /// Cells whose Jacobians at the fixed point have different spectra: nonsymmetric J (often a
    /// complex dominant pair), symmetric W (real spectrum), strong saturation, an affine map.
    static let cells: [(label: String, make: @Sendable () throws -> any DifferentiableMap)] = [
        ("tanh nonsymmetric", { try TanhCell.random(.init(dimension: 24, batchSize: 4, spectralNorm: 0.95, seed: 1)) }),
        ("tanh nonsymmetric 2", { try TanhCell.random(.init(dimension: 40, batchSize: 4, spectralNorm: 1.2, injectionScale: 0.5, seed: 2)) }),
        ("tanh symmetric", { try TanhCell.random(.init(dimension: 32, batchSize: 3, spectralNorm: 0.99, symmetric: true, injectionScale: 0.05, seed: 3)) }),
        ("tanh saturated", { try TanhCell.random(.init(dimension: 16, batchSize: 3, spectralNorm: 0.9, injectionScale: 3, seed: 4)) }),
        ("affine", { try AffineMap.random(dimension: 20, batchSize: 2, spectralNorm: 0.8, seed: 5) }),
    ]

    @Test(arguments: cells.indices)
    func powerIterationMatchesLAPACK(index: Int) throws {
        func check<Map: DifferentiableMap>(_ map: Map) throws {
            let z = try tightFixedPoint(map)
            let exact = try JacobianDiagnostics.exact(of: map, at: z)
            let estimate = try JacobianDiagnostics.spectralRadius(of: map, at: z, options: try .init(maxProducts: 400, tolerance: 1e-9))
            for i in 0..<map.batchSize {
                let error = abs(estimate.estimates[i] - exact.spectralRadii[i]) / exact.spectralRadii[i]
                #expect(error < 1e-2, "\(Self.cells[index].label) sample \(i): estimate \(estimate.estimates[i]), LAPACK \(exact.spectralRadii[i])")
                #expect(estimate.products[i] <= 400 && estimate.products[i] % 10 == 0)
            }
        }
        try check(try Self.cells[index].make())
    }

    /// On a matrix whose dominant eigenvalues are an exact complex pair r e^{±iφ} the one-vector
    /// power ratio never settles; the Ritz step recovers r to rounding.
    @Test func complexDominantPairIsResolved() throws {
        // A = block diag(r R(φ), 0.3 I): ρ = r = 0.9.
        let d = 6
        var a = Matrix(rows: d, columns: d)
        let (r, phi) = (0.9, 0.7)
        a[0, 0] = r * cos(phi); a[0, 1] = -r * sin(phi); a[1, 0] = r * sin(phi); a[1, 1] = r * cos(phi)
        for j in 2..<d { a[j, j] = 0.3 }
        let map = try AffineMap(matrix: a, offsets: gaussianBatch(2, d, seed: 1))
        let estimate = try JacobianDiagnostics.spectralRadius(of: map, at: gaussianBatch(2, d, seed: 2))
        for i in 0..<2 {
            #expect(abs(estimate.estimates[i] - r) < 1e-8)
            #expect(estimate.converged[i])
        }
    }

    /// Hutchinson's mean of M probes lies within 5 standard deviations of ‖J‖_F², where the
    /// standard deviation is the exact √(2 Σσ⁴ / M) of Gaussian probes. The mean is a weighted
    /// sum of χ²₁ variables; the most skewed case (one dominant singular value, M = 8, a
    /// χ²₈/8 law) exceeds 5σ with probability about 5e-4, and the seed is fixed, so a failure
    /// means a wrong estimator, not bad luck.
    @Test(arguments: cells.indices)
    func hutchinsonIsWithinItsStatisticalBound(index: Int) throws {
        func check<Map: DifferentiableMap>(_ map: Map) throws {
            let z = try tightFixedPoint(map)
            let exact = try JacobianDiagnostics.exact(of: map, at: z)
            for probes in [8, 64] {
                let estimate = try JacobianDiagnostics.hutchinson(of: map, at: z, probes: probes, seed: 99)
                #expect(estimate.probes == probes)
                for i in 0..<map.batchSize {
                    let sigma = (2 * exact.fourthPowerSums[i] / Double(probes)).squareRoot()
                    let deviation = abs(estimate.squaredNorms[i] - exact.squaredFrobeniusNorms[i])
                    #expect(deviation <= 5 * sigma, "\(Self.cells[index].label) M=\(probes) sample \(i): \(estimate.squaredNorms[i]) vs \(exact.squaredFrobeniusNorms[i]), σ = \(sigma)")
                    // The reported standard error estimates σ (within a factor 3 with 64 probes).
                    if probes == 64 {
                        #expect(estimate.standardErrors[i] > sigma / 3 && estimate.standardErrors[i] < 3 * sigma)
                    }
                }
            }
        }
        try check(try Self.cells[index].make())
    }

    /// The exact references themselves: the tanh Jacobian is diag(1 − f²) W.
    @Test func exactValuesOfTheTanhJacobian() throws {
        let cell = try TanhCell.random(.init(dimension: 10, batchSize: 2, spectralNorm: 0.9, seed: 7))
        let z = try tightFixedPoint(cell)
        let exact = try JacobianDiagnostics.exact(of: cell, at: z)
        let fz = try cell(z)
        for i in 0..<2 {
            var j = cell.weight
            for r in 0..<10 { for c in 0..<10 { j[r, c] *= 1 - fz[i, r] * fz[i, r] } }
            // A sum of 100 squares ≤ ‖W‖² ≈ 1 in two orders: 2γ₁₀₀ · ‖J‖²_F ≈ 2.2e-14; the spectral radius
            // from two eigen-solves of the same 10 × 10 J: p(n) u ‖J‖ ≈ 10 · 1.1e-16 each. 1e-12 is a 40× margin.
            #expect(abs(exact.squaredFrobeniusNorms[i] - j.storage.reduce(0) { $0 + $1 * $1 }) < 1e-12)
            #expect(abs(exact.spectralRadii[i] - (try LAPACK.spectralRadius(j))) < 1e-12)
        }
    }

    /// The trainers' `JacobianAtFixedPoints` (solve from zero, then measure) against LAPACK's
    /// dense Jacobian at a tight reference fixed point. ρ: the power iteration's stated accuracy
    /// (the test above: 1e-2 relative), plus the solve's effect on J (tolerance 1e-12, far below).
    /// ‖J‖_F²/d: Hutchinson's relative standard deviation is at most √(2/M); 4 of them is the bound.
    /// A solve stopped after one iteration is reported as not converged.
    @Test func jacobianAtFixedPointsMatchesLAPACK() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 4, spectralNorm: 0.9, injectionScale: 0.5, seed: 11))
        let exact = try JacobianDiagnostics.exact(of: cell, at: try tightFixedPoint(cell))
        let probes = 2000
        let measured = try JacobianAtFixedPoints(of: cell, solver: try AndersonAcceleration(memory: 5),
                                                 criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 500, recordHistory: false),
                                                 probes: probes)
        #expect(measured.converged == [true, true, true, true])
        for i in 0..<cell.batchSize {
            let rhoError = abs(measured.spectralRadius[i] - exact.spectralRadii[i]) / exact.spectralRadii[i]
            #expect(rhoError < 1e-2, "sample \(i): \(measured.spectralRadius[i]) vs LAPACK \(exact.spectralRadii[i])")
            let frobenius = exact.squaredFrobeniusNorms[i] / Double(cell.dimension)
            let frobeniusError = abs(measured.frobeniusSquaredPerDimension[i] - frobenius) / frobenius
            #expect(frobeniusError < 4 * (2 / Double(probes)).squareRoot(), "sample \(i): \(measured.frobeniusSquaredPerDimension[i]) vs \(frobenius)")
        }
        let early = try JacobianAtFixedPoints(of: cell, solver: try AndersonAcceleration(memory: 5),
                                              criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 1, recordHistory: false))
        #expect(early.converged.allSatisfy { !$0 })
        #expect(early.summary.convergedFraction == 0)
    }
}
