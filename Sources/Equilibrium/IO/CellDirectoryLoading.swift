import Foundation

// Building the residual, convolutional residual and monotone cells from a set of named arrays
// (``ArrayStore``): a directory of `NAME.npy` files, an `.npz`, or a `.safetensors` file such
// as `safetensors.torch.save_file(model.state_dict(), "model.safetensors")`, optionally under a
// key prefix (`deq.f.`) that picks the cell's submodule. Names as the cells'
// ``ParametricCell/parameters``, or PyTorch's (``StateDictNames``):
//
// | cell | keys (shape) |
// |---|---|
// | ``ResidualCell`` | `W1` (h, d), `W2` (d, h), `norm1.weight`/`.bias` (h,), `norm2.*`, `norm3.*` (d,) |
// | ``ConvResidualCell`` | `conv1.weight` (h, C, 3[, 3]), `conv2.weight` (C, h, 3[, 3]), `norm1.*` (h,), `norm2.*`, `norm3.*` (C,), optionally `injection.weight` (C, C_in, 3[, 3]) and `injection.bias` (C,) |
// | ``MonotoneCell`` | `A` (d, d), `B` (d, d), `U` (d, p), `b` (d,) |
//
// Every key is required except the convolutional injection (absent, as in the tutorial's
// `ResNetLayer`: identity, x has C channels). The first array fixes the sizes (d and h from W1,
// h and C from conv1.weight, d from A); every other array is checked against them, so a missing
// key or a mis-shaped array is a ``CellLoadingError`` naming the file (and key) and the expected
// shape, e.g. `w/W2.npy: weights W₂: shape (32, 60) does not fit: expected (32, 64) = (d, h), d
// and h from W1.npy`; a missing key in a file lists the keys found. NaN and infinities are
// rejected. GroupNorm's group count is not stored in the weights (as in PyTorch's state_dict)
// and is passed in; it must divide every normalised channel count.

extension ResidualCell {
    /// The residual cell with its weights read from the directory `directory` (see the table
    /// above) and its inputs x from `injection`: a `.npy` file of shape (B, d), rows are samples
    /// (a 1-D array of length d is one sample), or B Gaussian samples.
    ///
    /// - Throws: ``CellLoadingError`` naming the file and the expected shape when a file is
    ///   missing, malformed, mis-shaped or non-finite, or when `groups` does not divide d and h.
    public static func load(directory: URL, groups: Int, injection: InjectionSource) throws -> ResidualCell {
        try load(weights: WeightsSource.directory(directory, names: parameterNames), groups: groups, injection: injection)
    }

    /// The residual cell with its weights from `weights` (see the table above; a `state_dict`
    /// MLP's `linear1.weight`, `linear2.weight` serve as W₁, W₂).
    public static func load(weights: ArrayStore, groups: Int, injection: InjectionSource) throws -> ResidualCell {
        try load(weights: WeightsSource(weights), groups: groups, injection: injection)
    }

    private static func load(weights files: WeightsSource, groups: Int, injection: InjectionSource) throws -> ResidualCell {
        let names = StateDictNames.residual
        let (w1, w1Key) = try files.read(names, "W1", "weights W₁", [("h", nil), ("d", nil)])
        let (h, d) = (w1.shape[0], w1.shape[1])
        let fromW1 = ", d and h from \(files.store.shortName(of: w1Key))"
        let (w2, _) = try files.read(names, "W2", "weights W₂", [("d", d), ("h", h)], because: fromW1)
        var norms: [GroupNorm] = []
        for (index, width, symbol) in [(1, h, "h"), (2, d, "d"), (3, d, "d")] {
            let (gamma, _) = try files.read(names, "norm\(index).weight", "norm\(index) scale γ", [(symbol, width)], because: fromW1)
            let (beta, _) = try files.read(names, "norm\(index).bias", "norm\(index) shift β", [(symbol, width)], because: fromW1)
            try files.checkGroups(groups, divide: [("h", h), ("d", d)], from: files.store.shortName(of: w1Key))
            norms.append(try GroupNorm(channels: width, groups: groups, weight: gamma.values, bias: beta.values))
        }
        let x: Matrix
        switch injection {
        case let .file(url):
            x = try ArrayFile(url, "injection x").batch(columns: .exactly(d, because: "d from \(files.store.location(of: w1Key))"))
        case let .gaussian(batchSize, scale, seed):
            x = try gaussianInputs(batchSize: batchSize, columns: d, scale: scale, seed: seed)
        }
        return try ResidualCell(weight1: Matrix(rows: h, columns: d, storage: w1.values),
                            weight2: Matrix(rows: d, columns: h, storage: w2.values),
                            norm1: norms[0], norm2: norms[1], norm3: norms[2], input: x)
    }
}

