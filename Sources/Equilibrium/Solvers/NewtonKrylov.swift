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
public struct NewtonKrylov: IterativeSolver {
    /// How the inner tolerance η_k of Newton iteration k is chosen.
    public enum Forcing: Sendable, Equatable {
        /// Eisenstat–Walker choice 2, γ ∈ (0, 1], α ∈ (1, 2], η_max ∈ [0, 1) (0: every inner
        /// solve to the floor ½ τ / ‖g‖ of the safeguard).
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

    /// The defaults: k = 40, 2 restarts, Eisenstat–Walker (0.9, 2, 0.9), line search on,
    /// automatic J·v.
    public init() {
        krylovDimension = 40
        maxRestarts = 2
        forcing = .eisenstatWalker()
        lineSearch = true
        jacobianProducts = .automatic
    }

    public init(krylovDimension: Int = 40, maxRestarts: Int = 2, forcing: Forcing = .eisenstatWalker(),
                lineSearch: Bool = true, jacobianProducts: JacobianProducts = .automatic) throws(UsageError) {
        self.krylovDimension = krylovDimension
        self.maxRestarts = maxRestarts
        self.forcing = forcing
        self.lineSearch = lineSearch
        self.jacobianProducts = jacobianProducts
        try validate()
    }

    public var name: String { "newton-krylov" }

    /// The largest Krylov dimension accepted (storage (k + 1) d per sample, O(k²) per cycle).
    public static let krylovDimensionLimit = 10_000

    public func validate() throws(UsageError) {
        let owner = "NewtonKrylov"
        try Check.atLeast(krylovDimension, 1, owner, "krylovDimension", "the GMRES restart length k, typically 20 to 40")
        guard krylovDimension <= Self.krylovDimensionLimit else {
            throw UsageError(owner, "krylovDimension", got: "\(krylovDimension)", expected: "at most \(Self.krylovDimensionLimit) (typically 20 to 40)")
        }
        try Check.atLeast(maxRestarts, 0, owner, "maxRestarts", "GMRES restarts per Newton step")
        switch forcing {
        case let .eisenstatWalker(gamma, alpha, etaMax):
            try Check.inRange(gamma, owner, "Eisenstat–Walker γ", "the forcing term's factor", above: 0, openBelow: true, below: 1)
            try Check.inRange(alpha, owner, "Eisenstat–Walker α", "the forcing term's exponent", above: 1, openBelow: true, below: 2)
            try Check.inRange(etaMax, owner, "η_max", "the largest forcing term; 0 asks for exact inner solves",
                              above: 0, below: 1, openAbove: true)
        case let .constant(eta):
            try Check.inRange(eta, owner, "η", "the fixed relative accuracy of each inner GMRES solve; 0 asks for exact ones",
                              above: 0, below: 1, openAbove: true)
        }
    }

