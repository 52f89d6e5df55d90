import Testing
import Equilibrium

/// The differentiable maps under test, each with a batch of 4 samples.
let differentiableZoo: [(label: String, make: @Sendable () throws -> any DifferentiableMap)] = [
    ("tanh", { try TanhCell.random(.init(dimension: 12, batchSize: 4, spectralNorm: 1.2, injectionScale: 0.7, seed: 11)) }),
    ("tanh with U and b", {
        var generator = SplitMix64(seed: 5)
        let w = try RandomMatrix.withSpectralNorm(0.9, dimension: 10, symmetric: false, using: &generator)
        let u = Matrix.gaussian(rows: 10, columns: 6, using: &generator)
        let x = Matrix.gaussian(rows: 4, columns: 6, using: &generator)
        return try TanhCell(weight: w, inputWeight: u, bias: generator.gaussians(count: 10, scale: 0.3), input: x)
    }),
    ("affine", { try AffineMap.random(dimension: 9, batchSize: 4, spectralNorm: 1.7, seed: 2) }),
]

/// Central differences (f(z + h v) − f(z − h v)) / 2h, row by row; error O(h²).
func centralDifference(_ map: some FixedPointMap, at z: Matrix, along v: Matrix, step h: Double = 1e-5) throws -> Matrix {
    try (1 / (2 * h)) * (map(z + h * v) - map(z - h * v))
}

/// The rows uᵢᵀ J(zᵢ) by central differences, one coordinate direction at a time:
/// (uᵀJ)ⱼ = ∂(uᵀ f)/∂zⱼ.
func centralDifferenceCovector(_ map: some FixedPointMap, at z: Matrix, covector u: Matrix, step h: Double = 1e-5) throws -> Matrix {
    var out = Matrix(rows: z.rows, columns: z.columns)
    for j in 0..<z.columns {
        var e = Matrix(rows: z.rows, columns: z.columns)
        for i in 0..<z.rows { e[i, j] = 1 }
        let difference = try centralDifference(map, at: z, along: e, step: h)
        for i in 0..<z.rows { out[i, j] = BLAS.dot(u.row(i), difference.row(i)) }
    }
    return out
}

func gaussianBatch(_ rows: Int, _ columns: Int, seed: UInt64, scale: Double = 1) -> Matrix {
    var generator = SplitMix64(seed: seed)
    return .gaussian(rows: rows, columns: columns, scale: scale, using: &generator)
}

/// Compacted-row products through the pointer API: rows `samples` of the batch only.
func compactedProducts<M: DifferentiableMap>(_ map: M, z: Matrix, vectors: Matrix, samples: [Int],
                                             transposed: Bool) throws -> Matrix {
    let d = map.dimension, n = samples.count
    func compact(_ m: Matrix) -> [Double] { samples.flatMap { m.row($0) } }
    let zc = compact(z), fc = compact(try map(z)), vc = compact(vectors)
    var out = [Double](repeating: .nan, count: n * d)
    let workspace = map.makeJacobianWorkspace(maxSamples: n)
    samples.withUnsafeBufferPointer { rows in
        if transposed {
            map.vectorJacobianProduct(at: zc, image: fc, covector: vc, into: &out, samples: rows, workspace: workspace)
        } else {
            map.jacobianVectorProduct(at: zc, image: fc, vector: vc, into: &out, samples: rows, workspace: workspace)
        }
    }
    return Matrix(rows: n, columns: d, storage: out)
}

@Suite struct JacobianProductTests {
    @Test(arguments: differentiableZoo.indices)
    func jacobianVectorProductMatchesCentralDifferences(index: Int) throws {
        let (label, make) = differentiableZoo[index]
        let map = try make()
        let z = gaussianBatch(map.batchSize, map.dimension, seed: 21, scale: 0.8)
        let v = gaussianBatch(map.batchSize, map.dimension, seed: 22)
        let analytic = try map.jacobianVectorProduct(at: z, vectors: v)
        let numeric = try centralDifference(map, at: z, along: v)
        #expect(maxRowRelativeError(analytic, numeric) <= 1e-6, "\(label)")
    }

    @Test(arguments: differentiableZoo.indices)
    func vectorJacobianProductMatchesCentralDifferences(index: Int) throws {
        let (label, make) = differentiableZoo[index]
        let map = try make()
        let z = gaussianBatch(map.batchSize, map.dimension, seed: 31, scale: 0.8)
        let u = gaussianBatch(map.batchSize, map.dimension, seed: 32)
        let analytic = try map.vectorJacobianProduct(at: z, covectors: u)
        let numeric = try centralDifferenceCovector(map, at: z, covector: u)
        #expect(maxRowRelativeError(analytic, numeric) <= 1e-6, "\(label)")
    }

