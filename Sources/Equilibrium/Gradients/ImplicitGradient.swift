import Foundation

/// The exact gradient through the fixed point by the implicit function theorem (docs/MATH.md):
///
///     y = J(z*)ᵀ y + c      i.e.  (I − J(z*)ᵀ) y = c = ∂L/∂z*
///     dL/dθ = Σᵢ yᵢᵀ ∂f(zᵢ*)/∂θ,   dL/dxᵢ = yᵢᵀ ∂f(zᵢ*)/∂xᵢ
///
/// The adjoint equation is solved by
/// - ``Backward/solver(_:_:)``: any ``FixedPointSolver`` on the ``AdjointMap`` with its own
///   stopping criteria, from y₀ = 0 (TorchDEQ's choice; the first evaluation gives y = c, the
///   Jacobian-free gradient). Only vector–Jacobian products are needed, no activations are
///   stored: memory O(1) in the depth of the equivalent network. A sample whose backward solve
///   does not converge keeps its best iterate and is reported in
///   ``GradientStatistics/backward`` (``GradientResult/converged`` is false), never as exact.
/// - ``Backward/denseLU``: the reference for small d: J(zᵢ*) formed by d Jacobian–vector
///   products, then one LU solve (`dgesv`) per sample, O(B d³). A singular I − Jᵀ is reported
///   as ``SolveOutcome/stagnated`` with NaN in that sample's adjoint.
///
/// Default backward solve: Anderson (m = 5) to a relative residual of 1e-10, at most 1000
/// iterations: the adjoint is a linear problem with the contraction of the forward one, and a
/// tolerance tighter than the forward default keeps the "exact" gradient exact to about the
/// forward solve's accuracy.
///
/// **Floats kept** (``GradientStatistics/floatsKept``): for an iterative solve 3Bd (z*, f(z*),
/// c in the adjoint map) plus the backward solve's measured workspace
/// (``SolveResult/workspaceBytes``); for the dense LU B d² + 2Bd.
///
/// References: S. Bai, J. Z. Kolter, V. Koltun, "Deep Equilibrium Models", NeurIPS 2019.
/// Z. Geng et al., "On Training Implicit Models", NeurIPS 2021 (the exact gradient as baseline).
public struct ImplicitGradient: GradientEstimator {
    /// How the adjoint equation is solved.
    public enum Backward: Sendable {
        /// A fixed-point solver on the ``AdjointMap``, with its own stopping criteria.
        case solver(any FixedPointSolver, StoppingCriteria)
        /// Dense LU of I − Jᵀ per sample (the reference for small d).
        case denseLU
    }

    /// The default backward stopping criteria: relative residual 1e-10, 1000 iterations, no
    /// history.
    public static let defaultCriteria: StoppingCriteria = {
        var criteria = StoppingCriteria()
        criteria.tolerance = 1e-10
        criteria.recordHistory = false
        return criteria
    }()

    public var backward: Backward

    /// Anderson (m = 5) on the adjoint map under ``defaultCriteria``.
    public init() {
        backward = .solver(AndersonAcceleration(), ImplicitGradient.defaultCriteria)
    }

    public init(backward: Backward) throws(UsageError) {
        self.backward = backward
        try validate()
    }

    /// The exact gradient with `solver` on the adjoint map under `criteria`.
    public init(solver: any FixedPointSolver, criteria: StoppingCriteria = ImplicitGradient.defaultCriteria) throws(UsageError) {
        backward = .solver(solver, criteria)
        try validate()
    }

    public func validate() throws(UsageError) {
        if case let .solver(solver, criteria) = backward {
            try solver.validate()
            try criteria.validate()
        }
    }

    /// The dense-LU reference.
    public static var denseLU: ImplicitGradient {
        var gradient = ImplicitGradient()
        gradient.backward = .denseLU
        return gradient
    }

    public var name: String { "implicit" }

    /// The backward solver's name (`lu` for the dense reference).
    public var backwardSolverName: String {
        switch backward {
        case let .solver(solver, _): solver.name
        case .denseLU: "lu"
        }
    }

    public var label: String { "implicit \(backwardSolverName)" }

