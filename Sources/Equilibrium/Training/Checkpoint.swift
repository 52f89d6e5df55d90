import Foundation

/// A training run's complete state, written as a directory:
///
///     checkpoint.json              options, epochs done, optimiser step, the epoch log
///     parameters/NAME.npy          one float64 array per model parameter (``EquilibriumModel/parameters``)
///     optimizer/first.NAME.npy     Adam's m (SGD's momentum buffer), when present
///     optimizer/second.NAME.npy    Adam's v, when present
///
/// or, written with `arrays: .safetensors`, one `arrays.safetensors` holding the same arrays
/// under the keys `parameters.NAME`, `optimizer.first.NAME`, `optimizer.second.NAME` (the JSON
/// names the file; both layouts are read through ``ArrayStore``).
///
/// Every file is written atomically (``AtomicFile``), the JSON last, so a reader never sees a
/// JSON that names missing arrays. float64 `.npy` round-trips exactly, and the trainer's random
/// streams are functions of (seed, step) and (seed, epoch), so resuming from a checkpoint
/// continues the run bit for bit.
public struct TrainingCheckpoint: Sendable, Equatable {
    public var options: TrainingOptions
    public var epoch: Int
    public var log: [EpochRecord]
    public var parameters: [NamedArray]
    public var optimizerState: OptimizerState

    /// How the arrays are stored beside `checkpoint.json`.
    public enum ArrayLayout: Sendable {
        /// `parameters/NAME.npy` and `optimizer/first.NAME.npy`, `optimizer/second.NAME.npy`.
        case npyFiles
        /// One `arrays.safetensors`.
        case safetensors
    }

    struct Header: Codable {
        var format = 1
        /// The file holding every array (`arrays.safetensors`); nil for the `.npy` folders.
        var arrays: String? = nil
        var options: TrainingOptions
        var epoch: Int
        var optimizerStep: Int
        var parameters: [String]
        var shapes: [[Int]]
        var log: [EpochRecord]
    }

    /// Writes the directory (created if needed), its arrays as `layout` says.
    public func write(to directory: URL, arrays layout: ArrayLayout = .npyFiles) throws {
        let manager = FileManager.default
        if layout == .safetensors {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
            var arrays = [NamedArray]()
            for p in parameters {
                arrays.append(NamedArray(name: "parameters.\(p.name)", shape: p.shape, values: p.values))
                if let m = optimizerState.first[p.name] { arrays.append(NamedArray(name: "optimizer.first.\(p.name)", shape: p.shape, values: m)) }
                if let v = optimizerState.second[p.name] { arrays.append(NamedArray(name: "optimizer.second.\(p.name)", shape: p.shape, values: v)) }
            }
            try ArrayStore.write(arrays, to: directory.appendingPathComponent("arrays.safetensors"))
            try writeHeader(to: directory, arrays: "arrays.safetensors")
            return
        }
        for sub in ["parameters", "optimizer"] {
            try manager.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for p in parameters {
            try AtomicFile.write(NumPyArray(shape: p.shape, values: p.values).encoded(),
                                 to: directory.appendingPathComponent("parameters/\(p.name).npy"))
            if let m = optimizerState.first[p.name] {
                try AtomicFile.write(NumPyArray(shape: p.shape, values: m).encoded(),
                                     to: directory.appendingPathComponent("optimizer/first.\(p.name).npy"))
            }
            if let v = optimizerState.second[p.name] {
                try AtomicFile.write(NumPyArray(shape: p.shape, values: v).encoded(),
                                     to: directory.appendingPathComponent("optimizer/second.\(p.name).npy"))
            }
        }
        try writeHeader(to: directory, arrays: nil)
    }

    private func writeHeader(to directory: URL, arrays: String?) throws {
        let header = Header(arrays: arrays, options: options, epoch: epoch, optimizerStep: optimizerState.step,
                            parameters: parameters.map(\.name), shapes: parameters.map(\.shape), log: log)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(header), to: directory.appendingPathComponent("checkpoint.json"))
    }

