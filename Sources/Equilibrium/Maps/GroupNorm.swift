import Foundation

/// Group normalisation with a per-channel affine transform, applied to each sample separately
/// (Wu & He 2018; PyTorch `nn.GroupNorm`).
///
/// A sample holds C channels of S positions each, channel-major (C order: index c·S + s); an
/// MLP layer of width C is the case S = 1. The channels fall into G groups of C/G consecutive
/// channels, so a group is one contiguous run of n = (C/G)·S numbers. For every sample and group
///
///     μ = mean(x),  σ² = mean((x − μ)²)   (biased, as PyTorch),  r = 1 / √(σ² + ε)
///     x̂ = (x − μ) r,                      y_c = γ_c x̂ + β_c
///
/// with ε = 1e-5 (PyTorch's default) and γ = 1, β = 0 as PyTorch initialises them. With one
/// group this is layer normalisation over the whole sample.
///
/// Derivatives (per group, the normalisation's Jacobian is symmetric):
///
///     ∂x̂/∂x = r (I − 11ᵀ/n − x̂ x̂ᵀ/n)
///     J v   = γ ⊙ r (v − mean(v) − x̂ mean(x̂ ⊙ v))
///     Jᵀ u  = r (g − mean(g) − x̂ mean(x̂ ⊙ g)),   g = γ ⊙ u
///     ∂/∂γ_c = Σ u ⊙ x̂,   ∂/∂β_c = Σ u        (sums over the channel's positions and samples)
///
/// The pointer functions work on n samples at once (rows of a row-major n × C·S buffer), take
/// the normalised values x̂ and the inverse deviations r that ``forward(_:into:count:normalized:inverseDeviation:)``
/// saved, and may run in place (output = input). Each costs O(n C S).
///
/// References: Y. Wu, K. He, "Group Normalization", ECCV 2018.
public struct GroupNorm: Sendable, Equatable {
    /// C, the channels.
    public let channels: Int
    /// G, the groups; divides C.
    public let groups: Int
    /// S, the positions per channel (1 for an MLP layer).
    public let spatialSize: Int
    /// γ, one scale per channel.
    public let weight: [Double]
    /// β, one shift per channel.
    public let bias: [Double]
    /// ε, added to the variance (1e-5, PyTorch's default).
    public let epsilon: Double

    /// C·S, the numbers per sample.
    public var featureCount: Int { channels * spatialSize }
    /// (C/G)·S, the numbers per group.
    public var groupSize: Int { channels / groups * spatialSize }

    /// A normalisation with γ = 1 and β = 0 unless given.
    public init(channels: Int, groups: Int, spatialSize: Int = 1, weight: [Double]? = nil, bias: [Double]? = nil,
                epsilon: Double = 1e-5) throws(UsageError) {
        let owner = "GroupNorm"
        try Check.atLeast(channels, 1, owner, "channels", "C")
        try Check.atLeast(groups, 1, owner, "groups", "G, which divides C")
        try Check.atLeast(spatialSize, 1, owner, "spatialSize", "S, the positions per channel")
        guard channels % groups == 0 else {
            throw UsageError(owner, "groups", got: "\(groups)", expected: "a divisor of the \(channels) channels")
        }
        try Check.inRange(epsilon, owner, "epsilon", "ε added to the variance", above: 0, openBelow: true)
        for (values, name) in [(weight, "γ (weight)"), (bias, "β (bias)")] {
            guard let values else { continue }
            guard values.count == channels else {
                throw UsageError(owner, name, got: "\(values.count) entries", expected: "C = \(channels) entries")
            }
            try Check.finite(values, owner, name)
        }
        self.channels = channels
        self.groups = groups
        self.spatialSize = spatialSize
        self.weight = weight ?? [Double](repeating: 1, count: channels)
        self.bias = bias ?? [Double](repeating: 0, count: channels)
        self.epsilon = epsilon
    }

