import Testing
import Equilibrium

/// The backward solvers every exact-gradient test runs with.
let backwardSolvers: [(label: String, solver: any FixedPointSolver)] = [
    ("forward", ForwardIteration()),
    ("anderson", AndersonAcceleration()),
    ("broyden", Broyden()),
    ("newton-krylov", NewtonKrylov()),
]

/// A fixed point to (nearly) machine precision.
func tightFixedPoint<Map: FixedPointMap>(_ map: Map) throws -> Matrix {
    let criteria = try StoppingCriteria(tolerance: 1e-14, measure: .relative, maxIterations: 500, recordHistory: false)
    let result = try NewtonKrylov().solve(map, from: Matrix(rows: map.batchSize, columns: map.dimension), criteria: criteria)
    #expect(result.samples.allSatisfy { $0.relativeResidual < 1e-13 }, "the reference fixed point is not tight")
    return result.solution
}

/// The closed form of the tanh cell's exact gradient for L = Σ cᵢᵀ zᵢ* (the oracle):
/// sᵢ = 1 − zᵢ*², (I − Wᵀ diag(sᵢ)) gᵢ = cᵢ, ∂L/∂W = Σ (sᵢ ⊙ gᵢ) zᵢ*ᵀ, ∂L/∂xᵢ = sᵢ ⊙ gᵢ.
func tanhClosedForm(_ cell: TanhCell, fixedPoint z: Matrix, upstream c: Matrix) throws -> (dW: Matrix, dx: Matrix, adjoint: Matrix) {
    let b = cell.batchSize, d = cell.dimension
    var adjoint = Matrix(rows: b, columns: d), scaled = Matrix(rows: b, columns: d)
    for i in 0..<b {
        let s = z.row(i).map { 1 - $0 * $0 }
        var system = Matrix.identity(d)
        for r in 0..<d { for k in 0..<d { system[r, k] -= cell.weight[k, r] * s[k] } }
        let g = try LAPACK.solve(system, c.row(i))
        adjoint.setRow(i, to: g)
        scaled.setRow(i, to: zip(s, g).map(*))
    }
    return (try scaled.transposed().multiplied(by: z), scaled, adjoint)
}

/// λ Σ_{j<k} ((1 − λ) I + λ Jᵢᵀ)^j cᵢ for every sample, with the dense Jᵢ given.
func seriesAdjoint(jacobians: [Matrix], upstream c: Matrix, steps k: Int, damping lambda: Double) throws -> Matrix {
    let b = c.rows, d = c.columns
    var out = Matrix(rows: b, columns: d)
    for i in 0..<b {
        let m = try (1 - lambda) * Matrix.identity(d) + lambda * jacobians[i].transposed()
        var term = c.row(i), sum = term
        for _ in 1..<k {
            term = BLAS.gemv(m, term)
            for j in 0..<d { sum[j] += term[j] }
        }
        out.setRow(i, to: sum.map { lambda * $0 })
    }
    return out
}

@Suite struct GradientEstimatorTests {
    static func tanhCell() throws -> TanhCell {
        try TanhCell.random(.init(dimension: 16, batchSize: 3, spectralNorm: 0.9, injectionScale: 1, seed: 17))
    }

