/// The DEQ tutorial's residual cell in MLP form, bound to a batch of inputs:
///
///     y = norm₁(relu(W₁ z))
///     f(z, x) = norm₃(relu(z + norm₂(x + W₂ y)))
///
/// with state width d, inner width h (typically h > d), W₁: h × d, W₂: d × h, and three
/// ``GroupNorm``s with G groups and affine parameters (norm₁ over h features, norm₂ and norm₃
/// over d). The input x has dimension d and is injected as it is (a full DEQ would put an
/// input layer in front; ``ConvResidualCell`` has one). relu′(0) is taken as 0.
///
/// The weights are small (N(0, σ²), σ = 0.01 by default, as in the tutorial), so f is nearly
/// norm₃(relu(z + norm₂(x))): the normalisations, not the weights, set the contraction, and the
/// fixed point is not guaranteed to exist or be unique. This is the cell researchers train,
/// harder for the solvers than the tanh cell. Measured in the `convergence` experiment (d = 64,
/// h = 128, B = 8, two seeds, relative tolerance 1e-8): at σ = 0.01 every solver converges on
/// every sample (forward iteration in about 85 evaluations, Anderson in 25, Newton–Krylov in 9);
/// at σ = 0.1 forward iteration converges on half the samples within 20 000 iterations,
/// Newton–Krylov on 2 of 16, and Broyden without line search and Anderson (m = 10, β = 1.5) on
/// all.
///
/// An evaluation of n samples costs two GEMMs (n × d × h each), O(n (d + h)) for the norms, and
/// allocates nothing after the first call (scratch comes from a pool the cell owns).
///
/// References: Z. Kolter, D. Duvenaud, M. Johnson, "Deep Implicit Layers", NeurIPS 2020
/// tutorial, chapter 4 (the convolutional original); S. Bai, J. Z. Kolter, V. Koltun, "Deep
/// Equilibrium Models", NeurIPS 2019.
public struct ResidualCell: FixedPointMap, Sendable {
    let block: ResidualBlock<DenseLayer>

    /// W₁, h × d.
    public var weight1: Matrix { block.layer1.weight }
    /// W₂, d × h.
    public var weight2: Matrix { block.layer2.weight }
    /// norm₁ (over h features), norm₂ and norm₃ (over d).
    public var norm1: GroupNorm { block.norm1 }
    public var norm2: GroupNorm { block.norm2 }
    public var norm3: GroupNorm { block.norm3 }
    /// The inputs x, B × d, one sample per row.
    public var input: Matrix { block.injection }

    public var dimension: Int { block.stateCount }
    /// h.
    public var innerDimension: Int { block.innerCount }
    public var batchSize: Int { block.batchSize }
    /// G.
    public var groups: Int { block.norm1.groups }

    /// A cell from its weights and norms; norms default to γ = 1, β = 0 with `groups` groups.
    /// - Throws: ``UsageError`` when W₂ is not d × h for W₁ of h × d, a norm does not cover its
    ///   features, x is not B × d (B ≥ 1), or a weight or input is not finite.
    public init(weight1: Matrix, weight2: Matrix, norm1: GroupNorm, norm2: GroupNorm, norm3: GroupNorm, input: Matrix) throws(UsageError) {
        let owner = "ResidualCell"
        let h = weight1.rows, d = weight1.columns
        guard h >= 1, d >= 1 else { throw UsageError(owner, "W₁", got: "\(h) × \(d)", expected: "h × d with h, d ≥ 1") }
        guard weight2.rows == d && weight2.columns == h else {
            throw UsageError(owner, "W₂", got: "\(weight2.rows) × \(weight2.columns)", expected: "\(d) × \(h) (d × h, from W₁'s h × d)")
        }
        try Check.finite(weight1.storage, owner, "W₁")
        try Check.finite(weight2.storage, owner, "W₂")
        for (norm, name, width) in [(norm1, "norm₁", h), (norm2, "norm₂", d), (norm3, "norm₃", d)]
            where norm.channels != width || norm.spatialSize != 1 {
            throw UsageError(owner, name, got: "\(norm.channels) channels × \(norm.spatialSize) positions",
                             expected: "\(width) features (\(name == "norm₁" ? "h" : "d")) at one position")
        }
        try Check.inputs(input, columns: d, owner, "d = \(d)")
        block = ResidualBlock(layer1: DenseLayer(weight: weight1), layer2: DenseLayer(weight: weight2),
                              norm1: norm1, norm2: norm2, norm3: norm3, injection: input)
    }

