import Equilibrium
import Foundation

/// Benchmark 2 (Swift side): exports tanh cells for the head-to-head with
/// `scipy.optimize.anderson` and records Swift's own per-sample nfe.
///
/// For each cell, `<out>/cells/<name>/` receives
/// - `W.npy` (d × d) and `X.npy` (B × d, one input per row): the cell is f(z) = tanh(W z + x);
/// - `swift.json`: the cell's settings and, per solver, every sample's nfe, outcome and final
///   relative residual, from z₀ = 0 with the common stopping rule ‖f(z) − z‖/‖f(z)‖ ≤ 1e-8
///   checked at every evaluation.
/// `Benchmarks/python/scipy_anderson.py` reads them and prints the comparison.
enum SciPyExport {
    struct CellSpec {
        var dimension: Int
        var spectralNorm: Double
        var symmetric: Bool
        var injectionScale: Double
        var batchSize: Int
        var seed: UInt64

        var name: String {
            let kind = symmetric ? "sym" : "gen"
            let injection = injectionScale == 1 ? "" : "-inj\(injectionScale)"
            return "d\(dimension)-rho\(spectralNorm)-\(kind)\(injection)"
        }
    }

    struct SolverRecord: Codable {
        var label: String
        var description: String
        var evaluations: [Int]
        var outcomes: [String]
        var relativeResiduals: [Double]
        /// Per-sample mixing β when it differs between samples (the SciPy-matched runs).
        var mixing: [Double]? = nil
    }

    struct CellRecord: Codable {
        var name: String
        var dimension: Int
        var batchSize: Int
        var spectralNorm: Double
        var symmetric: Bool
        var injectionScale: Double
        var seed: UInt64
        var tolerance: Double
        var maxIterations: Int
        var solvers: [SolverRecord]
    }

    static let tolerance = 1e-8
    static let maxIterations = 20_000

    /// d ∈ {64, 512} × ρ ∈ {0.5, 0.9, 0.99} × {non-symmetric, symmetric}, injection N(0, I);
    /// plus two hard cells (symmetric, injection 0.05, J ≈ W) at d = 512.
    static func cells(quick: Bool) -> [CellSpec] {
        var specs: [CellSpec] = []
        let batch = quick ? 2 : 4
        var seed: UInt64 = 100
        for d in [64, 512] {
            for rho in [0.5, 0.9, 0.99] {
                for symmetric in [false, true] {
                    specs.append(CellSpec(dimension: d, spectralNorm: rho, symmetric: symmetric,
                                          injectionScale: 1, batchSize: batch, seed: seed))
                    seed += 1
                }
            }
        }
        for rho in [0.99, 0.999] {
            specs.append(CellSpec(dimension: 512, spectralNorm: rho, symmetric: true, injectionScale: 0.05,
                                  batchSize: batch, seed: seed))
            seed += 1
        }
        return specs
    }

    static func run(_ options: BenchmarkOptions) throws {
        printSection("2. Head to head with SciPy: export (Swift side)")
        let root = options.outputDirectory.appendingPathComponent("cells", isDirectory: true)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: root.path) { try fileManager.removeItem(at: root) }
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        let criteria = try StoppingCriteria(tolerance: tolerance, measure: .relative, maxIterations: maxIterations,
                                        recordHistory: false)
        var table = TextTable(header: ["cell", "B", "forward nfe", "anderson m=5 nfe", "converged"], leftColumns: 1)
        for spec in cells(quick: options.quick) {
            let cell = try TanhCell.random(.init(dimension: spec.dimension, batchSize: spec.batchSize,
                                                 spectralNorm: spec.spectralNorm, symmetric: spec.symmetric,
                                                 injectionScale: spec.injectionScale, seed: spec.seed))
            let directory = root.appendingPathComponent(spec.name, isDirectory: true)
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            try NumPyArray(shape: [spec.dimension, spec.dimension], checking: cell.weight.storage)
                .write(to: directory.appendingPathComponent("W.npy"))
            // U = I and b = 0 for the synthetic cell, so the injection is the input itself.
            try NumPyArray(shape: [spec.batchSize, spec.dimension], checking: cell.injection.storage)
                .write(to: directory.appendingPathComponent("X.npy"))
            let z0 = Matrix(rows: spec.batchSize, columns: spec.dimension)
            var records: [SolverRecord] = []
            var results: [SolveResult] = []
            for solver in [BenchmarkSolver.anderson(memory: 5), .forward] {
                let result = solver.solve(cell, from: z0, criteria: criteria)
                results.append(result)
                records.append(SolverRecord(label: solver.label, description: solver.description,
                                            evaluations: result.samples.map(\.evaluations),
                                            outcomes: result.samples.map(\.outcome.rawValue),
                                            relativeResiduals: result.samples.map(\.relativeResidual)))
            }
            // Anderson m = 5 with the damping scipy picks by itself when alpha=None: its first
            // step is z₀ + α F(z₀) with α = 0.5 max(‖z₀‖, 1)/‖F(z₀)‖ = 0.5/‖f(0)‖ at z₀ = 0, and its
            // Anderson step with that α is ours with mixing β = α. One solve per sample, since
            // β differs between samples.
            var matched = SolverRecord(label: "anderson-m5-scipy-alpha",
                                       description: "anderson m=5, mixing = scipy's automatic alpha",
                                       evaluations: [], outcomes: [], relativeResiduals: [], mixing: [])
            let f0 = try cell(z0)
            for i in 0..<spec.batchSize {
                let alpha = 0.5 / BenchmarkBLAS.nrm2(f0.row(i))
                let single = try cell.binding(input: Matrix(rows: 1, columns: spec.dimension, values: cell.input.row(i)))
                let result = try AndersonAcceleration(memory: 5, mixing: alpha)
                    .solve(single, from: Matrix(rows: 1, columns: spec.dimension), criteria: criteria)
                matched.evaluations.append(result.samples[0].evaluations)
                matched.outcomes.append(result.samples[0].outcome.rawValue)
                matched.relativeResiduals.append(result.samples[0].relativeResidual)
                matched.mixing?.append(alpha)
            }
            records.append(matched)
            let record = CellRecord(name: spec.name, dimension: spec.dimension, batchSize: spec.batchSize,
                                    spectralNorm: spec.spectralNorm, symmetric: spec.symmetric,
                                    injectionScale: spec.injectionScale, seed: spec.seed,
                                    tolerance: tolerance, maxIterations: maxIterations, solvers: records)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: directory.appendingPathComponent("swift.json"))
            table.add([spec.name, "\(spec.batchSize)",
                       results[1].samples.map { "\($0.evaluations)" }.joined(separator: " "),
                       results[0].samples.map { "\($0.evaluations)" }.joined(separator: " "),
                       "\(results[0].convergedFraction) \(results[1].convergedFraction)"])
        }
        print("Swift nfe per sample from z₀ = 0, tol 1e-8 relative (converged: anderson, forward):")
        print("")
        print(table.render())
        print("")
        print("exported to \(root.path)")
        print("compare with: python3 Benchmarks/python/scipy_anderson.py \(root.path)")
    }
}
