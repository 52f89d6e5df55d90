/// The monotone equilibrium cell (monDEQ), bound to a batch of inputs:
///
///     W = (1 − m) I − AᵀA + B − Bᵀ
///     f(z, x) = relu(W z + U x + b)
///
/// with A, B: d × d, U: d × p, b: d and the monotonicity parameter m > 0. Since
/// I − W = m I + AᵀA − (B − Bᵀ) has symmetric part m I + AᵀA ⪰ m I (the skew part B − Bᵀ does
/// not count), the operator z ↦ (I − W) z − (U x + b) is strongly monotone and relu is a
/// proximal operator, so z = f(z, x) has exactly one solution for every x, whatever A and B
/// (Winston & Kolter 2020, Theorem 1): the baseline for path independence.
///
/// Uniqueness does not make forward iteration converge: ‖W‖₂ may exceed 1 (the skew part is
/// unbounded), and then z ← f(z) can diverge; monDEQ itself solves with operator splitting
/// (forward–backward or Peaceman–Rachford). Measured here (the `convergence` experiment: d = 64,
/// B = 8, two seeds, s = 1/√3, tolerance 1e-8, relative): at m = 0.05 plain forward iteration
/// converges on no sample, damped forward iteration with τ = 0.5 on 15 of 16 (τ = 0.1 on every
/// sample in the tests), Anderson with memory ≥ 5, Broyden and Newton–Krylov on all (Newton–
/// Krylov in about ten evaluations), Anderson with memory 1 and β ≥ 1 on none. With much larger
/// weights (s = 2, ‖W‖₂ ≈ 15) only Newton–Krylov and damped forward iteration with small τ still
/// converged in a spot check.
///
/// W and the injection c = U x + b are computed once at construction and binding, so an
/// evaluation is one GEMM of the compacted batch with Wᵀ and a relu: O(n d²). relu′(0) = 0.
///
/// References: E. Winston, J. Z. Kolter, "Monotone operator equilibrium networks", NeurIPS 2020.
public struct MonotoneCell: FixedPointMap, Sendable {
    /// A, d × d.
    public let a: Matrix
    /// B, d × d.
    public let b: Matrix
    /// U, d × p.
    public let inputWeight: Matrix
    /// b (the bias), length d.
    public let bias: [Double]
    /// m, the monotonicity parameter: I − W ⪰ m I.
    public let monotonicity: Double
    /// The inputs x, B × p, one sample per row.
    public let input: Matrix
    /// W = (1 − m) I − AᵀA + B − Bᵀ.
    public let weight: Matrix
    /// c = x Uᵀ + b, B × d.
    public let injection: Matrix
    /// W where BLAS reads it fastest (``StreamedMatrix``), shared by the cell's bindings.
    package let streamedWeight: StreamedMatrix

    public var dimension: Int { weight.rows }
    public var batchSize: Int { input.rows }

    /// - Throws: ``UsageError`` when A is not square (d ≥ 1), B is not d × d, U is not d × p,
    ///   b has not d entries, x is not B × p (B ≥ 1), m is not positive, or a value is not finite.
    public init(a: Matrix, b: Matrix, inputWeight: Matrix, bias: [Double], monotonicity: Double, input: Matrix) throws(UsageError) {
        try self.init(a: a, b: b, inputWeight: inputWeight, bias: bias, monotonicity: monotonicity, input: input, derived: nil)
    }

    /// The checked initialiser; `derived` is W and its copy when a binding already holds them
    /// (W depends on A, B and m only, so a binding does not repeat the d³ product).
    private init(a: Matrix, b: Matrix, inputWeight: Matrix, bias: [Double], monotonicity: Double, input: Matrix,
                 derived: (weight: Matrix, streamed: StreamedMatrix)?) throws(UsageError) {
        let owner = "MonotoneCell"
        let d = a.rows
        guard a.isSquare, d >= 1 else { throw UsageError(owner, "A", got: "\(a.rows) × \(a.columns)", expected: "a square d × d matrix, d ≥ 1") }
        guard b.rows == d && b.columns == d else { throw UsageError(owner, "B", got: "\(b.rows) × \(b.columns)", expected: "\(d) × \(d), as A") }
        guard inputWeight.rows == d, inputWeight.columns >= 1 else {
            throw UsageError(owner, "U", got: "\(inputWeight.rows) × \(inputWeight.columns)", expected: "\(d) × p (d rows, as A), p ≥ 1")
        }
        guard bias.count == d else { throw UsageError(owner, "b", got: "\(bias.count) entries", expected: "d = \(d) entries") }
        try Check.inRange(monotonicity, owner, "monotonicity", "m in I − W ⪰ m I", above: 0, openBelow: true)
        for (values, name) in [(a.storage, "A"), (b.storage, "B"), (inputWeight.storage, "U"), (bias, "b")] {
            try Check.finite(values, owner, name)
        }
        try Check.inputs(input, columns: inputWeight.columns, owner, "p, the columns of U")
        self.a = a
        self.b = b
        self.inputWeight = inputWeight
        self.bias = bias
        self.monotonicity = monotonicity
        self.input = input
        if let derived {
            weight = derived.weight
            streamedWeight = derived.streamed
        } else {
            var w = Matrix(rows: d, columns: d)
            BLAS.gemm(a, a, into: &w, transA: .transpose, alpha: -1)
            for i in 0..<d {
                w[i, i] += 1 - monotonicity
                for j in 0..<d { w[i, j] += b[i, j] - b[j, i] }
            }
            weight = w
            streamedWeight = StreamedMatrix(w)
        }
        var c = Matrix(rows: input.rows, columns: d)
        BLAS.gemm(input, inputWeight, into: &c, transB: .transpose)
        for i in 0..<c.rows { for j in 0..<d { c[i, j] += bias[j] } }
        injection = c
    }

