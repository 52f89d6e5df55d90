import Foundation
import Testing
import Equilibrium

/// Training checkpoints as one atomic, verified unit (issue 10, defect 2): a kill between any two
/// file writes leaves a checkpoint that resumes to exactly the uninterrupted run or is refused
/// with a sentence, and no truncated, bit-flipped or swapped file is ever accepted.
@Suite struct CheckpointIntegrityTests {
    /// A tiny spirals run: 5 parameters (W, U, b, head weight and bias), each with Adam's m and v,
    /// so a checkpoint is 15 arrays + state.json + checkpoint.json = 17 file writes; the initial
    /// (epoch-0) checkpoint has no moments yet: 5 + 2 = 7 writes.
    static let common = ["--task", "spirals", "--cell", "tanh", "--width", "4", "--train-size", "24", "--test-size", "8",
                         "--batch-size", "8", "--max-iter", "8", "--seed", "5"]
    static let writesPerCheckpoint = 17
    static let initialWrites = 7

    /// Runs deq with extra environment variables (``ChildProcess``).
    static func deq(_ arguments: [String], environment: [String: String] = [:]) throws -> DeqProcess.Output {
        let binary = try #require(DeqProcess.executable, "the deq executable was not found next to the test bundle")
        let result = try ChildProcess.run(binary, arguments, environment: environment)
        return DeqProcess.Output(stdout: result.stdout, stderr: result.stderr, status: result.status,
                                 exitedNormally: !result.signalled && !result.timedOut)
    }

