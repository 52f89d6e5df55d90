import Foundation

/// The augmented map of joint inference and input optimisation (JIIO, docs/MATH.md §6): one
/// state s = (z, μ, x) ∈ ℝ^{d+d+p} per sample, stacked in one row, and
///
///     z ← f(z, x)
///     μ ← J_z(z, x)ᵀ μ + ∂ℓ/∂z(z, x)                       (from the problem's ``InputLoss``)
///     x ← Proj_C(x − α (J_x(z, x)ᵀ μ + ∂ℓ/∂x + ∇R(x)))       (∂ℓ/∂x = 0, ∇R = λ x)
///
/// all three from the current (z, μ, x). Being a ``FixedPointMap``, it is solved by any solver
/// of the library (forward iteration, Anderson, Broyden, …) with its stopping rule, per sample
/// and with compaction, unchanged.
///
/// **Its fixed points are the stationary points of the problem.** Let s = (z, μ, x) = T(s).
/// (i) z = f(z, x): z is the equilibrium z*(x). (ii) μ = J_zᵀ μ + ∂ℓ/∂z at z = z*(x): when
/// I − J_z is invertible (ρ(J_z) < 1 at z*, the condition under which z*(x) is differentiable
/// by the implicit function theorem), μ = (I − J_zᵀ)⁻¹ ∂ℓ/∂z is the adjoint, so
/// g := J_xᵀ μ + ∂ℓ/∂x + ∇R(x) = ∇F(x), the total gradient of F(x) = ℓ(z*(x), x) + R(x)
/// (dz*/dx = (I − J_z)⁻¹ J_x). (iii) x = Proj_C(x − α ∇F(x)) with α > 0 and C closed convex:
/// by the projection's characterisation, ⟨x − α∇F(x) − x, y − x⟩ ≤ 0 for all y ∈ C, i.e.
/// ⟨∇F(x), y − x⟩ ≥ 0 for all y ∈ C, −∇F(x) ∈ N_C(x): x is a (first-order KKT) stationary
/// point, ∇F(x) = 0 without a constraint. Conversely a stationary x with z = z*(x) and its
/// adjoint μ is a fixed point. The map's residual T(s) − s therefore measures, block by block,
/// the forward residual, the adjoint residual and α times the projected gradient.
///
/// **Cost.** Each evaluation of one row is one evaluation of f (binding the cell to the row's
/// input, then f), one z-VJP J_zᵀμ and one input product J_xᵀμ
/// (``ParametricCell/parameterGradients(at:image:covectors:)``, which also forms the unused
/// parameter products). The solver's nfe of this map is therefore the number of f evaluations,
/// and 2·nfe the number of VJPs.
///
/// The map records, per sample, the input and the objective ℓ(z, x) + R(x) of the last row it
/// evaluated (``lastInputs``, ``lastObjectives``) for traces. It is a reference type inside; do
/// not evaluate it from several threads at once (no solver does).
///
/// Reference: S. Gurumurthy, S. Bai, Z. Manchester, J. Z. Kolter, "Joint inference and input
/// optimization in equilibrium networks", NeurIPS 2021, §3.
public struct JointInputMap<Cell: ParametricCell>: FixedPointMap {
    public let problem: InputOptimizationProblem<Cell>
    /// α > 0 of the x update.
    public let stepSize: Double
    private let log: JointInputLog

    public var dimension: Int { 2 * problem.stateDimension + problem.inputDimension }
    public var batchSize: Int { problem.batchSize }

    /// - Throws: ``UsageError`` when α is not positive and finite.
    public init(problem: InputOptimizationProblem<Cell>, stepSize: Double) throws(UsageError) {
        try Check.inRange(stepSize, "JointInputMap", "stepSize", "α of the x update", above: 0, openBelow: true)
        self.problem = problem
        self.stepSize = stepSize
        log = JointInputLog(batchSize: problem.batchSize, inputDimension: problem.inputDimension)
    }

    /// The augmented start (z₀, μ₀, x₀) of every sample, B × (2d + p).
    public func stack(states z: Matrix, adjoints mu: Matrix, inputs x: Matrix) throws(UsageError) -> Matrix {
        let d = problem.stateDimension, p = problem.inputDimension, b = batchSize, n = dimension
        try Check.shape(z, (b, d), "JointInputMap", "states z", "B × d")
        try Check.shape(mu, (b, d), "JointInputMap", "adjoints μ", "B × d")
        try Check.shape(x, (b, p), "JointInputMap", "inputs x", "B × p")
        var s = Matrix(rows: b, columns: n)
        for i in 0..<b {
            for j in 0..<d { s.storage[i * n + j] = z[i, j]; s.storage[i * n + d + j] = mu[i, j] }
            for j in 0..<p { s.storage[i * n + 2 * d + j] = x[i, j] }
        }
        return s
    }

