import Equilibrium

/// A cell written outside Equilibrium: f(z, x) = σ(W z + x + b) with the softsign
/// σ(u) = u / (1 + |u|), whose derivative σ'(u) = 1 / (1 + |u|)² = (1 − |σ(u)|)² is a function
/// of the output, so the Jacobian products need only f(z), as the library's tanh cell does.
///
/// With D = diag((1 − |f|)²) at a point, J = D W and
///
///     J v = D (W v)       Jᵀ u = Wᵀ (D u)
///     ∂L/∂W = Σᵢ aᵢ zᵢᵀ   ∂L/∂b = Σᵢ aᵢ   ∂L/∂xᵢ = aᵢ,   aᵢ = Dᵢ uᵢ
///
/// |σ'| ≤ 1, so ‖W‖₂ < 1 makes f a contraction and the fixed point unique.
public struct SoftsignCell: ParametricCell, Sendable {
    public let dimension: Int
    /// W, d × d, row-major.
    public let weight: [Double]
    /// b, d.
    public let bias: [Double]
    /// x, B × d.
    public let input: Matrix

    public var batchSize: Int { input.rows }

    /// A cell from W (d × d), b (d) and inputs x (B × d); throws when a shape does not fit or a
    /// value is not finite.
    public init(weight: Matrix, bias: [Double], input: Matrix) throws(UsageError) {
        let d = weight.rows
        guard d >= 1, weight.columns == d else {
            throw UsageError("SoftsignCell", "weight", got: "\(weight.rows) × \(weight.columns)", expected: "a square d × d matrix, d ≥ 1")
        }
        guard bias.count == d else {
            throw UsageError("SoftsignCell", "bias", got: "\(bias.count) values", expected: "d = \(d) values")
        }
        guard input.columns == d, input.rows >= 1 else {
            throw UsageError("SoftsignCell", "input", got: "\(input.rows) × \(input.columns)", expected: "B × \(d), B ≥ 1")
        }
        guard weight.isFinite, bias.allSatisfy(\.isFinite), input.isFinite else {
            throw UsageError("SoftsignCell", "weight, bias or input", got: "a NaN or infinite value", expected: "finite values")
        }
        dimension = d
        self.weight = weight.storage
        self.bias = bias
        self.input = input
    }

