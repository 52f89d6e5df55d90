import Foundation

extension ResidualCell {
    /// `residual`: the tutorial's residual cell as an MLP, synthetic or from a weights directory.
    public static let catalogEntry: CellEntry = {
        let defaults = Configuration()
        return CellEntry(
            name: "residual",
            summary: "the DEQ tutorial's residual cell as an MLP: norm₃(relu(z + norm₂(x + W₂ norm₁(relu(W₁ z))))), GroupNorm",
            parameters: [
                CellParameters.size("dim", default: defaults.dimension, "state dimension d"),
                CellParameters.size("inner", default: defaults.innerDimension, "inner width h (typically h > d)"),
            ] + residualShared(batch: defaults.batchSize, groups: defaults.groups, sigma: defaults.weightScale,
                               injectionScale: defaults.injectionScale),
            check: { values, given in residualProblem(values, given, counts: ["dim", "inner"], sizes: ["dim", "inner", "sigma"]) },
            memory: { values in
                guard values["weights"] == nil else { return [] }
                let d = CellParameters.integer(values, "dim"), h = CellParameters.integer(values, "inner")
                let b = CellParameters.integer(values, "batch")
                return [("W₁ and W₂ (2 h d doubles)", CellParameters.bytes(2, h, d)),
                        ("the inner activations and norms' statistics (4 B (d + h) doubles)", CellParameters.bytes(4, b, d + h))]
            },
            build: { values, given, context in
                let batch = CellParameters.integer(values, "batch"), seed = CellParameters.seed(values, context)
                let scale = CellParameters.real(values, "injection-scale")
                if let store = try CellParameters.store(values, context) {
                    return try ResidualCell.load(weights: store, groups: CellParameters.integer(values, "groups"),
                                                 injection: CellParameters.path(values, "injection", context).map { .file($0) }
                                                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
                }
                return try ResidualCell.random(.init(dimension: CellParameters.integer(values, "dim"),
                                                     innerDimension: CellParameters.integer(values, "inner"), batchSize: batch,
                                                     groups: CellParameters.integer(values, "groups"),
                                                     weightScale: CellParameters.real(values, "sigma"), injectionScale: scale, seed: seed))
            })
    }()

    /// The parameters every residual cell (MLP and convolutional) shares.
    static func residualShared(batch: Int, groups: Int, sigma: Double, injectionScale: Double) -> [ParameterDefinition] {
        [
            CellParameters.batch(batch),
            CellParameters.size("groups", default: groups, "GroupNorm groups G; divides every normalised channel count"),
            ParameterDefinition("sigma", CellParameters.nonNegative, default: .real(sigma), "σ of the weights' N(0, σ²) entries (the tutorial's 0.01)"),
            CellParameters.injectionScale(injectionScale),
            CellParameters.seed,
            ParameterDefinition("weights", .path, default: nil,
                                "the weights as a state_dict: a .safetensors, an .npz or a folder of NAME.npy (docs/EXPERIMENTS.md); overrides the sizes and sigma"),
            CellParameters.prefix,
            ParameterDefinition("injection", .path, default: nil, "X.npy (or FILE.npz:KEY), rows are samples, with weights; default: B Gaussian samples of scale s"),
        ]
    }

    /// The checks of a residual cell: `injection` and `prefix` need `weights`, which excludes the
    /// synthetic sizes; G divides the normalised channel counts.
    static func residualProblem(_ values: [String: ParameterValue], _ given: Set<String>, counts: [String], sizes: [String]) -> String? {
        guard given.contains("weights") else {
            for name in ["injection", "prefix"] where given.contains(name) {
                return "{\(name)} needs {weights}: a synthetic cell draws its own inputs and weights; give {weights} too, or drop {\(name)}"
            }
            let groups = CellParameters.integer(values, "groups")
            for name in counts where CellParameters.integer(values, name) % groups != 0 {
                return "{groups} \(groups) does not divide {\(name)} \(CellParameters.integer(values, name)); expected a divisor of \(counts.map { "{\($0)} \(CellParameters.integer(values, $0))" }.joined(separator: " and "))"
            }
            return nil
        }
        if let conflict = CellParameters.conflicts(sizes, with: "weights", in: given, because: "the weights come from the file") {
            return conflict
        }
        if given.contains("injection") {
            return CellParameters.conflicts(["batch", "injection-scale", "seed"], with: "injection", in: given,
                                            because: "the samples come from the file")
        }
        return nil
    }
}

extension ConvResidualCell {
    /// `conv1d` (rank 1) and `conv2d` (rank 2): the residual cell with kernel-3 convolutions
    /// and a convolutional input injection, synthetic or from a weights directory.
    public static func catalogEntry(rank: Int) -> CellEntry {
        let grid = rank == 2
        let defaults = grid ? Configuration() : Configuration(channels: 16, innerChannels: 32, shape: .line(length: 32))
        let spatial: [ParameterDefinition] = grid
            ? [CellParameters.size("height", default: 32, "image height H"), CellParameters.size("width", default: 32, "image width W")]
            : [CellParameters.size("length", default: 32, "positions L")]
        return CellEntry(
            name: grid ? "conv2d" : "conv1d",
            summary: grid ? "the residual cell with 3 × 3 convolutions over C × H × W states (the tutorial's ResNetLayer)"
                : "the residual cell with kernel-3 convolutions over C × L states and a convolutional input injection",
            parameters: [
                CellParameters.size("channels", default: defaults.channels, "state channels C"),
                CellParameters.size("inner", default: defaults.innerChannels, "inner channels h"),
                CellParameters.size("in-channels", default: defaults.inputChannels, "input channels C_in of the injection convolution"),
            ] + spatial + ResidualCell.residualShared(batch: defaults.batchSize, groups: defaults.groups, sigma: defaults.weightScale,
                                                       injectionScale: defaults.injectionScale),
            check: { values, given in
                ResidualCell.residualProblem(values, given, counts: ["channels", "inner"], sizes: ["channels", "inner", "in-channels", "sigma"])
            },
            memory: { values in
                guard values["weights"] == nil else { return [] }
                let c = CellParameters.integer(values, "channels"), h = CellParameters.integer(values, "inner")
                let cin = CellParameters.integer(values, "in-channels"), b = CellParameters.integer(values, "batch")
                let k = grid ? 9 : 3
                let s = Size.product(grid ? [CellParameters.integer(values, "height"), CellParameters.integer(values, "width")]
                                          : [CellParameters.integer(values, "length")]) ?? Int.max
                let widest = max(c, h, cin)
                return [("the convolution weights (K (2 C h + C C_in) doubles)", Size.product([k, 2 * c * h + c * cin, 8])),
                        ("the im2col columns (C·K × S per sample)", Size.product([widest, k, s, b, 8])),
                        ("the inner activations and norms' statistics (4 B (C + h) S doubles)", Size.product([4, b, c + h, s, 8])),
                        ("the inputs and injection (B (C_in + C) S doubles)", Size.product([b, cin + c, s, 8]))]
            },
            build: { values, given, context in
                let batch = CellParameters.integer(values, "batch"), seed = CellParameters.seed(values, context)
                let scale = CellParameters.real(values, "injection-scale")
                let shape: SpatialShape = grid
                    ? .grid(height: CellParameters.integer(values, "height"), width: CellParameters.integer(values, "width"))
                    : .line(length: CellParameters.integer(values, "length"))
                if let store = try CellParameters.store(values, context) {
                    // An injection file fixes the spatial shape itself unless the entry sets it.
                    let spatialGiven = ["length", "height", "width"].contains { given.contains($0) }
                    let injection = CellParameters.path(values, "injection", context)
                    return try ConvResidualCell.load(weights: store, rank: rank, groups: CellParameters.integer(values, "groups"),
                                                     shape: injection != nil && !spatialGiven ? nil : shape,
                                                     injection: injection.map { .file($0) } ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
                }
                return try ConvResidualCell.random(.init(channels: CellParameters.integer(values, "channels"),
                                                         innerChannels: CellParameters.integer(values, "inner"),
                                                         inputChannels: CellParameters.integer(values, "in-channels"), shape: shape,
                                                         batchSize: batch, groups: CellParameters.integer(values, "groups"),
                                                         weightScale: CellParameters.real(values, "sigma"), injectionScale: scale, seed: seed))
            })
    }
}

extension MonotoneCell {
    /// `monotone`: monDEQ's parametrisation, synthetic or from a weights directory.
    public static let catalogEntry: CellEntry = {
        let defaults = Configuration()
        return CellEntry(
            name: "monotone",
            summary: "monDEQ: relu(W z + U x + b), W = (1 − m) I − AᵀA + B − Bᵀ, a unique fixed point",
            parameters: [
                CellParameters.size("dim", default: defaults.dimension, "state dimension d"),
                CellParameters.batch(defaults.batchSize),
                ParameterDefinition("monotonicity", CellParameters.positive, default: .real(defaults.monotonicity), "m: I − W ⪰ m I"),
                ParameterDefinition("weight-scale", CellParameters.nonNegative, default: .real(defaults.weightScale),
                                    "A and B have N(0, s_w²/d) entries (default 1/√3, PyTorch's nn.Linear variance)"),
                CellParameters.injectionScale(defaults.injectionScale),
                CellParameters.seed,
                ParameterDefinition("weights", .path, default: nil,
                                    "A, B, U, b as a state_dict (.safetensors, .npz, a folder of .npy; monotone_op_net's names too); overrides dim and weight-scale"),
                CellParameters.prefix,
                ParameterDefinition("injection", .path, default: nil, "X.npy (or FILE.npz:KEY), rows are samples, with weights; default: B Gaussian samples of scale s"),
            ],
            check: { values, given in ResidualCell.residualProblem(values, given, counts: [], sizes: ["dim", "weight-scale"]) },
            memory: { values in
                guard values["weights"] == nil else { return [] }
                let d = CellParameters.integer(values, "dim"), b = CellParameters.integer(values, "batch")
                return [("A, B, U, W and the streamed copy of W (5 d² doubles)", CellParameters.bytes(5, d, d)), ("the inputs and injection (2 B d doubles)", CellParameters.bytes(2, b, d))]
            },
            build: { values, given, context in
                let batch = CellParameters.integer(values, "batch"), seed = CellParameters.seed(values, context)
                let scale = CellParameters.real(values, "injection-scale")
                if let store = try CellParameters.store(values, context) {
                    return try MonotoneCell.load(weights: store, monotonicity: CellParameters.real(values, "monotonicity"),
                                                 injection: CellParameters.path(values, "injection", context).map { .file($0) }
                                                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
                }
                return try MonotoneCell.random(.init(dimension: CellParameters.integer(values, "dim"), batchSize: batch,
                                                     monotonicity: CellParameters.real(values, "monotonicity"),
                                                     weightScale: CellParameters.real(values, "weight-scale"), injectionScale: scale, seed: seed))
            })
    }()
}
