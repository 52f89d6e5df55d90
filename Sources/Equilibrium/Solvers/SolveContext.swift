import Foundation

/// The per-solve state every solver shares, and the toolkit a solver's step works with: the
/// batch buffers, evaluation of the active samples with compaction, the per-sample stopping
/// decisions (docs/MATH.md, "Residuals and stopping"), and the memory of the solver's own state.
///
/// The per-solve loop of ``IterativeSolver`` creates one context per solve, evaluates f(z₀),
/// assesses every sample, then repeats: the solver's ``IterativeSolver/step(_:_:)`` proposes the
/// next iterate of every active sample (writing it into ``z``, or a direction along which the
/// loop steps, with an optional line search), the loop evaluates and assesses it, and the
/// solver's ``IterativeSolver/accept(_:_:)`` sees the result. A step reads and writes only the
/// rows of ``active`` samples.
///
/// All buffers are B × d row-major, one sample per row, so a sample's row stays at the same
/// place whether or not the other samples are still active. Nothing in an iteration
/// allocates: buffers a solver needs for its state come from ``allocate(doubles:)``, once per
/// solve, and count in the solve's measured ``SolveResult/workspaceBytes``.
public final class SolveContext<Map: FixedPointMap> {
    public let map: Map
    public let criteria: StoppingCriteria
    /// B.
    public let batchSize: Int
    /// d.
    public let dimension: Int

    /// The current iterate z, B × d.
    public let z: UnsafeMutablePointer<Double>
    /// f(z) at the current iterate, B × d (valid for samples evaluated at z).
    public let fz: UnsafeMutablePointer<Double>
    /// The residual g = f(z) − z at the current iterate, B × d.
    public let g: UnsafeMutablePointer<Double>
    /// The point returned per sample: the converged point or the best one seen.
    private let bestZ: UnsafeMutablePointer<Double>
    private let compactZ: UnsafeMutablePointer<Double>
    private let compactF: UnsafeMutablePointer<Double>
    /// Owns every buffer of the solve, the context's and the solver's.
    private let arena: BufferArena

    // The per-sample arrays below are read and written on every iteration of every sample, and
    // Swift checks exclusive access to a class's stored `var` at run time (about 15 ns per
    // access, 8 % of a d = 64 solve). The checks are turned off for them: a context belongs to
    // one solve on one thread, and no access to them overlaps another (no element is passed
    // `inout` while the array is read).

    /// The samples still iterating, in increasing order.
    @exclusivity(unchecked) public private(set) var active: [Int]
    @exclusivity(unchecked) private var scratchActive: [Int]
    @exclusivity(unchecked) private(set) var outcomes: [SolveOutcome?]
    /// Iterations (updates of z) per sample.
    @exclusivity(unchecked) public private(set) var iterations: [Int]
    /// f evaluations per sample, counted by every evaluation through the context.
    @exclusivity(unchecked) public private(set) var evaluations: [Int]
    /// Analytic J·v products per sample (counted by ``JacobianVectorProducts``).
    @exclusivity(unchecked) public internal(set) var jacobianVectorProducts: [Int]
    /// Analytic vᵀJ products per sample.
    @exclusivity(unchecked) public var vectorJacobianProducts: [Int]
    /// Inner Krylov iterations per sample, for solvers that have them (reported when the
    /// solver's ``IterativeSolver/reportsKrylovIterations`` is true).
    @exclusivity(unchecked) public var krylovIterations: [Int]
    /// ‖f(z) − z‖ and the relative residual at the current iterate.
    @exclusivity(unchecked) public private(set) var absoluteResidual: [Double]
    @exclusivity(unchecked) public private(set) var relativeResidual: [Double]
    @exclusivity(unchecked) private var initialAbsolute: [Double]
    @exclusivity(unchecked) private var bestMeasure: [Double]
    @exclusivity(unchecked) private var bestAbsolute: [Double]
    @exclusivity(unchecked) private var bestRelative: [Double]
    @exclusivity(unchecked) private var histories: [ResidualHistory]
    private let startTime: UInt64
    /// The backtracking search of ``Proposal/direction(_:lineSearch:)`` proposals, made on first use.
    private var search: BacktrackingLineSearch?

