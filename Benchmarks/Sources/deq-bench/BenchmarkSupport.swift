import CCoreProbe
import Equilibrium
import Foundation

/// Settings shared by every benchmark, parsed from the command line by `main.swift`.
struct BenchmarkOptions {
    /// Fewer repeats and the smaller cells only, for a smoke run.
    var quick = false
    /// Timed rounds of the overhead benchmark after one warm-up round; medians are reported.
    var repeats = 15
    /// Where generated files go (`Benchmarks/out` by default, git-ignored).
    var outputDirectory: URL
}

/// Seconds on the monotonic clock.
@inline(__always)
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The median of a non-empty list (the mean of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of an empty list")
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid])
}

/// `value` formatted with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

/// A plain-text table: a header, a rule and aligned rows. The first `leftColumns` columns are
/// left-aligned (labels); the others right-aligned (numbers).
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    var leftColumns = 1

    mutating func add(_ row: [String]) {
        precondition(row.count == header.count, "table row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i < leftColumns ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// Prints a section title underlined.
func printSection(_ title: String) {
    print("")
    print(title)
    print(String(repeating: "=", count: title.count))
}

/// The machine and library settings that the figures depend on, printed at the top of a run.
enum MachineDescription {
    static var lines: [String] {
        var lines: [String] = []
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
            ?? "unknown CPU"
        var system = utsname()
        uname(&system)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        let os = (try? String(contentsOfFile: "/etc/debian_version", encoding: .utf8))
            .map { "Debian " + $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? text(system.sysname)
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
        lines.append("machine: \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(fixed(memory, 1)) GiB; \(os), \(text(system.sysname)) \(text(system.release)) \(text(system.machine))")
        lines.append("OpenBLAS threads (openblas_get_num_threads): \(BenchmarkBLAS.threadCount)")
        let environment = ProcessInfo.processInfo.environment
        let keys = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
        let set = keys.map { key in "\(key)=\(environment[key] ?? "(unset)")" }
        lines.append("environment: " + set.joined(separator: " "))
        #if DEBUG
        lines.append("build: DEBUG — timings are meaningless; build with -c release")
        #else
        lines.append("build: release (library -O, benchmark -Ounchecked)")
        #endif
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            let fields = load.split(separator: " ").prefix(3).joined(separator: " ")
            lines.append("load average at start (1, 5, 15 min): \(fields)  (other jobs on these cores inflate and scatter timings)")
        }
        lines.append(crossCoreLine(label: "cross-core round trip at start"))
        lines.append("commit: \(gitCommit)")
        let date = ISO8601DateFormatter().string(from: Date())
        lines.append("date: \(date)")
        return lines
    }
}

extension MachineDescription {
    /// "label (1, 5, 15 min): a b c".
    static func loadLine(label: String) -> String {
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
            .map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "unavailable"
        return "\(label) (1, 5, 15 min): \(load)"
    }

    /// "label: 62 ns (…)": the round trip of a cache line between the first two CPUs
    /// (`core_probe_round_trip_ns`, median of 5 runs of 20 000 round trips). On the issue-13
    /// virtual machine it took three values: about 60 ns (the hypervisor gave the two vCPUs cores
    /// that share a cache), about 200 ns and about 390 ns (cores farther apart), changing from one
    /// run to the next and within runs; two-thread work that hands data between the cores (a
    /// convolutional cell's GEMM on two threads, then its copies and norms on one) was up to 2.5×
    /// slower at 390 ns (Benchmarks/README.md, "Two-thread timings and vCPU placement").
    static func crossCoreLine(label: String) -> String {
        let nanoseconds = core_probe_round_trip_ns(20_000, 5)
        guard nanoseconds > 0 else { return "\(label): unavailable (fewer than two CPUs, or pinning refused)" }
        let placement = nanoseconds < 120 ? "the vCPUs' cores share a cache"
                                          : "the vCPUs' cores are far apart: two-thread work that hands data between them slows"
        return "\(label): \(fixed(nanoseconds, 0)) ns (\(placement))"
    }

    /// The repository's HEAD commit (short), or "unknown".
    static var gitCommit: String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path,
                             "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }
}

/// Accumulated time spent inside a map's evaluations.
final class EvaluationClock {
    var seconds = 0.0
    var calls = 0
}

/// A map that times every evaluation of the map it wraps (two clock reads per batched call,
/// about 50 ns, against ≥ 0.1 ms for the cells timed here).
struct TimedMap<Base: FixedPointMap>: FixedPointMap {
    let base: Base
    let clock: EvaluationClock

    var dimension: Int { base.dimension }
    var batchSize: Int { base.batchSize }

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                  samples: UnsafeBufferPointer<Int>) {
        let start = monotonicSeconds()
        base.evaluate(z, into: fz, samples: samples)
        clock.seconds += monotonicSeconds() - start
        clock.calls += 1
    }
}

/// A map that times its evaluations (into `evaluations`) and its Jacobian–vector products (into
/// `products`) and forwards everything to the map it wraps; as a ``DifferentiableMap`` it lets
/// Newton–Krylov use the wrapped cell's analytic products, so its solve time splits into f, J·v
/// and the rest.
struct TimedDifferentiableMap<Base: DifferentiableMap>: DifferentiableMap {
    let base: Base
    let evaluations: EvaluationClock
    let products: EvaluationClock

    var dimension: Int { base.dimension }
    var batchSize: Int { base.batchSize }

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                  samples: UnsafeBufferPointer<Int>) {
        let start = monotonicSeconds()
        base.evaluate(z, into: fz, samples: samples)
        evaluations.seconds += monotonicSeconds() - start
        evaluations.calls += 1
    }

    func makeJacobianWorkspace(maxSamples: Int) -> Base.JacobianWorkspace {
        base.makeJacobianWorkspace(maxSamples: maxSamples)
    }

    func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: Base.JacobianWorkspace) {
        let start = monotonicSeconds()
        base.jacobianVectorProduct(at: z, image: fz, vector: v, into: out, samples: samples, workspace: workspace)
        products.seconds += monotonicSeconds() - start
        products.calls += 1
    }

    func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: Base.JacobianWorkspace) {
        base.vectorJacobianProduct(at: z, image: fz, covector: u, into: out, samples: samples, workspace: workspace)
    }
}

