import Testing
import Equilibrium

@Suite struct ResidualCellTests {
    /// A small cell with weights large enough (σ = 0.3) for the nonlinearity to matter, and
    /// random norm affines; the tutorial's σ = 0.01 is checked too.
    static let configurations: [(label: String, configuration: ResidualCell.Configuration)] = [
        ("σ=0.3", .init(dimension: 8, innerDimension: 12, batchSize: 3, groups: 2, weightScale: 0.3, seed: 1)),
        ("σ=0.01", .init(dimension: 16, innerDimension: 32, batchSize: 3, groups: 4, weightScale: 0.01, seed: 2)),
        ("one group", .init(dimension: 6, innerDimension: 9, batchSize: 2, groups: 1, weightScale: 0.5, seed: 3)),
    ]

    func cell(_ index: Int) throws -> ResidualCell {
        try CellChecks.perturbingNorms(try ResidualCell.random(Self.configurations[index].configuration), seed: 100 + UInt64(index))
    }

    @Test(arguments: configurations.indices)
    func evaluationMatchesTheDirectFormula(index: Int) throws {
        let cell = try cell(index)
        let z = gaussianBatch(cell.batchSize, cell.dimension, seed: 10)
        let fz = try cell(z)
        for i in 0..<cell.batchSize {
            let expected = ReferenceCells.residual(cell, z: z, sample: i).f
            // Two GEMMs of h and d terms, three GroupNorms and relus against loops: each layer adds at most
            // 2γ_k Σ|terms| (k ≤ 128, ≈ 5.7e-14 Σ|terms|), and the norms divide by σ ≥ √1e-5 only when the
            // variance is tiny; for Gaussian data ‖|W||z|‖ ≈ 0.64 √k ‖W z‖ (≈ 7 for k = 128), so each GEMM
            // is within ≈ 4e-13 relative and the normalised chain about that (GroupNorm rescales, it does
            // not amplify relative errors by more than a few u); 1e-12 is a 2.5× margin.
            #expect(CellChecks.relativeError(fz.row(i), expected) <= 1e-12, "\(Self.configurations[index].label) sample \(i)")
        }
    }

    @Test(arguments: configurations.indices)
    func everyDerivativeMatchesCentralDifferences(index: Int) throws {
        let cell = try cell(index)
        // A point whose relu pre-activations all lie at least 1e-3 from the kink, far beyond
        // what the difference steps (1e-5) move them.
        let z = try #require((11..<61).lazy.map { gaussianBatch(cell.batchSize, cell.dimension, seed: $0) }.first { z in
            ReferenceCells.kinkMargin((0..<cell.batchSize).map { ReferenceCells.residual(cell, z: z, sample: $0) }) > 1e-3
        }, "no point among 50 keeps its pre-activations 1e-3 away from relu's kink")
        for (what, error) in try CellChecks.derivativeErrors(cell, at: z, seed: 12) {
            #expect(error <= 1e-6, "\(Self.configurations[index].label) \(what): relative error \(error)")
        }
    }

    @Test(arguments: configurations.indices)
    func compactedRowsEqualTheWholeBatch(index: Int) throws {
        let cell = try cell(index)
        let z = gaussianBatch(cell.batchSize, cell.dimension, seed: 13)
        let bound = CellChecks.compactionTolerance
        #expect(try CellChecks.compactionError(cell, at: z, samples: [0, 2].filter { $0 < cell.batchSize }, seed: 14) <= bound)
        #expect(try CellChecks.compactionError(cell, at: z, samples: [cell.batchSize - 1], seed: 15) <= bound)
    }

    @Test func workspaceFollowsThePoint() throws {
        let cell = try cell(0)
        let points = (0..<3).map { gaussianBatch(cell.batchSize, cell.dimension, seed: 20 + UInt64($0)) }
        #expect(try CellChecks.workspaceReuseError(cell, points: points, seed: 30) == 0)
    }

    @Test func parametersRoundTripAndBindingChangesOnlyTheInput() throws {
        let cell = try cell(0)
        let z = gaussianBatch(cell.batchSize, cell.dimension, seed: 40)
        #expect(try cell.replacingParameters(cell.parameters)(z) == cell(z))
        #expect(cell.parameters.map(\.name) == ResidualCell.parameterNames)
        let x = gaussianBatch(5, cell.dimension, seed: 41)
        let rebound = try cell.binding(input: x)
        #expect(rebound.batchSize == 5 && rebound.parameters == cell.parameters && rebound.input == x)
    }

    @Test func generatorIsSeeded() throws {
        let configuration = Self.configurations[0].configuration
        #expect(try ResidualCell.random(configuration).parameters == ResidualCell.random(configuration).parameters)
        var other = configuration
        other.seed += 1
        #expect(try ResidualCell.random(other).parameters != ResidualCell.random(configuration).parameters)
        #expect(try ResidualCell.random(configuration).norm1.weight.allSatisfy { $0 == 1 })
    }

    @Test func solversReachTheFixedPoint() throws {
        // The tutorial's initialisation at a small size.
        let cell = try ResidualCell.random(.init(dimension: 16, innerDimension: 32, batchSize: 3, groups: 4, seed: 5))
        try CellChecks.solversReachFixedPoint(cell, solvers: [AndersonAcceleration(), Broyden(), NewtonKrylov()],
                                          label: "residual")
    }
}