    /// Reads a directory written by ``write(to:)``; errors name the file and what is wrong.
    public static func read(from directory: URL) throws -> TrainingCheckpoint {
        let json = directory.appendingPathComponent("checkpoint.json")
        guard let data = try? Data(contentsOf: json) else {
            throw TrainingError("\(json.path): no checkpoint here (expected checkpoint.json written by deq train)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw TrainingError("\(json.path): not a valid checkpoint (\(error))")
        }
        if let problems = header.options.problems() { throw TrainingError("\(json.path): invalid options: \(problems)") }
        var parameters = [NamedArray](), state = OptimizerState(step: header.optimizerStep)
        // (store, key prefix) for the parameters, Adam's m and v: two .npy folders or one file.
        let sources: [(store: ArrayStore?, prefix: String)]
        if let file = header.arrays {
            let store = try ArrayStore(contentsOf: directory.appendingPathComponent(file))
            sources = [(store, "parameters."), (store, "optimizer.first."), (store, "optimizer.second.")]
        } else {
            let optimizer = directory.appendingPathComponent("optimizer")
            let optimizerStore = FileManager.default.fileExists(atPath: optimizer.path) ? try ArrayStore(contentsOf: optimizer) : nil
            sources = [(try ArrayStore(contentsOf: directory.appendingPathComponent("parameters")), ""),
                       (optimizerStore, "first."), (optimizerStore, "second.")]
        }
        for (name, shape) in zip(header.parameters, header.shapes) {
            func array(_ source: (store: ArrayStore?, prefix: String), required: Bool) throws -> [Double]? {
                guard let store = source.store, required || store.contains(source.prefix + name) else { return nil }
                let a = try store.array(source.prefix + name)
                guard a.shape == shape else { throw TrainingError("\(store.location(of: source.prefix + name)): shape \(a.shape), expected \(shape)") }
                return a.values
            }
            parameters.append(NamedArray(name: name, shape: shape, values: try array(sources[0], required: true)!))
            if let m = try array(sources[1], required: false) { state.first[name] = m }
            if let v = try array(sources[2], required: false) { state.second[name] = v }
        }
        return TrainingCheckpoint(options: header.options, epoch: header.epoch, log: header.log, parameters: parameters,
                                  optimizerState: state)
    }
}

/// A user's mistake in training options or files, with a message naming what was wrong.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A trainer whatever its cell type, for the CLI and the experiments (which choose the cell by
/// name).
public protocol TrainingSession: Sendable {
    var options: TrainingOptions { get }
    var epoch: Int { get }
    var log: [EpochRecord] { get }
    var checkpoint: TrainingCheckpoint { get }
    mutating func trainEpoch(train: Dataset, test: Dataset) throws -> EpochRecord
    func evaluate(_ data: Dataset, maxIterations: Int, batchSize: Int) throws -> Evaluation
    func alignment(_ data: Dataset, samples: Int, maxIterations: Int) throws -> (score: Double, perExample: [Double], correct: [Bool])
}

extension Trainer: TrainingSession {
    public var checkpoint: TrainingCheckpoint {
        TrainingCheckpoint(options: options, epoch: epoch, log: log, parameters: model.parameters, optimizerState: optimizerState)
    }

    /// Restores parameters, optimiser state, counters and log from `checkpoint`.
    mutating func restore(_ checkpoint: TrainingCheckpoint) throws {
        let names = model.parameters.map(\.name), shapes = model.parameters.map(\.shape)
        guard checkpoint.parameters.map(\.name) == names, checkpoint.parameters.map(\.shape) == shapes else {
            throw TrainingError("the checkpoint's parameters \(checkpoint.parameters.map(\.name)) do not match the model's \(names)")
        }
        model = try model.replacingParameters(checkpoint.parameters)
        optimizerState = checkpoint.optimizerState
        epoch = checkpoint.epoch
        log = checkpoint.log
    }
}

/// Making and restoring training sessions by cell name.
public enum Training {
    /// A fresh session for `options` (validated).
    public static func session(_ options: TrainingOptions) throws -> any TrainingSession {
        if let problems = options.problems() { throw TrainingError("invalid training options: \(problems)") }
        let classes = options.task == .parity ? 2 : 3
        let inputs = options.task == .parity ? 1 : 2
        switch options.cell {
        case .tanh: return Trainer(options: options, model: try ModelFactory.tanh(options, inputs: inputs, classes: classes))
        case .residual: return Trainer(options: options, model: try ModelFactory.residual(options, inputs: inputs, classes: classes))
        case .conv: return Trainer(options: options, model: try ModelFactory.conv(options, inputs: inputs, classes: classes))
        }
    }

    /// The session saved in `directory`; `epochs` replaces the saved total when given (to train
    /// further on resume).
    public static func resume(from directory: URL, epochs: Int? = nil) throws -> any TrainingSession {
        let checkpoint = try TrainingCheckpoint.read(from: directory)
        var options = checkpoint.options
        if let epochs { options.epochs = epochs }
        func restored<C>(_ trainer: Trainer<C>) throws -> any TrainingSession {
            var t = trainer
            try t.restore(checkpoint)
            return t
        }
        switch try session(options) {
        case let t as Trainer<TanhCell>: return try restored(t)
        case let t as Trainer<ResidualCell>: return try restored(t)
        case let t as Trainer<ConvResidualCell>: return try restored(t)
        default: preconditionFailure("unknown trainer type")
        }
    }

    /// Trains `session` up to its options' epoch count, writing the checkpoint after every epoch
    /// to `directory` (when given) and calling `progress` with each record.
    public static func run(_ session: inout any TrainingSession, train: Dataset, test: Dataset, directory: URL?,
                           progress: (EpochRecord) -> Void = { _ in }) throws {
        while session.epoch < session.options.epochs {
            let record = try session.trainEpoch(train: train, test: test)
            progress(record)
            if let directory {
                try session.checkpoint.write(to: directory)
                try TrainingLog.write(session.log, to: directory)
            }
        }
    }
}
