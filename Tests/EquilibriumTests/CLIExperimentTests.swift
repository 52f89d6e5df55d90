import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// `deq list`, `run`, `plot` and `merge`, run as a user would (the built binary).
@Suite struct CLIExperimentTests {
    static let yaml = """
    name: tiny
    description: Two solvers on two small tanh cells.
    seed: 3
    cells:
      - family: tanh
        dim: 10
        batch: 2
        rho: [0.5, 0.9]
    solvers:
      - forward
      - anderson
    stopping:
      tol: 1.0e-9
    """

    func folderWithExperiment(_ text: String = yaml, name: String = "tiny") throws -> ScratchDirectory {
        let scratch = try ScratchDirectory("deq-exp")
        try FileManager.default.createDirectory(at: scratch.file("Experiments"), withIntermediateDirectories: true)
        try text.write(to: scratch.file("Experiments/\(name).yaml"), atomically: true, encoding: .utf8)
        return scratch
    }

    @Test func listShowsNamesAndDescriptions() throws {
        let scratch = try folderWithExperiment()
        let output = try DeqProcess.run(["list", "--experiments", scratch.file("Experiments").path])
        #expect(output.status == 0)
        #expect(output.stdout.contains("tiny") && output.stdout.contains("Two solvers on two small tanh cells."))
        #expect(output.stdout.contains("[4 grid points]"))
    }

