import Foundation

/// The contract every ``FixedPointSolver`` keeps (docs/MATH.md §2, "Residuals and stopping"),
/// as checks a solver author can run on their own solver; the test suite runs the same checks
/// on the built-in solvers.
///
///     let failures = SolverConformance.check(MySolver())
///     // [] when the solver keeps the contract; otherwise one sentence per broken clause
///
/// Each check builds small maps whose answers are known and compares the solver's report with
/// the truth recomputed from the map: per-sample independence, no evaluations after
/// convergence, the returned point's true residual, the best point of a non-converged sample,
/// the evaluation cap, NaN as an outcome, no false convergence, the observer's stop, and the
/// workspace formula against the measured allocation.
public enum SolverConformance {
    /// One clause a solver broke.
    public struct Failure: Sendable, CustomStringConvertible, Equatable {
        /// The clause (`batch equals per-sample`, `true residual`, …).
        public var clause: String
        /// What was seen.
        public var detail: String
        public var description: String { "\(clause): \(detail)" }
    }

    /// Every clause `solver` breaks; empty when it keeps the contract. Throws only when the
    /// solver itself refuses to solve (a ``UsageError`` from `validate` or `solve`).
    public static func check(_ solver: any FixedPointSolver) throws(UsageError) -> [Failure] {
        var failures: [Failure] = []
        try batchEqualsPerSample(solver, &failures)
        try convergedSamplesCostNothing(solver, &failures)
        try nonConvergedReturnsBestPoint(solver, &failures)
        try evaluationCap(solver, &failures)
        try nanIsAnOutcome(solver, &failures)
        try noFalseConvergence(solver, &failures)
        try observerStops(solver, &failures)
        try workspaceMatchesAllocation(solver, &failures)
        return failures
    }

    // MARK: - The clauses

    /// f(z)ᵢ = tanh(A zᵢ + xᵢ) with ‖A‖₂ ≤ 0.9, computed per sample by plain loops, so a sample's
    /// arithmetic does not depend on which other samples are evaluated with it.
    private static func contractiveMap(dimension d: Int, batchSize b: Int, seed: UInt64,
                                       onEvaluate: (@Sendable (Int) -> Void)? = nil) throws(UsageError) -> ClosureMap {
        var random = SplitMix64(seed: seed)
        // Entries uniform in [−1, 1] scaled by 0.9/d bound every row sum of |A| by 0.9, hence
        // ‖A‖₂ ≤ √(‖A‖₁‖A‖∞) ≤ 0.9 and f is a contraction with rate ≤ 0.9.
        let a = (0..<(d * d)).map { _ in (2 * random.nextUniform() - 1) * 0.9 / Double(d) }
        let x = (0..<(b * d)).map { _ in random.nextGaussian() }
        return try ClosureMap(dimension: d, batchSize: b) { s, z, fz in
            onEvaluate?(s)
            for i in 0..<d {
                var sum = x[s * d + i]
                for j in 0..<d { sum += a[i * d + j] * z[j] }
                fz[i] = Foundation.tanh(sum)
            }
        }
    }

    /// The true residual ‖f(z) − z‖ of each returned row, recomputed from the map.
    private static func trueResiduals(_ map: ClosureMap, _ solution: Matrix) throws(UsageError) -> [Double] {
        let image = try map(solution)
        return (0..<solution.rows).map { i in
            zip(image.row(i), solution.row(i)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        }
    }

    private static func batchEqualsPerSample(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "batch equals per-sample"
        let d = 24, b = 3
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 2000)
        let batch = try solver.solve(try contractiveMap(dimension: d, batchSize: b, seed: 7), from: Matrix(rows: b, columns: d),
                                     criteria: criteria)
        var random = SplitMix64(seed: 7)
        let a = (0..<(d * d)).map { _ in (2 * random.nextUniform() - 1) * 0.9 / Double(d) }
        let x = (0..<(b * d)).map { _ in random.nextGaussian() }
        for i in 0..<b {
            let row = Array(x[(i * d)..<((i + 1) * d)])
            let single = try ClosureMap(dimension: d, batchSize: 1) { _, z, fz in
                for k in 0..<d {
                    var sum = row[k]
                    for j in 0..<d { sum += a[k * d + j] * z[j] }
                    fz[k] = Foundation.tanh(sum)
                }
            }
            let alone = try solver.solve(single, from: Matrix(rows: 1, columns: d), criteria: criteria)
            let (p, q) = (alone.samples[0], batch.samples[i])
            if p.outcome != q.outcome || p.iterations != q.iterations || p.evaluations != q.evaluations {
                failures.append(Failure(clause: clause, detail: "sample \(i): alone \(p.outcome), \(p.iterations) iterations, \(p.evaluations) evaluations; in the batch \(q.outcome), \(q.iterations), \(q.evaluations)"))
                continue
            }
            // Identical arithmetic per sample is expected; 1e-12 leaves room for a BLAS kernel
            // that blocks a solver's own batched products differently for 1 and B rows (each
            // such sum is exact to d ε ≈ 5e-15 here, amplified at most 1/(1 − 0.9) = 10 times).
            let scale = max(1, alone.solution.storage.map(abs).max() ?? 0)
            let gap = zip(alone.solution.storage, batch.solution.row(i)).map { abs($0 - $1) }.max() ?? 0
            if !(gap <= 1e-12 * scale) {
                failures.append(Failure(clause: clause, detail: "sample \(i): solutions differ by \(gap)"))
            }
        }
    }

