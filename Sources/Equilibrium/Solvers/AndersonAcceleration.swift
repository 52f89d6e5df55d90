/// Anderson acceleration (Anderson 1965; Walker & Ni 2011) with memory m, regularisation λ
/// scaled to the Gram matrix, and mixing β (β < 1 damped, β > 1 overprojected).
///
/// With the last n ≤ m pairs (xᵢ, fᵢ = f(xᵢ)) and residuals gᵢ = fᵢ − xᵢ, Anderson chooses
/// α with Σα = 1 minimising ‖Σ αᵢ gᵢ‖² and steps to
///
///     x⁺ = β Σ αᵢ fᵢ + (1 − β) Σ αᵢ xᵢ
///
/// **Formulation: the Walker–Ni difference form, solved through its regularised normal
/// equations.** With ΔXᵢ = x_{i+1} − xᵢ and ΔGᵢ = g_{i+1} − gᵢ for the stored differences,
///
///     γ = argmin ‖g_k − ΔG γ‖²  ⇔  (ΔGᵀΔG + λ̂ I) γ = ΔGᵀ g_k,   λ̂ = λ · tr(ΔGᵀΔG) / n
///     x⁺ = x_k + β g_k − (ΔX + β ΔG) γ
///
/// which equals the α form above (α₀ = γ₀, αᵢ = γᵢ − γᵢ₋₁, α_n = 1 − γ_{n−1}). Why this form:
/// - The difference form is unconstrained, so the small system is symmetric positive definite
///   and solved by Cholesky (`dpotrf`/`dpotrs`), with a condition estimate (`dpocon`) for free.
/// - The Gram matrix ΔGᵀΔG is updated incrementally, one new row per iteration, so a step costs
///   O(n d) per sample with n ≤ m pairs stored (three n × d products on the rows in use: the
///   Gram row ΔGᵀΔgₖ and the right-hand side ΔGᵀgₖ in one pass over ΔG, the correction in one
///   pass over ΔX) plus O(n³) for the n × n system, instead of O(n² d) for a fresh QR.
///   Measured (release, `Benchmarks/` overhead benchmark, tanh cell, m = 5): about 3 µs per
///   sample and step at d = 512, 8 % of the cell's 38 µs per sample; about 2 % at d = 2048.
/// - λ is *relative*: λ̂ is λ times the mean eigenvalue of the Gram matrix, so it shrinks with
///   the residuals. An absolute λ (TorchDEQ's 1e-4) swamps ΔGᵀΔG once ‖g‖² < λ and stalls the
///   method at tight tolerances (docs/MATH.md, "Anderson acceleration").
///
/// **Safeguard against ill-conditioning: drop the oldest columns.** Normal equations square the
/// condition number, so when the Cholesky factorisation fails or the estimated condition number
/// of ΔGᵀΔG + λ̂I exceeds ``maxConditionNumber``, the oldest difference pair is removed from the
/// history (permanently, like NLsolve's `droptol`) and the system is re-factored; with no pair
/// left the step is the mixed forward step x_k + β g_k.
///
/// The condition test first tries a cheap rigorous bound: with A = RᵀR,
///
///     κ₁(A) = ‖A‖₁ ‖R⁻¹R⁻ᵀ‖₁ ≤ ‖A‖₁ ‖R⁻¹‖₁ ‖R⁻¹‖_∞     (R⁻¹ by back substitution, n³/6 flops)
///
/// which overestimates by at most a factor n. When twice that bound is within
/// ``maxConditionNumber`` the pair set is accepted without calling `dpocon`, whose estimate is
/// a lower bound of the same κ₁ and would accept too; otherwise `dpocon` decides as before, so
/// the decisions are unchanged. Why: for the small systems here `dpocon` (about 14 000
/// instructions at n = 5) cost more than the rest of an Anderson step together, and the
/// step's own cost matters against a d = 512 cell evaluation (measured in `Benchmarks/`).
///
/// **Delay:** the first ``delay`` iterations are plain forward steps x⁺ = f(x) (KINSOL's
/// `delay`); their differences are stored, since any evaluated pair is valid secant data.
///
/// Coefficients γ are computed per sample; samples never share a least-squares problem or a
/// buffer, so the steps of a large batch (≥ ``SolveContext/parallelStepReads`` doubles read) are
/// split over the BLAS threads (``SolveContext/forEachActiveSample(readsPerSample:_:)``), with
/// the same arithmetic per sample on any thread.
///
/// References: D. G. Anderson, "Iterative procedures for nonlinear integral equations", J. ACM
/// 1965. H. F. Walker, P. Ni, "Anderson acceleration for fixed-point iterations", SIAM J.
/// Numer. Anal. 2011. A. Toth, C. T. Kelley, "Convergence analysis for Anderson acceleration",
/// SIAM J. Numer. Anal. 2015.
public struct AndersonAcceleration: IterativeSolver {
    /// m ≥ 1, the number of difference pairs kept.
    public var memory: Int
    /// λ ≥ 0, relative to the mean eigenvalue of the Gram matrix.
    public var regularization: Double
    /// β > 0: β < 1 damped, β = 1 undamped, β > 1 overprojected.
    public var mixing: Double
    /// Plain forward steps before mixing starts.
    public var delay: Int
    /// The largest condition number of the regularised Gram system accepted before the oldest
    /// pair is dropped. 1e10 on the Gram matrix is cond(ΔG) ≈ 1e5: the coefficients keep about
    /// six correct digits, enough for a step direction.
    public var maxConditionNumber: Double

