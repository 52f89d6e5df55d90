/// Limited-memory good Broyden in inverse form for g(z) = f(z) − z = 0 (Broyden 1965).
///
/// H ≈ J_g⁻¹ is kept as −I plus at most L rank-one terms, so the first step is a plain forward
/// step (Δ = −H g = g = f(z) − z):
///
///     H = −I + U Vᵀ = −I + Σᵢ uᵢ vᵢᵀ
///     Δ = −H g,   z⁺ = z + s Δ        (s = 1, or from the optional Armijo line search)
///     Δz = z⁺ − z,  Δg = g(z⁺) − g(z)
///     vᵀ = Δzᵀ H,   u = (Δz − H Δg) / (vᵀ Δg),   H ← H + u vᵀ
///
/// The update is the least change of H (in the sense of Δzᵀ H) that satisfies the secant
/// equation H⁺ Δg = Δz. On an affine map with unlimited memory and full steps it reaches the
/// exact solution in at most 2d steps (Gay 1979).
///
/// **Cost.** Per iteration and sample four products on the n × d blocks U and V in use (H g⁺
/// and ΔzᵀH; H g is known from the previous step, H g = −Δ), O(n d), in three passes (U is
/// read once for two of them), plus the batched f evaluation. Storage 2 L d + 9 d + 2 L + 1
/// per sample (6 d + 2 L of it an update's scratch) plus the line search's 2 d, allocated once
/// per solve.
///
/// **By-product.** The result carries every sample's final H (``SolverByproducts/inverseJacobian``,
/// a ``BroydenInverse`` that keeps the solve's U and V blocks without a copy), which SHINE reuses.
///
/// **Memory full: restart (the default).** When L pairs are stored, ``MemoryPolicy/restart``
/// clears H back to −I and applies the new pair to it (SciPy's `broyden1` with
/// `reduction_method="restart"`), so H is always an honest sequence of Broyden updates of −I.
/// ``MemoryPolicy/dropOldest`` forgets the oldest pair instead (a ring of the L latest pairs,
/// the new pair formed after the removal so that it still meets the latest secant equation
/// exactly); locuslab/deq and TorchDEQ overwrite the oldest pair this way. It is kept for
/// comparison only: the terms of H are not independent (each uᵢ corrects the H built from the
/// earlier ones), so removing the oldest leaves an H with uncorrected errors. Measured on
/// symmetric tanh cells (d = 64 and 128, ρ = 0.95 … 0.999, injection 0.05, rel. tol 1e-10),
/// drop-oldest with L = 30 diverged on most samples after ~150 iterations, while restart with
/// L = 30 converged in 55–68 evaluations (L = 10: 57–75).
///
/// **Guards.** The update is skipped (H kept) when |vᵀΔg| ≤ ``denominatorTolerance`` ·
/// ‖v‖ ‖Δg‖ or is not finite, since a vanishing denominator would make u huge or NaN; and when
/// ‖Δg‖ ≤ √ε max(‖g‖, ‖g_prev‖), since a step that left g unchanged to half precision carries
/// no secant information: on a singular I − J (f(z) = z + b) Δg is pure rounding and the update
/// would be of order 1/ε, sending z so far that f(z) − z rounds to zero. Such a step resets H
/// to −I; when it was already a forward step the sample stops as ``SolveOutcome/stagnated``
/// (f only translates z along g). When the step −H g is zero or not finite, H is reset to −I.
/// With the line search, a search that fails from a non-trivial H is retried once from H = −I
/// (a forward step); when that fails too the sample stops as ``SolveOutcome/stagnated`` (e.g.
/// on a singular I − J). Divergence and non-finite values end as the shared outcomes of
/// ``StoppingCriteria``.
///
/// Each sample has its own H and scratch; samples share only the batched f evaluations, so the
/// updates of a large batch (≥ ``SolveContext/parallelStepReads`` doubles read) are split over
/// the BLAS threads (``SolveContext/forEachActiveSample(readsPerSample:_:)``), with the same
/// arithmetic per sample on any thread.
///
/// References: C. G. Broyden, "A class of methods for solving nonlinear simultaneous
/// equations", Math. Comp. 1965. D. M. Gay, "Some convergence properties of Broyden's method",
/// SIAM J. Numer. Anal. 1979. C. T. Kelley, "Iterative Methods for Linear and Nonlinear
/// Equations", SIAM 1995, §7.3 and §8.
public struct Broyden: IterativeSolver {
    /// What to do with a new secant pair when L pairs are already stored.
    public enum MemoryPolicy: String, Sendable, CaseIterable, Codable {
        /// Reset H to −I, then apply the new pair (the default).
        case restart
        /// Forget the oldest pair (a ring of the L most recent pairs); for comparison with
        /// locuslab/deq and TorchDEQ, not recommended (see the type's documentation).
        case dropOldest = "drop-oldest"
    }

