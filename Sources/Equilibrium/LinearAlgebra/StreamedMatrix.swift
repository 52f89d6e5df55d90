#if canImport(Glibc)
import Glibc
#endif

/// A read-only copy of a matrix's entries where BLAS reads them fastest: the d × d weight of a
/// dense cell, which every evaluation and Jacobian product streams once.
///
/// Two things about where the entries live cost time and neither is in a Swift array's control:
///
/// - **Alignment.** The copy starts on a 64-byte cache line. A `[Double]`'s entries start
///   wherever the allocator put the buffer plus its header, often 16 or 48 bytes past a line
///   (every large, `mmap`-backed array lands at 48 mod 4096). OpenBLAS's AVX2 GEMV kernels then
///   split every other 32-byte load across two lines. With rows of 512 doubles every row shares
///   the misalignment; measured, one thread, OpenBLAS 0.3.21 on Zen 4: `dgemv` with W at 16 bytes
///   past a line 10 % slower for W z, 12–22 % for Wᵀ z, than with W on a line. This was the
///   affine cell's 1.15–1.45 roofline ratio at d = 512, B = 1 (issue 13): its A sat 16 bytes
///   past a line, the benchmark's reference on one.
/// - **Pages.** From 4 MiB up the copy starts on a 2 MiB boundary and asks for transparent huge
///   pages (`madvise(MADV_HUGEPAGE)` before the first touch, which the `madvise` mode of
///   `/sys/kernel/mm/transparent_hugepage/enabled`, Debian's default, honours). At d = 2048, W is
///   32 MiB: 8192 pages of 4 KiB, past the reach of the second-level TLB (3072 entries on Zen 4,
///   1536 on Skylake), against 16 huge pages. Measured: one-thread `dgemv` at d = 2048
///   1.58–1.68 → 1.43–1.55 ms. The advice is only advice: where the kernel declines, nothing
///   changes but the speed.
///
/// The copy costs d² doubles beside the cell's `Matrix` (which stays its public value); the
/// values are the same bits, so no result depends on it. Immutable after `init`, so it is shared
/// by every binding of a cell and read from several threads at once.
package final class StreamedMatrix: @unchecked Sendable {
    /// The first of the matrix's entries, row-major, 64-byte aligned.
    package let baseAddress: UnsafePointer<Double>

    /// A cache line: the alignment of every copy.
    package static let lineBytes = 64
    /// A huge page on x86-64 and arm64 with 4 KiB base pages: the alignment of large copies.
    package static let hugePageBytes = 2 << 20
    /// Copies from this size up go on huge pages (smaller ones hold at most one and mostly stay
    /// in cache).
    package static let hugePageMinimumBytes = 4 << 20

    package init(_ matrix: Matrix) {
        let large = matrix.count * MemoryLayout<Double>.stride >= Self.hugePageMinimumBytes
        let entries = AlignedDoubles.allocate(matrix.count, alignment: large ? Self.hugePageBytes : Self.lineBytes)
        #if os(Linux)
        if large { _ = madvise(entries, matrix.count * MemoryLayout<Double>.stride, MADV_HUGEPAGE) }  // before the first touch below
        #endif
        matrix.storage.withUnsafeBufferPointer { values in
            if let first = values.baseAddress, !values.isEmpty {
                entries.initialize(from: first, count: values.count)
            } else {
                entries.initialize(to: 0)  // the one entry allocated for an empty matrix
            }
        }
        baseAddress = UnsafePointer(entries)
    }

    deinit { AlignedDoubles.deallocate(UnsafeMutablePointer(mutating: baseAddress)) }
}

/// Doubles that start on a cache line (or a coarser boundary): the memory of ``StreamedMatrix``
/// (the solvers' ``BufferArena`` and the cells' ``ScratchBuffer`` take cache-line blocks from
/// ``WorkspacePool``). The allocator's default is 16 bytes, so a 32-byte vector load of a row
/// could straddle two lines.
package enum AlignedDoubles {
    /// `count` doubles (at least one, so the pointer is always valid), uninitialised, starting
    /// on a multiple of `alignment` bytes (a power of two). Free with ``deallocate(_:)``.
    package static func allocate(_ count: Int, alignment: Int = StreamedMatrix.lineBytes) -> UnsafeMutablePointer<Double> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Double>.stride, alignment: alignment)
            .bindMemory(to: Double.self, capacity: max(1, count))
    }

    /// Frees memory from ``allocate(_:alignment:)``.
    package static func deallocate(_ pointer: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}
