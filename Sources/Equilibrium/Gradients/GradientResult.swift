/// What a ``GradientEstimator`` returns: ∂L/∂θ for every named parameter, ∂L/∂x for every
/// sample, and honest statistics of the backward pass.
public struct GradientResult: Sendable {
    /// The estimator's family (`implicit`, `phantom`, `neumann`, `jfb`, `shine`).
    public var estimator: String
    /// The estimator with its options, e.g. `phantom k=5 λ=0.8` or `implicit anderson`.
    public var label: String
    /// ∂L/∂θ, with the names, shapes and order of the cell's ``ParametricCell/parameters``.
    public var parameters: [NamedArray]
    /// ∂L/∂xᵢ, one row per sample (B × p).
    public var input: Matrix
    /// The covectors y (B × d) combined with ∂f/∂θ at z* (dL/dθ = Σᵢ yᵢᵀ ∂f(zᵢ*)/∂θ): the
    /// adjoint solution for the implicit gradient, A_{k,λ}ᵀ c for the Neumann phantom gradient,
    /// the SHINE estimate. `nil` for the unrolled phantom gradient, which combines a different
    /// covector with ∂f/∂θ at each unrolled state.
    public var adjoint: Matrix?
    public var statistics: GradientStatistics

    public init(estimator: String, label: String, parameters: [NamedArray], input: Matrix,
                adjoint: Matrix?, statistics: GradientStatistics) {
        self.estimator = estimator
        self.label = label
        self.parameters = parameters
        self.input = input
        self.adjoint = adjoint
        self.statistics = statistics
    }

    /// False when a backward solve did not converge for some sample: the gradient is then the
    /// one at the solver's best iterate, not the exact one, and must be reported as such.
    public var converged: Bool { statistics.backward?.converged ?? true }

    /// The gradient with respect to one named parameter.
    public func parameter(_ name: String) -> NamedArray? {
        parameters.first { $0.name == name }
    }

    /// Every parameter gradient concatenated in order (for cosines and norms over θ).
    public var flattenedParameters: [Double] { parameters.flatMap(\.values) }
}

/// The cost and the outcome of one gradient estimate. Counts are per sample; for the products
/// and evaluations of an iterative backward solve, the largest over the samples (as nfe).
public struct GradientStatistics: Sendable, Equatable {
    /// Evaluations of f per sample: 1 for f(z*) (the Jacobian of a tanh cell is a function of
    /// f(z*)), k for the unrolled phantom gradient.
    public var evaluations: Int = 0
    /// Vector–Jacobian products uᵀ ∂f/∂z per sample, the largest over samples.
    public var vectorJacobianProducts: Int = 0
    /// Vector–Jacobian products over all samples.
    public var totalVectorJacobianProducts: Int = 0
    /// Jacobian–vector products ∂f/∂z v per sample (the dense LU reference forms J with d).
    public var jacobianVectorProducts: Int = 0
    /// Parameter-and-input products (``ParametricCell/parameterGradients(at:image:covectors:)``)
    /// per sample: 1, or k for the unrolled phantom gradient.
    public var parameterProducts: Int = 0
    /// The backward linear solve, for estimators that solve one.
    public var backward: BackwardSolveReport? = nil
    /// SHINE: the samples whose estimate was replaced by the upstream gradient.
    public var fallbackSamples: Int? = nil
    /// Why the estimate is not what it claims to be, if anything (e.g. SHINE without a Broyden
    /// inverse); `nil` when nothing is to be said.
    public var note: String? = nil
    /// Seconds of the whole estimate, f(z*) and the parameter products included.
    public var wallSeconds: Double = 0
    /// Doubles the backward pass keeps beyond its inputs and outputs: the linearisation point,
    /// the solver's state, the unrolled states (see each estimator for its formula).
    public var floatsKept: Int = 0

    public init() {}
}

