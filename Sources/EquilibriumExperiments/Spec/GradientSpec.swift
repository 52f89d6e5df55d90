import Equilibrium

/// Options of the `gradients` measurement (and of `deq grad`): which gradient estimators of the
/// catalog to run at the fixed point, with which k, λ and backward solvers.
public struct GradientSpec: Sendable, Codable, Equatable {
    /// The estimators' catalog names (``GradientEstimators``): `implicit` once per backward
    /// solver, `phantom` and `neumann` once per k × λ, `jfb`, `shine` once per refine count.
    public var estimators: [String] = GradientEstimators.entries.map(\.name)
    /// k values of the phantom and Neumann estimators.
    public var steps: [Int] = [1, 2, 5, 10, 20]
    /// λ values (damping) of the phantom and Neumann estimators.
    public var dampings: [Double] = [0.5, 0.8, 1.0]
    /// Backward solvers of the implicit estimator: catalog solver names or `lu`.
    public var backwardSolvers: [String] = ["anderson"]
    /// Relative residual tolerances of the iterative backward solves: `implicit` runs once per
    /// backward solver × tolerance, so that the exact gradient can be compared with the
    /// approximate ones at matched accuracy (a loose adjoint tolerance is also an estimator).
    public var backwardTolerances: [Double] = [1e-10]
    /// The first (default) backward tolerance; setting it replaces the list.
    public var backwardTolerance: Double {
        get { backwardTolerances.first ?? 1e-10 }
        set { backwardTolerances = [newValue] }
    }
    /// Every estimator runs this many times, interleaved (all configurations once, then again),
    /// and its backward time is the median: a shared machine's noise hits all alike.
    public var timingRuns: Int = 1
    public var backwardMaxIterations: Int = 1000
    /// Refinement steps of SHINE.
    public var shineRefine: [Int] = [0]
    /// SHINE falls back to the upstream gradient when its estimate is longer than this times it.
    public var shineFallbackRatio: Double = 1.8
    /// The reference gradient is the dense LU one when d ≤ this; above, the first iterative
    /// implicit estimator (Anderson when none is listed).
    public var denseLimit: Int = 1024
    /// The upstream gradient ∂L/∂z* ~ N(0, I) is seeded by this plus the cell's seed.
    public var upstreamSeed: UInt64 = 0

    public init() {}