    /// The bytes of the context's own buffers (z, f(z), g, the best point and two compaction
    /// buffers: 6 B d doubles), the part of a solve's workspace every solver shares.
    public static func sharedWorkspaceBytes(batchSize: Int, dimension: Int) -> Int {
        6 * batchSize * dimension * MemoryLayout<Double>.stride
    }

    /// A context for solving `map` from the rows of `initial` under `criteria`; throws when
    /// the start does not fit the map, holds a non-finite value, or the criteria are invalid.
    package init(map: Map, initial: Matrix, criteria: StoppingCriteria) throws(UsageError) {
        let b = map.batchSize, d = map.dimension
        try criteria.validate()
        guard b >= 1, d >= 1 else {
            throw UsageError("solve", "map", got: "B = \(b), d = \(d)", expected: "a map with at least one sample and dimension ≥ 1")
        }
        try Check.shape(initial, (b, d), "solve", "initial batch", "B × d of the map, one sample per row")
        guard initial.isFinite else {
            throw UsageError("solve", "initial batch", got: "a NaN or infinite entry", expected: "finite values")
        }
        self.map = map
        self.criteria = criteria
        self.batchSize = b
        self.dimension = d
        let n = b * d
        let arena = BufferArena()
        self.arena = arena
        z = arena.doubles(n)
        fz = arena.doubles(n)
        g = arena.doubles(n)
        bestZ = arena.doubles(n)
        compactZ = arena.doubles(n)
        compactF = arena.doubles(n)
        active = Array(0..<b)
        scratchActive = []
        scratchActive.reserveCapacity(b)
        outcomes = Array(repeating: nil, count: b)
        iterations = Array(repeating: 0, count: b)
        evaluations = Array(repeating: 0, count: b)
        jacobianVectorProducts = Array(repeating: 0, count: b)
        vectorJacobianProducts = Array(repeating: 0, count: b)
        krylovIterations = Array(repeating: 0, count: b)
        absoluteResidual = Array(repeating: .nan, count: b)
        relativeResidual = Array(repeating: .nan, count: b)
        initialAbsolute = Array(repeating: .nan, count: b)
        bestMeasure = Array(repeating: .infinity, count: b)
        bestAbsolute = Array(repeating: .nan, count: b)
        bestRelative = Array(repeating: .nan, count: b)
        histories = Array(repeating: ResidualHistory(), count: b)
        if criteria.recordHistory {
            // Enough for a typical solve; longer ones grow geometrically (amortised, not per step).
            let expected = min(criteria.maxIterations, criteria.maxEvaluations ?? Int.max, 4096) + 2
            for s in 0..<b { histories[s].reserve(expected) }
        }
        startTime = DispatchTime.now().uptimeNanoseconds
        initial.storage.withUnsafeBufferPointer { p in
            z.update(from: p.baseAddress!, count: n)
            bestZ.update(from: p.baseAddress!, count: n)
        }
    }

    public var hasActiveSamples: Bool { !active.isEmpty }

