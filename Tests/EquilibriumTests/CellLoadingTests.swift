import Foundation
import Testing
import Equilibrium

/// A fresh temporary directory, removed by `cleanUp()`.
struct ScratchDirectory {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `values` with `shape` as a float64 `.npy` file and returns its URL.
    @discardableResult
    func npy(_ name: String, shape: [Int], _ values: [Double]) throws -> URL {
        let target = file(name)
        try NumPyArray(shape: shape, values: values).write(to: target)
        return target
    }

    @discardableResult
    func npy(_ name: String, _ matrix: Matrix) throws -> URL {
        try npy(name, shape: [matrix.rows, matrix.columns], matrix.storage)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// The error `body` throws, recording an issue when it throws none.
func loadingError<T>(_ body: () throws -> T) -> CellLoadingError? {
    do {
        _ = try body()
        Issue.record("expected a CellLoadingError")
        return nil
    } catch let error as CellLoadingError {
        return error
    } catch {
        Issue.record("expected a CellLoadingError, got \(type(of: error)): \(error)")
        return nil
    }
}

@Suite struct CellLoadingTests {
    private static func gaussian(_ rows: Int, _ columns: Int, seed: UInt64) -> Matrix {
        var generator = SplitMix64(seed: seed)
        return .gaussian(rows: rows, columns: columns, using: &generator)
    }

    // MARK: Round trips

    @Test func tanhCellWithEveryArrayRoundTrips() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let d = 6, p = 3, b = 4
        let w = 0.2 * Self.gaussian(d, d, seed: 1), u = Self.gaussian(d, p, seed: 2)
        let bias = Self.gaussian(1, d, seed: 3).storage, x = Self.gaussian(b, p, seed: 4)
        let cell = try TanhCell(weight: w, inputWeight: u, bias: bias, input: x)

        let loaded = try TanhCell.load(weights: dir.npy("W.npy", w), inputWeights: dir.npy("U.npy", u),
                                       bias: dir.npy("b.npy", shape: [d], bias), injection: dir.npy("X.npy", x))
        #expect(loaded.weight == w)
        #expect(loaded.inputWeight == u)
        #expect(loaded.bias == bias)
        #expect(loaded.input == x)
        #expect(loaded.injection == cell.injection)
        let z = Self.gaussian(b, d, seed: 5)
        #expect(try loaded(z) == cell(z))
    }

    @Test func oneDimensionalInjectionIsOneSampleAndRowBiasIsAccepted() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let d = 5
        let w = 0.3 * Self.gaussian(d, d, seed: 6), x = Self.gaussian(1, d, seed: 7)
        let bias = Self.gaussian(1, d, seed: 8)
        let loaded = try TanhCell.load(weights: dir.npy("W.npy", w), bias: dir.npy("b.npy", bias),
                                       injection: dir.npy("x.npy", shape: [d], x.storage))
        #expect(loaded.batchSize == 1)
        #expect(loaded.inputWeight == nil)
        #expect(loaded.input == x)
        #expect(loaded.bias == bias.storage)
    }