    /// A random cell: W = (G + Gᵀ)/2 for Gaussian G, scaled so that ‖W‖₂ = `spectralNorm`
    /// (by power iteration), b = 0, inputs N(0, s²). Near z = 0 softsign has slope 1, so with a
    /// weak injection J ≈ W at the fixed point and ρ(J) ≈ `spectralNorm`: ρ near 1 is hard.
    public static func random(dimension d: Int, batchSize b: Int, spectralNorm: Double, injectionScale: Double = 1,
                              seed: UInt64) throws(UsageError) -> SoftsignCell {
        guard d >= 1, b >= 1, d <= 4096, b <= 4096 else {
            throw UsageError("SoftsignCell.random", "dimension, batchSize", got: "\(d), \(b)", expected: "each in 1...4096")
        }
        guard spectralNorm.isFinite, spectralNorm >= 0, injectionScale.isFinite, injectionScale >= 0 else {
            throw UsageError("SoftsignCell.random", "spectralNorm, injectionScale", got: "\(spectralNorm), \(injectionScale)",
                             expected: "finite numbers ≥ 0")
        }
        var random = SplitMix64(seed: seed)
        let g = random.gaussians(count: d * d)
        var w = Array(repeating: 0.0, count: d * d)
        for i in 0..<d { for j in 0..<d { w[i * d + j] = 0.5 * (g[i * d + j] + g[j * d + i]) } }
        // ‖W‖₂ of a symmetric matrix: power iteration on W² converges to λ_max²; 300 steps from
        // a random start settle it to far below the percent level for these sizes.
        var x = random.gaussians(count: d)
        var norm = 0.0
        for _ in 0..<300 {
            var y = Array(repeating: 0.0, count: d)
            for i in 0..<d { for j in 0..<d { y[i] += w[i * d + j] * x[j] } }
            norm = y.reduce(0) { $0 + $1 * $1 }.squareRoot() / max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), .leastNormalMagnitude)
            let length = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard length > 0 else { break }
            x = y.map { $0 / length }
        }
        if norm > 0 { w = w.map { $0 * spectralNorm / norm } }
        return try SoftsignCell(weight: try Matrix(rows: d, columns: d, values: w), bias: Array(repeating: 0, count: d),
                                input: try Matrix(rows: b, columns: d, values: random.gaussians(count: b * d, scale: injectionScale)))
    }

    // MARK: FixedPointMap

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        let d = dimension
        input.storage.withUnsafeBufferPointer { x in
            for (r, sample) in samples.enumerated() {
                for i in 0..<d {
                    var u = x[sample * d + i] + bias[i]
                    for j in 0..<d { u += weight[i * d + j] * z[r * d + j] }
                    fz[r * d + i] = u / (1 + abs(u))
                }
            }
        }
    }

    // MARK: DifferentiableMap

    public func makeJacobianWorkspace(maxSamples: Int) {}

    public func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: Void) {
        let d = dimension
        for r in 0..<samples.count {
            for i in 0..<d {
                var wv = 0.0
                for j in 0..<d { wv += weight[i * d + j] * v[r * d + j] }
                let slope = (1 - abs(fz[r * d + i])) * (1 - abs(fz[r * d + i]))
                out[r * d + i] = slope * wv
            }
        }
    }

    public func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: Void) {
        let d = dimension
        for r in 0..<samples.count {
            for j in 0..<d { out[r * d + j] = 0 }
            for i in 0..<d {
                let a = (1 - abs(fz[r * d + i])) * (1 - abs(fz[r * d + i])) * u[r * d + i]
                for j in 0..<d { out[r * d + j] += weight[i * d + j] * a }
            }
        }
    }

    // MARK: ParametricCell

    public var parameters: [NamedArray] {
        // The shapes fit the values by construction.
        [try! NamedArray("W", shape: [dimension, dimension], values: weight),
         try! NamedArray("b", shape: [dimension], values: bias)]
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> SoftsignCell {
        guard parameters.map(\.name) == ["W", "b"], parameters[0].shape == [dimension, dimension], parameters[1].shape == [dimension] else {
            throw UsageError("SoftsignCell", "parameters", got: "\(parameters.map { "\($0.name) \($0.shape)" })",
                             expected: "W [\(dimension), \(dimension)] and b [\(dimension)], in this order")
        }
        return try SoftsignCell(weight: try Matrix(rows: dimension, columns: dimension, values: parameters[0].values),
                                bias: parameters[1].values, input: input)
    }

    public func binding(input: Matrix) throws(UsageError) -> SoftsignCell {
        try SoftsignCell(weight: try Matrix(rows: dimension, columns: dimension, values: weight), bias: bias, input: input)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        let b = batchSize, d = dimension
        for (matrix, what) in [(z, "points z"), (fz, "images f(z)"), (u, "covectors")] where matrix.rows != b || matrix.columns != d {
            throw UsageError.shape("SoftsignCell.parameterGradients", what, got: (matrix.rows, matrix.columns), expected: (b, d), meaning: "B × d of the cell")
        }
        var a = u.storage
        for k in 0..<a.count { a[k] *= (1 - abs(fz.storage[k])) * (1 - abs(fz.storage[k])) }
        var dW = Array(repeating: 0.0, count: d * d), db = Array(repeating: 0.0, count: d)
        for s in 0..<b {
            for i in 0..<d {
                let ai = a[s * d + i]
                db[i] += ai
                for j in 0..<d { dW[i * d + j] += ai * z.storage[s * d + j] }
            }
        }
        return ([try NamedArray("W", shape: [d, d], values: dW), try NamedArray("b", shape: [d], values: db)],
                try Matrix(rows: b, columns: d, values: a))
    }
}

extension SoftsignCell {
    /// `softsign` in a catalog: a random cell of dimension `dim`, `batch` samples, ‖W‖₂ = `rho`.
    public static let catalogEntry = CellEntry(
        name: "softsign", summary: "f(z, x) = softsign(W z + x + b), from Examples/CustomSolver",
        parameters: [
            ParameterDefinition("dim", .integer(minimum: 1, maximum: 4096), default: .integer(32), "state dimension d"),
            ParameterDefinition("batch", .integer(minimum: 1, maximum: 4096), default: .integer(4), "number of samples B"),
            ParameterDefinition("rho", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                                default: .real(0.9), "‖W‖₂ of the symmetric W"),
            ParameterDefinition("injection-scale", .real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false),
                                default: .real(1), "inputs x ~ N(0, s²)"),
            ParameterDefinition("seed", .integer(minimum: 0, maximum: nil), default: nil, "the seed of W, b and x; default the experiment's"),
        ],
        memory: { values in
            let d = values["dim"]?.intValue ?? 0, b = values["batch"]?.intValue ?? 0
            return [("W and the inputs", (d * d + 2 * b * d) * MemoryLayout<Double>.stride)]
        },
        build: { values, _, context in
            try SoftsignCell.random(dimension: values["dim"]?.intValue ?? 32, batchSize: values["batch"]?.intValue ?? 4,
                                    spectralNorm: values["rho"]?.doubleValue ?? 0.9,
                                    injectionScale: values["injection-scale"]?.doubleValue ?? 1,
                                    seed: values["seed"]?.intValue.map { UInt64($0) } ?? context.seed)
        })
}