    @Test func runWritesResultsAndResumes() throws {
        let scratch = try folderWithExperiment()
        let out = scratch.file("out").path
        let first = try DeqProcess.run(["run", "tiny", "--experiments", scratch.file("Experiments").path, "--out", out, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("| tanh d=10 B=2 ρ=0.5 | forward | zero | 1 | 2/2 |"))
        #expect(first.stdout.contains("4 points run, 0 already done"))
        for file in ["manifest.json", "summary.md", "summary.tsv", "curves/c000.dat", "curves/c001.gp"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file)")
        }
        let again = try DeqProcess.run(["run", scratch.file("Experiments/tiny.yaml").path, "--out", out, "--quiet"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("0 points run, 4 already done"))
        // Another seed is another spec: refused in the same folder.
        let other = try DeqProcess.run(["run", scratch.file("Experiments/tiny.yaml").path, "--out", out, "--seed", "4", "--quiet"])
        #expect(other.status != 0 && other.exitedNormally)
        #expect(other.stderr.contains("holds a run of a different spec"))
    }

    @Test func shardsMergeIntoOneCompleteRun() throws {
        let scratch = try folderWithExperiment()
        let file = scratch.file("Experiments/tiny.yaml").path
        for i in 0..<2 {
            let shard = try DeqProcess.run(["run", file, "--shard", "\(i)/2", "--out", scratch.file("s\(i)").path, "--quiet", "--no-plots"])
            #expect(shard.status == 0)
            #expect(shard.stdout.contains("INCOMPLETE"))
        }
        let merged = try DeqProcess.run(["merge", scratch.file("s0").path, scratch.file("s1").path, "--out", scratch.file("m").path, "--no-plots"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("4 of 4 points"))
        let summary = try String(contentsOf: scratch.file("m/summary.md"), encoding: .utf8)
        #expect(summary.contains("Complete: 4 grid points"))
    }

    /// Shown as skipped (not passed) on a machine without gnuplot.
    @Test(.enabled(if: Gnuplot.isAvailable, "gnuplot is not installed"))
    func plotRendersSVGWhenGnuplotIsThere() throws {
        let scratch = try folderWithExperiment()
        let out = scratch.file("out").path
        _ = try DeqProcess.run(["run", scratch.file("Experiments/tiny.yaml").path, "--out", out, "--quiet", "--no-plots"])
        let plot = try DeqProcess.run(["plot", out, "--format", "svg"])
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOf: scratch.file("out/curves/c000.svg"), encoding: .utf8)
        #expect(svg.contains("<svg"))
    }

    @Test(arguments: [
        (["run", "no-such-experiment"], "unknown experiment 'no-such-experiment'; expected one of tiny"),
        (["run", "missing.yaml"], "missing.yaml: no such experiment file"),
        (["run", "tiny", "--shard", "2/2"], "2/2 is not a shard; expected I/N with N ≥ 1 and 0 ≤ I < N"),
        (["run", "tiny", "--shard", "x"], "'x' is not a shard"),
        (["plot", "/nonexistent-results"], "no manifest.json here; expected a results folder written by deq run"),
        (["plot", "/tmp", "--format", "jpeg"], "jpeg"),
        (["merge", "--out", "/tmp/x"], "Missing expected argument"),
        (["run", "tiny", "--frobnicate"], "Unknown option '--frobnicate'"),
    ])
    func badCommandsAreClearErrors(arguments: [String], expected: String) throws {
        let scratch = try folderWithExperiment()
        let output = try DeqProcess.run(arguments + (arguments.first == "run" ? ["--experiments", scratch.file("Experiments").path] : []))
        #expect(output.exitedNormally)
        #expect(output.status != 0)
        #expect(output.stderr.contains(expected), "stderr: \(output.stderr)")
    }

    @Test func invalidExperimentFileNamesFileAndLine() throws {
        let scratch = try folderWithExperiment("cells: [{family: tanh}]\nsolvers:\n  - kind: anderson\n    memory: -2\n", name: "broken")
        let output = try DeqProcess.run(["run", "broken", "--experiments", scratch.file("Experiments").path, "--out", scratch.file("o").path])
        #expect(output.exitedNormally && output.status != 0)
        #expect(output.stderr.contains("broken.yaml line 4: solver 'anderson': memory is '-2'; expected an integer in 1…1000"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("o/summary.md").path))
    }

    @Test func compareRunsEverySolverOnOneCellAndWritesCurves() throws {
        let scratch = try ScratchDirectory("deq-compare")
        let out = scratch.file("cmp").path
        let arguments = ["compare", "--dim", "24", "--batch", "3", "--rho", "0.95", "--memory", "4", "--tol", "1e-9",
                         "--out", out, "--quiet", "--no-plots"]
        let output = try DeqProcess.run(arguments)
        #expect(output.status == 0, "\(output.stderr)")
        for label in ["forward", "anderson memory=4", "broyden memory=4", "newton-krylov"] {
            #expect(output.stdout.contains("| tanh d=24 B=3 ρ=0.95 | \(label) | zero | 1 | 3/3 |"), "\(label): \(output.stdout)")
        }
        let dat = try String(contentsOf: scratch.file("cmp/curves/c000.dat"), encoding: .utf8)
        #expect(dat.components(separatedBy: "\n\n\n").count == 4)
        let again = try DeqProcess.run(arguments)
        #expect(again.stdout.contains("0 points run, 4 already done"))
    }

    @Test(arguments: [
        (["--solvers", "forward,andersen"], "--solvers andersen: expected one of forward, anderson, broyden, newton-krylov"),
        (["--solvers", "forward,newton-krylov", "--memory", "3"], "--memory does not apply to the tanh cell and the forward solver and the newton-krylov solver; it is an option of the anderson solver, the broyden solver"),
        (["--solvers", "anderson,anderson"], "--solvers lists anderson twice"),
        (["--repeats", "0"], "--repeats must lie in 1…10000"),
        (["--beta", "-1"], "--beta -1: expected a number > 0"),
    ])
    func badCompareIsAClearError(arguments: [String], expected: String) throws {
        let output = try DeqProcess.run(["compare", "--dim", "8"] + arguments)
        #expect(output.exitedNormally && output.status != 0)
        #expect(output.stderr.contains(expected), "stderr: \(output.stderr)")
    }

    /// Every cell option reaches the compared cell (here the 1-D convolutional cell's sizes).
    @Test func compareBuildsTheCellTheFlagsDescribe() throws {
        let scratch = try ScratchDirectory("deq-compare-conv")
        let output = try DeqProcess.run(["compare", "--cell", "conv1d", "--channels", "8", "--inner", "16", "--length", "12",
                                         "--groups", "4", "--batch", "2", "--solvers", "anderson,newton-krylov",
                                         "--out", scratch.file("c").path, "--quiet", "--no-plots"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("| conv1d C=8 h=16 L=12 B=2 G=4 | anderson | zero | 1 | 2/2 |"), "\(output.stdout)")
    }
}

