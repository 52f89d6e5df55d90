import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq solve`: solve z = f(z) for every sample of one cell and report, per sample, how it ended.
struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve z = f(z) for a batch of samples and report each sample's convergence.",
        discussion: """
            The cell is synthetic (--cell, --dim, --rho, …) or read from .npy files (--weights, \
            --weights-dir, --injection, …; rows are samples). A sample that does not converge is reported, \
            not an error: the exit status is 0 unless --strict is given.
            """
    )

    @OptionGroup(title: "Cell")
    var cell: CellOptions

    @OptionGroup(title: "Solver")
    var solver: SolverOptions

    @OptionGroup(title: "Stopping")
    var stopping: StoppingOptions

    @OptionGroup(title: "Starting point")
    var start: InitOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Write the residual histories to this file, one gnuplot index block per sample.", valueName: "file"),
            completion: .file())
    var trace: String?

    @Option(name: .customLong("save-solution"),
            help: ArgumentHelp("Write the returned points to this .npy file, rows are samples.", valueName: "Z.npy"),
            completion: .file(extensions: ["npy"]))
    var saveSolution: String?

    @Flag(help: "Exit with status 3 when any sample did not converge.")
    var strict = false

    mutating func validate() throws {
        for (path, name) in [(trace, "--trace"), (saveSolution, "--save-solution")] {
            guard let path else { continue }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("\(name) \(path): the directory \(directory) does not exist; expected a path in an existing directory")
            }
        }
        if let saveSolution, !saveSolution.hasSuffix(".npy") {
            throw ValidationError("--save-solution \(saveSolution): expected a file name ending in .npy")
        }
    }

    func run() throws {
        let map = try cell.makeCell()
        let d = map.dimension, b = map.batchSize
        // Files fix the sizes only now: refuse a workspace that cannot be allocated.
        let perSample = 6 * d + solver.workspacePerSample(dimension: d)
        guard perSample <= CellOptions.maxElements / b else {
            throw ValidationError("a batch of \(b) samples of dimension \(d) with this solver needs more than \(CellOptions.maxElements) doubles of workspace; expected a smaller batch, dimension or --memory")
        }
        let (fixedPointSolver, parameters) = solver.makeSolver()
        let criteria = stopping.criteria
        let initial = try start.makeInitialization(batchSize: b, dimension: d).makeBatch(batchSize: b, dimension: d)

        let result = map.solve(with: fixedPointSolver, from: initial, criteria: criteria)
        let report = SolveReport(result: result, options: parameters, initialization: start.report,
                                 cell: cell.report(for: map))

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
            try NumPyArray(shape: [b, d], values: result.solution.storage).write(to: URL(fileURLWithPath: saveSolution))
        }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(SolveTable.render(report))
        }
        if strict && !result.converged { throw ExitCode(3) }
    }
}