    @Test(arguments: differentiableZoo.indices)
    func compactedRowsMatchWholeBatch(index: Int) throws {
        let (label, make) = differentiableZoo[index]
        let map = try make()
        let z = gaussianBatch(map.batchSize, map.dimension, seed: 41, scale: 0.8)
        let v = gaussianBatch(map.batchSize, map.dimension, seed: 42)
        let subset = [1, 3]
        let jvp = try compactedProducts(map, z: z, vectors: v, samples: subset, transposed: false)
        let vjp = try compactedProducts(map, z: z, vectors: v, samples: subset, transposed: true)
        let numericJVP = try centralDifference(map, at: z, along: v)
        let numericVJP = try centralDifferenceCovector(map, at: z, covector: v)
        for (r, s) in subset.enumerated() {
            let jvpError = BLAS.nrm2(zip(jvp.row(r), numericJVP.row(s)).map { $0 - $1 }) / BLAS.nrm2(numericJVP.row(s))
            let vjpError = BLAS.nrm2(zip(vjp.row(r), numericVJP.row(s)).map { $0 - $1 }) / BLAS.nrm2(numericVJP.row(s))
            #expect(jvpError <= 1e-6, "\(label) sample \(s) J·v")
            #expect(vjpError <= 1e-6, "\(label) sample \(s) vᵀJ")
        }
    }

    @Test(arguments: differentiableZoo.indices)
    func adjointIdentity(index: Int) throws {
        // vᵀ (J w) = (vᵀ J) w for every sample, to rounding.
        let (label, make) = differentiableZoo[index]
        let map = try make()
        let z = gaussianBatch(map.batchSize, map.dimension, seed: 51)
        let v = gaussianBatch(map.batchSize, map.dimension, seed: 52)
        let w = gaussianBatch(map.batchSize, map.dimension, seed: 53)
        let jw = try map.jacobianVectorProduct(at: z, vectors: w)
        let vj = try map.vectorJacobianProduct(at: z, covectors: v)
        for i in 0..<map.batchSize {
            let left = BLAS.dot(v.row(i), jw.row(i)), right = BLAS.dot(vj.row(i), w.row(i))
            // uᵀ(J v) and (Jᵀ u)ᵀ v: the same sum of d² products in two orders, 2γ_{d²} Σ|terms|; for Gaussian
            // u, v and d ≤ 32, Σ|terms| ≤ 50 max(1, |sum|), so ≈ 1e-13 · 50 / 50 — 1e-12 is a ≈ 4× margin.
            #expect(abs(left - right) <= 1e-12 * max(1, abs(left)), "\(label) sample \(i)")
        }
    }

    @Test func tanhJacobianIsDiagonalScalingOfWeight() throws {
        // J = diag(1 − f²) W: the product with a unit vector eⱼ is column j of W scaled by 1 − f².
        let cell = try TanhCell.random(.init(dimension: 6, batchSize: 2, spectralNorm: 0.9, seed: 4))
        let z = gaussianBatch(2, 6, seed: 9)
        let fz = try cell(z)
        var e = Matrix(rows: 2, columns: 6)
        e[0, 2] = 1
        e[1, 2] = 1
        let product = try cell.jacobianVectorProduct(at: z, vectors: e)
        for i in 0..<2 {
            for k in 0..<6 {
                // One product and a scaling per entry (the unit vector makes the sum exact):
                // a few roundings of the result's size.
                let expected = (1 - fz[i, k] * fz[i, k]) * cell.weight[k, 2]
                #expect(abs(product[i, k] - expected) <= 8 * ErrorBound.unitRoundoff * max(abs(expected), abs(cell.weight[k, 2])))
            }
        }
    }

    @Test func finiteDifferenceFallbackCountsEvaluations() throws {
        // The same tanh cell, once as a DifferentiableMap and once hidden behind a closure.
        let cell = try TanhCell.random(.init(dimension: 24, batchSize: 3, spectralNorm: 0.9, seed: 8))
        let closure = try ClosureMap(dimension: 24, batchSize: 3) { z, fz, samples in
            cell.evaluate(z, into: fz, samples: samples)
        }
        let solver = try NewtonKrylov(lineSearch: false)
        let criteria = try StoppingCriteria(tolerance: 1e-10, measure: .absolute)
        let finite = try solver.solve(closure, from: Matrix(rows: 3, columns: 24), criteria: criteria)
        let analytic = try solver.solve(cell, from: Matrix(rows: 3, columns: 24), criteria: criteria)
        #expect(finite.converged && analytic.converged)
        for report in finite.samples {
            // One initial evaluation, one per Newton step, one probe per Krylov step.
            #expect(report.jacobianVectorProducts == 0)
            #expect(report.evaluations == 1 + report.iterations + report.krylovIterations!)
        }
        for report in analytic.samples {
            #expect(report.jacobianVectorProducts == report.krylovIterations!)
            #expect(report.evaluations == 1 + report.iterations)
        }
        #expect(maxRowRelativeError(finite.solution, analytic.solution) <= 1e-9)
    }

    @Test func explicitFiniteDifferencesOnADifferentiableMap() throws {
        let map = try AffineMap.random(dimension: 10, batchSize: 2, spectralNorm: 0.8, seed: 3)
        let result = try NewtonKrylov(jacobianProducts: .finiteDifference)
            .solve(map, from: Matrix(rows: 2, columns: 10), criteria: try StoppingCriteria(tolerance: 1e-9))
        #expect(result.converged)
        #expect(result.samples.allSatisfy { $0.jacobianVectorProducts == 0 && $0.evaluations > 1 + $0.iterations })
        #expect(maxRowRelativeError(result.solution, try map.exactFixedPoint()) <= 1e-8)
    }
}
