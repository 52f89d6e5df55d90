import Foundation

/// The per-solve state every solver shares: the batch buffers, evaluation of the active samples
/// with compaction, and the per-sample stopping decisions of REFERENCE §2.
///
/// Allocated once per solve; nothing in an iteration allocates (the history arrays are reserved
/// up front). All buffers are B × d row-major, one sample per row, so a sample's row stays at
/// the same place whether or not the other samples are still active.
///
/// The flow of a solver built on it:
///
///     let context = SolveContext(map: map, initial: z0, criteria: criteria)
///     context.evaluateActive(); context.assessActive()          // f(z₀), residuals, outcomes
///     while context.hasActiveSamples {
///         for s in context.active { /* write the next z of sample s into context.z */ }
///         context.beginIteration()
///         context.evaluateActive(); context.assessActive()
///     }
///     return context.finish(solverName: name)
final class SolveContext<Map: FixedPointMap> {
    let map: Map
    let criteria: StoppingCriteria
    let batchSize: Int
    let dimension: Int

    /// The current iterate z, B × d.
    let z: UnsafeMutablePointer<Double>
    /// f(z) at the current iterate, B × d (valid for samples evaluated at z).
    let fz: UnsafeMutablePointer<Double>
    /// The residual g = f(z) − z, B × d (written by ``assessActive()``).
    let g: UnsafeMutablePointer<Double>
    /// The point returned per sample: the converged point or the best one seen.
    private let bestZ: UnsafeMutablePointer<Double>
    private let compactZ: UnsafeMutablePointer<Double>
    private let compactF: UnsafeMutablePointer<Double>
    /// Owns every buffer above.
    private let arena: BufferArena

    /// The samples still iterating, in increasing order.
    private(set) var active: [Int]
    private var scratchActive: [Int]
    private(set) var outcomes: [SolveOutcome?]
    var iterations: [Int]
    var evaluations: [Int]
    var jacobianVectorProducts: [Int]
    var vectorJacobianProducts: [Int]
    var krylovIterations: [Int]
    /// ‖f(z) − z‖ and the relative residual at the current iterate.
    private(set) var absoluteResidual: [Double]
    private(set) var relativeResidual: [Double]
    private var initialAbsolute: [Double]
    private var bestMeasure: [Double]
    private var bestAbsolute: [Double]
    private var bestRelative: [Double]
    private var histories: [ResidualHistory]
    private let startTime: UInt64

    init(map: Map, initial: Matrix, criteria: StoppingCriteria) {
        let b = map.batchSize, d = map.dimension
        precondition(initial.rows == b && initial.columns == d,
                     "Initial batch is \(initial.rows) × \(initial.columns), the map expects \(b) × \(d).")
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

    var hasActiveSamples: Bool { !active.isEmpty }

    var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startTime) * 1e-9 }

    /// Row `s` of a B × d buffer.
    @inline(__always)
    func row(_ buffer: UnsafeMutablePointer<Double>, _ s: Int) -> UnsafeMutablePointer<Double> {
        buffer + s * dimension
    }

    /// f evaluations sample `s` may still spend (`Int.max` without a cap).
    func remainingEvaluations(_ s: Int) -> Int {
        criteria.maxEvaluations.map { $0 - evaluations[s] } ?? .max
    }

    /// Counts one more iteration for every active sample.
    func beginIteration() {
        for s in active { iterations[s] += 1 }
    }

    // MARK: Evaluation

    /// fz ← f(z) for the active samples, one batched call.
    func evaluateActive() {
        evaluate(at: z, into: fz, samples: active)
    }

    /// `output` ← f(`points`) for the rows `samples` of two B × d buffers, in one batched call
    /// of the map on the compacted rows (no compaction when every sample is included). Counts
    /// one evaluation for each sample.
    func evaluate(at points: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>, samples: [Int]) {
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
    func assessActive() {
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
    func stop(sample s: Int, outcome: SolveOutcome) {
        outcomes[s] = outcome
        active.removeAll { $0 == s }
    }

    /// The residual norms of a point from its image: (‖f − z‖, ‖f‖) and g written to `residual`.
    @inline(__always)
    func residualNorms(z zRow: UnsafePointer<Double>, fz fRow: UnsafePointer<Double>,
                       residual: UnsafeMutablePointer<Double>) -> (absolute: Double, image: Double) {
        let d = dimension
        for j in 0..<d { residual[j] = fRow[j] - zRow[j] }
        return (BLAS.nrm2(count: d, residual), BLAS.nrm2(count: d, fRow))
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
    func finish(solverName: String, reportsKrylovIterations: Bool = false) -> SolveResult {
        let n = batchSize * dimension
        let solution = Matrix(rows: batchSize, columns: dimension,
                              storage: Array(UnsafeBufferPointer(start: bestZ, count: n)))
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
                           criteria: criteria, wallSeconds: elapsedSeconds)
    }
}
