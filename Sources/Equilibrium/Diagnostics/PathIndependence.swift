/// Path-independence measurements of Anil et al. (NeurIPS 2022), docs/MATH.md "Path independence".
///
/// A DEQ is path independent when it reaches the same fixed point from any start. The
/// asymptotic alignment (AA) score: solve every input i from the default start to get zᵢ; then
/// re-solve input i from input j's fixed point z_j to get z_{i|j}; AA = mean over (i, j) of
/// cos(zᵢ, z_{i|j}). A contractive cell has AA = 1 to solver tolerance; a cell with several
/// attracting fixed points (a symmetric W with ‖W‖₂ > 1) has AA < 1.
///
/// Cost: B batched re-solves (one per start j, all inputs at once).
///
/// Reference: C. Anil, A. Pokle, K. Liang, J. Treutlein, Y. Wu, S. Bai, J. Z. Kolter,
/// R. Grosse, "Path Independent Equilibrium Models Can Better Exploit Test-Time Computation",
/// NeurIPS 2022.
public enum PathIndependence {
    /// The AA score and its per-example means.
    public struct Alignment: Sendable, Equatable {
        /// mean over (i, j) of cos(zᵢ, z_{i|j}).
        public var score: Double
        /// perExample[i] = mean over j of cos(zᵢ, z_{i|j}).
        public var perExample: [Double]
        /// Fraction of the B² re-solves that converged.
        public var convergedFraction: Double
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
        var sums = [Double](repeating: 0, count: b)
        var converged = 0
        for j in 0..<b {
            // Every input starts from z_j.
            let start = Matrix(rows: b, columns: d, storage: Array(repeating: reference.row(j), count: b).flatMap { $0 })
            let result = try solver.solve(map, from: start, criteria: criteria)
            for i in 0..<b {
                sums[i] += cosine(reference.row(i), result.solution.row(i))
                if result.samples[i].converged { converged += 1 }
            }
        }
        let perExample = sums.map { $0 / Double(b) }
        return Alignment(score: perExample.reduce(0, +) / Double(b), perExample: perExample,
                         convergedFraction: Double(converged) / Double(b * b))
    }

    /// The per-example cosine between two solutions of the same inputs (e.g. from a zero and a
    /// Gaussian start).
    public static func rowCosines(_ a: Matrix, _ b: Matrix) throws(UsageError) -> [Double] {
        try Check.shape(b, (a.rows, a.columns), "PathIndependence.rowCosines", "second solution", "the first solution's shape")
        return (0..<a.rows).map { cosine(a.row($0), b.row($0)) }
    }
}
