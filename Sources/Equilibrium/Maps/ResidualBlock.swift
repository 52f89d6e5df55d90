import Foundation

/// A linear layer of the residual cell: dense (the MLP cell) or a convolution. Internal: the
/// two public cells share one implementation of the cell and its derivatives through it.
protocol ResidualLinearLayer: Sendable {
    /// Numbers per input sample.
    var inputCount: Int { get }
    /// Numbers per output sample.
    var outputCount: Int { get }
    /// Doubles of scratch a call on n samples needs (im2col columns; 0 for a dense layer).
    func scratchCount(samples n: Int) -> Int
    /// y = L x for n samples (`beta = 1` adds to y).
    func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count n: Int,
               scratch: UnsafeMutablePointer<Double>, beta: Double)
    /// x̄ = Lᵀ ȳ for n samples (overwrites x̄).
    func applyAdjoint(_ gy: UnsafePointer<Double>, into gx: UnsafeMutablePointer<Double>, count n: Int,
                      scratch: UnsafeMutablePointer<Double>)
    /// W̄ += Σᵣ ∂(ȳᵣᵀ L xᵣ)/∂W.
    func accumulateWeightGradient(input x: UnsafePointer<Double>, outputGradient gy: UnsafePointer<Double>,
                                  count n: Int, into weightGradient: UnsafeMutablePointer<Double>,
                                  scratch: UnsafeMutablePointer<Double>)
}

extension Convolution: ResidualLinearLayer {}

/// A dense layer y = W x (W: out × in), one GEMM per batch: Y = X Wᵀ for the n × in rows X.
struct DenseLayer: ResidualLinearLayer {
    let weight: Matrix

    var inputCount: Int { weight.columns }
    var outputCount: Int { weight.rows }
    func scratchCount(samples n: Int) -> Int { 0 }

    func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count n: Int,
               scratch: UnsafeMutablePointer<Double>, beta: Double) {
        weight.storage.withUnsafeBufferPointer { w in
            BLAS.gemm(.none, .transpose, m: n, n: outputCount, k: inputCount, alpha: 1, a: x, lda: inputCount,
                      b: w.baseAddress!, ldb: inputCount, beta: beta, c: y, ldc: outputCount)
        }
    }

    func applyAdjoint(_ gy: UnsafePointer<Double>, into gx: UnsafeMutablePointer<Double>, count n: Int,
                      scratch: UnsafeMutablePointer<Double>) {
        weight.storage.withUnsafeBufferPointer { w in
            BLAS.gemm(.none, .none, m: n, n: inputCount, k: outputCount, alpha: 1, a: gy, lda: outputCount,
                      b: w.baseAddress!, ldb: inputCount, beta: 0, c: gx, ldc: inputCount)
        }
    }

    func accumulateWeightGradient(input x: UnsafePointer<Double>, outputGradient gy: UnsafePointer<Double>,
                                  count n: Int, into weightGradient: UnsafeMutablePointer<Double>,
                                  scratch: UnsafeMutablePointer<Double>) {
        // W̄ += Ȳᵀ X.
        BLAS.gemm(.transpose, .none, m: outputCount, n: inputCount, k: n, alpha: 1, a: gy, lda: outputCount,
                  b: x, ldb: inputCount, beta: 1, c: weightGradient, ldc: inputCount)
    }
}

/// The DEQ tutorial's residual cell over any linear layer, bound to its injections x̃ᵢ:
///
///     a₁ = L₁ z,  y = norm₁(relu(a₁)),  s₂ = x̃ + L₂ y,  s₃ = z + norm₂(s₂),  f = norm₃(relu(s₃))
///
/// Immutable after construction; its identity identifies the bound cell, so a Jacobian
/// workspace can recognise the cell it was made for.
final class ResidualBlock<Layer: ResidualLinearLayer>: Sendable {
    /// L₁: state (C·S) → inner (h·S).
    let layer1: Layer
    /// L₂: inner (h·S) → state (C·S).
    let layer2: Layer
    /// Over the inner channels.
    let norm1: GroupNorm
    /// Over the state channels.
    let norm2: GroupNorm
    let norm3: GroupNorm
    /// x̃ᵢ, one row per sample, B × C·S.
    let injection: Matrix
    /// Per-evaluation scratch: the inner activations of B samples and one column buffer.
    private let pool: ScratchPool

