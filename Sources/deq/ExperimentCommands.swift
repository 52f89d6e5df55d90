import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// Where named experiments live: `--experiments DIR`, else `./Experiments`, else the
/// `Experiments` folder of the checkout the `deq` binary was built in.
struct ExperimentsFolderOption: ParsableArguments {
    @Option(help: ArgumentHelp("The folder of named experiments.", valueName: "dir"))
    var experiments: String?

    func folder() throws -> URL {
        if let experiments { return URL(fileURLWithPath: experiments) }
        let local = URL(fileURLWithPath: "Experiments")
        if FileManager.default.fileExists(atPath: local.path) { return local }
        // .build/<config>/deq → the checkout root.
        var candidate = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let folder = candidate.appendingPathComponent("Experiments")
            if FileManager.default.fileExists(atPath: folder.path) { return folder }
            candidate.deleteLastPathComponent()
        }
        throw ValidationError("no Experiments folder found here or beside the deq build; pass --experiments DIR")
    }

    /// The named experiments, sorted by name.
    func named() throws -> [(name: String, file: URL)] {
        let folder = try folder()
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        return files.filter { ["yaml", "yml"].contains($0.pathExtension) }
            .map { ($0.deletingPathExtension().lastPathComponent, $0) }
            .sorted { $0.name < $1.name }
    }
}

/// `deq list`: the named experiments with a one-line description each.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the named experiments.")

    @OptionGroup var folder: ExperimentsFolderOption

    func run() throws {
        let experiments = try folder.named()
        let width = experiments.map(\.name.count).max() ?? 0
        for (name, file) in experiments {
            do {
                let spec = try ExperimentSpec.load(contentsOf: file)
                let points = spec.grid.count
                print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(spec.description) [\(points) grid points]")
            } catch {
                print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  (invalid: \(error))")
            }
        }
        // Training experiments live in a subfolder and run with deq train --experiment NAME.
        let training = try folder.folder().appendingPathComponent("training")
        let files = ((try? FileManager.default.contentsOfDirectory(at: training, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
        guard !files.isEmpty else { return }
        print("\ntraining experiments (deq train --experiment NAME):")
        let trainingWidth = files.map { $0.deletingPathExtension().lastPathComponent.count }.max() ?? 0
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent.padding(toLength: trainingWidth, withPad: " ", startingAt: 0)
            do {
                print("\(name)  \(try TrainingExperiment.load(file).description.trimmingCharacters(in: .whitespacesAndNewlines))")
            } catch {
                print("\(name)  (invalid: \(error))")
            }
        }
    }
}

/// `deq run`: run a named experiment or an experiment file into a results folder.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a named experiment or an experiment file.",
        discussion: """
            Results go to Results/NAME (Results/NAME-quick with --quick) or --out DIR: \
            manifest.json, summary.md, summary.tsv, points/*.json, curves/*.dat and *.gp, and \
            PNG pictures when gnuplot is installed. Rerunning resumes: finished points are \
            skipped. --shard I/N runs every N-th point from I (0 ≤ I < N); combine the shards \
            with deq merge.
            """
    )

    @Argument(help: ArgumentHelp("A name from deq list, or a path to an experiment file.", valueName: "name|file"))
    var experiment: String

    @OptionGroup var folder: ExperimentsFolderOption

    @Option(help: ArgumentHelp("The results folder.", valueName: "dir"))
    var out: String?

    @Flag(help: "Run the small version (dimensions, batches, repeats and iterations capped).")
    var quick = false

    @Option(help: "Override the experiment's seed.")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Run only shard I of N (0 ≤ I < N).", valueName: "I/N"))
    var shard: String?

    @Flag(help: "Do not show progress on stderr.")
    var quiet = false

    @Flag(name: .customLong("no-plots"), help: "Write the gnuplot files but do not render pictures.")
    var noPlots = false

    @OptionGroup(title: "Resources")
    var resources: ResourceOptions

    func validate() throws {
        if let shard { _ = try Shard(parsing: shard) }
    }

    func loadSpec() throws -> ExperimentSpec {
        let path = URL(fileURLWithPath: experiment)
        if experiment.hasSuffix(".yaml") || experiment.hasSuffix(".yml") || experiment.contains("/") {
            guard FileManager.default.fileExists(atPath: path.path) else {
                throw ValidationError("\(experiment): no such experiment file")
            }
            return try ExperimentSpec.load(contentsOf: path)
        }
        let named = try folder.named()
        guard let match = named.first(where: { $0.name == experiment }) else {
            throw ValidationError("unknown experiment '\(experiment)'; expected one of \(named.map(\.name).joined(separator: ", ")) or a .yaml file")
        }
        return try ExperimentSpec.load(contentsOf: match.file)
    }

    func run() throws {
        var spec = try loadSpec()
        if quick { spec = spec.quickened() }
        if let seed { spec.seed = seed }
        let output = URL(fileURLWithPath: out ?? "Results/\(spec.name)\(quick ? "-quick" : "")")
        let runner = ExperimentRunner(spec: spec, outputDirectory: output, shard: try shard.map { try Shard(parsing: $0) },
                                      progress: quiet ? nil : ProgressReporter(), renderPictures: !noPlots,
                                      budget: resources.budget)
        let outcome = try runner.run()
        let summary = output.appendingPathComponent("summary.md")
        if let text = try? String(contentsOf: summary, encoding: .utf8) { print(text) }
        var closing = "\(outcome.pointsRun) points run, \(outcome.pointsSkipped) already done; results in \(output.path)"
        if !outcome.complete { closing += " (INCOMPLETE: other shards or points missing)" }
        if !noPlots && !Gnuplot.isAvailable { closing += "\n" + Gnuplot.Missing().description }
        print(closing)
    }
}

/// `deq plot`: render a results folder's pictures.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render the pictures of a results folder with gnuplot.")

    @Argument(help: ArgumentHelp("A results folder written by deq run.", valueName: "dir"))
    var directory: String

    @Option(help: "The picture format.")
    var format: Gnuplot.Format = .png

    func run() throws {
        let folder = URL(fileURLWithPath: directory)
        let spec = try ResultsFolder.spec(in: folder)
        // Rebuild the scripts from the point files so they match the data, then render.
        let summary = try ResultsWriter(spec: spec, directory: folder, renderPictures: false).writeAll()
        guard Gnuplot.isAvailable else { throw ValidationError(Gnuplot.Missing().description) }
        try Gnuplot.render(summary.scripts, format: format)
        for script in summary.scripts {
            print(script.deletingPathExtension().appendingPathExtension(format.rawValue).path)
        }
    }
}

extension Gnuplot.Format: ExpressibleByArgument {}

/// `deq merge`: combine shard folders into one results folder.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the results folders of shards of one experiment.",
        discussion: "The merged folder equals one unsharded run (times aside)."
    )

    @Argument(help: ArgumentHelp("Shard results folders.", valueName: "dir"))
    var shards: [String]

    @Option(help: ArgumentHelp("The merged results folder.", valueName: "dir"))
    var out: String

    @Flag(name: .customLong("no-plots"), help: "Write the gnuplot files but do not render pictures.")
    var noPlots = false

    func validate() throws {
        if shards.isEmpty { throw ValidationError("give at least one shard folder to merge") }
    }

    func run() throws {
        let summary = try ResultsFolder.merge(shards.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out),
                                              renderPictures: !noPlots)
        print("\(summary.pointsPresent) of \(summary.pointsTotal) points in \(out)\(summary.complete ? "" : " (INCOMPLETE)")")
    }
}
