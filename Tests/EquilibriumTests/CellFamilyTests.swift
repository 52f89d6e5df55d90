import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// The experiment catalog's residual, convolutional and monotone families.
@Suite struct CellFamilyTests {
    func parse(_ yaml: String, base: URL = URL(fileURLWithPath: "/tmp")) throws(ExperimentError) -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: yaml, file: "Experiments/test.yaml", baseDirectory: base)
    }

    func maps(_ spec: ExperimentSpec) throws -> [any FixedPointMap] {
        try spec.cellConfigurations.map {
            try Catalog.standard.cell(named: $0.family).makeMap($0.assignment.dictionary,
                                                                context: CellBuildContext(seed: 1, baseDirectory: URL(fileURLWithPath: spec.baseDirectory)))
        }
    }

    @Test func familiesBuildTheirCells() throws {
        let spec = try parse("""
        cells:
          - {family: residual, dim: 12, inner: 18, groups: 3, batch: 2, sigma: 0.1}
          - {family: conv1d, channels: 4, inner: 6, in-channels: 2, length: 7, groups: 2, batch: 3}
          - {family: conv2d, channels: 4, inner: 8, height: 3, width: 5, groups: 4, batch: 2}
          - {family: monotone, dim: 9, batch: 2, monotonicity: 0.3, weight-scale: 1.5}
        solvers: [anderson]
        """)
        let built = try maps(spec)
        let residual = try #require(built[0] as? ResidualCell)
        #expect(residual.dimension == 12 && residual.innerDimension == 18 && residual.groups == 3 && residual.batchSize == 2)
        #expect(try residual.parameters == ResidualCell.random(.init(dimension: 12, innerDimension: 18, batchSize: 2, groups: 3,
                                                                     weightScale: 0.1, seed: 1)).parameters)
        let line = try #require(built[1] as? ConvResidualCell)
        #expect(line.shape == .line(length: 7) && line.channels == 4 && line.innerChannels == 6 && line.inputChannels == 2)
        #expect(line.dimension == 28 && line.batchSize == 3)
        let image = try #require(built[2] as? ConvResidualCell)
        #expect(image.shape == .grid(height: 3, width: 5) && image.inputChannels == 3 && image.groups == 4)
        let monotone = try #require(built[3] as? MonotoneCell)
        #expect(monotone.monotonicity == 0.3 && monotone.dimension == 9)
        #expect(try monotone.parameters == MonotoneCell.random(.init(dimension: 9, batchSize: 2, monotonicity: 0.3, weightScale: 1.5,
                                                                     seed: 1)).parameters)
    }

    @Test func groupsThatDoNotDivideAreRefusedWithTheLine() {
        do {
            _ = try parse("""
            cells:
              - family: conv2d
                channels: [8, 12]
                groups: 8
            solvers: [anderson]
            """)
            Issue.record("parsed without error")
        } catch {
            #expect(error.line == 2)
            #expect(error.description.contains("cell 'conv2d' (channels=12 groups=8): groups 8 does not divide channels 12"), "\(error)")
        }
        do {
            _ = try parse("cells: [{family: monotone, injection: X.npy}]\nsolvers: [anderson]")
            Issue.record("parsed without error")
        } catch {
            #expect(error.description.contains("injection needs weights"), "\(error)")
        }
    }

    @Test func quickCapsChannelsInnerAndSpatialSizes() throws {
        let spec = try parse("""
        cells:
          - {family: conv2d, channels: 48, inner: 64, in-channels: 3, height: 32, width: [16, 32], groups: 8}
          - {family: residual, dim: 64, inner: 128}
        solvers: [anderson]
        quick: {channels: 16, inner: 24, spatial: 6, dim: 16}
        """).quickened()
        let values = spec.cellConfigurations.map(\.assignment.dictionary)
        #expect(values.count == 2, "the two widths collapse into one")
        #expect(values[0]["channels"] == .integer(16) && values[0]["inner"] == .integer(24) && values[0]["in-channels"] == .integer(3))
        #expect(values[0]["height"] == .integer(6) && values[0]["width"] == .integer(6))
        #expect(values[1]["dim"] == .integer(16) && values[1]["inner"] == .integer(24))
    }

    @Test func weightsDirectoryResolvesAgainstTheExperimentFolder() throws {
        let dir = try ScratchDirectory("CellFamilyTests")
        defer { dir.cleanUp() }
        let weights = dir.file("net")
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
        let cell = try MonotoneCell.random(.init(dimension: 5, batchSize: 2, seed: 3))
        for p in cell.parameters {
            try NumPyArray(shape: p.shape, values: p.values).write(to: weights.appendingPathComponent("\(p.name).npy"))
        }
        try dir.npy("X.npy", cell.input)
        let spec = try parse("cells: [{family: monotone, weights: net, injection: X.npy}]\nsolvers: [anderson]", base: dir.url)
        let loaded = try #require(try maps(spec).first as? MonotoneCell)
        #expect(loaded.parameters == cell.parameters && loaded.input == cell.input)
    }

    @Test func bundledExperimentsBuildEveryCellInFullAndQuickRuns() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Experiments").standardized
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        for file in files {
            let spec = try ExperimentSpec.load(contentsOf: file)
            for variant in [spec, spec.quickened()] {
                for configuration in variant.cellConfigurations {
                    #expect(try Catalog.standard.cell(named: configuration.family).problem(with: configuration.assignment.dictionary) == nil,
                            "\(file.lastPathComponent): \(configuration.label)")
                }
            }
        }
    }
}