    /// The GMRES workspace (basis, Hessenberg, rotations and solutions: B((k+1)(d + k + 1) + 2k + d)
    /// plus 2(k + 1) + d), the right-hand sides and products (2 B d), the J·v source
    /// (``JacobianVectorProducts/workspaceBytes(batchSize:dimension:analytic:)``; analytic unless
    /// ``jacobianProducts`` is `.finiteDifference` — `.automatic` on a map without analytic
    /// products allocates 2 B d doubles less) and the line search.
    public func workspaceBytes(batchSize b: Int, dimension d: Int) -> Int {
        let k = krylovDimension
        let gmres = b * ((k + 1) * (d + k + 1) + 2 * k + d) + 2 * (k + 1) + d
        let doubles = gmres + 2 * b * d
        return doubles * MemoryLayout<Double>.stride
            + JacobianVectorProducts.workspaceBytes(batchSize: b, dimension: d, analytic: jacobianProducts != .finiteDifference)
            + BacktrackingLineSearch.workspaceBytes(batchSize: b, dimension: d)
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

    /// The per-solve state: the GMRES workspace, the J·v source, right-hand sides and products,
    /// and per sample the forcing term and the previous residual norm.
    public final class State {
        let gmres: GMRESWorkspace
        let products: JacobianVectorProducts
        let vectors: UnsafeMutablePointer<Double>
        let images: UnsafeMutablePointer<Double>
        var eta: [Double]
        var previousNorm: [Double]
        var nonFiniteProduct: [Bool]
        var samples: [Int] = [], inner: [Int] = [], stillInner: [Int] = []

        init(gmres: GMRESWorkspace, products: JacobianVectorProducts, vectors: UnsafeMutablePointer<Double>,
             images: UnsafeMutablePointer<Double>, batchSize b: Int, initialForcing: Double) {
            self.gmres = gmres
            self.products = products
            self.vectors = vectors
            self.images = images
            eta = Array(repeating: initialForcing, count: b)
            previousNorm = Array(repeating: .nan, count: b)
            nonFiniteProduct = Array(repeating: false, count: b)
            samples.reserveCapacity(b)
            inner.reserveCapacity(b)
            stillInner.reserveCapacity(b)
        }
    }

    public var reportsKrylovIterations: Bool { true }

    public func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) throws(UsageError) -> State {
        let b = context.batchSize, d = context.dimension
        let products = try JacobianVectorProducts(context: context, choice: jacobianProducts)
        let gmres = GMRESWorkspace(context: context, restartLength: krylovDimension,
                                   singularityTolerance: products.relativeAccuracy)
        return State(gmres: gmres, products: products, vectors: context.allocate(doubles: b * d),
                     images: context.allocate(doubles: b * d), batchSize: b, initialForcing: forcing.eta)
    }

    /// The inner solves J_g Δ = −g to ‖g + J_g Δ‖ ≤ η ‖g‖, all samples' products batched, then
    /// the Newton direction Δ (the line search is the loop's).
    public func step<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>) -> Proposal {
        let d = context.dimension, gmres = state.gmres, products = state.products
        let vectors = state.vectors, images = state.images
        let spendsEvaluations = products.consumesEvaluations
        state.samples.removeAll(keepingCapacity: true)
        state.samples.append(contentsOf: context.active)
        state.inner.removeAll(keepingCapacity: true)
        for s in state.samples {
            if spendsEvaluations && context.remainingEvaluations(s) <= 1 {
                context.stop(sample: s, outcome: .maxEvaluationsReached)
                continue
            }
            let g = context.row(context.g, s), rhs = vectors + s * d
            for j in 0..<d { rhs[j] = -g[j] }
            state.nonFiniteProduct[s] = false
            if gmres.begin(sample: s, rightHandSide: rhs, target: state.eta[s] * context.absoluteResidual[s]) {
                state.inner.append(s)
            }
        }
        while !state.inner.isEmpty {
            for s in state.inner { (vectors + s * d).update(from: gmres.nextVector(s), count: d) }
            products.multiply(vectors, into: images, samples: state.inner)
            state.stillInner.removeAll(keepingCapacity: true)
            for s in state.inner {
                context.krylovIterations[s] += 1
                let product = images + s * d, v = vectors + s * d
                let scale = BLAS.norm(count: d, product) + 1   // ‖J_f v‖ + ‖v‖, ‖v‖ = 1
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
                    if !scale.isFinite || !BLAS.norm(count: d, product).isFinite { state.nonFiniteProduct[s] = true }
                    _ = gmres.finishCycle(sample: s, maxRestarts: 0, reachedLength: false)
                    continues = false
                }
                if continues && spendsEvaluations && context.remainingEvaluations(s) <= 1 {
                    // Keep the last evaluation for the new iterate: use the partial cycle.
                    _ = gmres.finishCycle(sample: s, maxRestarts: 0, reachedLength: false)
                    continues = false
                }
                if continues { state.stillInner.append(s) }
            }
            swap(&state.inner, &state.stillInner)
        }
        // A zero or non-finite Newton step stops the sample; the others step along Δ.
        state.samples.removeAll(keepingCapacity: true)
        state.samples.append(contentsOf: context.active)
        for s in state.samples {
            let stepNorm = BLAS.norm(count: d, gmres.solution(s))
            if stepNorm > 0 && stepNorm.isFinite {
                state.previousNorm[s] = context.absoluteResidual[s]
            } else {
                context.stop(sample: s, outcome: state.nonFiniteProduct[s] || !stepNorm.isFinite ? .nonFinite : .stagnated)
            }
        }
        return .direction(gmres.solutions, lineSearch: lineSearch ? .norm : nil)
    }

    /// The next forcing term of every sample still active.
    public func accept<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>) {
        for s in context.active {
            let norm = context.absoluteResidual[s], relative = context.relativeResidual[s]
            let tolerance: Double
            if context.criteria.measure == .absolute {
                tolerance = context.criteria.tolerance
            } else {
                // τ_abs = tol · ‖f(z)‖, with ‖f(z)‖ = ‖g‖ / relative residual.
                tolerance = relative > 0 && relative.isFinite ? context.criteria.tolerance * norm / relative : 0
            }
            state.eta[s] = nextForcing(previous: state.eta[s], previousNorm: state.previousNorm[s], norm: norm, tolerance: tolerance)
        }
    }
}