    /// The blocks (z, μ, x) of an augmented batch B × (2d + p).
    public func split(_ s: Matrix) throws(UsageError) -> (states: Matrix, adjoints: Matrix, inputs: Matrix) {
        let d = problem.stateDimension, p = problem.inputDimension, b = batchSize, n = dimension
        try Check.shape(s, (b, n), "JointInputMap", "augmented states", "B × (2d + p)")
        var z = Matrix(rows: b, columns: d), mu = Matrix(rows: b, columns: d), x = Matrix(rows: b, columns: p)
        for i in 0..<b {
            for j in 0..<d { z.storage[i * d + j] = s.storage[i * n + j]; mu.storage[i * d + j] = s.storage[i * n + d + j] }
            for j in 0..<p { x.storage[i * p + j] = s.storage[i * n + 2 * d + j] }
        }
        return (z, mu, x)
    }

    /// The input of the last evaluated row of every sample (B × p; the start for a sample not
    /// yet evaluated is zero).
    public var lastInputs: Matrix { log.inputs }
    /// ℓ(z, x) + R(x) at the last evaluated row of every sample (NaN before its first).
    public var lastObjectives: [Double] { log.objectives }
    /// Rows evaluated so far (f evaluations summed over the samples).
    public var evaluatedRows: Int { log.rows }

    public func evaluate(_ s: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        let n = samples.count
        guard n > 0 else { return }
        let d = problem.stateDimension, p = problem.inputDimension, width = dimension
        var x = Matrix(rows: n, columns: p), z = Matrix(rows: n, columns: d), mu = Matrix(rows: n, columns: d)
        for r in 0..<n {
            for j in 0..<d { z.storage[r * d + j] = s[r * width + j]; mu.storage[r * d + j] = s[r * width + d + j] }
            for j in 0..<p { x.storage[r * p + j] = s[r * width + 2 * d + j] }
        }
        log.rows += n
        let rows = Array(samples)
        let products: (fz: Matrix, jtmu: Matrix, gx: Matrix), lossGradient: Matrix, objectives: [Double]
        do {
            products = try Self.products(problem.cell, z: z, mu: mu, x: x)
            lossGradient = try problem.loss.gradients(states: z, samples: rows)
            objectives = try problem.objectives(states: z, inputs: x, samples: rows)
        } catch {
            // A non-finite input (a diverging iterate) cannot be bound: report NaN, which the
            // solver's loop classifies as a non-finite outcome.
            for r in 0..<n { for j in 0..<width { out[r * width + j] = .nan } }
            return
        }
        let alpha = stepSize, lambda = problem.penalty
        for (r, sample) in samples.enumerated() {
            let row = out + r * width
            for j in 0..<d {
                row[j] = products.fz.storage[r * d + j]
                row[d + j] = products.jtmu.storage[r * d + j] + lossGradient.storage[r * d + j]
            }
            for j in 0..<p {
                let xj = x.storage[r * p + j]
                row[2 * d + j] = xj - alpha * (products.gx.storage[r * p + j] + lambda * xj)
            }
            problem.project(row + 2 * d, sample: sample)
            log.objectives[sample] = objectives[r]
            for j in 0..<p { log.inputs.storage[sample * p + j] = x.storage[r * p + j] }
        }
    }

    /// f(z, x), J_zᵀμ and J_xᵀμ for n rows (the cell rebound to the n inputs).
    private static func products(_ cell: Cell, z: Matrix, mu: Matrix, x: Matrix) throws(UsageError) -> (fz: Matrix, jtmu: Matrix, gx: Matrix) {
        let bound = try cell.binding(input: x)
        let n = z.rows, d = z.columns
        let fz = try bound(z)
        var jtmu = Matrix(rows: n, columns: d)
        let workspace = bound.makeJacobianWorkspace(maxSamples: n)
        let rows = Array(0..<n)
        z.storage.withUnsafeBufferPointer { pz in
            fz.storage.withUnsafeBufferPointer { pf in
                mu.storage.withUnsafeBufferPointer { pm in
                    jtmu.storage.withUnsafeMutableBufferPointer { po in
                        rows.withUnsafeBufferPointer { pr in
                            bound.vectorJacobianProduct(at: pz.baseAddress!, image: pf.baseAddress!, covector: pm.baseAddress!,
                                                        into: po.baseAddress!, samples: pr, workspace: workspace)
                        }
                    }
                }
            }
        }
        let (_, gx) = try bound.parameterGradients(at: z, image: fz, covectors: mu)
        return (fz, jtmu, gx)
    }
}

