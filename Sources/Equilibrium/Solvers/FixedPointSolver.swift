/// A solver of z = f(z) for a batch of samples.
///
/// A solver is an immutable value of hyperparameters; everything that changes during a solve
/// lives in per-solve state allocated once by ``solve(_:from:criteria:observer:)``. The problem
/// is passed to `solve`, never stored in the solver, and the stopping criteria are a separate
/// value shared by every solver.
///
/// Contract (docs/MATH.md, "Residuals and stopping"), per sample:
/// - residuals are per sample; a converged sample costs no further f evaluations;
/// - the returned point is an evaluated point, reported with its true residual: the first that
///   met the tolerance, or the lowest-residual one when the sample did not converge;
/// - running out of iterations, diverging or meeting NaN is an outcome, not a thrown error;
/// - every f evaluation is counted in nfe.
///
/// A user's mistake (a setting out of range, a start of the wrong shape) is a thrown
/// ``UsageError``. Most solvers are written on ``IterativeSolver``, which supplies `solve`
/// (the per-solve loop) from a per-solve state and a step; the protocol itself only asks for
/// the entry point, so a solver with a loop of its own can conform directly.
public protocol FixedPointSolver: Sendable {
    /// A short name for tables and JSON (`forward`, `anderson`, …).
    var name: String { get }

    /// Throws when a hyperparameter is out of range. Initialisers validate; `solve` validates
    /// again, since the hyperparameters are `var`.
    func validate() throws(UsageError)

    /// The bytes of the solver's own per-solve state for B samples of dimension d, beyond the
    /// ``SolveContext/sharedWorkspaceBytes(batchSize:dimension:)`` every solve allocates; used
    /// to refuse sizes that do not fit in memory before allocating anything. It equals the
    /// measured ``SolveResult/workspaceBytes`` minus the shared part (a test checks it).
    func workspaceBytes(batchSize: Int, dimension: Int) -> Int

    /// Solves z = f(z) for every sample of `map`, starting from the rows of `initial` (B × d).
    ///
    /// - Parameter observer: called once per iteration with the per-sample residuals; it can
    ///   stop the solve (the samples still active end ``SolveOutcome/interrupted``).
    /// - Throws: ``UsageError`` when a hyperparameter or the criteria are invalid, `initial` is
    ///   not B × d or holds a non-finite value, or the map lacks a capability the solver was
    ///   told to use.
    func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria,
                                   observer: SolveObserver?) throws(UsageError) -> SolveResult
}

extension FixedPointSolver {
    /// Solves from the rows of `initial` without an observer.
    public func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix,
                                          criteria: StoppingCriteria = StoppingCriteria()) throws(UsageError) -> SolveResult {
        try solve(map, from: initial, criteria: criteria, observer: nil)
    }

    /// Solves from an ``Initialization`` rather than an explicit batch.
    public func solve<Map: FixedPointMap>(_ map: Map, initialization: Initialization = .zero,
                                          criteria: StoppingCriteria = StoppingCriteria(),
                                          observer: SolveObserver? = nil) throws(UsageError) -> SolveResult {
        let z0 = try initialization.makeBatch(batchSize: map.batchSize, dimension: map.dimension)
        return try solve(map, from: z0, criteria: criteria, observer: observer)
    }

    /// The whole workspace of a solve: the shared buffers plus the solver's own state.
    public func totalWorkspaceBytes(batchSize: Int, dimension: Int) -> Int {
        SolveContext<ClosureMap>.sharedWorkspaceBytes(batchSize: batchSize, dimension: dimension)
            + workspaceBytes(batchSize: batchSize, dimension: dimension)
    }
}
