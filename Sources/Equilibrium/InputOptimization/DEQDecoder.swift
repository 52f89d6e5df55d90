import Foundation

/// A deep-equilibrium decoder from a latent code x ∈ ℝᵖ to an output ŷ ∈ ℝ^q (docs/MATH.md §6):
///
///     z*(x) = tanh(W z* + U x + b)       (the ``TanhCell`` with input weights U, d × p)
///     ŷ(x)  = V z*(x) + c                (a linear readout, V q × d)
///
/// With ‖W‖₂ < 1 the cell is a contraction in z (tanh is 1-Lipschitz), so z*(x) exists, is
/// unique and every solver of the library finds it; ``DEQDecoder/train(images:options:)`` keeps
/// ‖W‖₂ at most its cap for that reason. Decoding a batch of codes is one forward solve on the
/// bound cell plus one GEMM (O(B q d)). The parameters are stored as named arrays
/// "W", "U", "b", "V", "c" (``parameters``; ``write(to:codes:)`` puts them, with the training
/// codes, in any ``ArrayStore`` format).
///
/// Reference: S. Gurumurthy, S. Bai, Z. Manchester, J. Z. Kolter, "Joint inference and input
/// optimization in equilibrium networks", NeurIPS 2021, §5 (a DEQ decoder optimised over
/// latent codes).
public struct DEQDecoder: Sendable, Equatable {
    /// W, d × d.
    public var weight: Matrix
    /// U, d × p.
    public var inputWeight: Matrix
    /// b, d.
    public var bias: [Double]
    /// V, q × d.
    public var readout: Matrix
    /// c, q.
    public var readoutBias: [Double]

    /// d, p, q.
    public var dimension: Int { weight.rows }
    public var codeDimension: Int { inputWeight.columns }
    public var outputDimension: Int { readout.rows }

    /// - Throws: ``UsageError`` when W is not d × d, U not d × p, b not d long, V not q × d, c
    ///   not q long (d, p, q ≥ 1), or any value is not finite.
    public init(weight: Matrix, inputWeight: Matrix, bias: [Double], readout: Matrix, readoutBias: [Double]) throws(UsageError) {
        let owner = "DEQDecoder", d = weight.rows
        guard weight.isSquare, d >= 1 else {
            throw UsageError(owner, "W", got: "\(weight.rows) × \(weight.columns)", expected: "a square d × d matrix, d ≥ 1")
        }
        guard inputWeight.rows == d, inputWeight.columns >= 1 else {
            throw UsageError(owner, "U", got: "\(inputWeight.rows) × \(inputWeight.columns)", expected: "\(d) × p, p ≥ 1")
        }
        guard bias.count == d else { throw UsageError(owner, "b", got: "\(bias.count) entries", expected: "d = \(d) entries") }
        guard readout.columns == d, readout.rows >= 1 else {
            throw UsageError(owner, "V", got: "\(readout.rows) × \(readout.columns)", expected: "q × \(d), q ≥ 1")
        }
        guard readoutBias.count == readout.rows else {
            throw UsageError(owner, "c", got: "\(readoutBias.count) entries", expected: "q = \(readout.rows) entries")
        }
        for (values, name) in [(weight.storage, "W"), (inputWeight.storage, "U"), (bias, "b"), (readout.storage, "V"), (readoutBias, "c")] {
            try Check.finite(values, owner, name)
        }
        self.weight = weight
        self.inputWeight = inputWeight
        self.bias = bias
        self.readout = readout
        self.readoutBias = readoutBias
    }

    /// A random decoder: W Gaussian rescaled to ‖W‖₂ = `spectralNorm` exactly, U and V with
    /// N(0, 1/fan-in) entries, b = 0, c = `outputMean` (the data's mean output, so that the
    /// untrained decoder predicts the mean), all from one SplitMix64 stream seeded by `seed`.
    /// - Throws: ``UsageError`` when an extent is below 1, the norm is not in (0, 1), or the
    ///   mean is not q long.
    public static func random(dimension d: Int, codeDimension p: Int, outputMean: [Double], spectralNorm: Double,
                              seed: UInt64) throws(UsageError) -> DEQDecoder {
        let owner = "DEQDecoder.random"
        try Check.atLeast(d, 1, owner, "dimension", "d, the state width")
        try Check.atLeast(p, 1, owner, "codeDimension", "p, the code width")
        try Check.atLeast(outputMean.count, 1, owner, "outputMean", "q, the output width")
        try Check.inRange(spectralNorm, owner, "spectralNorm", "‖W‖₂ of a contraction", above: 0, openBelow: true, below: 1, openAbove: true)
        var generator = SplitMix64(seed: seed)
        let w: Matrix
        do { w = try RandomMatrix.withSpectralNorm(spectralNorm, dimension: d, symmetric: false, using: &generator) } catch {
            throw UsageError(owner, "W", got: "a random draw whose SVD failed (\(error))", expected: "another seed")
        }
        let u = Matrix.gaussian(rows: d, columns: p, scale: 1 / Double(p).squareRoot(), using: &generator)
        let v = Matrix.gaussian(rows: outputMean.count, columns: d, scale: 1 / Double(d).squareRoot(), using: &generator)
        return try DEQDecoder(weight: w, inputWeight: u, bias: Array(repeating: 0, count: d), readout: v, readoutBias: outputMean)
    }

