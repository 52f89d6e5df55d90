import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq compare`: an ad-hoc one-cell experiment from command-line flags.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare solvers on one cell: a table and residual curves.",
        discussion: """
            Builds a one-cell experiment from the flags and runs it like deq run: the summary \
            table is printed, the curves (.dat, .gp, PNG) go to the results folder. A \
            hyperparameter flag applies to every listed solver that takes it (--memory sets \
            Anderson's m and Broyden's L). Rerunning the same comparison resumes.
            """
    )

    @OptionGroup(title: "Cell")
    var cell: CellOptions

    @Option(help: ArgumentHelp("Comma-separated solvers to compare.", valueName: "list"))
    var solvers: String = SolverKind.allCases.map(\.rawValue).joined(separator: ",")

    @OptionGroup(title: "Solver hyperparameters")
    var hyperparameters: SolverHyperparameters

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

    /// The solvers listed, in order.
    func solverKinds() throws -> [SolverKind] {
        let names = solvers.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var kinds: [SolverKind] = []
        for name in names {
            guard let kind = SolverKind(rawValue: name) else {
                throw ValidationError("--solvers: unknown solver '\(name)'; expected a comma-separated list of \(SolverKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !kinds.contains(kind) else { throw ValidationError("--solvers lists \(name) twice") }
            kinds.append(kind)
        }
        return kinds
    }

    func validate() throws {
        try hyperparameters.check(appliesTo: try solverKinds(), option: "--solvers")
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1; got \(repeats)") }
        if cell.weights != nil, repeats > 1 {
            throw ValidationError("--repeats draws new synthetic cells; with --weights there is one cell, drop --repeats")
        }
    }

    /// The one-cell experiment these flags describe.
    func spec() throws -> ExperimentSpec {
        let criteria = stopping.criteria
        var stoppingSpec = StoppingSpec()
        stoppingSpec.tolerance = criteria.tolerance
        stoppingSpec.measure = criteria.measure
        stoppingSpec.maxIterations = criteria.maxIterations
        stoppingSpec.maxEvaluations = criteria.maxEvaluations
        stoppingSpec.divergenceFactor = criteria.divergenceFactor
        let solverSweeps = try solverKinds().map { kind in
            let given = hyperparameters.values(for: kind).sorted { $0.key < $1.key }
            let label = ([kind.rawValue] + given.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
            return SolverSweep(kind: kind, label: label,
                               parameters: given.map { ParameterSweep(name: $0.key, values: [$0.value]) })
        }
        return ExperimentSpec(
            name: "compare", description: "deq compare: \(solverSweeps.map(\.kind.rawValue).joined(separator: ", ")) on one \(cell.cell.rawValue) cell.",
            seed: cell.seed ?? 0, repeats: repeats, cells: [cell.experimentCell()], solvers: solverSweeps,
            stopping: stoppingSpec, initializations: [InitializationSpec(kind: .zero)], measurements: [.convergence],
            pathIndependence: PathIndependenceSpec(), quick: QuickSpec(),
            baseDirectory: FileManager.default.currentDirectoryPath)
    }

    func run() throws {
        let spec = try spec()
        let output = URL(fileURLWithPath: out ?? "Results/compare-\(cell.cell.rawValue)-\(Self.fingerprint(spec))")
        let runner = ExperimentRunner(spec: spec, outputDirectory: output, progress: quiet ? nil : ProgressReporter(),
                                      renderPictures: !noPlots)
        let outcome = try runner.run()
        if let text = try? String(contentsOf: output.appendingPathComponent("summary.md"), encoding: .utf8) { print(text) }
        print("\(outcome.pointsRun) points run, \(outcome.pointsSkipped) already done; curves in \(output.appendingPathComponent("curves").path)")
        if !noPlots && !Gnuplot.isAvailable { print(Gnuplot.Missing().description) }
    }

    /// Eight hex digits of FNV-1a over the spec's canonical JSON: the same flags, the same folder.
    static func fingerprint(_ spec: ExperimentSpec) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(spec)) ?? Data()
        var hash: UInt32 = 2_166_136_261
        for byte in data {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return String(format: "%08x", hash)
    }
}

extension CellOptions {
    /// The experiment-file form of these options (absolute paths for files).
    func experimentCell() -> CellSweep {
        let family = CellFamily(rawValue: cell.rawValue) ?? .tanh
        var parameters: [ParameterSweep] = []
        func add(_ name: String, _ value: ParameterValue?) {
            if let value { parameters.append(ParameterSweep(name: name, values: [value])) }
        }
        func path(_ file: String?) -> ParameterValue? {
            file.map { .text(URL(fileURLWithPath: $0).standardizedFileURL.path) }
        }
        add("dim", dim.map { .integer($0) })
        add("batch", batch.map { .integer($0) })
        add("rho", rho.map { .real($0) })
        if symmetric { add("symmetric", .boolean(true)) }
        add("seed", seed.map { .integer(Int(clamping: $0)) })
        add("injection-scale", injectionScale.map { .real($0) })
        add("weights", path(weights))
        add("input-weights", path(inputWeights))
        add("bias", path(bias))
        add("injection", path(injection))
        add("inner", inner.map { .integer($0) })
        add("groups", groups.map { .integer($0) })
        add("sigma", sigma.map { .real($0) })
        add("channels", channels.map { .integer($0) })
        add("in-channels", inChannels.map { .integer($0) })
        add("length", length.map { .integer($0) })
        add("height", height.map { .integer($0) })
        add("width", width.map { .integer($0) })
        add("monotonicity", monotonicity.map { .real($0) })
        add("weight-scale", weightScale.map { .real($0) })
        add("weights-dir", path(weightsDirectory))
        // The flags have the catalog's names; validate() has refused those the cell does not
        // take. The catalog's declared order keeps the label and the grid stable.
        let order = family.parameters.map(\.name)
        parameters = parameters.filter { order.contains($0.name) }
        parameters.sort { (order.firstIndex(of: $0.name) ?? 0) < (order.firstIndex(of: $1.name) ?? 0) }
        return CellSweep(family: family, parameters: parameters)
    }
}
