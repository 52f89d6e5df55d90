import Foundation

// Building cells from NumPy `.npy` files: the weights of a ``TanhCell`` or an ``AffineMap``
// and the batch of inputs they are bound to. Wherever one array is read (the inputs, a start,
// an upstream gradient), the path may also be an `.npz` or `.safetensors` file holding one
// array, or `FILE.npz:KEY` / `FILE.safetensors:KEY` (``ArrayStore/singleArray(at:)``).
//
// Conventions (those of ``Matrix`` and NumPy's C order):
// - matrices are 2-D arrays, W and A of shape (d, d), U of shape (d, p);
// - batches have one sample per row, shape (B, p); a 1-D array of length p is one sample;
// - a bias b has shape (d,) or (1, d).
//
// Every shape and every value is checked before a cell is built, so no precondition of the
// cell initialisers can be reached from a file: a file that does not fit throws a
// ``CellLoadingError`` naming the file, the array, the shape found and the shape expected.
// NaN and infinities are rejected (docs/MATH.md §2: a NaN is never silently propagated).

/// A file that cannot become part of a cell: unreadable, malformed, mis-shaped or holding
/// a non-finite value, or a key missing from a weights file.
///
/// The message names the file (and the key, in an `.npz` or `.safetensors` file), the array it
/// should hold and what was expected, e.g.
/// `U.npy: input weights U: shape (64, 30) does not fit: expected (64, p) with p = 32 columns of the injection`
/// or `model.safetensors[deq.f.conv2.weight]: convolution conv₂: shape (48, 60, 3, 3) does not fit: …`.
/// Errors of the readers (``NumPyError``, ``ArrayFileError``) are passed through with their
/// file name and reason, prefixed by the array.
public struct CellLoadingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path of the file (the archive, for a key in an `.npz` or `.safetensors` file).
    public var file: String
    /// The key within the file, with its prefix; nil for a `.npy` file.
    public var key: String?
    /// The array the file should hold, e.g. "weight matrix W".
    public var array: String
    /// What was wrong and what was expected.
    public var reason: String

    public init(file: String, key: String? = nil, array: String, reason: String) {
        self.file = file
        self.key = key
        self.array = array
        self.reason = reason
    }

    /// The reader's error, as the loading error of `array`.
    public init(_ error: ArrayFileError, array: String) {
        self.init(file: error.file, key: error.key, array: array, reason: error.reason)
    }

    public var description: String {
        "\(file)\(key.map { "[\($0)]" } ?? ""): \(array): \(reason)"
    }
}

/// Where the inputs of a loaded cell come from.
public enum InjectionSource: Sendable, Equatable {
    /// A `.npy` file whose rows are samples, shape (B, p), or a single sample of shape (p,);
    /// or one array of an `.npz` or `.safetensors` file (``ArrayStore/singleArray(at:)``).
    case file(URL)
    /// B samples x ~ N(0, scale² I) drawn from a SplitMix64 stream seeded by `seed`, with p
    /// columns as the cell requires (p = d when U is absent). For `.npy` weights without data.
    case gaussian(batchSize: Int, scale: Double, seed: UInt64)
}

extension InjectionSource {
    /// Throws when a Gaussian source has no samples or an invalid scale.
    public func validate() throws(UsageError) {
        guard case let .gaussian(batchSize, scale, _) = self else { return }
        try Check.atLeast(batchSize, 1, "InjectionSource.gaussian", "batchSize", "B, the samples drawn")
        try Check.inRange(scale, "InjectionSource.gaussian", "scale", "the inputs' standard deviation", above: 0)
    }
}

extension TanhCell {
    /// The tanh cell f(z, x) = tanh(W z + U x + b) with W, U, b and the inputs x read from
    /// `.npy` files.
    ///
    /// - Parameters:
    ///   - weights: W, shape (d, d).
    ///   - inputWeights: U, shape (d, p); without it U = I and p = d.
    ///   - bias: b, shape (d,) or (1, d); without it b = 0.
    ///   - injection: the inputs x, rows are samples, shape (B, p); a 1-D array of length p is
    ///     one sample.
    /// - Throws: ``CellLoadingError`` when a file is missing or malformed, an array does not
    ///   have the shape the others imply, or holds NaN or infinity.
    public static func load(weights: URL, inputWeights: URL? = nil, bias: URL? = nil,
                            injection: URL) throws -> TanhCell {
        try load(weights: weights, inputWeights: inputWeights, bias: bias, injection: .file(injection))
    }