extension ConvResidualCell {
    /// The convolutional residual cell with its weights read from the directory `directory`
    /// (see the table above) and its inputs x from `injection`.
    ///
    /// - Parameters:
    ///   - rank: 1 (kernels (…, 3), states C × L) or 2 (kernels (…, 3, 3), states C × H × W).
    ///   - groups: G of the three GroupNorms; divides h and C.
    ///   - shape: the spatial shape; required for Gaussian inputs. With an injection file it may
    ///     be nil (the file's trailing axes give it) or must equal the file's.
    ///   - injection: a `.npy` file of shape (B, C_in, L) or (B, C_in, H, W), or B Gaussian samples.
    /// - Throws: ``CellLoadingError`` naming the file and the expected shape.
    public static func load(directory: URL, rank: Int, groups: Int, shape: SpatialShape?,
                            injection: InjectionSource) throws -> ConvResidualCell {
        try load(weights: WeightsSource.directory(directory, names: parameterNames), rank: rank, groups: groups,
                 shape: shape, injection: injection)
    }

    /// The convolutional residual cell with its weights from `weights`: a `state_dict` of the
    /// DEQ tutorial's `ResNetLayer` loads as it is (its names are this cell's); without
    /// `injection.weight` and `injection.bias` the injection is the identity (x̃ = x, C_in = C),
    /// as the tutorial's layer receives x already injected. Parameters as
    /// ``load(directory:rank:groups:shape:injection:)``.
    public static func load(weights: ArrayStore, rank: Int, groups: Int, shape: SpatialShape?,
                            injection: InjectionSource) throws -> ConvResidualCell {
        try load(weights: WeightsSource(weights), rank: rank, groups: groups, shape: shape, injection: injection)
    }

