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
            return common
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
            return try AffineMap.random(dimension: dim, batchSize: batch, spectralNorm: rho,
                                        symmetric: symmetric, seed: seed)
        }
    }
}

/// The solver families an experiment can declare, with their parameters.
public enum SolverKind: String, CaseIterable, Sendable, Codable {
    case forward
    case anderson

    public var summary: String {
        switch self {
        case .forward: return "forward (Picard) iteration z ← (1 − τ) z + τ f(z)"
        case .anderson: return "Anderson acceleration, memory m, relative regularisation λ, mixing β"
        }
    }

    public var parameters: [ParameterDefinition] {
        switch self {
        case .forward:
            return [.init("damping", .real(minimum: 0, maximum: 2, exclusiveMinimum: true, exclusiveMaximum: true),
                          default: .real(1), "τ; 1 is the plain step")]
        case .anderson:
            let defaults = AndersonAcceleration()
            return [
                .init("memory", .integer(minimum: 1), default: .integer(defaults.memory), "m, difference pairs kept"),
                .init("lambda", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                      default: .real(defaults.regularization), "λ, relative to the mean Gram eigenvalue"),
                .init("beta", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false),
                      default: .real(defaults.mixing), "β: < 1 damped, > 1 overprojected"),
                .init("delay", .integer(minimum: 0), default: .integer(defaults.delay), "plain steps before mixing"),
            ]
        }
    }

    /// The solver for one grid point; `values` are validated against ``parameters``.
    public func makeSolver(_ values: [String: ParameterValue]) -> any FixedPointSolver {
        switch self {
        case .forward:
            return ForwardIteration(damping: values["damping"]?.doubleValue ?? 1)
        case .anderson:
            let defaults = AndersonAcceleration()
            return AndersonAcceleration(memory: values["memory"]?.intValue ?? defaults.memory,
                                        regularization: values["lambda"]?.doubleValue ?? defaults.regularization,
                                        mixing: values["beta"]?.doubleValue ?? defaults.mixing,
                                        delay: values["delay"]?.intValue ?? defaults.delay)
        }
    }
}
