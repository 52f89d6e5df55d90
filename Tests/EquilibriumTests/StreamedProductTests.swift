import Testing
@testable import Equilibrium

/// `BLAS.streamedProduct`, the kernel behind `BLAS.gemm` for C ← α A Bᵀ + β C with 2–16 rows of A
/// (a dense cell's f(z) for a small batch). Skipped on a CPU without AVX2 and FMA, where `gemm`
/// never takes it.
@Suite(.enabled(if: BLAS.streamedProductAvailable, "the CPU has AVX2 and FMA (else GEMM runs these products)"))
struct StreamedProductTests {
    /// Gaussian entries, some scaled by 1e-8 or 3.7, row-major with the given row stride.
    private static func matrix(_ rows: Int, _ columns: Int, stride: Int, _ generator: inout SplitMix64) -> [Double] {
        (0..<(rows * stride)).map { _ in generator.nextGaussian() * [1.0, 1e-8, 3.7][Int(generator.next() % 3)] }
    }

    /// C ← α A Bᵀ + β C through `BLAS.gemm` (which must route it to the streamed product).
    private static func product(m: Int, n: Int, k: Int, alpha: Double, _ a: [Double], lda: Int, _ b: [Double], ldb: Int,
                                beta: Double, _ c: inout [Double], ldc: Int) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(.none, .transpose, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                              b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
    }

    /// Against an 80-bit reference (64-bit significand: its own error ≤ k·2⁻⁶⁴ relative to
    /// Σ|aᵢₗ bⱼₗ|, negligible): any order of FMA summation satisfies |ŝ − s| ≤ γ_k Σₗ |aᵢₗ bⱼₗ|
    /// (Higham, Accuracy and Stability, §3.1), and α ŝ + β c adds at most 2u(|α s| + |β c|),
    /// so |ĉ − c| ≤ γ_{k+2} (|α| Σₗ |aᵢₗ bⱼₗ| + |β c|); the test allows twice that. Shapes cover whole
    /// and partial blocks of four rows of A and three of B, k not a multiple of four, row strides
    /// past the widths (whose padding must stay untouched), and β ∈ {0 over NaN, 1, 0.5}.
    @Test func productWithinTheRoundingBound() {
        #if arch(x86_64)
        var generator = SplitMix64(seed: 31)
        let u = Double.ulpOfOne / 2
        for (m, n, k) in [(2, 3, 256), (3, 7, 259), (4, 6, 512), (5, 10, 257), (8, 301, 1024), (16, 5, 300), (7, 1, 258)] {
            #expect(BLAS.streamedProductApplies(m: m, k: k), "\(m) × \(n) × \(k) goes to the streamed product")
            let lda = k + 3, ldb = k + 1, ldc = n + 2, alpha = -0.7
            let a = Self.matrix(m, k, stride: lda, &generator), b = Self.matrix(n, k, stride: ldb, &generator)
            for beta in [0.0, 1.0, 0.5] {
                let start = beta == 0 ? [Double](repeating: .nan, count: m * ldc) : Self.matrix(m, ldc, stride: ldc, &generator)
                var c = start
                Self.product(m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, &c, ldc: ldc)
                let gamma = Double(k + 2) * u / (1 - Double(k + 2) * u)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var exact: Float80 = 0, magnitude = 0.0
                        for l in 0..<k {
                            exact += Float80(a[i * lda + l]) * Float80(b[j * ldb + l])
                            magnitude += abs(a[i * lda + l] * b[j * ldb + l])
                        }
                        let old = beta == 0 ? 0 : start[i * ldc + j]
                        let reference = Float80(alpha) * exact + Float80(beta) * Float80(old)
                        let bound = 2 * gamma * (abs(alpha) * magnitude + abs(beta * old))
                        let error = abs(Double(Float80(c[i * ldc + j]) - reference))
                        #expect(error <= bound, "\(m) × \(n) × \(k) β=\(beta) entry (\(i), \(j)): error \(error), bound \(bound)")
                        worst = max(worst, error / max(bound, .leastNormalMagnitude))
                    }
                    for j in n..<ldc {
                        #expect(c[i * ldc + j].bitPattern == start[i * ldc + j].bitPattern, "padding (\(i), \(j)) untouched")
                    }
                }
                #expect(worst <= 1, "\(m) × \(n) × \(k) β=\(beta)")
            }
        }
        #endif
    }

    /// Each entry's sum has one order, so the result is bitwise the same on one and two BLAS
    /// threads (8 × 601 × 256 is past `streamedProductParallelWork`, so two threads split the
    /// columns) and a row's entries do not depend on which other rows are in the batch
    /// (rows 3–4 alone, and row 7 with one other, give bitwise the rows of the 8-row product).
    @Test func resultIndependentOfThreadsAndOfTheOtherRows() {
        var generator = SplitMix64(seed: 32)
        let m = 8, n = 601, k = 256
        #expect(m * n * k >= BLAS.streamedProductParallelWork)
        let a = Self.matrix(m, k, stride: k, &generator), b = Self.matrix(n, k, stride: k, &generator)
        func product(threads: Int, rows: Range<Int>) -> [Double] {
            let before = BLAS.threadCount
            BLAS.setThreadCount(threads)
            defer { BLAS.setThreadCount(before) }
            var c = [Double](repeating: .nan, count: rows.count * n)
            Self.product(m: rows.count, n: n, k: k, alpha: 1, Array(a[(rows.lowerBound * k)..<(rows.upperBound * k)]), lda: k,
                         b, ldb: k, beta: 0, &c, ldc: n)
            return c
        }
        let one = product(threads: 1, rows: 0..<m)
        #expect(one.allSatisfy { $0.isFinite })
        #expect(product(threads: 2, rows: 0..<m).map(\.bitPattern) == one.map(\.bitPattern), "1 and 2 threads")
        #expect(product(threads: 2, rows: 3..<5).map(\.bitPattern) == one[(3 * n)..<(5 * n)].map(\.bitPattern), "rows 3–4 alone")
        #expect(product(threads: 1, rows: 6..<8).map(\.bitPattern) == one[(6 * n)..<(8 * n)].map(\.bitPattern), "rows 6–7 alone")
    }
}