    /// Seconds since the solve started.
    public var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startTime) * 1e-9 }

    /// Row `s` of a B × d buffer.
    @inline(__always)
    public func row(_ buffer: UnsafeMutablePointer<Double>, _ s: Int) -> UnsafeMutablePointer<Double> {
        buffer + s * dimension
    }

    /// f evaluations sample `s` may still spend (`Int.max` without a cap).
    public func remainingEvaluations(_ s: Int) -> Int {
        criteria.maxEvaluations.map { $0 - evaluations[s] } ?? .max
    }

    /// `count` zero doubles for the solver's per-solve state, freed with the context; counted in
    /// the solve's ``SolveResult/workspaceBytes``. Call from ``IterativeSolver/makeState(for:)``,
    /// never per iteration.
    public func allocate(doubles count: Int) -> UnsafeMutablePointer<Double> { arena.doubles(count) }

    /// `count` doubles left as the memory held them (any bit pattern, NaN included), otherwise like
    /// ``allocate(doubles:)``: for a buffer whose every entry the solver writes before reading it
    /// (the built-in solvers' pair histories, whose rows beyond the pairs stored are never read).
    package func allocate(uninitializedDoubles count: Int) -> UnsafeMutablePointer<Double> { arena.uninitializedDoubles(count) }

    /// `count` uninitialised doubles, otherwise like ``allocate(uninitializedDoubles:)``, in a
    /// buffer the solve's result may keep without a copy (``PooledDoubles``; Broyden's U and V).
    package func allocate(sharedDoubles count: Int) -> PooledDoubles { arena.sharedDoubles(count) }

    /// `count` zero 32-bit integers (LAPACK integer workspaces), like ``allocate(doubles:)``.
    public func allocate(int32s count: Int) -> UnsafeMutablePointer<Int32> { arena.int32s(count) }

    /// `count` zero integers (per-sample counters of the solver's state), like ``allocate(doubles:)``.
    /// Unlike a Swift array in the state, different samples' entries may be updated from
    /// several threads at once (``forEachActiveSample(readsPerSample:_:)``).
    public func allocate(integers count: Int) -> UnsafeMutablePointer<Int> { arena.integers(count) }

    /// The bytes allocated so far for this solve (context and solver state).
    public var workspaceBytes: Int { arena.allocatedBytes }

    /// The line search for direction proposals, allocated on first use.
    package var lineSearch: BacktrackingLineSearch {
        if let search { return search }
        let made = BacktrackingLineSearch(arena: arena, batchSize: batchSize, dimension: dimension)
        search = made
        return made
    }

    /// Calls `body(s)` once for every active sample s, split over the BLAS threads when the
    /// samples' work together reads at least ``parallelStepReads`` doubles (`readsPerSample` per
    /// sample, e.g. about 2 m d + 8 d for an Anderson step with memory m); smaller steps stay on
    /// the calling thread. The samples are split into contiguous ranges.
    ///
    /// `body` must read and write only sample s's rows and state (per-sample scratch included),
    /// so that each sample is computed exactly as on one thread and results do not depend on the
    /// thread count; it must not call ``stop(sample:outcome:)`` (collect such samples and stop
    /// them afterwards).
    public func forEachActiveSample(readsPerSample: Int, _ body: (Int) -> Void) {
        active.withUnsafeBufferPointer { samples in
            RowParallelism.forEachRowRange(rows: samples.count, columns: readsPerSample,
                                           minimumEntries: Self.parallelStepReads) { range in
                for i in range { body(samples[i]) }
            }
        }
    }

    /// The smallest step, in doubles read, that ``forEachActiveSample(readsPerSample:_:)`` splits:
    /// 2¹⁹ (4 MiB, about 0.2 ms). Measured on 2 vCPUs (tanh cells, default BLAS threads,
    /// `deq-bench overhead`, solve / (nfe × one evaluation)):
    /// - d = 512, B = 64 (0.75–2.2 Mi doubles a step) was 9–14 % faster split for Anderson m = 5
    ///   and 20, and 5–9 % for Broyden; d = 2048, B = 4 and 8 (0.4–1.6 Mi) were unchanged within
    ///   ±1.5 % (bf500c2).
    /// - From 2¹⁷ instead (stop 35, 6 alternated runs per side, Benchmarks/results/stop35-split-*):
    ///   d = 2048, B = 8 Anderson m = 5 (0.28 Mi) gained in every pair (median 1.086 → 1.068),
    ///   d = 512, B = 8 Anderson m = 20 (0.19 Mi) was unchanged, and d = 512, B = 8 Broyden
    ///   (0.30 Mi) lost in 5 of 6 pairs (median 1.252 → 1.292). From 2¹⁶, d = 512, B = 8 Anderson
    ///   m = 5 (0.07 Mi) lost too (own time 0.54 → 0.62 ms, one undisturbed pair of runs).
    /// The reads alone do not tell these apart. A likely reason, not measured: at d = 2048 the
    /// cell's 32 MiB W evicts the history at every evaluation, so a split step reads it from
    /// memory on either core, while at d = 512 (W 2 MiB) the history stays in one core's caches
    /// and a split moves half of it to the other core.
    public static var parallelStepReads: Int { 1 << 19 }

    /// Counts one more iteration for every active sample.
    package func beginIteration() {
        for s in active { iterations[s] += 1 }
    }

    // MARK: Evaluation

    /// fz ← f(z) for the active samples, one batched call.
    package func evaluateActive() {
        evaluate(at: z, into: fz, samples: active)
    }

    /// `output` ← f(`points`) for the rows `samples` of two B × d buffers, in one batched call
    /// of the map on the compacted rows (no compaction when every sample is included). Counts
    /// one evaluation for each sample. Solvers that need evaluations beyond the loop's (probes,
    /// trial points) call this, so every evaluation is counted.
    public func evaluate(at points: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>, samples: [Int]) {
        guard !samples.isEmpty else { return }
        let d = dimension
        samples.withUnsafeBufferPointer { rows in
            if rows.count == batchSize {
                map.evaluate(points, into: output, samples: rows)
            } else {
                for (r, s) in rows.enumerated() {
                    (compactZ + r * d).update(from: points + s * d, count: d)
                }
                map.evaluate(compactZ, into: compactF, samples: rows)
                for (r, s) in rows.enumerated() {
                    (output + s * d).update(from: compactF + r * d, count: d)
                }
            }
        }
        for s in samples { evaluations[s] += 1 }
    }

    // MARK: Stopping decisions

    /// For each active sample: g ← f(z) − z, the residual norms, the history entry, the best
    /// point, and the outcome when the sample stops. Stopped samples leave ``active``.
    package func assessActive() {
        scratchActive.removeAll(keepingCapacity: true)
        for s in active {
            if let outcome = assess(sample: s) {
                outcomes[s] = outcome
            } else {
                scratchActive.append(s)
            }
        }
        swap(&active, &scratchActive)
    }

    /// Stops sample `s` with `outcome` (for solver-specific reasons such as a line search that
    /// found no acceptable step and no budget left). The returned point stays the best one seen.
    public func stop(sample s: Int, outcome: SolveOutcome) {
        precondition(outcome != .converged, "a solver cannot declare convergence; the context decides it from the residual")
        outcomes[s] = outcome
        active.removeAll { $0 == s }
    }

    /// Stops every active sample with `outcome` (an observer's stop request).
    package func stopAll(outcome: SolveOutcome) {
        for s in active { outcomes[s] = outcome }
        active.removeAll()
    }

    /// The outcomes decided so far (nil while a sample is active).
    package var currentOutcomes: [SolveOutcome?] { outcomes }

    /// The residual norms of a point from its image: (‖f − z‖, ‖f‖) and g written to `residual`.
    ///
    /// One pass writes g = f − z and accumulates Σ gⱼ² and Σ fⱼ² (four partial sums each in one
    /// `SIMD4` vector, in a fixed order, so the result does not depend on the thread count or the
    /// batch). A plain sum of squares is accurate (relative error ≤ (d/4 + 2) ε) unless a square
    /// overflows or the squares are so small that they lose digits to underflow; a sum that is
    /// not finite or is below 1e-270 (zero included: where underflowed squares, each < 2.3e-308,
    /// could matter) is recomputed by BLAS `dnrm2`, which scales (``BLAS/norm(sumOfSquares:count:_:)``,
    /// the one place of that rule). This is KINSOL's `N_VWL2Norm`
    /// with a safe fallback; it saves two of the three passes over the row that g and two `dnrm2`
    /// calls took (issue 13).
    @inline(__always)
    public func residualNorms(z zRow: UnsafePointer<Double>, fz fRow: UnsafePointer<Double>,
                       residual: UnsafeMutablePointer<Double>) -> (absolute: Double, image: Double) {
        let d = dimension
        var gSquares = SIMD4<Double>(), fSquares = SIMD4<Double>()
        var j = 0
        while j + 4 <= d {
            let f = load4(fRow + j), r = f - load4(zRow + j)
            UnsafeMutableRawPointer(residual + j).storeBytes(of: r, as: SIMD4<Double>.self)
            gSquares += r * r
            fSquares += f * f
            j += 4
        }
        var gTail = 0.0, fTail = 0.0
        while j < d {
            let f = fRow[j], r = f - zRow[j]
            residual[j] = r
            gTail += r * r
            fTail += f * f
            j += 1
        }
        return (BLAS.norm(sumOfSquares: gSquares.sum() + gTail, count: d, residual),
                BLAS.norm(sumOfSquares: fSquares.sum() + fTail, count: d, fRow))
    }

    private func assess(sample s: Int) -> SolveOutcome? {
        let zRow = row(z, s), fRow = row(fz, s), gRow = row(g, s)
        let (absolute, imageNorm) = residualNorms(z: zRow, fz: fRow, residual: gRow)
        let relative = StoppingCriteria.relativeResidual(absolute: absolute, imageNorm: imageNorm)
        absoluteResidual[s] = absolute
        relativeResidual[s] = relative
        if criteria.recordHistory {
            histories[s].append(iteration: iterations[s], evaluations: evaluations[s],
                                seconds: elapsedSeconds, absolute: absolute, relative: relative)
        }
        guard absolute.isFinite, imageNorm.isFinite else { return .nonFinite }
        if initialAbsolute[s].isNaN { initialAbsolute[s] = absolute }
        let measure = criteria.measure == .absolute ? absolute : relative
        if measure < bestMeasure[s] {
            bestMeasure[s] = measure
            bestAbsolute[s] = absolute
            bestRelative[s] = relative
            row(bestZ, s).update(from: zRow, count: dimension)
        }
        if measure <= criteria.tolerance { return .converged }
        if absolute > criteria.divergenceFactor * initialAbsolute[s] { return .diverged }
        if iterations[s] >= criteria.maxIterations { return .maxIterationsReached }
        if remainingEvaluations(s) <= 0 { return .maxEvaluationsReached }
        return nil
    }

    /// The result: per sample the converged or best point and its true residual.
    package func finish(solverName: String, reportsKrylovIterations: Bool = false,
                        byproducts: SolverByproducts = SolverByproducts()) -> SolveResult {
        let n = batchSize * dimension
        let solution = Matrix(rows: batchSize, columns: dimension, storage: Array(UnsafeBufferPointer(start: bestZ, count: n)))
        let samples = (0..<batchSize).map { s in
            SampleReport(outcome: outcomes[s] ?? .maxIterationsReached,
                         iterations: iterations[s], evaluations: evaluations[s],
                         jacobianVectorProducts: jacobianVectorProducts[s],
                         vectorJacobianProducts: vectorJacobianProducts[s],
                         krylovIterations: reportsKrylovIterations ? krylovIterations[s] : nil,
                         absoluteResidual: bestAbsolute[s], relativeResidual: bestRelative[s],
                         history: histories[s])
        }
        return SolveResult(solverName: solverName, solution: solution, samples: samples,
                           criteria: criteria, wallSeconds: elapsedSeconds, workspaceBytes: workspaceBytes,
                           byproducts: byproducts)
    }
}
