import Foundation
import Testing
import Equilibrium

/// The public contract checks (``SolverConformance``) on every built-in solver, the same checks
/// `Examples/CustomSolver` runs on a solver written outside the package.
@Suite struct SolverConformanceTests {
    @Test(arguments: solverZoo.indices)
    func builtInSolversKeepTheContract(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let failures = try SolverConformance.check(solver)
        #expect(failures.isEmpty, "\(label): \(failures)")
    }

    /// The checks can fail: a solver that gives up after its first step and under-states its
    /// workspace breaks the clauses that depend on progress, the observer's and the workspace's.
    @Test func aBrokenSolverIsCaught() throws {
        let failures = try SolverConformance.check(OverconfidentSolver())
        let clauses = Set(failures.map(\.clause))
        #expect(clauses.contains("no false convergence"), "\(failures)")
        #expect(clauses.contains("converged samples cost nothing"), "\(failures)")
        #expect(clauses.contains("observer"), "\(failures)")
        #expect(clauses.contains("workspace"), "\(failures)")
    }

    /// The workspace formula is the measured allocation exactly, on a map with analytic
    /// Jacobian products (Newton–Krylov's analytic path) and with a line search that runs.
    @Test(arguments: solverZoo.indices)
    func workspaceFormulaIsTheAllocation(index: Int) throws {
        let (label, solver) = solverZoo[index]
        for (b, d) in [(1, 7), (4, 33)] {
            let cell = try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: 0.9, seed: 2))
            let result = try solver.solve(cell, from: Matrix(rows: b, columns: d),
                                          criteria: try StoppingCriteria(tolerance: 1e-10, maxIterations: 300))
            #expect(result.workspaceBytes == solver.totalWorkspaceBytes(batchSize: b, dimension: d),
                    "\(label) B = \(b) d = \(d): measured \(result.workspaceBytes), formula \(solver.totalWorkspaceBytes(batchSize: b, dimension: d))")
        }
    }
}

/// Stops every sample as stagnated at its first step, and allocates a buffer its workspace
/// formula does not declare.
private struct OverconfidentSolver: IterativeSolver {
    var name: String { "overconfident" }
    func validate() throws(UsageError) {}
    func workspaceBytes(batchSize: Int, dimension: Int) -> Int { 0 }
    func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) -> UnsafeMutablePointer<Double> {
        context.allocate(doubles: context.batchSize * context.dimension)
    }
    func step<Map: FixedPointMap>(_ state: inout UnsafeMutablePointer<Double>, _ context: SolveContext<Map>) -> Proposal {
        for s in context.active {
            context.stop(sample: s, outcome: .stagnated)
        }
        return .iterate
    }
}