    /// The cell f(z, x) = tanh(W z + U x + b) bound to the codes x (B × p).
    public func cell(codes x: Matrix) throws(UsageError) -> TanhCell {
        try TanhCell(weight: weight, inputWeight: inputWeight, bias: bias, input: x)
    }

    /// ŷ = V z + c for every row of the states z (B × d), B × q.
    public func output(states z: Matrix) throws(UsageError) -> Matrix {
        try Check.shape(z, (z.rows, dimension), "DEQDecoder", "states z", "d = \(dimension) per row")
        var y = Matrix(rows: z.rows, columns: outputDimension)
        BLAS.gemm(z, readout, into: &y, transB: .transpose)
        for i in 0..<y.rows { for j in 0..<outputDimension { y.storage[i * outputDimension + j] += readoutBias[j] } }
        return y
    }

    /// The decoded outputs ŷ(x) (B × q) of the codes x, and the forward solve of z*(x).
    public func decode(codes x: Matrix, solver: any FixedPointSolver = AndersonAcceleration(),
                       criteria: StoppingCriteria = StoppingCriteria()) throws(UsageError) -> (outputs: Matrix, forward: SolveResult) {
        let cell = try cell(codes: x)
        let forward = try solver.solve(cell, from: Matrix(rows: x.rows, columns: dimension), criteria: criteria)
        return (try output(states: forward.solution), forward)
    }

    /// "W" (d × d), "U" (d × p), "b" (d), "V" (q × d), "c" (q), in this order.
    public var parameters: [NamedArray] {
        [NamedArray(name: "W", shape: [dimension, dimension], values: weight.storage),
         NamedArray(name: "U", shape: [dimension, codeDimension], values: inputWeight.storage),
         NamedArray(name: "b", shape: [dimension], values: bias),
         NamedArray(name: "V", shape: [outputDimension, dimension], values: readout.storage),
         NamedArray(name: "c", shape: [outputDimension], values: readoutBias)]
    }

    /// The decoder of these named arrays (any order; other names are ignored).
    /// - Throws: ``UsageError`` when one of W, U, b, V, c is missing, has the wrong rank or
    ///   does not fit the others.
    public init(parameters: [NamedArray]) throws(UsageError) {
        func named(_ name: String, rank: Int) throws(UsageError) -> NamedArray {
            guard let a = parameters.first(where: { $0.name == name }) else {
                throw UsageError("DEQDecoder", name, got: "no array named \(name) among \(parameters.map(\.name))", expected: "arrays W, U, b, V, c")
            }
            guard a.shape.count == rank else {
                throw UsageError("DEQDecoder", name, got: "shape \(a.shape)", expected: "\(rank) dimension\(rank == 1 ? "" : "s")")
            }
            return a
        }
        let w = try named("W", rank: 2), u = try named("U", rank: 2), v = try named("V", rank: 2)
        try self.init(weight: Matrix(rows: w.shape[0], columns: w.shape[1], values: w.values),
                      inputWeight: Matrix(rows: u.shape[0], columns: u.shape[1], values: u.values),
                      bias: try named("b", rank: 1).values,
                      readout: Matrix(rows: v.shape[0], columns: v.shape[1], values: v.values),
                      readoutBias: try named("c", rank: 1).values)
    }

    /// Writes the parameters and, when given, the training codes (array "codes", N × p) to `url`
    /// in the format its extension names (``ArrayStore/write(_:to:as:compression:)``).
    public func write(to url: URL, codes: Matrix? = nil) throws(ArrayFileError) {
        var arrays = parameters
        if let codes { arrays.append(NamedArray(name: "codes", shape: [codes.rows, codes.columns], values: codes.storage)) }
        try ArrayStore.write(arrays, to: url)
    }

    /// The decoder stored at `url` by ``write(to:codes:)``, with its codes when stored.
    /// - Throws: ``ArrayFileError`` for an unreadable file or a missing array, ``UsageError`` for
    ///   arrays that do not form a decoder.
    public static func read(from url: URL) throws -> (decoder: DEQDecoder, codes: Matrix?) {
        let store = try ArrayStore(contentsOf: url)
        var arrays = [NamedArray]()
        for name in ["W", "U", "b", "V", "c"] {
            guard store.contains(name) else { throw store.missing(name, expected: "a DEQ decoder's arrays W, U, b, V, c") }
            let a = try store.array(name)
            arrays.append(try NamedArray(name, shape: a.shape, values: a.values))
        }
        let decoder = try DEQDecoder(parameters: arrays)
        var codes: Matrix?
        if store.contains("codes") {
            let a = try store.array("codes")
            guard a.shape.count == 2, a.shape[1] == decoder.codeDimension else {
                throw ArrayFileError(file: url.path, key: "codes", reason: "shape \(a.shape); expected N × \(decoder.codeDimension)")
            }
            codes = try Matrix(rows: a.shape[0], columns: a.shape[1], values: a.values)
        }
        return (decoder, codes)
    }
}