    /// The tanh cell with W, U, b read from `.npy` files and the inputs from `injection`, which
    /// may be drawn at random (see ``InjectionSource``).
    public static func load(weights: URL, inputWeights: URL? = nil, bias: URL? = nil,
                            injection: InjectionSource) throws -> TanhCell {
        try load(w: ArrayFile(weights, "weight matrix W"), u: inputWeights.map { ArrayFile($0, "input weights U") },
                 b: bias.map { ArrayFile($0, "bias b") }, injection: injection)
    }

    /// The tanh cell with W, and U and b when present, read from `weights` under the keys of
    /// ``StateDictNames/tanh`` (`W` or `linear.weight`; `U` or `injection.weight`; `b` or
    /// `injection.bias`), and the inputs from `injection`.
    ///
    /// - Throws: ``CellLoadingError`` as the `.npy` form; a missing W lists the keys found.
    public static func load(weights: ArrayStore, injection: InjectionSource) throws -> TanhCell {
        let source = WeightsSource(weights), names = StateDictNames.tanh
        guard let wKey = try source.resolve(names, "W", "weight matrix W") else {
            throw source.missingError(names, "W", "weight matrix W", expected: "a (d, d) array")
        }
        let uKey = try source.resolve(names, "U", "input weights U")
        let bKey = try source.resolve(names, "b", "bias b")
        return try load(w: ArrayFile(weights, key: wKey, "weight matrix W"),
                        u: uKey.map { ArrayFile(weights, key: $0, "input weights U") },
                        b: bKey.map { ArrayFile(weights, key: $0, "bias b") }, injection: injection)
    }

    private static func load(w wFile: ArrayFile, u uFile: ArrayFile?, b bFile: ArrayFile?,
                             injection: InjectionSource) throws -> TanhCell {
        let w = try wFile.squareMatrix()
        let d = w.rows
        let x: Matrix, u: Matrix?
        switch injection {
        case let .file(url):
            // The inputs come before U: U's column count is checked against theirs.
            let requirement: BatchColumns = uFile == nil
                ? .exactly(d, because: "d from W, since no input weights U are given (U = I)")
                : .any
            x = try ArrayFile(url, "injection x").batch(columns: requirement)
            u = try uFile.map { file throws(CellLoadingError) in try file.matrix(rows: d, columnsOf: x.columns) }
        case let .gaussian(batchSize, scale, seed):
            try injection.validate()
            // p = d without U, else the columns of U.
            u = try uFile.map { file throws(CellLoadingError) in try file.matrix(rows: d, columnsOf: nil) }
            var generator = SplitMix64(seed: seed)
            x = Matrix.gaussian(rows: batchSize, columns: u?.columns ?? d, scale: scale, using: &generator)
        }
        let b = try bFile.map { file throws(CellLoadingError) in try file.vector(length: d) }
        return try TanhCell(weight: w, inputWeight: u, bias: b, input: x)
    }
}

extension AffineMap {
    /// The affine map f(z) = A z + bᵢ with A and the offsets read from `.npy` files.
    ///
    /// - Parameters:
    ///   - matrix: A, shape (d, d).
    ///   - offsets: the bᵢ, rows are samples, shape (B, d); a 1-D array of length d is one sample.
    /// - Throws: ``CellLoadingError`` as ``TanhCell/load(weights:inputWeights:bias:injection:)-(_,_,_,URL)``.
    public static func load(matrix: URL, offsets: URL) throws -> AffineMap {
        try load(matrix: matrix, offsets: .file(offsets))
    }

    /// The affine map with A read from a `.npy` file and the offsets from `offsets`, which may
    /// be drawn at random (see ``InjectionSource``; p = d).
    public static func load(matrix: URL, offsets: InjectionSource) throws -> AffineMap {
        try load(a: ArrayFile(matrix, "matrix A"), offsets: offsets)
    }

