import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq compare`: solvers compared on one cell (``Comparison``).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare solvers on one cell: a table and residual curves.",
        discussion: """
            Builds a one-cell experiment from the options and runs it like deq run: the summary \
            table is printed, the curves (.dat, .gp, PNG) go to the results folder. A solver \
            option applies to every listed solver that takes it (--memory sets Anderson's m and \
            Broyden's L). Rerunning the same comparison resumes.

            \(CatalogHelp.cells)

            \(CatalogHelp.solvers)
            """
    )

    @Option(help: "The cell (see the list below).")
    var cell: String = "tanh"

    @Option(help: ArgumentHelp("Comma-separated solvers to compare.", valueName: "list"))
    var solvers: String = Catalog.standard.solvers.map(\.name).joined(separator: ",")

    @OptionGroup(title: "Stopping")
    var stopping: StoppingOptions

    @Option(help: "Independent draws of the synthetic cell.")
    var repeats: Int = 1

    @Option(help: ArgumentHelp("The results folder. (default: Results/compare-<cell>-<hash of the options>)", valueName: "dir"))
    var out: String?

    @Flag(help: "Do not show progress on stderr.")
    var quiet = false

    @Flag(name: .customLong("no-plots"), help: "Write the gnuplot files but do not render pictures.")
    var noPlots = false

    @OptionGroup(title: "Resources")
    var resources: ResourceOptions

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The cell's and the solvers' options.", valueName: "options"))
    var catalogOptions: [String] = []

    /// The largest number of repeats accepted (each one a full comparison).
    static let repeatLimit = 10_000

    /// The comparison these options describe.
    func comparison() throws -> Comparison {
        let names = solvers.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var choices: [SolverChoice] = []
        for name in names {
            let choice = try SolverChoice(name: name, option: "--solvers")
            guard !choices.contains(where: { $0.entry.name == name }) else { throw ValidationError("--solvers lists \(name) twice") }
            choices.append(choice)
        }
        let cellEntry = try CellChoice(name: cell, given: [:])
        let options = try CatalogOptions(catalogOptions, targets: [cellEntry.target] + choices.map(\.target))
        let cellChoice = try CellChoice(name: cell, given: options.values[0])
        guard (1...Self.repeatLimit).contains(repeats) else {
            throw ValidationError("--repeats must lie in 1…\(Self.repeatLimit) (independent draws of the cell); got \(repeats)")
        }
        if repeats > 1, cellChoice.given.keys.contains(where: { $0 == "weights" }) {
            throw ValidationError("--repeats draws new synthetic cells; with weights from files there is one cell, drop --repeats")
        }
        let criteria = try stopping.criteria()
        var spec = StoppingSpec()
        spec.tolerance = criteria.tolerance
        spec.measure = criteria.measure
        spec.maxIterations = criteria.maxIterations
        spec.maxEvaluations = criteria.maxEvaluations
        spec.divergenceFactor = criteria.divergenceFactor
        return Comparison(cell: cell, cellParameters: cellChoice.given,
                          solvers: zip(choices, options.values.dropFirst()).map { ($0.entry.name, $1) },
                          stopping: spec, repeats: repeats, seed: cellChoice.given["seed"]?.intValue.map(UInt64.init) ?? 0)
    }

    func validate() throws {
        _ = try comparison().spec()
    }

    func run() throws {
        let comparison = try comparison()
        let output = try out.map { URL(fileURLWithPath: $0) } ?? comparison.defaultFolder()
        let outcome = try comparison.run(into: output, progress: quiet ? nil : ProgressReporter(), renderPictures: !noPlots,
                                         budget: resources.budget)
        if let text = try? String(contentsOf: output.appendingPathComponent("summary.md"), encoding: .utf8) { print(text) }
        print("\(outcome.pointsRun) points run, \(outcome.pointsSkipped) already done; curves in \(output.appendingPathComponent("curves").path)")
        if !noPlots && !Gnuplot.isAvailable { print(Gnuplot.Missing().description) }
    }
}
