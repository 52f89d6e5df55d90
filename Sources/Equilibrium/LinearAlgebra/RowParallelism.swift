import Dispatch

/// Runs a per-row pass (an elementwise nonlinearity after a GEMM) on as many threads as BLAS
/// uses, so that the part of an evaluation outside BLAS is split like its GEMM.
///
/// Under BLAS threading (OpenBLAS's default on a multi-core machine) a cell's GEMM runs on every
/// core but its elementwise pass, e.g. the tanh of tanh(W z + c), ran on the calling thread only:
/// at d = 2048, B = 8 the 16 384 tanh calls take about 0.25 ms against 2.6 ms for the two-thread
/// GEMM, which capped the two-thread speed-up of a solve below 1.7× (issue 13). Rows are split
/// into contiguous ranges of nearly equal size; each row is computed exactly as on one thread,
/// so results do not depend on the thread count. Passes below ``minimumEntries`` stay on the
/// calling thread, where waking a second one (about 10 µs) would cost more than it saves.
enum RowParallelism {
    /// The smallest rows × columns split across threads: 16 384 entries, about 0.2 ms of tanh.
    static let minimumEntries = 16_384

    /// Calls `body` on disjoint row ranges covering 0 ..< rows, concurrently when the pass has at
    /// least `minimumEntries` entries (default ``minimumEntries``) and BLAS runs on more than one
    /// thread (inside a ``SampleParallel`` group it runs on one). `body` must only write the rows it is given.
    static func forEachRowRange(rows: Int, columns: Int, minimumEntries: Int = minimumEntries,
                                _ body: (Range<Int>) -> Void) {
        let threads = rows * columns >= minimumEntries ? min(BLAS.threadCount, rows) : 1
        guard threads > 1 else {
            body(0..<rows)
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBody(body: body)
            DispatchQueue.concurrentPerform(iterations: threads) { k in
                shared.body((k * rows / threads)..<((k + 1) * rows / threads))
            }
        }
    }

    /// The pass, handed to the worker threads: each writes disjoint rows of the caller's buffers,
    /// which outlive the call.
    private struct UncheckedBody: @unchecked Sendable {
        let body: (Range<Int>) -> Void
    }
}