    /// L ≥ 1, the number of rank-one pairs (uᵢ, vᵢ) kept per sample. Default 20: on the
    /// benchmark cells (symmetric W, ρ = 0.99 and 0.999, injection 0.05, B = 8, relative
    /// tolerance 1e-8, release build) L = 10, 20, 30, 60 took 75–85, 77–78, 77, 81–82 evaluations
    /// at d = 512 and 87–101, 89–101, 92–107, 104–113 at d = 2048. More memory does not help,
    /// and each iteration reads U once and V twice (3 L d doubles per sample when full; 4 L d when
    /// this was measured, about a fifth of the time of one batched evaluation at L = 30, d = 2048).
    public var memory: Int
    public var whenMemoryFull: MemoryPolicy
    /// Armijo backtracking on ‖g‖² (s = 1, ½, …, 2⁻⁹; every trial counted in nfe). Off by
    /// default: DEQ practice takes full Broyden steps, the full step is the one of Gay's
    /// 2d-step property, and Broyden steps are not descent directions for ‖g‖ in general: on
    /// the symmetric tanh cells (d = 64, 128, ρ = 0.99, 0.999) the search cost 2–4× the
    /// evaluations of full steps. It is for robustness far from a solution, not for speed.
    public var lineSearch: Bool
    /// ε of the skip rule |vᵀΔg| ≤ ε ‖v‖ ‖Δg‖. At 1e-10 an accepted update has norm below
    /// 10¹⁰ ‖Δz − HΔg‖ / ‖Δg‖; past that H would carry no usable digits.
    public var denominatorTolerance: Double

    /// The defaults: L = 20, restart when full, no line search, ε = 1e-10.
    public init() {
        memory = 20
        whenMemoryFull = .restart
        lineSearch = false
        denominatorTolerance = 1e-10
    }

    public init(memory: Int = 20, whenMemoryFull: MemoryPolicy = .restart, lineSearch: Bool = false,
                denominatorTolerance: Double = 1e-10) throws(UsageError) {
        self.memory = memory
        self.whenMemoryFull = whenMemoryFull
        self.lineSearch = lineSearch
        self.denominatorTolerance = denominatorTolerance
        try validate()
    }

    public var name: String { "broyden" }

    /// The largest memory accepted (each iteration reads U once and V twice, 3 L d doubles).
    public static let memoryLimit = 1000

    public func validate() throws(UsageError) {
        try Check.atLeast(memory, 1, "Broyden", "memory", "L, the rank-one pairs kept")
        guard memory <= Self.memoryLimit else {
            throw UsageError("Broyden", "memory", got: "\(memory)", expected: "at most \(Self.memoryLimit) (typically 10 to 30)")
        }
        try Check.inRange(denominatorTolerance, "Broyden", "denominatorTolerance",
                          "ε of the skip rule |vᵀΔg| ≤ ε ‖v‖ ‖Δg‖", above: 0, below: 1, openAbove: true)
    }

    /// Per sample: U and V (2 L d), the direction and the previous (z, g, ‖g‖) (3 d + 1), one update's
    /// scratch (2 L + 6 d) and three counters; and the line search the steps go through.
    public func workspaceBytes(batchSize b: Int, dimension d: Int) -> Int {
        let doubles = b * (2 * memory * d + 9 * d + 2 * memory + 1)
        return doubles * MemoryLayout<Double>.stride + 3 * b * MemoryLayout<Int>.stride
            + BacktrackingLineSearch.workspaceBytes(batchSize: b, dimension: d)
    }

