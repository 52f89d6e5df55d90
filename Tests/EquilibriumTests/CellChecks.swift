import Foundation
import Testing
import Equilibrium

/// Derivative and batching checks shared by the tests of the residual, convolutional and
/// monotone cells: central finite differences of every derivative a ``ParametricCell`` offers.
enum CellChecks {
    /// ‖a − b‖ / ‖b‖ (b the reference), 0 when both vanish.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        let difference = BLAS.nrm2(zip(a, b).map { $0 - $1 })
        let scale = BLAS.nrm2(b)
        return scale > 0 ? difference / scale : difference
    }

    /// Σᵢ uᵢᵀ f(zᵢ).
    static func pairing<M: FixedPointMap>(_ map: M, _ z: Matrix, _ u: Matrix) throws -> Double {
        BLAS.dot(try map(z).storage, u.storage)
    }

    /// The gradient of Σᵢ uᵢᵀ f(zᵢ; θ) with respect to every entry of every parameter, by
    /// central differences with step h (error O(h²)).
    static func parameterGradientsByDifferences<C: ParametricCell>(_ cell: C, z: Matrix, u: Matrix,
                                                                   step h: Double = 1e-5) throws -> [NamedArray] {
        let base = cell.parameters
        return try base.indices.map { p in
            var gradient = [Double](repeating: 0, count: base[p].values.count)
            for k in gradient.indices {
                var plus = base, minus = base
                plus[p].values[k] += h
                minus[p].values[k] -= h
                gradient[k] = try (pairing(cell.replacingParameters(plus), z, u)
                               - pairing(cell.replacingParameters(minus), z, u)) / (2 * h)
            }
            return NamedArray(name: base[p].name, shape: base[p].shape, values: gradient)
        }
    }

    /// The gradient of Σᵢ uᵢᵀ f(zᵢ, xᵢ) with respect to the inputs x, by central differences.
    static func inputGradientByDifferences<C: ParametricCell>(_ cell: C, z: Matrix, u: Matrix,
                                                              step h: Double = 1e-5) throws -> Matrix {
        let x = cell.input
        var gradient = Matrix(rows: x.rows, columns: x.columns)
        for k in x.storage.indices {
            var plus = x, minus = x
            plus.storage[k] += h
            minus.storage[k] -= h
            gradient.storage[k] = try (pairing(cell.binding(input: plus), z, u) - pairing(cell.binding(input: minus), z, u)) / (2 * h)
        }
        return gradient
    }

    /// Every derivative of the cell at z against central differences, as (what, relative error):
    /// J·v, vᵀJ, each parameter's gradient, the input gradient; plus the adjoint identity
    /// vᵀ(J w) = (vᵀJ) w (relative to |vᵀ J w|).
    static func derivativeErrors<C: ParametricCell>(_ cell: C, at z: Matrix, seed: UInt64) throws -> [(String, Double)] {
        let b = cell.batchSize, d = cell.dimension
        let v = gaussianBatch(b, d, seed: seed + 1)
        let u = gaussianBatch(b, d, seed: seed + 2)
        var errors: [(String, Double)] = []
        let jvp = try cell.jacobianVectorProduct(at: z, vectors: v)
        errors.append(("J·v", relativeError(jvp.storage, try centralDifference(cell, at: z, along: v).storage)))
        let vjp = try cell.vectorJacobianProduct(at: z, covectors: u)
        errors.append(("vᵀJ", relativeError(vjp.storage, try centralDifferenceCovector(cell, at: z, covector: u).storage)))
        let left = BLAS.dot(u.storage, jvp.storage), right = BLAS.dot(vjp.storage, v.storage)
        errors.append(("adjoint identity", abs(left - right) / max(abs(left), 1e-300)))
        let analytic = try cell.parameterGradients(at: z, image: try cell(z), covectors: u)
        let numeric = try parameterGradientsByDifferences(cell, z: z, u: u)
        #expect(analytic.parameters.map(\.name) == numeric.map(\.name))
        #expect(analytic.parameters.map(\.shape) == numeric.map(\.shape))
        for (a, n) in zip(analytic.parameters, numeric) {
            errors.append(("∂/∂\(a.name)", relativeError(a.values, n.values)))
        }
        let inputGradient = try inputGradientByDifferences(cell, z: z, u: u)
        #expect(analytic.input.rows == inputGradient.rows && analytic.input.columns == inputGradient.columns)
        errors.append(("∂/∂x", relativeError(analytic.input.storage, inputGradient.storage)))
        return errors
    }

    /// Evaluation and both products on the compacted rows `samples`, next to the whole-batch
    /// results' rows: the largest relative difference of any row.
    /// The tolerance of a compaction check: rows of a compacted batch go through GEMMs of
    /// another shape, and BLAS kernels block m, n and k differently, so sums are reordered. Each
    /// product with inner dimension k then differs by at most 2 γ_k ‖A‖‖B‖, γ_k ≈ k ε (Higham,
    /// "Accuracy and Stability of Numerical Algorithms", §3.5), and the norms after it amplify
    /// that by their conditioning κ, up to 1/σ of a group: for the small random cells of these
    /// tests (groups of 3–9 entries) κ‖A‖‖B‖/‖AB‖ stays below 10³, so rounding moves a row by at
    /// most 10³ · 2 Σ k ε ≲ 2e-11 for Σ k ≤ 45. A compaction mistake (a row of another sample,
    /// a stale buffer) moves it by O(1). The tolerance 1e-10 sits between the two, a factor 5
    /// above the rounding bound and ten orders of magnitude below a mistake; measured here:
    /// 1.2e-13 at worst (OpenBLAS Prescott and Core2 kernels), ≤ 1e-13 under Haswell, Zen, Nehalem,
    /// Sandybridge.
    static let compactionTolerance = 1e-10

    static func compactionError<M: DifferentiableMap>(_ map: M, at z: Matrix, samples: [Int], seed: UInt64) throws -> Double {
        let d = map.dimension, n = samples.count
        let v = gaussianBatch(map.batchSize, d, seed: seed)
        let full = try map(z)
        func compact(_ m: Matrix) throws -> [Double] { samples.flatMap { m.row($0) } }
        let zc = try compact(z)
        var fc = [Double](repeating: .nan, count: n * d)
        samples.withUnsafeBufferPointer { rows in map.evaluate(zc, into: &fc, samples: rows) }
        let jvp = try compactedProducts(map, z: z, vectors: v, samples: samples, transposed: false)
        let vjp = try compactedProducts(map, z: z, vectors: v, samples: samples, transposed: true)
        let fullJVP = try map.jacobianVectorProduct(at: z, vectors: v)
        let fullVJP = try map.vectorJacobianProduct(at: z, covectors: v)
        var worst = relativeError(fc, try compact(full))
        worst = max(worst, relativeError(jvp.storage, try compact(fullJVP)))
        worst = max(worst, relativeError(vjp.storage, try compact(fullVJP)))
        return worst
    }

    /// One workspace reused across points and row sets gives the products of fresh workspaces
    /// (the cached forward intermediates must follow the point).
    static func workspaceReuseError<M: DifferentiableMap>(_ map: M, points: [Matrix], seed: UInt64) throws -> Double {
        let b = map.batchSize, d = map.dimension
        let shared = map.makeJacobianWorkspace(maxSamples: b)
        func product(_ workspace: M.JacobianWorkspace, _ z: [Double], _ fz: [Double], _ v: [Double], _ samples: [Int],
                     transposed: Bool) -> [Double] {
            var out = [Double](repeating: .nan, count: samples.count * d)
            samples.withUnsafeBufferPointer { rows in
                if transposed {
                    map.vectorJacobianProduct(at: z, image: fz, covector: v, into: &out, samples: rows, workspace: workspace)
                } else {
                    map.jacobianVectorProduct(at: z, image: fz, vector: v, into: &out, samples: rows, workspace: workspace)
                }
            }
            return out
        }
        var worst = 0.0
        for (k, z) in points.enumerated() {
            let image = try map(z), v = gaussianBatch(b, d, seed: seed + UInt64(k))
            for samples in [Array(0..<b), Array(stride(from: 0, to: b, by: 2)), Array(0..<b)] {
                let zc = samples.flatMap { z.row($0) }, fc = samples.flatMap { image.row($0) }, vc = samples.flatMap { v.row($0) }
                for transposed in [false, true] {
                    let reused = product(shared, zc, fc, vc, samples, transposed: transposed)
                    let fresh = product(map.makeJacobianWorkspace(maxSamples: b), zc, fc, vc, samples, transposed: transposed)
                    worst = max(worst, relativeError(reused, fresh))
                }
            }
        }
        return worst
    }

    /// Random values around γ = 1, β = 0 for every norm parameter, so that the affine part of
    /// the norms is exercised (PyTorch initialises γ = 1, β = 0).
    static func perturbingNorms<C: ParametricCell>(_ cell: C, seed: UInt64) throws -> C {
        var generator = SplitMix64(seed: seed)
        let parameters = cell.parameters.map { p -> NamedArray in
            var q = p
            if p.name.hasSuffix(".weight") && p.name.hasPrefix("norm") {
                q.values = p.values.map { $0 + 0.3 * generator.nextGaussian() }
            } else if p.name.hasSuffix(".bias") {
                q.values = p.values.map { $0 + 0.2 * generator.nextGaussian() }
            }
            return q
        }
        return try cell.replacingParameters(parameters)
    }

    /// Solves with every solver family and checks the fixed-point property of the returned
    /// points by re-evaluating the map.
    static func solversReachFixedPoint<M: FixedPointMap>(_ map: M, solvers: [any FixedPointSolver], tolerance: Double = 1e-9,
                                                         label: String) throws {
        let criteria = try StoppingCriteria(tolerance: tolerance, measure: .relative, maxIterations: 2000)
        for solver in solvers {
            let result = try solver.solve(map, from: Matrix(rows: map.batchSize, columns: map.dimension), criteria: criteria)
            #expect(result.converged, "\(label): \(solver.name) did not converge: \(result.samples.map(\.outcome))")
            let image = try map(result.solution)
            for i in 0..<map.batchSize {
                let residual = BLAS.nrm2(zip(image.row(i), result.solution.row(i)).map { $0 - $1 }) / BLAS.nrm2(image.row(i))
                #expect(residual <= tolerance * (1 + 1e-6), "\(label): \(solver.name) sample \(i) residual \(residual)")
            }
        }
    }
}