extension NewtonKrylov {
    /// `newton-krylov`: Krylov dimension, restarts, forcing terms, η, line search, J·v source.
    public static let catalogEntry: SolverEntry = {
        let defaults = NewtonKrylov()
        return SolverEntry(
            name: "newton-krylov", summary: "Jacobian-free Newton–Krylov: GMRES with Eisenstat–Walker forcing", defaults: defaults,
            settings: [
                .integer("krylov-dim", \.krylovDimension, of: defaults, minimum: 1, maximum: krylovDimensionLimit, "GMRES restart length k"),
                .integer("max-restarts", \.maxRestarts, of: defaults, minimum: 0, "GMRES restarts per Newton step"),
                Setting(ParameterDefinition("forcing", .choice(["ew", "constant"]), default: .text("ew"),
                                            "Eisenstat–Walker choice 2 (ew) or a constant η")) { solver, value in
                    let eta = solver.forcing.eta
                    solver.forcing = value.stringValue == "constant" ? .constant(eta) : .eisenstatWalker(etaMax: eta)
                },
                Setting(ParameterDefinition("eta", .real(minimum: 0, maximum: 1, exclusiveMinimum: false, exclusiveMaximum: true),
                                            default: .real(defaults.forcing.eta), "η_max for ew, the fixed η for constant")) { solver, value in
                    guard let eta = value.doubleValue else { return }
                    switch solver.forcing {
                    case let .eisenstatWalker(gamma, alpha, _): solver.forcing = .eisenstatWalker(gamma: gamma, alpha: alpha, etaMax: eta)
                    case .constant: solver.forcing = .constant(eta)
                    }
                },
                .boolean("line-search", \.lineSearch, of: defaults, "backtracking on ‖g‖"),
                Setting(ParameterDefinition("jvp", .choice(["analytic", "fd"]), default: .text("analytic"),
                                            "J·v from the cell's analytic product (finite differences for maps without one) or always by finite differences")) { solver, value in
                    // Every built-in cell has analytic products; `automatic` uses them and falls back
                    // to finite differences only for maps without them.
                    solver.jacobianProducts = value.stringValue == "fd" ? .finiteDifference : .automatic
                },
            ])
    }()
}

extension NewtonKrylov.Forcing {
    /// η_max of Eisenstat–Walker, the fixed η of a constant forcing term.
    public var eta: Double {
        switch self {
        case let .eisenstatWalker(_, _, etaMax): etaMax
        case let .constant(eta): eta
        }
    }
}
