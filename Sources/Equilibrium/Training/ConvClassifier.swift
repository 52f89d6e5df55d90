import Foundation

/// The DEQ tutorial's convolutional image classifier (Kolter, Duvenaud, Johnson, "Deep Implicit
/// Layers", NeurIPS 2020 tutorial, chapter 4), end to end:
///
///     a = conv_s(u) + b_s                  stem: C_in → C channels, kernel 3 × 3, padding 1
///     x = norm_s(a)                        GroupNorm (the tutorial's BatchNorm; see below)
///     z* = f(z*, x)                        ``ConvResidualCell``: f = norm₃(relu(z + norm₂(x̃ + conv₂(norm₁(relu(conv₁ z)))))),
///                                          x̃ = conv_U(x) + b
///     n = norm_o(z*)                       GroupNorm
///     q = avgpool_p(n)                     p × p average pooling (H, W divisible by p)
///     s = V q + c                          linear head, C·(H/p)·(W/p) → K
///
/// The norms around the DEQ layer are GroupNorms (per sample) rather than the tutorial's
/// BatchNorms, so a prediction never depends on the other images of its batch and training and
/// evaluation compute the same function. The loss's gradient flows analytically through the head,
/// the pooling and norm_o to ∂L/∂z*, through the fixed point by any ``GradientEstimator`` to the
/// cell's parameters and to ∂L/∂x, and analytically through norm_s and the stem (docs/MATH.md §7
/// for the implicit gradient). Parameters are named `stem.weight`, `stem.bias`,
/// `stem_norm.weight`, `stem_norm.bias`, `cell.NAME` (the cell's names), `output_norm.weight`,
/// `output_norm.bias`, `head.weight`, `head.bias`.
public struct ConvClassifier: Sendable {
    public var stem: Convolution
    public var stemBias: [Double]
    public var stemNorm: GroupNorm
    /// The DEQ cell (bound to whatever input it was last built with).
    public var cell: ConvResidualCell
    public var outputNorm: GroupNorm
    /// p, the side of the average-pooling window.
    public let pool: Int
    public var head: LinearLayer

    public var channels: Int { cell.channels }
    public var height: Int { Self.extents(cell.shape).height }
    public var width: Int { Self.extents(cell.shape).width }
    public var classes: Int { head.outputs }
    /// C·(H/p)·(W/p), the pooled features.
    public var features: Int { channels * (height / pool) * (width / pool) }

    static func extents(_ shape: SpatialShape) -> (height: Int, width: Int) {
        switch shape {
        case let .grid(h, w): (h, w)
        case let .line(l): (1, l)
        }
    }

    public init(stem: Convolution, stemBias: [Double], stemNorm: GroupNorm, cell: ConvResidualCell, outputNorm: GroupNorm,
                pool: Int, head: LinearLayer) throws(UsageError) {
        let owner = "ConvClassifier"
        let c = cell.channels, s = cell.shape.size
        guard stem.outputChannels == cell.inputChannels, stem.shape == cell.shape else {
            throw UsageError(owner, "stem", got: "\(stem.outputChannels) output channels over \(stem.shape)",
                             expected: "the cell's \(cell.inputChannels) input channels over \(cell.shape)")
        }
        guard stemBias.count == stem.outputChannels else {
            throw UsageError(owner, "stem bias", got: "\(stemBias.count) entries", expected: "\(stem.outputChannels)")
        }
        guard stemNorm.channels == stem.outputChannels, stemNorm.spatialSize == s, outputNorm.channels == c, outputNorm.spatialSize == s else {
            throw UsageError(owner, "norms", got: "\(stemNorm.channels) and \(outputNorm.channels) channels",
                             expected: "\(stem.outputChannels) and \(c) channels over \(s) positions")
        }
        let (h, w) = Self.extents(cell.shape)
        guard pool >= 1, h % pool == 0, w % pool == 0 else {
            throw UsageError(owner, "pool", got: "\(pool)", expected: "a window side dividing the height \(h) and the width \(w)")
        }
        guard head.inputs == c * (h / pool) * (w / pool) else {
            throw UsageError(owner, "head", got: "\(head.inputs) inputs", expected: "C·(H/p)·(W/p) = \(c * (h / pool) * (w / pool))")
        }
        self.stem = stem
        self.stemBias = stemBias
        self.stemNorm = stemNorm
        self.cell = cell
        self.outputNorm = outputNorm
        self.pool = pool
        self.head = head
    }

