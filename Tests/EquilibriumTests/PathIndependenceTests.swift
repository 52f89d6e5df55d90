import Testing
import Equilibrium

@Suite struct PathIndependenceTests {
    /// A contractive cell has one fixed point: AA = 1 to solver tolerance.
    @Test func contractiveCellIsPathIndependent() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 6, spectralNorm: 0.9, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 2000)
        let solver = AndersonAcceleration()
        let reference = try solver.solve(cell, from: Matrix(rows: 6, columns: 32), criteria: criteria)
        let alignment = try PathIndependence.alignment(of: cell, solver: solver, reference: reference.solution, criteria: criteria)
        #expect(abs(alignment.score - 1) <= 1e-9)
        #expect(alignment.convergedFraction == 1)
    }

    /// A symmetric W with ‖W‖₂ = 2 and a weak injection has several attracting fixed points:
    /// starting from another input's fixed point lands elsewhere, so AA is clearly below 1.
    @Test func multiAttractorCellIsPathDependent() throws {
        let cell = try TanhCell.random(.init(dimension: 32, batchSize: 6, spectralNorm: 2, symmetric: true,
                                             injectionScale: 0.05, seed: 2))
        let criteria = try StoppingCriteria(tolerance: 1e-10, maxIterations: 5000)
        let solver = try ForwardIteration(damping: 0.5)
        let reference = try solver.solve(cell, from: try Initialization.gaussian(scale: 1, seed: 3).makeBatch(batchSize: 6, dimension: 32),
                                     criteria: criteria)
        let alignment = try PathIndependence.alignment(of: cell, solver: solver, reference: reference.solution, criteria: criteria)
        #expect(alignment.score < 0.9)
        #expect(alignment.perExample.allSatisfy { $0 <= 1 + 1e-12 })
    }

    @Test func cosineEdgeCases() {
        #expect(PathIndependence.cosine([0, 0], [0, 0]) == 1)
        #expect(PathIndependence.cosine([1, 0], [0, 0]) == 0)
        #expect(abs(PathIndependence.cosine([1, 2], [2, 4]) - 1) <= 1e-15)
        #expect(abs(PathIndependence.cosine([1, 0], [-1, 0]) + 1) <= 1e-15)
    }
}