    /// The defaults: m = 5, λ = 1e-10, β = 1, no delay, drop pairs past cond 1e10.
    public init() {
        memory = 5
        regularization = 1e-10
        mixing = 1
        delay = 0
        maxConditionNumber = 1e10
    }

    public init(memory: Int = 5, regularization: Double = 1e-10, mixing: Double = 1, delay: Int = 0,
                maxConditionNumber: Double = 1e10) throws(UsageError) {
        self.memory = memory
        self.regularization = regularization
        self.mixing = mixing
        self.delay = delay
        self.maxConditionNumber = maxConditionNumber
        try validate()
    }

    public var name: String { "anderson" }

    /// The largest memory accepted: the small system is O(m³) per step, and beyond a few dozen
    /// pairs Anderson gains nothing (typical m is 3 to 20).
    public static let memoryLimit = 1000

    public func validate() throws(UsageError) {
        let owner = "AndersonAcceleration"
        try Check.atLeast(memory, 1, owner, "memory", "m, the number of difference pairs kept")
        guard memory <= Self.memoryLimit else {
            throw UsageError(owner, "memory", got: "\(memory)", expected: "at most \(Self.memoryLimit) (typically 3 to 20; each step solves an m × m system)")
        }
        try Check.inRange(regularization, owner, "regularization", "λ, relative to the mean Gram eigenvalue, e.g. 1e-10", above: 0)
        try Check.inRange(mixing, owner, "mixing", "β: < 1 damped, 1 undamped, > 1 overprojected", above: 0, openBelow: true)
        try Check.atLeast(delay, 0, owner, "delay", "plain forward steps before mixing")
        try Check.inRange(maxConditionNumber, owner, "maxConditionNumber", "the largest condition number of the Gram system kept",
                          above: 1, openBelow: true)
    }

    /// Per sample: ΔX and ΔG (2 m d), the Gram matrix (m²), the previous (x, g) (2 d), one small
    /// system's scratch (2m² + 6m doubles, m int32s) and three counters.
    public func workspaceBytes(batchSize b: Int, dimension d: Int) -> Int {
        let m = memory
        let doubles = b * (2 * m * d + 3 * m * m + 2 * d + 6 * m)
        return doubles * MemoryLayout<Double>.stride + b * m * MemoryLayout<Int32>.stride + 3 * b * MemoryLayout<Int>.stride
    }

    public func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) -> AndersonHistory {
        AndersonHistory(context: context, memory: memory, mixing: mixing)
    }

    public func step<Map: FixedPointMap>(_ history: inout AndersonHistory, _ context: SolveContext<Map>) -> Proposal {
        // Samples share nothing (each has its own history and small system), so large steps
        // are split over the BLAS threads; each sample's arithmetic is the same on any thread.
        // A step reads the ΔG block once (for the Gram row and ΔGᵀg together), the ΔX block
        // once (2 m d) and about 8 rows of d.
        let history = history, d = context.dimension
        context.forEachActiveSample(readsPerSample: (2 * memory + 8) * d) { s in
            let x = context.row(context.z, s), g = context.row(context.g, s)
            let mixes = context.iterations[s] >= delay
            history.record(sample: s, x: x, g: g, projectingResidual: mixes)
            if mixes {
                history.step(sample: s, x: x, g: g, mixing: mixing, regularization: regularization,
                             maxConditionNumber: maxConditionNumber)
            } else {
                x.update(from: context.row(context.fz, s), count: d)
            }
        }
        return .iterate
    }
}

