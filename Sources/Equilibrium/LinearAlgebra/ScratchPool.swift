import Foundation

/// Reusable scratch blocks for maps whose evaluation needs intermediate memory.
///
/// ``FixedPointMap/evaluate(_:into:samples:)`` has no workspace argument, yet a cell such as
/// the residual cell needs an n × h buffer for its inner layer. The cell owns a pool: an
/// evaluation borrows a block and returns it, so after the first evaluation no call allocates,
/// and concurrent evaluations of one map (each borrowing its own block) stay safe. The lock is
/// taken twice per evaluation, not per element.
final class ScratchPool: @unchecked Sendable {
    /// Doubles per block.
    let count: Int
    private let lock = NSLock()
    private var free: [ScratchBuffer] = []

    init(count: Int) {
        self.count = count
        free.reserveCapacity(4)
    }

    /// Runs `body` with a block of ``count`` doubles (contents unspecified).
    func withBlock<R>(_ body: (UnsafeMutablePointer<Double>) -> R) -> R {
        lock.lock()
        let reused = free.popLast()
        lock.unlock()
        let block = reused ?? ScratchBuffer(count: count)
        defer {
            lock.lock()
            free.append(block)
            lock.unlock()
        }
        return body(block.baseAddress)
    }
}
