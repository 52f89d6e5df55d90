import Synchronization

/// Workspace blocks kept warm between solves: every solve's ``BufferArena`` (and every
/// ``ScratchBuffer``) takes its memory here in blocks of power-of-two sizes and gives it back
/// when it ends, so the next solve of the same shape gets memory that is already mapped (and
/// usually in cache) instead of asking the C allocator.
///
/// Why: glibc returns freed memory above its trim threshold (128 KiB by default) to the kernel,
/// so a solve whose workspace is a few hundred KiB met fresh pages every time, one page fault and
/// one kernel zeroing per 4 KiB. perf of the overhead benchmark (d = 512, B = 1 and 8, one BLAS
/// thread) put the arena's page faults and zeroing at about 11 % of the solvers' own time (issue 13).
/// PyTorch's caching allocator does the same for TorchDEQ's buffers.
///
/// Bounded: blocks above ``largestCachedBytes`` are never kept, at most ``blocksPerSize`` free
/// blocks of one size and ``maximumCachedBytes`` in all; anything else goes back to the C
/// allocator at once. Blocks below ``smallestBlockBytes`` bypass the pool (glibc's bins serve
/// them without page faults). Thread-safe (one mutex; a solve takes and gives back a few dozen
/// blocks). Memory handed out is uninitialised: the callers zero what they hand on.
package enum WorkspacePool {
    /// Requests below this many bytes are allocated directly.
    package static let smallestBlockBytes = 4096
    /// Larger blocks are allocated directly and freed when given back.
    package static let largestCachedBytes = 32 << 20
    /// The most free blocks of one size kept.
    package static let blocksPerSize = 4
    /// The most bytes kept in free blocks altogether.
    package static let maximumCachedBytes = 128 << 20
    /// Blocks of ``smallestBlockBytes`` or more start on a page, smaller ones on a cache line. The
    /// C allocator alone puts large blocks at varying offsets within a page (measured: 64 and 192
    /// bytes), which would leave ``BufferArena``'s buffer offsets to chance.
    static func alignment(ofBlock size: Int) -> Int {
        size >= smallestBlockBytes ? pageBytes : StreamedMatrix.lineBytes
    }
    /// 4 KiB, the page size of x86-64 and of the 4 KiB store-forwarding check.
    static let pageBytes = 4096

    /// Memory from ``take(bytes:)``: where it starts and its size.
    package struct Block {
        package let pointer: UnsafeMutableRawPointer
        package let bytes: Int
    }

    /// Free blocks by size class (index = log₂ of the block's bytes), as addresses.
    private struct FreeBlocks {
        var bySize: [[UInt]] = Array(repeating: [], count: Int.bitWidth)
        var cachedBytes = 0
    }

    private static let free = Mutex(FreeBlocks())

    /// The size a request of `bytes` is served with: the next power of two for pooled sizes,
    /// else `bytes` itself (at least 1).
    package static func blockBytes(forRequest bytes: Int) -> Int {
        let bytes = max(1, bytes)
        guard bytes >= smallestBlockBytes, bytes <= largestCachedBytes else { return bytes }
        return 1 << (Int.bitWidth - (bytes - 1).leadingZeroBitCount)
    }

    /// A block of at least `bytes` bytes, uninitialised, with its size (``blockBytes(forRequest:)``),
    /// aligned as ``alignment(ofBlock:)`` says; it goes back with ``giveBack(_:)``.
    package static func take(bytes: Int) -> Block {
        let size = blockBytes(forRequest: bytes)
        if let sizeClass = sizeClass(ofBlock: size) {
            let reused: UInt? = free.withLock { blocks in
                guard let address = blocks.bySize[sizeClass].popLast() else { return nil }
                blocks.cachedBytes -= size
                return address
            }
            if let reused, let pointer = UnsafeMutableRawPointer(bitPattern: reused) { return Block(pointer: pointer, bytes: size) }
        }
        return Block(pointer: .allocate(byteCount: size, alignment: alignment(ofBlock: size)), bytes: size)
    }

    /// `count` values of `T` (at least one, so the pointer is always valid), all zero, starting
    /// `offset` bytes (a multiple of `T`'s alignment) into a block from ``take(bytes:)``; the
    /// block goes back with ``giveBack(_:)``.
    package static func takeZeroed<T: Numeric>(_ type: T.Type, count: Int, offset: Int = 0) -> (values: UnsafeMutablePointer<T>, block: Block) {
        let (values, block) = takeUninitialized(T.self, count: count, offset: offset)
        values.initialize(repeating: 0, count: max(1, count))
        return (values, block)
    }

    /// Like ``takeZeroed(_:count:offset:)`` without the zeroing: the values are whatever the
    /// block last held (any bit pattern, NaN included), for buffers whose every entry is written
    /// before it is read.
    package static func takeUninitialized<T: Numeric>(_ type: T.Type, count: Int, offset: Int = 0) -> (values: UnsafeMutablePointer<T>, block: Block) {
        let block = take(bytes: offset + max(1, count) * MemoryLayout<T>.stride)
        return ((block.pointer + offset).bindMemory(to: T.self, capacity: max(1, count)), block)
    }

    /// Returns a block from ``take(bytes:)``: kept for the next request of its size when the
    /// bounds allow, else freed.
    package static func giveBack(_ block: Block) {
        if let sizeClass = sizeClass(ofBlock: block.bytes) {
            let kept = free.withLock { blocks in
                guard blocks.bySize[sizeClass].count < blocksPerSize,
                      blocks.cachedBytes + block.bytes <= maximumCachedBytes else { return false }
                blocks.bySize[sizeClass].append(UInt(bitPattern: block.pointer))
                blocks.cachedBytes += block.bytes
                return true
            }
            if kept { return }
        }
        block.pointer.deallocate()
    }

    /// log₂ of a block size the pool keeps (a power of two from ``smallestBlockBytes`` to
    /// ``largestCachedBytes``), nil for the sizes it passes to the C allocator.
    private static func sizeClass(ofBlock size: Int) -> Int? {
        guard size.nonzeroBitCount == 1, size >= smallestBlockBytes, size <= largestCachedBytes else { return nil }
        return size.trailingZeroBitCount
    }

    /// The bytes currently kept in free blocks.
    package static var cachedBytes: Int { free.withLock { $0.cachedBytes } }
}
