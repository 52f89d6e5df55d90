/// Analytic Jacobian products of the affine map f(z) = A z + bᵢ: J = A everywhere, so on a
/// compacted batch J v = A v (one GEMM V Aᵀ) and Jᵀ u = Aᵀ u (one GEMM U A). No workspace.
extension AffineMap: DifferentiableMap {
    public func makeJacobianWorkspace(maxSamples: Int) {}

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: Void) {
        let n = samples.count, d = dimension
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: v, lda: d,
                  b: streamedMatrix.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: Void) {
        let n = samples.count, d = dimension
        BLAS.gemm(.none, .none, m: n, n: d, k: d, alpha: 1, a: u, lda: d,
                  b: streamedMatrix.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
    }
}
