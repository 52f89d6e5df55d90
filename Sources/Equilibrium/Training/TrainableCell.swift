/// A ``ParametricCell`` that a model can bind to a minibatch whose samples have `positions`
/// spatial positions (sequence length): 1 for the dense cells, L for the 1-D convolutional cell,
/// whose weights do not depend on L (kernel 3, padding 1, one norm γ/β per channel).
///
/// The state of a sample is channel-major, C channels × S positions (d = C·S); the readout head
/// of ``EquilibriumModel`` acts on each position's C channels.
public protocol TrainableCell: ParametricCell {
    /// S, the positions of the bound state (1 for a dense cell).
    var positions: Int { get }
    /// C = d / S.
    var channels: Int { get }
    /// The same parameters bound to `input` (B × input width for S positions) with S = `positions`.
    func binding(input: Matrix, positions: Int) throws(UsageError) -> Self
}

extension TanhCell: TrainableCell {
    public var positions: Int { 1 }
    public var channels: Int { dimension }
    public func binding(input: Matrix, positions: Int) throws(UsageError) -> TanhCell {
        guard positions == 1 else { throw UsageError("TanhCell", "positions", got: "\(positions)", expected: "1 (a dense cell)") }
        return try binding(input: input)
    }
}

extension ResidualCell: TrainableCell {
    public var positions: Int { 1 }
    public var channels: Int { dimension }
    public func binding(input: Matrix, positions: Int) throws(UsageError) -> ResidualCell {
        guard positions == 1 else { throw UsageError("ResidualCell", "positions", got: "\(positions)", expected: "1 (a dense cell)") }
        return try binding(input: input)
    }
}

extension ConvResidualCell: TrainableCell {
    public var positions: Int { shape.size }

    /// The same weights over a line of `positions` (1-D cells only).
    public func binding(input newInput: Matrix, positions: Int) throws(UsageError) -> ConvResidualCell {
        if positions == shape.size { return try binding(input: newInput) }
        guard shape.rank == 1 else {
            throw UsageError("ConvResidualCell", "positions", got: "\(positions)", expected: "\(shape.size): only a 1-D cell changes its length")
        }
        let line = SpatialShape.line(length: positions)
        func resized(_ c: Convolution) throws(UsageError) -> Convolution {
            try Convolution(inputChannels: c.inputChannels, outputChannels: c.outputChannels, shape: line, weight: c.weight)
        }
        func resized(_ n: GroupNorm) throws(UsageError) -> GroupNorm {
            try GroupNorm(channels: n.channels, groups: n.groups, spatialSize: positions, weight: n.weight, bias: n.bias,
                          epsilon: n.epsilon)
        }
        return try ConvResidualCell(convolution1: resized(convolution1), convolution2: resized(convolution2),
                                norm1: resized(norm1), norm2: resized(norm2), norm3: resized(norm3),
                                injectionConvolution: resized(injectionConvolution), injectionBias: injectionBias,
                                input: newInput)
    }
}
