import Foundation

/// The state loss ℓ(z) of an ``InputOptimizationProblem`` (docs/MATH.md §6), one value per
/// sample, with its gradient ∂ℓ/∂z. Both ``NestedInputOptimizer`` and ``JointInputMap`` read the
/// loss only through this protocol, so a new loss (a target distance, a classifier's
/// cross-entropy) reuses both methods unchanged. Called once per batch of rows, never per entry.
public protocol InputLoss: Sendable {
    /// d, the width of a state row.
    var stateDimension: Int { get }
    /// B, the samples the loss is defined for.
    var batchSize: Int { get }
    /// ℓᵢ(zᵣ) for row r of `z` (n × d) and sample i = samples[r].
    func values(states z: Matrix, samples: [Int]) throws(UsageError) -> [Double]
    /// ∂ℓᵢ/∂z at row r of `z` (n × d) for sample i = samples[r], n × d.
    func gradients(states z: Matrix, samples: [Int]) throws(UsageError) -> Matrix
}

/// ℓᵢ(z) = ½‖z − tᵢ‖², ∂ℓᵢ/∂z = z − tᵢ: the target-matching loss of docs/MATH.md §6.
public struct SquaredDistanceLoss: InputLoss {
    /// The targets tᵢ, B × d.
    public let target: Matrix
    public var stateDimension: Int { target.columns }
    public var batchSize: Int { target.rows }

    /// - Throws: ``UsageError`` when a target is not finite.
    public init(target: Matrix) throws(UsageError) {
        try Check.finite(target.storage, "SquaredDistanceLoss", "target")
        self.target = target
    }

    public func values(states z: Matrix, samples: [Int]) throws(UsageError) -> [Double] {
        try Check.shape(z, (samples.count, stateDimension), "SquaredDistanceLoss", "states z", "one row per listed sample, d wide")
        let d = stateDimension
        return samples.enumerated().map { r, i in
            var s = 0.0
            for j in 0..<d { let e = z.storage[r * d + j] - target.storage[i * d + j]; s += e * e }
            return 0.5 * s
        }
    }

    public func gradients(states z: Matrix, samples: [Int]) throws(UsageError) -> Matrix {
        try Check.shape(z, (samples.count, stateDimension), "SquaredDistanceLoss", "states z", "one row per listed sample, d wide")
        let d = stateDimension
        var g = z
        for (r, i) in samples.enumerated() { for j in 0..<d { g.storage[r * d + j] -= target.storage[i * d + j] } }
        return g
    }
}