    private static func load(weights files: WeightsSource, rank: Int, groups: Int, shape: SpatialShape?,
                             injection: InjectionSource) throws -> ConvResidualCell {
        guard rank == 1 || rank == 2 else {
            throw UsageError("ConvResidualCell.load", "rank", got: "\(rank)", expected: "1 (C × L states) or 2 (C × H × W)")
        }
        if let shape, shape.rank != rank {
            throw UsageError("ConvResidualCell.load", "shape", got: "\(shape)", expected: "a \(rank)-D shape, as the rank")
        }
        let names = StateDictNames.convResidual
        let kernel: [(String, Int?)] = Array(repeating: ("3", 3), count: rank)
        let (w1, w1Key) = try files.read(names, "conv1.weight", "convolution conv₁", [("h", nil), ("C", nil)] + kernel)
        let (h, c) = (w1.shape[0], w1.shape[1])
        let fromConv1 = ", h and C from \(files.store.shortName(of: w1Key))"
        let (w2, _) = try files.read(names, "conv2.weight", "convolution conv₂", [("C", c), ("h", h)] + kernel, because: fromConv1)
        var affine: [(gamma: [Double], beta: [Double])] = []
        for (index, width, symbol) in [(1, h, "h"), (2, c, "C"), (3, c, "C")] {
            let (gamma, _) = try files.read(names, "norm\(index).weight", "norm\(index) scale γ", [(symbol, width)], because: fromConv1)
            let (beta, _) = try files.read(names, "norm\(index).bias", "norm\(index) shift β", [(symbol, width)], because: fromConv1)
            affine.append((gamma.values, beta.values))
        }
        try files.checkGroups(groups, divide: [("h", h), ("C", c)], from: files.store.shortName(of: w1Key))

        // The injection conv_U and b, both or neither (then the identity).
        let uKey = try files.resolve(names, "injection.weight", "input injection conv_U")
        let bKey = try files.resolve(names, "injection.bias", "input injection bias b")
        let u: NumPyArray, b: NumPyArray, injectionSource: String
        switch (uKey, bKey) {
        case (.some, .some):
            (u, injectionSource) = (try files.read(names, "injection.weight", "input injection conv_U", [("C", c), ("C_in", nil)] + kernel, because: fromConv1).array,
                                    files.store.location(of: uKey!))
            b = try files.read(names, "injection.bias", "input injection bias b", [("C", c)], because: fromConv1).array
        case (nil, nil):
            let k = rank == 1 ? 3 : 9
            var identity = [Double](repeating: 0, count: c * c * k)
            for channel in 0..<c { identity[(channel * c + channel) * k + k / 2] = 1 }
            u = NumPyArray(shape: [c, c] + Array(repeating: 3, count: rank), values: identity)
            b = NumPyArray(shape: [c], values: [Double](repeating: 0, count: c))
            injectionSource = "the identity injection (no injection.weight in \(files.store.url.lastPathComponent)), C_in = C from \(files.store.shortName(of: w1Key))"
        default:
            let (present, absent) = uKey != nil ? ("injection.weight", "injection.bias") : ("injection.bias", "injection.weight")
            throw files.missingError(names, absent, absent == "injection.bias" ? "input injection bias b" : "input injection conv_U",
                                     expected: "\(absent) with \(present), or neither (identity injection)")
        }
        let cin = u.shape[1]

        let spatial: SpatialShape
        let x: Matrix
        switch injection {
        case let .file(url):
            let file = ArrayFile(url, "injection x")
            let symbols = rank == 1 ? ["L"] : ["H", "W"]
            let axes: [(String, Int?)] = [("B", nil), ("C_in", cin)]
                + zip(symbols, shape?.extents ?? [Int](repeating: -1, count: rank)).map { ($0, $1 < 0 ? nil : $1) }
            let a = try file.checked(axes, because: ", C_in from \(injectionSource), rows are samples")
            let extents = Array(a.shape.dropFirst(2))
            spatial = rank == 1 ? .line(length: extents[0]) : .grid(height: extents[0], width: extents[1])
            x = Matrix(rows: a.shape[0], columns: cin * spatial.size, storage: a.values)
        case let .gaussian(batchSize, scale, seed):
            guard let shape else {
                throw UsageError("ConvResidualCell.load", "shape", got: "nil", expected: "the spatial shape when the inputs are Gaussian (an injection file fixes it itself)")
            }
            spatial = shape
            x = try gaussianInputs(batchSize: batchSize, columns: cin * shape.size, scale: scale, seed: seed)
        }
        let s = spatial.size
        func convolution(_ a: NumPyArray, _ inputs: Int, _ outputs: Int) throws -> Convolution {
            try Convolution(inputChannels: inputs, outputChannels: outputs, shape: spatial,
                        weight: Matrix(rows: outputs, columns: inputs * spatial.kernelCount, storage: a.values))
        }
        return try ConvResidualCell(
            convolution1: try convolution(w1, c, h), convolution2: try convolution(w2, h, c),
            norm1: try GroupNorm(channels: h, groups: groups, spatialSize: s, weight: affine[0].gamma, bias: affine[0].beta),
            norm2: try GroupNorm(channels: c, groups: groups, spatialSize: s, weight: affine[1].gamma, bias: affine[1].beta),
            norm3: try GroupNorm(channels: c, groups: groups, spatialSize: s, weight: affine[2].gamma, bias: affine[2].beta),
            injectionConvolution: try convolution(u, cin, c), injectionBias: b.values, input: x)
    }
}

