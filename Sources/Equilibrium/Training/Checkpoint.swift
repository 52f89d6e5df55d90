import Foundation

/// A training run's complete state, written as one atomic unit:
///
///     checkpoint.json                       the manifest: format 2, the epoch, the array folder, and
///                                           every file in it with its size and SHA-256
///     checkpoint-eEEEEEE-UUID/state.json    options, epochs done, optimiser step, the epoch log
///     checkpoint-eEEEEEE-UUID/parameters/NAME.npy        one float64 array per model parameter
///     checkpoint-eEEEEEE-UUID/optimizer/first.NAME.npy   Adam's m (SGD's momentum buffer), when present
///     checkpoint-eEEEEEE-UUID/optimizer/second.NAME.npy  Adam's v, when present
///
/// or, written with `arrays: .safetensors`, one `arrays.safetensors` in the folder holding the
/// same arrays under the keys `parameters.NAME`, `optimizer.first.NAME`, `optimizer.second.NAME`.
///
/// A write puts every file of the new epoch into a fresh folder (each flushed, ``AtomicFile``),
/// then replaces `checkpoint.json` atomically (rename(2)) — the one commit point — and only then
/// removes the previous folder. A kill at any moment leaves `checkpoint.json` naming either the
/// previous complete folder or the new complete one, never a mix. A read checks every file's size
/// and SHA-256 against the manifest and the epoch in `state.json` against the manifest's, and
/// refuses, naming the file, a truncated, altered, missing or swapped one. float64 `.npy`
/// round-trips exactly, and the trainer's random streams are functions of (seed, step) and
/// (seed, epoch), so resuming from a checkpoint continues the run bit for bit.
///
/// Checkpoints of format 1 (arrays beside `checkpoint.json`, no digests) are still read for
/// evaluation (``read(from:allowUnverified:)``) but are refused for resuming.
public struct TrainingCheckpoint: Sendable, Equatable {
    public var options: TrainingOptions
    public var epoch: Int
    public var log: [EpochRecord]
    public var parameters: [NamedArray]
    public var optimizerState: OptimizerState

    public init(options: TrainingOptions, epoch: Int, log: [EpochRecord], parameters: [NamedArray], optimizerState: OptimizerState) {
        self.options = options
        self.epoch = epoch
        self.log = log
        self.parameters = parameters
        self.optimizerState = optimizerState
    }

    /// How the arrays are stored in the checkpoint's folder.
    public enum ArrayLayout: Sendable {
        /// `parameters/NAME.npy` and `optimizer/first.NAME.npy`, `optimizer/second.NAME.npy`.
        case npyFiles
        /// One `arrays.safetensors`.
        case safetensors
    }

    /// `state.json` (format 2) or the whole `checkpoint.json` (format 1).
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

    /// `checkpoint.json` of format 2.
    struct Manifest: Codable {
        struct File: Codable {
            var path: String
            var bytes: Int
            var sha256: String
        }
        var format = 2
        var epoch: Int
        /// The folder beside `checkpoint.json` holding `state.json` and the arrays.
        var folder: String
        var files: [File]
    }

    /// The prefix of the array folders (`checkpoint-e000003-UUID`).
    static let folderPrefix = "checkpoint-e"

