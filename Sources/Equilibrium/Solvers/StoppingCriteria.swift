/// When a solve stops, shared by every solver (docs/MATH.md, "Residuals and stopping").
///
/// For a sample with state z the residual is r = f(z) − z. The absolute residual is ‖r‖₂; the
/// relative residual is ‖r‖₂ / ‖f(z)‖₂ (0 when r = 0, +∞ when f(z) = 0 ≠ z). A sample converges
/// at the first *evaluated* point whose residual, in the chosen ``measure``, is ≤ ``tolerance``.
/// Residuals are per sample, never pooled over a batch.
public struct StoppingCriteria: Sendable, Equatable {
    public enum Measure: String, Sendable, CaseIterable, Codable {
        /// ‖f(z) − z‖₂ ≤ tol.
        case absolute = "abs"
        /// ‖f(z) − z‖₂ / ‖f(z)‖₂ ≤ tol.
        case relative = "rel"
    }

    public var tolerance: Double
    public var measure: Measure
    /// Solver iterations per sample (an iteration is one update of z; line-search trials and
    /// Krylov steps are inside it).
    public var maxIterations: Int
    /// An optional cap on f evaluations per sample, counted as nfe (every evaluation).
    public var maxEvaluations: Int?
    /// A sample has diverged when ‖f(z_k) − z_k‖ > divergenceFactor · ‖f(z₀) − z₀‖. The absolute
    /// residual is used whatever the ``measure``: on an expanding affine map the relative residual
    /// tends to a constant while the absolute one grows geometrically. Default 1e4: no working
    /// solver makes its residual ten thousand times worse than at its start.
    public var divergenceFactor: Double
    /// Record the residual history of every sample (iteration, nfe, seconds, abs, rel).
    public var recordHistory: Bool

    /// The defaults: relative residual ≤ 1e-8, at most 1000 iterations, no evaluation cap,
    /// divergence factor 1e4, histories recorded.
    public init() {
        tolerance = 1e-8
        measure = .relative
        maxIterations = 1000
        maxEvaluations = nil
        divergenceFactor = 1e4
        recordHistory = true
    }

    /// Criteria with the given settings, validated (``validate()``).
    public init(tolerance: Double = 1e-8, measure: Measure = .relative, maxIterations: Int = 1000,
                maxEvaluations: Int? = nil, divergenceFactor: Double = 1e4, recordHistory: Bool = true) throws(UsageError) {
        self.tolerance = tolerance
        self.measure = measure
        self.maxIterations = maxIterations
        self.maxEvaluations = maxEvaluations
        self.divergenceFactor = divergenceFactor
        self.recordHistory = recordHistory
        try validate()
    }

    /// The largest iteration limit accepted: far beyond any useful solve, and it keeps the
    /// history sizing (maxIterations + 2) away from integer overflow.
    public static let iterationLimit = 1_000_000_000

    /// Throws when a setting is out of range (the properties are `var`, so every solve checks
    /// again).
    public func validate() throws(UsageError) {
        let owner = "StoppingCriteria"
        try Check.inRange(tolerance, owner, "tolerance", "a residual tolerance such as 1e-8", above: 0, openBelow: true)
        try Check.atLeast(maxIterations, 0, owner, "maxIterations", "0 only evaluates the starting point")
        guard maxIterations <= Self.iterationLimit else {
            throw UsageError(owner, "maxIterations", got: "\(maxIterations)", expected: "at most \(Self.iterationLimit)")
        }
        if let maxEvaluations {
            try Check.atLeast(maxEvaluations, 1, owner, "maxEvaluations", "the starting point costs one evaluation; nil for no cap")
        }
        try Check.inRange(divergenceFactor, owner, "divergenceFactor",
                          "the growth of the residual over its initial value that counts as divergence", above: 1, openBelow: true)
    }

    /// The relative residual ‖r‖ / ‖f(z)‖ with its denominator guarded.
    @inlinable
    public static func relativeResidual(absolute: Double, imageNorm: Double) -> Double {
        if absolute == 0 { return 0 }
        return imageNorm > 0 ? absolute / imageNorm : .infinity
    }
}
