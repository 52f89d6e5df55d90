import Foundation

/// The outer optimiser of ``NestedInputOptimizer``: a projected first-order step on x.
public enum InputStepRule: Sendable, Equatable {
    /// x ← Proj(x − α g).
    case gradientDescent
    /// Adam (Kingma & Ba 2015) with bias correction, then the projection:
    /// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², x ← Proj(x − α m̂ / (√v̂ + ε)).
    case adam(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8)
}

/// The nested method for ``InputOptimizationProblem`` (docs/MATH.md §6): every outer step k is
///
///     z_k = z*(x_k)                   a forward solve to the forward criteria
///     μ_k = J_zᵀ μ_k + (z_k − t)       the exact adjoint, solved on the ``AdjointMap``
///     g_k = J_xᵀ μ_k + λ x_k           one input VJP (``ParametricCell/parameterGradients(at:image:covectors:)``)
///     x_{k+1} = Proj(x_k − α g_k)      (or the Adam step)
///
/// until the projected-gradient norm ‖x − Proj(x − α g)‖/α ≤ ``gradientTolerance`` for every
/// sample, or ``maxSteps``. With ``warmStart`` the forward solve starts from z_{k−1} and the
/// adjoint solve from μ_{k−1} (the fair baseline; from zero otherwise).
///
/// Cost per outer step and sample: the forward solve's nfe + 1 evaluation for f(z*) (the tanh
/// cell's Jacobian is a function of it), the adjoint solve's nfe VJPs + 1 input VJP.
public struct NestedInputOptimizer: Sendable {
    public var forwardSolver: any FixedPointSolver
    public var forwardCriteria: StoppingCriteria
    public var adjointSolver: any FixedPointSolver
    public var adjointCriteria: StoppingCriteria
    /// α > 0.
    public var stepSize: Double
    public var rule: InputStepRule
    public var maxSteps: Int
    /// The projected-gradient norm at which a sample is stationary (absolute), > 0.
    public var gradientTolerance: Double
    public var warmStart: Bool

    public init(forwardSolver: any FixedPointSolver = AndersonAcceleration(),
                forwardCriteria: StoppingCriteria = StoppingCriteria(),
                adjointSolver: any FixedPointSolver = AndersonAcceleration(),
                adjointCriteria: StoppingCriteria = StoppingCriteria(),
                stepSize: Double, rule: InputStepRule = .gradientDescent, maxSteps: Int = 1000,
                gradientTolerance: Double = 1e-6, warmStart: Bool = true) throws(UsageError) {
        self.forwardSolver = forwardSolver
        self.forwardCriteria = forwardCriteria
        self.adjointSolver = adjointSolver
        self.adjointCriteria = adjointCriteria
        self.stepSize = stepSize
        self.rule = rule
        self.maxSteps = maxSteps
        self.gradientTolerance = gradientTolerance
        self.warmStart = warmStart
        try validate()
    }

    public func validate() throws(UsageError) {
        let owner = "NestedInputOptimizer"
        try forwardSolver.validate()
        try forwardCriteria.validate()
        try adjointSolver.validate()
        try adjointCriteria.validate()
        try Check.inRange(stepSize, owner, "stepSize", "α of the outer step", above: 0, openBelow: true)
        try Check.atLeast(maxSteps, 1, owner, "maxSteps", "outer steps")
        try Check.inRange(gradientTolerance, owner, "gradientTolerance", "projected-gradient norm of a stationary point",
                          above: 0, openBelow: true)
        if case let .adam(b1, b2, eps) = rule {
            try Check.inRange(b1, owner, "Adam β₁", "first-moment decay", above: 0, below: 1, openAbove: true)
            try Check.inRange(b2, owner, "Adam β₂", "second-moment decay", above: 0, below: 1, openAbove: true)
            try Check.inRange(eps, owner, "Adam ε", "denominator guard", above: 0, openBelow: true)
        }
    }

