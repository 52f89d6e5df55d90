/// The DEQ tutorial's residual cell with convolutions, over 1-D (C × L) or 2-D (C × H × W)
/// states, bound to a batch of inputs:
///
///     x̃ = conv_U(x) + b                               (input injection, computed once)
///     y = norm₁(relu(conv₁(z)))
///     f(z, x) = norm₃(relu(z + norm₂(x̃ + conv₂(y))))
///
/// conv₁: C → h channels, conv₂: h → C, conv_U: C_in → C, all with kernel 3 and padding 1 (the
/// spatial shape is kept) and no bias except the injection's b; three ``GroupNorm``s with G
/// groups (norm₁ over h channels, norm₂ and norm₃ over C). States and inputs are channel-major
/// per sample (PyTorch's NCHW without N): z has d = C·S numbers, x has C_in·S, S = L or H·W.
/// relu′(0) is taken as 0.
///
/// Convolutions run as im2col + GEMM on OpenBLAS (``Convolution``), one GEMM per layer and chunk
/// of samples: an evaluation costs 4·h·C·K·S flops per sample (K = 3 or 9) plus copies and the
/// norms, and allocates nothing after the first call. Measured (`deq-bench convolution`, release,
/// two cores shared with other work): a batch of 8 at the tutorial's scale (48/64 channels,
/// 32 × 32) evaluates in 37–42 ms, 73–82 % of the throughput of plain GEMM of the same shapes;
/// J·v and vᵀJ at a prepared point cost about as much as an evaluation.
///
/// References: Z. Kolter, D. Duvenaud, M. Johnson, "Deep Implicit Layers", NeurIPS 2020
/// tutorial, chapter 4 (`ResNetLayer`: 48 channels, 64 inner, 8 groups, N(0, 0.01²) weights).
public struct ConvResidualCell: FixedPointMap, Sendable {
    let block: ResidualBlock<Convolution>
    /// conv_U: C_in → C.
    public let injectionConvolution: Convolution
    /// b, one per channel C.
    public let injectionBias: [Double]
    /// The inputs x, B × C_in·S, one sample per row.
    public let input: Matrix

    /// conv₁: C → h.
    public var convolution1: Convolution { block.layer1 }
    /// conv₂: h → C.
    public var convolution2: Convolution { block.layer2 }
    public var norm1: GroupNorm { block.norm1 }
    public var norm2: GroupNorm { block.norm2 }
    public var norm3: GroupNorm { block.norm3 }
    /// x̃ = conv_U(x) + b, B × C·S.
    public var injection: Matrix { block.injection }

    /// C.
    public var channels: Int { block.layer1.inputChannels }
    /// h.
    public var innerChannels: Int { block.layer1.outputChannels }
    /// C_in.
    public var inputChannels: Int { injectionConvolution.inputChannels }
    public var shape: SpatialShape { block.layer1.shape }
    /// G.
    public var groups: Int { block.norm1.groups }
    /// d = C·S.
    public var dimension: Int { block.stateCount }
    public var batchSize: Int { block.batchSize }

    public init(convolution1: Convolution, convolution2: Convolution, norm1: GroupNorm, norm2: GroupNorm, norm3: GroupNorm,
                injectionConvolution: Convolution, injectionBias: [Double], input: Matrix) throws(UsageError) {
        let owner = "ConvResidualCell"
        let c = convolution1.inputChannels, h = convolution1.outputChannels, shape = convolution1.shape
        guard convolution2.inputChannels == h && convolution2.outputChannels == c && convolution2.shape == shape else {
            throw UsageError(owner, "conv₂", got: "\(convolution2.inputChannels) → \(convolution2.outputChannels) channels over \(convolution2.shape)",
                             expected: "\(h) → \(c) over \(shape) (the reverse of conv₁)")
        }
        guard injectionConvolution.outputChannels == c && injectionConvolution.shape == shape else {
            throw UsageError(owner, "injection convolution", got: "\(injectionConvolution.outputChannels) output channels over \(injectionConvolution.shape)",
                             expected: "C = \(c) over \(shape)")
        }
        for (norm, name, width) in [(norm1, "norm₁", h), (norm2, "norm₂", c), (norm3, "norm₃", c)]
            where norm.channels != width || norm.spatialSize != shape.size {
            throw UsageError(owner, name, got: "\(norm.channels) channels × \(norm.spatialSize) positions",
                             expected: "\(width) channels × \(shape.size) positions")
        }
        guard injectionBias.count == c else { throw UsageError(owner, "injection bias", got: "\(injectionBias.count) entries", expected: "C = \(c) entries") }
        try Check.finite(injectionBias, owner, "injection bias")
        try Check.inputs(input, columns: injectionConvolution.inputCount, owner, "C_in·S = \(injectionConvolution.inputCount)")
        var injection = try injectionConvolution(input)
        let s = shape.size
        for i in 0..<injection.rows {
            for channel in 0..<c {
                for p in 0..<s { injection.storage[i * c * s + channel * s + p] += injectionBias[channel] }
            }
        }
        block = ResidualBlock(layer1: convolution1, layer2: convolution2, norm1: norm1, norm2: norm2, norm3: norm3,
                              injection: injection)
        self.injectionConvolution = injectionConvolution
        self.injectionBias = injectionBias
        self.input = input
    }

