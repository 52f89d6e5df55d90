/// The extension point for fixed-point solvers: a solver supplies its per-solve state and one
/// step, and the library runs the loop (as optimistix's `AbstractFixedPointSolver` does with
/// `init`/`step`/`terminate`).
///
/// The per-solve loop, written once in ``solve(_:from:criteria:observer:)``:
///
///     context ← SolveContext(map, z₀, criteria)          z, f(z), g = f(z) − z per sample
///     evaluate f(z₀); assess every sample                 outcomes, history, best point
///     state ← makeState(for: context)
///     while some sample is active:
///         proposal ← step(&state, context)                the next iterate of every active sample
///         .iterate:        count an iteration; evaluate f at the new z
///         .direction(Δ):   count an iteration; z ← z + sΔ, s = 1 or by backtracking (every trial an evaluation)
///         assess the active samples                       converged, diverged, non-finite, budgets
///         accept(&state, context)                          e.g. a secant update from the new (z, g)
///         observer(progress) may stop the solve
///     result ← the returned points, their true residuals, counts, histories, byproducts(of: state)
///
/// Everything a sample's outcome depends on (compaction of active samples, residuals, the best
/// point, the stopping decisions, counting) lives in the loop and ``SolveContext``; a solver only
/// decides where each active sample goes next. A step may stop a sample itself
/// (``SolveContext/stop(sample:outcome:)``, e.g. ``SolveOutcome/stagnated``), never as converged.
///
/// Writing a solver: a `Sendable` struct of hyperparameters with a validating initialiser,
/// ``name``, ``validate()``, ``workspaceBytes(batchSize:dimension:)`` (the bytes ``makeState(for:)``
/// allocates through the context) and the three requirements below. See ``ForwardIteration``
/// for the smallest example and `Examples/CustomSolver` for one written outside the package.
public protocol IterativeSolver: FixedPointSolver {
    /// Everything that changes during one solve (histories, factorisations, directions).
    associatedtype State

    /// The per-solve state, allocated once through the context's ``SolveContext/allocate(doubles:)``.
    /// Called after f(z₀) was evaluated and every sample assessed, so z, f(z) and g hold the
    /// start's values for the active samples.
    func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) throws(UsageError) -> State

    /// Proposes the next iterate of every sample in ``SolveContext/active``.
    func step<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>) -> Proposal

    /// Called after the proposed iterates were evaluated and assessed: the samples still in
    /// ``SolveContext/active`` have their new z, f(z), g and residuals. Default: nothing.
    func accept<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>)

    /// A sample's line search found no acceptable step: write a new direction into its row of
    /// the proposed direction buffer and return true to search again from s = 1, or return false
    /// to stop the sample as stagnated. Default: false.
    func retryAfterFailedSearch<Map: FixedPointMap>(sample: Int, _ state: inout State,
                                                    _ context: SolveContext<Map>) -> Bool

    /// What the result carries besides the points (e.g. Broyden's inverse estimate). Default: nothing.
    func byproducts(of state: State) -> SolverByproducts

    /// Whether the result reports ``SampleReport/krylovIterations``. Default: false.
    var reportsKrylovIterations: Bool { get }
}

/// What one step of an ``IterativeSolver`` proposes for the active samples.
public enum Proposal {
    /// The step has overwritten each active sample's row of ``SolveContext/z`` with its next
    /// iterate; the loop evaluates f there.
    case iterate
    /// Move each active sample along its row of this B × d buffer, Δ: to z + Δ, or with a line
    /// search to z + sΔ, s = 1, ½, … (at most 10 trials, each one f evaluation) until the
    /// merit decreases sufficiently (Armijo, t = 10⁻⁴). The buffer must stay valid until the
    /// next step (allocate it in the state).
    case direction(UnsafeMutablePointer<Double>, lineSearch: LineSearchMerit?)
}

/// The merit function of a backtracking line search on g = f − z.
public enum LineSearchMerit: Sendable {
    /// ‖g(z + sΔ)‖ ≤ (1 − t s) ‖g(z)‖ (Kelley 1995 §8.1; for Newton directions).
    case norm
    /// ‖g(z + sΔ)‖² ≤ (1 − 2t s) ‖g(z)‖² (Armijo on ‖g‖²; for quasi-Newton directions).
    case squaredNorm
}

extension IterativeSolver {
    public func accept<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>) {}

    public func retryAfterFailedSearch<Map: FixedPointMap>(sample: Int, _ state: inout State,
                                                           _ context: SolveContext<Map>) -> Bool { false }

    public func byproducts(of state: State) -> SolverByproducts { SolverByproducts() }

    public var reportsKrylovIterations: Bool { false }

    /// The per-solve loop (see ``IterativeSolver``).
    public func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria,
                                          observer: SolveObserver?) throws(UsageError) -> SolveResult {
        try validate()
        let context = try SolveContext(map: map, initial: initial, criteria: criteria)
        context.evaluateActive()
        context.assessActive()
        var state = try makeState(for: context)
        var searched: [Int] = []
        searched.reserveCapacity(context.batchSize)
        if let observer, context.hasActiveSamples, observer.wantsToStop(context) {
            context.stopAll(outcome: .interrupted)
        }
        while context.hasActiveSamples {
            switch step(&state, context) {
            case .iterate:
                context.beginIteration()
                context.evaluateActive()
            case let .direction(delta, merit):
                searched.removeAll(keepingCapacity: true)
                searched.append(contentsOf: context.active)
                context.beginIteration()
                context.lineSearch.run(context: context, direction: delta, samples: searched,
                                       enabled: merit != nil, merit: merit ?? .norm) { s in
                    retryAfterFailedSearch(sample: s, &state, context)
                }
            }
            context.assessActive()
            accept(&state, context)
            if let observer, context.hasActiveSamples, observer.wantsToStop(context) {
                context.stopAll(outcome: .interrupted)
            }
        }
        return context.finish(solverName: name, reportsKrylovIterations: reportsKrylovIterations,
                              byproducts: byproducts(of: state))
    }
}