    /// The same normalisation with other affine parameters.
    public func with(weight: [Double], bias: [Double]) throws(UsageError) -> GroupNorm {
        try GroupNorm(channels: channels, groups: groups, spatialSize: spatialSize, weight: weight, bias: bias, epsilon: epsilon)
    }

    // MARK: Pointer API (n samples, row-major)

    /// y = GroupNorm(x) for n samples; optionally saves x̂ (n × C·S) and r (n × G) for the
    /// derivatives. `y` may equal `x`.
    public func forward(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count n: Int,
                        normalized: UnsafeMutablePointer<Double>? = nil,
                        inverseDeviation: UnsafeMutablePointer<Double>? = nil) {
        let groupSize = self.groupSize, channelsPerGroup = channels / groups, s = spatialSize
        let scale = 1 / Double(groupSize)
        var means = SIMD2<Double>(), deviations = SIMD2<Double>()
        weight.withUnsafeBufferPointer { gamma in
            bias.withUnsafeBufferPointer { beta in
                for sample in 0..<n {
                    for g in 0..<groups {
                        let offset = sample * featureCount + g * groupSize
                        let input = x + offset
                        if g % 2 == 0 {
                            // Two groups' statistics at a time: each sum keeps its four
                            // accumulators and its order, and the two chains of additions
                            // overlap (the sums are latency-bound, issue 13).
                            if g + 1 < groups {
                                (means[0], means[1]) = reduceSum(input, input + groupSize, groupSize)
                                (means[0], means[1]) = (means[0] * scale, means[1] * scale)
                                let (a, b) = reduceSquaredDeviation(input, input + groupSize, groupSize, from: means[0], means[1])
                                (deviations[0], deviations[1]) = (1 / (a * scale + epsilon).squareRoot(), 1 / (b * scale + epsilon).squareRoot())
                            } else {
                                means[0] = reduceSum(input, groupSize) * scale
                                deviations[0] = 1 / (reduceSquaredDeviation(input, groupSize, from: means[0]) * scale + epsilon).squareRoot()
                            }
                        }
                        let mean = means[g % 2], r = deviations[g % 2]
                        inverseDeviation?[sample * groups + g] = r
                        let output = y + offset
                        if s == 1, normalized == nil {
                            // One position per channel (the dense residual cell): one loop over
                            // the group, the same arithmetic per entry (issue 13).
                            let gammaGroup = gamma.baseAddress! + g * channelsPerGroup
                            let betaGroup = beta.baseAddress! + g * channelsPerGroup
                            for i in 0..<groupSize { output[i] = gammaGroup[i] * ((input[i] - mean) * r) + betaGroup[i] }
                            continue
                        }
                        for k in 0..<channelsPerGroup {
                            let c = g * channelsPerGroup + k
                            let (gc, bc) = (gamma[c], beta[c])
                            let base = k * s
                            let source = input + base, target = output + base
                            if let normalized {
                                // Explicit vectors (in place, the compiler's loop stays scalar); the
                                // same operations per entry (VectorLoops.swift).
                                let saved = normalized + offset + base
                                var i = 0
                                while i + 4 <= s {
                                    let value = (load4(source + i) - mean) * r
                                    UnsafeMutableRawPointer(saved + i).storeBytes(of: value, as: SIMD4<Double>.self)
                                    UnsafeMutableRawPointer(target + i).storeBytes(of: gc * value + bc, as: SIMD4<Double>.self)
                                    i += 4
                                }
                                while i < s {
                                    let value = (source[i] - mean) * r
                                    saved[i] = value
                                    target[i] = gc * value + bc
                                    i += 1
                                }
                            } else {
                                fill(target, count: s, vector: { i in gc * ((load4(source + i) - mean) * r) + bc },
                                     scalar: { i in gc * ((source[i] - mean) * r) + bc })
                            }
                        }
                    }
                }
            }
        }
    }