    /// A cell with γ = 1, β = 0 in every norm.
    public init(weight1: Matrix, weight2: Matrix, groups: Int, input: Matrix) throws(UsageError) {
        try self.init(weight1: weight1, weight2: weight2,
                      norm1: GroupNorm(channels: weight1.rows, groups: groups),
                      norm2: GroupNorm(channels: weight1.columns, groups: groups),
                      norm3: GroupNorm(channels: weight1.columns, groups: groups), input: input)
    }

    /// The same cell bound to other inputs.
    public func binding(input newInput: Matrix) throws(UsageError) -> ResidualCell {
        try ResidualCell(weight1: weight1, weight2: weight2, norm1: norm1, norm2: norm2, norm3: norm3, input: newInput)
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        block.evaluate(z, into: fz, samples: samples)
    }
}

extension ResidualCell {
    /// Options of the synthetic residual cell generator.
    public struct Configuration: Sendable, Equatable {
        /// d.
        public var dimension: Int
        /// h.
        public var innerDimension: Int
        /// B.
        public var batchSize: Int
        /// G; divides d and h.
        public var groups: Int
        /// σ of the weights' entries, N(0, σ²) (the tutorial's 0.01).
        public var weightScale: Double
        /// The inputs are x ~ N(0, s² I) with this s.
        public var injectionScale: Double
        public var seed: UInt64

        public init(dimension: Int = 64, innerDimension: Int = 128, batchSize: Int = 8, groups: Int = 8,
                    weightScale: Double = 0.01, injectionScale: Double = 1, seed: UInt64 = 0) {
            self.dimension = dimension
            self.innerDimension = innerDimension
            self.batchSize = batchSize
            self.groups = groups
            self.weightScale = weightScale
            self.injectionScale = injectionScale
            self.seed = seed
        }
    }

    /// A synthetic cell: W₁ then W₂ with N(0, σ²) entries, then the inputs x ~ N(0, s² I), from
    /// one SplitMix64 stream; norms with γ = 1, β = 0 (PyTorch's initialisation).
    public static func random(_ configuration: Configuration) throws(UsageError) -> ResidualCell {
        let c = configuration, owner = "ResidualCell.Configuration"
        try Check.atLeast(c.dimension, 1, owner, "dimension", "d")
        try Check.atLeast(c.innerDimension, 1, owner, "innerDimension", "h")
        try Check.atLeast(c.batchSize, 1, owner, "batchSize", "B")
        try Check.atLeast(c.groups, 1, owner, "groups", "G")
        guard c.dimension % c.groups == 0 && c.innerDimension % c.groups == 0 else {
            throw UsageError(owner, "groups", got: "\(c.groups)", expected: "a divisor of d = \(c.dimension) and h = \(c.innerDimension)")
        }
        try Check.inRange(c.weightScale, owner, "weightScale", "σ of the weights", above: 0)
        try Check.inRange(c.injectionScale, owner, "injectionScale", "the inputs' standard deviation", above: 0)
        var generator = SplitMix64(seed: c.seed)
        let w1 = Matrix.gaussian(rows: c.innerDimension, columns: c.dimension, scale: c.weightScale, using: &generator)
        let w2 = Matrix.gaussian(rows: c.dimension, columns: c.innerDimension, scale: c.weightScale, using: &generator)
        let x = Matrix.gaussian(rows: c.batchSize, columns: c.dimension, scale: c.injectionScale, using: &generator)
        return try ResidualCell(weight1: w1, weight2: w2, groups: c.groups, input: x)
    }
}