    public func estimate<Cell: ParametricCell>(cell: Cell, solution: Matrix, upstream: Matrix,
                                               byproducts: SolverByproducts) throws(UsageError) -> GradientResult {
        try checkGradientProblem(cell, solution, upstream, "ImplicitGradient")
        let start = DispatchTime.now().uptimeNanoseconds
        let b = cell.batchSize, d = cell.dimension
        let image = try cell(solution)
        var statistics = GradientStatistics()
        statistics.evaluations = 1
        let adjoint: Matrix
        switch backward {
        case let .solver(solver, criteria):
            let map = try AdjointMap(cell: cell, point: solution, image: image, upstream: upstream)
            let result = try solver.solve(map, from: Matrix(rows: b, columns: d), criteria: criteria)
            adjoint = result.solution
            // Each evaluation of h and each J_h·v is one VJP of the cell; J_hᵀ·u is one JVP.
            let vjps = result.samples.map { $0.evaluations + $0.jacobianVectorProducts }
            statistics.vectorJacobianProducts = vjps.max() ?? 0
            statistics.totalVectorJacobianProducts = vjps.reduce(0, +)
            statistics.jacobianVectorProducts = result.samples.map(\.vectorJacobianProducts).max() ?? 0
            statistics.backward = BackwardSolveReport(
                solver: solver.name, criteria: criteria, outcomes: result.samples.map(\.outcome),
                iterations: result.samples.map(\.iterations),
                absoluteResiduals: result.samples.map(\.absoluteResidual),
                relativeResiduals: result.samples.map(\.relativeResidual))
            statistics.floatsKept = 3 * b * d + result.workspaceBytes / MemoryLayout<Double>.stride
        case .denseLU:
            let (y, report) = try Self.solveDense(cell: cell, solution: solution, image: image, upstream: upstream)
            adjoint = y
            statistics.jacobianVectorProducts = d
            statistics.vectorJacobianProducts = 1    // the residual check
            statistics.totalVectorJacobianProducts = b
            statistics.backward = report
            statistics.floatsKept = b * d * d + 2 * b * d
        }
        let (parameters, input) = try cell.parameterGradients(at: solution, image: image, covectors: adjoint)
        statistics.parameterProducts = 1
        statistics.wallSeconds = secondsSince(start)
        return GradientResult(estimator: name, label: label, parameters: parameters, input: input,
                              adjoint: adjoint, statistics: statistics)
    }

    /// (I − J(zᵢ)ᵀ) yᵢ = cᵢ by LU for every sample, with the true residual of each solution.
    static func solveDense<Cell: DifferentiableMap>(cell: Cell, solution: Matrix, image: Matrix,
                                                    upstream: Matrix) throws(UsageError) -> (Matrix, BackwardSolveReport) {
        let b = cell.batchSize, d = cell.dimension
        let jacobians = try cell.denseJacobians(at: solution)
        var y = Matrix(rows: b, columns: d)
        var outcomes = [SolveOutcome](repeating: .converged, count: b)
        for i in 0..<b {
            var system = Matrix.identity(d)
            let j = jacobians[i]
            for r in 0..<d { for c in 0..<d { system[r, c] -= j[c, r] } }
            do {
                let row = try LAPACK.solve(system, upstream.row(i))
                if row.allSatisfy(\.isFinite) {
                    y.setRow(i, to: row)
                } else {
                    y.setRow(i, to: Array(repeating: .nan, count: d))
                    outcomes[i] = .nonFinite
                }
            } catch {
                y.setRow(i, to: Array(repeating: .nan, count: d))
                outcomes[i] = .stagnated
            }
        }
        // The true residual h(y) − y = Jᵀy + c − y of the returned y.
        let linearization = try Linearization(map: cell, point: solution, image: image)
        var jty = Matrix(rows: b, columns: d)
        linearization.transposedProduct(y, into: &jty)
        var absolute = [Double](repeating: .nan, count: b), relative = [Double](repeating: .nan, count: b)
        for i in 0..<b {
            var residual = 0.0, imageNorm = 0.0
            for j in 0..<d {
                let h = jty[i, j] + upstream[i, j]
                residual += (h - y[i, j]) * (h - y[i, j])
                imageNorm += h * h
            }
            absolute[i] = residual.squareRoot()
            relative[i] = StoppingCriteria.relativeResidual(absolute: absolute[i], imageNorm: imageNorm.squareRoot())
        }
        let report = BackwardSolveReport(solver: "lu", criteria: nil, outcomes: outcomes,
                                         iterations: Array(repeating: 1, count: b),
                                         absoluteResiduals: absolute, relativeResiduals: relative)
        return (y, report)
    }
}
