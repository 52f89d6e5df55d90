import Testing
import Equilibrium

@Suite struct MonotoneCellTests {
    /// A cell with a non-zero bias and a non-square U (p ≠ d).
    func cell(dimension d: Int = 10, inputs p: Int = 6, batch: Int = 3, scale: Double = 0.6, seed: UInt64 = 1) throws -> MonotoneCell {
        var generator = SplitMix64(seed: seed)
        let s = scale / Double(d).squareRoot()
        let a = Matrix.gaussian(rows: d, columns: d, scale: s, using: &generator)
        let b = Matrix.gaussian(rows: d, columns: d, scale: s, using: &generator)
        let u = Matrix.gaussian(rows: d, columns: p, scale: 1 / Double(p).squareRoot(), using: &generator)
        let bias = generator.gaussians(count: d, scale: 0.3)
        let x = Matrix.gaussian(rows: batch, columns: p, using: &generator)
        return try MonotoneCell(a: a, b: b, inputWeight: u, bias: bias, monotonicity: 0.05, input: x)
    }

    /// W z + c for every sample, computed from A, B, U, b directly.
    func preActivations(_ cell: MonotoneCell, _ z: Matrix) throws -> Matrix {
        let d = cell.dimension
        let w = try (1 - cell.monotonicity) * Matrix.identity(d) - cell.a.transposed().multiplied(by: cell.a)
            + cell.b - cell.b.transposed()
        var c = try cell.input.multiplied(by: cell.inputWeight.transposed())
        for i in 0..<c.rows { for j in 0..<d { c[i, j] += cell.bias[j] } }
        return try z.multiplied(by: w.transposed()) + c
    }

    @Test func evaluationIsReluOfTheMonotoneParameterisation() throws {
        let cell = try cell()
        let z = gaussianBatch(3, 10, seed: 2)
        let expected = try preActivations(cell, z).storage.map { max(0, $0) }
        // W z + U x + b as sums of d + p + 1 = 21 terms in the cell's GEMMs and the reference's loops:
        // at most 2γ₂₁ · Σ|terms| ≈ 4.7e-15 · Σ|terms| per entry; for Gaussian data the row norms satisfy
        // ‖|W||z|‖ ≈ 0.64 √21 ‖W z‖ ≈ 3 ‖W z‖ (relu only drops entries), so ≈ 1.4e-14; 1e-13 is a 7× margin.
        #expect(try CellChecks.relativeError(cell(z).storage, expected) <= 1e-13)
    }

    @Test(arguments: [0.05, 1.0])
    func identityMinusWeightIsStronglyMonotone(m: Double) throws {
        // The symmetric part of I − W is m I + AᵀA ⪰ m I, however large A and B are.
        for scale in [0.5, 3.0] {
            let cell = try MonotoneCell.random(.init(dimension: 20, batchSize: 1, monotonicity: m, weightScale: scale, seed: 3))
            let complement = try Matrix.identity(20) - cell.weight
            let symmetric = try 0.5 * (complement + complement.transposed())
            let smallest = try #require(try LAPACK.symmetricEigen(symmetric).values.min())
            #expect(smallest >= m - 1e-12, "s = \(scale): λ_min = \(smallest)")
        }
    }

    @Test func everyDerivativeMatchesCentralDifferences() throws {
        let cell = try cell()
        let z = try #require(try (4..<54).map { gaussianBatch(3, 10, seed: $0) }.first { z in
            try preActivations(cell, z).storage.allSatisfy { abs($0) > 1e-3 }
        }, "no point among 50 keeps its pre-activations 1e-3 away from relu's kink")
        for (what, error) in try CellChecks.derivativeErrors(cell, at: z, seed: 5) {
            #expect(error <= 1e-6, "\(what): relative error \(error)")
        }
    }

    @Test func compactedRowsEqualTheWholeBatch() throws {
        let cell = try cell()
        let z = gaussianBatch(3, 10, seed: 6)
        #expect(try CellChecks.compactionError(cell, at: z, samples: [0, 2], seed: 7) <= CellChecks.compactionTolerance)
        #expect(try CellChecks.workspaceReuseError(cell, points: [z, gaussianBatch(3, 10, seed: 8)], seed: 9) == 0)
    }

    @Test func parametersRoundTrip() throws {
        let cell = try cell()
        let z = gaussianBatch(3, 10, seed: 10)
        #expect(cell.parameters.map(\.name) == MonotoneCell.parameterNames)
        #expect(cell.parameters.map(\.shape) == [[10, 10], [10, 10], [10, 6], [10]])
        #expect(try cell.replacingParameters(cell.parameters)(z) == cell(z))
        #expect(try cell.binding(input: gaussianBatch(5, 6, seed: 11)).batchSize == 5)
    }

    /// Forward–backward splitting z ← relu(z − α((I − W) z − c)), which converges for a strongly
    /// monotone I − W when α < 2m/‖I − W‖² (Winston & Kolter 2020, §3): an independent reference.
    func splittingSolution(_ cell: MonotoneCell) throws -> Matrix {
        let d = cell.dimension
        let complement = try Matrix.identity(d) - cell.weight
        let lipschitz = try LAPACK.spectralNorm(complement)
        let alpha = cell.monotonicity / (lipschitz * lipschitz)
        var z = Matrix(rows: cell.batchSize, columns: d)
        for _ in 0..<200_000 {
            let step = try z - alpha * (z.multiplied(by: complement.transposed()) - cell.injection)
            let next = Matrix(rows: step.rows, columns: d, storage: step.storage.map { max(0, $0) })
            let change = try (next - z).maxAbs
            z = next
            if change <= 1e-15 * max(1, z.maxAbs) { break }
        }
        return z
    }

    @Test func sameFixedPointFromManyRandomStarts() throws {
        // The generator's default scale, where plain forward iteration does not converge.
        let cell = try MonotoneCell.random(.init(dimension: 24, batchSize: 3, seed: 12))
        let reference = try splittingSolution(cell)
        #expect(try maxRowRelativeError(cell(reference), reference) <= 1e-10, "the splitting reference is a fixed point")
        let starts: [Initialization] = (0..<6).map { .gaussian(scale: 3, seed: 100 + UInt64($0)) }
            + (0..<3).map { .uniform(low: -5, high: 5, seed: 200 + UInt64($0)) }
            + (0..<3).map { .mixed(probability: 0.5, scale: 10, seed: 300 + UInt64($0)) }
        let criteria = try StoppingCriteria(tolerance: 1e-11, measure: .relative, maxIterations: 5000)
        for solver in [NewtonKrylov(), AndersonAcceleration(), try ForwardIteration(damping: 0.1)] as [any FixedPointSolver] {
            for (k, start) in starts.enumerated() {
                let result = try solver.solve(cell, initialization: start, criteria: criteria)
                #expect(result.converged, "\(solver.name) start \(k): \(result.samples.map(\.outcome))")
                #expect(maxRowRelativeError(result.solution, reference) <= 1e-9, "\(solver.name) start \(k)")
            }
        }
    }

    @Test func generatorIsSeeded() throws {
        let configuration = MonotoneCell.Configuration(dimension: 8, batchSize: 2, seed: 13)
        #expect(try MonotoneCell.random(configuration).parameters == MonotoneCell.random(configuration).parameters)
        #expect(try MonotoneCell.random(configuration).bias.allSatisfy { $0 == 0 })
    }
}