    /// The affine map with A read from `weights` (key `A`) and the offsets from `offsets`.
    public static func load(weights: ArrayStore, offsets: InjectionSource) throws -> AffineMap {
        guard weights.contains("A") else {
            throw CellLoadingError(weights.missing("A", expected: "a (d, d) array"), array: "matrix A")
        }
        return try load(a: ArrayFile(weights, key: "A", "matrix A"), offsets: offsets)
    }

    private static func load(a aFile: ArrayFile, offsets: InjectionSource) throws -> AffineMap {
        let a = try aFile.squareMatrix()
        let d = a.rows
        let b: Matrix
        switch offsets {
        case let .file(url):
            b = try ArrayFile(url, "offsets b").batch(columns: .exactly(d, because: "d from A"))
        case let .gaussian(batchSize, scale, seed):
            try offsets.validate()
            var generator = SplitMix64(seed: seed)
            b = Matrix.gaussian(rows: batchSize, columns: d, scale: scale, using: &generator)
        }
        return try AffineMap(matrix: a, offsets: b)
    }
}

extension Initialization {
    /// An explicit initial batch z₀ read from a `.npy` file of shape (B, d), rows are samples
    /// (a 1-D array of length d when B = 1), e.g. the solution an earlier solve saved.
    ///
    /// - Throws: ``CellLoadingError`` when the file is missing or malformed, its shape is not
    ///   (B, d), or it holds NaN or infinity.
    public static func load(contentsOf url: URL, batchSize: Int, dimension: Int) throws(CellLoadingError) -> Initialization {
        let file = ArrayFile(url, "initial batch z₀")
        let z = try file.batch(columns: .exactly(dimension, because: "d, the dimension of the cell"))
        guard z.rows == batchSize else {
            throw file.error("shape \(shapeText(z)) does not fit: expected (\(batchSize), \(dimension)) with \(batchSize) = B samples of the cell (rows are samples)")
        }
        return .explicit(z)
    }
}

extension Matrix {
    /// A batch of shape (B, d) read from a `.npy` file, rows are samples (a 1-D array of length
    /// d when B = 1), checked like the initial batch; `array` names its meaning in errors (e.g.
    /// "upstream gradient ∂L/∂z*").
    ///
    /// - Throws: ``CellLoadingError`` when the file is missing or malformed, its shape is not
    ///   (B, d), or it holds NaN or infinity.
    public static func loadBatch(contentsOf url: URL, batchSize: Int, dimension: Int,
                                 array: String) throws(CellLoadingError) -> Matrix {
        let file = ArrayFile(url, array)
        let z = try file.batch(columns: .exactly(dimension, because: "d, the dimension of the cell"))
        guard z.rows == batchSize else {
            throw file.error("shape \(shapeText(z)) does not fit: expected (\(batchSize), \(dimension)) with \(batchSize) = B samples of the cell (rows are samples)")
        }
        return z
    }
}

// MARK: - Reading and checking one array

