import Foundation

/// A way to compute dL/dθ and dL/dx through a fixed point z* = f(z*, x; θ) (docs/MATH.md,
/// "Gradients through the fixed point").
///
/// With c = ∂L/∂z* (one row per sample) and J = ∂f/∂z at z*, the exact gradient is
///
///     dL/dθ = Σᵢ yᵢᵀ ∂f(zᵢ*, xᵢ; θ)/∂θ,    dL/dxᵢ = yᵢᵀ ∂f(zᵢ*, xᵢ; θ)/∂xᵢ,    (I − Jᵀ) yᵢ = cᵢ
///
/// and every estimator is a way to get yᵢ exactly (``ImplicitGradient``) or approximately
/// (``PhantomGradient``, ``JacobianFreeGradient``, ``SHINEGradient``), each with its cost and
/// outcome in ``GradientStatistics``.
///
/// Like a ``FixedPointSolver``, an estimator is an immutable `Sendable` value of options; the
/// problem (cell, fixed point, upstream gradient) is passed to ``estimate(cell:solution:upstream:byproducts:)``.
/// It is generic over the cell, so its products run on the concrete type.
public protocol GradientEstimator: Sendable {
    /// The family: `implicit`, `phantom`, `neumann`, `jfb` or `shine`.
    var name: String { get }
    /// The family with its options, for tables and file names' display.
    var label: String { get }

    /// The gradient for the fixed points `solution` (B × d, row i is zᵢ*) of `cell` and the
    /// upstream gradient `upstream` (B × d, row i is ∂L/∂zᵢ*). `byproducts` are what the
    /// forward solve left that an estimator may reuse (SHINE: the inverse-Jacobian estimate).
    ///
    /// - Throws: ``UsageError`` when `solution`, `upstream` or a by-product does not fit the cell.
    func estimate<Cell: ParametricCell>(cell: Cell, solution: Matrix, upstream: Matrix,
                                        byproducts: SolverByproducts) throws(UsageError) -> GradientResult

    /// Throws when an option is out of range (initialisers validate; the options are `var`).
    func validate() throws(UsageError)
}

extension GradientEstimator {
    /// The gradient without forward by-products.
    public func estimate<Cell: ParametricCell>(cell: Cell, solution: Matrix, upstream: Matrix) throws(UsageError) -> GradientResult {
        try estimate(cell: cell, solution: solution, upstream: upstream, byproducts: SolverByproducts())
    }

    /// The gradient at the points of a forward solve, with its by-products.
    public func estimate<Cell: ParametricCell>(cell: Cell, forward: SolveResult, upstream: Matrix) throws(UsageError) -> GradientResult {
        try estimate(cell: cell, solution: forward.solution, upstream: upstream, byproducts: forward.byproducts)
    }
}

/// The products of a cell linearised at fixed points: J(zᵢ)ᵀ uᵢ and J(zᵢ) vᵢ for the whole batch,
/// with the images f(zᵢ) computed once and one workspace for every product. Counts the
/// products (each batched call is one product per sample). Internal to the estimators and
/// diagnostics; not thread-safe.
final class Linearization<Map: DifferentiableMap> {
    let map: Map
    let point: Matrix
    let image: Matrix
    private let workspace: Map.JacobianWorkspace
    private let all: [Int]
    private(set) var vectorJacobianProducts = 0
    private(set) var jacobianVectorProducts = 0

    /// Linearises at `point` (B × d), evaluating f there once (or taking `image` = f(point)).
    init(map: Map, point: Matrix, image: Matrix? = nil) throws(UsageError) {
        self.map = map
        self.point = point
        if let image { self.image = image } else { self.image = try map(point) }
        workspace = map.makeJacobianWorkspace(maxSamples: map.batchSize)
        all = Array(0..<map.batchSize)
    }

    /// out ← rows J(zᵢ)ᵀ uᵢ.
    func transposedProduct(_ u: Matrix, into out: inout Matrix) {
        product(u, into: &out, transposed: true)
        vectorJacobianProducts += 1
    }

    /// out ← rows J(zᵢ) vᵢ.
    func product(_ v: Matrix, into out: inout Matrix) {
        product(v, into: &out, transposed: false)
        jacobianVectorProducts += 1
    }

    private func product(_ v: Matrix, into out: inout Matrix, transposed: Bool) {
        precondition(v.rows == point.rows && v.columns == point.columns && out.rows == point.rows
                     && out.columns == point.columns, "Jacobian product shapes differ from the batch.")
        point.storage.withUnsafeBufferPointer { pz in
            image.storage.withUnsafeBufferPointer { pf in
                v.storage.withUnsafeBufferPointer { pv in
                    out.storage.withUnsafeMutableBufferPointer { po in
                        all.withUnsafeBufferPointer { rows in
                            if transposed {
                                map.vectorJacobianProduct(at: pz.baseAddress!, image: pf.baseAddress!,
                                                          covector: pv.baseAddress!, into: po.baseAddress!,
                                                          samples: rows, workspace: workspace)
                            } else {
                                map.jacobianVectorProduct(at: pz.baseAddress!, image: pf.baseAddress!,
                                                          vector: pv.baseAddress!, into: po.baseAddress!,
                                                          samples: rows, workspace: workspace)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Wall-clock seconds since `start` (from `DispatchTime.now().uptimeNanoseconds`).
@inline(__always)
func secondsSince(_ start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

/// Checks the shapes every estimator relies on, and that they hold finite values.
func checkGradientProblem<Cell: ParametricCell>(_ cell: Cell, _ solution: Matrix, _ upstream: Matrix,
                                                _ owner: String) throws(UsageError) {
    let b = cell.batchSize, d = cell.dimension
    try Check.shape(solution, (b, d), owner, "fixed points", "B × d of the cell, row i is zᵢ*")
    try Check.shape(upstream, (b, d), owner, "upstream gradient", "B × d of the cell, row i is ∂L/∂zᵢ*")
    guard solution.isFinite else { throw UsageError(owner, "fixed points", got: "a NaN or infinite entry", expected: "finite values") }
    guard upstream.isFinite else { throw UsageError(owner, "upstream gradient", got: "a NaN or infinite entry", expected: "finite values") }
}
