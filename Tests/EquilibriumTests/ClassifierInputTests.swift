import Foundation
import Testing
import Equilibrium

/// Input optimisation of a classifier's image (docs/MATH.md §6, the adversarial loss): the
/// image gradient of F(u) = −CE(s(z*(u)), y) against central differences of the re-solved
/// objective, joint and nested at the same stationary point, and the ℓ∞-ball-in-box projection
/// against its variational inequality. A tiny random ``ConvClassifier`` (1 × 4 × 4 images,
/// 4 channels, 3 classes).
@Suite struct ClassifierInputTests {
    static func model(seed: UInt64 = 5) throws -> ConvClassifier {
        try ConvClassifier.random(inputChannels: 1, height: 4, width: 4, classes: 3, channels: 4, innerChannels: 4,
                                  groups: 2, pool: 2, seed: seed)
    }

    static func images(_ rows: Int, seed: UInt64) throws -> Matrix {
        var g = SplitMix64(seed: seed)
        return try Matrix(rows: rows, columns: 16, values: g.uniforms(count: rows * 16, low: 0, high: 4))
    }

    /// An absolute-residual solve to 1e-13 (Anderson), far below what the differences resolve.
    static let tight = try! StoppingCriteria(tolerance: 1e-13, measure: .absolute, maxIterations: 5000, recordHistory: false)

    /// F(u) of one image, z* re-solved from zero; also ‖f(z) − z‖ at the returned point.
    static func objective(_ problem: InputOptimizationProblem<ClassifierImageCell>, _ u: Matrix) throws -> (value: Double, residual: Double) {
        let (values, forward) = try problem.objective(at: u, solver: AndersonAcceleration(), criteria: tight)
        #expect(forward.converged)
        return (values[0], forward.samples[0].absoluteResidual)
    }

    /// ∇F(u) = J_uᵀ μ + λu with μ = J_zᵀ μ + ∂ℓ/∂z, the pipeline both optimisers use; and
    /// ‖∂ℓ/∂z‖ and the estimate σ̂ of ‖J_z‖₂ (60 power steps on J_zᵀJ_z) at z*.
    static func gradient(_ problem: InputOptimizationProblem<ClassifierImageCell>, _ u: Matrix) throws
        -> (gradient: Matrix, lossGradientNorm: Double, jacobianNorm: Double) {
        let cell = try problem.cell.binding(input: u)
        let z = try AndersonAcceleration().solve(cell, from: Matrix(rows: u.rows, columns: cell.dimension), criteria: tight).solution
        let image = try cell(z)
        let c = try problem.lossGradient(states: z)
        let adjoint = try AndersonAcceleration().solve(try AdjointMap(cell: cell, point: z, image: image, upstream: c),
                                                      from: Matrix(rows: u.rows, columns: cell.dimension), criteria: tight)
        #expect(adjoint.converged)
        var (_, g) = try cell.parameterGradients(at: z, image: image, covectors: adjoint.solution)
        for k in 0..<g.storage.count { g.storage[k] += problem.penalty * u.storage[k] }
        let d = cell.dimension
        guard u.rows == 1 else { return (g, ErrorBound.norm(c.storage), .nan) }
        var v = try Matrix(rows: 1, columns: d, values: (0..<d).map { _ in 1 / Double(d).squareRoot() })
        var sigma = 0.0
        for _ in 0..<60 {
            let jv = try cell.jacobianVectorProduct(at: Matrix(rows: 1, columns: d, values: z.row(0)), vectors: v)
            sigma = ErrorBound.norm(jv.storage)  // ‖J v‖ with ‖v‖ = 1
            let w = try cell.vectorJacobianProduct(at: Matrix(rows: 1, columns: d, values: z.row(0)), covectors: jv)
            let n = ErrorBound.norm(w.storage)
            guard n > 0 else { break }
            v = try Matrix(rows: 1, columns: d, values: w.storage.map { $0 / n })
        }
        return (g, ErrorBound.norm(c.storage), sigma)
    }

    @Test func imageGradientMatchesCentralDifferencesOfTheResolvedObjective() throws {
        let model = try Self.model()
        let u = try Self.images(1, seed: 11)
        let problem = try InputOptimizationProblem(cell: ClassifierImageCell(model: model, images: u),
                                                   loss: NegativeCrossEntropyLoss(model: model, labels: [1]))
        let (g, lossNorm, sigma) = try Self.gradient(problem, u)
        // The contraction the error bound below needs; a power iteration underestimates ‖J_z‖₂,
        // so the bound uses 1/(1 − min(0.95, 1.15 σ̂)), a 15 % margin on σ̂ (and κ ≤ 20).
        #expect(sigma < 0.85)
        let kappa = 1 / (1 - min(0.95, 1.15 * sigma))
        let h = 1e-3
        for j in 0..<16 {
            func difference(_ step: Double) throws -> (value: Double, residual: Double) {
                var plus = u, minus = u
                plus.storage[j] += step
                minus.storage[j] -= step
                let (fp, rp) = try Self.objective(problem, plus), (fm, rm) = try Self.objective(problem, minus)
                return ((fp - fm) / (2 * step), max(rp, rm))
            }
            let (dh, r1) = try difference(h), (dh2, r2) = try difference(h / 2)
            // Error bound: D(h) − F′ = c h² + O(h⁴), so |D(h/2) − F′| ≈ |D(h) − D(h/2)| / 3
            // (Richardson), taken with a 3× margin; each F carries the solve error
            // δ ≤ ‖∂ℓ/∂z‖ · ‖r‖ · κ (‖z − z*‖ ≤ ‖r‖/(1 − ‖J_z‖)) plus rounding 1e-15 |F| ≤ 1e-14
            // (|F| = CE < 10 here), entering D(h/2) as 2δ/h.
            let delta = lossNorm * max(r1, r2) * kappa + 1e-14
            let tolerance = abs(dh - dh2) + 2 * delta / (h / 2) + 1e-12
            #expect(abs(dh2 - g.storage[j]) <= tolerance, "pixel \(j): gradient \(g.storage[j]), differences \(dh2), tolerance \(tolerance)")
        }
        #expect(ErrorBound.norm(g.storage) > 1e-6)  // a non-trivial gradient, so the check means something
    }

