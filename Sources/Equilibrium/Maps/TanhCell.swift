import Foundation

/// The tanh equilibrium cell f(z, x) = tanh(W z + U x + b), bound to a batch of inputs.
///
/// Its Jacobian with respect to z is J = diag(1 − f²) W, so the local contraction factor at the
/// fixed point is ρ(J), which can be far below ‖W‖₂ when tanh saturates. A
/// symmetric W with a small injection makes J ≈ W: the hard problems of the benchmarks.
///
/// The injection c = U x + b is computed once when the cell is bound to its inputs (one GEMM),
/// so an evaluation is one GEMM of the compacted batch with Wᵀ, an add and a tanh:
/// O(n d²) for n active samples.
public struct TanhCell: FixedPointMap, Sendable {
    /// W, d × d.
    public let weight: Matrix
    /// U, d × p; `nil` means U = I (the input is injected as it is, p = d).
    public let inputWeight: Matrix?
    /// b, length d; `nil` means b = 0.
    public let bias: [Double]?
    /// The inputs x, B × p, one sample per row.
    public let input: Matrix
    /// c = x Uᵀ + b, B × d, one sample per row.
    public let injection: Matrix
    /// W where BLAS reads it fastest (``StreamedMatrix``), shared by the cell's bindings.
    package let streamedWeight: StreamedMatrix

    public var dimension: Int { weight.rows }
    public var batchSize: Int { input.rows }

    /// - Throws: ``UsageError`` when W is not square (d ≥ 1), U is not d × p, b has not d
    ///   entries, x is not B × p (B ≥ 1; p = d without U), or any of them holds a non-finite value.
    public init(weight: Matrix, inputWeight: Matrix? = nil, bias: [Double]? = nil, input: Matrix) throws(UsageError) {
        try self.init(weight: weight, inputWeight: inputWeight, bias: bias, input: input, streamedWeight: nil)
    }

    /// The checked initialiser; `streamedWeight` is W's copy when a binding already holds one.
    private init(weight: Matrix, inputWeight: Matrix?, bias: [Double]?, input: Matrix,
                 streamedWeight: StreamedMatrix?) throws(UsageError) {
        let owner = "TanhCell"
        let d = weight.rows
        guard weight.isSquare, d >= 1 else {
            throw UsageError(owner, "W", got: "\(weight.rows) × \(weight.columns)", expected: "a square d × d matrix, d ≥ 1")
        }
        try Check.finite(weight.storage, owner, "W")
        if let u = inputWeight {
            guard u.rows == d, u.columns >= 1 else {
                throw UsageError(owner, "U", got: "\(u.rows) × \(u.columns)", expected: "\(d) × p (d rows, as W), p ≥ 1")
            }
            try Check.finite(u.storage, owner, "U")
            try Check.inputs(input, columns: u.columns, owner, "p, the columns of U")
        } else {
            try Check.inputs(input, columns: d, owner, "d = \(d), since no U is given")
        }
        if let b = bias {
            guard b.count == d else { throw UsageError(owner, "b", got: "\(b.count) entries", expected: "d = \(d) entries") }
            try Check.finite(b, owner, "b")
        }
        self.weight = weight
        self.streamedWeight = streamedWeight ?? StreamedMatrix(weight)
        self.inputWeight = inputWeight
        self.bias = bias
        self.input = input
        var c: Matrix
        if let u = inputWeight {
            c = Matrix(rows: input.rows, columns: d)
            BLAS.gemm(input, u, into: &c, transB: .transpose)
        } else {
            c = input
        }
        if let b = bias {
            for i in 0..<c.rows { for j in 0..<d { c[i, j] += b[j] } }
        }
        self.injection = c
    }

    /// The same cell bound to other inputs.
    public func binding(input newInput: Matrix) throws(UsageError) -> TanhCell {
        try TanhCell(weight: weight, inputWeight: inputWeight, bias: bias, input: newInput, streamedWeight: streamedWeight)
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        let n = samples.count, d = dimension
        // fz = z Wᵀ, i.e. row r of fz is W zᵣ.
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: z, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: fz, ldc: d)
        injection.storage.withUnsafeBufferPointer { c in
            // The tanh pass on the BLAS threads too (``RowParallelism``); rows are independent.
            RowParallelism.forEachRowRange(rows: n, columns: d) { rows in
                for r in rows {
                    let out = fz + r * d
                    let inj = c.baseAddress! + samples[r] * d
                    for j in 0..<d { out[j] = tanh(out[j] + inj[j]) }
                }
            }
        }
    }
}

extension TanhCell {
    /// Options of the synthetic tanh cell generator.
    public struct Configuration: Sendable, Equatable {
        /// d.
        public var dimension: Int
        /// B, the number of input samples.
        public var batchSize: Int
        /// ‖W‖₂, exactly.
        public var spectralNorm: Double
        /// Draw W symmetric (then ρ(W) = ‖W‖₂; with a small injection, J ≈ W at the fixed point).
        public var symmetric: Bool
        /// The inputs are x ~ N(0, s² I) with this s; U = I and b = 0.
        public var injectionScale: Double
        public var seed: UInt64

        public init(dimension: Int = 64, batchSize: Int = 8, spectralNorm: Double = 0.9,
                    symmetric: Bool = false, injectionScale: Double = 1, seed: UInt64 = 0) {
            self.dimension = dimension
            self.batchSize = batchSize
            self.spectralNorm = spectralNorm
            self.symmetric = symmetric
            self.injectionScale = injectionScale
            self.seed = seed
        }
    }

    /// A synthetic cell: W Gaussian rescaled to ‖W‖₂ = ρ exactly (see
    /// ``RandomMatrix/withSpectralNorm(_:dimension:symmetric:using:)``), then the inputs
    /// x ~ N(0, s² I), both from one SplitMix64 stream seeded by `seed`.
    public static func random(_ configuration: Configuration) throws -> TanhCell {
        let c = configuration
        try Check.atLeast(c.dimension, 1, "TanhCell.Configuration", "dimension", "d")
        try Check.atLeast(c.batchSize, 1, "TanhCell.Configuration", "batchSize", "B")
        try Check.inRange(c.spectralNorm, "TanhCell.Configuration", "spectralNorm", "‖W‖₂; below 1 contracts", above: 0)
        try Check.inRange(c.injectionScale, "TanhCell.Configuration", "injectionScale", "the inputs' standard deviation", above: 0)
        var generator = SplitMix64(seed: configuration.seed)
        let w = try RandomMatrix.withSpectralNorm(configuration.spectralNorm,
                                                  dimension: configuration.dimension,
                                                  symmetric: configuration.symmetric, using: &generator)
        let x = Matrix.gaussian(rows: configuration.batchSize, columns: configuration.dimension,
                                scale: configuration.injectionScale, using: &generator)
        return try TanhCell(weight: w, input: x)
    }
}