    /// Writes the checkpoint into `directory` (created if needed) as one atomic unit, its arrays
    /// as `layout` says; the previous checkpoint stays readable until the new one is complete.
    public func write(to directory: URL, arrays layout: ArrayLayout = .npyFiles) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        let folderName = Self.folderPrefix + String(format: "%06d", epoch) + "-" + UUID().uuidString
        let folder = directory.appendingPathComponent(folderName)
        try manager.createDirectory(at: folder, withIntermediateDirectories: false)
        var files = [Manifest.File]()
        func put(_ data: Data, _ path: String) throws {
            try AtomicFile.write(data, to: folder.appendingPathComponent(path))
            files.append(Manifest.File(path: path, bytes: data.count, sha256: SHA256.hex(data)))
            CheckpointFaults.didWriteFile()
        }
        var arraysFile: String? = nil
        if layout == .safetensors {
            var arrays = [NamedArray]()
            for p in parameters {
                arrays.append(NamedArray(name: "parameters.\(p.name)", shape: p.shape, values: p.values))
                if let m = optimizerState.first[p.name] { arrays.append(NamedArray(name: "optimizer.first.\(p.name)", shape: p.shape, values: m)) }
                if let v = optimizerState.second[p.name] { arrays.append(NamedArray(name: "optimizer.second.\(p.name)", shape: p.shape, values: v)) }
            }
            let file = folder.appendingPathComponent("arrays.safetensors")
            try ArrayStore.write(arrays, to: file)
            let data = try Data(contentsOf: file)
            files.append(Manifest.File(path: "arrays.safetensors", bytes: data.count, sha256: SHA256.hex(data)))
            CheckpointFaults.didWriteFile()
            arraysFile = "arrays.safetensors"
        } else {
            for sub in ["parameters", "optimizer"] {
                try manager.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            for p in parameters {
                try put(NumPyArray(shape: p.shape, values: p.values).encoded(), "parameters/\(p.name).npy")
                if let m = optimizerState.first[p.name] {
                    try put(NumPyArray(shape: p.shape, values: m).encoded(), "optimizer/first.\(p.name).npy")
                }
                if let v = optimizerState.second[p.name] {
                    try put(NumPyArray(shape: p.shape, values: v).encoded(), "optimizer/second.\(p.name).npy")
                }
            }
        }
        let header = Header(format: 2, arrays: arraysFile, options: options, epoch: epoch, optimizerStep: optimizerState.step,
                            parameters: parameters.map(\.name), shapes: parameters.map(\.shape), log: log)
        try put(try Self.encoder.encode(header), "state.json")
        // The commit point: checkpoint.json names the new, complete folder.
        let manifest = Manifest(epoch: epoch, folder: folderName, files: files)
        try AtomicFile.write(try Self.encoder.encode(manifest), to: directory.appendingPathComponent("checkpoint.json"))
        CheckpointFaults.didWriteFile()
        // Only now the previous folders (and any left by a killed write) go.
        if let names = try? manager.contentsOfDirectory(atPath: directory.path) {
            for name in names where name.hasPrefix(Self.folderPrefix) && name != folderName {
                try? manager.removeItem(at: directory.appendingPathComponent(name))
            }
        }
    }

