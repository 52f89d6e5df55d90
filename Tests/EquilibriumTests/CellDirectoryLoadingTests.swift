import Foundation
import Testing
import Equilibrium

@Suite struct CellDirectoryLoadingTests {
    /// Writes every parameter of `cell` as `name.npy` into `dir`.
    func save(_ parameters: [NamedArray], to dir: ScratchDirectory) throws {
        for p in parameters { try dir.npy("\(p.name).npy", shape: p.shape, p.values) }
    }

    // MARK: Round trips

    @Test func residualCellRoundTrips() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try CellChecks.perturbingNorms(try ResidualCell.random(.init(dimension: 8, innerDimension: 12, batchSize: 3, groups: 2,
                                                                         weightScale: 0.2, seed: 1)), seed: 2)
        try save(cell.parameters, to: dir)
        let x = try dir.npy("X.npy", cell.input)
        let loaded = try ResidualCell.load(directory: dir.url, groups: 2, injection: .file(x))
        #expect(loaded.parameters == cell.parameters && loaded.input == cell.input)
        let z = gaussianBatch(3, 8, seed: 3)
        #expect(try loaded(z) == cell(z))
        // Gaussian inputs: B rows of dimension d.
        let drawn = try ResidualCell.load(directory: dir.url, groups: 4, injection: .gaussian(batchSize: 5, scale: 2, seed: 4))
        #expect(drawn.batchSize == 5 && drawn.dimension == 8 && drawn.groups == 4)
    }

    @Test(arguments: [SpatialShape.line(length: 6), .grid(height: 3, width: 4)])
    func convResidualCellRoundTrips(shape: SpatialShape) throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try CellChecks.perturbingNorms(try ConvResidualCell.random(.init(channels: 4, innerChannels: 6, inputChannels: 2, shape: shape,
                                                                             batchSize: 2, groups: 2, weightScale: 0.2, seed: 5)), seed: 6)
        try save(cell.parameters, to: dir)
        let x = try dir.npy("X.npy", shape: [2, 2] + shape.extents, cell.input.storage)
        // The spatial shape comes from X.npy, or is given and must agree.
        for given in [nil, shape] {
            let loaded = try ConvResidualCell.load(directory: dir.url, rank: shape.rank, groups: 2, shape: given, injection: .file(x))
            #expect(loaded.parameters == cell.parameters && loaded.input == cell.input && loaded.shape == shape)
            let z = gaussianBatch(2, cell.dimension, seed: 7)
            #expect(try loaded(z) == cell(z))
        }
        let drawn = try ConvResidualCell.load(directory: dir.url, rank: shape.rank, groups: 1, shape: shape,
                                              injection: .gaussian(batchSize: 3, scale: 1, seed: 8))
        #expect(drawn.batchSize == 3 && drawn.dimension == 4 * shape.size && drawn.inputChannels == 2)
    }

    @Test func monotoneCellRoundTrips() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        var generator = SplitMix64(seed: 9)
        let cell = try MonotoneCell(a: .gaussian(rows: 5, columns: 5, scale: 0.3, using: &generator),
                                b: .gaussian(rows: 5, columns: 5, scale: 0.3, using: &generator),
                                inputWeight: .gaussian(rows: 5, columns: 3, using: &generator),
                                bias: generator.gaussians(count: 5), monotonicity: 0.2,
                                input: .gaussian(rows: 4, columns: 3, using: &generator))
        try save(cell.parameters, to: dir)
        let x = try dir.npy("X.npy", cell.input)
        let loaded = try MonotoneCell.load(directory: dir.url, monotonicity: 0.2, injection: .file(x))
        #expect(loaded.parameters == cell.parameters && loaded.weight == cell.weight)
        let z = gaussianBatch(4, 5, seed: 10)
        #expect(try loaded(z) == cell(z))
        let drawn = try MonotoneCell.load(directory: dir.url, monotonicity: 0.2, injection: .gaussian(batchSize: 2, scale: 1, seed: 1))
        #expect(drawn.input.columns == 3)
    }

    // MARK: Errors name the file and the expected shape

    @Test func missingFileNamesItAndItsShape() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try ResidualCell.random(.init(dimension: 8, innerDimension: 12, batchSize: 2, groups: 2, seed: 1))
        try save(cell.parameters.filter { $0.name != "norm2.bias" }, to: dir)
        let error = try #require(loadingError { () throws in try ResidualCell.load(directory: dir.url, groups: 2, injection: .gaussian(batchSize: 2, scale: 1, seed: 0)) })
        #expect(error.file == dir.file("norm2.bias.npy").path)
        #expect(error.description.contains("no such file"))
        #expect(error.description.contains("(8,) = (d,)"), "\(error)")
    }

    @Test func misShapedArrayNamesTheFileAndTheExpectedShape() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try ConvResidualCell.random(.init(channels: 4, innerChannels: 6, inputChannels: 2, shape: .grid(height: 3, width: 3),
                                                 batchSize: 2, groups: 2, seed: 2))
        try save(cell.parameters, to: dir)
        try dir.npy("conv2.weight.npy", shape: [4, 5, 3, 3], [Double](repeating: 0.1, count: 180))
        let error = try #require(loadingError { () throws in
            try ConvResidualCell.load(directory: dir.url, rank: 2, groups: 2, shape: .grid(height: 3, width: 3),
                                      injection: .gaussian(batchSize: 1, scale: 1, seed: 0))
        })
        #expect(error.file == dir.file("conv2.weight.npy").path)
        #expect(error.description.contains("shape (4, 5, 3, 3) does not fit: expected (4, 6, 3, 3) = (C, h, 3, 3)"), "\(error)")
        // A 1-D cell asked of 2-D weights: the first file says what a 1-D kernel looks like.
        let wrongRank = try #require(loadingError { () throws in
            try ConvResidualCell.load(directory: dir.url, rank: 1, groups: 2, shape: .line(length: 5),
                                      injection: .gaussian(batchSize: 1, scale: 1, seed: 0))
        })
        #expect(wrongRank.file == dir.file("conv1.weight.npy").path)
        #expect(wrongRank.description.contains("expected (h, C, 3) with every size ≥ 1"), "\(wrongRank)")
    }

    @Test func injectionFileMustFitTheWeights() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try ConvResidualCell.random(.init(channels: 4, innerChannels: 4, inputChannels: 2, shape: .line(length: 5),
                                                 batchSize: 2, groups: 2, seed: 3))
        try save(cell.parameters, to: dir)
        let x = try dir.npy("X.npy", shape: [2, 3, 5], [Double](repeating: 0, count: 30))
        let error = try #require(loadingError { () throws in
            try ConvResidualCell.load(directory: dir.url, rank: 1, groups: 2, shape: nil, injection: .file(x))
        })
        #expect(error.file == x.path)
        #expect(error.description.contains("expected (B, 2, L) with every size ≥ 1"), "\(error)")
        let good = try dir.npy("X5.npy", shape: [2, 2, 5], [Double](repeating: 0, count: 20))
        let mismatch = try #require(loadingError { () throws in
            try ConvResidualCell.load(directory: dir.url, rank: 1, groups: 2, shape: .line(length: 6), injection: .file(good))
        })
        #expect(mismatch.description.contains("expected (B, 2, 6)"), "\(mismatch)")
    }

    @Test func groupsMustDivideTheChannels() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try ResidualCell.random(.init(dimension: 8, innerDimension: 12, batchSize: 2, groups: 4, seed: 1))
        try save(cell.parameters, to: dir)
        let error = try #require(loadingError { () throws in try ResidualCell.load(directory: dir.url, groups: 8, injection: .gaussian(batchSize: 2, scale: 1, seed: 0)) })
        #expect(error.description.contains("8 groups do not divide h = 12"), "\(error)")
    }

    @Test func nonFiniteValuesAndMissingDirectoriesAreRefused() throws {
        let dir = try ScratchDirectory("CellDirectoryLoadingTests")
        defer { dir.cleanUp() }
        let cell = try MonotoneCell.random(.init(dimension: 4, batchSize: 1, seed: 2))
        try save(cell.parameters, to: dir)
        var b = cell.b.storage
        b[5] = .nan
        try dir.npy("B.npy", shape: [4, 4], b)
        let error = try #require(loadingError { () throws in try MonotoneCell.load(directory: dir.url, monotonicity: 0.05, injection: .gaussian(batchSize: 1, scale: 1, seed: 0)) })
        #expect(error.file == dir.file("B.npy").path && error.description.contains("non-finite value nan at index (1, 1)"), "\(error)")
        let missing = try #require(loadingError { () throws in
            try MonotoneCell.load(directory: dir.file("nowhere"), monotonicity: 0.05, injection: .gaussian(batchSize: 1, scale: 1, seed: 0))
        })
        #expect(missing.description.contains("no such directory; expected a directory holding A.npy, B.npy, U.npy, b.npy"), "\(missing)")
    }
}
