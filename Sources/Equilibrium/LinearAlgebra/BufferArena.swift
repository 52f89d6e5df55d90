/// Zero-initialised buffers allocated together when a solve starts and freed together when its
/// state goes away: the per-solve state of every solver takes its memory from one arena, so no
/// iteration allocates, no buffer is freed twice or forgotten, and the solve's workspace is
/// measured from the allocations themselves (``allocatedBytes``).
package final class BufferArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    /// Bytes handed out so far (as requested; the one-element minimum of an empty request is
    /// not counted).
    package private(set) var allocatedBytes = 0

    package init() {}

    /// `count` doubles, all zero (at least one, so the pointer is always valid), starting on a
    /// cache line (``AlignedDoubles``).
    package func doubles(_ count: Int) -> UnsafeMutablePointer<Double> {
        precondition(count >= 0, "a buffer of \(count) doubles")
        let pointer = AlignedDoubles.zeroed(count)
        blocks.append(UnsafeMutableRawPointer(pointer))
        allocatedBytes += count * MemoryLayout<Double>.stride
        return pointer
    }

    /// `count` 32-bit integers (LAPACK's integer workspaces), all zero.
    package func int32s(_ count: Int) -> UnsafeMutablePointer<Int32> { zeroed(Int32.self, count) }

    /// `count` integers (per-sample counters a solver's step updates), all zero.
    package func integers(_ count: Int) -> UnsafeMutablePointer<Int> { zeroed(Int.self, count) }

    private func zeroed<T: FixedWidthInteger>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        precondition(count >= 0, "a buffer of \(count) integers")
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
        blocks.append(UnsafeMutableRawPointer(pointer))
        allocatedBytes += count * MemoryLayout<T>.stride
        return pointer
    }

    deinit {
        for block in blocks { block.deallocate() }
    }
}
