/// A solver of z = f(z) for a batch of samples.
///
/// A solver is an immutable value of hyperparameters; everything that changes during a solve
/// lives in per-solve state allocated once by ``solve(_:from:criteria:)``. The problem is passed
/// to `solve`, never stored in the solver, and the stopping criteria are a separate value
/// shared by every solver.
///
/// Contract (REFERENCE §2), per sample:
/// - residuals are per sample; a converged sample costs no further f evaluations;
/// - the returned point is an evaluated point, reported with its true residual: the first that
///   met the tolerance, or the lowest-residual one when the sample did not converge;
/// - running out of iterations, diverging or meeting NaN is an outcome, not a thrown error;
/// - every f evaluation is counted in nfe.
public protocol FixedPointSolver: Sendable {
    /// A short name for tables and JSON (`forward`, `anderson`, …).
    var name: String { get }

    /// Solves z = f(z) for every sample of `map`, starting from the rows of `initial` (B × d).
    func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult
}

extension FixedPointSolver {
    /// Solves from an ``Initialization`` rather than an explicit batch.
    public func solve<Map: FixedPointMap>(_ map: Map, initialization: Initialization = .zero,
                                          criteria: StoppingCriteria = StoppingCriteria()) throws(InitializationError) -> SolveResult {
        let z0 = try initialization.makeBatch(batchSize: map.batchSize, dimension: map.dimension)
        return solve(map, from: z0, criteria: criteria)
    }
}
