import Foundation

/// The feasible set C of an input optimisation, applied by Euclidean projection Proj_C.
public enum InputConstraint: Sendable, Equatable {
    /// C = ℝᵖ (no projection).
    case none
    /// C = {x : lower ≤ xⱼ ≤ upper for every j}; Proj clips each entry.
    case box(lower: Double, upper: Double)
    /// C = {x : ‖x − x₀ᵢ‖₂ ≤ ε} around each sample's own centre x₀ᵢ (row i of `center`, B × p);
    /// Proj(x) = x₀ + (x − x₀) · min(1, ε / ‖x − x₀‖).
    case ball(center: Matrix, radius: Double)
    /// C = {x : ‖x − x₀ᵢ‖_∞ ≤ ε} ∩ [lower, upper]ᵖ (an adversarial ℓ∞ ball inside the data's
    /// range). Both sets are boxes, so C is the box [max(lower, x₀ⱼ − ε), min(upper, x₀ⱼ + ε)]
    /// per entry and Proj clips each entry to it (x₀ inside [lower, upper] keeps C non-empty).
    case infinityBallInBox(center: Matrix, radius: Double, lower: Double, upper: Double)
}

/// The input optimisation problem of docs/MATH.md §6, one independent problem per sample i:
///
///     min over xᵢ ∈ C of  F(xᵢ) = ℓ(z*(xᵢ), xᵢ) + R(xᵢ),      z*(xᵢ) = f(z*(xᵢ), xᵢ)
///     ℓ(z, x) = ½ ‖z − tᵢ‖²        R(x) = (λ/2) ‖x‖²
///
/// or any other state loss ℓᵢ(z) (``InputLoss``: e.g. ``NegativeCrossEntropyLoss`` of a
/// classifier's readout, for an adversarial perturbation),
/// for the input x of any ``ParametricCell`` (its rows are the samples; ``ParametricCell/binding(input:)``
/// rebinds it to new inputs). The gradient through the fixed point is (§4, §6)
///
///     ∇F(x) = J_x(z*, x)ᵀ μ + ∂ℓ/∂x + ∇R(x),    μ = J_z(z*, x)ᵀ μ + ∂ℓ/∂z(z*)
///
/// with ∂ℓ/∂z from the loss (z − t for the squared distance), ∂ℓ/∂x = 0 and ∇R = λ x. ``NestedInputOptimizer`` and
/// ``JointInputOptimizer`` solve it; everything else (loss, penalty, projection) is shared here.
///
/// Reference: S. Gurumurthy, S. Bai, Z. Manchester, J. Z. Kolter, "Joint inference and input
/// optimization in equilibrium networks", NeurIPS 2021.
public struct InputOptimizationProblem<Cell: ParametricCell> {
    /// The cell; its ``ParametricCell/input`` rows are the starting inputs x⁰ (projected onto C).
    public let cell: Cell
    /// The state loss ℓᵢ(z).
    public let loss: any InputLoss
    /// The targets tᵢ (B × d) when the loss is ``SquaredDistanceLoss``, nil otherwise.
    public var target: Matrix? { (loss as? SquaredDistanceLoss)?.target }
    /// λ ≥ 0 of R(x) = (λ/2)‖x‖².
    public let penalty: Double
    public let constraint: InputConstraint

    /// d, p, B.
    public var stateDimension: Int { cell.dimension }
    public var inputDimension: Int { cell.input.columns }
    public var batchSize: Int { cell.batchSize }

    /// - Throws: ``UsageError`` when the target is not B × d or not finite, λ is negative or not
    ///   finite, a box has lower ≥ upper or a non-finite bound, a ball's centre is not B × p or
    ///   not finite, or its radius is not positive and finite.
    public init(cell: Cell, target: Matrix, penalty: Double = 0, constraint: InputConstraint = .none) throws(UsageError) {
        try Check.shape(target, (cell.batchSize, cell.dimension), "InputOptimizationProblem", "target", "B × d of the cell, one target per sample")
        try self.init(cell: cell, loss: SquaredDistanceLoss(target: target), penalty: penalty, constraint: constraint)
    }

