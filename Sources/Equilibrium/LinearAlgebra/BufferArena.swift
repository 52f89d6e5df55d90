/// Buffers (zero-initialised unless asked for uninitialised ones, ``uninitializedDoubles(_:)``)
/// allocated together when a solve starts and freed together when its state goes away: the
/// per-solve state of every solver takes its memory from one arena, so no iteration allocates,
/// no buffer is freed twice or forgotten, and the solve's workspace is measured from the
/// allocations themselves (``allocatedBytes``). The memory comes from ``WorkspacePool`` and
/// goes back there, so the next solve of the same shape reuses it.
package final class BufferArena {
    private var blocks: [WorkspacePool.Block] = []
    /// Buffers handed out so far, shared ones included (their index picks the colour offset).
    private var bufferCount = 0
    /// Bytes handed out so far (as requested; the one-element minimum of an empty request is
    /// not counted).
    package private(set) var allocatedBytes = 0

    package init() {}

    /// `count` doubles, all zero (at least one, so the pointer is always valid), starting on a
    /// cache line.
    package func doubles(_ count: Int) -> UnsafeMutablePointer<Double> { buffer(Double.self, count, zeroed: true) }

    /// `count` doubles as the pool block last held them (any bit pattern), for a buffer whose
    /// every entry is written before it is read: a solver's pair history, whose rows beyond the
    /// pairs stored are never read. Skips zeroing it on every solve.
    package func uninitializedDoubles(_ count: Int) -> UnsafeMutablePointer<Double> { buffer(Double.self, count, zeroed: false) }

    /// `count` 32-bit integers (LAPACK's integer workspaces), all zero.
    package func int32s(_ count: Int) -> UnsafeMutablePointer<Int32> { buffer(Int32.self, count, zeroed: true) }

    /// `count` integers (per-sample counters a solver's step updates), all zero.
    package func integers(_ count: Int) -> UnsafeMutablePointer<Int> { buffer(Int.self, count, zeroed: true) }

    /// `count` doubles as the pool block last held them, in a buffer that may outlive the arena:
    /// a solver's buffer that its result keeps without a copy (Broyden's U and V become the
    /// result's ``BroydenInverse``). Counted in ``allocatedBytes`` like the others; the block goes
    /// back to the pool when the last reference to the ``PooledDoubles`` goes away.
    package func sharedDoubles(_ count: Int) -> PooledDoubles {
        PooledDoubles(uninitializedCount: count, offset: nextOffset(Double.self, count))
    }

    private func buffer<T: Numeric>(_ type: T.Type, _ count: Int, zeroed: Bool) -> UnsafeMutablePointer<T> {
        precondition(count >= 0, "a buffer of \(count) \(T.self) values")
        let offset = nextOffset(T.self, count)
        let (values, block) = zeroed ? WorkspacePool.takeZeroed(T.self, count: count, offset: offset)
                                     : WorkspacePool.takeUninitialized(T.self, count: count, offset: offset)
        blocks.append(block)
        return values
    }

    /// The colour offset of the next buffer (``colourOffset(bufferIndex:)``), with that buffer's
    /// `count` values of `T` counted in ``allocatedBytes``: the bookkeeping every buffer shares.
    private func nextOffset<T>(_ type: T.Type, _ count: Int) -> Int {
        let offset = Self.colourOffset(bufferIndex: bufferCount)
        bufferCount += 1
        allocatedBytes += count * MemoryLayout<T>.stride
        return offset
    }

    /// Where buffer `bufferIndex` starts inside its block: (index mod 32) × 128 bytes. The pool's
    /// blocks all start on a page, so without this offset a solver's vectors (x, g, the history
    /// rows) would share their low 12 address bits: their loads and stores alias in the 4 KiB
    /// store-forwarding check and fall into the same L1 sets (64 sets of 64-byte lines), which
    /// slows the elementwise passes over several vectors at once. Cache-line aligned throughout.
    static func colourOffset(bufferIndex: Int) -> Int { (bufferIndex % 32) * 128 }

    deinit {
        for block in blocks { WorkspacePool.giveBack(block) }
    }
}

/// Doubles in a ``WorkspacePool`` block that a value outside the solve may keep: made by
/// ``BufferArena/sharedDoubles(_:)`` for a solver's buffer that its result shares (or directly,
/// for an estimate built from explicit values). The block goes back to the pool when the last
/// reference goes away, so a result that is dropped before the next solve of the same shape
/// leaves that solve memory that is already mapped.
///
/// Written only by the solve that took it (or the initialiser that filled it) and read-only once
/// a result holds it; that is what makes it safe to share across threads (`@unchecked Sendable`).
package final class PooledDoubles: @unchecked Sendable {
    /// The first of the doubles.
    package let pointer: UnsafeMutablePointer<Double>
    private let block: WorkspacePool.Block

    /// `count` doubles as the block last held them, `offset` bytes into it.
    package init(uninitializedCount count: Int, offset: Int = 0) {
        precondition(count >= 0, "a buffer of \(count) Double values")
        (pointer, block) = WorkspacePool.takeUninitialized(Double.self, count: count, offset: offset)
    }

    /// `count` zeros.
    package convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { WorkspacePool.giveBack(block) }
}

