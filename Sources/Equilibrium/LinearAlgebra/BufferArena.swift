/// Buffers (zero-initialised unless asked for uninitialised ones, ``uninitializedDoubles(_:)``)
/// allocated together when a solve starts and freed together when its state goes away: the
/// per-solve state of every solver takes its memory from one arena, so no iteration allocates,
/// no buffer is freed twice or forgotten, and the solve's workspace is measured from the
/// allocations themselves (``allocatedBytes``). The memory comes from ``WorkspacePool`` and
/// goes back there, so the next solve of the same shape reuses it.
package final class BufferArena {
    private var blocks: [WorkspacePool.Block] = []
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

    private func buffer<T: Numeric>(_ type: T.Type, _ count: Int, zeroed: Bool) -> UnsafeMutablePointer<T> {
        precondition(count >= 0, "a buffer of \(count) \(T.self) values")
        let offset = Self.colourOffset(bufferIndex: blocks.count)
        let (values, block) = zeroed ? WorkspacePool.takeZeroed(T.self, count: count, offset: offset)
                                     : WorkspacePool.takeUninitialized(T.self, count: count, offset: offset)
        blocks.append(block)
        allocatedBytes += count * MemoryLayout<T>.stride
        return values
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