    /// The same cell bound to other inputs.
    public func binding(input newInput: Matrix) throws(UsageError) -> MonotoneCell {
        try MonotoneCell(a: a, b: b, inputWeight: inputWeight, bias: bias, monotonicity: monotonicity, input: newInput,
                         derived: (weight, streamedWeight))
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        let n = samples.count, d = dimension
        // fz = z Wᵀ: row r is W zᵣ.
        BLAS.gemm(.none, .transpose, m: n, n: d, k: d, alpha: 1, a: z, lda: d,
                  b: streamedWeight.baseAddress, ldb: d, beta: 0, c: fz, ldc: d)
        injection.storage.withUnsafeBufferPointer { c in
            for (r, sample) in samples.enumerated() {
                let out = fz + r * d, inj = c.baseAddress! + sample * d
                for j in 0..<d {
                    let value = out[j] + inj[j]
                    // `< 0` keeps NaN, which the solver then reports.
                    out[j] = value < 0 ? 0 : value
                }
            }
        }
    }
}

extension MonotoneCell {
    /// Options of the synthetic monotone cell generator.
    public struct Configuration: Sendable, Equatable {
        /// d.
        public var dimension: Int
        /// B.
        public var batchSize: Int
        /// m, default 0.05: close to the edge of the monotone cone, so the cell is not trivially
        /// contractive (monDEQ's layers default to m = 1; larger m makes I − W larger).
        public var monotonicity: Double
        /// A and B have N(0, s²/d) entries with this s, so ‖A‖₂ ≈ 2s. Default 1/√3, the
        /// variance of PyTorch's `nn.Linear` initialisation (uniform on ±1/√d), as monDEQ's layers.
        public var weightScale: Double
        /// The inputs are x ~ N(0, σ² I) with this σ.
        public var injectionScale: Double
        public var seed: UInt64

        public init(dimension: Int = 64, batchSize: Int = 8, monotonicity: Double = 0.05, weightScale: Double = 1 / 3.0.squareRoot(),
                    injectionScale: Double = 1, seed: UInt64 = 0) {
            self.dimension = dimension
            self.batchSize = batchSize
            self.monotonicity = monotonicity
            self.weightScale = weightScale
            self.injectionScale = injectionScale
            self.seed = seed
        }
    }

    /// A synthetic cell from one SplitMix64 stream: A, then B with N(0, s²/d) entries, then U
    /// with N(0, 1/d) entries (p = d), b = 0, then the inputs x ~ N(0, σ² I).
    public static func random(_ configuration: Configuration) throws(UsageError) -> MonotoneCell {
        let c = configuration, d = c.dimension, owner = "MonotoneCell.Configuration"
        try Check.atLeast(d, 1, owner, "dimension", "d")
        try Check.atLeast(c.batchSize, 1, owner, "batchSize", "B")
        try Check.inRange(c.monotonicity, owner, "monotonicity", "m in I − W ⪰ m I", above: 0, openBelow: true)
        try Check.inRange(c.weightScale, owner, "weightScale", "the scale of A and B", above: 0)
        try Check.inRange(c.injectionScale, owner, "injectionScale", "the inputs' standard deviation", above: 0)
        var generator = SplitMix64(seed: c.seed)
        let scale = c.weightScale / Double(d).squareRoot()
        let a = Matrix.gaussian(rows: d, columns: d, scale: scale, using: &generator)
        let b = Matrix.gaussian(rows: d, columns: d, scale: scale, using: &generator)
        let u = Matrix.gaussian(rows: d, columns: d, scale: 1 / Double(d).squareRoot(), using: &generator)
        let x = Matrix.gaussian(rows: c.batchSize, columns: d, scale: c.injectionScale, using: &generator)
        return try MonotoneCell(a: a, b: b, inputWeight: u, bias: [Double](repeating: 0, count: d),
                            monotonicity: c.monotonicity, input: x)
    }
}
