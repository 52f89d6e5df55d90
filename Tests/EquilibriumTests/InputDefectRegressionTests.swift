import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// One test per defect of issue 10's audit (fuzzing the shipped binary on a fresh clone), named
/// after the defect, each through the shipped `deq` where the defect was seen there. The
/// training defects (torn checkpoints, NaN momentum, `epochs: 0`) are in the training tests.
@Suite struct InputDefectRegressionTests {
    static func deq(_ arguments: [String], in directory: ScratchDirectory, memoryLimit: String? = "1GB") throws -> FuzzTests.Run {
        try FuzzTests.run(arguments, in: directory.url, memoryLimit: memoryLimit)
    }

    /// Defect 1: a real parameter with a whole value (`rho: 3.0`) came back from manifest.json as
    /// an integer, so the resume and the rerun of the same file were refused.
    @Test func wholeRealValuesResumeAndRerun() throws {
        let dir = try ScratchDirectory("whole-reals")
        defer { dir.cleanUp() }
        let file = dir.file("whole.yaml")
        try """
        name: whole
        cells: [{family: tanh, dim: 8, batch: 2, rho: 3.0, injection-scale: 1.0}]
        solvers: [forward, {kind: anderson, beta: 1.0}]
        """.write(to: file, atomically: true, encoding: .utf8)
        let first = try Self.deq(["run", file.path, "--quick", "--out", dir.file("out").path, "--quiet", "--no-plots"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try Self.deq(["run", file.path, "--quick", "--out", dir.file("out").path, "--quiet", "--no-plots"], in: dir)
        #expect(second.status == 0, "the rerun was refused: \(second.stderr)")
        #expect(ParameterValue.real(3.0) == ParameterValue.integer(3))
    }

    /// Defect 3: `--eta 0`, documented as valid ([0, 1)), trapped in Newton–Krylov.
    @Test func newtonKrylovEtaZeroWorksEverywhere() throws {
        let dir = try ScratchDirectory("eta-zero")
        defer { dir.cleanUp() }
        let solve = try Self.deq(["solve", "--solver", "newton-krylov", "--forcing", "constant", "--eta", "0", "--dim", "16"], in: dir)
        #expect(solve.status == 0 && !solve.signalled, "\(solve.stderr)")
        #expect(solve.stdout.contains("8/8 converged"), "\(solve.stdout)")
        let compare = try Self.deq(["compare", "--solvers", "newton-krylov", "--eta", "0", "--dim", "16", "--no-plots",
                                    "--out", dir.file("cmp").path], in: dir)
        #expect(compare.status == 0 && !compare.signalled, "\(compare.stderr)")
        let file = dir.file("eta.yaml")
        try "cells: [{family: tanh, dim: 8}]\nsolvers: [{kind: newton-krylov, eta: 0.0}]\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try Self.deq(["run", file.path, "--quick", "--out", dir.file("run").path, "--quiet", "--no-plots"], in: dir)
        #expect(run.status == 0 && !run.signalled, "\(run.stderr)")
    }

    /// Defect 4: sizes past the machine aborted or trapped; now each is refused before
    /// anything is allocated, naming the option or the file and line, the estimate and the limit.
    @Test func sizesAreRefusedBeforeAllocating() throws {
        let dir = try ScratchDirectory("sizes")
        defer { dir.cleanUp() }
        for (dim, line) in [("1000000", 2), ("1099511627776", 2)] {
            let file = dir.file("big-\(dim).yaml")
            try "name: big\ncells: [{family: tanh, dim: \(dim), batch: 1}]\nsolvers: [forward]\n".write(to: file, atomically: true, encoding: .utf8)
            let run = try Self.deq(["run", file.path, "--out", dir.file("out-\(dim)").path, "--quiet"], in: dir)
            #expect(run.status != 0 && !run.signalled, "dim \(dim): \(run.stderr)")
            #expect(run.stderr.contains("big-\(dim).yaml") && run.stderr.contains("line \(line)"), "dim \(dim): \(run.stderr)")
        }
        let cases: [[String]] = [
            ["compare", "--repeats", "1000000000", "--dim", "8"],
            ["compare", "--batch", "1000000", "--dim", "512"],
            ["solve", "--cell", "conv2d", "--height", "9223372036854775807"],
            ["solve", "--dim", "16384", "--batch", "1"],
            ["grad", "--dim", "1000000"],
        ]
        for arguments in cases {
            let run = try Self.deq(arguments, in: dir, memoryLimit: "256MB")
            let label = arguments.joined(separator: " ")
            #expect(run.status != 0 && !run.signalled && !run.timedOut, "\(label): status \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("--"), "\(label): the message names no option: \(run.stderr)")
        }
    }

    /// Defect 4 (files): a `.npy` header is checked before its data is read: a 6 GiB file whose
    /// header says 1 × 1 is refused at once, without reading (the file is sparse on disk).
    @Test func npyHeaderIsCheckedBeforeTheData() throws {
        let dir = try ScratchDirectory("npy-header")
        defer { dir.cleanUp() }
        let url = try dir.npy("W.npy", shape: [1, 1], [0.5])
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 6 << 30)
        try handle.close()
        let started = Date()
        #expect(throws: (any Error).self) { _ = try NumPyArray.read(contentsOf: url) }
        // Reading 6 GiB would take tens of seconds here; the header check takes microseconds.
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// Defect 5: an alias bomb in an experiment file was expanded before validation.
    @Test func aliasBombsAreRefusedQuickly() throws {
        let dir = try ScratchDirectory("bomb")
        defer { dir.cleanUp() }
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 { bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let file = dir.file("bomb.yaml")
        try (bomb + "cells: [{family: tanh}]\nsolvers: [forward]\n").write(to: file, atomically: true, encoding: .utf8)
        let run = try Self.deq(["run", file.path, "--out", dir.file("out").path], in: dir)
        #expect(run.status != 0 && !run.signalled && !run.timedOut, "\(run.stderr)")
        #expect(run.stderr.contains("bomb.yaml") && run.stderr.contains("alias"), "\(run.stderr)")
    }

    /// Defect 6: `deq merge` took leftover points of another experiment from `--out`.
    @Test func mergeRefusesAnotherExperimentsFolder() throws {
        let dir = try ScratchDirectory("merge-other")
        defer { dir.cleanUp() }
        for (name, rho) in [("one", "0.5"), ("two", "0.9")] {
            let file = dir.file("\(name).yaml")
            try "name: \(name)\ncells: [{family: tanh, dim: 8, batch: 2, rho: \(rho)}]\nsolvers: [forward]\n".write(to: file, atomically: true, encoding: .utf8)
            let run = try Self.deq(["run", file.path, "--quick", "--out", dir.file(name).path, "--quiet", "--no-plots"], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let merge = try Self.deq(["merge", dir.file("one").path, "--out", dir.file("two").path, "--no-plots"], in: dir)
        #expect(merge.status != 0 && !merge.signalled, "merging into another experiment's folder was accepted: \(merge.stdout)")
        #expect(merge.stderr.contains("two"), "\(merge.stderr)")
    }

    /// Defect 7: an absolute `init` path was joined under the file's folder.
    @Test func absoluteInitPathsAreUsedAsGiven() throws {
        let dir = try ScratchDirectory("absolute-init")
        defer { dir.cleanUp() }
        let starts = try dir.npy("Z.npy", shape: [2, 8], Array(repeating: 0.1, count: 16))
        let sub = dir.file("experiments")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let file = sub.appendingPathComponent("init.yaml")
        try "name: init\ncells: [{family: tanh, dim: 8, batch: 2}]\nsolvers: [forward]\ninit: [{kind: file, path: \(starts.path)}]\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let run = try Self.deq(["run", file.path, "--out", dir.file("out").path, "--quiet", "--no-plots"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// Defect 8: outputs replaced device nodes (`--trace /dev/full` as root) and symlinks.
    @Test func outputsNeverReplaceDevicesAndFollowSymlinks() throws {
        let dir = try ScratchDirectory("outputs")
        defer { dir.cleanUp() }
        let trace = try Self.deq(["solve", "--dim", "8", "--trace", "/dev/full"], in: dir)
        #expect(trace.status != 0 && !trace.signalled, "writing a trace to /dev/full was accepted")
        #expect(trace.stderr.contains("/dev/full"), "\(trace.stderr)")
        var status = stat()
        #expect(stat("/dev/full", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR, "/dev/full is no longer a device")
        let target = dir.file("real.npy"), link = dir.file("link.npy")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let save = try Self.deq(["solve", "--dim", "8", "--save-solution", link.path], in: dir)
        #expect(save.status == 0, "\(save.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == target.path, "the symlink was replaced")
        let saved = try NumPyArray.read(contentsOf: target)
        #expect(saved.shape == [8, 8])
    }

    /// An output folder that cannot be made is a sentence naming it and the reason, not
    /// Foundation's raw `NSCocoaErrorDomain` dump (31 of 65 such cases in the audit).
    @Test func unwritableOutputsAreSentences() throws {
        let dir = try ScratchDirectory("unwritable")
        defer { dir.cleanUp() }
        let blocker = dir.file("a-file")
        try Data("x".utf8).write(to: blocker)
        for arguments in [["run", "quickstart", "--quick", "--out", "/dev/full/x", "--quiet"],
                          ["compare", "--dim", "8", "--out", blocker.appendingPathComponent("sub").path, "--quiet"],
                          ["solve", "--dim", "8", "--trace", blocker.appendingPathComponent("t.dat").path]] {
            let run = try Self.deq(arguments, in: dir)
            let label = arguments.joined(separator: " ")
            #expect(run.status != 0 && !run.signalled, "\(label) was accepted")
            let path = arguments[arguments.firstIndex { $0 == "--out" || $0 == "--trace" }! + 1]
            #expect(run.stderr.contains(path), "\(label): the message does not name the path: \(run.stderr)")
            #expect(!FuzzTests.rawErrorMarkers.contains { run.stderr.contains($0) }, "\(label): a raw error: \(run.stderr)")
        }
    }

    /// Defect 10: hidden temporary point files of a killed writer survived and were never cleaned.
    @Test func staleTemporaryPointFilesAreRemoved() throws {
        let dir = try ScratchDirectory("stale")
        defer { dir.cleanUp() }
        let file = dir.file("stale.yaml")
        try "name: stale\ncells: [{family: tanh, dim: 8, batch: 2}]\nsolvers: [forward]\n".write(to: file, atomically: true, encoding: .utf8)
        let points = dir.file("out/points")
        try FileManager.default.createDirectory(at: points, withIntermediateDirectories: true)
        let stale = points.appendingPathComponent(".p0000.json.5F0C-TMP.tmp")
        try Data("{\"torn".utf8).write(to: stale)
        let run = try Self.deq(["run", file.path, "--quick", "--out", dir.file("out").path, "--quiet", "--no-plots"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: points.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "temporary files left: \(left)")
    }
}

/// `deq run` killed (SIGKILL) at seeded moments through a run and resumed: no point file is ever
/// torn, and every resumed folder holds exactly the points of one uninterrupted run.
@Suite struct KillAndResumeTests {
    /// The per-sample results of every point (wall times differ between runs and are left out).
    static func points(in folder: URL) throws -> [String: [PointRecord.Sample]] {
        let points = folder.appendingPathComponent("points")
        var result: [String: [PointRecord.Sample]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: points.path) where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let record = try JSONDecoder().decode(PointRecord.self, from: Data(contentsOf: points.appendingPathComponent(name)))
            result[record.id] = record.samples
        }
        return result
    }

    @Test(.timeLimit(.minutes(5)))
    func runKilledAtAnyMomentResumesToTheSameResults() throws {
        let dir = try ScratchDirectory("kill-resume")
        defer { dir.cleanUp() }
        let file = dir.file("kill.yaml")
        try """
        name: kill
        repeats: 3
        cells: [{family: tanh, dim: [16, 48], batch: 3, rho: [0.9, 0.99], symmetric: true, injection-scale: 0.05}]
        solvers: [forward, {kind: anderson, memory: 5}, broyden]
        stopping: {tol: 1.0e-9, max-iter: 5000}
        """.write(to: file, atomically: true, encoding: .utf8)
        let reference = try InputDefectRegressionTests.deq(["run", file.path, "--out", dir.file("reference").path, "--quiet", "--no-plots"], in: dir)
        try #require(reference.status == 0, "\(reference.stderr)")
        let expected = try Self.points(in: dir.file("reference"))
        #expect(expected.count == 36)
        let binary = try #require(DeqProcess.executable)
        var random = SplitMix64(seed: 93)
        var killedMidway = 0
        for trial in 0..<8 {
            let out = dir.file("trial-\(trial)")
            let process = Process()
            process.executableURL = binary
            process.arguments = ["run", file.path, "--out", out.path, "--quiet", "--no-plots"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            // The same environment as the reference run (one BLAS thread: the same sums).
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_NUM_THREADS"] = "1"
            environment["DEQ_MEMORY_LIMIT"] = "1GB"
            process.environment = environment
            try process.run()
            // A moment from the start to past the usual end of a run (about 0.3 s here).
            usleep(UInt32(random.nextUniform() * 400_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Whatever the moment, every visible point file is whole.
            if FileManager.default.fileExists(atPath: out.appendingPathComponent("points").path) {
                let partial = try Self.points(in: out)
                if partial.count < expected.count { killedMidway += 1 }
                let differing = partial.filter { $0.value != expected[$0.key] }.map(\.key).sorted()
                #expect(differing.isEmpty, "trial \(trial): points \(differing) differ from one run after the kill")
            }
            let resumed = try InputDefectRegressionTests.deq(["run", file.path, "--out", out.path, "--quiet", "--no-plots"], in: dir)
            #expect(resumed.status == 0, "trial \(trial): \(resumed.stderr)")
            let final = try Self.points(in: out)
            let wrong = expected.keys.filter { final[$0] != expected[$0] }.sorted()
            #expect(final.count == expected.count && wrong.isEmpty, "trial \(trial): \(final.count) points, \(wrong) differ from one run")
            let hidden = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("points").path).filter { $0.hasPrefix(".") }
            #expect(hidden.isEmpty, "trial \(trial): \(hidden)")
        }
        // The moments must have hit runs in progress, or the test shows nothing.
        #expect(killedMidway >= 2, "only \(killedMidway) of 8 kills interrupted a run")
    }
}