    /// The problem with any state loss.
    /// - Throws: ``UsageError`` as the target initialiser, and when the loss is not for B
    ///   samples of d-wide states.
    public init(cell: Cell, loss: any InputLoss, penalty: Double = 0, constraint: InputConstraint = .none) throws(UsageError) {
        let owner = "InputOptimizationProblem"
        guard loss.batchSize == cell.batchSize, loss.stateDimension == cell.dimension else {
            throw UsageError(owner, "loss", got: "\(loss.batchSize) samples × \(loss.stateDimension)",
                             expected: "the cell's \(cell.batchSize) samples × d = \(cell.dimension)")
        }
        try Check.inRange(penalty, owner, "penalty", "λ of the L2 penalty (λ/2)‖x‖²", above: 0)
        switch constraint {
        case .none: break
        case let .box(lower, upper):
            guard lower.isFinite, upper.isFinite, lower < upper else {
                throw UsageError(owner, "box", got: "[\(lower), \(upper)]", expected: "finite bounds with lower < upper")
            }
        case let .ball(center, radius):
            try Check.shape(center, (cell.batchSize, cell.input.columns), owner, "ball centre x₀", "B × p, one centre per sample")
            try Check.finite(center.storage, owner, "ball centre x₀")
            try Check.inRange(radius, owner, "ball radius ε", "the radius of the ε-ball around x₀", above: 0, openBelow: true)
        case let .infinityBallInBox(center, radius, lower, upper):
            try Check.shape(center, (cell.batchSize, cell.input.columns), owner, "ball centre x₀", "B × p, one centre per sample")
            try Check.finite(center.storage, owner, "ball centre x₀")
            try Check.inRange(radius, owner, "ball radius ε", "the radius of the ℓ∞ ball around x₀", above: 0, openBelow: true)
            guard lower.isFinite, upper.isFinite, lower < upper else {
                throw UsageError(owner, "box", got: "[\(lower), \(upper)]", expected: "finite bounds with lower < upper")
            }
            if let bad = center.storage.firstIndex(where: { $0 < lower || $0 > upper }) {
                throw UsageError(owner, "ball centre x₀", got: "\(center.storage[bad]) at flat index \(bad)",
                                 expected: "a centre inside the box [\(lower), \(upper)]")
            }
        }
        self.cell = cell
        self.loss = loss
        self.penalty = penalty
        self.constraint = constraint
    }

    /// Projects row `values` (length p) of sample `sample` onto C, in place.
    public func project(_ values: UnsafeMutablePointer<Double>, sample: Int) {
        let p = inputDimension
        switch constraint {
        case .none: return
        case let .box(lower, upper):
            for j in 0..<p { values[j] = min(upper, max(lower, values[j])) }
        case let .ball(center, radius):
            var norm2 = 0.0
            center.storage.withUnsafeBufferPointer { c in
                let x0 = c.baseAddress! + sample * p
                for j in 0..<p { norm2 += (values[j] - x0[j]) * (values[j] - x0[j]) }
                let norm = norm2.squareRoot()
                guard norm > radius else { return }
                let scale = radius / norm
                for j in 0..<p { values[j] = x0[j] + (values[j] - x0[j]) * scale }
            }
        case let .infinityBallInBox(center, radius, lower, upper):
            center.storage.withUnsafeBufferPointer { c in
                let x0 = c.baseAddress! + sample * p
                for j in 0..<p { values[j] = min(min(upper, x0[j] + radius), max(max(lower, x0[j] - radius), values[j])) }
            }
        }
    }

