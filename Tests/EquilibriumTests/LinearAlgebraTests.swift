import Testing
import Equilibrium

@Suite struct LinearAlgebraTests {
    /// The median against its definition: the middle order statistic (odd count), the mean of
    /// the two middle ones (even count), NaN entries ignored, NaN when nothing is left.
    @Test func medianIsTheMiddleOrderStatistic() {
        #expect(VectorComparison.median([3, 1, 2]) == 2)
        #expect(VectorComparison.median([4, 1, 3, 2]) == 2.5)
        #expect(VectorComparison.median([.nan, 5, -1, .nan, 7]) == 5)
        #expect(VectorComparison.median([-.infinity, 0, .infinity]) == 0)
        #expect(VectorComparison.median([]).isNaN && VectorComparison.median([.nan]).isNaN)
    }

    /// ``BLAS/norm(count:_:)`` against `dnrm2` (which scales): within the summation bound
    /// γ_{n/8+4} (halved by the square root) plus both sides' rounding, with a factor 2 margin,
    /// for ordinary magnitudes; and finite and correct where plain squares overflow (1e200),
    /// underflow (1e-200) or are all zero, which the fallback handles.
    @Test func fastNormAgreesWithScaledNorm() {
        var generator = SplitMix64(seed: 31)
        for n in [1, 7, 8, 9, 64, 511, 2048] {
            let x = generator.gaussians(count: n, scale: 1)
            for scale in [1.0, 1e-150, 1e150, 1e200, 1e-200] {
                let v = x.map { $0 * scale }
                let fast = v.withUnsafeBufferPointer { BLAS.norm(count: n, $0.baseAddress!) }
                let reference = BLAS.nrm2(v)
                let u = Double.ulpOfOne / 2
                let gamma = Double(n / 8 + 4) * u / (1 - Double(n / 8 + 4) * u)
                #expect(fast.isFinite && reference.isFinite && reference > 0, "n \(n) scale \(scale)")
                #expect(abs(fast - reference) <= 2 * (gamma / 2 + 2 * u + Double(n) * u) * reference, "n \(n) scale \(scale)")
            }
        }
        let zeros = [Double](repeating: 0, count: 9)
        #expect(zeros.withUnsafeBufferPointer { BLAS.norm(count: 9, $0.baseAddress!) } == 0)
    }

