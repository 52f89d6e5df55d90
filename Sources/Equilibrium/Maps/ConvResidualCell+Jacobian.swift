/// Analytic Jacobian products of the convolutional residual cell: those of ``ResidualCell``
/// with the dense layers replaced by convolutions and their adjoints (``Convolution``):
///
///     J v  = N₃ D₃ (v + N₂ C₂ N₁ D₁ C₁ v)
///     Jᵀ u = g₃ + C₁ᵀ D₁ N₁ᵀ C₂ᵀ N₂ᵀ g₃,     g₃ = D₃ N₃ᵀ u
///
/// Each product costs two im2col + GEMM convolutions (or their col2im adjoints) per sample; the
/// forward intermediates are recomputed once per point and kept in the ``ResidualCellWorkspace``.
extension ConvResidualCell: DifferentiableMap {
    public func makeJacobianWorkspace(maxSamples: Int) -> ResidualCellWorkspace {
        block.makeWorkspace(maxSamples: maxSamples)
    }

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ResidualCellWorkspace) {
        block.jacobianVectorProduct(at: z, vector: v, into: out, samples: samples, workspace: workspace)
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ResidualCellWorkspace) {
        block.vectorJacobianProduct(at: z, covector: u, into: out, samples: samples, workspace: workspace)
    }
}

/// Parameters of the convolutional residual cell, named as PyTorch's `state_dict` of the
/// tutorial's `ResNetLayer` (plus the injection) and as the `.npy` files of
/// ``ConvResidualCell/load(directory:groups:shape:injection:)``; K-shaped trailing axes are
/// (3,) in 1-D and (3, 3) in 2-D:
///
/// | name | shape |
/// |---|---|
/// | `conv1.weight` | (h, C, 3[, 3]) |
/// | `conv2.weight` | (C, h, 3[, 3]) |
/// | `norm1.weight`, `norm1.bias` | (h,) |
/// | `norm2.weight`, `norm2.bias`, `norm3.weight`, `norm3.bias` | (C,) |
/// | `injection.weight` | (C, C_in, 3[, 3]) |
/// | `injection.bias` | (C,) |
///
/// Gradients as for ``ResidualCell`` with W̄ = Σ ḡ · im2col(input)ᵀ for each convolution; the
/// injection's gradient g₂ = ∂/∂x̃ gives Ū = Σ g₂ · im2col(x)ᵀ, b̄_c = Σ g₂[c, ·], and the input
/// gradient x̄ = conv_Uᵀ(g₂).
extension ConvResidualCell: ParametricCell {
    public static let parameterNames = ["conv1.weight", "conv2.weight", "norm1.weight", "norm1.bias", "norm2.weight",
                                        "norm2.bias", "norm3.weight", "norm3.bias", "injection.weight", "injection.bias"]

    public var parameters: [NamedArray] {
        [
            NamedArray(name: "conv1.weight", shape: convolution1.weightShape, values: convolution1.weight.storage),
            NamedArray(name: "conv2.weight", shape: convolution2.weightShape, values: convolution2.weight.storage),
        ] + normParameters(norm1, "norm1") + normParameters(norm2, "norm2") + normParameters(norm3, "norm3") + [
            NamedArray(name: "injection.weight", shape: injectionConvolution.weightShape,
                       values: injectionConvolution.weight.storage),
            NamedArray(name: "injection.bias", shape: [channels], values: injectionBias),
        ]
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> ConvResidualCell {
        try Check.parameters(parameters, matching: self.parameters, "ConvResidualCell")
        let p = parameters
        func weight(_ convolution: Convolution, _ values: [Double]) throws(UsageError) -> Convolution {
            try convolution.with(weight: Matrix(rows: convolution.weight.rows, columns: convolution.weight.columns, storage: values))
        }
        return try ConvResidualCell(convolution1: weight(convolution1, p[0].values), convolution2: weight(convolution2, p[1].values),
                                norm1: norm1.with(weight: p[2].values, bias: p[3].values),
                                norm2: norm2.with(weight: p[4].values, bias: p[5].values),
                                norm3: norm3.with(weight: p[6].values, bias: p[7].values),
                                injectionConvolution: weight(injectionConvolution, p[8].values),
                                injectionBias: p[9].values, input: input)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        try Check.batches([(z, "points z"), (fz, "images f(z)"), (u, "covectors")], (batchSize, dimension), "\(Self.self).parameterGradients")
        let g = block.gradients(at: z, covectors: u, layer1Count: convolution1.weight.count,
                                layer2Count: convolution2.weight.count)
        let b = batchSize, c = channels, s = shape.size
        // The injection x̃ = conv_U(x) + b.
        var injectionWeight = [Double](repeating: 0, count: injectionConvolution.weight.count)
        var injectionBias = [Double](repeating: 0, count: c)
        let scratch = ScratchBuffer(count: injectionConvolution.scratchCount(samples: b))
        input.storage.withUnsafeBufferPointer { x in
            g.injection.storage.withUnsafeBufferPointer { gx in
                injectionWeight.withUnsafeMutableBufferPointer { gu in
                    injectionConvolution.accumulateWeightGradient(input: x.baseAddress!, outputGradient: gx.baseAddress!,
                                                                  count: b, into: gu.baseAddress!, scratch: scratch.baseAddress)
                }
            }
        }
        for i in 0..<b {
            for channel in 0..<c {
                let base = (i * c + channel) * s
                var sum = 0.0
                for p in base..<(base + s) { sum += g.injection.storage[p] }
                injectionBias[channel] += sum
            }
        }
        let inputGradient = try injectionConvolution.adjoint(g.injection)
        let h = innerChannels
        let parameters = [
            NamedArray(name: "conv1.weight", shape: convolution1.weightShape, values: g.layer1),
            NamedArray(name: "conv2.weight", shape: convolution2.weightShape, values: g.layer2),
            NamedArray(name: "norm1.weight", shape: [h], values: g.norm1.weight),
            NamedArray(name: "norm1.bias", shape: [h], values: g.norm1.bias),
            NamedArray(name: "norm2.weight", shape: [c], values: g.norm2.weight),
            NamedArray(name: "norm2.bias", shape: [c], values: g.norm2.bias),
            NamedArray(name: "norm3.weight", shape: [c], values: g.norm3.weight),
            NamedArray(name: "norm3.bias", shape: [c], values: g.norm3.bias),
            NamedArray(name: "injection.weight", shape: injectionConvolution.weightShape, values: injectionWeight),
            NamedArray(name: "injection.bias", shape: [c], values: injectionBias),
        ]
        return (parameters, inputGradient)
    }
}
