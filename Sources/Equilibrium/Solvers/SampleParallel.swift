import Dispatch
import Foundation

/// Per-sample parallelism: solves a batch as `threads` contiguous groups of samples at once, one
/// thread per group, each group an ordinary solve of the wrapped solver on its rows with
/// single-threaded BLAS.
///
/// The other way to use several cores is BLAS threading (`OPENBLAS_NUM_THREADS`, the default):
/// one solve whose GEMMs OpenBLAS splits. Which is faster depends on the cell, and was chosen by
/// measurement (`deq-bench threads`, Benchmarks/README.md):
/// - a dense cell's evaluation is one GEMM that reads W (d² numbers) once for the whole batch;
///   split into groups, every group reads W again, so on a memory-bound d = 2048 cell BLAS
///   threading is faster;
/// - a convolutional cell spends much of an evaluation outside BLAS (im2col, col2im, GroupNorm
///   passes, all on the calling thread under BLAS threading) on small GEMMs; groups run all of it
///   in parallel, so per-sample parallelism is faster there.
///
/// Samples never share anything in a solve (every solver's decisions are per sample), so a
/// group's samples get the statistics they would get in the whole batch: the same outcomes,
/// iterations and evaluation counts whenever the map computes a sample's row independently of
/// the other rows of its call (the built-in cells do, up to the rounding of a GEMM with fewer
/// rows). The result concatenates the groups' rows in the original order; its `wallSeconds` is
/// the whole parallel solve's, its workspace the groups' sum.
///
/// While the groups run, OpenBLAS is set to one thread (its thread count is one process-wide
/// setting) and restored afterwards; do not run BLAS-threaded work on other threads meanwhile.
/// OpenBLAS's worker threads spin for about 0.1 s after its last threaded call, and groups
/// started in that window run slower (tanh d = 2048, B = 8: 1.40–1.48× on two threads against
/// 1.75–1.77× with `OPENBLAS_THREAD_TIMEOUT=4`; Benchmarks/README.md, "idle worker threads").
/// An observer is refused: it would be called from several threads with partial contexts.
public struct SampleParallel<Base: FixedPointSolver>: FixedPointSolver {
    /// The solver each group runs.
    public var base: Base
    /// The number of groups, hence threads (at most B are used).
    public var threads: Int

    public init(_ base: Base, threads: Int) throws(UsageError) {
        self.base = base
        self.threads = threads
        try validate()
    }

    public var name: String { base.name }

    /// The largest thread count accepted (far above any core count this runs on).
    public static var threadLimit: Int { ConcurrentGroups.threadLimit }

    public func validate() throws(UsageError) {
        try base.validate()
        try Check.atLeast(threads, 1, "SampleParallel", "threads", "the number of sample groups solved at once")
        guard threads <= Self.threadLimit else {
            throw UsageError("SampleParallel", "threads", got: "\(threads)",
                             expected: "at most \(Self.threadLimit) (one thread per group; typically the number of cores)")
        }
    }

    /// The groups' own state: the wrapped solver's workspace for each group's rows (the shared
    /// buffers are linear in B, so the groups' shared parts add up to the whole batch's).
    public func workspaceBytes(batchSize: Int, dimension: Int) -> Int {
        Self.groups(batchSize: batchSize, threads: threads).reduce(0) {
            $0 + base.workspaceBytes(batchSize: $1.count, dimension: dimension)
        }
    }

    /// Contiguous row ranges of nearly equal size (sizes differ by at most one), at most B of them.
    package static func groups(batchSize: Int, threads: Int) -> [Range<Int>] {
        ConcurrentGroups.ranges(count: batchSize, groups: threads)
    }

