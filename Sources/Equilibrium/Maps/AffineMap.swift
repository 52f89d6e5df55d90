/// The affine map f(z) = A z + bᵢ for sample i: the ground truth of solver and gradient tests.
///
/// When I − A is nonsingular the fixed point is z* = (I − A)⁻¹ bᵢ, which ``exactFixedPoint()``
/// computes with one LAPACK solve for the whole batch. Forward iteration converges exactly when
/// ρ(A) < 1; a map with ρ(A) > 1 still has a (repelling) fixed point.
public struct AffineMap: FixedPointMap, Sendable {
    /// A, d × d.
    public let matrix: Matrix
    /// bᵢ, one row per sample, B × d.
    public let offsets: Matrix

    public var dimension: Int { matrix.rows }
    public var batchSize: Int { offsets.rows }

    public init(matrix: Matrix, offsets: Matrix) {
        precondition(matrix.isSquare, "A is \(matrix.rows) × \(matrix.columns), expected square.")
        precondition(offsets.columns == matrix.rows,
                     "b has \(offsets.columns) columns, expected \(matrix.rows).")
        self.matrix = matrix
        self.offsets = offsets
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        let n = samples.count, d = dimension
        for (r, sample) in samples.enumerated() {
            offsets.storage.withUnsafeBufferPointer { b in
                (fz + r * d).update(from: b.baseAddress! + sample * d, count: d)
            }
        }
        matrix.storage.withUnsafeBufferPointer { a in
            // fz ← z Aᵀ + fz, i.e. row r is A zᵣ + bᵢ.
            BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: z, lda: d,
                      b: a.baseAddress!, ldb: d, beta: 1, c: fz, ldc: d)
        }
    }

    /// z* for every sample (rows), from (I − A) Z*ᵀ = Bᵀ by one LU solve (`dgesv`).
    public func exactFixedPoint() throws(LinearAlgebraError) -> Matrix {
        let system = Matrix.identity(dimension) - matrix
        return try LAPACK.solve(system, offsets.transposed()).transposed()
    }

    /// A = W with ‖W‖₂ = ρ (see ``RandomMatrix``), bᵢ ~ N(0, I).
    public static func random(dimension: Int, batchSize: Int, spectralNorm: Double,
                              symmetric: Bool = false, seed: UInt64 = 0) throws(LinearAlgebraError) -> AffineMap {
        var generator = SplitMix64(seed: seed)
        let a = try RandomMatrix.withSpectralNorm(spectralNorm, dimension: dimension,
                                                  symmetric: symmetric, using: &generator)
        let b = Matrix.gaussian(rows: batchSize, columns: dimension, using: &generator)
        return AffineMap(matrix: a, offsets: b)
    }
}
