import Foundation

/// A small, fast, seedable pseudo-random generator (Steele, Lea & Flood's SplitMix64).
///
///     state += 0x9E3779B97F4A7C15
///     z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///     z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  return z ^ (z >> 31)
///
/// The sequence depends only on the seed, so the same seed gives the same cell on any machine
/// running this toolkit. Reference: G. L. Steele, D. Lea, C. H. Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal draw by the Box–Muller transform (one of the pair is used, so the
    /// stream position after n draws is always 2n words, independent of any caching).
    public mutating func nextGaussian() -> Double {
        // u1 in (0, 1] so the logarithm is finite.
        let u1 = 1.0 - nextUniform()
        let u2 = nextUniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// `count` independent N(0, scale²) draws.
    public mutating func gaussians(count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in scale * nextGaussian() }
    }

    /// `count` independent uniform draws on [low, high).
    public mutating func uniforms(count: Int, low: Double, high: Double) -> [Double] {
        (0..<count).map { _ in low + (high - low) * nextUniform() }
    }
}
