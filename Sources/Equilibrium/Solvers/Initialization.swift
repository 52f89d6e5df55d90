/// How the initial batch z₀ is chosen. Path-independence studies (docs/MATH.md, "Path independence") compare them.
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
    public func makeBatch(batchSize: Int, dimension: Int) throws(UsageError) -> Matrix {
        try Check.atLeast(batchSize, 1, "Initialization", "batchSize", "B, the samples")
        try Check.atLeast(dimension, 1, "Initialization", "dimension", "d, the state length")
        switch self {
        case .zero:
            return Matrix(rows: batchSize, columns: dimension)
        case let .gaussian(scale, seed):
            guard scale >= 0, scale.isFinite else {
                throw UsageError("Initialization.gaussian", "scale", got: "\(scale)", expected: "a finite number ≥ 0 (the standard deviation)")
            }
            var generator = SplitMix64(seed: seed)
            return .gaussian(rows: batchSize, columns: dimension, scale: scale, using: &generator)
        case let .uniform(low, high, seed):
            guard low.isFinite, high.isFinite, low < high else {
                throw UsageError("Initialization.uniform", "[low, high)", got: "[\(low), \(high))", expected: "finite low < high")
            }
            var generator = SplitMix64(seed: seed)
            return Matrix(rows: batchSize, columns: dimension, storage: generator.uniforms(count: batchSize * dimension, low: low, high: high))
        case let .mixed(probability, scale, seed):
            guard (0...1).contains(probability), scale >= 0, scale.isFinite else {
                throw UsageError("Initialization.mixed", "(probability, scale)", got: "(\(probability), \(scale))",
                                 expected: "0 ≤ p ≤ 1 and a finite scale ≥ 0")
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
                throw .shape("Initialization.explicit", "initial batch", got: (batch.rows, batch.columns),
                             expected: (batchSize, dimension), meaning: "B × d, rows are samples")
            }
            guard batch.isFinite else {
                throw UsageError("Initialization.explicit", "initial batch", got: "a NaN or infinite entry", expected: "finite values")
            }
            return batch
        }
    }
}