    @Test(arguments: backwardSolvers.indices)
    func exactGradientMatchesTheTanhClosedForm(index: Int) throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 4)
        let oracle = try tanhClosedForm(cell, fixedPoint: z, upstream: c)
        let criteria = try StoppingCriteria(tolerance: 1e-12, maxIterations: 2000, recordHistory: false)
        let result = try ImplicitGradient(solver: backwardSolvers[index].solver, criteria: criteria)
            .estimate(cell: cell, solution: z, upstream: c)
        #expect(result.converged)
        #expect(result.label == "implicit \(backwardSolvers[index].label)")
        #expect(result.parameters.map(\.name) == ["W"])
        #expect(GradientComparison.relativeError(result.parameters[0].values, oracle.dW.storage) < 1e-9)
        #expect(GradientComparison.relativeError(result.input.storage, oracle.dx.storage) < 1e-9)
        // Counts: every evaluation of the adjoint map (and every J_h·v) is one VJP of the cell.
        let backward = try #require(result.statistics.backward)
        #expect(backward.solver == backwardSolvers[index].label)
        #expect(result.statistics.vectorJacobianProducts >= backward.maxIterations)
        #expect(backward.relativeResiduals.allSatisfy { $0 <= 1e-12 })
    }

    @Test func denseLUMatchesTheTanhClosedForm() throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 4)
        let oracle = try tanhClosedForm(cell, fixedPoint: z, upstream: c)
        let result = try ImplicitGradient.denseLU.estimate(cell: cell, solution: z, upstream: c)
        #expect(result.converged && result.label == "implicit lu")
        // Both solve (I − Jᵀ) y = c by LU (backward stable, Higham Thm 9.5): each y errs by at most
        // κ(I − J) · 3d u · (1 + growth) relative; with ‖W‖₂ = 0.9, κ ≤ 1.9/0.1 = 19, d = 16, so about
        // 19 · 48 · 1.1e-16 ≈ 1e-13 for each, 2e-13 apart; 1e-12 leaves a 5× margin (dW and dx are one
        // more product of O(d) terms).
        #expect(GradientComparison.relativeError(result.parameters[0].values, oracle.dW.storage) < 1e-12)
        #expect(GradientComparison.relativeError(result.input.storage, oracle.dx.storage) < 1e-12)
        #expect(GradientComparison.relativeError(try #require(result.adjoint).storage, oracle.adjoint.storage) < 1e-12)
        #expect(result.statistics.jacobianVectorProducts == 16)
    }

    /// The whole chain (fixed point, adjoint, parameter products) against central differences
    /// of L(θ) = Σ cᵢᵀ z*(θ), each z* re-solved: U and b included.
    @Test func exactGradientMatchesFiniteDifferencesOfTheFixedPoint() throws {
        var generator = SplitMix64(seed: 31)
        let w = try RandomMatrix.withSpectralNorm(0.8, dimension: 5, symmetric: false, using: &generator)
        let cell = try TanhCell(weight: w, inputWeight: Matrix.gaussian(rows: 5, columns: 3, scale: 0.6, using: &generator),
                            bias: generator.gaussians(count: 5, scale: 0.3),
                            input: Matrix.gaussian(rows: 2, columns: 3, using: &generator))
        let c = gaussianBatch(2, 5, seed: 32)
        func loss(_ cell: TanhCell) throws -> Double { BLAS.dot(try tightFixedPoint(cell).storage, c.storage) }
        let result = try ImplicitGradient.denseLU.estimate(cell: cell, solution: tightFixedPoint(cell), upstream: c)
        let h = 1e-6
        for (p, parameter) in cell.parameters.enumerated() {
            var numeric = [Double](repeating: 0, count: parameter.values.count)
            for k in parameter.values.indices {
                var plus = cell.parameters, minus = cell.parameters
                plus[p].values[k] += h
                minus[p].values[k] -= h
                numeric[k] = try (loss(cell.replacingParameters(plus)) - loss(cell.replacingParameters(minus))) / (2 * h)
            }
            let error = GradientComparison.relativeError(result.parameters[p].values, numeric)
            #expect(error < 1e-6, "dL/d\(parameter.name): relative error \(error)")
        }
        var numeric = Matrix(rows: 2, columns: 3)
        for k in numeric.storage.indices {
            var plus = cell.input, minus = cell.input
            plus.storage[k] += h
            minus.storage[k] -= h
            numeric.storage[k] = try (loss(cell.binding(input: plus)) - loss(cell.binding(input: minus))) / (2 * h)
        }
        #expect(GradientComparison.relativeError(result.input.storage, numeric.storage) < 1e-6)
    }

    /// The affine map: y = (I − Aᵀ)⁻¹ c, ∂L/∂A = Σ yᵢ zᵢ*ᵀ, ∂L/∂bᵢ = yᵢ, by every backward solver.
    @Test(arguments: backwardSolvers.indices)
    func exactGradientOfTheAffineMapMatchesLAPACK(index: Int) throws {
        let map = try AffineMap.random(dimension: 12, batchSize: 3, spectralNorm: 0.7, seed: 6)
        let z = try map.exactFixedPoint(), c = gaussianBatch(3, 12, seed: 7)
        let y = try LAPACK.solve(Matrix.identity(12) - map.matrix.transposed(), c.transposed()).transposed()
        let criteria = try StoppingCriteria(tolerance: 1e-12, maxIterations: 2000, recordHistory: false)
        let result = try ImplicitGradient(solver: backwardSolvers[index].solver, criteria: criteria)
            .estimate(cell: map, solution: z, upstream: c)
        #expect(result.converged)
        // As below: an iterative adjoint to 1e-12 with κ ≤ 19 against LU, ≈ 2e-11; 1e-10 is a 5× margin.
        #expect(GradientComparison.relativeError(result.input.storage, y.storage) < 1e-10)
        #expect(try GradientComparison.relativeError(result.parameters[0].values,
                                                     y.transposed().multiplied(by: z).storage) < 1e-10)
    }

    @Test(arguments: [(1, 1.0), (2, 0.5), (5, 0.8), (10, 1.0), (20, 0.5)])
    func unrolledPhantomAtAFixedPointEqualsTheSeries(steps: Int, damping: Double) throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 8)
        let series = try seriesAdjoint(jacobians: try cell.denseJacobians(at: z), upstream: c, steps: steps, damping: damping)
        let expected = try cell.parameterGradients(at: z, image: try cell(z), covectors: series)
        let result = try PhantomGradient(mode: .unrolled, steps: steps, damping: damping).estimate(cell: cell, solution: z, upstream: c)
        // Adjoints solved to 1e-12 relative by an iterative solver vs LU: the error is the solve's, ≤ κ(I − J) · 1e-12
        // ≈ 1e-11 relative; 1e-10 is a 10× margin.
        #expect(GradientComparison.relativeError(result.parameters[0].values, expected.parameters[0].values) < 1e-10)
        #expect(GradientComparison.relativeError(result.input.storage, expected.input.storage) < 1e-10)
        #expect(result.adjoint == nil)
        #expect(result.statistics.evaluations == steps)
        #expect(result.statistics.vectorJacobianProducts == steps - 1)
        #expect(result.statistics.parameterProducts == steps)
        #expect(result.statistics.floatsKept == 3 * steps * 3 * 16 + 2 * 3 * 16)
    }

    /// Away from a fixed point the unrolled gradient is back-propagation through the k damped
    /// steps from h₀ (J and ∂f/∂θ at each step): central differences of L = cᵀ h_k(θ).
    @Test func unrolledPhantomBackPropagatesThroughTheSteps() throws {
        var generator = SplitMix64(seed: 41)
        let w = try RandomMatrix.withSpectralNorm(1.1, dimension: 6, symmetric: false, using: &generator)
        let cell = try TanhCell(weight: w, bias: generator.gaussians(count: 6, scale: 0.5),
                            input: Matrix.gaussian(rows: 2, columns: 6, using: &generator))
        let h0 = gaussianBatch(2, 6, seed: 42), c = gaussianBatch(2, 6, seed: 43)
        let (k, lambda) = (4, 0.7)
        func loss(_ cell: TanhCell) throws -> Double {
            var h = h0
            for _ in 0..<k { h = try lambda * cell(h) + (1 - lambda) * h }
            return BLAS.dot(h.storage, c.storage)
        }
        let result = try PhantomGradient(mode: .unrolled, steps: k, damping: lambda).estimate(cell: cell, solution: h0, upstream: c)
        let step = 1e-6
        for (p, parameter) in cell.parameters.enumerated() {
            var numeric = [Double](repeating: 0, count: parameter.values.count)
            for i in parameter.values.indices {
                var plus = cell.parameters, minus = cell.parameters
                plus[p].values[i] += step
                minus[p].values[i] -= step
                numeric[i] = try (loss(cell.replacingParameters(plus)) - loss(cell.replacingParameters(minus))) / (2 * step)
            }
            #expect(GradientComparison.relativeError(result.parameters[p].values, numeric) < 1e-7, "\(parameter.name)")
        }
        // Not a fixed point: the Neumann form (J frozen at h₀) differs.
        let neumann = try PhantomGradient(mode: .neumann, steps: k, damping: lambda).estimate(cell: cell, solution: h0, upstream: c)
        #expect(GradientComparison.relativeError(neumann.parameters[0].values, result.parameters[0].values) > 1e-3)
    }

    /// The Neumann form is the series with J frozen at the given point, fixed point or not.
    @Test(arguments: [(1, 1.0), (3, 0.5), (7, 0.8), (12, 1.0)])
    func neumannPhantomEqualsTheFrozenSeries(steps: Int, damping: Double) throws {
        let cell = try Self.tanhCell()
        let z = gaussianBatch(3, 16, seed: 9, scale: 0.5), c = gaussianBatch(3, 16, seed: 10)
        let series = try seriesAdjoint(jacobians: try cell.denseJacobians(at: z), upstream: c, steps: steps, damping: damping)
        let result = try PhantomGradient(mode: .neumann, steps: steps, damping: damping).estimate(cell: cell, solution: z, upstream: c)
        // The same k-term series of J-products summed in another order: each term is a product of
        // d = 16 terms with ‖(1 − λ)I + λJ‖ ≤ 1, so the sums differ by at most k · 2γ_d ≈ 12 · 3.6e-15 =
        // 4e-14 relative to Σ‖terms‖ ≤ k ‖c‖; 1e-12 is a 25× margin over the worst k = 12.
        #expect(GradientComparison.relativeError(try #require(result.adjoint).storage, series.storage) < 1e-12)
        let expected = try cell.parameterGradients(at: z, image: try cell(z), covectors: series)
        #expect(GradientComparison.relativeError(result.parameters[0].values, expected.parameters[0].values) < 1e-12)
        #expect(result.statistics.vectorJacobianProducts == steps - 1)
        #expect(result.statistics.evaluations == 1 && result.statistics.parameterProducts == 1)
    }

    /// As k grows the phantom gradient tends to the exact one on a contractive cell.
    @Test func phantomConvergesToTheExactGradient() throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 11)
        let exact = try ImplicitGradient.denseLU.estimate(cell: cell, solution: z, upstream: c)
        var previous = Double.infinity
        for k in [1, 5, 20, 80] {
            let result = try PhantomGradient(mode: .unrolled, steps: k).estimate(cell: cell, solution: z, upstream: c)
            let error = try GradientComparison(result, reference: exact).parameterRelativeError
            #expect(error < previous)
            previous = error
        }
        #expect(previous < 1e-6)
    }

    @Test func jacobianFreeIsPhantomWithOneUndampedStep() throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 12)
        let jfb = try JacobianFreeGradient().estimate(cell: cell, solution: z, upstream: c)
        for mode in PhantomGradient.Mode.allCases {
            let phantom = try PhantomGradient(mode: mode, steps: 1, damping: 1).estimate(cell: cell, solution: z, upstream: c)
            #expect(phantom.parameters == jfb.parameters && phantom.input == jfb.input)
        }
        let direct = try cell.parameterGradients(at: z, image: try cell(z), covectors: c)
        #expect(jfb.parameters == direct.parameters && jfb.input == direct.input)
        #expect(jfb.statistics.vectorJacobianProducts == 0 && jfb.label == "jfb")
    }

    @Test func shineUsesTheInverseEstimateAndFallsBackPerSample() throws {
        let cell = try TanhCell.random(.init(dimension: 4, batchSize: 2, spectralNorm: 0.5, seed: 3))
        let z = try tightFixedPoint(cell)
        let c = try Matrix([[1, 0, 0, 0], [0, 1, 0, 0]])
        // Sample 0: H = −I + u vᵀ with ‖u‖‖v‖ = 0.25, so −Hᵀc = c − v (uᵀc) stays within 1.8‖c‖.
        // Sample 1: ‖−Hᵀc‖ = ‖c − 10 v‖ ≈ 10 > 1.8 ‖c‖: falls back to c.
        let inverse = try BroydenInverse(dimension: 4, pairs: [
            [(u: [0.5, 0, 0, 0], v: [0, 0.5, 0, 0])],
            [(u: [0, 10, 0, 0], v: [0, 0, 1, 0])],
        ])
        let result = try SHINEGradient().estimate(cell: cell, solution: z, upstream: c,
                                                  byproducts: SolverByproducts(inverseJacobian: inverse))
        let adjoint = try #require(result.adjoint)
        #expect(adjoint.row(0) == [1, -0.25, 0, 0])
        #expect(adjoint.row(1) == c.row(1))
        #expect(result.statistics.fallbackSamples == 1)
        let expected = try cell.parameterGradients(at: z, image: try cell(z), covectors: adjoint)
        #expect(result.parameters == expected.parameters)

        // A larger ratio accepts sample 1's estimate c − 10 v.
        let lenient = try SHINEGradient(fallbackRatio: 20).estimate(cell: cell, solution: z, upstream: c,
                                                                    byproducts: SolverByproducts(inverseJacobian: inverse))
        #expect(lenient.statistics.fallbackSamples == 0)
        #expect(try #require(lenient.adjoint).row(1) == [0, 1, -10, 0])

        // No inverse: every sample falls back, and the result says why.
        let without = try SHINEGradient().estimate(cell: cell, solution: z, upstream: c)
        #expect(without.statistics.fallbackSamples == 2 && without.statistics.note != nil)
        #expect(without.adjoint == c)
    }

    /// With H = J_g⁻¹ exactly (built as −I + Σ uⱼ eⱼᵀ, uⱼ the columns of J_g⁻¹ + I), SHINE's
    /// −Hᵀc is the exact adjoint (I − J)⁻ᵀ c: the sign and transposition of the estimate.
    @Test func shineWithTheExactInverseIsTheExactGradient() throws {
        let cell = try TanhCell.random(.init(dimension: 6, batchSize: 2, spectralNorm: 0.8, seed: 12))
        let z = try tightFixedPoint(cell), c = gaussianBatch(2, 6, seed: 3)
        let jacobians = try cell.denseJacobians(at: z)
        var pairs: [[(u: [Double], v: [Double])]] = []
        for j in jacobians {
            let inverse = try LAPACK.solve(j - Matrix.identity(6), Matrix.identity(6)) + Matrix.identity(6)
            pairs.append((0..<6).map { k in (u: (0..<6).map { inverse[$0, k] }, v: (0..<6).map { $0 == k ? 1.0 : 0.0 }) })
        }
        let byproducts = SolverByproducts(inverseJacobian: try BroydenInverse(dimension: 6, pairs: pairs))
        let shine = try SHINEGradient(fallbackRatio: 1e6).estimate(cell: cell, solution: z, upstream: c, byproducts: byproducts)
        let exact = try ImplicitGradient.denseLU.estimate(cell: cell, solution: z, upstream: c)
        #expect(shine.statistics.fallbackSamples == 0)
        // SHINE with the exact inverse (from one LU) against the LU gradient: two backward-stable
        // solves of a d = 6 system with κ ≤ 19, each within 19 · 18 u ≈ 4e-14; 1e-12 is a 12× margin.
        #expect(try GradientComparison(shine, reference: exact).parameterRelativeError < 1e-12)
    }

    /// With the forward Broyden's own inverse; refinement steps converge to the exact adjoint.
    @Test func shineFromTheForwardBroydenAndItsRefinement() throws {
        let cell = try TanhCell.random(.init(dimension: 24, batchSize: 3, spectralNorm: 0.6, seed: 5))
        let criteria = try StoppingCriteria(tolerance: 1e-12, maxIterations: 200)
        let z0 = Matrix(rows: 3, columns: 24)
        let kept = try Broyden().solve(cell, from: z0, criteria: criteria)
        let inverse = try #require(kept.byproducts.inverseJacobian as? BroydenInverse)
        #expect(kept.converged)
        #expect(inverse.pairCounts.allSatisfy { $0 > 0 && $0 <= Broyden().memory })
        let c = gaussianBatch(3, 24, seed: 13)
        let exact = try ImplicitGradient.denseLU.estimate(cell: cell, solution: kept.solution, upstream: c)
        let byproducts = kept.byproducts
        let shine = try SHINEGradient().estimate(cell: cell, solution: kept.solution, upstream: c, byproducts: byproducts)
        let refined = try SHINEGradient(refineSteps: 60).estimate(cell: cell, solution: kept.solution, upstream: c, byproducts: byproducts)
        let shineError = try GradientComparison(shine, reference: exact).parameterRelativeError
        let refinedError = try GradientComparison(refined, reference: exact).parameterRelativeError
        // SHINE's adjoint is y = −Hᵀc with the forward Broyden's own H ≈ (J − I)⁻¹ (unless
        // ‖y‖ > 1.8‖c‖, then y = c), and for f = tanh(Wz + x) the input gradient is
        // dL/dx = (1 − z*²) ⊙ y. Rebuilt here from H in dense form (an independent path from the
        // low-rank product SHINE uses): equal to rounding, d = 24 terms of size O(1), 1e-12.
        var fallbacks = 0
        for i in 0..<3 {
            let h = try inverse.dense(sample: i)
            var y = (0..<24).map { j in -(0..<24).reduce(0.0) { $0 + h[$1, j] * c[i, $1] } }
            if BLAS.nrm2(y) > 1.8 * BLAS.nrm2(c.row(i)) {
                y = c.row(i)
                fallbacks += 1
            }
            for j in 0..<24 {
                let z = kept.solution[i, j]
                // One product (1 − z²) y per entry: 3u relative; 1e-12 is a wide margin.
                #expect(abs(shine.input[i, j] - (1 - z * z) * y[j]) <= 1e-12 * max(1, abs(y[j])), "sample \(i), entry \(j)")
            }
        }
        #expect(shine.statistics.fallbackSamples == fallbacks)
        // The forward Broyden's H is a low-rank secant estimate, not the inverse: SHINE is
        // approximate (error well above the refined one), the refinement makes it exact.
        #expect(shineError.isFinite && shineError > 1e3 * refinedError)
        #expect(refinedError < 1e-9)
        #expect(refined.statistics.vectorJacobianProducts == 60 && shine.statistics.vectorJacobianProducts == 0)
    }

    /// A backward solve that runs out of iterations, or diverges, is reported as such.
    @Test func nonConvergingBackwardSolvesAreReported() throws {
        let cell = try Self.tanhCell()
        let z = try tightFixedPoint(cell), c = gaussianBatch(3, 16, seed: 14)
        let capped = try ImplicitGradient(solver: ForwardIteration(),
                                      criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 3, recordHistory: false))
            .estimate(cell: cell, solution: z, upstream: c)
        #expect(!capped.converged)
        #expect(capped.statistics.backward?.outcomes.allSatisfy { $0 == .maxIterationsReached } == true)

        // ρ(A) = 1.5: the adjoint iteration y ← Aᵀ y + c diverges; LU still solves it.
        let map = try AffineMap.random(dimension: 8, batchSize: 2, spectralNorm: 1.5, symmetric: true, seed: 1)
        let zStar = try map.exactFixedPoint(), c2 = gaussianBatch(2, 8, seed: 15)
        let diverged = try ImplicitGradient(solver: ForwardIteration()).estimate(cell: map, solution: zStar, upstream: c2)
        #expect(!diverged.converged)
        #expect(diverged.statistics.backward?.outcomes.contains(.diverged) == true)
        #expect(try ImplicitGradient.denseLU.estimate(cell: map, solution: zStar, upstream: c2).converged)

        // I − Aᵀ singular (A = I): the dense LU reports it instead of returning a number.
        let identity = try AffineMap(matrix: .identity(3), offsets: gaussianBatch(2, 3, seed: 16))
        let singular = try ImplicitGradient.denseLU.estimate(cell: identity, solution: gaussianBatch(2, 3, seed: 17),
                                                         upstream: gaussianBatch(2, 3, seed: 18))
        #expect(!singular.converged)
        #expect(singular.statistics.backward?.outcomes == [.stagnated, .stagnated])
    }

    @Test func comparisonConventions() {
        #expect(GradientComparison.cosine([0, 0], [0, 0]) == 1)
        #expect(GradientComparison.cosine([1, 0], [0, 0]) == 0)
        // cos of parallel 2-vectors: a few u.
        #expect(abs(GradientComparison.cosine([1, 1], [2, 2]) - 1) < 1e-15)
        #expect(GradientComparison.relativeError([1, 0], [0, 0]) == .infinity)
        #expect(GradientComparison.relativeError([3, 4], [3, 4]) == 0)
        #expect(GradientComparison.relativeError([.nan, 0], [1, 0]).isNaN)
    }
}
