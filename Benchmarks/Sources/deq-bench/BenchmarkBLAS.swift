import CBenchBLAS

/// The bare BLAS calls of the benchmarks (row-major CBLAS from OpenBLAS through the benchmark's
/// own C module `CBenchBLAS`; Equilibrium's BLAS wrapper is not public). These are the
/// references the cells are measured against, so they are called exactly as a C program would.
enum BenchmarkBLAS {
    /// The number of threads OpenBLAS uses.
    static var threadCount: Int { Int(openblas_get_num_threads()) }

    static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// C ← A op(B) (+ β C), row-major: A m × k, op(B) k × n.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
                     beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y ← op(A) x + β y, A row-major m × n.
    @inline(__always)
    static func gemv(transpose: Bool, m: Int, n: Int, a: UnsafePointer<Double>, lda: Int,
                     x: UnsafePointer<Double>, beta: Double = 0, y: UnsafeMutablePointer<Double>) {
        cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), 1,
                    a, blasint(lda), x, 1, beta, y, 1)
    }

    static func nrm2(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { cblas_dnrm2(blasint($0.count), $0.baseAddress!, 1) }
    }
}

/// A block of doubles owned by a benchmark (freed on deinit), zero-initialised.
final class BenchBuffer {
    let count: Int
    let pointer: UnsafeMutablePointer<Double>

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    /// Fills with a deterministic pseudo-random pattern in (-1, 1).
    func fill(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            pointer[i] = Double(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_001
        }
    }

    deinit { pointer.deallocate() }
}
