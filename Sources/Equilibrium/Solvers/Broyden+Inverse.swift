extension Broyden {
    /// Solves as ``solve(_:from:criteria:)`` (the same iterates and result) and also returns the
    /// final inverse estimate H ≈ J_g⁻¹ of every sample, for SHINE (``SHINEGradient``).
    ///
    /// H is the one of the last Broyden update of the sample: for a sample that converged, the
    /// estimate built along its path up to the converged point. The copy is made once after
    /// the solve (2 L B d doubles); the solve itself is unchanged.
    public func solveKeepingInverse<Map: FixedPointMap>(_ map: Map, from initial: Matrix,
                                                        criteria: StoppingCriteria) -> (result: SolveResult, inverse: BroydenInverse) {
        let (result, state) = run(map, from: initial, criteria: criteria)
        return (result, state.inverse())
    }
}

/// The low-rank inverse estimates of limited-memory Broyden, one per sample (REFERENCE §3):
///
///     Hᵢ = −I + Σ_{j < nᵢ} u_{ij} v_{ijᵀ}  ≈  J_g(zᵢ)⁻¹,   g = f − z
///
/// Products cost O(nᵢ d) per sample. Made by ``Broyden/solveKeepingInverse(_:from:criteria:)``,
/// or from explicit pairs (for tests and for estimates from elsewhere).
public struct BroydenInverse: Sendable, Equatable {
    /// d.
    public let dimension: Int
    /// L, the pair capacity per sample.
    public let memory: Int
    /// nᵢ ≤ L, the pairs in use for each sample.
    public let pairCounts: [Int]
    /// U and V, B blocks of L × d (row j of block i is u_{ij}, resp. v_{ij}).
    let u: [Double]
    let v: [Double]

    public var batchSize: Int { pairCounts.count }

    init(dimension: Int, memory: Int, pairCounts: [Int], u: [Double], v: [Double]) {
        self.dimension = dimension
        self.memory = memory
        self.pairCounts = pairCounts
        self.u = u
        self.v = v
    }

    /// Hᵢ = −I + Σⱼ uᵢⱼ vᵢⱼᵀ from explicit pairs: `pairs[i]` lists sample i's (u, v), each of
    /// length `dimension`.
    public init(dimension: Int, pairs: [[(u: [Double], v: [Double])]]) {
        let m = max(1, pairs.map(\.count).max() ?? 0)
        var u = [Double](repeating: 0, count: pairs.count * m * dimension)
        var v = u
        for (i, list) in pairs.enumerated() {
            for (j, pair) in list.enumerated() {
                precondition(pair.u.count == dimension && pair.v.count == dimension,
                             "Broyden pair (\(i), \(j)) has lengths \(pair.u.count), \(pair.v.count); expected \(dimension).")
                let offset = (i * m + j) * dimension
                u.replaceSubrange(offset..<(offset + dimension), with: pair.u)
                v.replaceSubrange(offset..<(offset + dimension), with: pair.v)
            }
        }
        self.init(dimension: dimension, memory: m, pairCounts: pairs.map(\.count), u: u, v: v)
    }

    /// Rows Hᵢ xᵢ = −xᵢ + Uᵢᵀ (Vᵢ xᵢ).
    public func product(_ x: Matrix) -> Matrix {
        apply(x, transposed: false)
    }

    /// Rows Hᵢᵀ xᵢ (the row vectors xᵢᵀ Hᵢ) = −xᵢ + Vᵢᵀ (Uᵢ xᵢ).
    public func transposedProduct(_ x: Matrix) -> Matrix {
        apply(x, transposed: true)
    }

    /// Sample i's H as a dense d × d matrix (for tests and small references).
    public func dense(sample i: Int) -> Matrix {
        let d = dimension
        var h = Matrix(rows: d, columns: d)
        for r in 0..<d { h[r, r] = -1 }
        for j in 0..<pairCounts[i] {
            let offset = (i * memory + j) * d
            for r in 0..<d { for c in 0..<d { h[r, c] += u[offset + r] * v[offset + c] } }
        }
        return h
    }

    private func apply(_ x: Matrix, transposed: Bool) -> Matrix {
        precondition(x.rows == batchSize && x.columns == dimension,
                     "H is applied to \(x.rows) × \(x.columns), expected \(batchSize) × \(dimension).")
        let d = dimension
        var y = Matrix(rows: x.rows, columns: d)
        var coefficients = [Double](repeating: 0, count: memory)
        // H x = −x + Uᵀ(V x);  Hᵀ x = −x + Vᵀ(U x).
        let (left, right) = transposed ? (u, v) : (v, u)
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                left.withUnsafeBufferPointer { pl in
                    right.withUnsafeBufferPointer { pr in
                        coefficients.withUnsafeMutableBufferPointer { pc in
                            for i in 0..<batchSize {
                                let xi = px.baseAddress! + i * d, yi = py.baseAddress! + i * d
                                for j in 0..<d { yi[j] = -xi[j] }
                                let n = pairCounts[i]
                                guard n > 0 else { continue }
                                let block = i * memory * d
                                BLAS.gemv(.none, m: n, n: d, alpha: 1, a: pl.baseAddress! + block, lda: d,
                                          x: xi, beta: 0, y: pc.baseAddress!)
                                BLAS.gemv(.transpose, m: n, n: d, alpha: 1, a: pr.baseAddress! + block, lda: d,
                                          x: pc.baseAddress!, beta: 1, y: yi)
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