/// The shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
func shapeText(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

private func shapeText(_ m: Matrix) -> String { shapeText([m.rows, m.columns]) }

/// The columns a batch file must have.
enum BatchColumns {
    case any
    case exactly(Int, because: String)
}

/// One array and its meaning, with the checks shared by every loader: a `.npy` file, one
/// array of an `.npz` or `.safetensors` file (``ArrayStore/singleArray(at:)``), or a key of an
/// ``ArrayStore``.
struct ArrayFile {
    let url: URL
    let array: String
    /// The key when the array is one of a store's.
    private let store: ArrayStore?
    private let storeKey: String?
    /// The key in the file, once known (for messages).
    private var key: String?
    private var file: String

    init(_ url: URL, _ array: String) {
        self.url = url
        self.array = array
        store = nil
        storeKey = nil
        let (file, key) = ArrayStore.splitKey(url)
        self.file = file.path
        self.key = key
    }

    /// The array `key` of `store` (without the store's prefix).
    init(_ store: ArrayStore, key: String, _ array: String) {
        url = store.url
        self.array = array
        self.store = store
        storeKey = key
        if store.format == .npyDirectory || store.format == .npy {
            file = store.location(of: key)
            self.key = nil
        } else {
            file = store.url.path
            self.key = store.fullKey(key)
        }
    }

    func error(_ reason: String) -> CellLoadingError {
        CellLoadingError(file: file, key: key, array: array, reason: reason)
    }

    /// The array, with a reader error passed through under this file's name.
    func read() throws(CellLoadingError) -> NumPyArray {
        do {
            if let store, let storeKey { return try store.array(storeKey) }
            return try ArrayStore.singleArray(at: url).array
        } catch {
            throw CellLoadingError(error, array: array)
        }
    }

    /// Rejects NaN and ±∞, naming the first offending element by its index.
    func checkFinite(_ values: [Double], shape: [Int]) throws(CellLoadingError) {
        guard let k = values.firstIndex(where: { !$0.isFinite }) else { return }
        var index: [Int] = []
        var rest = k
        for extent in shape.reversed() {
            index.append(rest % extent)
            rest /= extent
        }
        let position = "(" + index.reversed().map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        throw error("holds the non-finite value \(values[k]) at index \(position); expected finite numbers")
    }

    /// A (d, d) matrix with d ≥ 1.
    func squareMatrix() throws(CellLoadingError) -> Matrix {
        let a = try read()
        guard a.shape.count == 2, a.shape[0] == a.shape[1], a.shape[0] >= 1 else {
            throw error("shape \(shapeText(a.shape)) does not fit: expected (d, d), a square matrix with d ≥ 1")
        }
        try checkFinite(a.values, shape: a.shape)
        return Matrix(rows: a.shape[0], columns: a.shape[1], storage: a.values)
    }

    /// A (rows, p) matrix, p ≥ 1, with p = `columnsOf` when given (the columns of the injection).
    func matrix(rows: Int, columnsOf p: Int?) throws(CellLoadingError) -> Matrix {
        let a = try read()
        let fits = a.shape.count == 2 && a.shape[0] == rows && a.shape[1] >= 1 && (p.map { a.shape[1] == $0 } ?? true)
        guard fits else {
            let expected = p.map { "(\(rows), p) with p = \($0) columns of the injection" }
                ?? "(\(rows), p) with \(rows) = d from W and p ≥ 1"
            throw error("shape \(shapeText(a.shape)) does not fit: expected \(expected)")
        }
        try checkFinite(a.values, shape: a.shape)
        return Matrix(rows: a.shape[0], columns: a.shape[1], storage: a.values)
    }

    /// A vector of shape (n,) or (1, n).
    func vector(length n: Int) throws(CellLoadingError) -> [Double] {
        let a = try read()
        guard a.shape == [n] || a.shape == [1, n] else {
            throw error("shape \(shapeText(a.shape)) does not fit: expected (\(n),) or (1, \(n)) with \(n) = d from W")
        }
        try checkFinite(a.values, shape: a.shape)
        return a.values
    }

    /// A batch with one sample per row, shape (B, p) with B ≥ 1 and p ≥ 1, or (p,) for one sample.
    func batch(columns requirement: BatchColumns) throws(CellLoadingError) -> Matrix {
        let a = try read()
        let rows: Int, columns: Int
        switch a.shape.count {
        case 1: (rows, columns) = (1, a.shape[0])
        case 2: (rows, columns) = (a.shape[0], a.shape[1])
        default: (rows, columns) = (0, 0)
        }
        let fits: Bool
        let expected: String
        switch requirement {
        case .any:
            fits = rows >= 1 && columns >= 1
            expected = "(B, p) with rows as samples, B ≥ 1 and p ≥ 1, or (p,) for one sample"
        case let .exactly(p, reason):
            fits = rows >= 1 && columns == p
            expected = "(B, \(p)) with rows as samples and \(p) = \(reason), or (\(p),) for one sample"
        }
        guard fits else {
            throw error("shape \(shapeText(a.shape)) does not fit: expected \(expected)")
        }
        try checkFinite(a.values, shape: a.shape)
        return Matrix(rows: rows, columns: columns, storage: a.values)
    }
}
