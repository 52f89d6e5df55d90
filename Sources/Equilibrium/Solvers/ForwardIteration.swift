/// Forward (Picard) iteration with damping τ:
///
///     z ← (1 − τ) z + τ f(z)  =  z + τ (f(z) − z)
///
/// τ = 1 is the plain step (TorchDEQ's `tau`; optimistix weights the other way). Converges
/// linearly with rate ρ(J) when ρ(J) < 1 at τ = 1; damping τ < 1 maps the spectrum of J to
/// (1 − τ) + τ λ, which can make a non-contractive but stable iteration converge.
///
/// Cost per iteration: one batched f evaluation plus O(d) per sample; no state of its own.
public struct ForwardIteration: IterativeSolver {
    /// τ ∈ (0, 2).
    public var damping: Double

    /// The plain step, τ = 1.
    public init() {
        damping = 1
    }

    public init(damping: Double) throws(UsageError) {
        self.damping = damping
        try validate()
    }

    public var name: String { "forward" }

    public func validate() throws(UsageError) {
        try Check.inRange(damping, "ForwardIteration", "damping", "τ = 1 is the plain step, τ < 1 damps",
                          above: 0, openBelow: true, below: 2, openAbove: true)
    }

    public func workspaceBytes(batchSize: Int, dimension: Int) -> Int { 0 }

    public func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) -> Void {}

    public func step<Map: FixedPointMap>(_ state: inout Void, _ context: SolveContext<Map>) -> Proposal {
        for s in context.active {
            BLAS.axpy(count: context.dimension, alpha: damping, x: context.row(context.g, s), y: context.row(context.z, s))
        }
        return .iterate
    }
}

extension ForwardIteration {
    /// `forward`: damping τ.
    public static let catalogEntry = SolverEntry(
        name: "forward", summary: "forward (Picard) iteration z ← (1 − τ) z + τ f(z)", defaults: ForwardIteration(),
        settings: [.real("damping", \.damping, of: ForwardIteration(), minimum: 0, maximum: 2, exclusiveMinimum: true,
                         exclusiveMaximum: true, "τ; 1 is the plain step, < 1 damps")])
}
