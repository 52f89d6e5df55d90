/// A fixed block of float64 scratch memory, allocated once and freed with its owner (from and
/// back to ``WorkspacePool``).
///
/// The workspace type of maps whose Jacobian products need an intermediate buffer (see
/// ``DifferentiableMap/makeJacobianWorkspace(maxSamples:)``): a solver creates one per solve, so
/// no product allocates. Not thread-safe: one workspace serves one solve at a time.
///
/// The type is public only as the built-in cells' opaque `JacobianWorkspace`; its memory is
/// `package`. A cell written outside the package brings its own workspace type (or `Void`).
public final class ScratchBuffer {
    /// The number of doubles.
    package let count: Int
    /// The first of `count` doubles (zero-initialised), on a 64-byte cache line.
    package let baseAddress: UnsafeMutablePointer<Double>
    /// The ``WorkspacePool`` block behind ``baseAddress``.
    private let block: WorkspacePool.Block

    package init(count: Int) {
        precondition(count >= 0, "ScratchBuffer count must be non-negative, got \(count).")
        self.count = count
        (baseAddress, block) = WorkspacePool.takeZeroed(Double.self, count: count)
    }

    deinit { WorkspacePool.giveBack(block) }
}
