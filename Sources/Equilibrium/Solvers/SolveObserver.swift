/// A per-iteration hook on a solve: it sees the residuals as they fall and can stop the solve.
///
/// ```swift
/// let observer = SolveObserver { progress in
///     print(progress.iteration, progress.relativeResiduals.max() ?? 0)
///     return progress.elapsedSeconds > 10 ? .stop : .continue
/// }
/// let result = try AndersonAcceleration().solve(cell, from: z0, criteria: criteria, observer: observer)
/// ```
///
/// Called after the start is assessed and after every iteration, while samples are active.
/// Stopping ends the samples still active with ``SolveOutcome/interrupted`` (not converged);
/// their returned points are the lowest-residual ones seen, as for any other stop.
public struct SolveObserver {
    /// What the observer wants after seeing an iteration.
    public enum Decision: Sendable { case `continue`, stop }

    /// The state of a solve after one iteration.
    public struct Progress {
        /// The largest iteration count over the active samples.
        public var iteration: Int
        /// The samples still iterating.
        public var active: [Int]
        /// Per sample: the residuals at its current (last assessed) iterate.
        public var absoluteResiduals: [Double]
        public var relativeResiduals: [Double]
        /// Per sample: f evaluations so far.
        public var evaluations: [Int]
        public var elapsedSeconds: Double
    }

    private let body: (Progress) -> Decision

    public init(_ body: @escaping (Progress) -> Decision) {
        self.body = body
    }

    func wantsToStop<Map>(_ context: SolveContext<Map>) -> Bool {
        let progress = Progress(iteration: context.active.map { context.iterations[$0] }.max() ?? 0,
                                active: context.active, absoluteResiduals: context.absoluteResidual,
                                relativeResiduals: context.relativeResidual, evaluations: context.evaluations,
                                elapsedSeconds: context.elapsedSeconds)
        return body(progress) == .stop
    }
}
