/// A fixed block of float64 scratch memory, allocated once and freed with its owner.
///
/// The workspace type of maps whose Jacobian products need an intermediate buffer (see
/// ``DifferentiableMap/makeJacobianWorkspace(maxSamples:)``): a solver creates one per solve, so
/// no product allocates. Not thread-safe: one workspace serves one solve at a time.
public final class ScratchBuffer {
    /// The number of doubles.
    public let count: Int
    /// The first of `count` doubles (zero-initialised).
    public let baseAddress: UnsafeMutablePointer<Double>

    public init(count: Int) {
        precondition(count >= 0, "ScratchBuffer count must be non-negative, got \(count).")
        self.count = count
        baseAddress = .allocate(capacity: max(1, count))
        baseAddress.initialize(repeating: 0, count: max(1, count))
    }

    deinit { baseAddress.deallocate() }
}