    init(layer1: Layer, layer2: Layer, norm1: GroupNorm, norm2: GroupNorm, norm3: GroupNorm, injection: Matrix) {
        let state = layer1.inputCount, inner = layer1.outputCount
        precondition(layer2.inputCount == inner && layer2.outputCount == state,
                     "Residual cell: L₂ maps \(layer2.inputCount) → \(layer2.outputCount) numbers, expected \(inner) → \(state).")
        precondition(norm1.featureCount == inner && norm2.featureCount == state && norm3.featureCount == state,
                     "Residual cell: the norms cover \(norm1.featureCount), \(norm2.featureCount), \(norm3.featureCount) numbers, expected \(inner), \(state), \(state).")
        precondition(injection.columns == state, "Residual cell: x̃ has \(injection.columns) columns, expected \(state).")
        self.layer1 = layer1
        self.layer2 = layer2
        self.norm1 = norm1
        self.norm2 = norm2
        self.norm3 = norm3
        self.injection = injection
        pool = ScratchPool(count: injection.rows * inner + max(layer1.scratchCount(samples: injection.rows),
                                                               layer2.scratchCount(samples: injection.rows)))
    }

    var stateCount: Int { layer1.inputCount }
    var innerCount: Int { layer1.outputCount }
    var batchSize: Int { injection.rows }
    /// Scratch for the layers on up to n samples.
    func layerScratch(samples n: Int) -> Int { max(layer1.scratchCount(samples: n), layer2.scratchCount(samples: n)) }