    public func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) -> BroydenState {
        let state = BroydenState(context: context, memory: memory)
        // H = −I: the first direction is −H g = g.
        for s in context.active { state.direction(s).update(from: context.row(context.g, s), count: context.dimension) }
        return state
    }

    public func step<Map: FixedPointMap>(_ state: inout BroydenState, _ context: SolveContext<Map>) -> Proposal {
        for s in context.active {
            state.rememberPrevious(sample: s, z: context.row(context.z, s), g: context.row(context.g, s),
                                   gNorm: context.absoluteResidual[s])
        }
        return .direction(state.directions, lineSearch: lineSearch ? .squaredNorm : nil)
    }

    /// A failed search from a non-trivial H retries once along the forward step (H = −I).
    public func retryAfterFailedSearch<Map: FixedPointMap>(sample s: Int, _ state: inout BroydenState,
                                                           _ context: SolveContext<Map>) -> Bool {
        guard state.pairCount(sample: s) > 0 else { return false }
        state.reset(sample: s)
        state.direction(s).update(from: context.row(context.g, s), count: context.dimension)
        return true
    }

    public func accept<Map: FixedPointMap>(_ state: inout BroydenState, _ context: SolveContext<Map>) {
        // Samples share nothing (each has its own H and scratch), so large updates are split over
        // the BLAS threads; each sample's arithmetic is the same on any thread. An update reads
        // U once and V twice (3 L d) and about 16 rows of d.
        let state = state, policy = whenMemoryFull, tolerance = denominatorTolerance
        context.forEachActiveSample(readsPerSample: (3 * memory + 16) * context.dimension) { s in
            let progressing = state.update(sample: s, z: context.row(context.z, s), g: context.row(context.g, s),
                                           gNorm: context.absoluteResidual[s], policy: policy, denominatorTolerance: tolerance)
            state.stagnated[s] = progressing ? 0 : 1
        }
        // Stopping changes the active samples, so it happens after the loop.
        state.scratchSamples.removeAll(keepingCapacity: true)
        state.scratchSamples.append(contentsOf: context.active)
        for s in state.scratchSamples where state.stagnated[s] != 0 {
            context.stop(sample: s, outcome: .stagnated)
        }
    }

    public func byproducts(of state: BroydenState) -> SolverByproducts {
        SolverByproducts(inverseJacobian: state.inverse())
    }
}

/// The per-solve state of ``Broyden``: per sample the pairs (uᵢ, vᵢ) of H = −I + Σ uᵢ vᵢᵀ, the
/// current direction Δ = −H g, the previous (z, g) and the scratch of one update. Allocated once
/// per solve from the solve's context; samples share no buffer, so an update may process
/// different samples on different threads.
public final class BroydenState {
    let batchSize: Int
    let dimension: Int
    let memory: Int
    /// U and V, B blocks of L × d; rows 0..<count[s] of a block are in use. Shared with the
    /// result's ``BroydenInverse`` when the solve ends, without a copy (``inverse()``).
    private let uStorage: PooledDoubles
    private let vStorage: PooledDoubles
    private var u: UnsafeMutablePointer<Double> { uStorage.pointer }
    private var v: UnsafeMutablePointer<Double> { vStorage.pointer }
    /// Δ = −H g at the current iterate, B × d.
    let directions: UnsafeMutablePointer<Double>
    private let previousZ: UnsafeMutablePointer<Double>
    private let previousG: UnsafeMutablePointer<Double>
    /// ‖g_prev‖ per sample (the context's residual norm when g_prev was current).
    private let previousGNorm: UnsafeMutablePointer<Double>
    /// Pairs in use, and (when full) the slot of the oldest pair, per sample.
    private let count: UnsafeMutablePointer<Int>
    private let oldest: UnsafeMutablePointer<Int>
    /// 1 for a sample whose last update found no secant information from a forward step.
    let stagnated: UnsafeMutablePointer<Int>
    // Scratch for one update, per sample: 2 L coefficients (V g and U Δz) and six rows of d.
    private let vTimesG: UnsafeMutablePointer<Double>
    private let uTimesDz: UnsafeMutablePointer<Double>
    private let dz: UnsafeMutablePointer<Double>
    private let dg: UnsafeMutablePointer<Double>
    private let hg: UnsafeMutablePointer<Double>
    private let vt: UnsafeMutablePointer<Double>
    private let newHg: UnsafeMutablePointer<Double>
    private let newU: UnsafeMutablePointer<Double>
    /// The active samples of one ``Broyden/accept(_:_:)`` (a copy, since updates may stop samples).
    var scratchSamples: [Int]

