import Equilibrium
import Foundation

/// Benchmark 4 (Swift side): exports the cells of benchmark 2 for the head-to-head of Broyden and
/// Newton–Krylov with `scipy.optimize.broyden1` and `scipy.optimize.newton_krylov`, and records
/// Swift's per-sample nfe, products and wall times.
///
/// For each cell (the same cells and seeds as ``SciPyExport``), `<out>/nonlin-cells/<name>/`
/// receives `W.npy`, `X.npy` (the cell is f(z) = tanh(W z + x)) and `swift.json`: per solver
/// (Broyden with its defaults, Newton–Krylov with finite-difference J·v, Newton–Krylov with
/// analytic J·v) every sample's nfe, J·v products, Krylov iterations, outcome, final relative
/// residual and wall time of a one-sample solve, and the wall time of the batched solve. The
/// stopping rule is the common ‖f(z) − z‖/‖f(z)‖ ≤ 1e-8 from z₀ = 0, checked at every iterate.
///
/// Timing: one warm-up round, then `repeats` rounds (default 5, 3 with `--quick`); each round
/// solves every sample alone (a one-row binding of the cell, as SciPy solves one sample at a
/// time) with every solver, then the whole batch with every solver, interleaved, so a change of
/// the machine's load hits all alike. Reported times are medians over rounds.
/// `Benchmarks/python/scipy_nonlin.py` reads the files and prints the comparison.
enum SciPyNonlinExport {
    struct SolverRecord: Codable {
        var label: String
        var description: String
        var evaluations: [Int]
        var jacobianVectorProducts: [Int]
        var krylovIterations: [Int]
        var outcomes: [String]
        var relativeResiduals: [Double]
        /// Median wall time of solving sample i alone (a one-row batch), seconds.
        var sampleSeconds: [Double]
        /// Median wall time of one batched solve of all B samples, seconds.
        var batchSeconds: Double
        /// Per-sample nfe in the batched solve (expected equal to the one-sample nfe: samples
        /// share only the batched f calls).
        var batchEvaluations: [Int]
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
        var rounds: Int
        var solvers: [SolverRecord]
    }

    static let solvers: [BenchmarkSolver] = [.broyden, .newtonKrylov(products: .finiteDifference),
                                             .newtonKrylov(products: .analytic)]

    /// Times one-sample solves of every solver on an exported cell directory (`W.npy`, `X.npy`)
    /// and prints one JSON object `{label: [seconds per sample]}` (median of `rounds` rounds after
    /// a warm-up round). `scipy_nonlin.py --interleave` calls it between its own SciPy runs of the
    /// same cell, so that Swift and SciPy are timed in the same stretch of machine load.
    static func timeCell(directory: URL, rounds: Int) throws {
        let weight = try NumPyArray.read(contentsOf: directory.appendingPathComponent("W.npy"))
        let inputs = try NumPyArray.read(contentsOf: directory.appendingPathComponent("X.npy"))
        guard weight.shape.count == 2, weight.shape[0] == weight.shape[1], inputs.shape.count == 2,
              inputs.shape[1] == weight.shape[0] else {
            throw BenchmarkError.invalidCell("\(directory.path): expected W.npy d × d and X.npy B × d, got \(weight.shape) and \(inputs.shape)")
        }
        let d = weight.shape[0], b = inputs.shape[0]
        let w = try Matrix(rows: d, columns: d, values: weight.values)
        let criteria = try StoppingCriteria(tolerance: SciPyExport.tolerance, measure: .relative,
                                        maxIterations: SciPyExport.maxIterations, recordHistory: false)
        let singles = (0..<b).map { i in
            try! TanhCell(weight: w, input: Matrix(rows: 1, columns: d, values: Array(inputs.values[(i * d)..<((i + 1) * d)])))
        }
        let z0 = Matrix(rows: 1, columns: d)
        var times = Array(repeating: Array(repeating: [Double](), count: b), count: solvers.count)
        for round in 0...rounds {
            for (k, solver) in solvers.enumerated() {
                for (i, single) in singles.enumerated() {
                    let start = monotonicSeconds()
                    _ = solver.solve(single, from: z0, criteria: criteria)
                    if round > 0 { times[k][i].append(monotonicSeconds() - start) }
                }
            }
        }
        var object: [String: [Double]] = [:]
        for (k, solver) in solvers.enumerated() { object[solver.label] = times[k].map(median) }
        let data = try JSONEncoder().encode(object)
        print(String(decoding: data, as: UTF8.self))
    }