    /// The same cell bound to other inputs.
    public func binding(input newInput: Matrix) throws(UsageError) -> ConvResidualCell {
        try ConvResidualCell(convolution1: convolution1, convolution2: convolution2, norm1: norm1, norm2: norm2, norm3: norm3,
                         injectionConvolution: injectionConvolution, injectionBias: injectionBias, input: newInput)
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        block.evaluate(z, into: fz, samples: samples)
    }
}

extension ConvResidualCell {
    /// Options of the synthetic convolutional residual cell generator.
    public struct Configuration: Sendable, Equatable {
        /// C, the channels of the state.
        public var channels: Int
        /// h, the channels of the inner layer.
        public var innerChannels: Int
        /// C_in, the channels of the input x.
        public var inputChannels: Int
        public var shape: SpatialShape
        /// B.
        public var batchSize: Int
        /// G; divides C and h.
        public var groups: Int
        /// σ of conv₁'s and conv₂'s entries, N(0, σ²) (the tutorial's 0.01).
        public var weightScale: Double
        /// The inputs are x ~ N(0, s² I) with this s.
        public var injectionScale: Double
        public var seed: UInt64

        /// The tutorial's scale: 48 channels, 64 inner, 3 input channels, 32 × 32, 8 groups.
        public init(channels: Int = 48, innerChannels: Int = 64, inputChannels: Int = 3,
                    shape: SpatialShape = .grid(height: 32, width: 32), batchSize: Int = 8, groups: Int = 8,
                    weightScale: Double = 0.01, injectionScale: Double = 1, seed: UInt64 = 0) {
            self.channels = channels
            self.innerChannels = innerChannels
            self.inputChannels = inputChannels
            self.shape = shape
            self.batchSize = batchSize
            self.groups = groups
            self.weightScale = weightScale
            self.injectionScale = injectionScale
            self.seed = seed
        }
    }

    /// A synthetic cell from one SplitMix64 stream: conv₁ then conv₂ with N(0, σ²) entries, then
    /// conv_U with N(0, 1/(C_in·K)) entries (so x̃ has about the variance of x), b = 0, then the
    /// inputs x ~ N(0, s² I); norms with γ = 1, β = 0 (PyTorch's initialisation).
    public static func random(_ configuration: Configuration) throws(UsageError) -> ConvResidualCell {
        let c = configuration, owner = "ConvResidualCell.Configuration"
        for (value, name) in [(c.channels, "channels"), (c.innerChannels, "innerChannels"), (c.inputChannels, "inputChannels"),
                              (c.batchSize, "batchSize"), (c.groups, "groups"), (c.shape.height, "height"), (c.shape.width, "width")] {
            try Check.atLeast(value, 1, owner, name, "a size")
        }
        guard c.channels % c.groups == 0 && c.innerChannels % c.groups == 0 else {
            throw UsageError(owner, "groups", got: "\(c.groups)", expected: "a divisor of C = \(c.channels) and h = \(c.innerChannels)")
        }
        try Check.inRange(c.weightScale, owner, "weightScale", "σ of the weights", above: 0)
        try Check.inRange(c.injectionScale, owner, "injectionScale", "the inputs' standard deviation", above: 0)
        let k = c.shape.kernelCount, s = c.shape.size
        var generator = SplitMix64(seed: c.seed)
        let w1 = Matrix.gaussian(rows: c.innerChannels, columns: c.channels * k, scale: c.weightScale, using: &generator)
        let w2 = Matrix.gaussian(rows: c.channels, columns: c.innerChannels * k, scale: c.weightScale, using: &generator)
        let u = Matrix.gaussian(rows: c.channels, columns: c.inputChannels * k,
                                scale: 1 / Double(c.inputChannels * k).squareRoot(), using: &generator)
        let x = Matrix.gaussian(rows: c.batchSize, columns: c.inputChannels * s, scale: c.injectionScale, using: &generator)
        return try ConvResidualCell(
            convolution1: Convolution(inputChannels: c.channels, outputChannels: c.innerChannels, shape: c.shape, weight: w1),
            convolution2: Convolution(inputChannels: c.innerChannels, outputChannels: c.channels, shape: c.shape, weight: w2),
            norm1: GroupNorm(channels: c.innerChannels, groups: c.groups, spatialSize: s),
            norm2: GroupNorm(channels: c.channels, groups: c.groups, spatialSize: s),
            norm3: GroupNorm(channels: c.channels, groups: c.groups, spatialSize: s),
            injectionConvolution: Convolution(inputChannels: c.inputChannels, outputChannels: c.channels, shape: c.shape, weight: u),
            injectionBias: [Double](repeating: 0, count: c.channels), input: x)
    }
}
