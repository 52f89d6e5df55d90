/// The low-rank inverse estimates of limited-memory Broyden, one per sample:
///
///     Hᵢ = −I + Σ_{j < nᵢ} u_{ij} v_{ijᵀ}  ≈  J_g(zᵢ)⁻¹,   g = f − z
///
/// Products cost O(nᵢ d) per sample. Every ``Broyden`` solve returns one in its result
/// (``SolverByproducts/inverseJacobian``: the H of each sample's last update, for a converged
/// sample the estimate built along its path; it keeps the solve's U and V blocks, 2 L B d
/// doubles, without copying them), or it is made from explicit pairs (for tests and for
/// estimates from elsewhere). Two estimates are equal when they have the same shape, pair
/// counts and pairs in use.
public struct BroydenInverse: InverseJacobianEstimate, Equatable {
    /// d.
    public let dimension: Int
    /// L, the pair capacity per sample.
    public let memory: Int
    /// nᵢ ≤ L, the pairs in use for each sample.
    public let pairCounts: [Int]
    /// U and V, B blocks of L × d (row j of block i is u_{ij}, resp. v_{ij}); only rows 0..<nᵢ of
    /// block i are defined, and nothing reads the others.
    let u: PooledDoubles
    let v: PooledDoubles

    public var batchSize: Int { pairCounts.count }

    init(dimension: Int, memory: Int, pairCounts: [Int], u: PooledDoubles, v: PooledDoubles) {
        self.dimension = dimension
        self.memory = memory
        self.pairCounts = pairCounts
        self.u = u
        self.v = v
    }

    /// Hᵢ = −I + Σⱼ uᵢⱼ vᵢⱼᵀ from explicit pairs: `pairs[i]` lists sample i's (u, v), each of
    /// length `dimension`.
    public init(dimension: Int, pairs: [[(u: [Double], v: [Double])]]) throws(UsageError) {
        try Check.atLeast(dimension, 1, "BroydenInverse", "dimension", "d")
        for (i, list) in pairs.enumerated() {
            for (j, pair) in list.enumerated() where pair.u.count != dimension || pair.v.count != dimension {
                throw UsageError("BroydenInverse", "pair (\(i), \(j))", got: "lengths \(pair.u.count) and \(pair.v.count)",
                                 expected: "two vectors of length d = \(dimension)")
            }
        }
        let m = max(1, pairs.map(\.count).max() ?? 0)
        let u = PooledDoubles(zeroedCount: pairs.count * m * dimension)
        let v = PooledDoubles(zeroedCount: pairs.count * m * dimension)
        for (i, list) in pairs.enumerated() {
            for (j, pair) in list.enumerated() {
                let offset = (i * m + j) * dimension
                (u.pointer + offset).update(from: pair.u, count: dimension)
                (v.pointer + offset).update(from: pair.v, count: dimension)
            }
        }
        self.init(dimension: dimension, memory: m, pairCounts: pairs.map(\.count), u: u, v: v)
    }

    /// Rows Hᵢ xᵢ = −xᵢ + Uᵢᵀ (Vᵢ xᵢ).
    public func product(_ x: Matrix) throws(UsageError) -> Matrix {
        try apply(x, transposed: false)
    }

    /// Rows Hᵢᵀ xᵢ (the row vectors xᵢᵀ Hᵢ) = −xᵢ + Vᵢᵀ (Uᵢ xᵢ).
    public func transposedProduct(_ x: Matrix) throws(UsageError) -> Matrix {
        try apply(x, transposed: true)
    }

    /// Sample i's H as a dense d × d matrix (for tests and small references).
    public func dense(sample i: Int) throws(UsageError) -> Matrix {
        guard (0..<batchSize).contains(i) else {
            throw UsageError("BroydenInverse", "sample", got: "\(i)", expected: "an index in 0..<\(batchSize)")
        }
        let d = dimension
        var h = Matrix(rows: d, columns: d)
        for r in 0..<d { h[r, r] = -1 }
        let u = self.u.pointer, v = self.v.pointer
        for j in 0..<pairCounts[i] {
            let offset = (i * memory + j) * d
            for r in 0..<d { for c in 0..<d { h[r, c] += u[offset + r] * v[offset + c] } }
        }
        return h
    }

    /// The same shape and pair counts, and the same pairs in use, bit for bit (the rows beyond
    /// them are not compared: they are never read).
    public static func == (a: BroydenInverse, b: BroydenInverse) -> Bool {
        guard a.dimension == b.dimension, a.memory == b.memory, a.pairCounts == b.pairCounts else { return false }
        let d = a.dimension, (au, av, bu, bv) = (a.u.pointer, a.v.pointer, b.u.pointer, b.v.pointer)
        return a.pairCounts.enumerated().allSatisfy { i, n in
            let start = i * a.memory * d
            return (start..<(start + n * d)).allSatisfy {
                au[$0].bitPattern == bu[$0].bitPattern && av[$0].bitPattern == bv[$0].bitPattern
            }
        }
    }

    private func apply(_ x: Matrix, transposed: Bool) throws(UsageError) -> Matrix {
        try Check.shape(x, (batchSize, dimension), "BroydenInverse", "batch", "B × d, one row per sample")
        let d = dimension
        var y = Matrix(rows: x.rows, columns: d)
        var coefficients = [Double](repeating: 0, count: memory)
        // H x = −x + Uᵀ(V x);  Hᵀ x = −x + Vᵀ(U x).
        let (left, right) = transposed ? (u.pointer, v.pointer) : (v.pointer, u.pointer)
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                coefficients.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<batchSize {
                        let xi = px.baseAddress! + i * d, yi = py.baseAddress! + i * d
                        for j in 0..<d { yi[j] = -xi[j] }
                        let n = pairCounts[i]
                        guard n > 0 else { continue }
                        let block = i * memory * d
                        BLAS.gemv(.none, m: n, n: d, alpha: 1, a: left + block, lda: d,
                                  x: xi, beta: 0, y: pc.baseAddress!)
                        BLAS.gemv(.transpose, m: n, n: d, alpha: 1, a: right + block, lda: d,
                                  x: pc.baseAddress!, beta: 1, y: yi)
                    }
                }
            }
        }
        return y
    }
}