extension MonotoneCell {
    /// The monotone cell with A, B, U, b read from the directory `directory` (see the table
    /// above), the monotonicity m, and its inputs x from `injection`: a `.npy` file of shape
    /// (B, p), rows are samples, or B Gaussian samples of dimension p (the columns of U).
    ///
    /// - Throws: ``CellLoadingError`` naming the file and the expected shape.
    public static func load(directory: URL, monotonicity: Double, injection: InjectionSource) throws -> MonotoneCell {
        try load(weights: WeightsSource.directory(directory, names: parameterNames), monotonicity: monotonicity, injection: injection)
    }

    /// The monotone cell with its weights from `weights`: a `state_dict` of monotone_op_net's
    /// `MONSingleFc` (`A.weight`, `B.weight`, `U.weight`, `U.bias`) loads as it is.
    public static func load(weights: ArrayStore, monotonicity: Double, injection: InjectionSource) throws -> MonotoneCell {
        try load(weights: WeightsSource(weights), monotonicity: monotonicity, injection: injection)
    }

    private static func load(weights files: WeightsSource, monotonicity: Double, injection: InjectionSource) throws -> MonotoneCell {
        try Check.inRange(monotonicity, "MonotoneCell.load", "monotonicity", "m in I − W ⪰ m I", above: 0, openBelow: true)
        let names = StateDictNames.monotone
        let (a, aKey) = try files.read(names, "A", "matrix A", [("d", nil), ("d", nil)])
        let d = a.shape[0]
        let fromA = ", d from \(files.store.shortName(of: aKey))"
        let (b, _) = try files.read(names, "B", "matrix B", [("d", d), ("d", d)], because: fromA)
        let (u, uKey) = try files.read(names, "U", "input weights U", [("d", d), ("p", nil)], because: fromA)
        let p = u.shape[1]
        let (bias, _) = try files.read(names, "b", "bias b", [("d", d)], because: fromA)
        let x: Matrix
        switch injection {
        case let .file(url):
            x = try ArrayFile(url, "injection x").batch(columns: .exactly(p, because: "p, the columns of \(files.store.location(of: uKey))"))
        case let .gaussian(batchSize, scale, seed):
            x = try gaussianInputs(batchSize: batchSize, columns: p, scale: scale, seed: seed)
        }
        return try MonotoneCell(a: Matrix(rows: d, columns: d, storage: a.values), b: Matrix(rows: d, columns: d, storage: b.values),
                            inputWeight: Matrix(rows: d, columns: p, storage: u.values), bias: bias.values,
                            monotonicity: monotonicity, input: x)
    }
}

// MARK: - The weights and their arrays

private func gaussianInputs(batchSize: Int, columns: Int, scale: Double, seed: UInt64) throws(UsageError) -> Matrix {
    try InjectionSource.gaussian(batchSize: batchSize, scale: scale, seed: seed).validate()
    var generator = SplitMix64(seed: seed)
    return Matrix.gaussian(rows: batchSize, columns: columns, scale: scale, using: &generator)
}

/// The weights of one cell in an ``ArrayStore``, read by parameter with the checks every
/// loader shares.
struct WeightsSource {
    let store: ArrayStore

    init(_ store: ArrayStore) {
        self.store = store
    }

    var isDirectory: Bool { store.format == .npyDirectory }

