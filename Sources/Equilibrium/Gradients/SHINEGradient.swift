import Foundation

/// SHINE (Ramzi et al. 2022): the adjoint from the forward Broyden's inverse estimate, with no
/// backward solve.
///
/// Broyden keeps H ≈ J_g⁻¹ for g = f − z, so J_g = J − I and (I − J)⁻ᵀ = −J_g⁻ᵀ ≈ −Hᵀ:
///
///     yᵢ = −Hᵢᵀ cᵢ               (the row vector −cᵢᵀ Hᵢ)
///     yᵢ ← cᵢ   when ‖yᵢ‖ > r ‖cᵢ‖ or yᵢ is not finite     (fallback, r = 1.8)
///     yᵢ ← J(zᵢ*)ᵀ yᵢ + cᵢ   repeated `refineSteps` times (optional refinement)
///     dL/dθ = Σᵢ yᵢᵀ ∂f(zᵢ*)/∂θ
///
/// The fallback is the paper's safeguard: an H that is a poor inverse can blow the estimate up,
/// and the plain upstream gradient (the Jacobian-free one) is then the safer direction. r = 1.8
/// is the paper's threshold. Refinement steps are forward steps on the adjoint map from the
/// estimate (one VJP each), which converge to the exact adjoint when ρ(J) < 1.
///
/// Without an inverse estimate in the by-products (the forward solver was not Broyden), every
/// sample falls back to c and ``GradientStatistics/note`` says so. ``GradientStatistics/fallbackSamples``
/// counts the samples that fell back. Cost: O(L d) per sample for −Hᵀc, one evaluation f(z*),
/// `refineSteps` VJPs, one parameter product; keeps the forward's 2 L B d doubles of H plus
/// 3Bd.
///
/// Reference: Z. Ramzi, F. Mannel, S. Bai, J.-L. Starck, P. Ciuciu, T. Moreau, "SHINE: SHaring
/// the INverse Estimate from the forward pass for bi-level optimization and implicit models",
/// ICLR 2022.
public struct SHINEGradient: GradientEstimator {
    /// r: fall back to c when ‖−Hᵀc‖ > r ‖c‖. Default 1.8 (the paper's).
    public var fallbackRatio: Double
    /// Adjoint fixed-point steps from the estimate. Default 0 (plain SHINE).
    public var refineSteps: Int

    /// r = 1.8, no refinement.
    public init() {
        fallbackRatio = 1.8
        refineSteps = 0
    }

    public init(fallbackRatio: Double = 1.8, refineSteps: Int = 0) throws(UsageError) {
        self.fallbackRatio = fallbackRatio
        self.refineSteps = refineSteps
        try validate()
    }

    public func validate() throws(UsageError) {
        try Check.inRange(fallbackRatio, "SHINEGradient", "fallbackRatio", "fall back to c when ‖−Hᵀc‖ > r ‖c‖; the paper's r is 1.8",
                          above: 0, openBelow: true)
        try Check.atLeast(refineSteps, 0, "SHINEGradient", "refineSteps", "adjoint fixed-point steps after the estimate")
    }

    public var name: String { "shine" }
    public var label: String { refineSteps == 0 ? "shine" : "shine refine=\(refineSteps)" }

    public func estimate<Cell: ParametricCell>(cell: Cell, solution: Matrix, upstream: Matrix,
                                               byproducts: SolverByproducts) throws(UsageError) -> GradientResult {
        try validate()
        try checkGradientProblem(cell, solution, upstream, "SHINEGradient")
        let start = DispatchTime.now().uptimeNanoseconds
        let b = cell.batchSize, d = cell.dimension
        let linearization = try Linearization(map: cell, point: solution)
        var statistics = GradientStatistics()
        var y: Matrix
        var fallbacks = 0
        if let inverse = byproducts.inverseJacobian {
            guard inverse.batchSize == b && inverse.dimension == d else {
                throw .shape("SHINEGradient", "inverse-Jacobian estimate", got: (inverse.batchSize, inverse.dimension),
                             expected: (b, d), meaning: "B samples of dimension d, from the forward solve of this cell")
            }
            y = try inverse.transposedProduct(upstream)
            for i in 0..<b {
                var yNorm = 0.0, cNorm = 0.0
                for j in 0..<d {
                    y[i, j] = -y[i, j]
                    yNorm += y[i, j] * y[i, j]
                    cNorm += upstream[i, j] * upstream[i, j]
                }
                // `!(… ≤ …)` also catches NaN.
                if !(yNorm.squareRoot() <= fallbackRatio * cNorm.squareRoot()) {
                    y.setRow(i, to: upstream.row(i))
                    fallbacks += 1
                }
            }
            statistics.floatsKept = ((inverse as? BroydenInverse).map { 2 * $0.memory * b * d } ?? b * d * d) + 3 * b * d
        } else {
            y = upstream
            fallbacks = b
            statistics.note = "no inverse-Jacobian estimate from the forward solve (solve with Broyden): every sample fell back to the upstream gradient"
            statistics.floatsKept = 3 * b * d
        }
        var product = Matrix(rows: b, columns: d)
        for _ in 0..<refineSteps {
            linearization.transposedProduct(y, into: &product)
            for i in y.storage.indices { y.storage[i] = product.storage[i] + upstream.storage[i] }
        }
        let (parameters, input) = try cell.parameterGradients(at: solution, image: linearization.image, covectors: y)
        statistics.evaluations = 1
        statistics.vectorJacobianProducts = linearization.vectorJacobianProducts
        statistics.totalVectorJacobianProducts = b * linearization.vectorJacobianProducts
        statistics.parameterProducts = 1
        statistics.fallbackSamples = fallbacks
        statistics.wallSeconds = secondsSince(start)
        return GradientResult(estimator: name, label: label, parameters: parameters, input: input,
                              adjoint: y, statistics: statistics)
    }
}
