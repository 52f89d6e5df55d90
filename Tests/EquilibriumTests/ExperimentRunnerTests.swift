import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

@Suite struct ExperimentRunnerTests {
    static let yaml = """
    name: small
    description: A small grid for the runner tests.
    seed: 5
    repeats: 2
    cells:
      - family: tanh
        dim: 12
        batch: 3
        rho: [0.5, 0.95]
      - family: affine
        dim: 10
        batch: 2
        rho: 0.8
    solvers:
      - forward
      - kind: anderson
        memory: [2, 5]
    init: [zero, gaussian]
    measurements: [convergence, path-independence]
    path-independence:
      budgets: [2, 20]
    stopping:
      tol: 1.0e-9
      max-iter: 3000
    """

    func spec() throws -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: Self.yaml, file: "small.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    /// Records compared without their timings.
    func timeless(_ record: PointRecord) -> PointRecord {
        var copy = record
        copy.wallSeconds = 0
        copy.curve?.history.seconds = []
        return copy
    }

    func records(in directory: URL, spec: ExperimentSpec) -> [String: PointRecord] {
        ResultsWriter(spec: spec, directory: directory, renderPictures: false).records().mapValues(timeless)
    }

    @Test func runWritesEveryOutput() throws {
        let spec = try spec()
        let out = try ScratchDirectory("runner").url
        let outcome = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: Gnuplot.isAvailable).run()
        #expect(outcome.complete && outcome.pointsRun == spec.grid.count && outcome.pointsSkipped == 0)
        for file in ["manifest.json", "summary.md", "summary.tsv", "curves/c000.dat", "curves/c000.gp",
                     "path-independence/aa-budget.dat", "path-independence/aa-histogram.gp",
                     "path-independence/per-example.tsv"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as? [String: Any]
        for key in ["spec", "seed", "toolkitVersion", "blasThreads", "machine", "started", "ended"] {
            #expect(manifest?[key] != nil, "manifest lacks \(key)")
        }
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("Complete: \(spec.grid.count) grid points"))
        #expect(summary.contains("## Path independence"))
        // summary.tsv: a header and one row per cell × solver × start.
        let tsv = try String(contentsOf: out.appendingPathComponent("summary.tsv"), encoding: .utf8)
            .split(separator: "\n")
        #expect(tsv.count == 1 + 3 * 3 * 2)
        #expect(tsv[0].split(separator: "\t").count == 12)

        // The .dat file: comment header naming the columns, one index block per solver.
        let dat = try String(contentsOf: out.appendingPathComponent("curves/c000.dat"), encoding: .utf8)
        #expect(dat.contains("# columns: iteration nfe seconds abs_residual rel_residual"))
        let blocks = dat.components(separatedBy: "\n\n\n")
        #expect(blocks.count == 3)
        for block in blocks {
            let rows = block.split(separator: "\n").filter { !$0.hasPrefix("#") }
            #expect(!rows.isEmpty)
            for row in rows {
                let columns = row.split(separator: " ")
                #expect(columns.count == 5 && columns.allSatisfy { Double($0) != nil })
            }
            // The last relative residual met the tolerance (contractive cell, converged).
            let last = rows.last.map { Double($0.split(separator: " ")[4]) ?? 1 } ?? 1
            #expect(last <= 1e-9)
        }
        let gp = try String(contentsOf: out.appendingPathComponent("curves/c000.gp"), encoding: .utf8)
        #expect(gp.contains("set logscale y") && gp.contains("index 2 using 1:5") && gp.contains("using 3:5"))
        if Gnuplot.isAvailable {
            let png = try Data(contentsOf: out.appendingPathComponent("curves/c000.png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("path-independence/aa-budget.png").path))
        }

        // AA on contractive cells is 1 to tolerance.
        let records = ResultsWriter(spec: spec, directory: out, renderPictures: false).records()
        for record in records.values where record.point.initializationIndex == 0 {
            let alignment = try #require(record.pathIndependence)
            #expect(abs(alignment.score - 1) < 1e-6, "\(record.point.cell.label)")
            #expect(alignment.budgets.map(\.budget) == [2, 20])
            #expect(alignment.starts.count == 1)
        }
    }

    @Test func resumeSkipsFinishedPointsAndRecomputesMissingOnes() throws {
        let spec = try spec()
        let out = try ScratchDirectory("runner").url
        _ = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: false).run()
        let before = records(in: out, spec: spec)
        // Simulate an interrupted run: two point files lost, one half-written temporary file.
        let points = out.appendingPathComponent("points")
        let ids = spec.grid.map(\.id)
        try FileManager.default.removeItem(at: points.appendingPathComponent("\(ids[0]).json"))
        try FileManager.default.removeItem(at: points.appendingPathComponent("\(ids[7]).json"))
        try Data("{\"id\": \"trunc".utf8).write(to: points.appendingPathComponent("\(ids[3]).json"))
        let partial = try ResultsWriter(spec: spec, directory: out, renderPictures: false).writeAll()
        #expect(!partial.complete)
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("INCOMPLETE: \(spec.grid.count - 3) of \(spec.grid.count)"))