/// The per-solve state of Anderson acceleration: for each sample a ring of the last m
/// difference pairs (ΔX, ΔG), their Gram matrix, the previous (x, g) and the scratch of its
/// small system. Allocated once per solve from the solve's context; samples share no buffer, so
/// a step may process different samples on different threads.
public final class AndersonHistory {
    let dimension: Int
    let memory: Int
    /// β, fixed for the solve (the ΔX block stores ΔX + β ΔG).
    let mixing: Double
    /// ΔX and ΔG, B blocks of m × d (slot-indexed rows).
    private let deltaX: UnsafeMutablePointer<Double>
    private let deltaG: UnsafeMutablePointer<Double>
    /// ΔGᵢ·ΔGⱼ, B blocks of m × m, slot-indexed.
    private let gram: UnsafeMutablePointer<Double>
    private let previousX: UnsafeMutablePointer<Double>
    private let previousG: UnsafeMutablePointer<Double>
    /// Per sample: 1 once (x, g) of a previous iterate is stored, the ring position of the
    /// oldest pair, and the number of pairs.
    private let hasPrevious: UnsafeMutablePointer<Int>
    private let oldest: UnsafeMutablePointer<Int>
    private let count: UnsafeMutablePointer<Int>
    /// One small system's scratch per sample: the regularised Gram system (m × m, then its
    /// Cholesky factor), R⁻¹ for the cheap condition bound (m × m), the right-hand side, the
    /// slot values, the coefficients (m each), and `dpocon`'s workspaces (3m doubles, m int32s).
    private let system: UnsafeMutablePointer<Double>
    private let inverseFactor: UnsafeMutablePointer<Double>
    private let rhs: UnsafeMutablePointer<Double>
    private let slotValues: UnsafeMutablePointer<Double>
    private let coefficients: UnsafeMutablePointer<Double>
    private let conditionWork: UnsafeMutablePointer<Double>
    private let conditionIWork: UnsafeMutablePointer<Int32>
    init<Map>(context: SolveContext<Map>, memory m: Int, mixing: Double) {
        let b = context.batchSize, d = context.dimension
        dimension = d
        memory = m
        self.mixing = mixing
        // Rows are written when a pair is stored and only rows in use are read, so the blocks
        // need no zeroing.
        deltaX = context.allocate(uninitializedDoubles: b * m * d)
        deltaG = context.allocate(uninitializedDoubles: b * m * d)
        gram = context.allocate(doubles: b * m * m)
        previousX = context.allocate(doubles: b * d)
        previousG = context.allocate(doubles: b * d)
        system = context.allocate(doubles: b * m * m)
        inverseFactor = context.allocate(doubles: b * m * m)
        rhs = context.allocate(doubles: b * m)
        slotValues = context.allocate(doubles: b * m)
        coefficients = context.allocate(doubles: b * m)
        conditionWork = context.allocate(doubles: b * 3 * m)
        conditionIWork = context.allocate(int32s: b * m)
        hasPrevious = context.allocate(integers: b)
        oldest = context.allocate(integers: b)
        count = context.allocate(integers: b)
    }

    /// The number of difference pairs sample `s` holds.
    func pairCount(sample s: Int) -> Int { count[s] }

