/// An affine layer y = W x + b applied to each row (x of width `inputs`, y of width `outputs`),
/// with its gradients. Used for a model's input embedding and, per position, its readout head.
public struct LinearLayer: Sendable, Equatable {
    /// W, outputs × inputs.
    public var weight: Matrix
    /// b, one per output.
    public var bias: [Double]

    public init(weight: Matrix, bias: [Double]) throws(UsageError) {
        guard bias.count == weight.rows else {
            throw UsageError("LinearLayer", "b", got: "\(bias.count) entries", expected: "one per output, \(weight.rows) (the rows of W)")
        }
        self.weight = weight
        self.bias = bias
    }

    /// W with N(0, 1/inputs) entries (LeCun's scale: unit-variance inputs give unit-variance
    /// outputs), b = 0.
    public static func random(inputs: Int, outputs: Int, using generator: inout SplitMix64) throws(UsageError) -> LinearLayer {
        try LinearLayer(weight: .gaussian(rows: outputs, columns: inputs, scale: 1 / Double(inputs).squareRoot(),
                                      using: &generator),
                    bias: [Double](repeating: 0, count: outputs))
    }

    public var inputs: Int { weight.columns }
    public var outputs: Int { weight.rows }

    /// Y = X Wᵀ + 1 bᵀ for X with one input per row. One GEMM.
    public func callAsFunction(_ x: Matrix) throws(UsageError) -> Matrix {
        var y = try x.multiplied(by: weight.transposed())
        for i in 0..<y.rows { for j in 0..<outputs { y.storage[i * outputs + j] += bias[j] } }
        return y
    }

    /// For the upstream G = ∂L/∂Y: ∂L/∂W = Gᵀ X, ∂L/∂b = Σ rows of G, ∂L/∂X = G W.
    public func gradients(input x: Matrix, upstream g: Matrix) throws(UsageError) -> (weight: Matrix, bias: [Double], input: Matrix) {
        try Check.shape(g, (x.rows, outputs), "LinearLayer.gradients", "upstream", "one row per input row, one column per output")
        let gw = try g.transposed().multiplied(by: x)
        var gb = [Double](repeating: 0, count: outputs)
        for i in 0..<g.rows { for j in 0..<outputs { gb[j] += g.storage[i * outputs + j] } }
        return (gw, gb, try g.multiplied(by: weight))
    }
}
