/// How the initial batch z₀ is chosen. Path-independence studies (REFERENCE §5) compare them.
public enum Initialization: Sendable, Equatable {
    /// z₀ = 0.
    case zero
    /// z₀ ~ N(0, scale² I), seeded.
    case gaussian(scale: Double, seed: UInt64)
    /// z₀ ~ U[low, high)ᵈ, seeded.
    case uniform(low: Double, high: Double, seed: UInt64)
    /// A Bernoulli(p)-masked Gaussian: each entry is N(0, scale²) with probability p, else 0
    /// (the "mixed" initialisation of Anil et al., 2022).
    case mixed(probability: Double, scale: Double, seed: UInt64)
    /// An explicit batch, B × d, e.g. read from `.npy` or an earlier result's solution.
    case explicit(Matrix)

    /// The B × d initial batch. Throws when an explicit batch has the wrong shape or holds a
    /// non-finite value, or when a parameter is out of range.
    public func makeBatch(batchSize: Int, dimension: Int) throws(InitializationError) -> Matrix {
        switch self {
        case .zero:
            return Matrix(rows: batchSize, columns: dimension)
        case let .gaussian(scale, seed):
            guard scale >= 0, scale.isFinite else {
                throw InitializationError("Gaussian initialisation scale must be finite and ≥ 0, got \(scale)")
            }
            var generator = SplitMix64(seed: seed)
            return .gaussian(rows: batchSize, columns: dimension, scale: scale, using: &generator)
        case let .uniform(low, high, seed):
            guard low.isFinite, high.isFinite, low < high else {
                throw InitializationError("uniform initialisation needs finite low < high, got [\(low), \(high))")
            }
            var generator = SplitMix64(seed: seed)
            return Matrix(rows: batchSize, columns: dimension,
                          storage: generator.uniforms(count: batchSize * dimension, low: low, high: high))
        case let .mixed(probability, scale, seed):
            guard (0...1).contains(probability), scale >= 0, scale.isFinite else {
                throw InitializationError("mixed initialisation needs 0 ≤ p ≤ 1 and a finite scale ≥ 0, got p = \(probability), scale = \(scale)")
            }
            var generator = SplitMix64(seed: seed)
            let values = (0..<(batchSize * dimension)).map { _ -> Double in
                let keep = generator.nextUniform() < probability
                let draw = scale * generator.nextGaussian()
                return keep ? draw : 0
            }
            return Matrix(rows: batchSize, columns: dimension, storage: values)
        case let .explicit(batch):
            guard batch.rows == batchSize, batch.columns == dimension else {
                throw InitializationError("explicit initial batch is \(batch.rows) × \(batch.columns), expected \(batchSize) × \(dimension) (rows are samples)")
            }
            guard batch.isFinite else {
                throw InitializationError("explicit initial batch holds a NaN or infinite value")
            }
            return batch
        }
    }
}

/// An initialisation that cannot produce a valid batch.
public struct InitializationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