    public func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria,
                                          observer: SolveObserver?) throws(UsageError) -> SolveResult {
        try validate()
        guard observer == nil else {
            throw UsageError("SampleParallel", "observer", got: "an observer",
                             expected: "none: the groups run on several threads at once; observe a solve of the wrapped solver instead")
        }
        let b = map.batchSize, d = map.dimension
        try Check.shape(initial, (b, d), "solve", "initial batch", "B × d of the map, one sample per row")
        guard let concurrent = map as? any ThreadSafeMap else {
            throw UsageError("SampleParallel", "map", got: "\(Map.self), not declared safe to evaluate from several threads at once",
                             expected: "a map conforming to ThreadSafeMap (every built-in cell does; a Sendable map of your own can)")
        }
        let groups = Self.groups(batchSize: b, threads: threads)
        guard groups.count > 1 else { return try base.solve(map, from: initial, criteria: criteria, observer: nil) }
        return try solveGroups(concurrent, groups: groups, initial: initial, criteria: criteria)
    }

    /// The groups' solves, one thread each, and their results as one.
    private func solveGroups<Map: ThreadSafeMap>(_ map: Map, groups: [Range<Int>], initial: Matrix,
                                                 criteria: StoppingCriteria) throws(UsageError) -> SolveResult {
        let b = map.batchSize, d = map.dimension
        let started = DispatchTime.now().uptimeNanoseconds
        let parts = try ConcurrentGroups.map(groups.count) { k throws(UsageError) in
            let rows = groups[k]
            let part = SampleRange(base: map, offset: rows.lowerBound, count: rows.count)
            return try base.solve(part, from: initial.rows(rows), criteria: criteria, observer: nil)
        }

        var storage: [Double] = []
        storage.reserveCapacity(b * d)
        for part in parts { storage.append(contentsOf: part.solution.storage) }
        let inverses = parts.compactMap(\.byproducts.inverseJacobian)
        let inverse: (any InverseJacobianEstimate)? = inverses.count == parts.count
            ? StackedInverseJacobian(parts: inverses, dimension: d) : nil
        return SolveResult(solverName: parts[0].solverName, solution: Matrix(rows: b, columns: d, storage: storage),
                           samples: parts.flatMap(\.samples), criteria: criteria,
                           wallSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9,
                           workspaceBytes: parts.reduce(0) { $0 + $1.workspaceBytes },
                           byproducts: SolverByproducts(inverseJacobian: inverse))
    }
}

/// Work split into groups that run at once, one thread per group, with OpenBLAS on one thread
/// while they run (its thread count is one process-wide setting; restored afterwards). The one
/// place that runs per-sample groups in parallel: ``SampleParallel``'s solves and the image
/// trainer's data-parallel steps.
package enum ConcurrentGroups {
    /// The largest number of groups accepted (far above any core count this runs on).
    package static let threadLimit = 256

    /// 0..<count as at most `groups` contiguous ranges of nearly equal size (sizes differ by at
    /// most one), at least one.
    package static func ranges(count: Int, groups: Int) -> [Range<Int>] {
        let n = max(1, min(groups, count))
        return (0..<n).map { k in (k * count / n)..<((k + 1) * count / n) }
    }

    /// body(k) for k in 0..<count, all at once; the results in the order of k, or the error of
    /// the first group (by k) that threw. With count ≤ 1 the body runs on the calling thread and
    /// BLAS keeps its threads.
    package static func map<T, Failure: Error>(_ count: Int, _ body: @Sendable (Int) throws(Failure) -> T) throws(Failure) -> [T] {
        guard count > 1 else { return try (0..<count).map { k throws(Failure) in try body(k) } }
        let results = Results<T, Failure>(count: count)
        let blasThreads = BLAS.threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(blasThreads) }
        DispatchQueue.concurrentPerform(iterations: count) { k in
            results.set(k, Result { () throws(Failure) in try body(k) })
        }
        return try (0..<count).map { k throws(Failure) in try results.get(k).get() }
    }

    /// The groups' results, written from their threads.
    private final class Results<T, Failure: Error>: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Result<T, Failure>?]

        init(count: Int) { results = Array(repeating: nil, count: count) }

        func set(_ k: Int, _ result: Result<T, Failure>) {
            lock.lock()
            results[k] = result
            lock.unlock()
        }

        func get(_ k: Int) -> Result<T, Failure> {
            lock.lock()
            defer { lock.unlock() }
            return results[k]!
        }
    }
}

