/// Parameter and input vector–Jacobian products of the affine map f(z) = A z + bᵢ
/// (``ParametricCell``).
///
/// The parameter is A ("A", d × d); the offsets bᵢ are the per-sample inputs (``input`` is
/// the B × d matrix of offsets, ``binding(input:)`` replaces them). With covectors uᵢ:
///
///     ∂L/∂A = Σᵢ uᵢ zᵢᵀ = Uᵀ Z     (one GEMM)
///     ∂L/∂bᵢ = uᵢ                   (∂f/∂bᵢ = I)
///
/// With the adjoint y = (I − Aᵀ)⁻¹ c this is the exact gradient of L(z*) through the linear
/// fixed point z* = (I − A)⁻¹ b, which LAPACK can check.
extension AffineMap: ParametricCell {
    public var parameters: [NamedArray] {
        [NamedArray(name: "A", shape: [matrix.rows, matrix.columns], values: matrix.storage)]
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> AffineMap {
        try Check.parameters(parameters, matching: self.parameters, "AffineMap")
        return try AffineMap(matrix: Matrix(rows: matrix.rows, columns: matrix.columns, storage: parameters[0].values),
                         offsets: offsets)
    }

    public var input: Matrix { offsets }

    public func binding(input: Matrix) throws(UsageError) -> AffineMap {
        try AffineMap(matrix: matrix, offsets: input, streamedMatrix: streamedMatrix)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        let b = batchSize, d = dimension
        try Check.batches([(z, "points z"), (fz, "images f(z)"), (u, "covectors")], (b, d), "AffineMap.parameterGradients")
        var dA = Matrix(rows: d, columns: d)
        BLAS.gemm(u, z, into: &dA, transA: .transpose)
        return ([NamedArray(name: "A", shape: [d, d], values: dA.storage)], u)
    }
}
