/// The Jacobian regulariser of Bai, Koltun & Kolter (2021) with its parameter gradient.
///
///     R(θ, x) = 1/(B d) Σᵢ ‖Jᵢᵀ εᵢ‖²,     Jᵢ = ∂f/∂z at zᵢ*,  εᵢ ~ N(0, I)
///
/// is an unbiased one-probe Hutchinson estimate of the batch mean of ‖Jᵢ‖_F² / d. Its gradient
/// holds z* fixed (as Bai et al. do: the penalty does not differentiate through the solve). With
/// w = Jᵀε fixed, ∇θ ½‖Jᵀε‖² = ∇θ[εᵀ J(θ) w], and εᵀ J w is the directional derivative of εᵀ f
/// along w, so
///
///     ∇θ[εᵀ J w] ≈ (Σᵢ εᵢᵀ ∂f(zᵢ + h wᵢ)/∂θ − Σᵢ εᵢᵀ ∂f(zᵢ − h wᵢ)/∂θ) / (2h)
///
/// (two parameter VJPs, ``ParametricCell/parameterGradients(at:image:covectors:)``); the same two
/// calls give ∂R/∂x. h = step · max(1, max|z|) / max|w| keeps the perturbation relative to z;
/// the error is O(h²) for a smooth cell (a relu cell's kinks add an O(h) error where a
/// perturbation crosses one). Cost: one VJP in z and two parameter VJPs, about 3–4 evaluations.
///
/// References: S. Bai, V. Koltun, J. Z. Kolter, "Stabilizing Equilibrium Models by Jacobian
/// Regularization", ICML 2021.
public enum JacobianPenalty {
    /// R, ∂R/∂θ (the cell's parameter order) and ∂R/∂x (B × p) at the points z (B × d) with
    /// probes ε (B × d).
    public static func estimate<Cell: ParametricCell>(cell: Cell, at z: Matrix, probes epsilon: Matrix,
                                                      step: Double = 1e-5) throws(UsageError) -> (value: Double, parameters: [NamedArray], input: Matrix) {
        let b = cell.batchSize, d = cell.dimension
        try Check.shape(epsilon, (b, d), "JacobianPenalty", "probes ε", "B × d of the cell")
        let linearization = try Linearization(map: cell, point: z)
        var w = Matrix(rows: b, columns: d)
        linearization.transposedProduct(epsilon, into: &w)
        let scale = 1 / Double(b * d)
        let value = w.storage.reduce(0) { $0 + $1 * $1 } * scale
        let wMax = w.maxAbs
        guard wMax > 0, wMax.isFinite else {
            let zero = cell.parameters.map { NamedArray(name: $0.name, shape: $0.shape, values: [Double](repeating: 0, count: $0.values.count)) }
            return (value, zero, Matrix(rows: b, columns: cell.input.columns))
        }
        let h = step * max(1, z.maxAbs) / wMax
        let plus = try z + h * w, minus = try z - h * w
        let gp = try cell.parameterGradients(at: plus, image: cell(plus), covectors: epsilon)
        let gm = try cell.parameterGradients(at: minus, image: cell(minus), covectors: epsilon)
        // ∇ of R = scale Σ ‖wᵢ‖² is 2 · scale · ∇[εᵀ J w].
        let factor = 2 * scale / (2 * h)
        let parameters = zip(gp.parameters, gm.parameters).map { p, m in
            NamedArray(name: p.name, shape: p.shape, values: zip(p.values, m.values).map { ($0 - $1) * factor })
        }
        return (value, parameters, factor * (try gp.input - gm.input))
    }
}
