import Foundation

/// The state loss of inpainting through a ``DEQDecoder`` (docs/MATH.md §6): only the observed
/// entries of each target count,
///
///     ℓᵢ(z) = ½ ‖Mᵢ ⊙ (V z + c − yᵢ)‖²,      ∂ℓᵢ/∂z = Vᵀ (Mᵢ ⊙ Mᵢ ⊙ (V z + c − yᵢ))
///
/// with the mask Mᵢ (1 observed, 0 hidden; any weights in [0, 1] are allowed, and then enter
/// squared as written). With ``InputOptimizationProblem``'s penalty R(x) = (λ/2)‖x‖² on the
/// code, min over x of ℓ(z*(x)) + R(x) fits the code to the observed pixels and the decoded
/// V z*(x) + c fills in the hidden ones. Cost per call O(n q d), one GEMM each way.
///
/// Reference: S. Gurumurthy et al., "Joint inference and input optimization in equilibrium
/// networks", NeurIPS 2021, §5.2 (inpainting with a DEQ decoder).
public struct MaskedReconstructionLoss: InputLoss {
    /// The decoder whose readout V z + c the targets are compared with.
    public let decoder: DEQDecoder
    /// The targets yᵢ, B × q.
    public let target: Matrix
    /// The masks Mᵢ, B × q, entries in [0, 1].
    public let mask: Matrix
    public var stateDimension: Int { decoder.dimension }
    public var batchSize: Int { target.rows }

    /// - Throws: ``UsageError`` when the targets or masks are not B × q for the decoder's q, a
    ///   target is not finite, or a mask entry lies outside [0, 1].
    public init(decoder: DEQDecoder, target: Matrix, mask: Matrix) throws(UsageError) {
        let owner = "MaskedReconstructionLoss", q = decoder.outputDimension
        try Check.shape(target, (target.rows, q), owner, "target", "q = \(q) outputs per row")
        try Check.shape(mask, (target.rows, q), owner, "mask", "B × q, one mask row per target")
        try Check.finite(target.storage, owner, "target")
        if let bad = mask.storage.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw UsageError(owner, "mask", got: "\(mask.storage[bad]) at flat index \(bad)", expected: "weights in [0, 1] (1 observed, 0 hidden)")
        }
        self.decoder = decoder
        self.target = target
        self.mask = mask
    }

    /// The masked residuals Mᵢ ⊙ (V zᵣ + c − yᵢ), n × q.
    private func residuals(_ z: Matrix, samples: [Int]) throws(UsageError) -> Matrix {
        try Check.shape(z, (samples.count, stateDimension), "MaskedReconstructionLoss", "states z", "one row per listed sample, d wide")
        let q = decoder.outputDimension
        var r = try decoder.output(states: z)
        for (row, i) in samples.enumerated() {
            for j in 0..<q {
                r.storage[row * q + j] = mask.storage[i * q + j] * (r.storage[row * q + j] - target.storage[i * q + j])
            }
        }
        return r
    }

    public func values(states z: Matrix, samples: [Int]) throws(UsageError) -> [Double] {
        let r = try residuals(z, samples: samples), q = decoder.outputDimension
        return (0..<samples.count).map { row in
            var s = 0.0
            for j in 0..<q { s += r.storage[row * q + j] * r.storage[row * q + j] }
            return 0.5 * s
        }
    }

    public func gradients(states z: Matrix, samples: [Int]) throws(UsageError) -> Matrix {
        var r = try residuals(z, samples: samples)
        let q = decoder.outputDimension
        for (row, i) in samples.enumerated() { for j in 0..<q { r.storage[row * q + j] *= mask.storage[i * q + j] } }
        var g = Matrix(rows: z.rows, columns: stateDimension)
        BLAS.gemm(r, decoder.readout, into: &g)
        return g
    }
}
