/// Analytic Jacobian products of the monotone cell.
///
/// With f = relu(W z + c), J = ∂f/∂z = D W, D = diag(W z + c > 0). Since f > 0 exactly where
/// the pre-activation is positive, D comes from the image f(z) the caller holds:
///
///     J v   = D (W v)         one GEMM  V Wᵀ, then a mask
///     Jᵀ u  = Wᵀ (D u)        a mask into the workspace, then one GEMM  S W
///
/// Cost O(n d²) for n rows, the same as one evaluation. The workspace is an n × d
/// ``ScratchBuffer`` for the masked covectors.
extension MonotoneCell: DifferentiableMap {
    public func makeJacobianWorkspace(maxSamples: Int) -> ScratchBuffer {
        ScratchBuffer(count: maxSamples * dimension)
    }

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ScratchBuffer) {
        let n = samples.count, d = dimension
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: v, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
        for i in 0..<(n * d) where !(fz[i] > 0) { out[i] = 0 }
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ScratchBuffer) {
        let n = samples.count, d = dimension
        precondition(workspace.count >= n * d,
                     "MonotoneCell VJP workspace holds \(workspace.count) doubles, needs \(n * d).")
        let masked = workspace.baseAddress
        for i in 0..<(n * d) { masked[i] = fz[i] > 0 ? u[i] : 0 }
        BLAS.gemm(.none, .none, m: n, n: d, k: d, alpha: 1, a: masked, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
    }
}

/// Parameters of the monotone cell, named as the `.npy` files of
/// ``MonotoneCell/load(directory:monotonicity:injection:)``: `A` (d, d), `B` (d, d), `U` (d, p),
/// `b` (d,). m is a hyperparameter, not a parameter.
///
/// With sᵢ = D uᵢ (D at zᵢ) and G = Σ sᵢ zᵢᵀ = ∂/∂W of Σ uᵢᵀ f, and W = (1 − m) I − AᵀA + B − Bᵀ:
///
///     Ā = −A (G + Gᵀ),   B̄ = G − Gᵀ,   Ū = Σ sᵢ xᵢᵀ,   b̄ = Σ sᵢ,   x̄ᵢ = Uᵀ sᵢ
///
/// Cost: four GEMMs of the batch or of d × d.
extension MonotoneCell: ParametricCell {
    public static let parameterNames = ["A", "B", "U", "b"]

    public var parameters: [NamedArray] {
        let d = dimension
        return [
            NamedArray(name: "A", shape: [d, d], values: a.storage),
            NamedArray(name: "B", shape: [d, d], values: b.storage),
            NamedArray(name: "U", shape: [d, inputWeight.columns], values: inputWeight.storage),
            NamedArray(name: "b", shape: [d], values: bias),
        ]
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> MonotoneCell {
        try Check.parameters(parameters, matching: self.parameters, "MonotoneCell")
        let p = parameters
        let d = dimension
        return try MonotoneCell(a: Matrix(rows: d, columns: d, storage: p[0].values),
                                b: Matrix(rows: d, columns: d, storage: p[1].values),
                                inputWeight: Matrix(rows: d, columns: inputWeight.columns, storage: p[2].values),
                                bias: p[3].values, monotonicity: monotonicity, input: input)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        try Check.batches([(z, "points z"), (fz, "images f(z)"), (u, "covectors")], (batchSize, dimension), "\(Self.self).parameterGradients")
        let d = dimension, batch = batchSize
        // s = D u, with D read from the image (f > 0 exactly where the pre-activation is).
        let s = Matrix(rows: batch, columns: d, storage: zip(fz.storage, u.storage).map { $0 > 0 ? $1 : 0 })
        var g = Matrix(rows: d, columns: d)
        BLAS.gemm(s, z, into: &g, transA: .transpose)                  // G = Sᵀ Z
        var symmetric = try g + g.transposed()
        var gradientA = Matrix(rows: d, columns: d)
        BLAS.gemm(a, symmetric, into: &gradientA, alpha: -1)           // −A (G + Gᵀ)
        symmetric = try g - g.transposed()                                 // G − Gᵀ
        var gradientU = Matrix(rows: d, columns: inputWeight.columns)
        BLAS.gemm(s, input, into: &gradientU, transA: .transpose)      // Sᵀ X
        var gradientBias = [Double](repeating: 0, count: d)
        for i in 0..<batch { for j in 0..<d { gradientBias[j] += s[i, j] } }
        var inputGradient = Matrix(rows: batch, columns: inputWeight.columns)
        BLAS.gemm(s, inputWeight, into: &inputGradient)                // S U: row i is Uᵀ sᵢ
        return ([
            NamedArray(name: "A", shape: [d, d], values: gradientA.storage),
            NamedArray(name: "B", shape: [d, d], values: symmetric.storage),
            NamedArray(name: "U", shape: [d, inputWeight.columns], values: gradientU.storage),
            NamedArray(name: "b", shape: [d], values: gradientBias),
        ], inputGradient)
    }
}
