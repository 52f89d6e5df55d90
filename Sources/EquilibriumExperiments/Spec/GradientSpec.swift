import Equilibrium

/// Options of the `gradients` measurement (and of `deq grad`): which gradient estimators to
/// run at the fixed point, with which k, λ and backward solvers, and against which reference.
public struct GradientSpec: Sendable, Codable, Equatable {
    /// The estimator families (REFERENCE §4).
    public enum Estimator: String, Sendable, Codable, CaseIterable {
        /// The implicit gradient, once per backward solver.
        case exact
        /// The unrolled phantom gradient, once per k × λ.
        case phantom
        /// The Neumann-series phantom gradient, once per k × λ.
        case neumann
        /// The Jacobian-free gradient (k = 1, λ = 1).
        case jfb
        /// SHINE from the forward Broyden's inverse, once per refine count.
        case shine
    }

    /// The solvers of the adjoint equation.
    public enum BackwardSolver: String, Sendable, Codable, CaseIterable {
        case forward, anderson, broyden
        case newtonKrylov = "newton-krylov"
        /// Dense LU per sample.
        case lu

        /// The estimator for this backward solver (iterative solvers with their defaults).
        public func estimator(criteria: StoppingCriteria) -> ImplicitGradient {
            switch self {
            case .forward: ImplicitGradient(solver: ForwardIteration(), criteria: criteria)
            case .anderson: ImplicitGradient(solver: AndersonAcceleration(), criteria: criteria)
            case .broyden: ImplicitGradient(solver: Broyden(), criteria: criteria)
            case .newtonKrylov: ImplicitGradient(solver: NewtonKrylov(), criteria: criteria)
            case .lu: .denseLU
            }
        }
    }

    public var estimators: [Estimator] = Estimator.allCases
    /// k values of the phantom and Neumann estimators.
    public var steps: [Int] = [1, 2, 5, 10, 20]
    /// λ values of the phantom and Neumann estimators.
    public var dampings: [Double] = [0.5, 0.8, 1.0]
    /// Backward solvers of the exact estimator.
    public var backwardSolvers: [BackwardSolver] = [.anderson]
    /// Relative residual tolerance of the iterative backward solves.
    public var backwardTolerance: Double = 1e-10
    public var backwardMaxIterations: Int = 1000
    /// Refinement steps of SHINE.
    public var shineRefine: [Int] = [0]
    /// SHINE falls back to the upstream gradient when its estimate is longer than this times it.
    public var shineFallbackRatio: Double = 1.8
    /// The reference gradient is the dense LU one when d ≤ this; above, the first iterative
    /// exact estimator (Anderson when none is listed).
    public var denseLimit: Int = 1024
    /// The upstream gradient ∂L/∂z* ~ N(0, I) is seeded by this plus the cell's seed.
    public var upstreamSeed: UInt64 = 0

    public init() {}

    public var backwardCriteria: StoppingCriteria {
        StoppingCriteria(tolerance: backwardTolerance, measure: .relative, maxIterations: backwardMaxIterations,
                         recordHistory: false)
    }

    /// One configured estimator with the options that label it in records.
    public struct Configuration: Sendable {
        public var estimator: any GradientEstimator
        public var kind: Estimator
        public var steps: Int?
        public var damping: Double?
        public var backwardSolver: BackwardSolver?
        public var refine: Int?
    }

    /// Every configured estimator, in the order of ``estimators`` (exact per backward solver,
    /// phantom and Neumann per k × λ, SHINE per refine count).
    public var configurations: [Configuration] {
        var result: [Configuration] = []
        for kind in estimators {
            switch kind {
            case .exact:
                for solver in backwardSolvers {
                    result.append(.init(estimator: solver.estimator(criteria: backwardCriteria), kind: kind, backwardSolver: solver))
                }
            case .phantom, .neumann:
                for lambda in dampings {
                    for k in steps {
                        result.append(.init(estimator: PhantomGradient(mode: kind == .phantom ? .unrolled : .neumann, steps: k, damping: lambda),
                                            kind: kind, steps: k, damping: lambda))
                    }
                }
            case .jfb:
                result.append(.init(estimator: JacobianFreeGradient(), kind: kind, steps: 1, damping: 1))
            case .shine:
                for refine in shineRefine {
                    result.append(.init(estimator: SHINEGradient(fallbackRatio: shineFallbackRatio, refineSteps: refine), kind: kind, refine: refine))
                }
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
        .init(maxProducts: powerIterations, window: window, tolerance: powerTolerance)
    }
}
