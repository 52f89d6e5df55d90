import Foundation

extension TanhCell {
    /// `tanh`: a synthetic cell (d, ρ, symmetric, inputs of scale s) or W, U, b and x from `.npy` files.
    public static let catalogEntry: CellEntry = {
        let defaults = Configuration()
        return CellEntry(
            name: "tanh",
            summary: "f(z, x) = tanh(W z + x) with ‖W‖₂ = rho, inputs x ~ N(0, s²I); or W, U, b and x from .npy files",
            parameters: [
                CellParameters.size("dim", default: defaults.dimension, "state dimension d"),
                CellParameters.batch(defaults.batchSize),
                ParameterDefinition("rho", CellParameters.nonNegative, default: .real(defaults.spectralNorm),
                                    "exact spectral norm of W; > 1 with symmetric gives several attractors"),
                ParameterDefinition("symmetric", .boolean, default: .boolean(defaults.symmetric), "draw W symmetric (then ρ(W) = ‖W‖₂)"),
                CellParameters.seed,
                CellParameters.injectionScale(defaults.injectionScale),
                ParameterDefinition("weights", .path, default: nil,
                                    "W.npy (d × d), or a state_dict (.safetensors, .npz, a folder of .npy) with W and optionally U and b; overrides dim, rho, symmetric"),
                CellParameters.prefix,
                ParameterDefinition("input-weights", .path, default: nil, "U.npy (d × p), with a W.npy; default U = I"),
                ParameterDefinition("bias", .path, default: nil, "b.npy (d), with a W.npy; default b = 0"),
                ParameterDefinition("injection", .path, default: nil, "X.npy, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ],
            check: { values, given in denseProblem(given, values: values, fileOnly: ["input-weights", "bias", "injection"]) },
            memory: { values in denseMemory(values) },
            build: { values, given, context in
                let batch = CellParameters.integer(values, "batch"), seed = CellParameters.seed(values, context)
                let scale = CellParameters.real(values, "injection-scale")
                if let weights = CellParameters.path(values, "weights", context) {
                    let injection: InjectionSource = CellParameters.path(values, "injection", context).map { .file($0) }
                        ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                    if weights.pathExtension == "npy" {
                        return try TanhCell.load(weights: weights, inputWeights: CellParameters.path(values, "input-weights", context),
                                                 bias: CellParameters.path(values, "bias", context), injection: injection)
                    }
                    return try TanhCell.load(weights: try CellParameters.store(values, context)!, injection: injection)
                }
                return try TanhCell.random(.init(dimension: CellParameters.integer(values, "dim"), batchSize: batch,
                                                 spectralNorm: CellParameters.real(values, "rho"),
                                                 symmetric: CellParameters.flag(values, "symmetric"), injectionScale: scale, seed: seed))
            })
    }()

    /// The checks of a dense cell (tanh, affine): files only with `weights`, and no synthetic
    /// sizes beside a weights file.
    static func denseProblem(_ given: Set<String>, values: [String: ParameterValue], fileOnly: [String]) -> String? {
        if given.contains("weights") {
            let isArray = values["weights"]?.stringValue?.hasSuffix(".npy") == true
            if isArray, given.contains("prefix") {
                return "{prefix} applies to a weights file with several arrays (.safetensors, .npz, a folder); a .npy holds one"
            }
            if !isArray, let conflict = CellParameters.conflicts(["input-weights", "bias"], with: "weights", in: given,
                                                                 because: "a weights file with several arrays holds U and b itself") {
                return conflict
            }
            if let conflict = CellParameters.conflicts(["dim", "rho", "symmetric"], with: "weights", in: given,
                                                       because: "the matrix comes from the file") { return conflict }
            if given.contains("injection"), let conflict = CellParameters.conflicts(
                ["batch", "injection-scale", "seed"], with: "injection", in: given, because: "the samples come from the file") {
                return conflict
            }
            return nil
        }
        for name in fileOnly + ["prefix"] where given.contains(name) {
            return "{\(name)} needs {weights}: a synthetic cell draws its own inputs; give {weights} too, or drop {\(name)}"
        }
        return nil
    }

    /// W and its SVD workspace (about 6 d² doubles) and the inputs and injection (2 B d).
    static func denseMemory(_ values: [String: ParameterValue]) -> [(String, Int?)] {
        guard values["weights"] == nil else { return [] }
        let d = CellParameters.integer(values, "dim"), b = CellParameters.integer(values, "batch")
        return [("the d × d matrix, its SVD workspace and the streamed copy (6 d² doubles at the peak)", CellParameters.bytes(6, d, d)),
                ("the inputs and injection (2 B d doubles)", CellParameters.bytes(2, b, d))]
    }
}

extension AffineMap {
    /// `affine`: A with ‖A‖₂ = ρ and offsets bᵢ ~ N(0, s² I), or A and the offsets from `.npy` files.
    public static let catalogEntry: CellEntry = {
        let defaults = TanhCell.Configuration()
        return CellEntry(
            name: "affine",
            summary: "f(z) = A z + bᵢ with ‖A‖₂ = rho, bᵢ ~ N(0, s²I); exact fixed point by LAPACK",
            parameters: [
                CellParameters.size("dim", default: defaults.dimension, "state dimension d"),
                CellParameters.batch(defaults.batchSize),
                ParameterDefinition("rho", CellParameters.nonNegative, default: .real(defaults.spectralNorm), "exact spectral norm of A"),
                ParameterDefinition("symmetric", .boolean, default: .boolean(false), "draw A symmetric (then ρ(A) = ‖A‖₂)"),
                CellParameters.seed,
                ParameterDefinition("injection-scale", CellParameters.nonNegative, default: .real(1), "standard deviation s of the offsets bᵢ"),
                ParameterDefinition("weights", .path, default: nil,
                                    "A.npy (d × d), or a file of named arrays with A; overrides dim, rho, symmetric"),
                CellParameters.prefix,
                ParameterDefinition("injection", .path, default: nil, "the offsets, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ],
            check: { values, given in TanhCell.denseProblem(given, values: values, fileOnly: ["injection"]) },
            memory: { values in TanhCell.denseMemory(values) },
            build: { values, given, context in
                let batch = CellParameters.integer(values, "batch"), seed = CellParameters.seed(values, context)
                let scale = CellParameters.real(values, "injection-scale")
                if let weights = CellParameters.path(values, "weights", context) {
                    let offsets: InjectionSource = CellParameters.path(values, "injection", context).map { .file($0) }
                        ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                    if weights.pathExtension == "npy" { return try AffineMap.load(matrix: weights, offsets: offsets) }
                    return try AffineMap.load(weights: try CellParameters.store(values, context)!, offsets: offsets)
                }
                let map = try AffineMap.random(dimension: CellParameters.integer(values, "dim"), batchSize: batch,
                                               spectralNorm: CellParameters.real(values, "rho"),
                                               symmetric: CellParameters.flag(values, "symmetric"), seed: seed)
                // The generator draws bᵢ ~ N(0, I); the scale makes them N(0, s² I).
                return scale == 1 ? map : try map.binding(input: scale * map.offsets)
            })
    }()
}
