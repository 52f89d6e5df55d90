/// Analytic Jacobian products of the residual cell.
///
/// With a₁ = W₁ z, y = norm₁(relu(a₁)), s₂ = x + W₂ y, s₃ = z + norm₂(s₂), f = norm₃(relu(s₃))
/// and N₁, N₂, N₃ the norms' Jacobians at the point (see ``GroupNorm``), D₁ = diag(a₁ > 0),
/// D₃ = diag(s₃ > 0):
///
///     J v  = N₃ D₃ (v + N₂ W₂ N₁ D₁ W₁ v)
///     Jᵀ u = g₃ + W₁ᵀ D₁ N₁ᵀ W₂ᵀ N₂ᵀ g₃,     g₃ = D₃ N₃ᵀ u
///
/// Both are two GEMMs plus O(n (d + h)) per call. The intermediates at z (a₁, s₃, the norms'
/// x̂ and 1/σ) are recomputed once per point and kept in the ``ResidualCellWorkspace``: products
/// at the same rows and bitwise the same z reuse them, so a Newton–Krylov step pays one forward
/// recomputation for all its Krylov products. The image f(z) is not needed.
extension ResidualCell: DifferentiableMap {
    public func makeJacobianWorkspace(maxSamples: Int) -> ResidualCellWorkspace {
        block.makeWorkspace(maxSamples: maxSamples)
    }

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ResidualCellWorkspace) {
        block.jacobianVectorProduct(at: z, vector: v, into: out, samples: samples, workspace: workspace)
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ResidualCellWorkspace) {
        block.vectorJacobianProduct(at: z, covector: u, into: out, samples: samples, workspace: workspace)
    }
}

/// Parameters of the residual cell, named as the `.npy` files of
/// ``ResidualCell/load(directory:groups:injection:)``:
///
/// | name | shape |
/// |---|---|
/// | `W1` | (h, d) |
/// | `W2` | (d, h) |
/// | `norm1.weight`, `norm1.bias` | (h,) |
/// | `norm2.weight`, `norm2.bias`, `norm3.weight`, `norm3.bias` | (d,) |
///
/// Gradients of Σᵢ uᵢᵀ f(zᵢ, xᵢ): with g₃ = D₃ N₃ᵀ u, g₂ = N₂ᵀ g₃ (= ∂/∂x, the input gradient),
/// ḡy = W₂ᵀ g₂, g₁ = D₁ N₁ᵀ ḡy:  W̄₂ = Σ g₂ yᵀ, W̄₁ = Σ g₁ zᵀ, and each norm's γ̄ = Σ ḡ ⊙ x̂,
/// β̄ = Σ ḡ with ḡ its output gradient (u, g₃, ḡy for norms 3, 2, 1). Cost: about two
/// evaluations plus two GEMMs for the weight gradients.
extension ResidualCell: ParametricCell {
    public static let parameterNames = ["W1", "W2", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
                                        "norm3.weight", "norm3.bias"]

    public var parameters: [NamedArray] {
        let h = innerDimension, d = dimension
        return [
            NamedArray(name: "W1", shape: [h, d], values: weight1.storage),
            NamedArray(name: "W2", shape: [d, h], values: weight2.storage),
        ] + normParameters(norm1, "norm1") + normParameters(norm2, "norm2") + normParameters(norm3, "norm3")
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> ResidualCell {
        try Check.parameters(parameters, matching: self.parameters, "ResidualCell")
        let p = parameters
        return try ResidualCell(weight1: Matrix(rows: innerDimension, columns: dimension, storage: p[0].values),
                                weight2: Matrix(rows: dimension, columns: innerDimension, storage: p[1].values),
                                norm1: norm1.with(weight: p[2].values, bias: p[3].values),
                                norm2: norm2.with(weight: p[4].values, bias: p[5].values),
                                norm3: norm3.with(weight: p[6].values, bias: p[7].values), input: input)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        try Check.batches([(z, "points z"), (fz, "images f(z)"), (u, "covectors")], (batchSize, dimension), "\(Self.self).parameterGradients")
        let g = block.gradients(at: z, covectors: u, layer1Count: weight1.count, layer2Count: weight2.count)
        let h = innerDimension, d = dimension
        let parameters = [
            NamedArray(name: "W1", shape: [h, d], values: g.layer1),
            NamedArray(name: "W2", shape: [d, h], values: g.layer2),
            NamedArray(name: "norm1.weight", shape: [h], values: g.norm1.weight),
            NamedArray(name: "norm1.bias", shape: [h], values: g.norm1.bias),
            NamedArray(name: "norm2.weight", shape: [d], values: g.norm2.weight),
            NamedArray(name: "norm2.bias", shape: [d], values: g.norm2.bias),
            NamedArray(name: "norm3.weight", shape: [d], values: g.norm3.weight),
            NamedArray(name: "norm3.bias", shape: [d], values: g.norm3.bias),
        ]
        // x enters as s₂ = x + W₂ y: its gradient is ∂/∂s₂.
        return (parameters, g.injection)
    }
}

/// γ and β of a norm as `prefix.weight`, `prefix.bias`.
func normParameters(_ norm: GroupNorm, _ prefix: String) -> [NamedArray] {
    [NamedArray(name: "\(prefix).weight", shape: [norm.channels], values: norm.weight),
     NamedArray(name: "\(prefix).bias", shape: [norm.channels], values: norm.bias)]
}
