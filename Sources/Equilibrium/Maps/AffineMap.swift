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
    /// A where BLAS reads it fastest (``StreamedMatrix``), shared by maps with the same A.
    package let streamedMatrix: StreamedMatrix

    public var dimension: Int { matrix.rows }
    public var batchSize: Int { offsets.rows }

    /// - Throws: ``UsageError`` when A is not square (d ≥ 1), the offsets are not B × d (B ≥ 1),
    ///   or either holds a non-finite value.
    public init(matrix: Matrix, offsets: Matrix) throws(UsageError) {
        try self.init(matrix: matrix, offsets: offsets, streamedMatrix: nil)
    }

    /// The checked initialiser; `streamedMatrix` is A's copy when a map with this A holds one.
    init(matrix: Matrix, offsets: Matrix, streamedMatrix: StreamedMatrix?) throws(UsageError) {
        guard matrix.isSquare, matrix.rows >= 1 else {
            throw UsageError("AffineMap", "A", got: "\(matrix.rows) × \(matrix.columns)", expected: "a square d × d matrix, d ≥ 1")
        }
        try Check.finite(matrix.storage, "AffineMap", "A")
        guard offsets.rows >= 1, offsets.columns == matrix.rows else {
            throw UsageError("AffineMap", "offsets b", got: "\(offsets.rows) × \(offsets.columns)",
                             expected: "B × \(matrix.rows) with B ≥ 1, one sample per row")
        }
        try Check.finite(offsets.storage, "AffineMap", "offsets b")
        self.matrix = matrix
        self.streamedMatrix = streamedMatrix ?? StreamedMatrix(matrix)
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
        // fz ← z Aᵀ + fz, i.e. row r is A zᵣ + bᵢ.
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: z, lda: d,
                  b: streamedMatrix.baseAddress, ldb: d, beta: 1, c: fz, ldc: d)
    }

    /// z* for every sample (rows), from (I − A) Z*ᵀ = Bᵀ by one LU solve (`dgesv`).
    public func exactFixedPoint() throws -> Matrix {
        let system = try Matrix.identity(dimension) - matrix
        return try LAPACK.solve(system, offsets.transposed()).transposed()
    }

    /// A = W with ‖W‖₂ = ρ (see ``RandomMatrix``), bᵢ ~ N(0, I).
    public static func random(dimension: Int, batchSize: Int, spectralNorm: Double,
                              symmetric: Bool = false, seed: UInt64 = 0) throws -> AffineMap {
        try Check.atLeast(dimension, 1, "AffineMap.random", "dimension", "d")
        try Check.atLeast(batchSize, 1, "AffineMap.random", "batchSize", "B")
        try Check.inRange(spectralNorm, "AffineMap.random", "spectralNorm", "‖A‖₂; below 1 contracts", above: 0)
        var generator = SplitMix64(seed: seed)
        let a = try RandomMatrix.withSpectralNorm(spectralNorm, dimension: dimension,
                                                  symmetric: symmetric, using: &generator)
        let b = Matrix.gaussian(rows: batchSize, columns: dimension, using: &generator)
        return try AffineMap(matrix: a, offsets: b)
    }
}