    private final class Counter: @unchecked Sendable {
        var calls: [Int]
        init(_ b: Int) { calls = Array(repeating: 0, count: b) }
    }

    private static func convergedSamplesCostNothing(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "converged samples cost nothing"
        let d = 8, b = 4
        let counter = Counter(b)
        // Sample s contracts at rate 0.15 (s + 1): they converge after different counts.
        let map = try ClosureMap(dimension: d, batchSize: b) { s, z, fz in
            counter.calls[s] += 1
            for j in 0..<d { fz[j] = 0.15 * Double(s + 1) * z[j] + 1 }
        }
        var start = Matrix(rows: b, columns: d)
        start.setRow(0, to: Array(repeating: 1 / 0.85, count: d))   // sample 0 starts at its fixed point
        let result = try solver.solve(map, from: start, criteria: try StoppingCriteria(tolerance: 1e-10, maxIterations: 1000))
        if !result.converged { failures.append(Failure(clause: clause, detail: "linear contractions did not converge: \(result.samples.map(\.outcome))")) }
        if result.samples[0].evaluations != 1 {
            failures.append(Failure(clause: clause, detail: "a sample that starts at its fixed point cost \(result.samples[0].evaluations) evaluations, not 1"))
        }
        if result.samples.map(\.evaluations) != counter.calls {
            failures.append(Failure(clause: clause, detail: "reported nfe \(result.samples.map(\.evaluations)), the map was called \(counter.calls) times"))
        }
        if result.samples.map({ $0.history.evaluations.last ?? 0 }) != counter.calls {
            failures.append(Failure(clause: clause, detail: "the history's last nfe is not the number of calls \(counter.calls)"))
        }
    }

    private static func nonConvergedReturnsBestPoint(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "best point and true residual"
        let map = try contractiveMap(dimension: 16, batchSize: 2, seed: 3)
        let criteria = try StoppingCriteria(tolerance: 1e-300, measure: .absolute, maxIterations: 4)
        let result = try solver.solve(map, from: Matrix(rows: 2, columns: 16), criteria: criteria)
        let truth = try trueResiduals(map, result.solution)
        for (i, report) in result.samples.enumerated() {
            if report.converged { failures.append(Failure(clause: clause, detail: "sample \(i) reports convergence to 1e-300")) }
            if report.outcome == .maxIterationsReached && report.iterations != 4 {
                failures.append(Failure(clause: clause, detail: "sample \(i) stopped for its iteration cap after \(report.iterations) iterations, not 4"))
            }
            if let best = report.history.absolute.min(), report.absoluteResidual != best {
                failures.append(Failure(clause: clause, detail: "sample \(i) returned residual \(report.absoluteResidual), its best evaluated point had \(best)"))
            }
            // Both sides are sums of 16 squares of O(1) terms: a few ε relative, 1e-12 is 4000 ε.
            if !(abs(truth[i] - report.absoluteResidual) <= 1e-15 + 1e-12 * truth[i]) {
                failures.append(Failure(clause: clause, detail: "sample \(i) reported residual \(report.absoluteResidual), its returned point has \(truth[i])"))
            }
        }
    }

    private static func evaluationCap(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "evaluation cap"
        let map = try contractiveMap(dimension: 16, batchSize: 2, seed: 4)
        let result = try solver.solve(map, from: Matrix(rows: 2, columns: 16),
                                      criteria: try StoppingCriteria(tolerance: 1e-300, measure: .absolute, maxIterations: 1000, maxEvaluations: 5))
        for (i, report) in result.samples.enumerated() where report.outcome != .maxEvaluationsReached || report.evaluations > 5 {
            failures.append(Failure(clause: clause, detail: "sample \(i): \(report.outcome) after \(report.evaluations) evaluations with a cap of 5"))
        }
    }

