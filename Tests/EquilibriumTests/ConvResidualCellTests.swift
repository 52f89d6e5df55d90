import Testing
import Equilibrium

@Suite struct ConvResidualCellTests {
    static let configurations: [(label: String, configuration: ConvResidualCell.Configuration)] = [
        ("1-D σ=0.3", .init(channels: 4, innerChannels: 6, inputChannels: 2, shape: .line(length: 7), batchSize: 3,
                            groups: 2, weightScale: 0.3, seed: 1)),
        ("2-D σ=0.3", .init(channels: 4, innerChannels: 6, inputChannels: 3, shape: .grid(height: 4, width: 5), batchSize: 2,
                            groups: 2, weightScale: 0.3, seed: 2)),
        ("2-D σ=0.01", .init(channels: 4, innerChannels: 8, inputChannels: 2, shape: .grid(height: 3, width: 3), batchSize: 2,
                             groups: 2, weightScale: 0.01, seed: 3)),
        ("1-D one group", .init(channels: 3, innerChannels: 5, inputChannels: 1, shape: .line(length: 4), batchSize: 2,
                                groups: 1, weightScale: 0.5, seed: 4)),
    ]

    func cell(_ index: Int) throws -> ConvResidualCell {
        try CellChecks.perturbingNorms(try ConvResidualCell.random(Self.configurations[index].configuration), seed: 200 + UInt64(index))
    }

    @Test(arguments: configurations.indices)
    func evaluationEqualsTheDirectConvolutionCell(index: Int) throws {
        let cell = try cell(index)
        let z = gaussianBatch(cell.batchSize, cell.dimension, seed: 10)
        let fz = try cell(z)
        for i in 0..<cell.batchSize {
            let expected = ReferenceCells.residual(cell, z: z, sample: i).f
            // As for the dense residual cell: two convolutions of C·9 terms (im2col + GEMM against loops),
            // three GroupNorms and relus, each within 2γ_k Σ|terms| with ‖|W||z|‖ ≈ 0.64 √k ‖W z‖ for
            // Gaussian data (k = C · 9 ≤ 432: ≈ 13), ≈ 1.2e-12 in the worst layer by this estimate;
            // 4e-12 is a 3× margin over it.
            #expect(CellChecks.relativeError(fz.row(i), expected) <= 4e-12, "\(Self.configurations[index].label) sample \(i)")
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
        #expect(try CellChecks.compactionError(cell, at: z, samples: [cell.batchSize - 1], seed: 14) <= bound)
        #expect(try CellChecks.compactionError(cell, at: z, samples: [0], seed: 15) <= bound)
    }

    @Test func workspaceFollowsThePoint() throws {
        let cell = try cell(0)
        let points = (0..<3).map { gaussianBatch(cell.batchSize, cell.dimension, seed: 20 + UInt64($0)) }
        #expect(try CellChecks.workspaceReuseError(cell, points: points, seed: 30) == 0)
    }

    @Test func parametersHavePyTorchsNamesAndShapes() throws {
        let one = try ConvResidualCell.random(Self.configurations[0].configuration)
        let two = try ConvResidualCell.random(Self.configurations[1].configuration)
        #expect(one.parameters.map(\.name) == ConvResidualCell.parameterNames)
        #expect(one.parameters.map(\.shape) == [[6, 4, 3], [4, 6, 3], [6], [6], [4], [4], [4], [4], [4, 2, 3], [4]])
        #expect(two.parameters.map(\.shape) == [[6, 4, 3, 3], [4, 6, 3, 3], [6], [6], [4], [4], [4], [4], [4, 3, 3, 3], [4]])
        let z = gaussianBatch(two.batchSize, two.dimension, seed: 40)
        #expect(try two.replacingParameters(two.parameters)(z) == two(z))
        let x = gaussianBatch(4, two.input.columns, seed: 41)
        let rebound = try two.binding(input: x)
        #expect(rebound.batchSize == 4 && rebound.parameters == two.parameters)
    }

    @Test(arguments: [0, 1])
    func solversReachTheFixedPoint(index: Int) throws {
        // The tutorial's initialisation (σ = 0.01) at a small size.
        var configuration = Self.configurations[index].configuration
        configuration.weightScale = 0.01
        configuration.channels = 8
        configuration.innerChannels = 12
        configuration.groups = 4
        let cell = try ConvResidualCell.random(configuration)
        try CellChecks.solversReachFixedPoint(cell, solvers: [AndersonAcceleration(), Broyden(), NewtonKrylov()],
                                          label: Self.configurations[index].label)
    }
}
