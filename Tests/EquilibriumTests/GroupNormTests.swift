import Testing
import Equilibrium

@Suite struct GroupNormTests {
    /// A norm with random affine parameters.
    func norm(channels: Int, groups: Int, spatial: Int, seed: UInt64) throws -> GroupNorm {
        var generator = SplitMix64(seed: seed)
        return try GroupNorm(channels: channels, groups: groups, spatialSize: spatial,
                         weight: (0..<channels).map { _ in 1 + 0.3 * generator.nextGaussian() },
                         bias: (0..<channels).map { _ in 0.2 * generator.nextGaussian() })
    }

    @Test(arguments: [1, 5])
    func oneGroupIsLayerNormalisation(spatial: Int) throws {
        // Layer norm: one mean and variance over the whole sample, then the per-channel affine map.
        let n = try norm(channels: 6, groups: 1, spatial: spatial, seed: 1)
        let x = gaussianBatch(3, 6 * spatial, seed: 2, scale: 2)
        let y = try n(x)
        for i in 0..<3 {
            let row = x.row(i)
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            let expected = row.indices.map { k in
                n.weight[k / spatial] * (row[k] - mean) / (variance + 1e-5).squareRoot() + n.bias[k / spatial]
            }
            // A mean and a variance over a group of n ≤ 12 entries, a square root and an affine map: each
            // output errs by about (2n + 6) u relative to its size in either implementation (Higham §1.9),
            // ≈ 3e-15 for both together; 1e-14 is a 3× margin.
            #expect(CellChecks.relativeError(y.row(i), expected) <= 1e-14)
        }
    }

    @Test func groupsAreNormalisedSeparately() throws {
        // With γ = 1, β = 0 every group of every sample has mean 0 and variance σ²/(σ² + ε).
        let n = try GroupNorm(channels: 8, groups: 4, spatialSize: 3)
        let x = gaussianBatch(2, 24, seed: 3, scale: 0.5)
        let y = try n(x)
        for i in 0..<2 {
            for g in 0..<4 {
                let input = Array(x.row(i)[(g * 6)..<((g + 1) * 6)]), output = Array(y.row(i)[(g * 6)..<((g + 1) * 6)])
                let inputMean = input.reduce(0, +) / 6
                let inputVariance = input.map { ($0 - inputMean) * ($0 - inputMean) }.reduce(0, +) / 6
                let mean = output.reduce(0, +) / 6
                let variance = output.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
                // The mean of 6 normalised O(1) values: 6 additions and a division, at most 7u · Σ|y| / 6 ≈ 1.3e-15
                // per rounding chain, ×2 for the normalisation itself; 1e-14 is a 4× margin. The variance below is
                // a sum of 6 squares of such values: 1e-13 covers 13u · 6 ≈ 1e-14 with a 10× margin.
                #expect(abs(mean) <= 1e-14)
                #expect(abs(variance - inputVariance / (inputVariance + 1e-5)) <= 1e-13)
            }
        }
    }

    @Test func matchesTheDirectFormula() throws {
        let n = try norm(channels: 6, groups: 3, spatial: 4, seed: 4)
        let x = gaussianBatch(3, 24, seed: 5)
        let y = try n(x)
        for i in 0..<3 {
            let expected = ReferenceCells.groupNorm(x.row(i), channels: 6, groups: 3, gamma: n.weight, beta: n.bias)
            // As above: about (2n + 6) u relative for groups of n = 2 · spatial entries; 1e-14 is a 3× margin.
            #expect(CellChecks.relativeError(y.row(i), expected) <= 1e-14)
        }
    }

    @Test(arguments: [(6, 1, 1), (6, 3, 1), (6, 6, 4), (4, 2, 5)])
    func derivativesMatchCentralDifferences(channels: Int, groups: Int, spatial: Int) throws {
        let n = try norm(channels: channels, groups: groups, spatial: spatial, seed: 6)
        let width = channels * spatial
        let x = gaussianBatch(3, width, seed: 7)
        let v = gaussianBatch(3, width, seed: 8), u = gaussianBatch(3, width, seed: 9)
        let h = 1e-5
        let numericJVP = try (1 / (2 * h)) * (n(x + h * v) - n(x - h * v))
        #expect(try CellChecks.relativeError(n.jacobianVectorProduct(at: x, vectors: v).storage, numericJVP.storage) <= 1e-6)
        // uᵀJ one coordinate at a time.
        var numericVJP = Matrix(rows: 3, columns: width)
        for k in 0..<width {
            var e = Matrix(rows: 3, columns: width)
            for i in 0..<3 { e[i, k] = 1 }
            let column = try (1 / (2 * h)) * (n(x + h * e) - n(x - h * e))
            for i in 0..<3 { numericVJP[i, k] = BLAS.dot(u.row(i), column.row(i)) }
        }
        #expect(try CellChecks.relativeError(n.vectorJacobianProduct(at: x, covectors: u).storage, numericVJP.storage) <= 1e-6)
        // γ and β.
        let analytic = try n.affineGradients(at: x, covectors: u)
        func pairing(_ m: GroupNorm) throws -> Double { BLAS.dot(try m(x).storage, u.storage) }
        var numericWeight = [Double](), numericBias = [Double]()
        for c in 0..<channels {
            var plus = n.weight, minus = n.weight
            plus[c] += h
            minus[c] -= h
            numericWeight.append(try (pairing(n.with(weight: plus, bias: n.bias)) - pairing(n.with(weight: minus, bias: n.bias))) / (2 * h))
            plus = n.bias
            minus = n.bias
            plus[c] += h
            minus[c] -= h
            numericBias.append(try (pairing(n.with(weight: n.weight, bias: plus)) - pairing(n.with(weight: n.weight, bias: minus))) / (2 * h))
        }
        #expect(CellChecks.relativeError(analytic.weight, numericWeight) <= 1e-8)
        #expect(CellChecks.relativeError(analytic.bias, numericBias) <= 1e-8)
    }

    @Test func pointerFunctionsRunInPlace() throws {
        let n = try norm(channels: 4, groups: 2, spatial: 3, seed: 10)
        let x = gaussianBatch(2, 12, seed: 11), v = gaussianBatch(2, 12, seed: 12)
        var xhat = [Double](repeating: 0, count: 24), r = [Double](repeating: 0, count: 4)
        var inPlace = x.storage, jvp = v.storage, vjp = v.storage
        inPlace.withUnsafeMutableBufferPointer { p in
            n.forward(p.baseAddress!, into: p.baseAddress!, count: 2, normalized: &xhat, inverseDeviation: &r)
        }
        #expect(try inPlace == n(x).storage)
        jvp.withUnsafeMutableBufferPointer { p in
            n.jacobianVectorProduct(p.baseAddress!, normalized: xhat, inverseDeviation: r, into: p.baseAddress!, count: 2)
        }
        vjp.withUnsafeMutableBufferPointer { p in
            n.vectorJacobianProduct(p.baseAddress!, normalized: xhat, inverseDeviation: r, into: p.baseAddress!, count: 2)
        }
        #expect(try jvp == n.jacobianVectorProduct(at: x, vectors: v).storage)
        #expect(try vjp == n.vectorJacobianProduct(at: x, covectors: v).storage)
    }
}
