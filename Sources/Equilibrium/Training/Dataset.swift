/// Labelled examples for a per-position classifier, grouped by their number of positions S
/// (sequence length) so that a minibatch binds one cell shape.
///
/// An example's input is channel-major, `inputChannels` × S; its targets are S class indices.
public struct Dataset: Sendable, Equatable {
    /// Examples that share S.
    public struct Group: Sendable, Equatable {
        public var positions: Int
        /// n × (inputChannels · S), one example per row.
        public var inputs: Matrix
        /// n · S class indices, example i's at i·S ..< (i+1)·S.
        public var targets: [Int]

        public init(positions: Int, inputs: Matrix, targets: [Int]) {
            precondition(targets.count == inputs.rows * positions, "\(targets.count) targets for \(inputs.rows) examples of \(positions) positions.")
            self.positions = positions
            self.inputs = inputs
            self.targets = targets
        }

        public var count: Int { inputs.rows }

        /// The examples `indices` as one minibatch.
        public func batch(_ indices: [Int]) -> Batch {
            let width = inputs.columns
            var x = Matrix(rows: indices.count, columns: width)
            var y = [Int]()
            y.reserveCapacity(indices.count * positions)
            for (r, i) in indices.enumerated() {
                x.storage.replaceSubrange((r * width)..<((r + 1) * width), with: inputs.storage[(i * width)..<((i + 1) * width)])
                y.append(contentsOf: targets[(i * positions)..<((i + 1) * positions)])
            }
            return Batch(positions: positions, inputs: x, targets: y)
        }
    }

    /// A minibatch: inputs B × (channels · S), targets B · S.
    public struct Batch: Sendable, Equatable {
        public var positions: Int
        public var inputs: Matrix
        public var targets: [Int]
    }

    public var groups: [Group]
    public var inputChannels: Int
    public var classes: Int

    public init(groups: [Group], inputChannels: Int, classes: Int) {
        self.groups = groups
        self.inputChannels = inputChannels
        self.classes = classes
    }

    public var count: Int { groups.reduce(0) { $0 + $1.count } }

    /// The epoch's minibatches in a seeded order: each group's examples shuffled (Fisher–Yates
    /// with SplitMix64 seeded by `seed` and `epoch`), cut into batches of at most `size`, and the
    /// batches of all groups shuffled together. The same (seed, epoch) gives the same order.
    public func batches(size: Int, seed: UInt64, epoch: Int) -> [Batch] {
        precondition(size >= 1, "the batch size must be at least 1.")
        var generator = SplitMix64(seed: Self.mix(seed, UInt64(epoch) &+ 0x5EED))
        var result = [Batch]()
        for group in groups {
            var order = Array(0..<group.count)
            Self.shuffle(&order, using: &generator)
            var start = 0
            while start < order.count {
                result.append(group.batch(Array(order[start..<min(start + size, order.count)])))
                start += size
            }
        }
        Self.shuffle(&result, using: &generator)
        return result
    }

    /// Every example in batches of at most `size`, in order.
    public func orderedBatches(size: Int) -> [Batch] {
        groups.flatMap { group in
            stride(from: 0, to: group.count, by: size).map { group.batch(Array($0..<min($0 + size, group.count))) }
        }
    }

    /// Fisher–Yates with the generator's own draws (not the standard library's, whose algorithm
    /// may change between releases).
    static func shuffle<T>(_ array: inout [T], using generator: inout SplitMix64) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            array.swapAt(i, j)
        }
    }

    /// A seed for stream `index` of `seed` (one SplitMix64 output of their combination).
    public static func mix(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: seed ^ (index &* 0x9E37_79B9_7F4A_7C15))
        return generator.next()
    }
}