    /// dy = J dx for n samples at the point whose x̂ and r were saved. `dy` may equal `dx`.
    public func jacobianVectorProduct(_ dx: UnsafePointer<Double>, normalized: UnsafePointer<Double>,
                                      inverseDeviation: UnsafePointer<Double>, into dy: UnsafeMutablePointer<Double>,
                                      count n: Int) {
        let groupSize = self.groupSize, channelsPerGroup = channels / groups, s = spatialSize
        let scale = 1 / Double(groupSize)
        weight.withUnsafeBufferPointer { gamma in
            for sample in 0..<n {
                for g in 0..<groups {
                    let offset = sample * featureCount + g * groupSize
                    let v = dx + offset, xhat = normalized + offset
                    let (sum, projection) = reduceSumAndDot(v, xhat, groupSize)
                    let mean = sum * scale, meanProjection = projection * scale
                    let r = inverseDeviation[sample * groups + g]
                    let out = dy + offset
                    if s == 1 {
                        // One position per channel: one loop over the group, the same arithmetic.
                        let gammaGroup = gamma.baseAddress! + g * channelsPerGroup
                        for i in 0..<groupSize { out[i] = (gammaGroup[i] * r) * (v[i] - mean - xhat[i] * meanProjection) }
                        continue
                    }
                    for k in 0..<channelsPerGroup {
                        let factor = gamma[g * channelsPerGroup + k] * r
                        let (vk, xk) = (v + k * s, xhat + k * s)
                        fill(out + k * s, count: s, vector: { i in factor * (load4(vk + i) - mean - load4(xk + i) * meanProjection) },
                             scalar: { i in factor * (vk[i] - mean - xk[i] * meanProjection) })
                    }
                }
            }
        }
    }

    /// gx = Jᵀ gy for n samples at the point whose x̂ and r were saved. `gx` may equal `gy`.
    public func vectorJacobianProduct(_ gy: UnsafePointer<Double>, normalized: UnsafePointer<Double>,
                                      inverseDeviation: UnsafePointer<Double>, into gx: UnsafeMutablePointer<Double>,
                                      count n: Int) {
        let groupSize = self.groupSize, channelsPerGroup = channels / groups, s = spatialSize
        let scale = 1 / Double(groupSize)
        weight.withUnsafeBufferPointer { gamma in
            for sample in 0..<n {
                for g in 0..<groups {
                    let offset = sample * featureCount + g * groupSize
                    let u = gy + offset, xhat = normalized + offset
                    // mean(g) and mean(x̂ ⊙ g) with g = γ ⊙ u.
                    var sum = 0.0, projection = 0.0
                    let r = inverseDeviation[sample * groups + g]
                    let out = gx + offset
                    if s == 1 {
                        // One position per channel (the dense residual cell): the per-channel
                        // sums are single entries, so one sequential loop gives the same sums
                        // in the same order without a reduction call per channel (issue 13).
                        let gammaGroup = gamma.baseAddress! + g * channelsPerGroup
                        for i in 0..<groupSize {
                            sum += gammaGroup[i] * u[i]
                            projection += gammaGroup[i] * (u[i] * xhat[i])
                        }
                        let mean = sum * scale, meanProjection = projection * scale
                        for i in 0..<groupSize { out[i] = r * (gammaGroup[i] * u[i] - mean - xhat[i] * meanProjection) }
                        continue
                    }
                    for k in 0..<channelsPerGroup {
                        let gc = gamma[g * channelsPerGroup + k]
                        let (channelSum, channelProjection) = reduceSumAndDot(u + k * s, xhat + k * s, s)
                        sum += gc * channelSum
                        projection += gc * channelProjection
                    }
                    let mean = sum * scale, meanProjection = projection * scale
                    for k in 0..<channelsPerGroup {
                        let gc = gamma[g * channelsPerGroup + k]
                        let (uk, xk) = (u + k * s, xhat + k * s)
                        fill(out + k * s, count: s, vector: { i in r * (gc * load4(uk + i) - mean - load4(xk + i) * meanProjection) },
                             scalar: { i in r * (gc * uk[i] - mean - xk[i] * meanProjection) })
                    }
                }
            }
        }
    }

