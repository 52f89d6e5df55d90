import COpenBLAS

/// Typed wrappers over LAPACKE. Every `info` is checked and turned into a
/// ``LinearAlgebraError``; nothing is `assert`ed away in release builds.
///
/// The `Matrix` functions copy their inputs (LAPACK overwrites them) and are for set-up code,
/// exact references and tests. The pointer-level Cholesky functions are allocation-free and are
/// what solvers call inside iterations.
package enum LAPACK {
    /// Solves A X = B for square A by LU with partial pivoting (`dgesv`). B may hold several
    /// right-hand sides as columns.
    package static func solve(_ a: Matrix, _ b: Matrix) throws(LinearAlgebraError) -> Matrix {
        precondition(a.isSquare, "solve: A is \(a.rows) × \(a.columns), expected square.")
        precondition(b.rows == a.rows, "solve: B has \(b.rows) rows, expected \(a.rows).")
        let n = a.rows, nrhs = b.columns
        var lu = a.storage
        var x = b.storage
        var pivots = [Int32](repeating: 0, count: max(1, n))
        let info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, Int32(n), Int32(nrhs), &lu,
                                 Int32(max(1, n)), &pivots, &x, Int32(max(1, nrhs)))
        try LinearAlgebraError.check(info, routine: "dgesv",
                                     numericalFailure: "U(\(info),\(info)) is exactly zero, the matrix is singular")
        return Matrix(rows: n, columns: nrhs, storage: x)
    }

    /// Solves A x = b for one right-hand side.
    package static func solve(_ a: Matrix, _ b: [Double]) throws(LinearAlgebraError) -> [Double] {
        try solve(a, Matrix(rows: b.count, columns: 1, storage: b)).storage
    }

    /// Minimises ‖A X − B‖_F for a full-rank m × n matrix A with m ≥ n, by QR (`dgels`).
    package static func leastSquares(_ a: Matrix, _ b: Matrix) throws(LinearAlgebraError) -> Matrix {
        precondition(b.rows == a.rows, "leastSquares: B has \(b.rows) rows, expected \(a.rows).")
        precondition(a.rows >= a.columns, "leastSquares: A must have at least as many rows as columns.")
        let m = a.rows, n = a.columns, nrhs = b.columns
        var qr = a.storage
        var x = b.storage
        let info = LAPACKE_dgels(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(m), Int32(n),
                                 Int32(nrhs), &qr, Int32(max(1, n)), &x, Int32(max(1, nrhs)))
        try LinearAlgebraError.check(info, routine: "dgels",
                                     numericalFailure: "R(\(info),\(info)) is zero, A does not have full rank")
        return Matrix(rows: n, columns: nrhs, storage: Array(x[0..<(n * nrhs)]))
    }

    /// The singular values of A in decreasing order (`dgesdd`, values only).
    package static func singularValues(_ a: Matrix) throws(LinearAlgebraError) -> [Double] {
        let m = a.rows, n = a.columns
        guard m > 0, n > 0 else { return [] }
        var work = a.storage
        var s = [Double](repeating: 0, count: min(m, n))
        var unusedU = [Double](repeating: 0, count: 1)
        var unusedVt = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(m), Int32(n),
                                  &work, Int32(n), &s, &unusedU, Int32(m), &unusedVt, Int32(n))
        try LinearAlgebraError.check(info, routine: "dgesdd",
                                     numericalFailure: "the SVD did not converge")
        return s
    }

    /// ‖A‖₂, the largest singular value.
    package static func spectralNorm(_ a: Matrix) throws(LinearAlgebraError) -> Double {
        try singularValues(a).first ?? 0
    }

    /// The eigenvalues of a symmetric matrix in increasing order, and optionally the
    /// orthonormal eigenvectors as the columns of a matrix (`dsyevd`, upper triangle read).
    package static func symmetricEigen(_ a: Matrix, vectors: Bool = false)
        throws(LinearAlgebraError) -> (values: [Double], vectors: Matrix?) {
        precondition(a.isSquare, "symmetricEigen: A is \(a.rows) × \(a.columns), expected square.")
        let n = a.rows
        guard n > 0 else { return ([], vectors ? Matrix(rows: 0, columns: 0) : nil) }
        var work = a.storage
        var w = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: vectors ? "V" : "N")),
                                  Int8(UInt8(ascii: "U")), Int32(n), &work, Int32(n), &w)
        try LinearAlgebraError.check(info, routine: "dsyevd",
                                     numericalFailure: "the eigensolver did not converge")
        return (w, vectors ? Matrix(rows: n, columns: n, storage: work) : nil)
    }

    /// The eigenvalues (real and imaginary parts) of a general square matrix (`dgeev`).
    package static func eigenvalues(_ a: Matrix) throws(LinearAlgebraError) -> [(re: Double, im: Double)] {
        precondition(a.isSquare, "eigenvalues: A is \(a.rows) × \(a.columns), expected square.")
        let n = a.rows
        guard n > 0 else { return [] }
        var work = a.storage
        var wr = [Double](repeating: 0, count: n)
        var wi = [Double](repeating: 0, count: n)
        var unusedLeft = [Double](repeating: 0, count: 1)
        var unusedRight = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "N")),
                                 Int32(n), &work, Int32(n), &wr, &wi, &unusedLeft, 1, &unusedRight, 1)
        try LinearAlgebraError.check(info, routine: "dgeev",
                                     numericalFailure: "the QR algorithm failed to compute all eigenvalues")
        return (0..<n).map { (wr[$0], wi[$0]) }
    }

    /// ρ(A) = max |λᵢ(A)|, the spectral radius.
    package static func spectralRadius(_ a: Matrix) throws(LinearAlgebraError) -> Double {
        try eigenvalues(a).reduce(0) { max($0, ($1.re * $1.re + $1.im * $1.im).squareRoot()) }
    }

    // MARK: Allocation-free small symmetric positive definite systems (used by Anderson)

    /// Cholesky factorisation A = Uᵀ U in place of the upper triangle of a column-major n × n
    /// matrix (`dpotrf`). Returns LAPACK's `info`: 0 on success, k > 0 when the leading minor
    /// of order k is not positive definite.
    package static func choleskyFactor(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
        Int(LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), a, Int32(lda)))
    }

    /// The reciprocal 1-norm condition number estimate of an SPD matrix from its Cholesky
    /// factor (`dpocon`). `anorm` is the 1-norm of the original matrix; `work` needs 3n
    /// doubles and `iwork` n integers. Returns 0 when LAPACK reports an error.
    package static func choleskyReciprocalCondition(n: Int, factor: UnsafePointer<Double>, lda: Int,
                                                   anorm: Double, work: UnsafeMutablePointer<Double>,
                                                   iwork: UnsafeMutablePointer<Int32>) -> Double {
        var rcond = 0.0
        let info = LAPACKE_dpocon_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), factor,
                                       Int32(lda), anorm, &rcond, work, iwork)
        return info == 0 ? rcond : 0
    }

    /// Solves A x = b in place of b from the Cholesky factor of A (`dpotrs`). Returns `info`.
    package static func choleskySolve(n: Int, factor: UnsafePointer<Double>, lda: Int,
                                     b: UnsafeMutablePointer<Double>) -> Int {
        Int(LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), 1, factor,
                                Int32(lda), b, Int32(max(1, n))))
    }
}