    @Test func jointAndNestedReachTheSameStationaryImage() throws {
        let model = try Self.model(seed: 7)
        let u0 = try Self.images(2, seed: 13)
        // A small ℓ∞ ball (ε = 0.01) in the box [0, 4]: the KKT point of min F on C has
        // u_j = max(0, u₀ⱼ − ε) where ∂F/∂u_j > 0 and u_j = min(4, u₀ⱼ + ε) where ∂F/∂u_j < 0
        // (the sign of ∇F does not change across so small a ball for these pixels, checked below
        // by the KKT signs at both methods' returned images).
        let problem = try InputOptimizationProblem(cell: ClassifierImageCell(model: model, images: u0),
                                                   loss: NegativeCrossEntropyLoss(model: model, labels: [0, 2]),
                                                   constraint: .infinityBallInBox(center: u0, radius: 0.01, lower: 0, upper: 4))
        let criteria = try StoppingCriteria(tolerance: 1e-11, measure: .absolute, maxIterations: 4000, recordHistory: false)
        let joint = try JointInputOptimizer(solver: AndersonAcceleration(), criteria: criteria, stepSize: 0.5).optimize(problem)
        let nested = try NestedInputOptimizer(forwardCriteria: criteria, adjointCriteria: criteria, stepSize: 0.5,
                                              maxSteps: 2000, gradientTolerance: 1e-10).optimize(problem)
        #expect(joint.converged, "\(joint.note), \(joint.trace.last.map { "residual \($0.residual)" } ?? "")")
        #expect(nested.converged, "\(nested.note), \(nested.trace.last.map { "residual \($0.residual)" } ?? "")")
        for result in [joint, nested] {
            let g = try Self.gradient(problem, result.inputs).gradient
            for i in 0..<2 {
                for j in 0..<16 {
                    let lo = max(0, u0[i, j] - 0.01), hi = min(4, u0[i, j] + 0.01), u = result.inputs[i, j], gj = g[i, j]
                    // KKT on a box: g ≥ 0 at the lower end, g ≤ 0 at the upper end, g = 0 inside
                    // (inside: |g| ≤ the stopping tolerance's 1e-10 / α scale; no pixel is inside here).
                    if u == lo { #expect(gj >= 0, "\(result.method) sample \(i) pixel \(j): at the lower end with ∂F/∂u = \(gj)") }
                    else if u == hi { #expect(gj <= 0, "\(result.method) sample \(i) pixel \(j): at the upper end with ∂F/∂u = \(gj)") }
                    else { #expect(abs(gj) <= 1e-8, "\(result.method) sample \(i) pixel \(j): inside with ∂F/∂u = \(gj)") }
                }
            }
        }
        // Both clip with the same expression of u₀ and ε, so equal KKT corners are bit-identical.
        #expect(joint.inputs.storage == nested.inputs.storage)
        #expect(joint.inputs.storage != u0.storage)
    }

    @Test func infinityBallInBoxProjectionSatisfiesItsVariationalInequality() throws {
        let model = try Self.model()
        let u0 = try Self.images(1, seed: 17)
        let problem = try InputOptimizationProblem(cell: ClassifierImageCell(model: model, images: u0),
                                                   loss: NegativeCrossEntropyLoss(model: model, labels: [2]),
                                                   constraint: .infinityBallInBox(center: u0, radius: 0.75, lower: 0, upper: 4))
        var g = SplitMix64(seed: 19)
        for _ in 0..<50 {
            let y = try Matrix(rows: 1, columns: 16, values: g.uniforms(count: 16, low: -3, high: 7))
            let p = problem.project(y)
            for j in 0..<16 {
                // Clipping is exact: membership is checked without tolerance.
                #expect(p[0, j] >= max(0, u0[0, j] - 0.75) && p[0, j] <= min(4, u0[0, j] + 0.75))
            }
            #expect(problem.project(p).storage == p.storage)
            // ⟨y − P(y), c − P(y)⟩ ≤ 0 for every c ∈ C; a sum of 16 products: rounding ≤ γ₁₆ Σ|terms|.
            for _ in 0..<10 {
                let c = (0..<16).map { j in
                    let lo = max(0, u0[0, j] - 0.75), hi = min(4, u0[0, j] + 0.75)
                    return lo + (hi - lo) * g.nextUniform()
                }
                let terms = (0..<16).map { j in (y[0, j] - p[0, j]) * (c[j] - p[0, j]) }
                #expect(terms.reduce(0, +) <= ErrorBound.gamma(16) * terms.reduce(0) { $0 + abs($1) })
            }
        }
        #expect(throws: UsageError.self) {
            try InputOptimizationProblem(cell: problem.cell, loss: problem.loss,
                                         constraint: .infinityBallInBox(center: u0, radius: 1, lower: 0, upper: 1))
        }
        #expect(throws: UsageError.self) {
            try InputOptimizationProblem(cell: problem.cell, loss: problem.loss,
                                         constraint: .infinityBallInBox(center: u0, radius: 0, lower: 0, upper: 4))
        }
        #expect(throws: UsageError.self) { try NegativeCrossEntropyLoss(model: model, labels: [3]) }
    }
}