    @Test func affineMapRoundTripsAndKeepsItsFixedPoint() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let map = try AffineMap.random(dimension: 7, batchSize: 3, spectralNorm: 0.5, seed: 9)
        let loaded = try AffineMap.load(matrix: dir.npy("A.npy", map.matrix), offsets: dir.npy("b.npy", map.offsets))
        #expect(loaded.matrix == map.matrix)
        #expect(loaded.offsets == map.offsets)
        #expect(try loaded.exactFixedPoint() == map.exactFixedPoint())
    }

    @Test func gaussianInjectionTakesItsColumnsFromUAndIsSeeded() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let w = dir.file("W.npy"), u = dir.file("U.npy")
        try dir.npy("W.npy", 0.4 * Self.gaussian(8, 8, seed: 10))
        try dir.npy("U.npy", Self.gaussian(8, 3, seed: 11))
        let source = InjectionSource.gaussian(batchSize: 5, scale: 0.5, seed: 12)
        let withU = try TanhCell.load(weights: w, inputWeights: u, injection: source)
        #expect(withU.input.rows == 5 && withU.input.columns == 3)
        #expect(try TanhCell.load(weights: w, inputWeights: u, injection: source).input == withU.input)
        let withoutU = try TanhCell.load(weights: w, injection: source)
        #expect(withoutU.input.rows == 5 && withoutU.input.columns == 8)
        let other = try TanhCell.load(weights: w, injection: .gaussian(batchSize: 5, scale: 0.5, seed: 13))
        #expect(other.input != withoutU.input)
        let affine = try AffineMap.load(matrix: w, offsets: source)
        #expect(affine.offsets.rows == 5 && affine.offsets.columns == 8)
    }

    @Test func initialBatchLoadsAndChecksItsShape() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let z = Self.gaussian(3, 4, seed: 14)
        let url = try dir.npy("Z.npy", z)
        #expect(try Initialization.load(contentsOf: url, batchSize: 3, dimension: 4) == .explicit(z))
        let error = loadingError { () throws in
            try Initialization.load(contentsOf: url, batchSize: 2, dimension: 4)
        }
        #expect(error?.file == url.path)
        #expect(error?.description.contains("shape (3, 4) does not fit: expected (2, 4)") == true)
    }

    // MARK: Errors name the file, the array, the shape found and the shape expected

    @Test func nonSquareWeightsAreRefused() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let w = try dir.npy("W.npy", Self.gaussian(5, 4, seed: 1))
        let x = try dir.npy("X.npy", Self.gaussian(2, 5, seed: 2))
        let error = loadingError { () throws in try TanhCell.load(weights: w, injection: x) }
        #expect(error?.file == w.path)
        #expect(error?.array == "weight matrix W")
        #expect(error?.description == "\(w.path): weight matrix W: shape (5, 4) does not fit: expected (d, d), a square matrix with d ≥ 1")
    }

    @Test func inputWeightsMustMatchTheInjectionColumns() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let w = try dir.npy("W.npy", Self.gaussian(5, 5, seed: 1))
        let u = try dir.npy("U.npy", Self.gaussian(5, 2, seed: 2))
        let x = try dir.npy("X.npy", Self.gaussian(4, 3, seed: 3))
        let error = loadingError { () throws in
            try TanhCell.load(weights: w, inputWeights: u, injection: x)
        }
        #expect(error?.description == "\(u.path): input weights U: shape (5, 2) does not fit: expected (5, p) with p = 3 columns of the injection")
        // U with the wrong number of rows is refused the same way.
        let tall = try dir.npy("Ut.npy", Self.gaussian(6, 3, seed: 4))
        let rows = loadingError { () throws in
            try TanhCell.load(weights: w, inputWeights: tall, injection: x)
        }
        #expect(rows?.description.contains("shape (6, 3) does not fit: expected (5, p)") == true)
    }

    @Test func injectionWithoutUMustHaveDColumns() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let w = try dir.npy("W.npy", Self.gaussian(5, 5, seed: 1))
        let x = try dir.npy("X.npy", Self.gaussian(4, 3, seed: 2))
        let error = loadingError { () throws in try TanhCell.load(weights: w, injection: x) }
        #expect(error?.file == x.path)
        #expect(error?.array == "injection x")
        #expect(error?.reason.hasPrefix("shape (4, 3) does not fit: expected (B, 5)") == true)
    }

    @Test(arguments: [[3], [2, 5], [5, 1]])
    func misShapedBiasIsRefused(shape: [Int]) throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let w = try dir.npy("W.npy", Self.gaussian(5, 5, seed: 1))
        let x = try dir.npy("X.npy", Self.gaussian(2, 5, seed: 2))
        let b = try dir.npy("b.npy", shape: shape, [Double](repeating: 0.1, count: shape.reduce(1, *)))
        let error = loadingError { () throws in try TanhCell.load(weights: w, bias: b, injection: x) }
        #expect(error?.file == b.path)
        #expect(error?.reason.contains("expected (5,) or (1, 5)") == true)
    }

    @Test(arguments: [[2, 3, 5], [0, 5], [], [5, 5, 1]])
    func injectionOfWrongRankOrNoSamplesIsRefused(shape: [Int]) throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let a = try dir.npy("A.npy", Self.gaussian(5, 5, seed: 1))
        let b = try dir.npy("b.npy", shape: shape, [Double](repeating: 1, count: shape.reduce(1, *)))
        let error = loadingError { () throws in try AffineMap.load(matrix: a, offsets: b) }
        #expect(error?.file == b.path)
        #expect(error?.array == "offsets b")
        #expect(error?.reason.contains("does not fit: expected (B, 5)") == true)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteValuesAreRefusedWithTheirIndex(bad: Double) throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        var w = Self.gaussian(4, 4, seed: 1)
        w[2, 1] = bad
        let wURL = try dir.npy("W.npy", w)
        let x = try dir.npy("X.npy", Self.gaussian(2, 4, seed: 2))
        let error = loadingError { () throws in try TanhCell.load(weights: wURL, injection: x) }
        #expect(error?.file == wURL.path)
        #expect(error?.reason.contains("non-finite") == true)
        #expect(error?.reason.contains("(2, 1)") == true)
        // Inputs are checked too.
        var xBad = Self.gaussian(2, 4, seed: 3)
        xBad[1, 3] = bad
        let xURL = try dir.npy("Xbad.npy", xBad)
        let goodW = try dir.npy("W2.npy", Self.gaussian(4, 4, seed: 4))
        let inputError = loadingError { () throws in try TanhCell.load(weights: goodW, injection: xURL) }
        #expect(inputError?.file == xURL.path)
        #expect(inputError?.reason.contains("(1, 3)") == true)
    }

    @Test func numPyErrorsPassThroughWithTheirFile() throws {
        let dir = try ScratchDirectory("CellLoadingTests")
        defer { dir.cleanUp() }
        let missing = dir.file("missing.npy")
        let x = try dir.npy("X.npy", Self.gaussian(2, 4, seed: 2))
        let notFound = loadingError { () throws in try TanhCell.load(weights: missing, injection: x) }
        let readerError: NumPyError?
        do { _ = try NumPyArray.read(contentsOf: missing); readerError = nil } catch { readerError = error }
        #expect(notFound?.file == missing.path)
        #expect(notFound?.reason == readerError?.reason)

        let garbage = dir.file("garbage.npy")
        try Data("not an array".utf8).write(to: garbage)
        let malformed = loadingError { () throws in try TanhCell.load(weights: garbage, injection: x) }
        #expect(malformed?.file == garbage.path)
        #expect(malformed?.description.contains("not a .npy file") == true)
    }
}
