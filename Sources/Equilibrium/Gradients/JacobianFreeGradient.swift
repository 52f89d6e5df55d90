/// The Jacobian-free gradient (JFB): (I − J)⁻¹ replaced by the identity,
///
///     dL/dθ = cᵀ ∂f(z*)/∂θ,   c = ∂L/∂z*
///
/// i.e. the phantom gradient with k = 1, λ = 1, TorchDEQ's default backward. One
/// evaluation f(z*), no Jacobian product, one parameter product; it is a descent direction when
/// I − J is close enough to the identity (Fung et al. 2022), and its error grows with ρ(J).
///
/// Reference: S. W. Fung, H. Heaton, Q. Li, D. McKenzie, S. Osher, W. Yin, "JFB: Jacobian-Free
/// Backpropagation for Implicit Networks", AAAI 2022.
public struct JacobianFreeGradient: GradientEstimator {
    public init() {}

    public var name: String { "jfb" }
    public var label: String { "jfb" }

    public func validate() throws(UsageError) {}

    public func estimate<Cell: ParametricCell>(cell: Cell, solution: Matrix, upstream: Matrix,
                                               byproducts: SolverByproducts) throws(UsageError) -> GradientResult {
        var phantom = PhantomGradient()
        phantom.mode = .neumann
        phantom.steps = 1
        var result = try phantom.estimate(cell: cell, solution: solution, upstream: upstream, byproducts: byproducts)
        result.estimator = name
        result.label = label
        result.statistics.floatsKept = 2 * cell.batchSize * cell.dimension
        return result
    }
}