    /// Appends the difference (x − x_prev, g − g_prev) for sample `s` (overwriting the oldest
    /// pair when the ring is full), updates the Gram row of the new pair, and remembers (x, g)
    /// (in the same pass over the row). With `projectingResidual` it also forms the step's
    /// right-hand side ΔGⱼ · g for every slot j, in the same pass over the ΔG block as the Gram
    /// row (``BLAS/gemvPair(m:n:a:lda:x1:y1:x2:y2:kernels:)``, bitwise two separate products).
    func record(sample s: Int, x: UnsafePointer<Double>, g: UnsafePointer<Double>, projectingResidual: Bool) {
        let d = dimension, m = memory
        let px = previousX + s * d, pg = previousG + s * d, slotValues = self.slotValues + s * m
        if hasPrevious[s] != 0 {
            let slot: Int
            if count[s] < m {
                slot = (oldest[s] + count[s]) % m
                count[s] += 1
            } else {
                slot = oldest[s]
                oldest[s] = nextSlot(slot)
            }
            // The ΔX block holds ΔX + β ΔG (β is fixed for the solve), so the step's correction
            // (ΔX + β ΔG)ᵀγ is one GEMV rather than two (issue 13).
            let dx = deltaX + (s * m + slot) * d, dg = deltaG + (s * m + slot) * d
            let beta = mixing
            for j in 0..<d {
                let xj = x[j], gj = g[j]
                let differenceG = gj - pg[j]
                dg[j] = differenceG
                dx[j] = (xj - px[j]) + beta * differenceG
                px[j] = xj
                pg[j] = gj
            }
            // New Gram row and column: ΔG_slot · ΔG_j for every slot j in use, written into the
            // row and mirrored into the column. Only the rows in use are read (entries of other
            // slots are never read), so a step costs O(n d) for n pairs, not O(m d).
            let block = deltaG + s * m * d, gs = gram + s * m * m
            forEachSlotRange(sample: s) { start, rows in
                if projectingResidual {
                    BLAS.gemvPair(m: rows, n: d, a: block + start * d, lda: d, x1: dg, y1: gs + slot * m + start,
                                  x2: g, y2: slotValues + start)
                } else {
                    BLAS.gemv(.none, m: rows, n: d, alpha: 1, a: block + start * d, lda: d, x: dg, beta: 0,
                              y: gs + slot * m + start)
                }
                for j in start..<(start + rows) { gs[j * m + slot] = gs[slot * m + j] }
            }
        } else {
            px.update(from: x, count: d)
            pg.update(from: g, count: d)
            hasPrevious[s] = 1
        }
    }

    /// Overwrites x (= x_k) with the Anderson step x_k + β g_k − (ΔX + β ΔG) γ; the right-hand
    /// side ΔGᵀg_k is the one ``record(sample:x:g:projectingResidual:)`` just formed (with no
    /// pair stored there is none, and the step is x_k + β g_k).
    func step(sample s: Int, x: UnsafeMutablePointer<Double>, g: UnsafePointer<Double>,
              mixing beta: Double, regularization lambda: Double, maxConditionNumber: Double) {
        let d = dimension, m = memory
        let blockX = deltaX + s * m * d, gs = gram + s * m * m
        let system = self.system + s * m * m, rhs = self.rhs + s * m
        let slotValues = self.slotValues + s * m, coefficients = self.coefficients + s * m
        for j in 0..<m { coefficients[j] = 0 }
        while count[s] > 0 {
            let n = count[s], first = oldest[s]
            // The i-th oldest pair sits in slot (first + i) mod m, stepped with ``nextSlot(_:)``
            // rather than a division per entry (n² entries are gathered).
            var trace = 0.0
            var si = first
            for _ in 0..<n {
                trace += gs[si * (m + 1)]
                si = nextSlot(si)
            }
            let shift = lambda * trace / Double(n)
            var norm1 = 0.0
            var sj = first
            for j in 0..<n {
                var columnSum = 0.0
                si = first
                for i in 0..<n {
                    var value = gs[si * m + sj]
                    if i == j { value += shift }
                    system[i + j * n] = value
                    columnSum += abs(value)
                    si = nextSlot(si)
                }
                norm1 = max(norm1, columnSum)
                rhs[j] = slotValues[sj]
                sj = nextSlot(sj)
            }
            if LAPACK.choleskyFactor(n: n, a: system, lda: n) == 0,
               conditionBoundProves(sample: s, n: n, anorm: norm1, maxConditionNumber: maxConditionNumber)
                || LAPACK.choleskyReciprocalCondition(n: n, factor: system, lda: n, anorm: norm1,
                                                      work: conditionWork + s * 3 * m, iwork: conditionIWork + s * m)
                   * maxConditionNumber >= 1,
               LAPACK.choleskySolve(n: n, factor: system, lda: n, b: rhs) == 0 {
                si = first
                for i in 0..<n {
                    coefficients[si] = rhs[i]
                    si = nextSlot(si)
                }
                break
            }
            // Ill-conditioned or singular: forget the oldest pair and try again.
            oldest[s] = nextSlot(first)
            count[s] -= 1
        }
        // x ← x + β g − (ΔX + β ΔG)ᵀγ over the slots in use, in slot order (the block holds
        // ΔX + β ΔG).
        BLAS.axpy(count: d, alpha: beta, x: g, y: x)
        forEachSlotRange(sample: s) { start, rows in
            BLAS.gemv(.transpose, m: rows, n: d, alpha: -1, a: blockX + start * d, lda: d, x: coefficients + start,
                      beta: 1, y: x)
        }
    }

