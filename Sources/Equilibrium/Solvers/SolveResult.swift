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
    /// A ``SolveObserver`` stopped the solve before the sample met the tolerance.
    case interrupted

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
        case .interrupted:
            return "interrupted: the solve's observer stopped it before the residual met the tolerance; the point returned is the lowest-residual one seen"
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

    package mutating func reserve(_ n: Int) {
        iterations.reserveCapacity(n)
        evaluations.reserveCapacity(n)
        seconds.reserveCapacity(n)
        absolute.reserveCapacity(n)
        relative.reserveCapacity(n)
    }

    package mutating func append(iteration: Int, evaluations nfe: Int, seconds t: Double, absolute a: Double, relative r: Double) {
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

    public init(outcome: SolveOutcome, iterations: Int, evaluations: Int, jacobianVectorProducts: Int = 0,
                vectorJacobianProducts: Int = 0, krylovIterations: Int? = nil, absoluteResidual: Double,
                relativeResidual: Double, history: ResidualHistory = ResidualHistory()) {
        self.outcome = outcome
        self.iterations = iterations
        self.evaluations = evaluations
        self.jacobianVectorProducts = jacobianVectorProducts
        self.vectorJacobianProducts = vectorJacobianProducts
        self.krylovIterations = krylovIterations
        self.absoluteResidual = absoluteResidual
        self.relativeResidual = relativeResidual
        self.history = history
    }

    public var converged: Bool { outcome == .converged }
}

/// What a solver leaves behind besides the points, for the gradient estimators that reuse it.
public struct SolverByproducts: Sendable {
    /// Per-sample estimates H ≈ J_g⁻¹ of the inverse Jacobian of g = f − z at the returned
    /// points, when the solver builds one (``Broyden``); SHINE reuses it.
    public var inverseJacobian: (any InverseJacobianEstimate)?

    public init(inverseJacobian: (any InverseJacobianEstimate)? = nil) {
        self.inverseJacobian = inverseJacobian
    }
}

/// An estimate H ≈ J_g(zᵢ)⁻¹ per sample, g = f − z, applied to a batch one row per sample.
public protocol InverseJacobianEstimate: Sendable {
    /// B.
    var batchSize: Int { get }
    /// d.
    var dimension: Int { get }
    /// Rows Hᵢ xᵢ.
    func product(_ x: Matrix) throws(UsageError) -> Matrix
    /// Rows Hᵢᵀ xᵢ (the row vectors xᵢᵀ Hᵢ).
    func transposedProduct(_ x: Matrix) throws(UsageError) -> Matrix
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
    /// Bytes of per-solve state the solve allocated (the shared buffers of ``SolveContext``
    /// and the solver's own), measured from the allocations themselves.
    public var workspaceBytes: Int
    public var byproducts: SolverByproducts

    public init(solverName: String, solution: Matrix, samples: [SampleReport], criteria: StoppingCriteria,
                wallSeconds: Double, workspaceBytes: Int = 0, byproducts: SolverByproducts = SolverByproducts()) {
        self.solverName = solverName
        self.solution = solution
        self.samples = samples
        self.criteria = criteria
        self.wallSeconds = wallSeconds
        self.workspaceBytes = workspaceBytes
        self.byproducts = byproducts
    }

    /// True when every sample converged.
    public var converged: Bool { samples.allSatisfy(\.converged) }
    /// The largest nfe over the samples (the number of batched evaluations when every sample
    /// ran to the end); not to be confused with the cap ``StoppingCriteria/maxEvaluations``.
    public var mostEvaluations: Int { samples.map(\.evaluations).max() ?? 0 }
    public var totalEvaluations: Int { samples.reduce(0) { $0 + $1.evaluations } }
    /// The samples that converged.
    public var convergedCount: Int { samples.filter(\.converged).count }
}
