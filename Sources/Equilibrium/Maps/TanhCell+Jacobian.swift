/// Analytic Jacobian products of the tanh cell.
///
/// With f = tanh(W z + c), J = ∂f/∂z = diag(1 − f²) W, so on a compacted batch (rows are samples)
///
///     J v   = (1 − f²) ⊙ (W v)           one GEMM  V Wᵀ, then a row-wise scaling
///     Jᵀ u  = Wᵀ ((1 − f²) ⊙ u)          a scaling into the workspace, then one GEMM  S W
///
/// Both use the image f(z) the caller already holds; neither evaluates tanh. Cost O(n d²) for n
/// rows, the same as one evaluation. The workspace is an n × d ``ScratchBuffer`` for the scaled
/// covectors of the VJP.
extension TanhCell: DifferentiableMap {
    public func makeJacobianWorkspace(maxSamples: Int) -> ScratchBuffer {
        ScratchBuffer(count: maxSamples * dimension)
    }

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ScratchBuffer) {
        let n = samples.count, d = dimension
        // out = V Wᵀ: row r is W vᵣ.
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: v, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
        for i in 0..<(n * d) { out[i] *= 1 - fz[i] * fz[i] }
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: ScratchBuffer) {
        let n = samples.count, d = dimension
        precondition(workspace.count >= n * d,
                     "TanhCell VJP workspace holds \(workspace.count) doubles, needs \(n * d).")
        let scaled = workspace.baseAddress
        for i in 0..<(n * d) { scaled[i] = (1 - fz[i] * fz[i]) * u[i] }
        // out = S W: row r is sᵣᵀ W = (Wᵀ sᵣ)ᵀ.
        BLAS.gemm(.none, .none, m: n, n: d, k: d, alpha: 1, a: scaled, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: out, ldc: d)
    }
}