    @Test("deq train killed after the n-th checkpoint file write resumes to the uninterrupted model or is refused")
    func killBetweenFileWritesAndResume() throws {
        let scratch = try ScratchDirectory("deq-kill-train")
        defer { scratch.cleanUp() }
        let epochs = 3
        let reference = scratch.file("reference")
        let straight = try Self.deq(["train"] + Self.common + ["--epochs", "\(epochs)", "--output", reference.path])
        #expect(straight.status == 0, "stderr: \(straight.stderr)")
        let expected = try TrainingCheckpoint.read(from: reference)
        // Kills after every third write and around each checkpoint.json (the commit points at
        // 7, 24, 41, 58 writes of a 3-epoch run).
        let total = Self.initialWrites + Self.writesPerCheckpoint * epochs
        var refused = 0, resumed = 0
        for n in Set(Array(stride(from: 1, through: total, by: 3)) + [6, 7, 8, 23, 24, 25, 57, 58]).sorted() {
            let run = scratch.file("kill-\(n)")
            let killed = try Self.deq(["train"] + Self.common + ["--epochs", "\(epochs)", "--output", run.path],
                                      environment: ["DEQ_CHECKPOINT_KILL_AFTER_WRITES": "\(n)"])
            #expect(!killed.exitedNormally, "n = \(n): the run was not killed (status \(killed.status))")
            let resume = try Self.deq(["train", "--resume", run.path, "--epochs", "\(epochs)"])
            if resume.status != 0 {
                // Only a kill before the first checkpoint.json may leave nothing to resume.
                #expect(n < Self.initialWrites, "n = \(n): refused although a complete checkpoint was written: \(resume.stderr)")
                #expect(resume.stderr.contains("checkpoint.json: no checkpoint here"), "n = \(n): \(resume.stderr)")
                refused += 1
                continue
            }
            let final = try TrainingCheckpoint.read(from: run)
            #expect(final.parameters == expected.parameters, "n = \(n): the resumed model differs from the uninterrupted run")
            #expect(final.optimizerState == expected.optimizerState, "n = \(n)")
            #expect(final.log.map(\.loss) == expected.log.map(\.loss), "n = \(n)")
            // Exactly one array folder is left (a resume removes those of killed writes).
            let folders = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("checkpoint-e") }
            #expect(folders.count == 1, "n = \(n): \(folders)")
            resumed += 1
        }
        #expect(resumed > 0 && refused > 0)
    }

    /// A checkpoint after `epochs` epochs of a small run, and its folder.
    static func written(epochs: Int, layout: TrainingCheckpoint.ArrayLayout, into directory: URL) throws -> TrainingCheckpoint {
        var options = TrainingOptions()
        options.cell = .tanh
        options.width = 5
        options.trainSize = 16
        options.testSize = 4
        options.batchSize = 8
        options.epochs = epochs
        let (train, test) = options.datasets()
        var session = try Training.session(options)
        try Training.run(&session, train: train, test: test, directory: nil)
        try session.checkpoint.write(to: directory, arrays: layout)
        return session.checkpoint
    }

    static func files(in directory: URL) throws -> [String] {
        let all = try #require(FileManager.default.subpaths(atPath: directory.path))
        return all.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    @Test("Seeded fuzz: a truncated, bit-flipped or swapped checkpoint file is never accepted", arguments: [false, true])
    func corruptionIsNeverAccepted(safetensors: Bool) throws {
        let layout: TrainingCheckpoint.ArrayLayout = safetensors ? .safetensors : .npyFiles
        let scratch = try ScratchDirectory("deq-checkpoint-fuzz")
        defer { scratch.cleanUp() }
        let original = scratch.file("original"), other = scratch.file("other")
        let checkpoint = try Self.written(epochs: 2, layout: layout, into: original)
        let otherCheckpoint = try Self.written(epochs: 1, layout: layout, into: other)
        #expect(try TrainingCheckpoint.read(from: original) == checkpoint)
        #expect(otherCheckpoint.parameters != checkpoint.parameters)
        let files = try Self.files(in: original)
        let otherFiles = try Self.files(in: other)
        func folderOf(_ list: [String]) throws -> String { try #require(list.first { $0.hasPrefix("checkpoint-e") }?.split(separator: "/").first.map(String.init)) }
        let folder = try folderOf(files), otherFolder = try folderOf(otherFiles)
        var generator = SplitMix64(seed: 2026)
        var accepted = 0, refusedCases = 0
        for trial in 0..<300 {
            let copy = scratch.file("trial-\(trial)")
            try FileManager.default.copyItem(at: original, to: copy)
            defer { try? FileManager.default.removeItem(at: copy) }
            let victim = files[Int(generator.next() % UInt64(files.count))]
            let url = copy.appendingPathComponent(victim)
            var data = try Data(contentsOf: url)
            let kind = trial % 3
            var mustRefuse = true
            switch kind {
            case 0:   // truncate
                data = data.prefix(Int(generator.next() % UInt64(data.count)))
            case 1:   // flip one byte (JSON whitespace may flip harmlessly: then the read must equal the original)
                let at = Int(generator.next() % UInt64(data.count))
                data[at] ^= UInt8(1 + generator.next() % 255)
                mustRefuse = !victim.hasSuffix(".json")
            default:  // the same file from another epoch's checkpoint
                let twin = victim.replacingOccurrences(of: folder, with: otherFolder)
                guard victim.hasPrefix(folder), otherFiles.contains(twin) else { continue }
                data = try Data(contentsOf: other.appendingPathComponent(twin))
            }
            try data.write(to: url)
            do {
                let read = try TrainingCheckpoint.read(from: copy)
                #expect(!mustRefuse, "trial \(trial): \(victim) altered (kind \(kind)) but accepted")
                #expect(read == checkpoint, "trial \(trial): \(victim) altered and read as a different checkpoint")
                accepted += 1
            } catch let error as TrainingError {
                #expect(error.description.contains("/"), "trial \(trial): the message names no file: \(error)")
                refusedCases += 1
            } catch {
                // Array-format errors (a damaged .npy header) name their file too.
                #expect("\(error)".contains(".npy") || "\(error)".contains(".safetensors") || "\(error)".contains(".json"),
                        "trial \(trial): \(error)")
                refusedCases += 1
            }
        }
        #expect(refusedCases > 150)
    }

    @Test("A checkpoint whose arrays and manifest disagree on the epoch is refused, naming state.json")
    func mixedEpochIsRefused() throws {
        let scratch = try ScratchDirectory("deq-checkpoint-mixed")
        defer { scratch.cleanUp() }
        let a = scratch.file("a"), b = scratch.file("b")
        _ = try Self.written(epochs: 2, layout: .npyFiles, into: a)
        _ = try Self.written(epochs: 1, layout: .npyFiles, into: b)
        // checkpoint.json of epoch 1 beside the folder of epoch 2 names a folder that is absent.
        try FileManager.default.removeItem(at: a.appendingPathComponent("checkpoint.json"))
        try FileManager.default.copyItem(at: b.appendingPathComponent("checkpoint.json"), to: a.appendingPathComponent("checkpoint.json"))
        #expect { _ = try TrainingCheckpoint.read(from: a) } throws: { "\($0)".contains("missing or unreadable") }
    }

    @Test("A diverging run stops with a sentence and leaves the previous checkpoint valid")
    func divergenceKeepsThePreviousCheckpoint() throws {
        let scratch = try ScratchDirectory("deq-nan")
        defer { scratch.cleanUp() }
        let run = scratch.file("run")
        // SGD with a step of 1e308 overflows the loss to inf within the first steps.
        let output = try Self.deq(["train"] + Self.common + ["--optimizer", "sgd", "--lr", "1e308", "--epochs", "2", "--output", run.path])
        #expect(output.exitedNormally && output.status == 1, "status \(output.status)")
        #expect(output.stderr.contains("training stopped and the last checkpoint (epoch 0) was kept"), "stderr: \(output.stderr)")
        #expect(output.stderr.contains("the training loss is inf") || output.stderr.contains("non-finite"), "stderr: \(output.stderr)")
        let kept = try TrainingCheckpoint.read(from: run)
        #expect(kept.epoch == 0 && kept.parameters.allSatisfy { $0.values.allSatisfy(\.isFinite) })
    }

    @Test("A format-1 checkpoint is read for evaluation but not resumed")
    func formatOneIsNotResumed() throws {
        // A spirals run written by the format-1 code (no manifest), kept as a fixture.
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/format1-checkpoint")
        let text = try String(contentsOf: committed.appendingPathComponent("checkpoint.json"), encoding: .utf8)
        #expect(text.contains("\"format\" : 1"))
        #expect(throws: TrainingError.self) { _ = try Training.resume(from: committed) }
        #expect(try Training.resume(from: committed, allowUnverified: true).epoch > 0)
    }
}
