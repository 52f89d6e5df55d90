/// When a solve stops, shared by every solver (REFERENCE §2).
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

    public init(tolerance: Double = 1e-8, measure: Measure = .relative, maxIterations: Int = 1000,
                maxEvaluations: Int? = nil, divergenceFactor: Double = 1e4, recordHistory: Bool = true) {
        precondition(tolerance > 0 && tolerance.isFinite, "tolerance must be positive and finite.")
        precondition(maxIterations >= 0, "maxIterations must be non-negative.")
        precondition(maxEvaluations.map { $0 >= 1 } ?? true, "maxEvaluations must be at least 1.")
        precondition(divergenceFactor > 1, "divergenceFactor must exceed 1.")
        self.tolerance = tolerance
        self.measure = measure
        self.maxIterations = maxIterations
        self.maxEvaluations = maxEvaluations
        self.divergenceFactor = divergenceFactor
        self.recordHistory = recordHistory
    }

    /// The relative residual ‖r‖ / ‖f(z)‖ with its denominator guarded.
    @inlinable
    public static func relativeResidual(absolute: Double, imageNorm: Double) -> Double {
        if absolute == 0 { return 0 }
        return imageNorm > 0 ? absolute / imageNorm : .infinity
    }
}
