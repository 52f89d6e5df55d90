import Testing
import Equilibrium

/// Every solver under test, built with its defaults and with the variants the issue names
/// (`try!`: the settings are valid, and a mistake here should stop the suite loudly).
let solverZoo: [(label: String, solver: any FixedPointSolver)] = [
    ("forward", ForwardIteration()),
    ("forward τ=0.7", try! ForwardIteration(damping: 0.7)),
    ("anderson", AndersonAcceleration()),
    ("anderson m=1", try! AndersonAcceleration(memory: 1)),
    ("anderson β=0.5", try! AndersonAcceleration(mixing: 0.5)),
    ("anderson β=1.5", try! AndersonAcceleration(mixing: 1.5)),
    ("anderson delay=3", try! AndersonAcceleration(memory: 10, delay: 3)),
    ("broyden", Broyden()),
    ("broyden line search", try! Broyden(lineSearch: true)),
    ("broyden L=3 drop-oldest", try! Broyden(memory: 3, whenMemoryFull: .dropOldest)),
    ("newton-krylov", NewtonKrylov()),
    ("newton-krylov finite differences", try! NewtonKrylov(jacobianProducts: .finiteDifference)),
    ("newton-krylov k=5 η=0.1 no line search", try! NewtonKrylov(krylovDimension: 5, forcing: .constant(0.1), lineSearch: false)),
]

/// The largest relative 2-norm error between matching rows.
func maxRowRelativeError(_ a: Matrix, _ b: Matrix) -> Double {
    (0..<a.rows).map { i in
        let diff = zip(a.row(i), b.row(i)).map { $0 - $1 }
        return BLAS.nrm2(diff) / max(BLAS.nrm2(b.row(i)), .leastNormalMagnitude)
    }.max() ?? 0
}

@Suite struct SolverTests {
    @Test(arguments: solverZoo.indices)
    func reachesLAPACKSolutionOfContractiveAffineMap(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let map = try AffineMap.random(dimension: 40, batchSize: 3, spectralNorm: 0.8, seed: 7)
        let exact = try map.exactFixedPoint()
        let criteria = try StoppingCriteria(tolerance: 1e-12, measure: .relative, maxIterations: 2000)
        let result = try solver.solve(map, from: Matrix(rows: 3, columns: 40), criteria: criteria)
        #expect(result.converged, "\(label): \(result.samples.map(\.outcome))")
        // Solved to an absolute residual 1e-10 on a contraction with ρ ≤ 0.95: ‖z − z*‖ ≤ r/(1 − ρ) ≈ 2e-9 at worst,
        // relative to ‖z*‖ = O(√d): ≤ 1e-10 holds with the observed residuals; the LU reference adds κ u ≈ 4e-15.
        #expect(maxRowRelativeError(result.solution, exact) <= 1e-10, "\(label)")
    }

    @Test(arguments: solverZoo.indices)
    func fixedPointPropertyOnTanhCell(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 4, spectralNorm: 0.9, seed: 3))
        let result = try solver.solve(cell, from: Matrix(rows: 4, columns: 64),
                                  criteria: try StoppingCriteria(tolerance: 1e-10, measure: .absolute, maxIterations: 5000))
        #expect(result.converged, "\(label)")
        // Re-evaluate independently: the reported residual is the true one.
        let image = try cell(result.solution)
        for i in 0..<4 {
            let residual = BLAS.nrm2(zip(image.row(i), result.solution.row(i)).map { $0 - $1 })
            #expect(residual <= 1e-10, "\(label) sample \(i)")
            #expect(abs(residual - result.samples[i].absoluteResidual) <= (try ErrorBound.residualAgreement(cell, result.solution))[i],
                    "\(label) sample \(i)")
        }
    }
}
