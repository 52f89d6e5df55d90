import Foundation

/// Jacobian-free Newton–Krylov for g(z) = f(z) − z = 0: inexact Newton steps from restarted
/// GMRES, with Eisenstat–Walker forcing terms and a backtracking line search on ‖g‖.
///
/// Newton iteration k solves the linear system for the step only approximately:
///
///     J_g(z_k) Δ = −g(z_k),   J_g v = J_f v − v,   to  ‖g + J_g Δ‖ ≤ η_k ‖g‖      (GMRES(k))
///     z_{k+1} = z_k + s Δ,    s = 1, ½, … until ‖g(z + sΔ)‖ ≤ (1 − 10⁻⁴ s) ‖g(z)‖
///
/// J_f v comes from the map's analytic product when it conforms to ``DifferentiableMap``, or from
/// the forward difference (f(z + h v) − f(z)) / h, h = √ε max(1, ‖z‖)/‖v‖ (``JacobianProducts``);
/// the Jacobian itself is never formed (Knoll & Keyes 2004).
///
/// **Forcing terms.** ``Forcing/eisenstatWalker(gamma:alpha:etaMax:)`` is Eisenstat & Walker's
/// choice 2 with Kelley's safeguards:
///
///     η_k = γ (‖g_k‖ / ‖g_{k−1}‖)^α,  then  η_k ← max(η_k, γ η_{k−1}^α)  if γ η_{k−1}^α > 0.1,
///     η_k ← min(η_k, η_max),  η_k ← max(η_k, ½ τ / ‖g_k‖),  η₀ = η_max
///
/// where τ is the tolerance expressed as an absolute residual (so the last inner solve does not
/// oversolve). Defaults γ = 0.9, α = 2, η_max = 0.9: loose inner solves far from the solution,
/// tightening as the residual drops, which gives superlinear local convergence (quadratic in the
/// limit α = 2) without wasting Krylov steps early. ``Forcing/constant(_:)`` keeps η fixed
/// (linear convergence with rate about η).
///
/// **Line search.** Backtracking by halving, at most 10 trials, each trial one f evaluation
/// counted in nfe (``BacktrackingLineSearch``). When no trial decreases ‖g‖ enough the sample
/// stops as ``SolveOutcome/stagnated`` (Kelley's `nsoli` fails the same way). Without the line
/// search the full step is always taken.
///
/// **Batches.** Every sample has its own Newton iteration, forcing term, Krylov basis and line
/// search; the products J_f v of all samples still in their inner solve are computed by one
/// batched call per Krylov step (one GEMM for a dense cell instead of B GEMVs).
///
/// **Counts.** `iterations` are Newton iterations; `krylovIterations` the Arnoldi steps (one
/// J·v product each); `evaluations` (nfe) the f evaluations: the initial one, one per accepted
/// step, every rejected line-search trial and, with finite differences, every probe;
/// `jacobianVectorProducts` the analytic products. With finite differences a sample keeps one
/// evaluation of its budget for the step, ending its inner solve early when needed.
///
/// Cost per Newton iteration and sample: j products plus O(j² d) for the orthogonalisation
/// (j Krylov steps), storage (k + 1) d for the basis.
///
/// References: R. S. Dembo, S. C. Eisenstat, T. Steihaug, "Inexact Newton methods", SIAM J.
/// Numer. Anal. 1982. S. C. Eisenstat, H. F. Walker, "Choosing the forcing terms in an inexact
/// Newton method", SIAM J. Sci. Comput. 1996. Y. Saad, M. H. Schultz, "GMRES", SIAM J. Sci.
/// Stat. Comput. 1986. C. T. Kelley, "Iterative Methods for Linear and Nonlinear Equations",
/// SIAM 1995, ch. 6 and 8. D. A. Knoll, D. E. Keyes, "Jacobian-free Newton–Krylov methods: a
/// survey of approaches and applications", J. Comput. Phys. 2004.
public struct NewtonKrylov: FixedPointSolver {
    /// How the inner tolerance η_k of Newton iteration k is chosen.
    public enum Forcing: Sendable, Equatable {
        /// Eisenstat–Walker choice 2, γ ∈ (0, 1], α ∈ (1, 2], η_max ∈ (0, 1).
        case eisenstatWalker(gamma: Double = 0.9, alpha: Double = 2, etaMax: Double = 0.9)
        /// A fixed η ∈ [0, 1).
        case constant(Double)
    }

