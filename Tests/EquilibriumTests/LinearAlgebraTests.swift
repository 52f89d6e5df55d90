import Testing
import Equilibrium

@Suite struct LinearAlgebraTests {
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

    @Test func solveSatisfiesTheSystem() throws {
        var generator = SplitMix64(seed: 2)
        let a = try Matrix.gaussian(rows: 6, columns: 6, using: &generator) + 6 * Matrix.identity(6)
        let b = Matrix.gaussian(rows: 6, columns: 2, using: &generator)
        let x = try LAPACK.solve(a, b)
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
        #expect(maxRowRelativeError(x.transposed(), truth.transposed()) <= 1e-12)
    }

    @Test func spectralQuantitiesOfKnownMatrices() throws {
        let d = try Matrix([[3, 0, 0], [0, -4, 0], [0, 0, 1]])
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
        #expect(abs(rcond - 1e-6) <= 1e-12)
        #expect(LAPACK.choleskySolve(n: 2, factor: &a, lda: 2, b: &b) == 0)
        #expect(abs(b[0] - 2) <= 1e-14 && abs(b[1] - 3) <= 1e-9)
        var indefinite: [Double] = [1, 2, 2, 1]
        #expect(LAPACK.choleskyFactor(n: 2, a: &indefinite, lda: 2) == 2)
    }
}
