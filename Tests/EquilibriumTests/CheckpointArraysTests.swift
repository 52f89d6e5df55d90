import Foundation
import Testing
import Equilibrium

/// Training checkpoints with their arrays in one `.safetensors` file: written and read back
/// exactly, read through the same ``ArrayStore`` as the `.npy` layout.
@Suite struct CheckpointArraysTests {
    static func trainedCheckpoint() throws -> TrainingCheckpoint {
        var options = TrainingOptions()
        options.cell = .tanh
        options.width = 6
        options.trainSize = 16
        options.testSize = 4
        options.batchSize = 8
        options.epochs = 1
        let (train, test) = options.datasets()
        var session = try Training.session(options)
        try Training.run(&session, train: train, test: test, directory: nil)
        return session.checkpoint
    }

    @Test func bothLayoutsRoundTripExactly() throws {
        let checkpoint = try Self.trainedCheckpoint()
        #expect(!checkpoint.optimizerState.first.isEmpty)
        for layout in [TrainingCheckpoint.ArrayLayout.npyFiles, .safetensors] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deq-checkpoint-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            try checkpoint.write(to: directory, arrays: layout)
            let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("checkpoint-e") })
            let file = directory.appendingPathComponent(folder).appendingPathComponent("arrays.safetensors")
            #expect(FileManager.default.fileExists(atPath: file.path) == (layout == .safetensors))
            #expect(try TrainingCheckpoint.read(from: directory) == checkpoint)
            if layout == .safetensors {
                let store = try ArrayStore(contentsOf: file)
                #expect(store.keys.contains("parameters.\(checkpoint.parameters[0].name)"))
                #expect(store.keys.contains("optimizer.first.\(checkpoint.parameters[0].name)"))
                // A rewritten (here mis-shaped) array no longer matches the manifest's digest.
                var broken = checkpoint.parameters.map { p in NamedArray(name: "parameters." + p.name, shape: p.shape, values: p.values) }
                broken[0] = NamedArray(name: broken[0].name, shape: [broken[0].values.count], values: broken[0].values)
                try ArrayStore.write(broken, to: file)
                do {
                    _ = try TrainingCheckpoint.read(from: directory)
                    Issue.record("the shape should not fit")
                } catch {
                    #expect("\(error)".contains("arrays.safetensors: ") && "\(error)".contains("the manifest"), "\(error)")
                }
            }
        }
    }
}
