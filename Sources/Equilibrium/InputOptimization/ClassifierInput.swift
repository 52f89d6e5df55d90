import Foundation

/// The DEQ cell of a ``ConvClassifier`` as a function of the *image* u rather than of the
/// injected features: its input is u (B × C_in·H·W) and
///
///     f(z, u) = f_cell(z, x(u)),     x(u) = norm_s(conv_s(u) + b_s)
///
/// so that ``InputOptimizationProblem`` (with ``NestedInputOptimizer`` and ``JointInputMap``
/// unchanged) optimises the image. Evaluation and the z-products are the bound
/// ``ConvResidualCell``'s; the input product chains the cell's J_xᵀμ through the stem norm and
/// the stem (both linear-algebraic adjoints, no solve):
///
///     J_uᵀ μ = conv_sᵀ( norm_s′(a)ᵀ (J_xᵀ μ) ),     a = conv_s(u) + b_s
///
/// Parameter gradients are the cell's own (the stem's are not needed for input optimisation).
public struct ClassifierImageCell: ParametricCell {
    public let model: ConvClassifier
    /// The images u, B × C_in·H·W (the input being optimised).
    public let images: Matrix
    /// The model's cell bound to x(u).
    public let bound: ConvResidualCell

    /// - Throws: ``UsageError`` when an image row is not C_in·H·W wide or not finite.
    public init(model: ConvClassifier, images: Matrix) throws(UsageError) {
        try Check.shape(images, (images.rows, model.stem.inputCount), "ClassifierImageCell", "images", "C_in·H·W = \(model.stem.inputCount) per row")
        try Check.finite(images.storage, "ClassifierImageCell", "images")
        self.model = model
        self.images = images
        bound = try model.bind(images)
    }

    public var dimension: Int { bound.dimension }
    public var batchSize: Int { bound.batchSize }
    public var input: Matrix { images }
    public var parameters: [NamedArray] { bound.parameters }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> ClassifierImageCell {
        var m = model
        m.cell = try model.cell.replacingParameters(parameters)
        return try ClassifierImageCell(model: m, images: images)
    }

    public func binding(input: Matrix) throws(UsageError) -> ClassifierImageCell {
        try ClassifierImageCell(model: model, images: input)
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        bound.evaluate(z, into: fz, samples: samples)
    }

    public func makeJacobianWorkspace(maxSamples: Int) -> ResidualCellWorkspace {
        bound.makeJacobianWorkspace(maxSamples: maxSamples)
    }

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>, vector v: UnsafePointer<Double>,
                                      into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>,
                                      workspace: ResidualCellWorkspace) {
        bound.jacobianVectorProduct(at: z, image: fz, vector: v, into: out, samples: samples, workspace: workspace)
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>, covector u: UnsafePointer<Double>,
                                      into out: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>,
                                      workspace: ResidualCellWorkspace) {
        bound.vectorJacobianProduct(at: z, image: fz, covector: u, into: out, samples: samples, workspace: workspace)
    }

    /// The cell's parameter products and J_uᵀμ = conv_sᵀ(norm_s′(a)ᵀ J_xᵀμ).
    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        let (parameters, gx) = try bound.parameterGradients(at: z, image: fz, covectors: u)
        let a = try model.stemOutput(images)
        let ga = try model.stemNorm.vectorJacobianProduct(at: a, covectors: gx)
        return (parameters, try model.stem.adjoint(ga))
    }
}

/// ℓᵢ(z) = −CE(s(z), yᵢ) = s_y − log Σₖ exp sₖ with the classifier's logits s(z) = V avgpool(norm_o(z)) + c:
/// minimising it maximises the cross-entropy of the true label yᵢ (an untargeted adversarial
/// perturbation). Its gradient is the readout's adjoint applied to ∂ℓ/∂s = e_y − softmax(s):
///
///     ∂ℓ/∂z = norm_o′(z)ᵀ avgpoolᵀ Vᵀ (e_y − softmax(s))
///
/// Reference: I. Goodfellow, J. Shlens, C. Szegedy, "Explaining and harnessing adversarial
/// examples", ICLR 2015; A. Madry et al., "Towards deep learning models resistant to adversarial
/// attacks", ICLR 2018 (projected gradient ascent of the cross-entropy in an ℓ∞ ball).
public struct NegativeCrossEntropyLoss: InputLoss {
    public let model: ConvClassifier
    /// The true labels yᵢ, one per sample.
    public let labels: [Int]
    public var stateDimension: Int { model.channels * model.height * model.width }
    public var batchSize: Int { labels.count }

    /// - Throws: ``UsageError`` when a label is outside 0 ..< K.
    public init(model: ConvClassifier, labels: [Int]) throws(UsageError) {
        if let bad = labels.first(where: { $0 < 0 || $0 >= model.classes }) {
            throw UsageError("NegativeCrossEntropyLoss", "label", got: "\(bad)", expected: "a class in 0 ..< \(model.classes)")
        }
        self.model = model
        self.labels = labels
    }

    /// The logits s (n × K) and ℓ = s_y − logsumexp(s) per row, with softmax(s).
    private func readout(_ z: Matrix, samples: [Int]) throws(UsageError) -> (values: [Double], softmax: Matrix) {
        try Check.shape(z, (samples.count, stateDimension), "NegativeCrossEntropyLoss", "states z", "one row per listed sample, C·H·W wide")
        let s = try model.logits(z)
        let k = s.columns
        var softmax = Matrix(rows: s.rows, columns: k)
        let values = samples.enumerated().map { r, i in
            var top = -Double.infinity
            for c in 0..<k { top = max(top, s.storage[r * k + c]) }
            var sum = 0.0
            for c in 0..<k { let e = exp(s.storage[r * k + c] - top); softmax.storage[r * k + c] = e; sum += e }
            for c in 0..<k { softmax.storage[r * k + c] /= sum }
            return s.storage[r * k + labels[i]] - (top + log(sum))
        }
        return (values, softmax)
    }

    public func values(states z: Matrix, samples: [Int]) throws(UsageError) -> [Double] {
        try readout(z, samples: samples).values
    }

    public func gradients(states z: Matrix, samples: [Int]) throws(UsageError) -> Matrix {
        var g = try readout(z, samples: samples).softmax
        let k = g.columns
        for (r, i) in samples.enumerated() {
            for c in 0..<k { g.storage[r * k + c] = -g.storage[r * k + c] }
            g.storage[r * k + labels[i]] += 1
        }
        return try model.readoutGradients(z, logitGradient: g).z
    }

    /// Whether row r of z is classified as its label (argmax of the logits).
    public func correct(states z: Matrix, samples: [Int]) throws(UsageError) -> [Bool] {
        let s = try model.logits(z)
        let k = s.columns
        return samples.enumerated().map { r, i in
            var best = 0
            for c in 1..<k where s.storage[r * k + c] > s.storage[r * k + best] { best = c }
            return best == labels[i]
        }
    }
}