    /// Every row of `x` (B × p) projected onto C.
    public func project(_ x: Matrix) -> Matrix {
        var out = x
        out.storage.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<x.rows { project(buffer.baseAddress! + i * inputDimension, sample: i) }
        }
        return out
    }

    /// The starting inputs: the cell's inputs projected onto C.
    public var initialInput: Matrix { project(cell.input) }

    /// ℓᵢ(zᵣ) + R(xᵣ) for every row r of the states z (n × d) and inputs x (n × p), sample i = samples[r].
    func objectives(states z: Matrix, inputs x: Matrix, samples: [Int]) throws(UsageError) -> [Double] {
        let p = inputDimension
        let losses = try loss.values(states: z, samples: samples)
        return losses.enumerated().map { r, l in
            var norm2 = 0.0
            for j in 0..<p { norm2 += x.storage[r * p + j] * x.storage[r * p + j] }
            return l + 0.5 * penalty * norm2
        }
    }

    /// ℓ(zᵢ, xᵢ) + R(xᵢ) for every sample of the states z (B × d) and inputs x (B × p).
    public func objectives(states z: Matrix, inputs x: Matrix) throws(UsageError) -> [Double] {
        try Check.shape(z, (batchSize, stateDimension), "InputOptimizationProblem", "states z", "B × d")
        try Check.shape(x, (batchSize, inputDimension), "InputOptimizationProblem", "inputs x", "B × p")
        return try objectives(states: z, inputs: x, samples: Array(0..<batchSize))
    }

    /// The true objective F(xᵢ) of every sample: z*(x) re-solved with `solver` under `criteria`
    /// (not counted in any optimiser's budget); also returns that forward solve.
    public func objective(at x: Matrix, solver: any FixedPointSolver,
                          criteria: StoppingCriteria) throws(UsageError) -> (values: [Double], forward: SolveResult) {
        let bound = try cell.binding(input: x)
        let forward = try solver.solve(bound, from: Matrix(rows: batchSize, columns: stateDimension), criteria: criteria)
        return (try objectives(states: forward.solution, inputs: x), forward)
    }

    /// ∂ℓ/∂z of every sample (z − t for the squared distance), B × d.
    public func lossGradient(states z: Matrix) throws(UsageError) -> Matrix {
        try Check.shape(z, (batchSize, stateDimension), "InputOptimizationProblem", "states z", "B × d")
        return try loss.gradients(states: z, samples: Array(0..<batchSize))
    }

    /// The projected-gradient step length ‖x − Proj(x − α g)‖ / α of each sample: ‖g‖ without a
    /// constraint, 0 exactly at a stationary point of F on C (for any α > 0).
    public func projectedGradientNorms(inputs x: Matrix, gradient g: Matrix, step alpha: Double) -> [Double] {
        let p = inputDimension
        var moved = x
        for k in 0..<moved.storage.count { moved.storage[k] -= alpha * g.storage[k] }
        moved = project(moved)
        return (0..<batchSize).map { i in
            var s = 0.0
            for j in 0..<p { let e = moved[i, j] - x[i, j]; s += e * e }
            return s.squareRoot() / alpha
        }
    }
}

/// One row of an input optimiser's trace: after an outer step (nested) or an iteration of the
/// augmented solve (joint). Counts are cumulative, summed over the samples.
public struct InputOptimizationTraceEntry: Sendable, Equatable {
    /// The outer step (nested) or the augmented solver's iteration (joint).
    public var step: Int
    /// Evaluations of f so far, summed over the samples.
    public var cellEvaluations: Int
    /// Vector–Jacobian products uᵀ∂f/∂z and input products uᵀ∂f/∂x so far, summed over samples.
    public var vectorJacobianProducts: Int
    public var seconds: Double
    /// Σᵢ of the objective at the iterate: for nested, ℓ(z*(x), x) + R(x) at the forward solve's
    /// point; for joint, ℓ(z, x) + R(x) at the current augmented state (z not yet z*(x)).
    public var objective: Double
    /// Nested: the largest projected-gradient norm over the samples. Joint: the largest
    /// absolute augmented residual ‖F(s) − s‖ over the samples still active.
    public var residual: Double
    /// The current inputs, B × p (kept only when asked, for off-budget true objectives).
    public var inputs: Matrix?
}

/// What an input optimiser returns.
public struct InputOptimizationResult: Sendable {
    /// `nested` or `joint`.
    public var method: String
    /// The optimised inputs x, B × p.
    public var inputs: Matrix
    /// The states z at x (nested: the last forward solve; joint: the augmented solution's z).
    public var states: Matrix
    /// The adjoints μ (B × d).
    public var adjoints: Matrix
    /// ℓ(z, x) + R(x) of each sample at the returned (z, x).
    public var objectives: [Double]
    /// Whether the stopping rule was met for every sample (nested: the projected-gradient
    /// tolerance, with every inner solve converged; joint: the augmented solve converged).
    public var converged: Bool
    /// Why it ended, in words.
    public var note: String
    /// Evaluations of f summed over the samples (each augmented evaluation counts 1).
    public var cellEvaluations: Int
    /// z-VJPs plus input VJPs summed over the samples.
    public var vectorJacobianProducts: Int
    public var wallSeconds: Double
    /// Outer steps (nested) or augmented iterations (joint).
    public var steps: Int
    public var trace: [InputOptimizationTraceEntry]

    public var totalObjective: Double { objectives.reduce(0, +) }
}
