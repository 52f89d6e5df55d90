import Equilibrium

/// Slow, direct implementations of the cells, written from the formulas with plain loops and
/// nothing shared with the library's im2col/GEMM code: the references the tests compare with.
enum ReferenceCells {
    /// Direct convolution, kernel 3, padding 1: y[o, p] = Σ_c Σ_t W[o, c, t] x[c, p + offset(t)],
    /// for one sample; `extents` is [L] or [H, W]; W in PyTorch's (C_out, C_in, 3[, 3]) C order.
    static func convolution(_ x: [Double], weight: [Double], inputs: Int, outputs: Int, extents: [Int]) -> [Double] {
        let (height, width) = extents.count == 1 ? (1, extents[0]) : (extents[0], extents[1])
        let kernelHeight = extents.count == 1 ? 1 : 3
        let s = height * width
        var y = [Double](repeating: 0, count: outputs * s)
        for o in 0..<outputs {
            for i in 0..<height {
                for j in 0..<width {
                    var sum = 0.0
                    for c in 0..<inputs {
                        for p in 0..<kernelHeight {
                            for q in 0..<3 {
                                let si = i + p - kernelHeight / 2, sj = j + q - 1
                                guard si >= 0, si < height, sj >= 0, sj < width else { continue }
                                sum += weight[((o * inputs + c) * kernelHeight + p) * 3 + q] * x[c * s + si * width + sj]
                            }
                        }
                    }
                    y[o * s + i * width + j] = sum
                }
            }
        }
        return y
    }

    /// y = W x for one sample, W: rows × columns in C order.
    static func dense(_ x: [Double], weight: [Double], rows: Int) -> [Double] {
        (0..<rows).map { i in (0..<x.count).reduce(0.0) { $0 + weight[i * x.count + $1] * x[$1] } }
    }

    /// GroupNorm of one sample of `channels` channels (S = x.count / channels), ε = 1e-5,
    /// population variance.
    static func groupNorm(_ x: [Double], channels: Int, groups: Int, gamma: [Double], beta: [Double]) -> [Double] {
        let s = x.count / channels, perGroup = channels / groups * s
        var y = x
        for g in 0..<groups {
            let slice = Array(x[(g * perGroup)..<((g + 1) * perGroup)])
            let mean = slice.reduce(0, +) / Double(perGroup)
            let variance = slice.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(perGroup)
            for k in 0..<perGroup {
                let index = g * perGroup + k, c = index / s
                y[index] = gamma[c] * (x[index] - mean) / (variance + 1e-5).squareRoot() + beta[c]
            }
        }
        return y
    }

    /// The residual cell for one sample from its parameters (by name), with the linear layers
    /// given: f and the two relu pre-activations a₁ = L₁ z and s₃ = z + norm₂(x̃ + L₂ y).
    static func residual(z: [Double], injection: [Double], parameters: [NamedArray], groups: Int,
                         layer1: ([Double]) -> [Double], layer2: ([Double]) -> [Double],
                         channels: Int, innerChannels: Int) -> (f: [Double], a1: [Double], s3: [Double]) {
        func array(_ name: String) -> [Double] { parameters.first { $0.name == name }!.values }
        let a1 = layer1(z)
        let y = groupNorm(a1.map { max(0, $0) }, channels: innerChannels, groups: groups,
                          gamma: array("norm1.weight"), beta: array("norm1.bias"))
        let s2 = zip(injection, layer2(y)).map { $0 + $1 }
        let n2 = groupNorm(s2, channels: channels, groups: groups, gamma: array("norm2.weight"), beta: array("norm2.bias"))
        let s3 = zip(z, n2).map { $0 + $1 }
        let f = groupNorm(s3.map { max(0, $0) }, channels: channels, groups: groups,
                          gamma: array("norm3.weight"), beta: array("norm3.bias"))
        return (f, a1, s3)
    }

    /// The MLP residual cell's f and pre-activations for sample i.
    static func residual(_ cell: ResidualCell, z: Matrix, sample i: Int) -> (f: [Double], a1: [Double], s3: [Double]) {
        let p = cell.parameters
        func array(_ name: String) -> [Double] { p.first { $0.name == name }!.values }
        return residual(z: z.row(i), injection: cell.input.row(i), parameters: p, groups: cell.groups,
                        layer1: { dense($0, weight: array("W1"), rows: cell.innerDimension) },
                        layer2: { dense($0, weight: array("W2"), rows: cell.dimension) },
                        channels: cell.dimension, innerChannels: cell.innerDimension)
    }

    /// The convolutional residual cell's f and pre-activations for sample i, every convolution
    /// (the injection's too) computed directly.
    static func residual(_ cell: ConvResidualCell, z: Matrix, sample i: Int) -> (f: [Double], a1: [Double], s3: [Double]) {
        let p = cell.parameters, extents = cell.shape.extents, s = cell.shape.size
        func array(_ name: String) -> [Double] { p.first { $0.name == name }!.values }
        let bias = array("injection.bias")
        var injection = convolution(cell.input.row(i), weight: array("injection.weight"), inputs: cell.inputChannels,
                                    outputs: cell.channels, extents: extents)
        for k in injection.indices { injection[k] += bias[k / s] }
        return residual(z: z.row(i), injection: injection, parameters: p, groups: cell.groups,
                        layer1: { convolution($0, weight: array("conv1.weight"), inputs: cell.channels,
                                              outputs: cell.innerChannels, extents: extents) },
                        layer2: { convolution($0, weight: array("conv2.weight"), inputs: cell.innerChannels,
                                              outputs: cell.channels, extents: extents) },
                        channels: cell.channels, innerChannels: cell.innerChannels)
    }

    /// The smallest |pre-activation| over the batch: central differences with a step far below
    /// it never cross a relu kink.
    static func kinkMargin(_ rows: [(f: [Double], a1: [Double], s3: [Double])]) -> Double {
        rows.flatMap { $0.a1 + $0.s3 }.map(abs).min() ?? .infinity
    }
}
