import Foundation

/// Sizes with overflow-checked arithmetic: the product of extents, or nil when it overflows
/// `Int` (a size that large cannot be allocated anyway).
public enum Size {
    /// Π extents, nil on overflow or a negative extent.
    public static func product(_ extents: [Int]) -> Int? {
        var result = 1
        for extent in extents {
            guard extent >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// Σ terms, nil on overflow or when a term is nil.
    public static func sum(_ terms: [Int?]) -> Int? {
        var result = 0
        for term in terms {
            guard let term, term >= 0 else { return nil }
            let (next, overflow) = result.addingReportingOverflow(term)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// The bytes of `count` float64 values, nil on overflow.
    public static func doubles(_ extents: Int...) -> Int? {
        product(extents + [MemoryLayout<Double>.stride])
    }

    /// A byte count for messages: `6.3 GB`, `512 MB`, `12 kB` (powers of 1000).
    public static func describe(bytes: Int?) -> String {
        guard let bytes else { return "more than \(Int.max) bytes" }
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        for (scale, unit) in units where Double(bytes) >= scale {
            return String(format: "%.3g %@", Double(bytes) / scale, unit)
        }
        return "\(bytes) bytes"
    }
}

/// The memory a run may use: every entry point estimates what a run needs before allocating
/// (cells, solver workspaces, gradients, training, `.npy` arrays, experiment grids) and refuses,
/// naming what needs it, the estimate and the limit, when it exceeds the budget.
///
/// The default is half of the physical memory (`MemoryBudget.defaultLimit`), so a mistaken size
/// is refused before the machine swaps or the allocator aborts; `deq --memory-limit` (or the
/// `DEQ_MEMORY_LIMIT` environment variable, in bytes or with a k/M/G/T suffix) raises or lowers it.
public struct MemoryBudget: Sendable, Equatable {
    /// The limit in bytes.
    public var limit: Int

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Half of the physical memory (at least 1 GB).
    public static var defaultLimit: Int {
        max(1_000_000_000, Int(ProcessInfo.processInfo.physicalMemory / 2))
    }

    /// `DEQ_MEMORY_LIMIT` when set and valid, else ``defaultLimit``.
    public static var current: MemoryBudget {
        if let text = ProcessInfo.processInfo.environment["DEQ_MEMORY_LIMIT"], let bytes = try? parse(text) {
            return MemoryBudget(limit: bytes)
        }
        return MemoryBudget(limit: defaultLimit)
    }

    /// Bytes from `4096`, `512M`, `8G`, `1.5T` (powers of 1000; an optional trailing `B`).
    public static func parse(_ text: String) throws(UsageError) -> Int {
        var body = text.trimmingCharacters(in: .whitespaces).uppercased()
        if body.hasSuffix("B") { body.removeLast() }
        var scale = 1.0
        if let last = body.last, let factor = ["K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12][last] {
            scale = factor
            body.removeLast()
        }
        guard let number = Double(body), number.isFinite, number > 0, number * scale < 9e18 else {
            throw UsageError("memory limit", "value", got: "'\(text)'",
                             expected: "a positive size in bytes, optionally with k, M, G or T (e.g. 8G)")
        }
        return Int(number * scale)
    }

    /// Throws when `bytes` (nil: past Int) exceeds the limit; `what` names what needs it and
    /// `source` where the size came from (an option, a file and line).
    public func check(_ bytes: Int?, for what: String, source: String) throws(ResourceError) {
        guard let bytes, bytes <= limit else {
            throw ResourceError(source: source, what: what, estimate: bytes, limit: limit)
        }
    }
}

/// A run that would need more memory than the budget allows.
public struct ResourceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Where the size came from: `--dim`, `Experiments/x.yaml line 4`, `W.npy`.
    public var source: String
    /// What needs the memory: "W (d × d)", "the solver workspace".
    public var what: String
    /// The estimate in bytes, nil when it overflows.
    public var estimate: Int?
    public var limit: Int

    public var description: String {
        "\(source): \(what) needs \(Size.describe(bytes: estimate)), more than the memory limit of \(Size.describe(bytes: limit)); expected smaller sizes (or raise the limit with --memory-limit or DEQ_MEMORY_LIMIT)"
    }
}

extension MemoryBudget {
    /// Checks the memory of one solve before it starts: the batch must fit, then the shared
    /// buffers and the solver's state (``FixedPointSolver/totalWorkspaceBytes(batchSize:dimension:)``),
    /// the residual histories (five numbers per entry, reserved for min(maxIterations, 4096) + 2
    /// entries per sample) and the start and result batches.
    public func checkSolve(_ solver: any FixedPointSolver, batchSize b: Int, dimension d: Int,
                           criteria: StoppingCriteria, source: String) throws(ResourceError) {
        // Bounding B·d by the budget first keeps every formula below far from overflow (the
        // solvers' own limits cap m, L and k).
        guard let batch = Size.doubles(b, d), batch <= limit else {
            throw ResourceError(source: source, what: "a batch of \(b) samples of dimension \(d)", estimate: Size.doubles(b, d), limit: limit)
        }
        let entries = criteria.recordHistory ? min(criteria.maxIterations, 4096) + 2 : 0
        let history = Size.product([b, entries, 5, MemoryLayout<Double>.stride])
        let total = Size.sum([solver.totalWorkspaceBytes(batchSize: b, dimension: d), history, 2 * batch])
        try check(total, for: "the \(solver.name) solve of \(b) samples of dimension \(d) (workspace, histories, start and result)",
                  source: source)
    }
}