/// A map that may be evaluated from several threads at once (its evaluation and Jacobian
/// products read shared state only, or lock it), as ``SampleParallel`` does. Every built-in
/// cell is one: an immutable `Sendable` value whose scratch buffers come from locked pools. A
/// map of your own conforms when it is `Sendable` in the same sense.
public protocol ThreadSafeMap: FixedPointMap, Sendable {}

extension TanhCell: ThreadSafeMap {}
extension AffineMap: ThreadSafeMap {}
extension MonotoneCell: ThreadSafeMap {}
extension ResidualCell: ThreadSafeMap {}
extension ConvResidualCell: ThreadSafeMap {}

/// Samples offset ..< offset + count of a map, as a map of their own: local sample r is the
/// base's sample offset + r (its input row), so a group of ``SampleParallel`` evaluates exactly
/// the rows the whole batch would.
struct SampleRange<Base: ThreadSafeMap>: ThreadSafeMap {
    let base: Base
    let offset: Int
    let count: Int

    var dimension: Int { base.dimension }
    var batchSize: Int { count }

    /// Calls `body` with the base's sample indices of the local `samples` (on the stack).
    @inline(__always)
    func withBaseSamples<R>(_ samples: UnsafeBufferPointer<Int>, _ body: (UnsafeBufferPointer<Int>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: samples.count) { shifted in
            for (r, s) in samples.enumerated() { shifted[r] = offset + s }
            return body(UnsafeBufferPointer(shifted))
        }
    }

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        withBaseSamples(samples) { base.evaluate(z, into: fz, samples: $0) }
    }
}

extension SampleRange: DifferentiableMap where Base: DifferentiableMap {
    func makeJacobianWorkspace(maxSamples: Int) -> Base.JacobianWorkspace {
        base.makeJacobianWorkspace(maxSamples: maxSamples)
    }

    func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: Base.JacobianWorkspace) {
        withBaseSamples(samples) {
            base.jacobianVectorProduct(at: z, image: fz, vector: v, into: out, samples: $0, workspace: workspace)
        }
    }

    func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: Base.JacobianWorkspace) {
        withBaseSamples(samples) {
            base.vectorJacobianProduct(at: z, image: fz, covector: u, into: out, samples: $0, workspace: workspace)
        }
    }
}

/// The groups' inverse-Jacobian estimates of a ``SampleParallel`` solve as one estimate for the
/// whole batch: rows of a product go to the group that holds their sample.
struct StackedInverseJacobian: InverseJacobianEstimate {
    let parts: [any InverseJacobianEstimate]
    let dimension: Int

    var batchSize: Int { parts.reduce(0) { $0 + $1.batchSize } }

    func product(_ x: Matrix) throws(UsageError) -> Matrix {
        try apply(x) { (part, rows) throws(UsageError) in try part.product(rows) }
    }

    func transposedProduct(_ x: Matrix) throws(UsageError) -> Matrix {
        try apply(x) { (part, rows) throws(UsageError) in try part.transposedProduct(rows) }
    }

    private func apply(_ x: Matrix,
                       _ body: (any InverseJacobianEstimate, Matrix) throws(UsageError) -> Matrix) throws(UsageError) -> Matrix {
        try Check.shape(x, (batchSize, dimension), "StackedInverseJacobian", "x", "B × d, one row per sample")
        var storage: [Double] = []
        storage.reserveCapacity(x.storage.count)
        var first = 0
        for part in parts {
            let n = part.batchSize
            storage.append(contentsOf: try body(part, x.rows(first..<(first + n))).storage)
            first += n
        }
        return Matrix(rows: batchSize, columns: dimension, storage: storage)
    }
}