        let outcome = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: false).run()
        #expect(outcome.pointsRun == 3 && outcome.pointsSkipped == spec.grid.count - 3 && outcome.complete)
        #expect(records(in: out, spec: spec) == before)
    }

    @Test func mergedShardsEqualOneRun() throws {
        let spec = try spec()
        let whole = try ScratchDirectory("runner").url
        _ = try ExperimentRunner(spec: spec, outputDirectory: whole, renderPictures: false).run()
        var shardFolders: [URL] = []
        for i in 0..<3 {
            let folder = try ScratchDirectory("runner").url
            let outcome = try ExperimentRunner(spec: spec, outputDirectory: folder, shard: try Shard(index: i, count: 3),
                                               renderPictures: false).run()
            #expect(!outcome.complete)
            shardFolders.append(folder)
        }
        let merged = try ScratchDirectory("runner").url
        let summary = try ResultsFolder.merge(shardFolders, into: merged, renderPictures: false)
        #expect(summary.complete)
        #expect(records(in: merged, spec: spec) == records(in: whole, spec: spec))
        // The same tables, times aside (the wall-time column).
        func table(_ folder: URL) throws -> [[Substring]] {
            try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8)
                .split(separator: "\n").map { line in
                    var columns = line.split(separator: "\t", omittingEmptySubsequences: false)
                    columns.remove(at: 8)
                    return columns
                }
        }
        #expect(try table(merged) == table(whole))
    }

    @Test func sameSeedSameNumbers() throws {
        let spec = try spec()
        let a = try ScratchDirectory("runner").url
        let b = try ScratchDirectory("runner").url
        _ = try ExperimentRunner(spec: spec, outputDirectory: a, renderPictures: false).run()
        _ = try ExperimentRunner(spec: spec, outputDirectory: b, renderPictures: false).run()
        #expect(records(in: a, spec: spec) == records(in: b, spec: spec))
    }

    @Test func mergeRefusesDifferentExperiments() throws {
        let spec = try spec()
        var other = spec
        other.seed = 99
        let a = try ScratchDirectory("runner").url
        let b = try ScratchDirectory("runner").url
        _ = try ExperimentRunner(spec: spec, outputDirectory: a, shard: try Shard(index: 0, count: 2), renderPictures: false).run()
        _ = try ExperimentRunner(spec: other, outputDirectory: b, shard: try Shard(index: 1, count: 2), renderPictures: false).run()
        #expect(throws: ExperimentError.self) { try ResultsFolder.merge([a, b], into: try ScratchDirectory("runner").url, renderPictures: false) }
    }

    @Test func badShardsAreErrors() {
        for text in ["3/3", "-1/2", "1", "a/b", "0/0"] {
            #expect(throws: ExperimentError.self) { try Shard(parsing: text) }
        }
    }

    /// Cells and starts from `.npy` files next to the experiment file run exactly as the
    /// library solves them; a mis-shaped file is an error naming it.
    @Test func npyCellsAndStartsResolveAgainstTheExperimentFolder() throws {
        let scratch = try ScratchDirectory("runner-npy")
        let cell = try TanhCell.random(.init(dimension: 6, batchSize: 3, spectralNorm: 0.8, seed: 4))
        try scratch.npy("W.npy", cell.weight)
        try scratch.npy("X.npy", cell.input)
        try scratch.npy("Z.npy", Matrix(rows: 3, columns: 6, repeating: 0.1))
        let yaml = """
        cells: [{family: tanh, weights: W.npy, injection: X.npy}]
        solvers: [anderson]
        init: [{kind: file, path: Z.npy}]
        stopping: {tol: 1.0e-10}
        """
        let spec = try ExperimentSpec.parse(yaml: yaml, file: "npy.yaml", baseDirectory: scratch.url)
        let out = scratch.file("out")
        _ = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: false).run()
        let record = try #require(ResultsWriter(spec: spec, directory: out).records().values.first)
        let direct = try AndersonAcceleration().solve(cell, from: Matrix(rows: 3, columns: 6, repeating: 0.1),
                                                  criteria: try StoppingCriteria(tolerance: 1e-10))
        #expect(record.samples.map(\.nfe) == direct.samples.map(\.evaluations))
        #expect(record.converged)

        try scratch.npy("X.npy", Matrix(rows: 3, columns: 5))
        let broken = try ExperimentSpec.parse(yaml: yaml, file: "npy.yaml", baseDirectory: scratch.url)
        #expect {
            try ExperimentRunner(spec: broken, outputDirectory: scratch.file("out2"), renderPictures: false).run()
        } throws: { error in
            "\(error)".contains("X.npy") && "\(error)".contains("expected")
        }
    }

    /// Every bundled experiment runs in `--quick` mode to a complete results folder whose
    /// numbers are those of the library: the first point of every cell equals a direct solve
    /// of the same cell, solver, start and criteria, and the summary's converged counts are
    /// the point files' counts.
    @Test(arguments: ["quickstart", "convergence", "path-independence"])
    func bundledExperimentRunsQuick(name: String) throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Experiments/\(name).yaml").standardized
        let spec = try ExperimentSpec.load(contentsOf: file).quickened()
        let scratch = try ScratchDirectory("bundled-\(name)")
        defer { scratch.cleanUp() }
        let outcome = try ExperimentRunner(spec: spec, outputDirectory: scratch.url, renderPictures: false).run()
        #expect(outcome.complete && outcome.pointsRun == spec.grid.count)
        let summary = try String(contentsOf: scratch.file("summary.md"), encoding: .utf8)
        #expect(summary.contains("Complete: \(spec.grid.count) grid points"))
        let records = ResultsWriter(spec: spec, directory: scratch.url).records()
        #expect(records.count == spec.grid.count)
        let criteria = try spec.stopping.criteria
        var checked = Set<Int>()
        for point in spec.grid where point.repeatIndex == 0 && point.initializationIndex == 0 && !checked.contains(point.cell.index) {
            checked.insert(point.cell.index)
            let record = try #require(records[point.id])
            let map = try Catalog.standard.cell(named: point.cell.family).makeMap(
                point.cell.assignment.dictionary,
                context: CellBuildContext(seed: point.cellSeed, baseDirectory: file.deletingLastPathComponent(), source: name))
            let solver = try Catalog.standard.solver(named: point.solver.kind).makeSolver(point.solver.assignment.dictionary)
            let start = try point.initialization.makeBatch(seed: point.initializationSeed, baseDirectory: file.deletingLastPathComponent(),
                                                           batchSize: map.batchSize, dimension: map.dimension)
            let direct = try solver.solve(map, from: start, criteria: criteria)
            #expect(record.samples.map(\.nfe) == direct.samples.map(\.evaluations), "\(point.id)")
            #expect(record.samples.map(\.outcome) == direct.samples.map(\.outcome), "\(point.id)")
        }
        // summary.tsv's converged fractions are the point files' (every repeat and start).
        let tsv = try String(contentsOf: scratch.file("summary.tsv"), encoding: .utf8).split(separator: "\n").dropFirst()
        var fromRecords: [String: (Int, Int)] = [:]
        for point in spec.grid {
            let key = "\(point.cell.label)\t\(point.solver.label)\t\(point.initialization.label)"
            let samples = try #require(records[point.id]).samples
            fromRecords[key, default: (0, 0)].0 += samples.filter(\.converged).count
            fromRecords[key, default: (0, 0)].1 += samples.count
        }
        #expect(tsv.count == fromRecords.count)
        for line in tsv {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let counts = try #require(fromRecords[columns[0...2].joined(separator: "\t")], "\(columns[0...2])")
            #expect(Int(columns[3]) == counts.1)
            #expect(abs((Double(columns[4]) ?? .nan) - Double(counts.0) / Double(counts.1)) <= 5e-5)   // printed with 4 decimals
        }
    }

    /// The manifest says which code wrote the results: the commit and dirty flag of the checkout
    /// (against git run here), the build configuration and the exact command; a merge keeps the
    /// shards' provenance and `deq plot`'s rebuild leaves the manifest as it was.
    @Test func manifestRecordsProvenanceAndMergeKeepsIt() throws {
        let spec = try spec()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func git(_ arguments: [String]) -> String? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-C", root.path] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return nil }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
        }
        let shards = try (0..<2).map { i in
            let folder = try ScratchDirectory("runner-provenance").url
            _ = try ExperimentRunner(spec: spec, outputDirectory: folder, shard: try Shard(index: i, count: 2), renderPictures: false).run()
            return folder
        }
        func manifest(_ folder: URL) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        }
        let provenance = try #require(try manifest(shards[0])["provenance"] as? [String: Any])
        #expect(provenance["command"] as? String == CommandLine.arguments.map(Provenance.shellQuoted).joined(separator: " "))
        #if DEBUG
        #expect(provenance["buildConfiguration"] as? String == "debug")
        #else
        #expect(provenance["buildConfiguration"] as? String == "release")
        #endif
        if let head = git(["rev-parse", "HEAD"]), let status = git(["status", "--porcelain", "--untracked-files=no"]) {
            #expect(provenance["gitCommit"] as? String == head.trimmingCharacters(in: .whitespacesAndNewlines))
            // Changes under Results/ are outputs and do not count.
            let code = status.split(separator: "\n").filter { !$0.dropFirst(3).hasPrefix("Results/") }
            #expect(provenance["dirty"] as? Bool == !code.isEmpty)
        }
        let merged = try ScratchDirectory("runner-provenance").url
        try ResultsFolder.merge(shards, into: merged, renderPictures: false)
        let sources = try #require(try manifest(merged)["sources"] as? [[String: Any]])
        #expect(sources.map { $0["shard"] as? String } == ["0/2", "1/2"])
        #expect(sources.allSatisfy { ($0["provenance"] as? [String: Any])?["gitCommit"] as? String == provenance["gitCommit"] as? String })
        let before = try Data(contentsOf: merged.appendingPathComponent("manifest.json"))
        try ResultsWriter(spec: spec, directory: merged, renderPictures: false).writeAll()   // what deq plot does
        #expect(try Data(contentsOf: merged.appendingPathComponent("manifest.json")) == before)
        let summary = try String(contentsOf: merged.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("Provenance: points written by"))
        // Shell quoting: what a shell would read back.
        #expect(Provenance.shellQuoted("a b") == "'a b'" && Provenance.shellQuoted("it's") == "'it'\\''s'"
                && Provenance.shellQuoted("--tol=1e-8") == "--tol=1e-8" && Provenance.shellQuoted("") == "''")
    }

    /// Long histories are thinned in point files, keeping the first and the last iterate.
    @Test func longCurvesAreThinnedKeepingTheEnds() throws {
        let yaml = """
        cells: [{family: affine, dim: 4, batch: 1, rho: 0.9995, symmetric: true}]
        solvers: [forward]
        stopping: {tol: 1.0e-15, stop: abs, max-iter: 4500}
        """
        let spec = try ExperimentSpec.parse(yaml: yaml, file: "long.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
        let scratch = try ScratchDirectory("runner-long")
        defer { scratch.cleanUp() }
        _ = try ExperimentRunner(spec: spec, outputDirectory: scratch.url, renderPictures: false).run()
        let record = try #require(ResultsWriter(spec: spec, directory: scratch.url).records().values.first)
        let curve = try #require(record.curve)
        #expect(record.samples[0].iterations == 4500)
        #expect(curve.length == 4501)
        #expect(curve.history.iteration.count <= PointRecord.maxCurvePoints + 1)
        #expect(curve.history.iteration.first == 0 && curve.history.iteration.last == 4500)
    }

    /// The path-independence table of the committed results, rebuilt with and without
    /// `exclude-non-converged`: on the multi-attractor Anderson cell (where most re-solves do
    /// not converge) the AA column is the mean over all B² pairs, or over the converged ones
    /// only, recomputed here from every pair kept in the point files; the row is flagged.
    @Test(arguments: [false, true])
    func pathIndependenceTableHonoursTheExclusionOption(exclude: Bool) throws {
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Results/path-independence").standardized
        let scratch = try ScratchDirectory("pi-exclude")
        defer { scratch.cleanUp() }
        try FileManager.default.copyItem(at: committed.appendingPathComponent("points"), to: scratch.file("points"))
        try FileManager.default.copyItem(at: committed.appendingPathComponent("manifest.json"), to: scratch.file("manifest.json"))
        var spec = try ResultsFolder.spec(in: scratch.url)
        spec.pathIndependence.excludeNonConverged = exclude
        try ResultsWriter(spec: spec, directory: scratch.url, renderPictures: false).writeAll()
        let summary = try String(contentsOf: scratch.file("summary.md"), encoding: .utf8)
        #expect(summary.contains(exclude ? "non-converged pairs are excluded" : "non-converged pairs are included"))
        let records = ResultsWriter(spec: spec, directory: scratch.url).records()
        let points = spec.grid.filter { $0.initializationIndex == 0 && $0.cell.label == "tanh d=128 B=16 ρ=1.5 sym s=0.05" && $0.solver.label == "anderson" }
        let alignments = try points.map { try #require(records[$0.id]?.pathIndependence) }
        #expect(alignments.count == 3 && alignments.allSatisfy { $0.convergedFraction < 0.5 })
        let scores = try alignments.map { a -> Double in
            let pairs = try #require(a.pairs)
            // The pair matrix reproduces the stored all-pairs score.
            // The mean of ≤ 256 cosines in |c| ≤ 1 summed in two orders: 2γ_256 · 256 / 256 ≈ 5.7e-14; 1e-12 is
            // a 17× margin.
            #expect(abs(pairs.cosines.reduce(0, +) / Double(pairs.cosines.count) - a.score) <= 1e-12)
            let kept = zip(pairs.cosines, pairs.converged).filter { $0.1 }.map(\.0)
            return exclude ? kept.reduce(0, +) / Double(kept.count) : a.score
        }.sorted()
        let cell = "\(String(format: "%.4f", scores[1])) [\(String(format: "%.4f", scores[0]))–\(String(format: "%.4f", scores[2]))]"
        let row = try #require(summary.split(separator: "\n").first { $0.hasPrefix("| tanh d=128 B=16 ρ=1.5 sym s=0.05 | anderson | 3 | ") })
        #expect(row.contains("| 3 | \(cell) |"), "\(row) should hold \(cell)")
        #expect(row.contains("⚠ 3/3"))
    }
}
