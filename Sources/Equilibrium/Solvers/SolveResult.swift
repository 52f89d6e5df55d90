import Foundation

/// Why a sample's solve stopped.
public enum SolveOutcome: String, Sendable, CaseIterable, Codable {
    case converged
    case maxIterationsReached
    case maxEvaluationsReached
    case diverged
    case nonFinite
    /// The solver could not make progress: a line search found no acceptable step, or the
    /// Newton/Broyden step vanished (a singular Jacobian of g = f − z along the way).
    case stagnated

    /// A human sentence for tables and logs, with what to change.
    public var explanation: String {
        switch self {
        case .converged:
            return "converged: the residual met the tolerance"
        case .maxIterationsReached:
            return "maximum iterations reached: raise the iteration limit, loosen the tolerance, or use a faster solver (Anderson, Broyden, Newton–Krylov)"
        case .maxEvaluationsReached:
            return "maximum f evaluations reached: raise the evaluation limit or loosen the tolerance"
        case .diverged:
            return "diverged: the residual grew past the divergence factor times its initial value; damp the iteration or check that the map contracts"
        case .nonFinite:
            return "non-finite: f returned NaN or infinity; the point returned is the last finite one with the lowest residual"
        case .stagnated:
            return "stagnated: no step decreased the residual (the Jacobian of f(z) − z is singular or ill-conditioned near this point); try another initialisation or another solver"
        }
    }
}

/// The residual history of one sample: one entry per iterate (per f evaluation for forward
/// and Anderson). Rejected line-search trials and finite-difference J·v probes have no entry of
/// their own but are counted in the `evaluations` column of the next entry.
public struct ResidualHistory: Sendable, Equatable {
    /// Solver iteration at which the evaluation happened.
    public var iterations: [Int] = []
    /// Cumulative f evaluations of the sample after this one (nfe).
    public var evaluations: [Int] = []
    /// Seconds since the solve started.
    public var seconds: [Double] = []
    /// ‖f(z) − z‖₂.
    public var absolute: [Double] = []
    /// ‖f(z) − z‖₂ / ‖f(z)‖₂.
    public var relative: [Double] = []

    public init() {}

    public var count: Int { absolute.count }

    mutating func reserve(_ n: Int) {
        iterations.reserveCapacity(n)
        evaluations.reserveCapacity(n)
        seconds.reserveCapacity(n)
        absolute.reserveCapacity(n)
        relative.reserveCapacity(n)
    }

    mutating func append(iteration: Int, evaluations nfe: Int, seconds t: Double, absolute a: Double, relative r: Double) {
        iterations.append(iteration)
        evaluations.append(nfe)
        seconds.append(t)
        absolute.append(a)
        relative.append(r)
    }
}

/// The statistics of one sample's solve.
public struct SampleReport: Sendable, Equatable {
    public var outcome: SolveOutcome
    /// Solver iterations (updates of z).
    public var iterations: Int
    /// f evaluations, every one counted (line-search trials and finite-difference probes too).
    public var evaluations: Int
    /// Analytic Jacobian–vector products.
    public var jacobianVectorProducts: Int = 0
    /// Analytic vector–Jacobian products.
    public var vectorJacobianProducts: Int = 0
    /// Inner Krylov iterations, for Newton–Krylov; `nil` for solvers without them.
    public var krylovIterations: Int? = nil
    /// ‖f(z) − z‖₂ at the returned point (its true residual, evaluated, not estimated).
    public var absoluteResidual: Double
    /// ‖f(z) − z‖₂ / ‖f(z)‖₂ at the returned point.
    public var relativeResidual: Double
    public var history: ResidualHistory

    public var converged: Bool { outcome == .converged }
}

/// What a solve returns: the points, one row per sample, and honest per-sample statistics.
public struct SolveResult: Sendable {
    public var solverName: String
    /// The returned points, B × d: per sample, the converged point, or the lowest-residual
    /// evaluated point when the sample did not converge.
    public var solution: Matrix
    public var samples: [SampleReport]
    public var criteria: StoppingCriteria
    public var wallSeconds: Double

    /// True when every sample converged.
    public var converged: Bool { samples.allSatisfy(\.converged) }
    /// The largest nfe over the samples.
    public var maxEvaluations: Int { samples.map(\.evaluations).max() ?? 0 }
    public var totalEvaluations: Int { samples.reduce(0) { $0 + $1.evaluations } }
}