    /// Adds Σ gy ⊙ x̂ to `weightGradient` and Σ gy to `biasGradient` (C entries each; sums over
    /// the n samples and every position of a channel).
    public func accumulateAffineGradients(_ gy: UnsafePointer<Double>, normalized: UnsafePointer<Double>, count n: Int,
                                          weightGradient: UnsafeMutablePointer<Double>,
                                          biasGradient: UnsafeMutablePointer<Double>) {
        let s = spatialSize
        for sample in 0..<n {
            for c in 0..<channels {
                let base = sample * featureCount + c * s
                let (plain, scaled) = reduceSumAndDot(gy + base, normalized + base, s)
                weightGradient[c] += scaled
                biasGradient[c] += plain
            }
        }
    }

    // MARK: Matrix API (set-up and tests)

    /// GroupNorm of every row of `x` (rows are samples, C·S columns), as a new matrix.
    public func callAsFunction(_ x: Matrix) throws(UsageError) -> Matrix {
        guard x.columns == featureCount else {
            throw UsageError("GroupNorm", "input", got: "\(x.columns) columns", expected: "C·S = \(featureCount) columns, one sample per row")
        }
        var y = Matrix(rows: x.rows, columns: x.columns)
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                forward(px.baseAddress!, into: py.baseAddress!, count: x.rows)
            }
        }
        return y
    }

    /// J(xᵢ) vᵢ for every row (sample), as a new matrix.
    public func jacobianVectorProduct(at x: Matrix, vectors v: Matrix) throws(UsageError) -> Matrix {
        try derivative(at: x, v) { dx, xhat, r, out, n in
            jacobianVectorProduct(dx, normalized: xhat, inverseDeviation: r, into: out, count: n)
        }
    }

    /// J(xᵢ)ᵀ uᵢ for every row (sample), as a new matrix.
    public func vectorJacobianProduct(at x: Matrix, covectors u: Matrix) throws(UsageError) -> Matrix {
        try derivative(at: x, u) { gy, xhat, r, out, n in
            vectorJacobianProduct(gy, normalized: xhat, inverseDeviation: r, into: out, count: n)
        }
    }

    /// Σᵢ uᵢᵀ ∂y(xᵢ)/∂γ and Σᵢ uᵢᵀ ∂y(xᵢ)/∂β.
    public func affineGradients(at x: Matrix, covectors u: Matrix) throws(UsageError) -> (weight: [Double], bias: [Double]) {
        var weightGradient = [Double](repeating: 0, count: channels)
        var biasGradient = [Double](repeating: 0, count: channels)
        _ = try derivative(at: x, u) { gy, xhat, _, _, n in
            weightGradient.withUnsafeMutableBufferPointer { gw in
                biasGradient.withUnsafeMutableBufferPointer { gb in
                    accumulateAffineGradients(gy, normalized: xhat, count: n,
                                              weightGradient: gw.baseAddress!, biasGradient: gb.baseAddress!)
                }
            }
        }
        return (weightGradient, biasGradient)
    }

    private func derivative(at x: Matrix, _ v: Matrix,
                            _ body: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>,
                                     UnsafeMutablePointer<Double>, Int) -> Void) throws(UsageError) -> Matrix {
        guard x.columns == featureCount && v.rows == x.rows && v.columns == x.columns else {
            throw UsageError("GroupNorm", "points and vectors", got: "\(x.rows) × \(x.columns) and \(v.rows) × \(v.columns)",
                             expected: "both n × C·S = n × \(featureCount)")
        }
        let n = x.rows
        var y = Matrix(rows: n, columns: featureCount)
        var xhat = [Double](repeating: 0, count: max(1, n * featureCount))
        var r = [Double](repeating: 0, count: max(1, n * groups))
        var out = Matrix(rows: n, columns: featureCount)
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                xhat.withUnsafeMutableBufferPointer { ph in
                    r.withUnsafeMutableBufferPointer { pr in
                        forward(px.baseAddress!, into: py.baseAddress!, count: n,
                                normalized: ph.baseAddress!, inverseDeviation: pr.baseAddress!)
                    }
                }
            }
        }
        v.storage.withUnsafeBufferPointer { pv in
            xhat.withUnsafeBufferPointer { ph in
                r.withUnsafeBufferPointer { pr in
                    out.storage.withUnsafeMutableBufferPointer { po in
                        body(pv.baseAddress!, ph.baseAddress!, pr.baseAddress!, po.baseAddress!, n)
                    }
                }
            }
        }
        return out
    }
}

