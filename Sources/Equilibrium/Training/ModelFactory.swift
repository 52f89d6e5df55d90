/// Freshly initialised models for ``TrainingOptions``, from one SplitMix64 stream of the seed.
///
/// - tanh: W with N(0, (0.4/√d)²) entries (‖W‖₂ ≈ 0.8, so f is a contraction at the start),
///   U with N(0, 1/p), b = 0; the task input goes straight into the cell.
/// - residual: a linear embedding p → d (N(0, 1/p)), W₁, W₂ with N(0, (1/√fan-in)²)·0.5 entries.
/// - conv: conv₁, conv₂ with N(0, (0.5/√(3·C_in))²) entries, conv_U with N(0, 1/(3·C_in)), b = 0.
/// Heads: N(0, 1/C), bias 0.
public enum ModelFactory {
    public static func tanh(_ o: TrainingOptions, inputs: Int, classes: Int) throws(UsageError) -> EquilibriumModel<TanhCell> {
        var g = SplitMix64(seed: Dataset.mix(o.seed, 3))
        let d = o.width
        let w = Matrix.gaussian(rows: d, columns: d, scale: 0.4 / Double(d).squareRoot(), using: &g)
        let u = Matrix.gaussian(rows: d, columns: inputs, scale: 1 / Double(inputs).squareRoot(), using: &g)
        let cell = try TanhCell(weight: w, inputWeight: u, bias: [Double](repeating: 0, count: d),
                            input: Matrix(rows: 1, columns: inputs))
        return try EquilibriumModel(cell: cell, embedding: nil, head: try .random(inputs: d, outputs: classes, using: &g))
    }

    public static func residual(_ o: TrainingOptions, inputs: Int, classes: Int) throws(UsageError) -> EquilibriumModel<ResidualCell> {
        var g = SplitMix64(seed: Dataset.mix(o.seed, 3))
        let d = o.width, h = o.innerWidth
        let embedding = try LinearLayer.random(inputs: inputs, outputs: d, using: &g)
        let w1 = Matrix.gaussian(rows: h, columns: d, scale: 0.2 / Double(d).squareRoot(), using: &g)
        let w2 = Matrix.gaussian(rows: d, columns: h, scale: 0.2 / Double(h).squareRoot(), using: &g)
        let cell = try ResidualCell(weight1: w1, weight2: w2, groups: o.groups, input: Matrix(rows: 1, columns: d))
        return try EquilibriumModel(cell: cell, embedding: embedding, head: try .random(inputs: d, outputs: classes, using: &g))
    }

    public static func conv(_ o: TrainingOptions, inputs: Int, classes: Int) throws(UsageError) -> EquilibriumModel<ConvResidualCell> {
        var g = SplitMix64(seed: Dataset.mix(o.seed, 3))
        let c = o.width, h = o.innerWidth, line = SpatialShape.line(length: 1)
        let w1 = Matrix.gaussian(rows: h, columns: c * 3, scale: 0.5 / Double(3 * c).squareRoot(), using: &g)
        let w2 = Matrix.gaussian(rows: c, columns: h * 3, scale: 0.5 / Double(3 * h).squareRoot(), using: &g)
        let u = Matrix.gaussian(rows: c, columns: inputs * 3, scale: 1 / Double(3 * inputs).squareRoot(), using: &g)
        let cell = try ConvResidualCell(
            convolution1: Convolution(inputChannels: c, outputChannels: h, shape: line, weight: w1),
            convolution2: Convolution(inputChannels: h, outputChannels: c, shape: line, weight: w2),
            norm1: GroupNorm(channels: h, groups: o.groups, spatialSize: 1),
            norm2: GroupNorm(channels: c, groups: o.groups, spatialSize: 1),
            norm3: GroupNorm(channels: c, groups: o.groups, spatialSize: 1),
            injectionConvolution: Convolution(inputChannels: inputs, outputChannels: c, shape: line, weight: u),
            injectionBias: [Double](repeating: 0, count: c), input: Matrix(rows: 1, columns: inputs))
        return try EquilibriumModel(cell: cell, embedding: nil, head: try .random(inputs: c, outputs: classes, using: &g))
    }
}
