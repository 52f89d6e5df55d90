/// The prefix-sum parity task of the easy-to-hard benchmark: a bit string b₁ … b_L in, the
/// cumulative parity yₚ = (b₁ + … + bₚ) mod 2 at every position out.
///
/// The input is one channel with uₚ = 2bₚ − 1 ∈ {−1, +1}. A convolutional cell with kernel 3
/// moves information one position per iteration, so a correct model needs about L iterations:
/// longer strings need larger test-time budgets (upward generalisation).
///
/// References: A. Schwarzschild et al., "Can You Learn an Algorithm? Generalizing from Easy to
/// Hard Problems with Recurrent Networks", NeurIPS 2021; C. Anil et al., "Path Independent
/// Equilibrium Models Can Better Exploit Test-Time Computation", NeurIPS 2022.
public enum PrefixParity {
    /// `count` strings with lengths drawn uniformly from `lengths`, uniform random bits, seeded.
    public static func dataset(count: Int, lengths: ClosedRange<Int>, seed: UInt64) -> Dataset {
        precondition(count >= 1 && lengths.lowerBound >= 1, "need at least one string of length ≥ 1.")
        var generator = SplitMix64(seed: seed)
        var byLength = [Int: (inputs: [Double], targets: [Int], n: Int)]()
        for _ in 0..<count {
            let length = lengths.lowerBound + Int(generator.next() % UInt64(lengths.count))
            var entry = byLength[length] ?? ([], [], 0)
            var parity = 0
            for _ in 0..<length {
                let bit = Int(generator.next() >> 63)
                parity ^= bit
                entry.inputs.append(Double(2 * bit - 1))
                entry.targets.append(parity)
            }
            entry.n += 1
            byLength[length] = entry
        }
        let groups = byLength.keys.sorted().map { length in
            let entry = byLength[length]!
            return Dataset.Group(positions: length, inputs: Matrix(rows: entry.n, columns: length, storage: entry.inputs),
                                 targets: entry.targets)
        }
        return Dataset(groups: groups, inputChannels: 1, classes: 2)
    }
}
