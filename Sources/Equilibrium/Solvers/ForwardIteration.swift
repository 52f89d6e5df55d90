/// Forward (Picard) iteration with damping τ:
///
///     z ← (1 − τ) z + τ f(z)  =  z + τ (f(z) − z)
///
/// τ = 1 is the plain step (TorchDEQ's `tau`; optimistix weights the other way). Converges
/// linearly with rate ρ(J) when ρ(J) < 1 at τ = 1; damping τ < 1 maps the spectrum of J to
/// (1 − τ) + τ λ, which can make a non-contractive but stable iteration converge.
///
/// Cost per iteration: one batched f evaluation plus O(d) per sample.
public struct ForwardIteration: FixedPointSolver {
    /// τ ∈ (0, 2).
    public var damping: Double

    public init(damping: Double = 1) {
        precondition(damping > 0 && damping < 2, "damping τ must lie in (0, 2), got \(damping).")
        self.damping = damping
    }

    public var name: String { "forward" }

    public func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult {
        let context = SolveContext(map: map, initial: initial, criteria: criteria)
        let d = context.dimension
        context.evaluateActive()
        context.assessActive()
        while context.hasActiveSamples {
            for s in context.active {
                BLAS.axpy(count: d, alpha: damping, x: context.row(context.g, s), y: context.row(context.z, s))
            }
            context.beginIteration()
            context.evaluateActive()
            context.assessActive()
        }
        return context.finish(solverName: name)
    }
}