// Reductions with four independent accumulators: a single running sum is one dependent add per
// element (its latency, not the adder's throughput, sets the speed); four halve to quarter the
// time of the norms in a release build.

@inline(__always)
private func reduceSum(_ x: UnsafePointer<Double>, _ n: Int) -> Double {
    var (a, b, c, d) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= n {
        a += x[i]; b += x[i + 1]; c += x[i + 2]; d += x[i + 3]
        i += 4
    }
    while i < n { a += x[i]; i += 1 }
    return (a + b) + (c + d)
}

@inline(__always)
private func reduceSquaredDeviation(_ x: UnsafePointer<Double>, _ n: Int, from mean: Double) -> Double {
    var (a, b, c, d) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= n {
        let (p, q, r, t) = (x[i] - mean, x[i + 1] - mean, x[i + 2] - mean, x[i + 3] - mean)
        a += p * p; b += q * q; c += r * r; d += t * t
        i += 4
    }
    while i < n { let p = x[i] - mean; a += p * p; i += 1 }
    return (a + b) + (c + d)
}

/// ``reduceSum(_:_:)`` of x and of y (n each), interleaved: the same sums, bitwise.
@inline(__always)
private func reduceSum(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ n: Int) -> (Double, Double) {
    var (a, b) = (SIMD4<Double>(), SIMD4<Double>())
    var i = 0
    while i + 4 <= n {
        a += load4(x + i); b += load4(y + i)
        i += 4
    }
    while i < n { a[0] += x[i]; b[0] += y[i]; i += 1 }
    return ((a[0] + a[1]) + (a[2] + a[3]), (b[0] + b[1]) + (b[2] + b[3]))
}

/// ``reduceSquaredDeviation(_:_:from:)`` of x from μ and of y from ν, interleaved: the same sums, bitwise.
@inline(__always)
private func reduceSquaredDeviation(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ n: Int,
                                    from mu: Double, _ nu: Double) -> (Double, Double) {
    var (a, b) = (SIMD4<Double>(), SIMD4<Double>())
    var i = 0
    while i + 4 <= n {
        let (p, q) = (load4(x + i) - mu, load4(y + i) - nu)
        a += p * p; b += q * q
        i += 4
    }
    while i < n { let (p, q) = (x[i] - mu, y[i] - nu); a[0] += p * p; b[0] += q * q; i += 1 }
    return ((a[0] + a[1]) + (a[2] + a[3]), (b[0] + b[1]) + (b[2] + b[3]))
}

/// (Σ v, Σ v ⊙ w).
@inline(__always)
private func reduceSumAndDot(_ v: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ n: Int) -> (Double, Double) {
    var (a, b, c, d) = (0.0, 0.0, 0.0, 0.0)
    var (e, f, g, h) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= n {
        a += v[i]; b += v[i + 1]; c += v[i + 2]; d += v[i + 3]
        e += v[i] * w[i]; f += v[i + 1] * w[i + 1]; g += v[i + 2] * w[i + 2]; h += v[i + 3] * w[i + 3]
        i += 4
    }
    while i < n { a += v[i]; e += v[i] * w[i]; i += 1 }
    return ((a + b) + (c + d), (e + f) + (g + h))
}