/// The per-sample outcome of a backward (adjoint) solve.
public struct BackwardSolveReport: Sendable, Equatable {
    /// The backward solver's name (`anderson`, …, or `lu`).
    public var solver: String
    /// The stopping criteria of an iterative solve; `nil` for the dense LU.
    public var criteria: StoppingCriteria?
    public var outcomes: [SolveOutcome]
    public var iterations: [Int]
    /// ‖Jᵀy + c − y‖₂ at the returned y, per sample.
    public var absoluteResiduals: [Double]
    /// ‖Jᵀy + c − y‖₂ / ‖Jᵀy + c‖₂, per sample.
    public var relativeResiduals: [Double]

    public init(solver: String, criteria: StoppingCriteria?, outcomes: [SolveOutcome], iterations: [Int],
                absoluteResiduals: [Double], relativeResiduals: [Double]) {
        self.solver = solver
        self.criteria = criteria
        self.outcomes = outcomes
        self.iterations = iterations
        self.absoluteResiduals = absoluteResiduals
        self.relativeResiduals = relativeResiduals
    }

    public var converged: Bool { outcomes.allSatisfy { $0 == .converged } }
    public var convergedSamples: Int { outcomes.filter { $0 == .converged }.count }
    public var maxIterations: Int { iterations.max() ?? 0 }
    /// The first outcome that is not convergence (the worst news), else `.converged`.
    public var worstOutcome: SolveOutcome { outcomes.first { $0 != .converged } ?? .converged }
}

/// How close an estimated gradient is to a reference: cosine similarity and relative error,
/// over θ (all parameters concatenated), over x, and per parameter.
///
///     cos(g, g_ref) = gᵀ g_ref / (‖g‖ ‖g_ref‖)        rel(g, g_ref) = ‖g − g_ref‖ / ‖g_ref‖
///
/// The cosine is 1 when both vectors are zero and 0 when one is; the relative error is 0 when
/// both are zero and +∞ when only the reference is. NaN stays NaN.
public struct GradientComparison: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var cosine: Double
        public var relativeError: Double
    }

    public var parameterCosine: Double
    public var parameterRelativeError: Double
    public var inputCosine: Double
    public var inputRelativeError: Double
    /// One entry per parameter, in the cell's order.
    public var perParameter: [Entry]

    public init(_ estimate: GradientResult, reference: GradientResult) throws(UsageError) {
        guard estimate.parameters.map(\.name) == reference.parameters.map(\.name),
              estimate.parameters.map(\.shape) == reference.parameters.map(\.shape),
              estimate.input.rows == reference.input.rows, estimate.input.columns == reference.input.columns else {
            throw UsageError("GradientComparison", "estimate", got: "parameters \(estimate.parameters.map(\.name)) and an input gradient of \(estimate.input.rows) × \(estimate.input.columns)",
                             expected: "the reference's parameters \(reference.parameters.map(\.name)) with the same shapes and a \(reference.input.rows) × \(reference.input.columns) input gradient")
        }
        let theta = estimate.flattenedParameters, thetaRef = reference.flattenedParameters
        parameterCosine = Self.cosine(theta, thetaRef)
        parameterRelativeError = Self.relativeError(theta, thetaRef)
        inputCosine = Self.cosine(estimate.input.storage, reference.input.storage)
        inputRelativeError = Self.relativeError(estimate.input.storage, reference.input.storage)
        perParameter = zip(estimate.parameters, reference.parameters).map { mine, theirs in
            Entry(name: mine.name, cosine: Self.cosine(mine.values, theirs.values),
                  relativeError: Self.relativeError(mine.values, theirs.values))
        }
    }

    /// cos(a, b); see ``VectorComparison/cosine(_:_:)``.
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        VectorComparison.cosine(a, b)
    }

    /// ‖a − reference‖ / ‖reference‖; see ``VectorComparison/relativeError(_:_:)``.
    public static func relativeError(_ a: [Double], _ reference: [Double]) -> Double {
        VectorComparison.relativeError(a, reference)
    }
}
