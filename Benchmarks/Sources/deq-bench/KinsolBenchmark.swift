import CBenchBLAS
import Equilibrium
import Foundation

/// Issue 13, part 1: one-sample solves head to head with SUNDIALS KINSOL (C).
///
/// Exports tanh cells f(z) = tanh(W z + x) to `<out>/kinsol-cells/<name>/` (`W.npy`, d × d, and
/// `X.npy`, 1 × d: one sample): d ∈ {64, 512, 2048} × {easy: W non-symmetric with ‖W‖₂ = 0.9,
/// x ~ N(0, I); hard: W symmetric with ρ(W) = ‖W‖₂ = 0.99, x ~ N(0, 0.05² I), so J ≈ W}. Each
/// round solves every cell with deq (forward iteration, Anderson m = 5, Newton–Krylov with
/// finite-difference J·v — every probe one f evaluation, as KINSOL's difference quotients) and
/// then runs `kinsol-runner` (Benchmarks/kinsol/kinsol_runner.c, built by scripts/bench.sh) on
/// all cells: KINSOL fixed point, fixed point + Anderson m = 5, Newton–GMRES. Both stop at the
/// first evaluation with ‖f(z) − z‖/‖f(z)‖ ≤ 1e-8 from z₀ = 0 and count every f call. One BLAS
/// thread on both sides (this process sets it; the runner gets OPENBLAS_NUM_THREADS=1).
/// A warm-up round, then `repeats` rounds; times are medians over rounds. Within a round each
/// timed solve, on both sides, directly follows an untimed solve of the same cell and method
/// (the runner's own protocol), so neither side pays for a cold cache the other does not
/// (before this, deq's first method per cell ran right after another cell's solves and was
/// timed with W out of cache, against KINSOL's warm solves). The goal: deq's time
/// per evaluation ≤ KINSOL's and its total time ≤ KINSOL's, pair by pair.
enum KinsolBenchmark {
    struct Spec {
        var dimension: Int
        var hard: Bool
        var seed: UInt64
        var name: String { "d\(dimension)-" + (hard ? "hard-sym-rho0.99" : "easy-gen-rho0.9") }
    }

    static let tolerance = 1e-8

    static func specs(quick: Bool) -> [Spec] {
        var specs: [Spec] = []
        var seed: UInt64 = 1300
        for d in quick ? [64, 512] : [64, 512, 2048] {
            for hard in [false, true] {
                specs.append(Spec(dimension: d, hard: hard, seed: seed))
                seed += 1
            }
        }
        return specs
    }

    /// (deq solver, the KINSOL method it is compared with).
    static let pairs: [(BenchmarkSolver, String, String)] = [
        (.forward, "fp", "fixed point"),
        (.anderson(memory: 5), "fp-aa5", "fixed point + Anderson m=5"),
        (.newtonKrylov(products: .finiteDifference), "newton", "Newton–GMRES (DQ / fd J·v)"),
    ]

    struct RunnerLine: Decodable {
        var cell: String
        var method: String
        var sample: Int
        var nfe: Int
        var converged: Int
        var relres: Double
        var seconds: Double
    }