/// The per-sample record of a ``JointInputMap``'s evaluations.
final class JointInputLog {
    var inputs: Matrix
    var objectives: [Double]
    var rows = 0

    init(batchSize: Int, inputDimension: Int) {
        inputs = Matrix(rows: batchSize, columns: inputDimension)
        objectives = Array(repeating: .nan, count: batchSize)
    }
}

/// The joint method (JIIO) for ``InputOptimizationProblem``: any ``FixedPointSolver`` on the
/// ``JointInputMap`` from s₀ = (0, 0, Proj(x⁰)) under its ``StoppingCriteria`` (on the augmented
/// residual). docs/MATH.md §6.
public struct JointInputOptimizer: Sendable {
    public var solver: any FixedPointSolver
    public var criteria: StoppingCriteria
    /// α > 0 of the x update.
    public var stepSize: Double

    public init(solver: any FixedPointSolver = AndersonAcceleration(), criteria: StoppingCriteria = StoppingCriteria(),
                stepSize: Double) throws(UsageError) {
        self.solver = solver
        self.criteria = criteria
        self.stepSize = stepSize
        try validate()
    }

    public func validate() throws(UsageError) {
        try solver.validate()
        try criteria.validate()
        try Check.inRange(stepSize, "JointInputOptimizer", "stepSize", "α of the x update", above: 0, openBelow: true)
    }

    /// Solves the augmented fixed point of `problem`.
    /// - Parameter keepInputs: keep each iteration's inputs in the trace (for off-budget objectives).
    public func optimize<Cell: ParametricCell>(_ problem: InputOptimizationProblem<Cell>,
                                               keepInputs: Bool = false) throws(UsageError) -> InputOptimizationResult {
        try validate()
        let b = problem.batchSize, d = problem.stateDimension
        let map = try JointInputMap(problem: problem, stepSize: stepSize)
        let start = try map.stack(states: Matrix(rows: b, columns: d), adjoints: Matrix(rows: b, columns: d),
                                  inputs: problem.initialInput)
        let clock = DispatchTime.now().uptimeNanoseconds
        let recorder = TraceRecorder()
        let observer = SolveObserver { progress in
            let evaluations = progress.evaluations.reduce(0, +)
            let residual = progress.active.map { progress.absoluteResiduals[$0] }.max() ?? 0
            recorder.entries.append(InputOptimizationTraceEntry(
                step: progress.iteration, cellEvaluations: evaluations, vectorJacobianProducts: 2 * evaluations,
                seconds: progress.elapsedSeconds, objective: map.lastObjectives.reduce(0, +), residual: residual,
                inputs: keepInputs ? map.lastInputs : nil))
            return .continue
        }
        let result = try solver.solve(map, from: start, criteria: criteria, observer: observer)
        let wall = secondsSince(clock)
        var (z, mu, x) = try map.split(result.solution)
        // A solver's iterate is not always an image of T (Anderson's is an affine combination of
        // images), so its x-block may lie outside C: return Proj_C(x), the feasible input (equal
        // to x at a fixed point). The states and objectives below are then those at (z, Proj_C(x)).
        x = problem.project(x)
        let objectives = try problem.objectives(states: z, inputs: x)
        let failed = result.samples.filter { !$0.converged }
        let note = failed.isEmpty
            ? "augmented solve converged for all \(b) samples"
            : "augmented solve did not converge for \(failed.count) of \(b) samples (\(Set(failed.map(\.outcome.rawValue)).sorted().joined(separator: ", ")))"
        return InputOptimizationResult(method: "joint", inputs: x, states: z, adjoints: mu, objectives: objectives,
                                       converged: result.converged, note: note, cellEvaluations: result.totalEvaluations,
                                       vectorJacobianProducts: 2 * result.totalEvaluations, wallSeconds: wall,
                                       steps: result.samples.map(\.iterations).max() ?? 0, trace: recorder.entries)
    }
}

final class TraceRecorder {
    var entries: [InputOptimizationTraceEntry] = []
}