/// The solvers the benchmarks compare, made by the library's catalog.
/// Broyden and Newton–Krylov run with their library defaults (Broyden L = 20, restart, no line
/// search; Newton–Krylov GMRES(40), 2 restarts, Eisenstat–Walker, line search) except for the
/// source of Newton–Krylov's J·v products.
enum BenchmarkSolver: CustomStringConvertible {
    case forward
    case anderson(memory: Int)
    case broyden
    case newtonKrylov(products: JacobianProducts)

    var description: String {
        switch self {
        case .forward: return "forward"
        case .anderson(let m): return "anderson m=\(m)"
        case .broyden: return "broyden L=\(Broyden().memory)"
        case .newtonKrylov(let products):
            return "newton-krylov " + (products == .finiteDifference ? "fd J·v" : "analytic J·v")
        }
    }

    /// A short label for file names and JSON keys.
    var label: String {
        switch self {
        case .forward: return "forward"
        case .anderson(let m): return "anderson-m\(m)"
        case .broyden: return "broyden"
        case .newtonKrylov(let products): return products == .finiteDifference ? "newton-krylov-fd" : "newton-krylov-analytic"
        }
    }

    /// The solver made and then the solve; a `UsageError` here is a bug of the benchmark itself,
    /// so it stops the run.
    func solve<Map: FixedPointMap>(_ map: Map, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult {
        Self.solve(make(), map, from: initial, criteria: criteria)
    }

    /// A solve with a solver made beforehand (``make()``), so that a timing around it measures the
    /// solve alone, as a user who makes the solver once and solves many batches would.
    static func solve<Map: FixedPointMap>(_ solver: any FixedPointSolver, _ map: Map, from initial: Matrix,
                                          criteria: StoppingCriteria) -> SolveResult {
        do {
            return try solver.solve(map, from: initial, criteria: criteria)
        } catch {
            fatalError("deq-bench: \(solver.name) rejected the solve: \(error)")
        }
    }

    /// The solver from the library's catalog (the one place names and defaults live), by name
    /// with the benchmark's settings.
    func make() -> any FixedPointSolver {
        let (name, parameters): (String, [String: ParameterValue])
        switch self {
        case .forward: (name, parameters) = ("forward", [:])
        case .anderson(let m): (name, parameters) = ("anderson", ["memory": .integer(m)])
        case .broyden: (name, parameters) = ("broyden", [:])
        case .newtonKrylov(let products):
            (name, parameters) = ("newton-krylov", ["jvp": .text(products == .finiteDifference ? "fd" : "analytic")])
        }
        do {
            return try Catalog.standard.solver(named: name).makeSolver(parameters)
        } catch {
            fatalError("deq-bench: \(self) rejected its settings: \(error)")
        }
    }
}

extension SolveResult {
    /// "k/B" converged samples.
    var convergedFraction: String {
        "\(samples.filter(\.converged).count)/\(samples.count)"
    }

    /// The largest analytic J·v count over the samples.
    var maxJacobianVectorProducts: Int { samples.map(\.jacobianVectorProducts).max() ?? 0 }

    /// The mean nfe over the samples.
    var meanEvaluations: Double {
        Double(totalEvaluations) / Double(max(1, samples.count))
    }
}
