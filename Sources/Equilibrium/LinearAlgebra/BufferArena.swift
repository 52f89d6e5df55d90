/// Zero-initialised buffers allocated together when a solve starts and freed together when its
/// state goes away: the per-solve state of every solver takes its memory from one arena, so no
/// iteration allocates and no buffer is freed twice or forgotten.
final class BufferArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    /// `count` doubles, all zero (at least one, so the pointer is always valid).
    func doubles(_ count: Int) -> UnsafeMutablePointer<Double> {
        let pointer = UnsafeMutablePointer<Double>.allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
        blocks.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// `count` 32-bit integers (LAPACK's integer workspaces), all zero.
    func int32s(_ count: Int) -> UnsafeMutablePointer<Int32> {
        let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
        blocks.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    deinit {
        for block in blocks { block.deallocate() }
    }
}