    /// A fresh model: stem N(0, 1/(9·C_in)), the cell's conv₁ and conv₂ N(0, s²) with s = 0.01
    /// as in the tutorial, its injection conv_U N(0, 1/(9·C)), the head N(0, 1/features), norms
    /// γ = 1, β = 0, biases 0; one SplitMix64 stream.
    public static func random(inputChannels: Int, height: Int, width: Int, classes: Int, channels c: Int, innerChannels h: Int,
                              groups: Int, pool: Int, cellScale: Double = 0.01, seed: UInt64) throws(UsageError) -> ConvClassifier {
        var g = SplitMix64(seed: seed)
        let shape = SpatialShape.grid(height: height, width: width), s = height * width
        let stem = try Convolution(inputChannels: inputChannels, outputChannels: c, shape: shape,
                                   weight: .gaussian(rows: c, columns: inputChannels * 9, scale: 1 / Double(9 * inputChannels).squareRoot(), using: &g))
        let w1 = Matrix.gaussian(rows: h, columns: c * 9, scale: cellScale, using: &g)
        let w2 = Matrix.gaussian(rows: c, columns: h * 9, scale: cellScale, using: &g)
        // The injection x̃ = conv_U(x) + b plays the part of the tutorial's injected stem output
        // (unit scale): LeCun's N(0, 1/(9C)), so that x̃ is O(1) like x. Only the cell's own
        // convolutions start at N(0, s²).
        let wu = Matrix.gaussian(rows: c, columns: c * 9, scale: 1 / Double(9 * c).squareRoot(), using: &g)
        let cell = try ConvResidualCell(
            convolution1: Convolution(inputChannels: c, outputChannels: h, shape: shape, weight: w1),
            convolution2: Convolution(inputChannels: h, outputChannels: c, shape: shape, weight: w2),
            norm1: GroupNorm(channels: h, groups: groups, spatialSize: s),
            norm2: GroupNorm(channels: c, groups: groups, spatialSize: s),
            norm3: GroupNorm(channels: c, groups: groups, spatialSize: s),
            injectionConvolution: Convolution(inputChannels: c, outputChannels: c, shape: shape, weight: wu),
            injectionBias: [Double](repeating: 0, count: c), input: Matrix(rows: 1, columns: c * s))
        let features = c * (height / max(pool, 1)) * (width / max(pool, 1))
        return try ConvClassifier(stem: stem, stemBias: [Double](repeating: 0, count: c),
                                  stemNorm: GroupNorm(channels: c, groups: groups, spatialSize: s), cell: cell,
                                  outputNorm: GroupNorm(channels: c, groups: groups, spatialSize: s), pool: pool,
                                  head: .random(inputs: features, outputs: classes, using: &g))
    }

    /// Every parameter in a fixed order.
    public var parameters: [NamedArray] {
        var p = [NamedArray(name: "stem.weight", shape: stem.weightShape, values: stem.weight.storage),
                 NamedArray(name: "stem.bias", shape: [stemBias.count], values: stemBias),
                 NamedArray(name: "stem_norm.weight", shape: [stemNorm.channels], values: stemNorm.weight),
                 NamedArray(name: "stem_norm.bias", shape: [stemNorm.channels], values: stemNorm.bias)]
        p += cell.parameters.map { NamedArray(name: "cell." + $0.name, shape: $0.shape, values: $0.values) }
        p += [NamedArray(name: "output_norm.weight", shape: [outputNorm.channels], values: outputNorm.weight),
              NamedArray(name: "output_norm.bias", shape: [outputNorm.channels], values: outputNorm.bias),
              NamedArray(name: "head.weight", shape: [head.outputs, head.inputs], values: head.weight.storage),
              NamedArray(name: "head.bias", shape: [head.outputs], values: head.bias)]
        return p
    }