    /// A directory of `name.npy` files, which must exist.
    static func directory(_ url: URL, names: [String]) throws(CellLoadingError) -> WeightsSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CellLoadingError(file: url.path, array: "weights directory",
                                   reason: "no such directory; expected a directory holding \(names.map { "\($0).npy" }.joined(separator: ", "))")
        }
        do {
            return WeightsSource(try ArrayStore(contentsOf: url))
        } catch {
            throw CellLoadingError(error, array: "weights directory")
        }
    }

    /// The key present for `parameter` (its own name or a PyTorch alias), nil when none is.
    /// Two present keys for one parameter are an error.
    func resolve(_ table: [(parameter: String, keys: [String])], _ parameter: String, _ array: String) throws(CellLoadingError) -> String? {
        let present = StateDictNames.keys(parameter, in: table).filter(store.contains)
        guard present.count <= 1 else {
            throw CellLoadingError(file: store.url.path, array: array,
                                   reason: "both \(present.map { "'\(store.fullKey($0))'" }.joined(separator: " and ")) are present; expected one key for this parameter")
        }
        return present.first
    }

    /// The error for a missing parameter: the same text as before for a directory, the keys
    /// found for a file.
    func missingError(_ table: [(parameter: String, keys: [String])], _ parameter: String, _ array: String,
                      expected: String) -> CellLoadingError {
        let keys = StateDictNames.keys(parameter, in: table)
        if isDirectory {
            return CellLoadingError(file: store.location(of: keys[0]), array: array, reason: "no such file; expected \(expected)")
        }
        let tried = keys.count == 1 ? "" : " (tried \(keys.map { "'\(store.fullKey($0))'" }.joined(separator: ", ")))"
        return CellLoadingError(store.missing(keys[0], expected: expected + tried), array: array)
    }

    /// The array of `parameter`, checked to exist and to have the expected shape (axes with a
    /// nil size may take any extent ≥ 1; axes sharing a symbol must agree), and its key.
    func read(_ table: [(parameter: String, keys: [String])], _ parameter: String, _ array: String,
              _ axes: [(String, Int?)], because reason: String = "") throws(CellLoadingError) -> (array: NumPyArray, key: String) {
        guard let key = try resolve(table, parameter, array) else {
            throw missingError(table, parameter, array,
                               expected: isDirectory ? "a .npy array of shape \(expectedShape(axes))\(reason)" : "an array of shape \(expectedShape(axes))\(reason)")
        }
        return (try ArrayFile(store, key: key, array).checked(axes, because: reason), key)
    }

    /// `groups`, checked to divide every channel count.
    func checkGroups(_ groups: Int, divide counts: [(String, Int)], from source: String) throws(CellLoadingError) {
        for (symbol, count) in counts where groups < 1 || count % groups != 0 {
            throw CellLoadingError(file: store.url.path, array: "GroupNorm groups",
                                   reason: "\(groups) groups do not divide \(symbol) = \(count) channels of \(source); expected a divisor of \(counts.map { "\($0.0) = \($0.1)" }.joined(separator: " and "))")
        }
    }
}

/// `(64, 32) = (h, d)` when every size is known, else the symbols with the known sizes, `(h, d)`.
private func expectedShape(_ axes: [(String, Int?)]) -> String {
    let symbols = axes.map(\.0)
    let known = axes.compactMap(\.1)
    if known.count == axes.count {
        let numbers = shapeText(known)
        let named = axes.count == 1 ? "(\(symbols[0]),)" : "(" + symbols.joined(separator: ", ") + ")"
        return numbers == named ? numbers : "\(numbers) = \(named)"
    }
    let mixed = axes.map { $0.1.map(String.init) ?? $0.0 }
    return (axes.count == 1 ? "(\(mixed[0]),)" : "(" + mixed.joined(separator: ", ") + ")") + " with every size ≥ 1"
}

extension ArrayFile {
    /// The array, checked to have the expected axes and finite values.
    func checked(_ axes: [(String, Int?)], because reason: String) throws(CellLoadingError) -> NumPyArray {
        let a = try read()
        var fits = a.shape.count == axes.count
        if fits {
            var seen: [String: Int] = [:]
            for ((symbol, size), extent) in zip(axes, a.shape) {
                if let size, extent != size { fits = false }
                if extent < 1 { fits = false }
                if let earlier = seen[symbol], earlier != extent { fits = false }
                seen[symbol] = extent
            }
        }
        guard fits else {
            throw error("shape \(shapeText(a.shape)) does not fit: expected \(expectedShape(axes))\(reason)")
        }
        try checkFinite(a.values, shape: a.shape)
        return a
    }
}