    // MARK: Evaluation

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        let n = samples.count, d = stateCount, inner = innerCount
        guard n > 0 else { return }
        pool.withBlock { block in
            let hidden = block, columns = block + batchSize * inner
            layer1.apply(z, into: hidden, count: n, scratch: columns, beta: 0)
            relu(hidden, count: n * inner)
            norm1.forward(hidden, into: hidden, count: n)
            layer2.apply(hidden, into: fz, count: n, scratch: columns, beta: 0)
            addInjection(into: fz, samples: samples)
            norm2.forward(fz, into: fz, count: n)
            fill(fz, count: n * d, vector: { i in let s3 = load4(fz + i) + load4(z + i); return s3.replacing(with: 0, where: s3 .< 0) },
                 scalar: { i in let s3 = fz[i] + z[i]; return s3 < 0 ? 0 : s3 })
            norm3.forward(fz, into: fz, count: n)
        }
    }

    /// x̃ row by row: row r gets x̃ of sample samples[r].
    private func addInjection(into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        let d = stateCount
        injection.storage.withUnsafeBufferPointer { x in
            for (r, sample) in samples.enumerated() {
                let row = out + r * d, source = x.baseAddress! + sample * d
                for j in 0..<d { row[j] += source[j] }
            }
        }
    }

    // MARK: Jacobian products

    func makeWorkspace(maxSamples: Int) -> ResidualCellWorkspace {
        ResidualCellWorkspace(owner: self, maxSamples: maxSamples, state: stateCount, inner: innerCount,
                              groups: norm1.groups, columns: layerScratch(samples: maxSamples))
    }

    /// Makes sure the workspace holds the intermediates at these rows: recomputed unless the
    /// same samples at bitwise the same points were prepared last (Newton–Krylov multiplies
    /// many vectors at one point).
    private func prepare(_ z: UnsafePointer<Double>, samples: UnsafeBufferPointer<Int>, _ w: ResidualCellWorkspace) {
        precondition(w.owner === self, "A residual cell's Jacobian workspace was made by another cell; call makeJacobianWorkspace on this one.")
        let n = samples.count, d = stateCount, inner = innerCount
        precondition(n <= w.maxSamples, "The Jacobian workspace holds \(w.maxSamples) samples, the product has \(n).")
        if w.cachedCount == n,
           memcmp(w.cachedSamples, samples.baseAddress!, n * MemoryLayout<Int>.stride) == 0,
           memcmp(w.cachedZ.baseAddress, z, n * d * MemoryLayout<Double>.stride) == 0 {
            return
        }
        w.cachedCount = -1
        let columns = w.columns.baseAddress
        let a1 = w.preActivation1.baseAddress, y = w.hidden.baseAddress
        layer1.apply(z, into: a1, count: n, scratch: columns, beta: 0)
        for i in 0..<(n * inner) { y[i] = a1[i] < 0 ? 0 : a1[i] }
        norm1.forward(y, into: y, count: n, normalized: w.normalized1.baseAddress, inverseDeviation: w.deviation1.baseAddress)
        let s2 = w.stateScratch.baseAddress
        layer2.apply(y, into: s2, count: n, scratch: columns, beta: 0)
        addInjection(into: s2, samples: samples)
        let s3 = w.preActivation3.baseAddress
        norm2.forward(s2, into: s3, count: n, normalized: w.normalized2.baseAddress, inverseDeviation: w.deviation2.baseAddress)
        for i in 0..<(n * d) {
            s3[i] += z[i]
            s2[i] = s3[i] < 0 ? 0 : s3[i]
        }
        norm3.forward(s2, into: s2, count: n, normalized: w.normalized3.baseAddress, inverseDeviation: w.deviation3.baseAddress)
        w.cachedZ.baseAddress.update(from: z, count: n * d)
        w.cachedSamples.update(from: samples.baseAddress!, count: n)
        w.cachedCount = n
    }

    func jacobianVectorProduct(at z: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                               into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>,
                               workspace w: ResidualCellWorkspace) {
        let n = samples.count, d = stateCount, inner = innerCount
        guard n > 0 else { return }
        prepare(z, samples: samples, w)
        let columns = w.columns.baseAddress, t = w.innerScratch.baseAddress, s = w.stateScratch.baseAddress
        let a1 = w.preActivation1.baseAddress, s3 = w.preActivation3.baseAddress
        layer1.apply(v, into: t, count: n, scratch: columns, beta: 0)
        mask(t, by: a1, count: n * inner)
        norm1.jacobianVectorProduct(t, normalized: w.normalized1.baseAddress, inverseDeviation: w.deviation1.baseAddress,
                                    into: t, count: n)
        layer2.apply(t, into: s, count: n, scratch: columns, beta: 0)
        norm2.jacobianVectorProduct(s, normalized: w.normalized2.baseAddress, inverseDeviation: w.deviation2.baseAddress,
                                    into: s, count: n)
        fill(s, count: n * d, vector: { i in SIMD4<Double>().replacing(with: load4(s + i) + load4(v + i), where: load4(s3 + i) .> 0) },
             scalar: { i in s3[i] > 0 ? s[i] + v[i] : 0 })
        norm3.jacobianVectorProduct(s, normalized: w.normalized3.baseAddress, inverseDeviation: w.deviation3.baseAddress,
                                    into: out, count: n)
    }

    func vectorJacobianProduct(at z: UnsafePointer<Double>, covector u: UnsafePointer<Double>,
                               into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>,
                               workspace w: ResidualCellWorkspace) {
        let n = samples.count, d = stateCount
        guard n > 0 else { return }
        prepare(z, samples: samples, w)
        let gs3 = w.stateScratch.baseAddress, gs2 = w.stateScratch2.baseAddress
        backwardToInjection(u, count: n, w, gs3: gs3, gs2: gs2)
        let ga1 = w.innerScratch.baseAddress
        backwardToInner(gs2, count: n, w, into: ga1)
        layer1.applyAdjoint(ga1, into: out, count: n, scratch: w.columns.baseAddress)
        for i in 0..<(n * d) { out[i] += gs3[i] }
    }

    /// ∂/∂s₃ and ∂/∂s₂ (= ∂/∂x̃) of uᵀf at the prepared rows.
    private func backwardToInjection(_ u: UnsafePointer<Double>, count n: Int, _ w: ResidualCellWorkspace,
                                     gs3: UnsafeMutablePointer<Double>, gs2: UnsafeMutablePointer<Double>) {
        let s3 = w.preActivation3.baseAddress
        norm3.vectorJacobianProduct(u, normalized: w.normalized3.baseAddress, inverseDeviation: w.deviation3.baseAddress,
                                    into: gs3, count: n)
        mask(gs3, by: s3, count: n * stateCount)
        norm2.vectorJacobianProduct(gs3, normalized: w.normalized2.baseAddress, inverseDeviation: w.deviation2.baseAddress,
                                    into: gs2, count: n)
    }

    /// ∂/∂a₁ of uᵀf from ∂/∂s₂; leaves ∂/∂y in `gy` when given.
    private func backwardToInner(_ gs2: UnsafePointer<Double>, count n: Int, _ w: ResidualCellWorkspace,
                                 into ga1: UnsafeMutablePointer<Double>, gy: UnsafeMutablePointer<Double>? = nil) {
        let a1 = w.preActivation1.baseAddress
        layer2.applyAdjoint(gs2, into: ga1, count: n, scratch: w.columns.baseAddress)
        gy?.update(from: ga1, count: n * innerCount)
        norm1.vectorJacobianProduct(ga1, normalized: w.normalized1.baseAddress, inverseDeviation: w.deviation1.baseAddress,
                                    into: ga1, count: n)
        mask(ga1, by: a1, count: n * innerCount)
    }

    // MARK: Parameter gradients

    /// The gradients of Σᵢ uᵢᵀ f(zᵢ) for the whole batch.
    struct Gradients {
        var layer1: [Double]
        var layer2: [Double]
        var norm1: (weight: [Double], bias: [Double])
        var norm2: (weight: [Double], bias: [Double])
        var norm3: (weight: [Double], bias: [Double])
        /// ∂/∂x̃ᵢ, B × C·S.
        var injection: Matrix
    }

    func gradients(at z: Matrix, covectors u: Matrix, layer1Count: Int, layer2Count: Int) -> Gradients {
        let b = batchSize, d = stateCount, inner = innerCount
        precondition(z.rows == b && z.columns == d && u.rows == b && u.columns == d,
                     "Points and covectors must be \(b) × \(d); got \(z.rows) × \(z.columns) and \(u.rows) × \(u.columns).")
        let w = makeWorkspace(maxSamples: b)
        var result = Gradients(layer1: [Double](repeating: 0, count: layer1Count),
                               layer2: [Double](repeating: 0, count: layer2Count),
                               norm1: ([Double](repeating: 0, count: norm1.channels), [Double](repeating: 0, count: norm1.channels)),
                               norm2: ([Double](repeating: 0, count: norm2.channels), [Double](repeating: 0, count: norm2.channels)),
                               norm3: ([Double](repeating: 0, count: norm3.channels), [Double](repeating: 0, count: norm3.channels)),
                               injection: Matrix(rows: b, columns: d))
        let all = Array(0..<b)
        let gy = ScratchBuffer(count: b * inner)
        z.storage.withUnsafeBufferPointer { pz in
            u.storage.withUnsafeBufferPointer { pu in
                all.withUnsafeBufferPointer { samples in
                    prepare(pz.baseAddress!, samples: samples, w)
                }
                let gs3 = w.stateScratch.baseAddress, ga1 = w.innerScratch.baseAddress
                result.injection.storage.withUnsafeMutableBufferPointer { gs2 in
                    backwardToInjection(pu.baseAddress!, count: b, w, gs3: gs3, gs2: gs2.baseAddress!)
                    backwardToInner(gs2.baseAddress!, count: b, w, into: ga1, gy: gy.baseAddress)
                    result.layer2.withUnsafeMutableBufferPointer { g in
                        layer2.accumulateWeightGradient(input: w.hidden.baseAddress, outputGradient: gs2.baseAddress!,
                                                        count: b, into: g.baseAddress!, scratch: w.columns.baseAddress)
                    }
                }
                result.layer1.withUnsafeMutableBufferPointer { g in
                    layer1.accumulateWeightGradient(input: pz.baseAddress!, outputGradient: ga1, count: b,
                                                    into: g.baseAddress!, scratch: w.columns.baseAddress)
                }
                func affine(_ norm: GroupNorm, _ upstream: UnsafePointer<Double>, _ normalized: ScratchBuffer,
                            _ target: inout (weight: [Double], bias: [Double])) {
                    target.weight.withUnsafeMutableBufferPointer { gw in
                        target.bias.withUnsafeMutableBufferPointer { gb in
                            norm.accumulateAffineGradients(upstream, normalized: normalized.baseAddress, count: b,
                                                           weightGradient: gw.baseAddress!, biasGradient: gb.baseAddress!)
                        }
                    }
                }
                affine(norm3, pu.baseAddress!, w.normalized3, &result.norm3)
                affine(norm2, gs3, w.normalized2, &result.norm2)
                // y = γ₁ x̂₁ + β₁ is the norm's output, so its upstream gradient is ∂/∂y.
                affine(norm1, gy.baseAddress, w.normalized1, &result.norm1)
            }
        }
        return result
    }
}