    /// The same model with other parameter values (``parameters``' names, shapes and order).
    public func replacingParameters(_ new: [NamedArray]) throws(UsageError) -> ConvClassifier {
        try Check.parameters(new, matching: parameters, "ConvClassifier")
        let cellCount = cell.parameters.count
        var m = self
        m.stem = try stem.with(weight: Matrix(rows: stem.weight.rows, columns: stem.weight.columns, storage: new[0].values))
        m.stemBias = new[1].values
        m.stemNorm = try stemNorm.with(weight: new[2].values, bias: new[3].values)
        m.cell = try cell.replacingParameters(new[4..<(4 + cellCount)].map {
            NamedArray(name: String($0.name.dropFirst(5)), shape: $0.shape, values: $0.values)
        })
        let r = 4 + cellCount
        m.outputNorm = try outputNorm.with(weight: new[r].values, bias: new[r + 1].values)
        m.head = try LinearLayer(weight: Matrix(rows: head.outputs, columns: head.inputs, storage: new[r + 2].values), bias: new[r + 3].values)
        return m
    }

    /// a = conv_s(u) + b_s for images u (B × C_in·H·W).
    func stemOutput(_ u: Matrix) throws(UsageError) -> Matrix {
        var a = try stem(u)
        let c = stem.outputChannels, s = cell.shape.size
        for i in 0..<a.rows { for ch in 0..<c { for p in 0..<s { a.storage[(i * c + ch) * s + p] += stemBias[ch] } } }
        return a
    }

    /// The cell bound to images u: x = norm_s(conv_s(u) + b_s).
    public func bind(_ u: Matrix) throws(UsageError) -> ConvResidualCell {
        try cell.binding(input: stemNorm(stemOutput(u)))
    }

    /// p × p average pooling of each channel (B × C·H·W → B × C·(H/p)·(W/p)).
    public func pooled(_ n: Matrix) -> Matrix {
        let c = channels, h = height, w = width, p = pool, ho = h / p, wo = w / p
        var q = Matrix(rows: n.rows, columns: c * ho * wo)
        let scale = 1 / Double(p * p)
        for i in 0..<n.rows { for ch in 0..<c { for r in 0..<h { for col in 0..<w {
            q.storage[((i * c + ch) * ho + r / p) * wo + col / p] += scale * n.storage[((i * c + ch) * h + r) * w + col]
        } } } }
        return q
    }

    /// The adjoint of ``pooled(_:)``.
    public func pooledAdjoint(_ g: Matrix) -> Matrix {
        let c = channels, h = height, w = width, p = pool, ho = h / p, wo = w / p
        var n = Matrix(rows: g.rows, columns: c * h * w)
        let scale = 1 / Double(p * p)
        for i in 0..<g.rows { for ch in 0..<c { for r in 0..<h { for col in 0..<w {
            n.storage[((i * c + ch) * h + r) * w + col] = scale * g.storage[((i * c + ch) * ho + r / p) * wo + col / p]
        } } } }
        return n
    }

    /// The logits (B × K) at the fixed points z* (B × C·H·W).
    public func logits(_ z: Matrix) throws(UsageError) -> Matrix {
        try head(pooled(outputNorm(z)))
    }

    /// ∂(loss)/∂z* and the head's and output norm's parameter gradients, for the logit gradient g.
    func readoutGradients(_ z: Matrix, logitGradient g: Matrix) throws(UsageError)
        -> (z: Matrix, outputNormWeight: [Double], outputNormBias: [Double], headWeight: Matrix, headBias: [Double]) {
        let n = try outputNorm(z)
        let q = pooled(n)
        let hg = try head.gradients(input: q, upstream: g)
        let gn = pooledAdjoint(hg.input)
        let affine = try outputNorm.affineGradients(at: z, covectors: gn)
        let gz = try outputNorm.vectorJacobianProduct(at: z, covectors: gn)
        return (gz, affine.weight, affine.bias, hg.weight, hg.bias)
    }