    /// Runs the nested method on `problem` from its ``InputOptimizationProblem/initialInput``.
    /// - Parameter keepInputs: keep every outer iterate in the trace (for off-budget objectives).
    public func optimize<Cell: ParametricCell>(_ problem: InputOptimizationProblem<Cell>,
                                               keepInputs: Bool = false) throws(UsageError) -> InputOptimizationResult {
        try validate()
        let start = DispatchTime.now().uptimeNanoseconds
        let b = problem.batchSize, d = problem.stateDimension, p = problem.inputDimension
        var x = problem.initialInput
        var z = Matrix(rows: b, columns: d), mu = Matrix(rows: b, columns: d)
        var m = Matrix(rows: b, columns: p), v = Matrix(rows: b, columns: p)
        var evaluations = 0, vjps = 0
        var trace: [InputOptimizationTraceEntry] = []
        var objectives = [Double](repeating: .nan, count: b)
        var converged = false, note = "reached maxSteps = \(maxSteps) outer steps"
        var steps = 0
        for k in 1...maxSteps {
            steps = k
            let cell = try problem.cell.binding(input: x)
            let forward = try forwardSolver.solve(cell, from: warmStart ? z : Matrix(rows: b, columns: d), criteria: forwardCriteria)
            evaluations += forward.totalEvaluations + b
            z = forward.solution
            let image = try cell(z)
            let upstream = try problem.lossGradient(states: z)
            let adjointMap = try AdjointMap(cell: cell, point: z, image: image, upstream: upstream)
            let adjoint = try adjointSolver.solve(adjointMap, from: warmStart ? mu : Matrix(rows: b, columns: d), criteria: adjointCriteria)
            mu = adjoint.solution
            vjps += adjoint.samples.reduce(0) { $0 + $1.evaluations + $1.jacobianVectorProducts } + b
            var (_, g) = try cell.parameterGradients(at: z, image: image, covectors: mu)
            for k2 in 0..<g.storage.count { g.storage[k2] += problem.penalty * x.storage[k2] }
            objectives = try problem.objectives(states: z, inputs: x)
            let gradientNorms = problem.projectedGradientNorms(inputs: x, gradient: g, step: stepSize)
            let worst = gradientNorms.max() ?? 0
            trace.append(InputOptimizationTraceEntry(step: k, cellEvaluations: evaluations, vectorJacobianProducts: vjps,
                                                     seconds: secondsSince(start), objective: objectives.reduce(0, +),
                                                     residual: worst, inputs: keepInputs ? x : nil))
            guard worst.isFinite, objectives.allSatisfy(\.isFinite) else {
                note = "non-finite objective or gradient at outer step \(k)"
                break
            }
            let innerConverged = forward.converged && adjoint.converged
            if worst <= gradientTolerance && innerConverged {
                converged = true
                note = "projected-gradient norm ≤ \(gradientTolerance) after \(k) outer steps"
                break
            }
            if k == maxSteps { break }
            switch rule {
            case .gradientDescent:
                for j in 0..<x.storage.count { x.storage[j] -= stepSize * g.storage[j] }
            case let .adam(b1, b2, eps):
                let c1 = 1 - pow(b1, Double(k)), c2 = 1 - pow(b2, Double(k))
                for j in 0..<x.storage.count {
                    m.storage[j] = b1 * m.storage[j] + (1 - b1) * g.storage[j]
                    v.storage[j] = b2 * v.storage[j] + (1 - b2) * g.storage[j] * g.storage[j]
                    x.storage[j] -= stepSize * (m.storage[j] / c1) / ((v.storage[j] / c2).squareRoot() + eps)
                }
            }
            x = problem.project(x)
        }
        return InputOptimizationResult(method: "nested", inputs: x, states: z, adjoints: mu, objectives: objectives,
                                       converged: converged, note: note, cellEvaluations: evaluations,
                                       vectorJacobianProducts: vjps, wallSeconds: secondsSince(start),
                                       steps: steps, trace: trace)
    }
}