    init<Map>(context: SolveContext<Map>, memory m: Int) {
        let b = context.batchSize, d = context.dimension
        dimension = d
        memory = m
        // Rows 0..<count[s] are written before they are read, and no other row is read (neither
        // here nor by the BroydenInverse that keeps the blocks), so the blocks need no zeroing.
        uStorage = context.allocate(sharedDoubles: b * m * d)
        vStorage = context.allocate(sharedDoubles: b * m * d)
        directions = context.allocate(doubles: b * d)
        previousZ = context.allocate(doubles: b * d)
        previousG = context.allocate(doubles: b * d)
        previousGNorm = context.allocate(doubles: b)
        vTimesG = context.allocate(doubles: b * m)
        uTimesDz = context.allocate(doubles: b * m)
        dz = context.allocate(doubles: b * d)
        dg = context.allocate(doubles: b * d)
        hg = context.allocate(doubles: b * d)
        vt = context.allocate(doubles: b * d)
        newHg = context.allocate(doubles: b * d)
        newU = context.allocate(doubles: b * d)
        batchSize = b
        count = context.allocate(integers: b)
        oldest = context.allocate(integers: b)
        stagnated = context.allocate(integers: b)
        scratchSamples = []
        scratchSamples.reserveCapacity(b)
    }

    /// √ε: the update is skipped when ‖Δg‖ ≤ √ε max(‖g‖, ‖g_prev‖).
    static var relativeChangeFloor: Double { Double.ulpOfOne.squareRoot() }

    @inline(__always)
    func direction(_ s: Int) -> UnsafeMutablePointer<Double> { directions + s * dimension }

    func pairCount(sample s: Int) -> Int { count[s] }

    /// Every sample's H = −I + Σ uᵢ vᵢᵀ after a solve: the pair counts, and the U and V blocks
    /// themselves (shared, not copied: the solve writes them no more). Copying them took 2.7 % of a
    /// d = 2048, B = 8 solve, most of it page faults on the fresh copy (issue 13).
    func inverse() -> BroydenInverse {
        BroydenInverse(dimension: dimension, memory: memory,
                       pairCounts: Array(UnsafeBufferPointer(start: count, count: batchSize)), u: uStorage, v: vStorage)
    }

    /// H ← −I for sample `s`.
    func reset(sample s: Int) {
        count[s] = 0
        oldest[s] = 0
    }

    func rememberPrevious(sample s: Int, z: UnsafePointer<Double>, g: UnsafePointer<Double>, gNorm: Double) {
        previousGNorm[s] = gNorm
        (previousZ + s * dimension).update(from: z, count: dimension)
        (previousG + s * dimension).update(from: g, count: dimension)
    }

    /// hg ← H g = −g + Uᵀ (V g) and vt ← Hᵀ Δz, the row vector Δzᵀ H = −Δzᵀ + (Δzᵀ U) Vᵀ, with
    /// hg = −g and vt = −Δz on entry. Three passes over the n × d blocks instead of four: V for
    /// V g, U once for both Uᵀ (V g) and U Δz (``BLAS/gemvAndTransposed(m:n:a:lda:x:y:u:w:kernels:)``,
    /// bitwise the two separate products), V for Vᵀ (U Δz).
    private func addLowRankProducts(sample s: Int, g: UnsafePointer<Double>, dz: UnsafePointer<Double>,
                                    hg: UnsafeMutablePointer<Double>, vt: UnsafeMutablePointer<Double>) {
        let d = dimension, n = count[s], block = s * memory * d
        guard n > 0 else { return }
        let vg = vTimesG + s * memory, udz = uTimesDz + s * memory
        BLAS.gemv(.none, m: n, n: d, alpha: 1, a: v + block, lda: d, x: g, beta: 0, y: vg)
        BLAS.gemvAndTransposed(m: n, n: d, a: u + block, lda: d, x: dz, y: udz, u: vg, w: hg)
        BLAS.gemv(.transpose, m: n, n: d, alpha: 1, a: v + block, lda: d, x: udz, beta: 1, y: vt)
    }

