/// Path-independence measurements of Anil et al. (NeurIPS 2022), REFERENCE §5.
///
/// A DEQ is path independent when it reaches the same fixed point from any start. The
/// asymptotic alignment (AA) score: solve every input i from the default start to get zᵢ; then
/// re-solve input i from input j's fixed point z_j to get z_{i|j}; with cᵢⱼ = cos(zᵢ, z_{i|j}),
///
///     AA = (1/B²) Σᵢ Σⱼ cᵢⱼ                     (all B² pairs, i = j included)
///
/// This is the definition of the paper (§4, "asymptotic alignment": the mean over every pair
/// of inputs of the cosine between an input's equilibrium and the one reached when the solve
/// starts from another input's equilibrium) and, as the audit of issue 12 found, of the
/// authors' reference code, which averages the full B × B matrix. The diagonal pairs re-solve
/// input i from its own fixed point, so cᵢᵢ = 1 to solver tolerance and they add (1 − AA_off)/B
/// to the score: with B = 16 a cell whose off-diagonal pairs average 0 scores AA = 1/16 =
/// 0.0625. ``Alignment/offDiagonalScore`` is the mean over i ≠ j only:
///
///     AA_off = (1/(B(B − 1))) Σ_{i≠j} cᵢⱼ,   AA = AA_off + (1/B²) Σᵢ (cᵢᵢ − AA_off).
///
/// A re-solve that did not converge returns its last iterate, not a fixed point; its pair is
/// flagged in ``Alignment/pairConverged`` and ``Alignment/convergedFraction`` says how many
/// converged. ``Alignment/score(over:convergedOnly:)`` gives AA over any of these subsets.
///
/// A contractive cell has AA = 1 to solver tolerance; a cell with several attracting fixed
/// points (a symmetric W with ‖W‖₂ > 1) has AA < 1.
///
/// Cost: B batched re-solves (one per start j, all inputs at once).
///
/// Reference: C. Anil, A. Pokle, K. Liang, J. Treutlein, Y. Wu, S. Bai, J. Z. Kolter,
/// R. Grosse, "Path Independent Equilibrium Models Can Better Exploit Test-Time Computation",
/// NeurIPS 2022, §4.
public enum PathIndependence {
    /// Which pairs (i, j) enter a score.
    public enum Pairs: String, Sendable, Codable, CaseIterable {
        /// All B² pairs, i = j included: the authors' AA.
        case all
        /// i ≠ j only.
        case offDiagonal = "off-diagonal"
    }

    /// The AA score, its per-example means and every pair's cosine and outcome.
    public struct Alignment: Sendable, Equatable {
        /// The number of inputs B.
        public var batchSize: Int
        /// pairCosines[i·B + j] = cos(zᵢ, z_{i|j}).
        public var pairCosines: [Double]
        /// pairConverged[i·B + j]: the re-solve of input i from z_j converged.
        public var pairConverged: [Bool]

        public init(batchSize: Int, pairCosines: [Double], pairConverged: [Bool]) {
            self.batchSize = batchSize
            self.pairCosines = pairCosines
            self.pairConverged = pairConverged
        }

        /// AA = (1/B²) Σᵢⱼ cᵢⱼ over all pairs (the authors' definition).
        public var score: Double { score(over: .all) }
        /// AA over i ≠ j; NaN when B = 1.
        public var offDiagonalScore: Double { score(over: .offDiagonal) }
        /// perExample[i] = (1/B) Σⱼ cᵢⱼ.
        public var perExample: [Double] {
            (0..<batchSize).map { i in pairCosines[(i * batchSize)..<((i + 1) * batchSize)].reduce(0, +) / Double(batchSize) }
        }
        /// Fraction of the B² re-solves that converged.
        public var convergedFraction: Double {
            pairConverged.isEmpty ? .nan : Double(pairConverged.filter { $0 }.count) / Double(pairConverged.count)
        }

        /// The mean of cᵢⱼ over `pairs`, and with `convergedOnly` over the pairs whose re-solve
        /// converged only; NaN when no pair is left.
        public func score(over pairs: Pairs, convergedOnly: Bool = false) -> Double {
            var sum = 0.0, count = 0
            for i in 0..<batchSize {
                for j in 0..<batchSize {
                    if pairs == .offDiagonal && i == j { continue }
                    let k = i * batchSize + j
                    if convergedOnly && !pairConverged[k] { continue }
                    sum += pairCosines[k]
                    count += 1
                }
            }
            return count == 0 ? .nan : sum / Double(count)
        }

        /// The number of pairs a score with these options averages.
        public func pairCount(over pairs: Pairs, convergedOnly: Bool = false) -> Int {
            var count = 0
            for i in 0..<batchSize {
                for j in 0..<batchSize where !(pairs == .offDiagonal && i == j) {
                    if !convergedOnly || pairConverged[i * batchSize + j] { count += 1 }
                }
            }
            return count
        }
    }

    /// cos(a, b) = a·b / (‖a‖ ‖b‖); 1 when both are zero, 0 when exactly one is
    /// (``VectorComparison/cosine(_:_:)``).
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        VectorComparison.cosine(a, b)
    }

    /// The AA score of `map` under `solver`, given the fixed points `reference` (B × d, row i
    /// is zᵢ from the default start).
    public static func alignment<Map: FixedPointMap>(
        of map: Map, solver: any FixedPointSolver, reference: Matrix, criteria: StoppingCriteria
    ) throws(UsageError) -> Alignment {
        let b = map.batchSize, d = map.dimension
        try Check.shape(reference, (b, d), "PathIndependence.alignment", "reference", "B × d of the map, row i is zᵢ")
        var cosines = [Double](repeating: .nan, count: b * b)
        var converged = [Bool](repeating: false, count: b * b)
        for j in 0..<b {
            // Every input starts from z_j.
            let start = Matrix(rows: b, columns: d, storage: Array(repeating: reference.row(j), count: b).flatMap { $0 })
            let result = try solver.solve(map, from: start, criteria: criteria)
            for i in 0..<b {
                cosines[i * b + j] = cosine(reference.row(i), result.solution.row(i))
                converged[i * b + j] = result.samples[i].converged
            }
        }
        return Alignment(batchSize: b, pairCosines: cosines, pairConverged: converged)
    }

    /// The per-example cosine between two solutions of the same inputs (e.g. from a zero and a
    /// Gaussian start).
    public static func rowCosines(_ a: Matrix, _ b: Matrix) throws(UsageError) -> [Double] {
        try Check.shape(b, (a.rows, a.columns), "PathIndependence.rowCosines", "second solution", "the first solution's shape")
        return (0..<a.rows).map { cosine(a.row($0), b.row($0)) }
    }
}
