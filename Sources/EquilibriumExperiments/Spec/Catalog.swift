import Equilibrium
import Foundation

/// The cell families an experiment can declare, with their parameters and how to build them.
public enum CellFamily: String, CaseIterable, Sendable, Codable {
    case tanh
    case affine
    case residual
    case conv1d
    case conv2d
    case monotone

    public var summary: String {
        switch self {
        case .tanh: return "f(z, x) = tanh(W z + x) with ‖W‖₂ = rho, inputs x ~ N(0, s²I); or W and x from .npy files"
        case .affine: return "f(z) = A z + bᵢ with ‖A‖₂ = rho, bᵢ ~ N(0, I); exact fixed point by LAPACK"
        case .residual: return "the DEQ tutorial's residual cell as an MLP: norm₃(relu(z + norm₂(x + W₂ norm₁(relu(W₁ z))))), GroupNorm"
        case .conv1d: return "the residual cell with kernel-3 convolutions over C × L states and a convolutional input injection"
        case .conv2d: return "the residual cell with 3 × 3 convolutions over C × H × W states (the tutorial's ResNetLayer)"
        case .monotone: return "monDEQ: relu(W z + U x + b), W = (1 − m) I − AᵀA + B − Bᵀ, a unique fixed point"
        }
    }

    public var parameters: [ParameterDefinition] {
        let nonNegative = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false)
        let positive = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false)
        let batch = ParameterDefinition("batch", .integer(minimum: 1), default: .integer(8), "number of samples B")
        let seed = ParameterDefinition("seed", .integer(minimum: 0), default: nil,
                                       "seed of the cell; default: the experiment seed plus the repeat index")
        let injectionScale = ParameterDefinition("injection-scale", nonNegative, default: .real(1), "standard deviation s of the inputs")
        let common: [ParameterDefinition] = [
            .init("dim", .integer(minimum: 1), default: .integer(64), "state dimension d"),
            batch,
            .init("rho", nonNegative, default: .real(0.9), "exact spectral norm of W (or A); > 1 with symmetric gives several attractors"),
            .init("symmetric", .boolean, default: .boolean(false), "draw W symmetric (then ρ(W) = ‖W‖₂)"),
            seed,
        ]
        let residualShared: [ParameterDefinition] = [
            batch,
            .init("groups", .integer(minimum: 1), default: .integer(8), "GroupNorm groups G; divides every normalised channel count"),
            .init("sigma", nonNegative, default: .real(0.01), "σ of the weights' N(0, σ²) entries (the tutorial's 0.01)"),
            injectionScale,
            seed,
            .init("weights-dir", .path, default: nil, "a directory of named .npy weights (docs/EXPERIMENTS.md); overrides the sizes and sigma"),
            .init("injection", .path, default: nil, "X.npy, rows are samples, with weights-dir; default: B Gaussian samples of scale s"),
        ]
        let convolutional: [ParameterDefinition] = [
            .init("channels", .integer(minimum: 1), default: .integer(self == .conv2d ? 48 : 16), "state channels C"),
            .init("inner", .integer(minimum: 1), default: .integer(self == .conv2d ? 64 : 32), "inner channels h"),
            .init("in-channels", .integer(minimum: 1), default: .integer(3), "input channels C_in of the injection convolution"),
        ]
        switch self {
        case .tanh:
            return common + [
                injectionScale,
                .init("weights", .path, default: nil, "W.npy (d × d); overrides dim, rho, symmetric"),
                .init("input-weights", .path, default: nil, "U.npy (d × p), with weights; default U = I"),
                .init("bias", .path, default: nil, "b.npy (d), with weights; default b = 0"),
                .init("injection", .path, default: nil, "X.npy, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ]
        case .affine:
            return common + [
                .init("injection-scale", nonNegative, default: .real(1), "standard deviation s of the offsets bᵢ"),
                .init("weights", .path, default: nil, "A.npy (d × d); overrides dim, rho, symmetric"),
                .init("injection", .path, default: nil, "the offsets, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ]
        case .residual:
            return [
                .init("dim", .integer(minimum: 1), default: .integer(64), "state dimension d"),
                .init("inner", .integer(minimum: 1), default: .integer(128), "inner width h (typically h > d)"),
            ] + residualShared
        case .conv1d:
            return convolutional + [.init("length", .integer(minimum: 1), default: .integer(32), "positions L")] + residualShared
        case .conv2d:
            return convolutional + [
                .init("height", .integer(minimum: 1), default: .integer(32), "image height H"),
                .init("width", .integer(minimum: 1), default: .integer(32), "image width W"),
            ] + residualShared
        case .monotone:
            return [
                .init("dim", .integer(minimum: 1), default: .integer(64), "state dimension d"),
                batch,
                .init("monotonicity", positive, default: .real(0.05), "m: I − W ⪰ m I"),
                .init("weight-scale", nonNegative, default: .real(MonotoneCell.Configuration().weightScale),
                      "A and B have N(0, s_w²/d) entries (default 1/√3, PyTorch's nn.Linear variance)"),
                injectionScale,
                seed,
                .init("weights-dir", .path, default: nil, "a directory with A.npy, B.npy, U.npy, b.npy; overrides dim and weight-scale"),
                .init("injection", .path, default: nil, "X.npy, rows are samples, with weights-dir; default: B Gaussian samples of scale s"),
            ]
        }
    }

    /// Every parameter's value: the given ones, the defaults for the rest.
    public func resolved(_ values: [String: ParameterValue]) -> [String: ParameterValue] {
        var result: [String: ParameterValue] = [:]
        for definition in parameters {
            if let value = values[definition.name] ?? definition.defaultValue { result[definition.name] = value }
        }
        return result
    }

    /// Why a configuration cannot be built, or nil: the checks that involve several parameters
    /// (GroupNorm's groups must divide the channel counts; `injection` needs weights).
    public func problem(with given: [String: ParameterValue]) -> String? {
        let values = resolved(given)
        func integer(_ name: String) -> Int { values[name]?.intValue ?? 0 }
        switch self {
        case .tanh, .affine:
            return nil
        case .residual, .conv1d, .conv2d:
            if given["injection"] != nil && given["weights-dir"] == nil {
                return "injection needs weights-dir: a synthetic cell draws its own inputs"
            }
            guard given["weights-dir"] == nil else { return nil }
            let groups = integer("groups")
            let counts = self == .residual ? [("dim", integer("dim")), ("inner", integer("inner"))]
                : [("channels", integer("channels")), ("inner", integer("inner"))]
            for (name, count) in counts where count % groups != 0 {
                return "groups \(groups) does not divide \(name) \(count); expected a divisor of \(counts.map { "\($0.0) \($0.1)" }.joined(separator: " and "))"
            }
            return nil
        case .monotone:
            if given["injection"] != nil && given["weights-dir"] == nil {
                return "injection needs weights-dir: a synthetic cell draws its own inputs"
            }
            return nil
        }
    }

    /// Builds the map for one grid point. Relative paths are resolved against `baseDirectory`.
    public func makeMap(_ given: [String: ParameterValue], seed: UInt64, baseDirectory: URL) throws -> any FixedPointMap {
        if let problem = problem(with: given) {
            throw ExperimentError(file: "cell '\(rawValue)'", line: nil, message: problem)
        }
        let values = resolved(given)
        func integer(_ name: String) -> Int { values[name]?.intValue ?? 0 }
        func real(_ name: String) -> Double { values[name]?.doubleValue ?? .nan }
        func file(_ key: String) -> URL? {
            values[key]?.stringValue.map { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : baseDirectory.appendingPathComponent($0) }
        }
        let batch = integer("batch")
        switch self {
        case .tanh:
            let dim = integer("dim"), rho = real("rho"), symmetric = values["symmetric"]?.boolValue ?? false
            let scale = real("injection-scale")
            if let weights = file("weights") {
                let injection: InjectionSource = file("injection").map { .file($0) }
                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                return try TanhCell.load(weights: weights, inputWeights: file("input-weights"), bias: file("bias"), injection: injection)
            }
            return try TanhCell.random(.init(dimension: dim, batchSize: batch, spectralNorm: rho,
                                             symmetric: symmetric, injectionScale: scale, seed: seed))
        case .affine:
            let scale = real("injection-scale")
            if let weights = file("weights") {
                let offsets: InjectionSource = file("injection").map { .file($0) }
                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                return try AffineMap.load(matrix: weights, offsets: offsets)
            }
            let map = try AffineMap.random(dimension: integer("dim"), batchSize: batch, spectralNorm: real("rho"),
                                           symmetric: values["symmetric"]?.boolValue ?? false, seed: seed)
            return scale == 1 ? map : AffineMap(matrix: map.matrix, offsets: scale * map.offsets)
        case .residual:
            let scale = real("injection-scale")
            if let directory = file("weights-dir") {
                return try ResidualCell.load(directory: directory, groups: integer("groups"),
                                             injection: file("injection").map { .file($0) } ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
            }
            return ResidualCell.random(.init(dimension: integer("dim"), innerDimension: integer("inner"), batchSize: batch,
                                             groups: integer("groups"), weightScale: real("sigma"), injectionScale: scale, seed: seed))
        case .conv1d, .conv2d:
            let scale = real("injection-scale")
            let shape: SpatialShape = self == .conv1d ? .line(length: integer("length"))
                : .grid(height: integer("height"), width: integer("width"))
            if let directory = file("weights-dir") {
                // An injection file fixes the spatial shape itself unless the entry sets it.
                let spatialGiven = ["length", "height", "width"].contains { given[$0] != nil }
                let injection = file("injection")
                return try ConvResidualCell.load(directory: directory, rank: shape.rank, groups: integer("groups"),
                                                 shape: injection != nil && !spatialGiven ? nil : shape,
                                                 injection: injection.map { .file($0) } ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
            }
            return ConvResidualCell.random(.init(channels: integer("channels"), innerChannels: integer("inner"),
                                                 inputChannels: integer("in-channels"), shape: shape, batchSize: batch,
                                                 groups: integer("groups"), weightScale: real("sigma"), injectionScale: scale, seed: seed))
        case .monotone:
            let scale = real("injection-scale")
            if let directory = file("weights-dir") {
                return try MonotoneCell.load(directory: directory, monotonicity: real("monotonicity"),
                                             injection: file("injection").map { .file($0) } ?? .gaussian(batchSize: batch, scale: scale, seed: seed))
            }
            return MonotoneCell.random(.init(dimension: integer("dim"), batchSize: batch, monotonicity: real("monotonicity"),
                                             weightScale: real("weight-scale"), injectionScale: scale, seed: seed))
        }
    }
}

/// The solver families, with their parameters and how to build them: one catalog for the
/// experiment files and the `deq` command line.
public enum SolverKind: String, CaseIterable, Sendable, Codable {
    case forward
    case anderson
    case broyden
    case newtonKrylov = "newton-krylov"

    public var summary: String {
        switch self {
        case .forward: return "forward (Picard) iteration z ← (1 − τ) z + τ f(z)"
        case .anderson: return "Anderson acceleration, memory m, relative regularisation λ, mixing β"
        case .broyden: return "limited-memory good Broyden, H = −I + U Vᵀ"
        case .newtonKrylov: return "Jacobian-free Newton–Krylov: GMRES with Eisenstat–Walker forcing"
        }
    }

    public var parameters: [ParameterDefinition] {
        let nonNegative = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false)
        switch self {
        case .forward:
            return [.init("damping", .real(minimum: 0, maximum: 2, exclusiveMinimum: true, exclusiveMaximum: true),
                          default: .real(ForwardIteration().damping), "τ; 1 is the plain step")]
        case .anderson:
            let defaults = AndersonAcceleration()
            return [
                .init("memory", .integer(minimum: 1), default: .integer(defaults.memory), "m, difference pairs kept"),
                .init("lambda", nonNegative, default: .real(defaults.regularization), "λ, relative to the mean Gram eigenvalue"),
                .init("beta", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false),
                      default: .real(defaults.mixing), "β: < 1 damped, > 1 overprojected"),
                .init("delay", .integer(minimum: 0), default: .integer(defaults.delay), "plain steps before mixing"),
            ]
        case .broyden:
            let defaults = Broyden()
            return [
                .init("memory", .integer(minimum: 1), default: .integer(defaults.memory), "L, rank-one updates kept"),
                .init("line-search", .boolean, default: .boolean(defaults.lineSearch), "Armijo backtracking on ‖g‖²"),
                .init("when-full", .choice(Broyden.MemoryPolicy.allCases.map(\.rawValue)),
                      default: .text(defaults.whenMemoryFull.rawValue), "what happens when L updates are stored"),
            ]
        case .newtonKrylov:
            let defaults = NewtonKrylov()
            return [
                .init("krylov-dim", .integer(minimum: 1), default: .integer(defaults.krylovDimension), "GMRES restart length k"),
                .init("max-restarts", .integer(minimum: 0), default: .integer(defaults.maxRestarts), "GMRES restarts per Newton step"),
                .init("forcing", .choice(["ew", "constant"]), default: .text("ew"),
                      "Eisenstat–Walker choice 2 (ew) or a constant η"),
                .init("eta", .real(minimum: 0, maximum: 1, exclusiveMinimum: false, exclusiveMaximum: true),
                      default: .real(0.9), "η_max for ew, the fixed η for constant"),
                .init("line-search", .boolean, default: .boolean(defaults.lineSearch), "backtracking on ‖g‖"),
                .init("jvp", .choice(["analytic", "fd"]), default: .text("analytic"),
                      "J·v from the cell's analytic product or by finite differences"),
            ]
        }
    }

    /// Every parameter's value: the given ones, the defaults for the rest.
    public func resolved(_ values: [String: ParameterValue]) -> [String: ParameterValue] {
        var result: [String: ParameterValue] = [:]
        for definition in parameters {
            if let value = values[definition.name] ?? definition.defaultValue { result[definition.name] = value }
        }
        return result
    }

    /// The solver for one configuration; `values` are validated against ``parameters``.
    public func makeSolver(_ given: [String: ParameterValue]) -> any FixedPointSolver {
        let values = resolved(given)
        func real(_ name: String) -> Double { values[name]?.doubleValue ?? .nan }
        func integer(_ name: String) -> Int { values[name]?.intValue ?? 0 }
        func flag(_ name: String) -> Bool { values[name]?.boolValue ?? false }
        func text(_ name: String) -> String { values[name]?.stringValue ?? "" }
        switch self {
        case .forward:
            return ForwardIteration(damping: real("damping"))
        case .anderson:
            return AndersonAcceleration(memory: integer("memory"), regularization: real("lambda"),
                                        mixing: real("beta"), delay: integer("delay"))
        case .broyden:
            return Broyden(memory: integer("memory"),
                           whenMemoryFull: Broyden.MemoryPolicy(rawValue: text("when-full")) ?? .restart,
                           lineSearch: flag("line-search"))
        case .newtonKrylov:
            let forcing: NewtonKrylov.Forcing = text("forcing") == "constant"
                ? .constant(real("eta")) : .eisenstatWalker(etaMax: real("eta"))
            // Every built-in cell has analytic products; `automatic` uses them and falls back
            // to finite differences only for maps without them.
            return NewtonKrylov(krylovDimension: integer("krylov-dim"), maxRestarts: integer("max-restarts"),
                                forcing: forcing, lineSearch: flag("line-search"),
                                jacobianProducts: text("jvp") == "fd" ? .finiteDifference : .automatic)
        }
    }

    /// Doubles of solver workspace per sample of dimension d (to refuse sizes that cannot be
    /// allocated before trying).
    public func workspacePerSample(dimension d: Int, _ given: [String: ParameterValue]) -> Int {
        let values = resolved(given)
        switch self {
        case .forward: return 0
        case .anderson: return 2 * (values["memory"]?.intValue ?? 0) * d + 2 * d
        case .broyden: return 2 * (values["memory"]?.intValue ?? 0) * d + 4 * d
        case .newtonKrylov: return ((values["krylov-dim"]?.intValue ?? 0) + 4) * d
        }
    }
}