    /// The gradient in ``parameters``' order from the cell's parameter gradient, ∂L/∂x (pushed
    /// through norm_s and the stem to their parameters) and the readout's gradients.
    func assemble(images u: Matrix, cell cellGradient: [NamedArray], input gx: Matrix,
                  readout: (outputNormWeight: [Double], outputNormBias: [Double], headWeight: Matrix, headBias: [Double])?) throws(UsageError) -> [NamedArray] {
        let a = try stemOutput(u)
        let stemAffine = try stemNorm.affineGradients(at: a, covectors: gx)
        let ga = try stemNorm.vectorJacobianProduct(at: a, covectors: gx)
        let c = stem.outputChannels, s = cell.shape.size
        var biasGradient = [Double](repeating: 0, count: c)
        for i in 0..<ga.rows { for ch in 0..<c { for p in 0..<s { biasGradient[ch] += ga.storage[(i * c + ch) * s + p] } } }
        var weightGradient = [Double](repeating: 0, count: stem.weight.count)
        let scratch = ScratchBuffer(count: stem.scratchCount(samples: u.rows))
        u.storage.withUnsafeBufferPointer { pu in
            ga.storage.withUnsafeBufferPointer { pg in
                weightGradient.withUnsafeMutableBufferPointer { pw in
                    stem.accumulateWeightGradient(input: pu.baseAddress!, outputGradient: pg.baseAddress!, count: u.rows,
                                                  into: pw.baseAddress!, scratch: scratch.baseAddress)
                }
            }
        }
        var result = [NamedArray(name: "stem.weight", shape: stem.weightShape, values: weightGradient),
                      NamedArray(name: "stem.bias", shape: [c], values: biasGradient),
                      NamedArray(name: "stem_norm.weight", shape: [c], values: stemAffine.weight),
                      NamedArray(name: "stem_norm.bias", shape: [c], values: stemAffine.bias)]
        result += cellGradient.map { NamedArray(name: "cell." + $0.name, shape: $0.shape, values: $0.values) }
        let k = channels
        result += [NamedArray(name: "output_norm.weight", shape: [k], values: readout?.outputNormWeight ?? [Double](repeating: 0, count: k)),
                   NamedArray(name: "output_norm.bias", shape: [k], values: readout?.outputNormBias ?? [Double](repeating: 0, count: k)),
                   NamedArray(name: "head.weight", shape: [head.outputs, head.inputs],
                              values: readout?.headWeight.storage ?? [Double](repeating: 0, count: head.weight.count)),
                   NamedArray(name: "head.bias", shape: [head.outputs], values: readout?.headBias ?? [Double](repeating: 0, count: head.outputs))]
        return result
    }

    /// The cross-entropy at the fixed points `solution` of `bound` (the cell bound to images u)
    /// and its gradient with respect to every parameter, the backward pass through the fixed
    /// point by `estimator`.
    public func lossAndGradient(images u: Matrix, bound: ConvResidualCell, solution: Matrix, targets: [Int],
                                estimator: any GradientEstimator, byproducts: SolverByproducts = SolverByproducts()) throws(UsageError)
        -> (loss: Double, correct: [Bool], gradient: [NamedArray], backward: GradientResult) {
        let (value, g, correct) = Loss.crossEntropy.evaluate(logits: try logits(solution), targets: targets)
        let readout = try readoutGradients(solution, logitGradient: g)
        let backward = try estimator.estimate(cell: bound, solution: solution, upstream: readout.z, byproducts: byproducts)
        let gradient = try assemble(images: u, cell: backward.parameters, input: backward.input,
                                    readout: (readout.outputNormWeight, readout.outputNormBias, readout.headWeight, readout.headBias))
        return (value, correct, gradient, backward)
    }
}
