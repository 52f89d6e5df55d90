/// A batched fixed-point map z ↦ f(z) over B samples, each a state of dimension d.
///
/// A map is a cell bound to its inputs: for a DEQ cell f(z, x; θ) with a batch of inputs
/// x₁ … x_B, sample i's map is z ↦ f(z, xᵢ; θ). Solvers only ever see this protocol.
///
/// Evaluation works on a *compacted* batch so that converged samples cost nothing: row r of
/// `z` is the state of sample `samples[r]`. A dense cell evaluates all rows with one GEMM.
/// Whole buffers cross the protocol boundary, never single elements: a measured release
/// build here paid 10–16× for a protocol call per element, and nothing for one per batch.
public protocol FixedPointMap {
    /// d, the length of one sample's state.
    var dimension: Int { get }
    /// B, the number of samples.
    var batchSize: Int { get }

    /// Writes f(zᵣ) into row r of `fz` for every row r of `z`.
    ///
    /// - Parameters:
    ///   - z: `samples.count × dimension` states, row-major.
    ///   - fz: `samples.count × dimension` output, row-major; never aliases `z`.
    ///   - samples: the sample index of each row, strictly increasing, each in `0..<batchSize`.
    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                  samples: UnsafeBufferPointer<Int>)
}

extension FixedPointMap {
    /// f applied to a whole batch (one row per sample), as a new matrix. For set-up and tests;
    /// solvers call ``evaluate(_:into:samples:)`` on preallocated buffers.
    public func callAsFunction(_ z: Matrix) throws(UsageError) -> Matrix {
        try Check.shape(z, (batchSize, dimension), "\(Self.self)", "points", "B × d of the map, one sample per row")
        var out = Matrix(rows: batchSize, columns: dimension)
        let all = Array(0..<batchSize)
        z.storage.withUnsafeBufferPointer { pz in
            out.storage.withUnsafeMutableBufferPointer { po in
                all.withUnsafeBufferPointer { rows in
                    evaluate(pz.baseAddress!, into: po.baseAddress!, samples: rows)
                }
            }
        }
        return out
    }
}