    static func run(_ options: BenchmarkOptions, runner: URL?) throws {
        printSection("KINSOL head to head: one sample, one BLAS thread (issue 13)")
        let runnerURL = runner ?? options.outputDirectory.appendingPathComponent("kinsol-runner")
        guard FileManager.default.isExecutableFile(atPath: runnerURL.path) else {
            throw BenchmarkError.invalidCell("kinsol-runner not found at \(runnerURL.path); build it with scripts/bench.sh (needs libsundials-dev) or pass --runner PATH")
        }
        openblas_set_num_threads(1)
        print("deq BLAS threads: \(BenchmarkBLAS.threadCount); runner: OPENBLAS_NUM_THREADS=1")
        let root = options.outputDirectory.appendingPathComponent("kinsol-cells", isDirectory: true)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: root.path) { try fileManager.removeItem(at: root) }
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        let specs = specs(quick: options.quick)
        var cells: [TanhCell] = []
        var directories: [String] = []
        for spec in specs {
            let cell = try TanhCell.random(.init(dimension: spec.dimension, batchSize: 1,
                                                 spectralNorm: spec.hard ? 0.99 : 0.9, symmetric: spec.hard,
                                                 injectionScale: spec.hard ? 0.05 : 1, seed: spec.seed))
            let directory = root.appendingPathComponent(spec.name, isDirectory: true)
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            try NumPyArray(shape: [spec.dimension, spec.dimension], checking: cell.weight.storage)
                .write(to: directory.appendingPathComponent("W.npy"))
            try NumPyArray(shape: [1, spec.dimension], checking: cell.injection.storage)
                .write(to: directory.appendingPathComponent("X.npy"))
            cells.append(cell)
            directories.append(directory.path)
        }
        let criteria = try StoppingCriteria(tolerance: tolerance, measure: .relative, maxIterations: 100_000,
                                        recordHistory: false)
        let rounds = options.quick ? 3 : min(options.repeats, 7)
        // times[cell][pair] over rounds; nfe are deterministic (checked equal across rounds).
        var deqTimes = Array(repeating: Array(repeating: [Double](), count: pairs.count), count: specs.count)
        var deqNFE = Array(repeating: Array(repeating: 0, count: pairs.count), count: specs.count)
        var deqConverged = Array(repeating: Array(repeating: false, count: pairs.count), count: specs.count)
        var cTimes = deqTimes
        var cNFE = deqNFE
        var cConverged = deqConverged
        for round in 0...rounds {
            for (c, cell) in cells.enumerated() {
                let z0 = Matrix(rows: 1, columns: cell.dimension)
                for (p, pair) in pairs.enumerated() {
                    // The runner's protocol: an untimed solve of the same cell and method right
                    // before the timed one, so both sides time a solve with the cell in cache.
                    _ = pair.0.solve(cell, from: z0, criteria: criteria)
                    let start = monotonicSeconds()
                    let result = pair.0.solve(cell, from: z0, criteria: criteria)
                    let seconds = monotonicSeconds() - start
                    if round > 0 { deqTimes[c][p].append(seconds) }
                    deqNFE[c][p] = result.samples[0].evaluations
                    deqConverged[c][p] = result.samples[0].converged
                }
            }
            if round == 0 { continue }  // the runner warms up on its own (first solve discarded)
            for line in try runKinsol(runnerURL, directories) {
                guard let c = directories.firstIndex(of: line.cell),
                      let p = pairs.firstIndex(where: { $0.1 == line.method }) else { continue }
                cTimes[c][p].append(line.seconds)
                cNFE[c][p] = line.nfe
                cConverged[c][p] = line.converged == 1
            }
        }
        print("\(rounds) rounds after a warm-up, medians; time/eval = solve time / nfe; \"min ratio\": fastest deq solve / fastest KINSOL solve (information: the least disturbed estimate on a busy machine)")
        print("")
        var table = TextTable(header: ["cell", "method", "deq nfe", "KINSOL nfe", "deq µs/eval", "KINSOL µs/eval",
                                       "ratio", "deq total ms", "KINSOL total ms", "ratio", "min ratio", "verdict"], leftColumns: 2)
        var misses = 0
        for (c, spec) in specs.enumerated() {
            for (p, pair) in pairs.enumerated() {
                let dt = median(deqTimes[c][p]), ct = median(cTimes[c][p])
                let dPer = dt / Double(max(1, deqNFE[c][p])), cPer = ct / Double(max(1, cNFE[c][p]))
                let ok = dPer <= cPer && dt <= ct && deqConverged[c][p]
                if !ok { misses += 1 }
                table.add([spec.name, pair.2,
                           "\(deqNFE[c][p])" + (deqConverged[c][p] ? "" : " (not conv.)"),
                           "\(cNFE[c][p])" + (cConverged[c][p] ? "" : " (not conv.)"),
                           fixed(dPer * 1e6, 1), fixed(cPer * 1e6, 1), fixed(dPer / cPer, 2),
                           fixed(dt * 1e3, 2), fixed(ct * 1e3, 2), fixed(dt / ct, 2),
                           fixed(deqTimes[c][p].min()! / cTimes[c][p].min()!, 2), ok ? "PASS" : "MISS"])
            }
        }
        print(table.render())
        print("")
        print("goal (deq ≤ 1.0× KINSOL per evaluation and in total, every pair): \(misses == 0 ? "PASS" : "MISS (\(misses) pairs)")")
        print(MachineDescription.loadLine(label: "load average at end"))
    }

    /// Runs the C runner once on every cell directory and parses its JSON lines.
    static func runKinsol(_ runner: URL, _ directories: [String]) throws -> [RunnerLine] {
        let process = Process()
        process.executableURL = runner
        process.arguments = directories
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError.invalidCell("kinsol-runner exited with status \(process.terminationStatus)")
        }
        let decoder = JSONDecoder()
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try decoder.decode(RunnerLine.self, from: Data($0.utf8))
        }
    }
}
