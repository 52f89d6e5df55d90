import Equilibrium
import Foundation

/// The cell families an experiment can declare, with their parameters and how to build them.
public enum CellFamily: String, CaseIterable, Sendable, Codable {
    case tanh
    case affine

    public var summary: String {
        switch self {
        case .tanh: return "f(z, x) = tanh(W z + x) with ‖W‖₂ = rho, inputs x ~ N(0, s²I); or W and x from .npy files"
        case .affine: return "f(z) = A z + bᵢ with ‖A‖₂ = rho, bᵢ ~ N(0, I); exact fixed point by LAPACK"
        }
    }

    public var parameters: [ParameterDefinition] {
        let common: [ParameterDefinition] = [
            .init("dim", .integer(minimum: 1), default: .integer(64), "state dimension d"),
            .init("batch", .integer(minimum: 1), default: .integer(8), "number of samples B"),
            .init("rho", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                  default: .real(0.9), "exact spectral norm of W (or A); > 1 with symmetric gives several attractors"),
            .init("symmetric", .boolean, default: .boolean(false), "draw W symmetric (then ρ(W) = ‖W‖₂)"),
            .init("seed", .integer(minimum: 0), default: nil,
                  "seed of the cell; default: the experiment seed plus the repeat index"),
        ]
        switch self {
        case .tanh:
            return common + [
                .init("injection-scale", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                      default: .real(1), "standard deviation s of the inputs"),
                .init("weights", .path, default: nil, "W.npy (d × d); overrides dim, rho, symmetric"),
                .init("input-weights", .path, default: nil, "U.npy (d × p), with weights; default U = I"),
                .init("bias", .path, default: nil, "b.npy (d), with weights; default b = 0"),
                .init("injection", .path, default: nil, "X.npy, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ]
        case .affine:
            return common + [
                .init("injection-scale", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                      default: .real(1), "standard deviation s of the offsets bᵢ"),
                .init("weights", .path, default: nil, "A.npy (d × d); overrides dim, rho, symmetric"),
                .init("injection", .path, default: nil, "B.npy, the offsets, rows are samples, with weights; default: B Gaussian rows of scale s"),
            ]
        }
    }

    /// Builds the map for one grid point. Paths are resolved against `baseDirectory`.
    public func makeMap(_ values: [String: ParameterValue], seed: UInt64, baseDirectory: URL) throws -> any FixedPointMap {
        let dim = values["dim"]?.intValue ?? 64
        let batch = values["batch"]?.intValue ?? 8
        let rho = values["rho"]?.doubleValue ?? 0.9
        let symmetric = values["symmetric"]?.boolValue ?? false
        switch self {
        case .tanh:
            let scale = values["injection-scale"]?.doubleValue ?? 1
            if let weights = values["weights"]?.stringValue {
                func file(_ key: String) -> URL? {
                    values[key]?.stringValue.map { baseDirectory.appendingPathComponent($0) }
                }
                let injection: InjectionSource = file("injection").map { .file($0) }
                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                return try TanhCell.load(weights: baseDirectory.appendingPathComponent(weights),
                                         inputWeights: file("input-weights"), bias: file("bias"), injection: injection)
            }
            return try TanhCell.random(.init(dimension: dim, batchSize: batch, spectralNorm: rho,
                                             symmetric: symmetric, injectionScale: scale, seed: seed))
        case .affine:
            let scale = values["injection-scale"]?.doubleValue ?? 1
            if let weights = values["weights"]?.stringValue {
                let offsets: InjectionSource = values["injection"]?.stringValue
                    .map { .file(baseDirectory.appendingPathComponent($0)) }
                    ?? .gaussian(batchSize: batch, scale: scale, seed: seed)
                return try AffineMap.load(matrix: baseDirectory.appendingPathComponent(weights), offsets: offsets)
            }
            let map = try AffineMap.random(dimension: dim, batchSize: batch, spectralNorm: rho,
                                           symmetric: symmetric, seed: seed)
            return scale == 1 ? map : AffineMap(matrix: map.matrix, offsets: scale * map.offsets)
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
