import Foundation

/// K interleaved 2-D spirals, one class per arm (a small classification task).
///
///     t ~ U[0, 1),  r = t,  φ = 2π (turns · t + k / K),  u = r (cos φ, sin φ) + N(0, noise²)
///
/// Inputs are scaled to about unit variance (×2). One position per example.
public enum Spirals {
    public static func dataset(count: Int, arms: Int = 3, turns: Double = 1, noise: Double = 0.05, seed: UInt64) -> Dataset {
        precondition(count >= 1 && arms >= 2, "need at least one example and two arms.")
        var generator = SplitMix64(seed: seed)
        var inputs = [Double](), targets = [Int]()
        for i in 0..<count {
            let k = i % arms
            let t = generator.nextUniform()
            let phi = 2 * Double.pi * (turns * t + Double(k) / Double(arms))
            inputs.append(2 * (t * Foundation.cos(phi) + noise * generator.nextGaussian()))
            inputs.append(2 * (t * Foundation.sin(phi) + noise * generator.nextGaussian()))
            targets.append(k)
        }
        return Dataset(groups: [Dataset.Group(positions: 1, inputs: Matrix(rows: count, columns: 2, storage: inputs), targets: targets)],
                       inputChannels: 2, classes: arms)
    }
}
