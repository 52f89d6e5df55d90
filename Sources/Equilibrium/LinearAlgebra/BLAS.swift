import CEquilibriumKernels
import COpenBLAS

/// A thin typed layer over CBLAS (OpenBLAS). Every call is row-major.
///
/// Pointer-level functions are what the solvers use inside iterations (no allocation, whole
/// vectors per call); the `Matrix` overloads are for set-up code and tests.
package enum BLAS {
    package enum Transpose: Sendable {
        case none, transpose
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// C ← α op(A) op(B) + β C for row-major pointers with leading dimensions.
    /// op(A) is m × k, op(B) is k × n, C is m × n.
    ///
    /// A product with one row (m = 1) or one column (n = 1) is a matrix–vector product and goes
    /// to GEMV: OpenBLAS 0.3.21's GEMM packs both operands on every call, which for a single row
    /// costs as much again as the product itself (issue 13: one-sample solves through GEMM ran
    /// at 2–2.5× the time per evaluation of a C loop over `cblas_dgemv`). The row or column is
    /// read with its stride, so every layout GEMM accepts is served; with β = 0 the output is
    /// zeroed first, so that, as with GEMM, its old contents never leak in (not even a NaN).
    package static func gemm(_ transA: Transpose, _ transB: Transpose,
                            m: Int, n: Int, k: Int,
                            alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k > 0, m == 1 || n == 1 {
            matrixVectorProduct(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if transA == .none, transB == .transpose, streamedProductApplies(m: m, k: k) {
            streamedProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// The row counts m of A Bᵀ that ``streamedProduct(m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
    /// computes: a batch of a few states against a weight matrix.
    static let streamedProductRows = 2...16
    /// The smallest inner dimension k it takes (below it the weight is small and GEMM's packing cheap).
    static let streamedProductMinimumDepth = 256
    /// The smallest m·n·k split over the BLAS threads: 2²⁰ multiply-adds, about 50 µs on one core,
    /// against ≈ 10 µs to wake a second thread.
    static let streamedProductParallelWork = 1 << 20

    /// Whether ``gemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` runs C ← α A Bᵀ + β C as a streamed product:
    /// m in ``streamedProductRows``, k ≥ ``streamedProductMinimumDepth``, and a CPU with AVX2 and FMA.
    package static func streamedProductApplies(m: Int, k: Int) -> Bool {
        streamedProductRows.contains(m) && k >= streamedProductMinimumDepth && streamedProductAvailable
    }

    /// Whether this CPU runs the streamed product's kernel (AVX2 and FMA; CPUID, read once, here).
    package static let streamedProductAvailable = eqk_fma_available() != 0

    /// C ← α A Bᵀ + β C for row-major A (m × k), B (n × k), C (m × n) with every row of B read once
    /// for all m rows of A (`Sources/CEquilibriumKernels/streamed_product.c`).
    ///
    /// A dense cell's f(z) = Z Wᵀ for B ≤ 16 states. OpenBLAS 0.3.21's GEMM packs W into its
    /// panel format on every call: at d = 2048, B = 8 the packing (`dgemm_incopy`) took 31 % of a
    /// solve against 22 % for its multiply-adds, and two threads did not make it faster, since
    /// both pack (issue 13). Here entry cᵢⱼ's sum Σₗ aᵢₗ bⱼₗ is formed in one fixed order
    /// (four FMA partial sums, then the tail), whatever m, the blocking or the thread: the columns
    /// (rows of B) are split over the BLAS threads in blocks of three (``RowParallelism``) when
    /// m·n·k ≥ ``streamedProductParallelWork``, and the result is bitwise the one-thread one.
    /// Rounding: |ĉᵢⱼ − cᵢⱼ| ≤ γ_k Σₗ |aᵢₗ bⱼₗ| (Higham, *Accuracy and Stability of Numerical
    /// Algorithms*, 2nd ed., §3.1), as for any order of summation.
    package static func streamedProduct(m: Int, n: Int, k: Int, alpha: Double,
                                        a: UnsafePointer<Double>, lda: Int,
                                        b: UnsafePointer<Double>, ldb: Int,
                                        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        precondition(streamedProductAvailable, "BLAS.streamedProduct needs AVX2 and FMA (check streamedProductAvailable)")
        let blocks = (n + 2) / 3
        RowParallelism.forEachRowRange(rows: blocks, columns: 3 * m * k, minimumEntries: streamedProductParallelWork) { range in
            eqk_streamed_product(Int64(m), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc),
                                 Int64(3 * range.lowerBound), Int64(min(n, 3 * range.upperBound)))
        }
    }

    /// The GEMV form of a GEMM with m = 1 or n = 1 (k ≥ 1), see ``gemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
    ///
    /// m = 1: cᵀ = op(B)ᵀ aᵀ, where the row a of op(A) has stride 1 (A as stored, 1 × k) or lda
    /// (A stored k × 1 and transposed); op(B) = B (k × n stored) is GEMV with Bᵀ, op(B) = Bᵀ
    /// (n × k stored) is GEMV with B. n = 1 likewise with the roles of A and B exchanged and the
    /// column of C at stride ldc.
    @inline(__always)
    private static func matrixVectorProduct(_ transA: Transpose, _ transB: Transpose,
                                            m: Int, n: Int, k: Int,
                                            alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                            b: UnsafePointer<Double>, ldb: Int,
                                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        if m == 1 {
            let incA = transA == .none ? 1 : lda
            if beta == 0 { c.update(repeating: 0, count: n) }
            if transB == .none {
                cblas_dgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(n), alpha, b, blasint(ldb),
                            a, blasint(incA), beta, c, 1)
            } else {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(n), blasint(k), alpha, b, blasint(ldb),
                            a, blasint(incA), beta, c, 1)
            }
        } else {
            let incB = transB == .none ? ldb : 1
            if beta == 0 { for i in 0..<m { c[i * ldc] = 0 } }
            if transA == .none {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(k), alpha, a, blasint(lda),
                            b, blasint(incB), beta, c, blasint(ldc))
            } else {
                cblas_dgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(m), alpha, a, blasint(lda),
                            b, blasint(incB), beta, c, blasint(ldc))
            }
        }
    }

    /// y ← α op(A) x + β y for a row-major m × n matrix A.
    ///
    /// Products with m·n ≤ ``smallProductLimit`` (the solvers' m × d history blocks: Anderson's
    /// ΔG, Broyden's U and V, GMRES's basis) run as plain loops on the calling thread: OpenBLAS
    /// 0.3.21 hands every GEMV above 9216 entries to its thread pool, and waking it costs more than
    /// these products (microseconds), by orders of magnitude when other processes hold the cores
    /// (issue 13: Anderson m = 20 at d = 512, B = 1 spent 70 % of its solve waiting for BLAS threads).
    package static func gemv(_ trans: Transpose, m: Int, n: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
                            beta: Double, y: UnsafeMutablePointer<Double>, kernels: SmallProductKernels = .fastest) {
        guard m > 0, n > 0 else { return }
        if m * n <= smallProductLimit {
            smallMatrixVectorProduct(trans, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y, kernels: kernels)
            return
        }
        cblas_dgemv(CblasRowMajor, trans.cblas, blasint(m), blasint(n), alpha, a, blasint(lda),
                    x, 1, beta, y, 1)
    }

    /// y₁ ← A x₁ and y₂ ← A x₂ for a row-major m × n matrix A: bitwise the two calls
    /// `gemv(.none, m:n:alpha: 1, a:lda:x: xᵢ, beta: 0, y: yᵢ)`, but for a small product
    /// (m·n ≤ ``smallProductLimit``) on a CPU with AVX2 in one pass over A
    /// (`eqk_gemv_rows_pair`), which reads each row once for both dot products. Anderson's Gram
    /// row ΔGᵀΔgₖ and right-hand side ΔGᵀgₖ are such a pair on its m × d history block, which at
    /// d = 512 sits in L2 and is read at L2 speed (issue 13).
    package static func gemvPair(m: Int, n: Int, a: UnsafePointer<Double>, lda: Int,
                                 x1: UnsafePointer<Double>, y1: UnsafeMutablePointer<Double>,
                                 x2: UnsafePointer<Double>, y2: UnsafeMutablePointer<Double>,
                                 kernels: SmallProductKernels = .fastest) {
        guard m > 0, n > 0 else { return }
        if fusedKernelApplies(m: m, n: n, kernels) {
            eqk_gemv_rows_pair(Int64(m), Int64(n), a, Int64(lda), x1, y1, x2, y2)
            return
        }
        gemv(.none, m: m, n: n, alpha: 1, a: a, lda: lda, x: x1, beta: 0, y: y1, kernels: kernels)
        gemv(.none, m: m, n: n, alpha: 1, a: a, lda: lda, x: x2, beta: 0, y: y2, kernels: kernels)
    }

    /// y ← A x and w ← w + Aᵀ u for a row-major m × n matrix A: bitwise the two calls
    /// `gemv(.none, m:n:alpha: 1, a:lda:x:beta: 0, y:)` and `gemv(.transpose, m:n:alpha: 1, a:lda:x: u,
    /// beta: 1, y: w)`, but for a small product (m·n ≤ ``smallProductLimit``) on a CPU with AVX2
    /// in one pass over A (`eqk_gemv_rows_and_columns`). Broyden's U block is such a pair: Uᵀ(V g)
    /// for H g and U Δz for Δzᵀ H (issue 13).
    package static func gemvAndTransposed(m: Int, n: Int, a: UnsafePointer<Double>, lda: Int,
                                          x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>,
                                          u: UnsafePointer<Double>, w: UnsafeMutablePointer<Double>,
                                          kernels: SmallProductKernels = .fastest) {
        guard m > 0, n > 0 else { return }
        if fusedKernelApplies(m: m, n: n, kernels) {
            eqk_gemv_rows_and_columns(Int64(m), Int64(n), a, Int64(lda), x, y, u, w)
            return
        }
        gemv(.none, m: m, n: n, alpha: 1, a: a, lda: lda, x: x, beta: 0, y: y, kernels: kernels)
        gemv(.transpose, m: m, n: n, alpha: 1, a: a, lda: lda, x: u, beta: 1, y: w, kernels: kernels)
    }

    /// Whether a fused two-product kernel runs: a small product (the two separate products would
    /// run the AVX2 loops, which the fused kernels reproduce bit for bit) on a CPU with AVX2.
    private static func fusedKernelApplies(m: Int, n: Int, _ kernels: SmallProductKernels) -> Bool {
        m * n <= smallProductLimit && kernels == .fastest && SmallProductKernels.avx2Available
    }

    /// Which loops ``smallMatrixVectorProduct(_:m:n:alpha:a:lda:x:beta:y:kernels:)`` runs.
    package enum SmallProductKernels: Sendable {
        /// The AVX2 kernels when the CPU has AVX2, else the portable loops.
        case fastest
        /// The Swift loops (the reference the kernels are tested against).
        case portable

        /// Whether this CPU runs the AVX2 kernels (CPUID, read once, here).
        package static let avx2Available = eqk_avx2_available() != 0
    }

    /// The largest m·n that ``gemv(_:m:n:alpha:a:lda:x:beta:y:)`` computes with its own loops.
    package static let smallProductLimit = 65_536

    /// y ← α op(A) x + β y by loops: op = none is m dot products of rows with x (``vectorDot``, eight partial
    /// sums each), op = transpose is y scaled by β (zeroed for β = 0) plus m row updates
    /// y += (α xᵢ) Aᵢ. Both read A once, row by row, and vectorise. Rows go four at a time
    /// (``fourDots``, ``addFourRows``): x, or y, is loaded once for four rows and the four
    /// dot products' chains overlap, while every entry sees exactly the operations, in the same
    /// order, of one row at a time, so the results are bitwise those of the plain loops
    /// (issue 13: the solvers' L × d history products).
    ///
    /// On a CPU with AVX2 (checked once at run time) the same operations run in C four doubles
    /// per instruction (`Sources/CEquilibriumKernels`): Swift builds for baseline x86-64, whose
    /// SSE2 registers hold two doubles and whose 16 registers the four-row sums overflow. The
    /// kernels keep every multiplication and addition separate and in this order, so the results
    /// are bitwise these loops' (tested); only the time changes (issue 13: the m × d history
    /// products were 64 % of Anderson m = 20's own time at d = 512).
    package static func smallMatrixVectorProduct(_ trans: Transpose, m: Int, n: Int, alpha: Double,
                                                 a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
                                                 beta: Double, y: UnsafeMutablePointer<Double>,
                                                 kernels: SmallProductKernels = .fastest) {
        let avx2 = kernels == .fastest && SmallProductKernels.avx2Available
        if trans == .none {
            if avx2 {
                eqk_gemv_rows(Int64(m), Int64(n), alpha, a, Int64(lda), x, beta, y)
                return
            }
            func store(_ i: Int, _ dot: Double) { y[i] = beta == 0 ? alpha * dot : alpha * dot + beta * y[i] }
            var i = 0
            while i + 4 <= m {
                let dots = fourDots(a + i * lda, lda, x, count: n)
                for k in 0..<4 { store(i + k, dots[k]) }
                i += 4
            }
            while i < m {
                store(i, vectorDot(a + i * lda, x, count: n))
                i += 1
            }
        } else {
            if beta == 0 {
                y.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { y[j] *= beta }
            }
            if avx2 {
                eqk_gemv_columns(Int64(m), Int64(n), alpha, a, Int64(lda), x, y)
                return
            }
            var i = 0
            while i + 4 <= m {
                addFourRows(a + i * lda, lda, scales: SIMD4(alpha * x[i], alpha * x[i + 1], alpha * x[i + 2], alpha * x[i + 3]),
                            to: y, count: n)
                i += 4
            }
            while i < m {
                let scale = alpha * x[i]
                let row = a + i * lda
                for j in 0..<n { y[j] += scale * row[j] }
                i += 1
            }
        }
    }

    /// ``vectorDot`` of rows r, r + lda, r + 2 lda, r + 3 lda with x, in one pass over x; each
    /// row's sum is formed exactly as ``vectorDot`` forms it.
    @inline(__always)
    private static func fourDots(_ r: UnsafePointer<Double>, _ lda: Int, _ x: UnsafePointer<Double>, count n: Int) -> SIMD4<Double> {
        let r1 = r + lda, r2 = r1 + lda, r3 = r2 + lda
        var a0 = SIMD4<Double>(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0
        var j = 0
        while j + 8 <= n {
            let x0 = load4(x + j), x1 = load4(x + j + 4)
            a0 += load4(r + j) * x0
            a1 += load4(r + j + 4) * x1
            b0 += load4(r1 + j) * x0
            b1 += load4(r1 + j + 4) * x1
            c0 += load4(r2 + j) * x0
            c1 += load4(r2 + j + 4) * x1
            e0 += load4(r3 + j) * x0
            e1 += load4(r3 + j + 4) * x1
            j += 8
        }
        var t = SIMD4<Double>()
        while j < n {
            t += SIMD4(r[j], r1[j], r2[j], r3[j]) * SIMD4(repeating: x[j])
            j += 1
        }
        return SIMD4((a0 + a1).sum(), (b0 + b1).sum(), (c0 + c1).sum(), (e0 + e1).sum()) + t
    }

    /// y += s₀ r + s₁ (r + lda) + s₂ (r + 2 lda) + s₃ (r + 3 lda), added row after row in that
    /// order for every entry (the order of four single-row updates), y loaded and stored once.
    @inline(__always)
    private static func addFourRows(_ r: UnsafePointer<Double>, _ lda: Int, scales s: SIMD4<Double>,
                                    to y: UnsafeMutablePointer<Double>, count n: Int) {
        let r1 = r + lda, r2 = r1 + lda, r3 = r2 + lda
        let s0 = SIMD4(repeating: s[0]), s1 = SIMD4(repeating: s[1]), s2 = SIMD4(repeating: s[2]), s3 = SIMD4(repeating: s[3])
        var j = 0
        while j + 4 <= n {
            var acc = load4(y + j)
            acc += s0 * load4(r + j)
            acc += s1 * load4(r1 + j)
            acc += s2 * load4(r2 + j)
            acc += s3 * load4(r3 + j)
            UnsafeMutableRawPointer(y + j).storeBytes(of: acc, as: SIMD4<Double>.self)
            j += 4
        }
        while j < n {
            var acc = y[j]
            acc += s[0] * r[j]
            acc += s[1] * r1[j]
            acc += s[2] * r2[j]
            acc += s[3] * r3[j]
            y[j] = acc
            j += 1
        }
    }

    /// xᵀy with two `SIMD4` accumulators: eight partial sums (entry j goes to lane j mod 8), then
    /// the lanes and the scalar tail added in a fixed order, so the result depends on n only,
    /// never on the thread count. The compiler keeps a scalar reduction scalar (it may not
    /// reorder floating-point sums); explicit vectors make the solvers' m × d products, Anderson's
    /// Gram rows and Broyden's and GMRES's projections, about 2× faster (issue 13). Error: as any
    /// summation of n products, |computed − exact| ≤ γ_{n/8+4} Σ |xⱼ yⱼ|.
    @inline(__always)
    package static func vectorDot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count n: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var j = 0
        while j + 8 <= n {
            s0 += load4(x + j) * load4(y + j)
            s1 += load4(x + j + 4) * load4(y + j + 4)
            j += 8
        }
        var tail = 0.0
        while j < n {
            tail += x[j] * y[j]
            j += 1
        }
        return (s0 + s1).sum() + tail
    }

    /// y ← α x + y.
    package static func axpy(count: Int, alpha: Double, x: UnsafePointer<Double>,
                            y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(blasint(count), alpha, x, 1, y, 1)
    }

    /// x ← α x.
    package static func scal(count: Int, alpha: Double, x: UnsafeMutablePointer<Double>) {
        cblas_dscal(blasint(count), alpha, x, 1)
    }

    /// xᵀ y.
    package static func dot(count: Int, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>) -> Double {
        cblas_ddot(blasint(count), x, 1, y, 1)
    }

    /// ‖x‖₂, computed by BLAS with scaling so it neither overflows nor underflows.
    package static func nrm2(count: Int, _ x: UnsafePointer<Double>) -> Double {
        cblas_dnrm2(blasint(count), x, 1)
    }

    /// ‖x‖₂ as the square root of a plain sum of squares (``vectorDot``, relative error ≤
    /// γ_{n/8+4}/2 + ε), with the fallback of ``norm(sumOfSquares:count:_:)``. OpenBLAS 0.3.21's
    /// `dnrm2` on x86-64 is a scalar x87 loop: at d = 512 the five norms of Broyden's guards took
    /// 2.8 % of its solve, and GMRES's and Newton–Krylov's norms (three per Krylov step, two more
    /// per finite-difference J·v) 3.0 % of a B = 8 Newton–Krylov solve with analytic J·v (perf).
    package static func norm(count n: Int, _ x: UnsafePointer<Double>) -> Double {
        norm(sumOfSquares: vectorDot(x, x, count: n), count: n, x)
    }

    /// ‖x‖₂ from Σ xⱼ² summed by the caller: its square root, unless the sum is not finite or is
    /// below 1e-270 (zero included), where squares could have overflowed or lost digits to
    /// underflow (each < 2.3e-308); then ``nrm2(count:_:)``, which scales, recomputes it from x.
    /// The one place of this rule (``SolveContext/residualNorms(z:fz:residual:)`` uses it too).
    @inline(__always)
    package static func norm(sumOfSquares: Double, count n: Int, _ x: UnsafePointer<Double>) -> Double {
        (1e-270...Double.greatestFiniteMagnitude).contains(sumOfSquares) ? sumOfSquares.squareRoot() : nrm2(count: n, x)
    }

    // MARK: Matrix overloads

    /// C ← α op(A) op(B) + β C.
    package static func gemm(_ a: Matrix, _ b: Matrix, into c: inout Matrix,
                            transA: Transpose = .none, transB: Transpose = .none,
                            alpha: Double = 1, beta: Double = 0) {
        let (m, k) = transA == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        let (kb, n) = transB == .none ? (b.rows, b.columns) : (b.columns, b.rows)
        precondition(k == kb, "gemm: inner dimensions \(k) and \(kb) differ.")
        precondition(c.rows == m && c.columns == n, "gemm: C is \(c.rows) × \(c.columns), expected \(m) × \(n).")
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    gemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
                         a: pa.baseAddress!, lda: max(1, a.columns),
                         b: pb.baseAddress!, ldb: max(1, b.columns),
                         beta: beta, c: pc.baseAddress!, ldc: max(1, n))
                }
            }
        }
    }

    /// op(A) x as a new vector.
    package static func gemv(_ a: Matrix, _ x: [Double], trans: Transpose = .none) -> [Double] {
        let (outCount, inCount) = trans == .none ? (a.rows, a.columns) : (a.columns, a.rows)
        precondition(x.count == inCount, "gemv: x has \(x.count) entries, expected \(inCount).")
        var y = [Double](repeating: 0, count: outCount)
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    gemv(trans, m: a.rows, n: a.columns, alpha: 1, a: pa.baseAddress!,
                         lda: max(1, a.columns), x: px.baseAddress!, beta: 0, y: py.baseAddress!)
                }
            }
        }
        return y
    }

    package static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot: lengths \(x.count) and \(y.count) differ.")
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in dot(count: x.count, px.baseAddress!, py.baseAddress!) }
        }
    }

    package static func nrm2(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { nrm2(count: x.count, $0.baseAddress!) }
    }

    /// The number of threads OpenBLAS uses (recorded in experiment manifests).
    package static var threadCount: Int { Int(openblas_get_num_threads()) }

    package static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