    // Files written before the tolerance sweep and timing runs existed decode with defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GradientSpec()
        estimators = try c.decodeIfPresent([String].self, forKey: .estimators) ?? d.estimators
        steps = try c.decodeIfPresent([Int].self, forKey: .steps) ?? d.steps
        dampings = try c.decodeIfPresent([Double].self, forKey: .dampings) ?? d.dampings
        backwardSolvers = try c.decodeIfPresent([String].self, forKey: .backwardSolvers) ?? d.backwardSolvers
        backwardTolerances = try c.decodeIfPresent([Double].self, forKey: .backwardTolerances)
            ?? (try c.decodeIfPresent(Double.self, forKey: .backwardTolerance)).map { [$0] } ?? d.backwardTolerances
        timingRuns = try c.decodeIfPresent(Int.self, forKey: .timingRuns) ?? d.timingRuns
        backwardMaxIterations = try c.decodeIfPresent(Int.self, forKey: .backwardMaxIterations) ?? d.backwardMaxIterations
        shineRefine = try c.decodeIfPresent([Int].self, forKey: .shineRefine) ?? d.shineRefine
        shineFallbackRatio = try c.decodeIfPresent(Double.self, forKey: .shineFallbackRatio) ?? d.shineFallbackRatio
        denseLimit = try c.decodeIfPresent(Int.self, forKey: .denseLimit) ?? d.denseLimit
        upstreamSeed = try c.decodeIfPresent(UInt64.self, forKey: .upstreamSeed) ?? d.upstreamSeed
    }

    enum CodingKeys: String, CodingKey {
        case estimators, steps, dampings, backwardSolvers, backwardTolerances, backwardTolerance, timingRuns,
             backwardMaxIterations, shineRefine, shineFallbackRatio, denseLimit, upstreamSeed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(estimators, forKey: .estimators)
        try c.encode(steps, forKey: .steps)
        try c.encode(dampings, forKey: .dampings)
        try c.encode(backwardSolvers, forKey: .backwardSolvers)
        try c.encode(backwardTolerances, forKey: .backwardTolerances)
        try c.encode(timingRuns, forKey: .timingRuns)
        try c.encode(backwardMaxIterations, forKey: .backwardMaxIterations)
        try c.encode(shineRefine, forKey: .shineRefine)
        try c.encode(shineFallbackRatio, forKey: .shineFallbackRatio)
        try c.encode(denseLimit, forKey: .denseLimit)
        try c.encode(upstreamSeed, forKey: .upstreamSeed)
    }

    /// One configured estimator with the options that label it in records.
    public struct Configuration: Sendable {
        public var estimator: any GradientEstimator
        /// The catalog name.
        public var kind: String
        public var steps: Int?
        public var damping: Double?
        public var backwardSolver: String?
        public var refine: Int?
        /// The adjoint tolerance of an iterative `implicit` entry.
        public var backwardTolerance: Double?
        /// The label in records: the estimator's, with ` tol=…` when several tolerances run.
        public var label: String
    }

    /// The parameters of the implicit estimator with `solver` on the adjoint, at `tolerance`
    /// (default: the first backward tolerance).
    public func implicitParameters(solver: String, tolerance: Double? = nil) -> [String: ParameterValue] {
        ["backward-solver": .text(solver), "backward-tol": .real(tolerance ?? backwardTolerance), "backward-max-iter": .integer(backwardMaxIterations)]
    }

    /// Every configured estimator, in the order of ``estimators`` (implicit per backward solver,
    /// phantom and Neumann per k × λ, SHINE per refine count), made by `catalog`.
    public func configurations(catalog: Catalog = .standard) throws(UsageError) -> [Configuration] {
        var result: [Configuration] = []
        for kind in estimators {
            let entry = try catalog.estimator(named: kind)
            switch kind {
            case "implicit":
                for solver in backwardSolvers {
                    // LU has no tolerance: once.
                    for tolerance in solver == "lu" ? [backwardTolerance] : backwardTolerances {
                        let estimator = try entry.makeEstimator(implicitParameters(solver: solver, tolerance: tolerance), catalog: catalog)
                        let sweep = solver != "lu" && backwardTolerances.count > 1
                        result.append(.init(estimator: estimator, kind: kind, backwardSolver: solver,
                                            backwardTolerance: solver == "lu" ? nil : tolerance,
                                            label: estimator.label + (sweep ? " tol=\(formatCompact(tolerance))" : "")))
                    }
                }
            case "phantom", "neumann":
                for lambda in dampings {
                    for k in steps {
                        let estimator = try entry.makeEstimator(["k": .integer(k), "damping": .real(lambda)])
                        result.append(.init(estimator: estimator, kind: kind, steps: k, damping: lambda, label: estimator.label))
                    }
                }
            case "jfb":
                let estimator = try entry.makeEstimator()
                result.append(.init(estimator: estimator, kind: kind, steps: 1, damping: 1, label: estimator.label))
            case "shine":
                for refine in shineRefine {
                    let estimator = try entry.makeEstimator(["refine": .integer(refine), "fallback": .real(shineFallbackRatio)])
                    result.append(.init(estimator: estimator, kind: kind, refine: refine, label: estimator.label))
                }
            default:
                // An estimator added to the catalog by a program: its defaults.
                let estimator = try entry.makeEstimator(catalog: catalog)
                result.append(.init(estimator: estimator, kind: kind, label: estimator.label))
            }
        }
        return result
    }
}

/// Options of the `jacobian-diagnostics` measurement.
public struct JacobianDiagnosticsSpec: Sendable, Codable, Equatable {
    /// M, the Hutchinson probes.
    public var probes: Int = 32
    /// Products with Jᵀ of the power iteration (its budget).
    public var powerIterations: Int = 200
    /// The Krylov window of the power iteration's Ritz estimate.
    public var window: Int = 10
    /// Relative change between window estimates that stops the power iteration.
    public var powerTolerance: Double = 1e-6
    /// Exact values (dense J, LAPACK) when d ≤ this.
    public var exactLimit: Int = 512

    public init() {}

    public var powerOptions: JacobianDiagnostics.PowerIterationOptions {
        get throws(UsageError) {
            try .init(maxProducts: powerIterations, window: window, tolerance: powerTolerance)
        }
    }
}
