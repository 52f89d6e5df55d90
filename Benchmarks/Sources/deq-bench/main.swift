import Equilibrium
import Foundation

// deq-bench: the benchmarks of the solvers (see Benchmarks/README.md). This file only parses
// the command line and dispatches; each benchmark lives in its own file.

let usage = """
usage: deq-bench <overhead|alloc|scipy|hard|scipy-nonlin|families|overhead-nonlin|time-nonlin DIR|backward|convolution|kinsol|roofline|threads|profile SOLVER D B N|all> [--quick] [--repeats N] [--out DIR] [--runner PATH] [--no-header]

  overhead  solve time / (nfe × one batched evaluation), forward and Anderson m=5
  alloc     heap allocations of a solve at 50, 500, 5000 iterations (must not grow)
  scipy     export cells + Swift nfe for Benchmarks/python/scipy_anderson.py
  hard      hard symmetric cells: forward vs Anderson m ∈ {5, 10, 20, 40}
  scipy-nonlin     export cells + Swift Broyden/Newton–Krylov nfe and times for Benchmarks/python/scipy_nonlin.py (issue 3)
  time-nonlin DIR  one-sample solve times (JSON) of Broyden/Newton–Krylov on an exported cell (called by scipy_nonlin.py)
  families         hard cells: forward, Anderson, Broyden, Newton–Krylov side by side (issue 3)
  overhead-nonlin  Broyden overhead ratio; Newton–Krylov time split f / J·v / rest (issue 3)
  backward  backward cost of exact, phantom, Jacobian-free and SHINE gradients (issue 5)
  convolution  convolution cell throughput against plain GEMM; solvers on the tutorial's 2-D cell (issue 6)
  kinsol    one-sample solves against SUNDIALS KINSOL (C runner, one BLAS thread) (issue 13)
  roofline  every built-in cell's f, J·v, vᵀJ against its bare BLAS calls + elementwise pass, B ∈ {1, 8, 64} (issue 13)
  threads   batch solves on 1 and 2 threads: BLAS threading vs per-sample parallelism (issue 13)
  profile SOLVER D B N  N solves of one overhead cell (SOLVER: forward, anderson-m5, anderson-m20, broyden, newton-krylov, newton-krylov-fd), for perf
  all       overhead, alloc, scipy, hard, scipy-nonlin, families, overhead-nonlin, in that order

  --quick       fewer repeats (3), smaller cells only, fewer samples
  --repeats N   overhead and overhead-nonlin rounds after one warm-up round (default 15; 3 with --quick);
                time-nonlin rounds (default 1)
  --out DIR     output directory (default: Benchmarks/out)
  --runner PATH the KINSOL runner (default: <out>/kinsol-runner, built by scripts/bench.sh)
  --no-header   do not print the machine header (scripts/bench.sh prints it once)
"""

enum Command: String, CaseIterable {
    case overhead, alloc, scipy, hard, backward, convolution, kinsol, roofline, threads, profile, all
    case scipyNonlin = "scipy-nonlin", timeNonlin = "time-nonlin", families, overheadNonlin = "overhead-nonlin"
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n\n" + usage + "\n").utf8))
    exit(2)
}

// Benchmarks/Sources/deq-bench/main.swift → Benchmarks/out
let defaultOutput = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("out", isDirectory: true)
var options = BenchmarkOptions(outputDirectory: defaultOutput)
var command: Command?
var repeatsGiven: Int?
var printsHeader = true
var cellDirectory: URL?
var runnerPath: URL?
var profileWords: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--quick":
        options.quick = true
    case "--no-header":
        printsHeader = false
    case "--repeats":
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value >= 1 else {
            fail("--repeats expects a positive integer")
        }
        repeatsGiven = value
    case "--out":
        guard let value = arguments.popFirst() else { fail("--out expects a directory") }
        options.outputDirectory = URL(fileURLWithPath: value, isDirectory: true)
    case "--runner":
        guard let value = arguments.popFirst() else { fail("--runner expects the path of kinsol-runner") }
        runnerPath = URL(fileURLWithPath: value)
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        if command == .profile, !argument.hasPrefix("-") {
            profileWords.append(argument)
            continue
        }
        if command == .timeNonlin, cellDirectory == nil, !argument.hasPrefix("-") {
            cellDirectory = URL(fileURLWithPath: argument, isDirectory: true)
            continue
        }
        guard command == nil, let parsed = Command(rawValue: argument) else {
            fail("unknown argument '\(argument)'; expected one of \(Command.allCases.map(\.rawValue).joined(separator: ", ")) and options")
        }
        command = parsed
    }
}
guard let command else { fail("missing benchmark name") }
options.repeats = repeatsGiven ?? (options.quick ? 3 : 15)

if command == .timeNonlin {
    guard let cellDirectory else { fail("time-nonlin expects a cell directory (with W.npy and X.npy)") }
    do {
        try SciPyNonlinExport.timeCell(directory: cellDirectory, rounds: repeatsGiven ?? 1)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("deq-bench: \(error)\n".utf8))
        exit(1)
    }
}

if command == .profile {
    guard let settings = ProfileLoop.settings(profileWords) else {
        fail("profile expects SOLVER D B N (forward|anderson-m5|anderson-m20|broyden, 1 ≤ D ≤ 8192, 1 ≤ B ≤ 256, 1 ≤ N ≤ 1000000), got '\(profileWords.joined(separator: " "))'")
    }
    do {
        try ProfileLoop.run(settings)
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("deq-bench: \(error)\n".utf8))
        exit(1)
    }
}

if printsHeader {
    print("deq-bench \(command.rawValue)\(options.quick ? " --quick" : "")")
    for line in MachineDescription.lines { print(line) }
}

do {
    switch command {
    case .overhead: try OverheadBenchmark.run(options)
    case .alloc: try AllocationBenchmark.run(options)
    case .scipy: try SciPyExport.run(options)
    case .hard: try HardCellsBenchmark.run(options)
    case .backward: try BackwardBenchmark.run()
    case .convolution: try ConvolutionBenchmark.run()
    case .kinsol: try KinsolBenchmark.run(options, runner: runnerPath)
    case .roofline: try RooflineBenchmark.run(options)
    case .threads: try ThreadsBenchmark.run(options)
    case .scipyNonlin: try SciPyNonlinExport.run(options)
    case .timeNonlin, .profile: break  // handled above
    case .families: try SolverFamiliesBenchmark.run(options)
    case .overheadNonlin: try NonlinOverheadBenchmark.run(options)
    case .all:
        try OverheadBenchmark.run(options)
        try AllocationBenchmark.run(options)
        try SciPyExport.run(options)
        try HardCellsBenchmark.run(options)
        try SciPyNonlinExport.run(options)
        try SolverFamiliesBenchmark.run(options)
        try NonlinOverheadBenchmark.run(options)
    }
} catch {
    FileHandle.standardError.write(Data("deq-bench: \(error)\n".utf8))
    exit(1)
}