    /// The Broyden update after the step z_prev → z (g = g(z), gNorm = ‖g‖ as the context
    /// measured it), then the next direction −H⁺ g.
    ///
    /// H g_prev = −Δ is known, so only H g and Δzᵀ H need GEMVs. When the memory is full the
    /// pair to be dropped (or, for a restart, all of them) is removed from these products by
    /// rank-one corrections before the new pair is formed, so H⁺ meets H⁺ Δg = Δz exactly.
    ///
    /// Returns false when the sample stagnates: a forward step (H = −I) left g unchanged to half
    /// precision, so f translates z along g and no step can make progress. The same from a
    /// non-trivial H resets H to −I instead.
    func update(sample s: Int, z: UnsafePointer<Double>, g: UnsafePointer<Double>, gNorm: Double,
                policy: Broyden.MemoryPolicy, denominatorTolerance: Double) -> Bool {
        let d = dimension, m = memory
        let zPrev = previousZ + s * d, gPrev = previousG + s * d, delta = direction(s)
        let dz = self.dz + s * d, dg = self.dg + s * d, hg = self.hg + s * d, vt = self.vt + s * d
        let newHg = self.newHg + s * d, newU = self.newU + s * d
        for j in 0..<d {
            let dzj = z[j] - zPrev[j]
            dz[j] = dzj
            dg[j] = g[j] - gPrev[j]
            hg[j] = -g[j]
            vt[j] = -dzj
        }
        addLowRankProducts(sample: s, g: g, dz: dz, hg: hg, vt: vt)
        // newHg ← H₀ g, vt ← Δzᵀ H₀, and hDg (in newU) ← H₀ Δg, where H₀ is H with the pair(s)
        // that make room for the new one removed.
        let full = count[s] == m
        if full && policy == .restart {
            for j in 0..<d {
                newHg[j] = -g[j]
                vt[j] = -dz[j]
                newU[j] = -dg[j]
            }
        } else if full {
            let slot = s * m * d + oldest[s] * d
            let uOld = u + slot, vOld = v + slot
            let a = BLAS.dot(count: d, vOld, g), b = BLAS.dot(count: d, vOld, gPrev), c = BLAS.dot(count: d, uOld, dz)
            for j in 0..<d {
                newHg[j] = hg[j] - a * uOld[j]
                vt[j] -= c * vOld[j]
                newU[j] = newHg[j] + delta[j] + b * uOld[j]   // H₀g − H₀g_prev, H₀g_prev = −Δ − b u_old
            }
        } else {
            for j in 0..<d {
                newHg[j] = hg[j]
                newU[j] = hg[j] + delta[j]
            }
        }
        let denominator = BLAS.dot(count: d, vt, dg)
        // The norms only feed the guards' comparisons with thresholds, never the iterate.
        let dgNorm = BLAS.norm(count: d, dg)
        let scale = BLAS.norm(count: d, vt) * dgNorm
        // A step that left g unchanged to half precision carries no secant information.
        let informative = dgNorm > Self.relativeChangeFloor * max(gNorm, previousGNorm[s])
        if !informative {
            guard count[s] > 0 else { return false }
            reset(sample: s)
            delta.update(from: g, count: d)
            return true
        }
        if denominator.isFinite, scale.isFinite, abs(denominator) > denominatorTolerance * scale {
            // u = (Δz − H₀ Δg) / (vᵀ Δg), stored in the freed slot.
            let inverse = 1 / denominator
            for j in 0..<d { newU[j] = (dz[j] - newU[j]) * inverse }
            let slot: Int
            if !full {
                slot = count[s]
                count[s] += 1
            } else if policy == .restart {
                slot = 0
                count[s] = 1
                oldest[s] = 0
            } else {
                slot = oldest[s]
                oldest[s] = (oldest[s] + 1) % m
            }
            (u + s * m * d + slot * d).update(from: newU, count: d)
            (v + s * m * d + slot * d).update(from: vt, count: d)
            // −H⁺ g = −(H₀ g + u (vᵀ g)).
            let projection = BLAS.dot(count: d, vt, g)
            for j in 0..<d { delta[j] = -(newHg[j] + projection * newU[j]) }
        } else {
            // Skip the update: H unchanged, −H g.
            for j in 0..<d { delta[j] = -hg[j] }
        }
        let norm = BLAS.norm(count: d, delta)
        if !(norm.isFinite && norm > 0) {
            reset(sample: s)
            delta.update(from: g, count: d)
        }
        return true
    }
}

extension Broyden {
    /// `broyden`: memory L, line search, what happens when the memory is full.
    public static let catalogEntry: SolverEntry = {
        let defaults = Broyden()
        return SolverEntry(
            name: "broyden", summary: "limited-memory good Broyden, H = −I + U Vᵀ", defaults: defaults,
            settings: [
                .integer("memory", \.memory, of: defaults, minimum: 1, maximum: memoryLimit, "L, rank-one updates kept"),
                .boolean("line-search", \.lineSearch, of: defaults, "Armijo backtracking on ‖g‖²"),
                .choice("when-full", \.whenMemoryFull, of: defaults, "what happens when L updates are stored"),
            ],
            providesInverseJacobian: true)
    }()
}
