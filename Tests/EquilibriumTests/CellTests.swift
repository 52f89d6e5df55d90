import Foundation
import Testing
import Equilibrium

@Suite struct CellTests {
    @Test(arguments: [false, true])
    func generatorHitsSpectralNormExactly(symmetric: Bool) throws {
        let cell = try TanhCell.random(.init(dimension: 50, batchSize: 3, spectralNorm: 0.7, symmetric: symmetric, seed: 12))
        // W is scaled by 0.7/σ̂₁ from one SVD and measured by another: each σ̂ is within p(d) u ‖W‖ of the
        // truth with p(d) a small multiple of d = 50 (Demmel, Thm 5.1), ≈ 50 · 2 · 1.1e-16 · 0.7 ≈ 8e-15 each;
        // 1e-12 leaves a 60× margin for p(d). The eigen route for the symmetric W has the same bound.
        #expect(abs(try LAPACK.spectralNorm(cell.weight) - 0.7) <= 1e-12)
        if symmetric {
            #expect(cell.weight == cell.weight.transposed())
            #expect(abs(try LAPACK.spectralRadius(cell.weight) - 0.7) <= 1e-12)
        }
    }

    @Test func sameSeedSameCellOtherSeedOtherCell() throws {
        let configuration = TanhCell.Configuration(dimension: 16, batchSize: 2, spectralNorm: 0.9, injectionScale: 0.3, seed: 42)
        let a = try TanhCell.random(configuration)
        let b = try TanhCell.random(configuration)
        var other = configuration
        other.seed = 43
        let c = try TanhCell.random(other)
        #expect(a.weight == b.weight && a.input == b.input)
        #expect(a.weight != c.weight)
        // The injection scale is the standard deviation of the inputs.
        let big = try TanhCell.random(.init(dimension: 200, batchSize: 50, injectionScale: 0.3, seed: 1))
        let variance = big.input.storage.reduce(0) { $0 + $1 * $1 } / Double(big.input.count)
        #expect(abs(variance.squareRoot() - 0.3) < 0.01)
    }

    @Test func tanhCellEvaluatesItsFormula() throws {
        var generator = SplitMix64(seed: 5)
        let w = Matrix.gaussian(rows: 4, columns: 4, scale: 0.3, using: &generator)
        let u = Matrix.gaussian(rows: 4, columns: 3, using: &generator)
        let b = generator.gaussians(count: 4)
        let x = Matrix.gaussian(rows: 2, columns: 3, using: &generator)
        let cell = try TanhCell(weight: w, inputWeight: u, bias: b, input: x)
        let z = Matrix.gaussian(rows: 2, columns: 4, using: &generator)
        let fz = try cell(z)
        for s in 0..<2 {
            let wz = BLAS.gemv(w, z.row(s)), ux = BLAS.gemv(u, x.row(s))
            let absWz = BLAS.gemv(try Matrix(rows: 4, columns: 4, values: w.storage.map(abs)), z.row(s).map(abs))
            let absUx = BLAS.gemv(try Matrix(rows: 4, columns: 3, values: u.storage.map(abs)), x.row(s).map(abs))
            for i in 0..<4 {
                // W z + U x + b is a sum of 4 + 3 + 1 terms either way; tanh is 1-Lipschitz.
                let bound = ErrorBound.reordered(terms: 8, absolute: absWz[i] + absUx[i] + abs(b[i]))
                #expect(abs(fz[s, i] - tanh(wz[i] + ux[i] + b[i])) <= bound)
            }
        }
    }

    /// Evaluating a compacted subset of rows gives the same rows as the full batch.
    @Test func compactedEvaluationMatchesFullBatch() throws {
        let cell = try TanhCell.random(.init(dimension: 8, batchSize: 5, seed: 3))
        var generator = SplitMix64(seed: 9)
        let z = Matrix.gaussian(rows: 5, columns: 8, using: &generator)
        let full = try cell(z)
        let rows = [1, 4]
        let compact = rows.flatMap { z.row($0) }
        var out = [Double](repeating: 0, count: 16)
        compact.withUnsafeBufferPointer { pz in
            out.withUnsafeMutableBufferPointer { po in
                rows.withUnsafeBufferPointer { cell.evaluate(pz.baseAddress!, into: po.baseAddress!, samples: $0) }
            }
        }
        // GEMM kernels may sum in another order for another row count: equal to the rounding
        // of d-term sums, entry by entry (tanh is 1-Lipschitz), from |W| |z| + |x|.
        let absolute = try ErrorBound.absoluteProduct(z, try Matrix(rows: 8, columns: 8, values: cell.weight.storage).transposed())
        for (r, s) in rows.enumerated() {
            for i in 0..<8 {
                let bound = ErrorBound.reordered(terms: 9, absolute: absolute[s, i] + abs(cell.input[s, i]))
                #expect(abs(out[r * 8 + i] - full[s, i]) <= bound, "row \(s) entry \(i)")
            }
        }
    }

    @Test func affineExactFixedPointSatisfiesTheEquation() throws {
        let map = try AffineMap.random(dimension: 30, batchSize: 3, spectralNorm: 0.95, seed: 1)
        let z = try map.exactFixedPoint()
        // z = (I − A)⁻¹ b by LU: ‖A z + b − z‖ ≤ γ_{3d} ‖|L||U|‖ ‖z‖ (Higham Thm 9.4) with κ(I − A) ≤
        // 1.95/0.05 = 39, d = 30: ≈ 90 u · 39 ≈ 4e-13 relative in the worst case; 1e-12 is a 2.5× margin.
        #expect(try maxRowRelativeError(map(z), z) <= 1e-12)
    }
}