    static func run(_ options: BenchmarkOptions) throws {
        printSection("4. Broyden and Newton–Krylov against SciPy: export (Swift side)")
        let root = options.outputDirectory.appendingPathComponent("nonlin-cells", isDirectory: true)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: root.path) { try fileManager.removeItem(at: root) }
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        let criteria = try StoppingCriteria(tolerance: SciPyExport.tolerance, measure: .relative,
                                        maxIterations: SciPyExport.maxIterations, recordHistory: false)
        let rounds = options.quick ? 3 : 5
        print("""
        Same cells and seeds as step 2; tol 1e-8 relative, z₀ = 0, history off. Wall times are medians of
        \(rounds) interleaved rounds (after a warm-up round) of one-sample solves and of the batched solve.
        """)
        var table = TextTable(header: ["cell", "B", "broyden nfe", "NK fd nfe", "NK analytic nfe+jvp", "converged"],
                              leftColumns: 1)
        for spec in SciPyExport.cells(quick: options.quick) {
            let cell = try TanhCell.random(.init(dimension: spec.dimension, batchSize: spec.batchSize,
                                                 spectralNorm: spec.spectralNorm, symmetric: spec.symmetric,
                                                 injectionScale: spec.injectionScale, seed: spec.seed))
            let directory = root.appendingPathComponent(spec.name, isDirectory: true)
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            try NumPyArray(shape: [spec.dimension, spec.dimension], checking: cell.weight.storage)
                .write(to: directory.appendingPathComponent("W.npy"))
            try NumPyArray(shape: [spec.batchSize, spec.dimension], checking: cell.injection.storage)
                .write(to: directory.appendingPathComponent("X.npy"))
            let singles = (0..<spec.batchSize).map { i in
                try! cell.binding(input: Matrix(rows: 1, columns: spec.dimension, values: cell.input.row(i)))
            }
            let z0 = Matrix(rows: spec.batchSize, columns: spec.dimension)
            let z0Single = Matrix(rows: 1, columns: spec.dimension)
            var sampleTimes = Array(repeating: Array(repeating: [Double](), count: spec.batchSize), count: solvers.count)
            var batchTimes = Array(repeating: [Double](), count: solvers.count)
            var sampleReports = Array(repeating: [SampleReport?](repeating: nil, count: spec.batchSize), count: solvers.count)
            var batchResults = [SolveResult?](repeating: nil, count: solvers.count)
            for round in 0...rounds {  // round 0 is the warm-up
                for (k, solver) in solvers.enumerated() {
                    for (i, single) in singles.enumerated() {
                        let start = monotonicSeconds()
                        let result = solver.solve(single, from: z0Single, criteria: criteria)
                        let seconds = monotonicSeconds() - start
                        if round > 0 { sampleTimes[k][i].append(seconds) }
                        sampleReports[k][i] = result.samples[0]
                    }
                }
                for (k, solver) in solvers.enumerated() {
                    let start = monotonicSeconds()
                    let result = solver.solve(cell, from: z0, criteria: criteria)
                    let seconds = monotonicSeconds() - start
                    if round > 0 { batchTimes[k].append(seconds) }
                    batchResults[k] = result
                }
            }
            var records: [SolverRecord] = []
            for (k, solver) in solvers.enumerated() {
                let reports = sampleReports[k].map { $0! }
                records.append(SolverRecord(label: solver.label, description: solver.description,
                                            evaluations: reports.map(\.evaluations),
                                            jacobianVectorProducts: reports.map(\.jacobianVectorProducts),
                                            krylovIterations: reports.map { $0.krylovIterations ?? 0 },
                                            outcomes: reports.map(\.outcome.rawValue),
                                            relativeResiduals: reports.map(\.relativeResidual),
                                            sampleSeconds: sampleTimes[k].map(median),
                                            batchSeconds: median(batchTimes[k]),
                                            batchEvaluations: batchResults[k]!.samples.map(\.evaluations)))
            }
            let record = CellRecord(name: spec.name, dimension: spec.dimension, batchSize: spec.batchSize,
                                    spectralNorm: spec.spectralNorm, symmetric: spec.symmetric,
                                    injectionScale: spec.injectionScale, seed: spec.seed,
                                    tolerance: SciPyExport.tolerance, maxIterations: SciPyExport.maxIterations,
                                    rounds: rounds, solvers: records)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: directory.appendingPathComponent("swift.json"))
            func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: " ") }
            let analytic = zip(records[2].evaluations, records[2].jacobianVectorProducts).map { "\($0)+\($1)" }
            let converged = records.map { r in "\(r.outcomes.filter { $0 == "converged" }.count)/\(spec.batchSize)" }
            table.add([spec.name, "\(spec.batchSize)", list(records[0].evaluations), list(records[1].evaluations),
                       analytic.joined(separator: " "), converged.joined(separator: " ")])
        }
        print("Swift nfe per sample (one-sample solves; converged: broyden, NK fd, NK analytic):")
        print("")
        print(table.render())
        print("")
        print("exported to \(root.path)")
        print("compare with: python3 Benchmarks/python/scipy_nonlin.py \(root.path)")
    }
}

/// A benchmark input that cannot be used (named in the message).
enum BenchmarkError: Error, CustomStringConvertible {
    case invalidCell(String)

    var description: String {
        switch self {
        case .invalidCell(let message): return message
        }
    }
}