    /// Removes the array folders that `directory/checkpoint.json` does not name (left by a write
    /// that was killed before or after its commit point).
    public static func removeStaleFolders(in directory: URL) {
        let manager = FileManager.default
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("checkpoint.json")),
              let manifest = try? decoder.decode(Manifest.self, from: data),
              let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(folderPrefix) && name != manifest.folder {
            try? manager.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    /// Reads a directory written by ``write(to:arrays:)``, verifying every file against the
    /// manifest; errors name the file and what is wrong. With `allowUnverified`, a format-1
    /// checkpoint (no digests; written before format 2) is read as it is (for evaluation).
    public static func read(from directory: URL, allowUnverified: Bool = false) throws -> TrainingCheckpoint {
        let json = directory.appendingPathComponent("checkpoint.json")
        guard let data = try? Data(contentsOf: json) else {
            throw TrainingError("\(json.path): no checkpoint here (expected checkpoint.json written by deq train)")
        }
        struct Format: Decodable { var format: Int? }
        guard let format = (try? JSONDecoder().decode(Format.self, from: data))?.format else {
            throw TrainingError("\(json.path): not a valid checkpoint manifest (expected JSON with a format number, written by deq train)")
        }
        switch format {
        case 1:
            guard allowUnverified else {
                throw TrainingError("\(json.path): a format-1 checkpoint (written by an older deq, without per-file digests) cannot be verified as whole, so it is not resumed; evaluate it with deq eval, or train again")
            }
            let header: Header
            do { header = try decoder.decode(Header.self, from: data) } catch {
                throw TrainingError("\(json.path): not a valid checkpoint (\(error))")
            }
            return try assemble(header, folder: directory, state: json)
        case 2:
            let manifest: Manifest
            do { manifest = try decoder.decode(Manifest.self, from: data) } catch {
                throw TrainingError("\(json.path): not a valid checkpoint manifest (\(error))")
            }
            func plain(_ path: String) -> Bool {
                !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains { $0 == ".." || $0 == "." || $0.isEmpty }
            }
            guard plain(manifest.folder), !manifest.folder.contains("/") else {
                throw TrainingError("\(json.path): the array folder '\(manifest.folder)' is not a plain folder name; the manifest is damaged")
            }
            let folder = directory.appendingPathComponent(manifest.folder)
            var seen = Set<String>()
            for file in manifest.files {
                guard plain(file.path), seen.insert(file.path).inserted else {
                    throw TrainingError("\(json.path): the file entry '\(file.path)' is not a plain relative path or repeats; the manifest is damaged")
                }
                let url = folder.appendingPathComponent(file.path)
                guard let contents = try? Data(contentsOf: url) else {
                    throw TrainingError("\(url.path): missing or unreadable, but listed in \(json.path); the checkpoint is incomplete (refusing to resume from it)")
                }
                guard contents.count == file.bytes else {
                    throw TrainingError("\(url.path): \(contents.count) bytes, but the manifest \(json.path) says \(file.bytes); the checkpoint is truncated or mixed (refusing to resume from it)")
                }
                guard SHA256.hex(contents) == file.sha256 else {
                    throw TrainingError("\(url.path): its SHA-256 does not match the manifest \(json.path); the file was altered or comes from another epoch (refusing to resume from it)")
                }
            }
            guard seen.contains("state.json") else {
                throw TrainingError("\(json.path): the manifest lists no state.json; the checkpoint is incomplete")
            }
            let stateURL = folder.appendingPathComponent("state.json")
            let header: Header
            do { header = try decoder.decode(Header.self, from: try Data(contentsOf: stateURL)) } catch {
                throw TrainingError("\(stateURL.path): not a valid checkpoint state (\(error))")
            }
            guard header.epoch == manifest.epoch else {
                throw TrainingError("\(stateURL.path): epoch \(header.epoch), but the manifest \(json.path) says \(manifest.epoch); the checkpoint is mixed")
            }
            // Every array file read below must be one the manifest verified.
            var expected = Set<String>()
            if let file = header.arrays { expected.insert(file) } else {
                for name in header.parameters { expected.insert("parameters/\(name).npy") }
            }
            if let missing = expected.subtracting(seen).sorted().first {
                throw TrainingError("\(folder.appendingPathComponent(missing).path): not listed in the manifest \(json.path); the checkpoint is incomplete or mixed")
            }
            if let extra = try? FileManager.default.subpathsOfDirectory(atPath: folder.path),
               let unlisted = extra.filter({ $0.hasSuffix(".npy") || $0.hasSuffix(".safetensors") }).sorted().first(where: { !seen.contains($0) }) {
                throw TrainingError("\(folder.appendingPathComponent(unlisted).path): an array file not listed in the manifest \(json.path); the checkpoint is mixed")
            }
            return try assemble(header, folder: folder, state: stateURL)
        default:
            throw TrainingError("\(json.path): checkpoint format \(format) is not known to this deq (expected 1 or 2)")
        }
    }

    /// The checkpoint from a decoded header and the arrays in `folder`.
    private static func assemble(_ header: Header, folder directory: URL, state json: URL) throws -> TrainingCheckpoint {
        if let problems = header.options.problems() { throw TrainingError("\(json.path): invalid options: \(problems)") }
        guard header.parameters.count == header.shapes.count else {
            throw TrainingError("\(json.path): \(header.parameters.count) parameter names but \(header.shapes.count) shapes")
        }
        var parameters = [NamedArray](), state = OptimizerState(step: header.optimizerStep)
        // (store, key prefix) for the parameters, Adam's m and v: two .npy folders or one file.
        let sources: [(store: ArrayStore?, prefix: String)]
        if let file = header.arrays {
            guard !file.contains("/") && file != ".." else { throw TrainingError("\(json.path): the arrays file '\(file)' is not a plain file name") }
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

/// A test hook for kill-and-resume tests: when `DEQ_CHECKPOINT_KILL_AFTER_WRITES=n` is set, the
/// process kills itself with SIGKILL right after the n-th checkpoint file it writes (each array,
/// `state.json` and `checkpoint.json` count), as a crash between two writes would.
enum CheckpointFaults {
    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var count = 0
        let limit: Int? = ProcessInfo.processInfo.environment["DEQ_CHECKPOINT_KILL_AFTER_WRITES"].flatMap { Int($0) }
    }
    private static let counter = Counter()

    static func didWriteFile() {
        guard let limit = counter.limit else { return }
        counter.lock.lock()
        counter.count += 1
        let reached = counter.count >= limit
        counter.lock.unlock()
        if reached { kill(getpid(), SIGKILL) }
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
    func jacobianAtFixedPoints(_ data: Dataset, samples: Int, maxIterations: Int, probes: Int) throws -> JacobianAtFixedPoints
}

extension Trainer: TrainingSession {
    public var checkpoint: TrainingCheckpoint {
        TrainingCheckpoint(options: options, epoch: epoch, log: log, parameters: model.parameters, optimizerState: optimizerState)
    }

    /// Restores parameters, optimiser state, counters and log from `checkpoint`.
    mutating func restore(_ checkpoint: TrainingCheckpoint) throws {
        try checkpoint.checkParameters(match: model.parameters)
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
        do { try options.checkMemory() } catch { throw TrainingError(error.description) }
        do { _ = try options.gradientEstimator } catch { throw TrainingError("invalid training options: \(error)") }
        if options.task == .digits {
            let (train, _) = try ImageDataset.loadSplits(from: options.imageDirectory)
            return try ImageTrainer(options: options, inputChannels: train.channels, height: train.height, width: train.width,
                                    classes: train.classes)
        }
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
    ///
    /// The checkpoint is verified against its manifest (``TrainingCheckpoint/read(from:allowUnverified:)``);
    /// `allowUnverified` also admits a format-1 checkpoint (for evaluation only).
    /// `dataDirectory` replaces the image folder of a digits run (the saved one may be an
    /// absolute path on another machine).
    public static func resume(from directory: URL, epochs: Int? = nil, allowUnverified: Bool = false,
                              dataDirectory: String? = nil) throws -> any TrainingSession {
        var checkpoint = try TrainingCheckpoint.read(from: directory, allowUnverified: allowUnverified)
        if let dataDirectory, checkpoint.options.task == .digits { checkpoint.options.dataDirectory = dataDirectory }
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
        case var t as ImageTrainer:
            try t.restore(checkpoint)
            return t
        default: preconditionFailure("unknown trainer type")
        }
    }

    /// Trains `session` up to its options' epoch count, writing the checkpoint after every epoch
    /// to `directory` (when given, its arrays as `arrays` says) and calling `progress` with each record.
    public static func run(_ session: inout any TrainingSession, train: Dataset, test: Dataset, directory: URL?,
                           arrays: TrainingCheckpoint.ArrayLayout = .npyFiles,
                           progress: (EpochRecord) -> Void = { _ in },
                           afterEpoch: (any TrainingSession) throws -> Void = { _ in }) throws {
        if let directory { TrainingCheckpoint.removeStaleFolders(in: directory) }
        // A run that fails in its first epoch (a NaN loss) still leaves a valid checkpoint.
        if let directory, session.epoch == 0,
           !FileManager.default.fileExists(atPath: directory.appendingPathComponent("checkpoint.json").path) {
            try session.checkpoint.write(to: directory, arrays: arrays)
        }
        while session.epoch < session.options.epochs {
            let record = try session.trainEpoch(train: train, test: test)
            progress(record)
            if let directory {
                try session.checkpoint.write(to: directory, arrays: arrays)
                try TrainingLog.write(session.log, to: directory)
            }
            try afterEpoch(session)
        }
    }
}
