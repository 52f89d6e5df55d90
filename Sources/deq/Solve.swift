import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq solve`: solve z = f(z) for every sample of one cell and report, per sample, how it ended.
struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve z = f(z) for a batch of samples and report each sample's convergence.",
        discussion: """
            The cell is synthetic (--cell tanh --dim 512 --rho 0.99 …) or read from files \
            (--weights W.npy or --weights model.safetensors --prefix deq.f., --injection X.npy; rows are \
            samples). A sample that \
            does not converge is reported, not an error: the exit status is 0 unless --strict is \
            given. On a terminal, a solve longer than a second shows its progress on stderr.

            \(CatalogHelp.cells)

            \(CatalogHelp.solvers)
            """
    )

    @Option(help: "The cell (see the list below).")
    var cell: String = "tanh"

    @Option(help: "The fixed-point solver (see the list below).")
    var solver: String = "anderson"

    @OptionGroup(title: "Stopping")
    var stopping: StoppingOptions

    @OptionGroup(title: "Starting point")
    var start: InitOptions

    @OptionGroup(title: "Resources")
    var resources: ResourceOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Write the residual histories to this file, one gnuplot index block per sample.", valueName: "file"),
            completion: .file())
    var trace: String?

    @Option(name: .customLong("save-solution"),
            help: ArgumentHelp("Write the returned points, rows are samples, to this .npy file (or as array z of a .safetensors or .npz file).", valueName: "Z.npy"),
            completion: .file(extensions: ["npy"]))
    var saveSolution: String?

    @Flag(help: "Exit with status 3 when any sample did not converge.")
    var strict = false

    @Option(name: .customLong("sample-threads"),
            help: ArgumentHelp("Solve the batch as N groups of samples at once, one thread and one BLAS thread each (SampleParallel); faster than OpenBLAS threading on the convolutional cells (Benchmarks/README.md). 1: one solve with OPENBLAS_NUM_THREADS BLAS threads. No progress line for N > 1.", valueName: "N"))
    var sampleThreads: Int = 1

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The cell's and the solver's options (listed below).", valueName: "options"))
    var catalogOptions: [String] = []

    /// `solver` solving `threads` groups of samples at once.
    static func grouped(_ solver: some FixedPointSolver, threads: Int) throws(UsageError) -> any FixedPointSolver {
        try SampleParallel(solver, threads: threads)
    }

    /// The cell and solver with the options given.
    func choices() throws -> (cell: CellChoice, solver: SolverChoice) {
        try CatalogOptions.choices(cell: cell, solver: solver, arguments: catalogOptions)
    }

    mutating func validate() throws {
        _ = try choices()
        try OutputPath.check(trace, option: "--trace")
        try OutputPath.check(saveSolution, option: "--save-solution", extensions: ["npy", "safetensors", "npz"])
        let limit = SampleParallel<ForwardIteration>.threadLimit
        guard (1...limit).contains(sampleThreads) else {
            throw ValidationError("--sample-threads \(sampleThreads): expected an integer in 1…\(limit) (groups of samples solved at once; typically the number of cores)")
        }
    }

    func run() throws {
        let (cellChoice, solverChoice) = try choices()
        let budget = resources.budget
        let map = try cellChoice.makeMap(budget: budget)
        let d = map.dimension, b = map.batchSize
        let (fixedPointSolver, parameters) = try solverChoice.makeSolver()
        let criteria = try stopping.criteria(history: true)
        try budget.checkSolve(fixedPointSolver, batchSize: b, dimension: d, criteria: criteria, source: "--solver \(solver)")
        let initial = try start.makeInitialization(batchSize: b, dimension: d).makeBatch(batchSize: b, dimension: d)

        let progress = SolveProgressLine(enabled: sampleThreads == 1 && !json && isatty(STDERR_FILENO) == 1)
        let result = sampleThreads > 1
            ? try Self.grouped(fixedPointSolver, threads: sampleThreads).solve(map, from: initial, criteria: criteria, observer: nil)
            : try fixedPointSolver.solve(map, from: initial, criteria: criteria, observer: progress.observer)
        progress.finish()
        let report = SolveReport(result: result, options: parameters, initialization: start.report,
                                 cell: cellChoice.report(for: map))

        if let trace {
            let writer = ResidualTraceWriter(comments: [
                "deq solve residual trace: one index block per sample",
                "solver: \(report.solver) \(parameters.summary)",
                "cell: \(report.cell.summary)",
                "criteria: \(report.criteria.summary)",
                "init: \(report.initialization.summary)",
                "gnuplot: plot '\(URL(fileURLWithPath: trace).lastPathComponent)' index 0 using 2:4 with lines",
            ])
            try writer.write(result, to: URL(fileURLWithPath: trace))
        }
        if let saveSolution {
            try ArrayStore.write([try NamedArray("z", shape: [b, d], values: result.solution.storage)], to: URL(fileURLWithPath: saveSolution))
        }

        if json {
            print(try JSONFormat.text(report))
        } else {
            print(SolveTable.render(report))
        }
        if strict && !result.converged {
            let failed = result.samples.filter { !$0.converged }.count
            FileHandle.standardError.write(Data("deq solve: \(failed) of \(result.samples.count) samples did not converge; exit status 3 (--strict)\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// Checks of output paths before a run starts.
enum OutputPath {
    /// The folder of `path` exists; the path, when it exists, is a regular file (never a device,
    /// a FIFO or a folder); its extension is one of `extensions` when given.
    static func check(_ path: String?, option: String, extensions: [String] = []) throws {
        guard let path else { return }
        let url = URL(fileURLWithPath: path)
        if !extensions.isEmpty, !extensions.contains(url.pathExtension) {
            throw ValidationError("\(option) \(path): expected a file name ending in \(extensions.map { ".\($0)" }.joined(separator: " or "))")
        }
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(option) \(path): the directory \(directory) does not exist; expected a path in an existing directory")
        }
        if let problem = AtomicFile.destinationProblem(url) {
            throw ValidationError("\(option) \(path): \(problem)")
        }
    }
}