    /// k ≥ 1, the Krylov dimension of one GMRES cycle (the restart length); memory (k + 1) d
    /// per sample. Default 40, Kelley's `nsoli` default. On the benchmark cells (symmetric W,
    /// ρ = 0.999, injection 0.05, d = 512 and 2048, relative tolerance 1e-8) k = 20, 30, 40
    /// took the same 8–9 Newton and 85–98 Krylov iterations; k = 10 needed up to 124.
    public var krylovDimension: Int
    /// GMRES restarts per Newton iteration; at most k (maxRestarts + 1) Krylov steps per
    /// Newton iteration.
    public var maxRestarts: Int
    public var forcing: Forcing
    /// Backtracking on ‖g‖ (on by default: Newton steps from far away can overshoot).
    public var lineSearch: Bool
    public var jacobianProducts: JacobianProducts

    public init(krylovDimension: Int = 40, maxRestarts: Int = 2, forcing: Forcing = .eisenstatWalker(),
                lineSearch: Bool = true, jacobianProducts: JacobianProducts = .automatic) {
        precondition(krylovDimension >= 1, "krylovDimension must be at least 1, got \(krylovDimension).")
        precondition(maxRestarts >= 0, "maxRestarts must be non-negative, got \(maxRestarts).")
        switch forcing {
        case let .eisenstatWalker(gamma, alpha, etaMax):
            precondition(gamma > 0 && gamma <= 1, "Eisenstat–Walker γ must lie in (0, 1], got \(gamma).")
            precondition(alpha > 1 && alpha <= 2, "Eisenstat–Walker α must lie in (1, 2], got \(alpha).")
            precondition(etaMax > 0 && etaMax < 1, "η_max must lie in (0, 1), got \(etaMax).")
        case let .constant(eta):
            precondition(eta >= 0 && eta < 1, "a constant forcing term η must lie in [0, 1), got \(eta).")
        }
        self.krylovDimension = krylovDimension
        self.maxRestarts = maxRestarts
        self.forcing = forcing
        self.lineSearch = lineSearch
        self.jacobianProducts = jacobianProducts
    }

    public var name: String { "newton-krylov" }

    public func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult {
        if jacobianProducts != .finiteDifference, let differentiable = map as? any DifferentiableMap {
            return solveWithAnalyticProducts(differentiable, from: initial, criteria: criteria)
        }
        precondition(jacobianProducts != .analytic,
                     "NewtonKrylov: jacobianProducts .analytic needs a map conforming to DifferentiableMap, and \(Map.self) does not; use .automatic or .finiteDifference.")
        let context = SolveContext(map: map, initial: initial, criteria: criteria)
        let products = FiniteDifferenceJacobianProducts<Map>(batchSize: map.batchSize, dimension: map.dimension)
        return run(context, products: products)
    }

    private func solveWithAnalyticProducts<M: DifferentiableMap>(_ map: M, from initial: Matrix,
                                                                 criteria: StoppingCriteria) -> SolveResult {
        let context = SolveContext(map: map, initial: initial, criteria: criteria)
        return run(context, products: AnalyticJacobianProducts(map: map))
    }

    private var initialForcing: Double {
        switch forcing {
        case let .eisenstatWalker(_, _, etaMax): return etaMax
        case let .constant(eta): return eta
        }
    }

    /// η_k from η_{k−1}, ‖g_{k−1}‖, ‖g_k‖ and the tolerance as an absolute residual τ.
    private func nextForcing(previous eta: Double, previousNorm: Double, norm: Double, tolerance: Double) -> Double {
        switch forcing {
        case let .constant(value):
            return value
        case let .eisenstatWalker(gamma, alpha, etaMax):
            var next = gamma * pow(norm / previousNorm, alpha)
            let safeguard = gamma * pow(eta, alpha)
            if safeguard > 0.1 { next = max(next, safeguard) }
            next = min(next, etaMax)
            if norm > 0 { next = max(next, 0.5 * tolerance / norm) }
            return next.isFinite ? min(next, etaMax) : etaMax
        }
    }