    @Test func gemmMatchesTripleLoop() throws {
        var generator = SplitMix64(seed: 1)
        let a = Matrix.gaussian(rows: 7, columns: 5, using: &generator)
        let b = Matrix.gaussian(rows: 5, columns: 3, using: &generator)
        let c = try a.multiplied(by: b)
        let absolute = try ErrorBound.absoluteProduct(a, b)
        for i in 0..<7 {
            for j in 0..<3 {
                let expected = (0..<5).reduce(0.0) { $0 + a[i, $1] * b[$1, j] }
                #expect(abs(c[i, j] - expected) <= ErrorBound.reordered(terms: 5, absolute: absolute[i, j]))
            }
        }
        // Transposed operands: (Bᵀ Aᵀ) = (A B)ᵀ, the same sums in the kernel's other order.
        var ct = Matrix(rows: 3, columns: 7)
        BLAS.gemm(b, a, into: &ct, transA: .transpose, transB: .transpose)
        for i in 0..<7 {
            for j in 0..<3 { #expect(abs(ct[j, i] - c[i, j]) <= ErrorBound.reordered(terms: 5, absolute: absolute[i, j])) }
        }
    }

    /// The one-row / one-column GEMM path (GEMV inside `BLAS.gemm`) against a triple loop, for
    /// every transpose combination with padded leading dimensions, β = 0 over a NaN-filled C
    /// (GEMM semantics: C's old contents are not read) and β = 0.5. Error bound: a sum of k
    /// products has |error| ≤ γ_k Σ|α aₗ bₗ| + ε|β c| with γ_k ≈ k ε (k ≤ 13 here, ε = 2⁻⁵³);
    /// the check allows 1e-13 × that magnitude, a margin of over 50.
    @Test func oneRowAndOneColumnProductsMatchTripleLoop() {
        var generator = SplitMix64(seed: 13)
        let k = 13, pad = 3, alpha = 0.7
        for (m, n) in [(1, 9), (6, 1), (1, 1)] {
            for transA in [BLAS.Transpose.none, .transpose] {
                for transB in [BLAS.Transpose.none, .transpose] {
                    for beta in [0.0, 0.5] {
                        // op(A) is m × k: A is stored m × k (lda ≥ k) or k × m (lda ≥ m).
                        let (aRows, aColumns) = transA == .none ? (m, k) : (k, m)
                        let (bRows, bColumns) = transB == .none ? (k, n) : (n, k)
                        let lda = aColumns + pad, ldb = bColumns + pad, ldc = n + pad
                        let a = (0..<(aRows * lda)).map { _ in generator.nextGaussian() }
                        let b = (0..<(bRows * ldb)).map { _ in generator.nextGaussian() }
                        let start = (0..<(m * ldc)).map { _ in generator.nextGaussian() }
                        var c = beta == 0 ? [Double](repeating: .nan, count: m * ldc) : start
                        BLAS.gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                  beta: beta, c: &c, ldc: ldc)
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum = 0.0, magnitude = 0.0
                                for l in 0..<k {
                                    let ail = transA == .none ? a[i * lda + l] : a[l * lda + i]
                                    let blj = transB == .none ? b[l * ldb + j] : b[j * ldb + l]
                                    sum += alpha * ail * blj
                                    magnitude += abs(alpha * ail * blj)
                                }
                                let old = beta == 0 ? 0 : beta * start[i * ldc + j]
                                let expected = sum + old
                                // Within 2γ_k Σ|terms| (k ≤ 64: 1.4e-14) of the loop, written as 1e-13 · Σ|terms|: a 7× margin.
                                #expect(abs(c[i * ldc + j] - expected) <= 1e-13 * (magnitude + abs(old)),
                                        "m=\(m) n=\(n) \(transA) \(transB) β=\(beta) (\(i), \(j))")
                            }
                        }
                    }
                }
            }
        }
    }

    /// `BLAS.gemv` below its small-product limit (own loops) and above it (OpenBLAS) against a
    /// plain loop, both orientations, β ∈ {0 over NaN, 1, 0.5}. Same error bound as above with
    /// k ≤ 300 (γ_k ≈ 3.3e-14): 1e-12 × the magnitude, a margin of 30.
    @Test func matrixVectorProductsMatchPlainLoops() {
        var generator = SplitMix64(seed: 14)
        for (m, n) in [(5, 7), (20, 512), (300, 300)] {
            let lda = n + 2
            let a = (0..<(m * lda)).map { _ in generator.nextGaussian() }
            for trans in [BLAS.Transpose.none, .transpose] {
                let (inCount, outCount) = trans == .none ? (n, m) : (m, n)
                let x = (0..<inCount).map { _ in generator.nextGaussian() }
                for beta in [0.0, 1.0, 0.5] {
                    let start = (0..<outCount).map { _ in generator.nextGaussian() }
                    // NaN under β = 0 only for the small products (the library's own loops):
                    // how OpenBLAS treats y when β = 0 is OpenBLAS's business.
                    var y = beta == 0 && m * n < 50_000 ? [Double](repeating: .nan, count: outCount) : start
                    BLAS.gemv(trans, m: m, n: n, alpha: -0.3, a: a, lda: lda, x: x, beta: beta, y: &y)
                    for r in 0..<outCount {
                        var sum = 0.0, magnitude = 0.0
                        for l in 0..<inCount {
                            let entry = trans == .none ? a[r * lda + l] : a[l * lda + r]
                            sum += -0.3 * entry * x[l]
                            magnitude += abs(0.3 * entry * x[l])
                        }
                        let old = beta == 0 ? 0 : beta * start[r]
                        // Within 2γ_n Σ|terms| (n ≤ 64: 1.4e-14) of the loop, written as 1e-12 · Σ|terms|: a 70× margin.
                        #expect(abs(y[r] - (sum + old)) <= 1e-12 * (magnitude + abs(old)),
                                "\(m) × \(n) \(trans) β=\(beta) row \(r)")
                    }
                }
            }
        }
    }

    /// The small products take rows four at a time; each entry must still see exactly the
    /// operations of one row at a time, so a product equals, bit for bit, the same product done
    /// as one-row calls (dots: one call per row; row updates: one call per row, in order).
    @Test func matrixVectorProductsTakeRowsFourAtATimeBitForBit() {
        var generator = SplitMix64(seed: 15)
        for (m, n) in [(4, 8), (7, 13), (9, 3), (20, 517)] {
            let lda = n + 1
            let a = (0..<(m * lda)).map { _ in generator.nextGaussian() }
            let x = (0..<n).map { _ in generator.nextGaussian() }, c = (0..<m).map { _ in generator.nextGaussian() }
            let start = (0..<max(m, n)).map { _ in generator.nextGaussian() }
            for beta in [0.0, 0.5] {
                var dots = Array(start[0..<m]), oneByOne = dots
                BLAS.gemv(.none, m: m, n: n, alpha: -0.3, a: a, lda: lda, x: x, beta: beta, y: &dots)
                for i in 0..<m {
                    var yi = [oneByOne[i]]
                    BLAS.gemv(.none, m: 1, n: n, alpha: -0.3, a: Array(a[(i * lda)..<(i * lda + n)]), lda: n, x: x, beta: beta, y: &yi)
                    oneByOne[i] = yi[0]
                }
                #expect(dots == oneByOne, "dots \(m) × \(n) β=\(beta)")
                var updated = Array(start[0..<n]), rowByRow = updated
                BLAS.gemv(.transpose, m: m, n: n, alpha: 0.7, a: a, lda: lda, x: c, beta: beta, y: &updated)
                for i in 0..<m {
                    BLAS.gemv(.transpose, m: 1, n: n, alpha: 0.7, a: Array(a[(i * lda)..<(i * lda + n)]), lda: n, x: [c[i]],
                              beta: i == 0 ? beta : 1, y: &rowByRow)
                }
                #expect(updated == rowByRow, "row updates \(m) × \(n) β=\(beta)")
            }
        }
    }

    /// On a CPU with AVX2 the small products run in C (`CEquilibriumKernels`); they must give,
    /// bit for bit, what the portable Swift loops give: same operations, same order, no fused
    /// multiply-add. Shapes cover whole and partial blocks of four rows and eight columns, a row
    /// stride past n, β ∈ {0 over NaN, 1, 0.5}, and entries from 1e-150 to 1e150 in magnitude (so
    /// a contracted a·b + c, rounded once, would differ). Skipped without AVX2 (then only the
    /// portable loops run, which the tests above check).
    @Test(.enabled(if: BLAS.SmallProductKernels.avx2Available, "the CPU has AVX2 (else only the portable loops run)"))
    func smallProductKernelsMatchPortableLoopsBitwise() {
        var generator = SplitMix64(seed: 16)
        func entry() -> Double { generator.wideRangeGaussian() }
        for (m, n) in [(1, 1), (3, 7), (4, 8), (5, 9), (8, 512), (20, 517), (21, 2048), (7, 3)] {
            let lda = n + 3
            let a = (0..<(m * lda)).map { _ in entry() }
            for trans in [BLAS.Transpose.none, .transpose] {
                let (inCount, outCount) = trans == .none ? (n, m) : (m, n)
                let x = (0..<inCount).map { _ in entry() }
                for beta in [0.0, 1.0, 0.5] {
                    let start = beta == 0 ? [Double](repeating: .nan, count: outCount) : (0..<outCount).map { _ in entry() }
                    var fast = start, portable = start
                    a.withUnsafeBufferPointer { pa in
                        x.withUnsafeBufferPointer { px in
                            fast.withUnsafeMutableBufferPointer { py in
                                BLAS.smallMatrixVectorProduct(trans, m: m, n: n, alpha: -0.3, a: pa.baseAddress!, lda: lda,
                                                              x: px.baseAddress!, beta: beta, y: py.baseAddress!, kernels: .fastest)
                            }
                            portable.withUnsafeMutableBufferPointer { py in
                                BLAS.smallMatrixVectorProduct(trans, m: m, n: n, alpha: -0.3, a: pa.baseAddress!, lda: lda,
                                                              x: px.baseAddress!, beta: beta, y: py.baseAddress!, kernels: .portable)
                            }
                        }
                    }
                    #expect(fast.map(\.bitPattern) == portable.map(\.bitPattern), "\(m) × \(n) \(trans) β=\(beta)")
                }
            }
        }
    }

    /// The workspace pool serves a request with the next power of two inside its pooled range and
    /// the request itself outside it, and a reused block is zero again when an arena or a
    /// scratch buffer hands it out (blocks come back dirty: a solver's state would otherwise
    /// start from the last solve's values).
    @Test func workspacePoolBlocksAreSizedAndReusedZeroed() {
        let smallest = WorkspacePool.smallestBlockBytes, largest = WorkspacePool.largestCachedBytes
        #expect(WorkspacePool.blockBytes(forRequest: 0) == 1)
        #expect(WorkspacePool.blockBytes(forRequest: smallest - 1) == smallest - 1)
        #expect(WorkspacePool.blockBytes(forRequest: smallest) == smallest)
        #expect(WorkspacePool.blockBytes(forRequest: smallest + 1) == 2 * smallest)
        #expect(WorkspacePool.blockBytes(forRequest: 3 * smallest) == 4 * smallest)
        #expect(WorkspacePool.blockBytes(forRequest: largest) == largest)
        #expect(WorkspacePool.blockBytes(forRequest: largest + 1) == largest + 1)
        // 1 MiB + 8 bytes: a 2 MiB block, taken, dirtied and given back by one arena, then
        // handed out again; whichever block the second arena gets, every entry must be zero.
        let count = (1 << 17) + 1
        for _ in 0..<3 {
            let dirty = BufferArena()
            let buffer = dirty.doubles(count)
            for i in 0..<count { buffer[i] = .nan }
            let integers = dirty.integers(count)
            for i in 0..<count { integers[i] = -1 }
        }
        let arena = BufferArena()
        let doubles = arena.doubles(count), integers = arena.integers(count)
        #expect((0..<count).allSatisfy { doubles[$0].bitPattern == 0 && integers[$0] == 0 })
        #expect(Int(bitPattern: UnsafeRawPointer(doubles)) % 64 == 0)
        #expect(Int(bitPattern: UnsafeRawPointer(integers)) % 64 == 0)
        // Buffers of one arena start at different offsets within a page (no 4 KiB aliasing): the
        // blocks start on a page, whichever other tests gave them back, and the k-th buffer k × 128
        // bytes into its block.
        #expect(Int(bitPattern: UnsafeRawPointer(doubles)) % 4096 == 0)
        #expect(Int(bitPattern: UnsafeRawPointer(integers)) % 4096 == 128)
        #expect(arena.allocatedBytes == 2 * count * 8)
        // A cell's scratch buffer, from the same pool, is handed out zeroed as well.
        for _ in 0..<3 {
            let dirty = ScratchBuffer(count: count)
            for i in 0..<count { dirty.baseAddress[i] = .nan }
        }
        let scratch = ScratchBuffer(count: count)
        #expect((0..<count).allSatisfy { scratch.baseAddress[$0].bitPattern == 0 })
        #expect(Int(bitPattern: UnsafeRawPointer(scratch.baseAddress)) % 64 == 0)
    }

    /// `gemvPair` (Anderson's Gram row and right-hand side in one pass over ΔG) must give, bit for
    /// bit, the two separate products it replaces, so that no solve changes by a rounding: with the
    /// AVX2 pair kernel, the portable loops, and above the small-product limit (OpenBLAS). Shapes
    /// cover whole and partial blocks of two rows and eight columns and a row stride past n;
    /// entries range over 1e±150 (a reordered or contracted sum would differ).
    @Test func gemvPairIsBitwiseTwoProducts() {
        var generator = SplitMix64(seed: 17)
        func entry() -> Double { generator.wideRangeGaussian() }
        for (m, n) in [(1, 1), (2, 8), (3, 7), (5, 9), (20, 512), (21, 517), (5, 2048), (17, 4099)] {
            let lda = n + 3
            let a = (0..<(m * lda)).map { _ in entry() }
            let x1 = (0..<n).map { _ in entry() }, x2 = (0..<n).map { _ in entry() }
            for kernels in [BLAS.SmallProductKernels.fastest, .portable] {
                var pair1 = [Double](repeating: .nan, count: m), pair2 = pair1
                var single1 = pair1, single2 = pair1
                a.withUnsafeBufferPointer { pa in
                    x1.withUnsafeBufferPointer { p1 in
                        x2.withUnsafeBufferPointer { p2 in
                            pair1.withUnsafeMutableBufferPointer { y1 in
                                pair2.withUnsafeMutableBufferPointer { y2 in
                                    BLAS.gemvPair(m: m, n: n, a: pa.baseAddress!, lda: lda, x1: p1.baseAddress!, y1: y1.baseAddress!,
                                                  x2: p2.baseAddress!, y2: y2.baseAddress!, kernels: kernels)
                                }
                            }
                            for (x, y) in [(p1, 1), (p2, 2)] {
                                var out = [Double](repeating: .nan, count: m)
                                out.withUnsafeMutableBufferPointer { py in
                                    if m * n <= BLAS.smallProductLimit {
                                        BLAS.smallMatrixVectorProduct(.none, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda,
                                                                      x: x.baseAddress!, beta: 0, y: py.baseAddress!, kernels: kernels)
                                    } else {
                                        BLAS.gemv(.none, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda, x: x.baseAddress!,
                                                  beta: 0, y: py.baseAddress!)
                                    }
                                }
                                if y == 1 { single1 = out } else { single2 = out }
                            }
                        }
                    }
                }
                #expect(pair1.map(\.bitPattern) == single1.map(\.bitPattern), "\(m) × \(n) \(kernels) first product")
                #expect(pair2.map(\.bitPattern) == single2.map(\.bitPattern), "\(m) × \(n) \(kernels) second product")
            }
        }
    }

    /// `gemvAndTransposed` (Broyden's U block read once for U Δz and Uᵀ(V g)) must give, bit for
    /// bit, the two separate products it replaces: y ← A x and w ← w + Aᵀ u, with the AVX2 kernel,
    /// the portable loops, and above the small-product limit (OpenBLAS). Shapes cover whole and
    /// partial blocks of four rows and eight columns and a row stride past n; entries range over
    /// 1e±150, and w starts non-zero (a reordered or contracted sum would differ).
    @Test func gemvAndTransposedIsBitwiseTwoProducts() {
        var generator = SplitMix64(seed: 23)
        func entry() -> Double { generator.wideRangeGaussian() }
        for (m, n) in [(1, 1), (4, 8), (3, 7), (5, 9), (7, 15), (20, 512), (21, 517), (5, 2048), (17, 4099)] {
            let lda = n + 3
            let a = (0..<(m * lda)).map { _ in entry() }
            let x = (0..<n).map { _ in entry() }, u = (0..<m).map { _ in entry() }
            let w0 = (0..<n).map { _ in entry() }
            for kernels in [BLAS.SmallProductKernels.fastest, .portable] {
                var fusedY = [Double](repeating: .nan, count: m), fusedW = w0
                var singleY = fusedY, singleW = w0
                a.withUnsafeBufferPointer { pa in
                    x.withUnsafeBufferPointer { px in
                        u.withUnsafeBufferPointer { pu in
                            fusedY.withUnsafeMutableBufferPointer { py in
                                fusedW.withUnsafeMutableBufferPointer { pw in
                                    BLAS.gemvAndTransposed(m: m, n: n, a: pa.baseAddress!, lda: lda, x: px.baseAddress!,
                                                           y: py.baseAddress!, u: pu.baseAddress!, w: pw.baseAddress!,
                                                           kernels: kernels)
                                }
                            }
                            singleY.withUnsafeMutableBufferPointer { py in
                                singleW.withUnsafeMutableBufferPointer { pw in
                                    if m * n <= BLAS.smallProductLimit {
                                        BLAS.smallMatrixVectorProduct(.none, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda,
                                                                      x: px.baseAddress!, beta: 0, y: py.baseAddress!, kernels: kernels)
                                        BLAS.smallMatrixVectorProduct(.transpose, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda,
                                                                      x: pu.baseAddress!, beta: 1, y: pw.baseAddress!, kernels: kernels)
                                    } else {
                                        BLAS.gemv(.none, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda, x: px.baseAddress!,
                                                  beta: 0, y: py.baseAddress!)
                                        BLAS.gemv(.transpose, m: m, n: n, alpha: 1, a: pa.baseAddress!, lda: lda, x: pu.baseAddress!,
                                                  beta: 1, y: pw.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
                #expect(fusedY.map(\.bitPattern) == singleY.map(\.bitPattern), "\(m) × \(n) \(kernels) A x")
                #expect(fusedW.map(\.bitPattern) == singleW.map(\.bitPattern), "\(m) × \(n) \(kernels) w + Aᵀ u")
                // And the product itself, against a plain sum in another order (so that both paths
                // cannot be wrong alike): each sum is within γₙ Σ |aᵢⱼ xⱼ| of the exact one, γₙ ≈ n ε
                // (Higham, Accuracy and Stability, §3.1), so the two are within 2 n ε Σ |aᵢⱼ xⱼ|;
                // checked with a margin of 2, plus n underflow units for the 1e-150 products.
                for i in 0..<m {
                    var naive = 0.0, magnitude = 0.0
                    for j in 0..<n { naive += a[i * lda + j] * x[j]; magnitude += abs(a[i * lda + j] * x[j]) }
                    let bound = 4 * Double(n) * (Double.ulpOfOne * magnitude + Double.leastNormalMagnitude)
                    #expect(abs(fusedY[i] - naive) <= bound, "\(m) × \(n) row \(i)")
                }
            }
        }
    }

    @Test func solveSatisfiesTheSystem() throws {
        var generator = SplitMix64(seed: 2)
        let a = try Matrix.gaussian(rows: 6, columns: 6, using: &generator) + 6 * Matrix.identity(6)
        let b = Matrix.gaussian(rows: 6, columns: 2, using: &generator)
        let x = try LAPACK.solve(a, b)
        // LU with partial pivoting is backward stable: ‖A x̂ − b‖ ≤ γ_{3n} ‖|L||U|‖ ‖x̂‖ (Higham Thm 9.4);
        // A = G + 6I is diagonally dominant (no growth), so ≈ 18 u ‖A‖ ‖x‖ ≈ 1e-14 ‖b‖ · κ(A) with κ < 4;
        // 1e-12 leaves a 25× margin.
        #expect(try maxRowRelativeError(a.multiplied(by: x).transposed(), b.transposed()) <= 1e-12)
    }

    @Test func singularSystemIsAnErrorNotATrap() throws {
        let singular = try Matrix([[1, 2], [2, 4]])
        #expect(throws: LinearAlgebraError.self) { try LAPACK.solve(singular, [1, 1]) }
        do {
            _ = try LAPACK.solve(singular, [1, 1])
        } catch {
            #expect(error.routine == "dgesv" && error.info > 0)
            #expect(error.description.contains("singular"))
        }
    }

    @Test func leastSquaresRecoversAnExactFit() throws {
        var generator = SplitMix64(seed: 3)
        let a = Matrix.gaussian(rows: 10, columns: 3, using: &generator)
        let truth = Matrix(rows: 3, columns: 1, storage: [1, -2, 0.5])
        let x = try LAPACK.leastSquares(a, a.multiplied(by: truth))
        // Consistent data: the QR solution errs by about κ(A) · n u with κ(A) ≈ 3 for a 10 × 3 Gaussian
        // A (Higham §20.2): ≈ 1e-15; 1e-12 is a wide margin for an unlucky draw.
        #expect(maxRowRelativeError(x.transposed(), truth.transposed()) <= 1e-12)
    }

    @Test func spectralQuantitiesOfKnownMatrices() throws {
        let d = try Matrix([[3, 0, 0], [0, -4, 0], [0, 0, 1]])
        // Backward-stable SVD and eigensolvers: |σ̂ − σ| ≤ p(n) u ‖A‖₂ with p(n) a small multiple of n
        // (Demmel, Applied Numerical Linear Algebra, Thm 5.1); n ≤ 3 and ‖A‖ ≤ 4 give ≈ 3 · 3 · 1.1e-16 · 4 =
        // 4e-15, so 1e-14 below is a 2.5× margin (the exact diagonal and rotation cases are usually exact).
        #expect(abs(try LAPACK.spectralNorm(d) - 4) <= 1e-14)
        #expect(abs(try LAPACK.spectralRadius(d) - 4) <= 1e-14)
        // A rotation by 90° has eigenvalues ±i: radius 1, norm 1.
        let rotation = try Matrix([[0, -1], [1, 0]])
        #expect(abs(try LAPACK.spectralRadius(rotation) - 1) <= 1e-14)
        let (values, vectors) = try LAPACK.symmetricEigen(Matrix([[2, 1], [1, 2]]), vectors: true)
        #expect(abs(values[0] - 1) <= 1e-14 && abs(values[1] - 3) <= 1e-14)
        #expect(vectors?.rows == 2)
    }

    @Test func choleskyHelpersSolveAndEstimateCondition() {
        // Column-major SPD matrix diag(1, 1e-6): condition 1e6.
        var a: [Double] = [1, 0, 0, 1e-6]
        var b: [Double] = [2, 3e-6]
        var work = [Double](repeating: 0, count: 6)
        var iwork = [Int32](repeating: 0, count: 2)
        #expect(LAPACK.choleskyFactor(n: 2, a: &a, lda: 2) == 0)
        let rcond = LAPACK.choleskyReciprocalCondition(n: 2, factor: &a, lda: 2, anorm: 1, work: &work, iwork: &iwork)
        // rcond of a diagonal matrix is exact up to a few roundings of 1e-6: 1e-12 absolute is 1e-6 relative, a wide margin.
        #expect(abs(rcond - 1e-6) <= 1e-12)
        #expect(LAPACK.choleskySolve(n: 2, factor: &a, lda: 2, b: &b) == 0)
        // Solving with the Cholesky factor errs by κ u per component of size 1/λ: κ = 1e6 gives
        // ≈ 1e6 · 1.1e-16 · 3 ≈ 3e-10 for the small-eigenvalue component, 1e-9 is a 3× margin; the other is
        // well conditioned (a few u).
        #expect(abs(b[0] - 2) <= 1e-14 && abs(b[1] - 3) <= 1e-9)
        var indefinite: [Double] = [1, 2, 2, 1]
        #expect(LAPACK.choleskyFactor(n: 2, a: &indefinite, lda: 2) == 2)
    }

    /// The cells' streamed weight copies are the same bits at a cache-line (and, from 4 MiB,
    /// huge-page) boundary, a cell bound to new inputs keeps its copy, and the solvers' and
    /// cells' scratch buffers start on a cache line.
    @Test func streamedMatricesAreAlignedBitwiseCopies() throws {
        var generator = SplitMix64(seed: 13)
        for (rows, columns) in [(0, 0), (1, 1), (3, 5), (512, 512), (1500, 1500)] {  // 1500² doubles = 17.2 MiB
            let w = Matrix.gaussian(rows: rows, columns: columns, using: &generator)
            let copy = StreamedMatrix(w)
            let address = Int(bitPattern: copy.baseAddress)
            #expect(address % StreamedMatrix.lineBytes == 0)
            if w.count * 8 >= StreamedMatrix.hugePageMinimumBytes { #expect(address % StreamedMatrix.hugePageBytes == 0) }
            #expect(Array(UnsafeBufferPointer(start: copy.baseAddress, count: w.count)) == w.storage)
        }
        // The solvers' and cells' scratch starts on a line too, zeroed.
        let arena = BufferArena()
        for count in [0, 1, 7, 4096] {
            let pointer = arena.doubles(count)
            #expect(Int(bitPattern: pointer) % StreamedMatrix.lineBytes == 0)
            #expect(UnsafeBufferPointer(start: pointer, count: count).allSatisfy { $0 == 0 })
            let scratch = ScratchBuffer(count: count)
            #expect(Int(bitPattern: scratch.baseAddress) % StreamedMatrix.lineBytes == 0)
            #expect(UnsafeBufferPointer(start: scratch.baseAddress, count: count).allSatisfy { $0 == 0 })
        }
        let cell = try TanhCell.random(.init(dimension: 40, batchSize: 2, seed: 3))
        let rebound = try cell.binding(input: Matrix(rows: 3, columns: 40, repeating: 0.5))
        #expect(rebound.streamedWeight === cell.streamedWeight)
        let monotone = try MonotoneCell.random(.init(dimension: 30, batchSize: 2, seed: 4))
        let reboundMonotone = try monotone.binding(input: Matrix(rows: 1, columns: 30, repeating: 0.5))
        #expect(reboundMonotone.streamedWeight === monotone.streamedWeight && reboundMonotone.weight == monotone.weight)
    }
}

extension SplitMix64 {
    /// A Gaussian scaled by one of 1, 1e-150, 1e150, 1e-8, 3.7 (chosen at random): entries whose
    /// sums a reordered or contracted (fused multiply-add) loop would round differently.
    mutating func wideRangeGaussian() -> Double {
        let scale = [1.0, 1e-150, 1e150, 1e-8, 3.7][Int(next() % 5)]
        return nextGaussian() * scale
    }
}