/// Scratch memory of the residual cells' Jacobian products, made once per solve by
/// ``ResidualCell/makeJacobianWorkspace(maxSamples:)`` or
/// ``ConvResidualCell/makeJacobianWorkspace(maxSamples:)``.
///
/// It holds the forward intermediates (pre-activations, normalised values, inverse deviations)
/// at the last point it saw, so products at one point after another (Newton–Krylov's Krylov
/// iterations) cost one forward recomputation, not one each. Not thread-safe: one solve at a time.
public final class ResidualCellWorkspace {
    let owner: AnyObject
    let maxSamples: Int
    let preActivation1, normalized1, hidden, deviation1: ScratchBuffer
    let normalized2, deviation2: ScratchBuffer
    let preActivation3, normalized3, deviation3: ScratchBuffer
    let innerScratch, stateScratch, stateScratch2, columns: ScratchBuffer
    let cachedZ: ScratchBuffer
    let cachedSamples: UnsafeMutablePointer<Int>
    /// Rows of the cached point, −1 when nothing is cached.
    var cachedCount = -1

    init(owner: AnyObject, maxSamples: Int, state: Int, inner: Int, groups: Int, columns: Int) {
        self.owner = owner
        self.maxSamples = maxSamples
        let n = max(1, maxSamples)
        preActivation1 = ScratchBuffer(count: n * inner)
        normalized1 = ScratchBuffer(count: n * inner)
        hidden = ScratchBuffer(count: n * inner)
        deviation1 = ScratchBuffer(count: n * groups)
        normalized2 = ScratchBuffer(count: n * state)
        deviation2 = ScratchBuffer(count: n * groups)
        preActivation3 = ScratchBuffer(count: n * state)
        normalized3 = ScratchBuffer(count: n * state)
        deviation3 = ScratchBuffer(count: n * groups)
        innerScratch = ScratchBuffer(count: n * inner)
        stateScratch = ScratchBuffer(count: n * state)
        stateScratch2 = ScratchBuffer(count: n * state)
        self.columns = ScratchBuffer(count: columns)
        cachedZ = ScratchBuffer(count: n * state)
        cachedSamples = .allocate(capacity: n)
        cachedSamples.initialize(repeating: -1, count: n)
    }

    deinit { cachedSamples.deallocate() }
}