    private func run<Map, Products: JacobianVectorProductSource>(_ context: SolveContext<Map>,
                                                                 products: Products) -> SolveResult
        where Products.Map == Map {
        let b = context.batchSize, d = context.dimension
        let gmres = GMRESWorkspace(batchSize: b, dimension: d, restartLength: krylovDimension,
                                   singularityTolerance: products.relativeAccuracy)
        let search = BacktrackingLineSearch(batchSize: b, dimension: d)
        let vectors = UnsafeMutablePointer<Double>.allocate(capacity: max(1, b * d))
        let images = UnsafeMutablePointer<Double>.allocate(capacity: max(1, b * d))
        vectors.initialize(repeating: 0, count: max(1, b * d))
        images.initialize(repeating: 0, count: max(1, b * d))
        defer {
            vectors.deallocate()
            images.deallocate()
        }
        var eta = Array(repeating: initialForcing, count: b)
        var previousNorm = Array(repeating: Double.nan, count: b)
        var nonFiniteProduct = Array(repeating: false, count: b)
        var samples: [Int] = [], inner: [Int] = [], stillInner: [Int] = []
        samples.reserveCapacity(b)
        inner.reserveCapacity(b)
        stillInner.reserveCapacity(b)
        let spendsEvaluations = products.consumesEvaluations

        context.evaluateActive()
        context.assessActive()
        while context.hasActiveSamples {
            // Inner solves J_g Δ = −g to ‖g + J_g Δ‖ ≤ η ‖g‖, all samples' products batched.
            samples.removeAll(keepingCapacity: true)
            samples.append(contentsOf: context.active)
            inner.removeAll(keepingCapacity: true)
            for s in samples {
                if spendsEvaluations && context.remainingEvaluations(s) <= 1 {
                    context.stop(sample: s, outcome: .maxEvaluationsReached)
                    continue
                }
                let g = context.row(context.g, s), rhs = vectors + s * d
                for j in 0..<d { rhs[j] = -g[j] }
                nonFiniteProduct[s] = false
                if gmres.begin(sample: s, rightHandSide: rhs, target: eta[s] * context.absoluteResidual[s]) {
                    inner.append(s)
                }
            }
            while !inner.isEmpty {
                for s in inner { (vectors + s * d).update(from: gmres.nextVector(s), count: d) }
                products.multiply(vectors, into: images, samples: inner, context: context)
                stillInner.removeAll(keepingCapacity: true)
                for s in inner {
                    context.krylovIterations[s] += 1
                    let product = images + s * d, v = vectors + s * d
                    let scale = BLAS.nrm2(count: d, product) + 1   // ‖J_f v‖ + ‖v‖, ‖v‖ = 1
                    for j in 0..<d { product[j] -= v[j] }          // J_g v = J_f v − v
                    var continues: Bool
                    switch gmres.extend(sample: s, product: product, scale: scale) {
                    case .proceed:
                        continues = true
                    case .cycleFull:
                        continues = gmres.finishCycle(sample: s, maxRestarts: maxRestarts, reachedLength: true)
                    case .converged:
                        _ = gmres.finishCycle(sample: s, maxRestarts: 0, reachedLength: false)
                        continues = false
                    case .unusable:
                        if !scale.isFinite || !BLAS.nrm2(count: d, product).isFinite { nonFiniteProduct[s] = true }
                        _ = gmres.finishCycle(sample: s, maxRestarts: 0, reachedLength: false)
                        continues = false
                    }
                    if continues && spendsEvaluations && context.remainingEvaluations(s) <= 1 {
                        // Keep the last evaluation for the new iterate: use the partial cycle.
                        _ = gmres.finishCycle(sample: s, maxRestarts: 0, reachedLength: false)
                        continues = false
                    }
                    if continues { stillInner.append(s) }
                }
                swap(&inner, &stillInner)
            }

            // Newton steps with the line search.
            samples.removeAll(keepingCapacity: true)
            samples.append(contentsOf: context.active)
            inner.removeAll(keepingCapacity: true)
            for s in samples {
                let stepNorm = BLAS.nrm2(count: d, gmres.solution(s))
                if stepNorm > 0 && stepNorm.isFinite {
                    inner.append(s)
                    previousNorm[s] = context.absoluteResidual[s]
                } else {
                    context.stop(sample: s, outcome: nonFiniteProduct[s] || !stepNorm.isFinite ? .nonFinite : .stagnated)
                }
            }
            context.beginIteration()
            search.run(context: context, direction: gmres.solutions, samples: inner,
                       enabled: lineSearch, merit: .norm) { _ in false }
            context.assessActive()
            for s in context.active {
                let norm = context.absoluteResidual[s], relative = context.relativeResidual[s]
                let tolerance: Double
                if context.criteria.measure == .absolute {
                    tolerance = context.criteria.tolerance
                } else {
                    // τ_abs = tol · ‖f(z)‖, with ‖f(z)‖ = ‖g‖ / relative residual.
                    tolerance = relative > 0 && relative.isFinite ? context.criteria.tolerance * norm / relative : 0
                }
                eta[s] = nextForcing(previous: eta[s], previousNorm: previousNorm[s], norm: norm, tolerance: tolerance)
            }
        }
        return context.finish(solverName: name, reportsKrylovIterations: true)
    }
}