    private static func nanIsAnOutcome(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "NaN is an outcome"
        let d = 6, b = 3
        let counter = Counter(b)
        let map = try ClosureMap(dimension: d, batchSize: b) { s, z, fz in
            counter.calls[s] += 1
            for j in 0..<d { fz[j] = 0.5 * z[j] + 1 }
            if s == 1 && counter.calls[s] >= 3 { fz[2] = .nan }
        }
        let result = try solver.solve(map, from: Matrix(rows: b, columns: d), criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 500))
        let poisoned = result.samples[1]
        if poisoned.outcome != .nonFinite { failures.append(Failure(clause: clause, detail: "a sample whose map returned NaN ended \(poisoned.outcome)")) }
        if !poisoned.absoluteResidual.isFinite || !result.solution.row(1).allSatisfy(\.isFinite) {
            failures.append(Failure(clause: clause, detail: "the NaN sample did not return its last finite best point"))
        }
        if !(result.samples[0].converged && result.samples[2].converged) {
            failures.append(Failure(clause: clause, detail: "the other samples were affected: \(result.samples.map(\.outcome))"))
        }
        if result.converged { failures.append(Failure(clause: clause, detail: "the batch reports convergence with a NaN sample")) }
        let nanStart = try ClosureMap(dimension: 3, batchSize: 1) { _, _, fz in for j in 0..<3 { fz[j] = .nan } }
        let atStart = try solver.solve(nanStart, from: Matrix(rows: 1, columns: 3), criteria: StoppingCriteria())
        if atStart.samples[0].outcome != .nonFinite || atStart.samples[0].evaluations != 1 {
            failures.append(Failure(clause: clause, detail: "NaN at the start: \(atStart.samples[0].outcome) after \(atStart.samples[0].evaluations) evaluations, expected nonFinite after 1"))
        }
    }

    /// Every sample reported converged meets the tolerance at its returned point, recomputed.
    private static func noFalseConvergence(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "no false convergence"
        for seed: UInt64 in 1...3 {
            let map = try contractiveMap(dimension: 20, batchSize: 3, seed: 100 + seed)
            let tolerance = 1e-9
            let result = try solver.solve(map, from: try Initialization.gaussian(scale: 1, seed: seed).makeBatch(batchSize: 3, dimension: 20),
                                          criteria: try StoppingCriteria(tolerance: tolerance, measure: .absolute, maxIterations: 500))
            let truth = try trueResiduals(map, result.solution)
            for (i, report) in result.samples.enumerated() where report.converged && !(truth[i] <= tolerance * (1 + 1e-12)) {
                failures.append(Failure(clause: clause, detail: "seed \(seed) sample \(i) reported converged, its true residual is \(truth[i]) > \(tolerance)"))
            }
            if result.samples.contains(where: { !$0.converged }) {
                failures.append(Failure(clause: clause, detail: "seed \(seed): a contraction with rate ≤ 0.9 did not converge in 500 iterations: \(result.samples.map(\.outcome))"))
            }
        }
    }

    private static func observerStops(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "observer"
        let map = try contractiveMap(dimension: 12, batchSize: 2, seed: 5)
        final class Seen: @unchecked Sendable { var iterations: [Int] = [] }
        let seen = Seen()
        let observer = SolveObserver { progress in
            seen.iterations.append(progress.iteration)
            return progress.iteration >= 2 ? .stop : .continue
        }
        let result = try solver.solve(map, from: Matrix(rows: 2, columns: 12),
                                      criteria: try StoppingCriteria(tolerance: 1e-300, measure: .absolute, maxIterations: 1000),
                                      observer: observer)
        for (i, report) in result.samples.enumerated() where report.outcome != .interrupted {
            failures.append(Failure(clause: clause, detail: "sample \(i) ended \(report.outcome) after the observer asked to stop"))
        }
        if seen.iterations.first != 0 || seen.iterations != seen.iterations.sorted() {
            failures.append(Failure(clause: clause, detail: "the observer saw iterations \(seen.iterations), expected 0, 1, 2 in order"))
        }
    }

    /// The formula the memory guard uses must not under-state what a solve allocates.
    private static func workspaceMatchesAllocation(_ solver: any FixedPointSolver, _ failures: inout [Failure]) throws(UsageError) {
        let clause = "workspace"
        for (b, d) in [(1, 9), (3, 17)] {
            let map = try contractiveMap(dimension: d, batchSize: b, seed: 6)
            let result = try solver.solve(map, from: Matrix(rows: b, columns: d),
                                          criteria: try StoppingCriteria(tolerance: 1e-10, maxIterations: 200))
            let formula = solver.totalWorkspaceBytes(batchSize: b, dimension: d)
            if result.workspaceBytes > formula {
                failures.append(Failure(clause: clause, detail: "B = \(b), d = \(d): the solve allocated \(result.workspaceBytes) bytes, workspaceBytes(batchSize:dimension:) plus the shared part says \(formula)"))
            }
        }
    }
}
