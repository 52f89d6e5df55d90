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
    /// Relative residual tolerance of the iterative backward solves.
    public var backwardTolerance: Double = 1e-10
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

    /// One configured estimator with the options that label it in records.
    public struct Configuration: Sendable {
        public var estimator: any GradientEstimator
        /// The catalog name.
        public var kind: String
        public var steps: Int?
        public var damping: Double?
        public var backwardSolver: String?
        public var refine: Int?
    }

    /// The parameters of the implicit estimator with `solver` on the adjoint.
    public func implicitParameters(solver: String) -> [String: ParameterValue] {
        ["backward-solver": .text(solver), "backward-tol": .real(backwardTolerance), "backward-max-iter": .integer(backwardMaxIterations)]
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
                    result.append(.init(estimator: try entry.makeEstimator(implicitParameters(solver: solver), catalog: catalog),
                                        kind: kind, backwardSolver: solver))
                }
            case "phantom", "neumann":
                for lambda in dampings {
                    for k in steps {
                        result.append(.init(estimator: try entry.makeEstimator(["k": .integer(k), "damping": .real(lambda)]),
                                            kind: kind, steps: k, damping: lambda))
                    }
                }
            case "jfb":
                result.append(.init(estimator: try entry.makeEstimator(), kind: kind, steps: 1, damping: 1))
            case "shine":
                for refine in shineRefine {
                    result.append(.init(estimator: try entry.makeEstimator(["refine": .integer(refine), "fallback": .real(shineFallbackRatio)]),
                                        kind: kind, refine: refine))
                }
            default:
                // An estimator added to the catalog by a program: its defaults.
                result.append(.init(estimator: try entry.makeEstimator(catalog: catalog), kind: kind))
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