    /// The ring slot after `slot`: slot + 1, wrapping to 0 at m (no division).
    @inline(__always)
    private func nextSlot(_ slot: Int) -> Int { slot + 1 == memory ? 0 : slot + 1 }

    /// Calls `body(start, rows)` for the runs of consecutive ring slots in use by sample `s`, in
    /// increasing slot order: one run [oldest, oldest + n) or, when the ring wraps, [0, e) and
    /// then [oldest, m). Restricting the history products to these rows skips only rows whose
    /// terms are never read (the Gram row) or whose coefficient is an exact zero (the
    /// correction), and keeps the order of the remaining rows; with the small-product loops
    /// (m d ≤ ``BLAS/smallProductLimit``, where each row's dot product and row update is done
    /// on its own) the results are the full-block products' bit for bit, up to the sign of an
    /// exact zero. Above that limit OpenBLAS groups the rows itself, so a shorter product may
    /// round differently in the last bits (the same arithmetic, not the same order).
    @inline(__always)
    private func forEachSlotRange(sample s: Int, _ body: (_ start: Int, _ rows: Int) -> Void) {
        let m = memory, n = count[s], first = oldest[s]
        guard n > 0 else { return }
        if first + n <= m {
            body(first, n)
        } else {
            body(0, first + n - m)
            body(first, m - first)
        }
    }

    /// True when the Cholesky factor R in sample `s`'s ``system`` (upper triangle, column-major n × n) proves
    /// κ₁(RᵀR) ≤ maxConditionNumber / 2 through κ₁ ≤ ‖A‖₁ ‖R⁻¹‖₁ ‖R⁻¹‖_∞. False means "not
    /// proven", never "ill-conditioned": the caller then asks `dpocon`. The factor 2 absorbs the
    /// rounding of the computed R⁻¹ (relative error about n κ(R) ε ≤ 1e-9 in the accepted range),
    /// and the magnitude guards keep to the range where `dpocon` needs no scaling.
    private func conditionBoundProves(sample s: Int, n: Int, anorm: Double, maxConditionNumber: Double) -> Bool {
        guard anorm >= 1e-200, anorm <= 1e200 else { return false }
        let m = memory
        let r = system + s * m * m, inverse = inverseFactor + s * m * m, rowSums = conditionWork + s * 3 * m
        for j in 0..<n {
            let diagonal = r[j + j * n]
            guard diagonal >= 1e-150 else { return false }
            inverse[j + j * n] = 1 / diagonal
            var i = j - 1
            while i >= 0 {
                var sum = 0.0
                for k in (i + 1)...j { sum += r[i + k * n] * inverse[k + j * n] }
                inverse[i + j * n] = -sum / r[i + i * n]
                i -= 1
            }
        }
        var norm1 = 0.0
        for i in 0..<n { rowSums[i] = 0 }
        for j in 0..<n {
            var columnSum = 0.0
            for i in 0...j {
                let value = abs(inverse[i + j * n])
                columnSum += value
                rowSums[i] += value
            }
            norm1 = max(norm1, columnSum)
        }
        var normInfinity = 0.0
        for i in 0..<n { normInfinity = max(normInfinity, rowSums[i]) }
        let bound = anorm * norm1 * normInfinity
        return bound.isFinite && 2 * bound <= maxConditionNumber
    }
}

extension AndersonAcceleration {
    /// `anderson`: memory m, λ, β, delay.
    public static let catalogEntry: SolverEntry = {
        let defaults = AndersonAcceleration()
        return SolverEntry(
            name: "anderson", summary: "Anderson acceleration, memory m, relative regularisation λ, mixing β", defaults: defaults,
            settings: [
                .integer("memory", \.memory, of: defaults, minimum: 1, maximum: memoryLimit, "m, difference pairs kept"),
                .real("lambda", \.regularization, of: defaults, minimum: 0, "λ, relative to the mean Gram eigenvalue"),
                .real("beta", \.mixing, of: defaults, minimum: 0, exclusiveMinimum: true, "β: < 1 damped, > 1 overprojected"),
                .integer("delay", \.delay, of: defaults, minimum: 0, "plain steps before mixing"),
            ])
    }()
}
