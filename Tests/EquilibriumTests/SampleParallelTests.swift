import Testing
import Equilibrium

/// `SampleParallel` against the serial solves it is made of, and its refusals.
@Suite struct SampleParallelTests {
    /// B = 7 samples of a contractive tanh cell (‖W‖₂ = 0.9), d = 24.
    static func cell() throws -> TanhCell {
        try TanhCell.random(.init(dimension: 24, batchSize: 7, spectralNorm: 0.9, seed: 31))
    }

    static let solvers: [any FixedPointSolver] = [
        ForwardIteration(), AndersonAcceleration(), Broyden(),
        try! NewtonKrylov(jacobianProducts: .analytic),
    ]

    @Test(arguments: 0..<4, [2, 3, 7, 12])
    func groupsAreTheSerialSolvesOfTheirRows(solverIndex: Int, threads: Int) throws {
        try Self.checkGroups(Self.solvers[solverIndex], threads: threads)
    }

    static func checkGroups(_ solver: some FixedPointSolver, threads: Int) throws {
        let cell = try cell()
        let criteria = try StoppingCriteria(tolerance: 1e-10)
        let z0 = Matrix(rows: 7, columns: 24)
        let parallel = try SampleParallel(solver, threads: threads).solve(cell, from: z0, criteria: criteria)
        let groups = SampleParallel<ForwardIteration>.groups(batchSize: 7, threads: threads)
        #expect(groups.count == min(threads, 7))
        #expect(groups.map(\.count).max()! - groups.map(\.count).min()! <= 1)
        #expect(parallel.samples.count == 7 && parallel.solution.rows == 7)
        // Each group is exactly a serial solve of a cell bound to its rows: same arithmetic,
        // so equal statistics and bit-equal points, in the original order.
        for rows in groups {
            let serial = try solver.solve(try cell.binding(input: cell.input.rows(rows)), from: Matrix(rows: rows.count, columns: 24),
                                          criteria: criteria)
            for (r, s) in rows.enumerated() {
                var timed = parallel.samples[s]
                timed.history.seconds = serial.samples[r].history.seconds  // wall-clock times aside
                #expect(timed == serial.samples[r], "sample \(s)")
                #expect(parallel.solution.row(s) == serial.solution.row(r), "sample \(s)")
            }
        }
        // Against the whole batch solved at once: both converged to ‖g‖ ≤ 1e-10 ‖f‖ on a map with
        // Lipschitz constant L ≤ ‖W‖₂ = 0.9, so each point is within ‖g‖/(1 − L) ≤ 1e-9 ‖f‖ of the
        // fixed point and two of them within 2e-9 ‖f‖; checked with a margin of 2.
        let whole = try solver.solve(cell, from: z0, criteria: criteria)
        #expect(parallel.converged && whole.converged)
        let image = try cell(whole.solution)
        for s in 0..<7 {
            let difference = ErrorBound.norm(zip(parallel.solution.row(s), whole.solution.row(s)).map { $0 - $1 })
            #expect(difference <= 4e-9 * ErrorBound.norm(image.row(s)), "sample \(s)")
        }
        let residuals = try trueResiduals(cell, parallel.solution)
        for s in 0..<7 { #expect(abs(residuals[s] - parallel.samples[s].absoluteResidual) <= 1e-12 * max(1, residuals[s])) }
    }

    @Test func restoresTheBLASThreadCount() throws {
        let before = BLAS.threadCount
        _ = try SampleParallel(AndersonAcceleration(), threads: 2).solve(try Self.cell(), from: Matrix(rows: 7, columns: 24))
        #expect(BLAS.threadCount == before)
    }

    @Test func broydenInverseEstimatesAreStackedByGroup() throws {
        let cell = try Self.cell()
        let parallel = try SampleParallel(Broyden(), threads: 3).solve(cell, from: Matrix(rows: 7, columns: 24))
        let whole = try Broyden().solve(cell, from: Matrix(rows: 7, columns: 24))
        let stacked = try #require(parallel.byproducts.inverseJacobian)
        let serial = try #require(whole.byproducts.inverseJacobian)
        #expect(stacked.batchSize == 7 && stacked.dimension == 24)
        var generator = SplitMix64(seed: 5)
        let x = Matrix.gaussian(rows: 7, columns: 24, scale: 1, using: &generator)
        // Per sample the same Broyden updates (the statistics agree); products agree to the
        // rounding of updates made from points that differ by GEMM rounding: H = −I + Σ u vᵀ
        // with ‖H x‖ = O(‖x‖); 1e-6 relative leaves room for it.
        for (a, b) in [(try stacked.product(x), try serial.product(x)), (try stacked.transposedProduct(x), try serial.transposedProduct(x))] {
            for s in 0..<7 {
                let difference = ErrorBound.norm(zip(a.row(s), b.row(s)).map { $0 - $1 })
                #expect(difference <= 1e-6 * ErrorBound.norm(b.row(s)), "sample \(s)")
            }
        }
        #expect(throws: UsageError.self) { try stacked.product(Matrix(rows: 6, columns: 24)) }
    }

    @Test func refusesWhatItCannotRun() throws {
        let closure = try ClosureMap(dimension: 3, batchSize: 4) { _, z, fz in
            for j in 0..<z.count { fz[j] = 0.5 * z[j] + 1 }
        }
        let error = try #require(throws: UsageError.self) {
            try SampleParallel(ForwardIteration(), threads: 2).solve(closure, from: Matrix(rows: 4, columns: 3))
        }
        #expect("\(error)".contains("ThreadSafeMap"))
        #expect(throws: UsageError.self) { try SampleParallel(ForwardIteration(), threads: 0) }
        #expect(throws: UsageError.self) { try SampleParallel(ForwardIteration(), threads: 100_000) }
        let observer = SolveObserver { _ in .continue }
        #expect(throws: UsageError.self) {
            try SampleParallel(ForwardIteration(), threads: 2).solve(try Self.cell(), from: Matrix(rows: 7, columns: 24),
                                                                   criteria: StoppingCriteria(), observer: observer)
        }
        #expect(throws: UsageError.self) {
            try SampleParallel(ForwardIteration(), threads: 2).solve(try Self.cell(), from: Matrix(rows: 6, columns: 24))
        }
    }
}
