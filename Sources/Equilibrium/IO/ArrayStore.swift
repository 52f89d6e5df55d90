import Foundation

/// A set of named arrays, wherever they are stored: a directory of `NAME.npy` files, an `.npz`
/// archive, a `.safetensors` file, or a single `.npy` file (one array, named by the file).
///
/// The format follows from the path: an existing directory, else the extension (`.npz`,
/// `.safetensors`, `.npy`). Keys are the names inside (PyTorch's `state_dict` keys such as
/// `deq.f.conv1.weight`, the `.npz` member names without `.npy`, the file names without
/// `.npy`). An optional `prefix` selects a submodule: with prefix `deq.f.` the store's
/// ``keys`` are the keys that start with it, with the prefix removed (`conv1.weight`), and
/// ``array(_:)`` reads `prefix + key`. So a whole model's `state_dict` serves any of its cells.
///
/// Files are memory-mapped and their headers (the `.safetensors` header, the zip directory)
/// checked when the store is opened; an array is decoded only when asked for. Every error is
/// an ``ArrayFileError`` naming the file and the key; a missing key's error lists the keys
/// there are, with the prefix applied.
///
/// ``write(_:to:as:compression:)`` is the other direction, by extension, atomically.
public struct ArrayStore: Sendable {
    /// How the arrays are stored.
    public enum Format: String, Sendable, CaseIterable {
        /// A directory of `NAME.npy` files.
        case npyDirectory = "directory of .npy files"
        /// One `.npy` file: one array, its key the file name without `.npy`.
        case npy = ".npy"
        /// A zip of `.npy` members (`numpy.savez`, `numpy.savez_compressed`).
        case npz = ".npz"
        /// Hugging Face's safetensors (`safetensors.torch.save_file(model.state_dict(), …)`).
        case safetensors = ".safetensors"
    }

    private enum Backing: Sendable {
        case directory
        case npy
        case npz(NumPyArchive)
        case safetensors(SafeTensorsFile)
    }

    /// Where the arrays are.
    public let url: URL
    public let format: Format
    /// Prepended to every key (e.g. `deq.f.`); empty for the whole store.
    public let prefix: String
    /// The keys that start with ``prefix``, without it, in the file's order (sorted for a
    /// directory).
    public let keys: [String]
    /// Every key in the store, with prefixes, in the file's order.
    public let allKeys: [String]
    private let backing: Backing

    /// Opens the arrays at `url` and checks the file's header or directory.
    ///
    /// - Throws: ``ArrayFileError`` when nothing is there, the extension names no known
    ///   format, or the header or directory is malformed.
    public init(contentsOf url: URL, prefix: String = "") throws(ArrayFileError) {
        self.url = url
        self.prefix = prefix
        let path = url.path
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && isDirectory.boolValue {
            format = .npyDirectory
            backing = .directory
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw ArrayFileError(file: path, reason: "cannot list the directory (\(error.localizedDescription)); expected a readable directory of .npy files")
            }
            allKeys = names.filter { $0.hasSuffix(".npy") && !$0.hasPrefix(".") }.map { String($0.dropLast(4)) }.sorted()
        } else {
            guard let format = Self.format(ofExtension: url.pathExtension) else {
                throw ArrayFileError(file: path, reason: exists
                    ? "unknown format '.\(url.pathExtension)'; expected a directory of NAME.npy files, or a .npy, .npz or .safetensors file"
                    : "no such file or directory; expected a directory of NAME.npy files, or a .npy, .npz or .safetensors file")
            }
            guard exists else {
                throw ArrayFileError(file: path, reason: "no such file; expected \(format == .npz ? "an" : "a") \(format.rawValue) file at this path")
            }
            self.format = format
            switch format {
            case .npy:
                backing = .npy
                allKeys = [url.deletingPathExtension().lastPathComponent]
            case .npz:
                let archive = try NumPyArchive(contentsOf: url)
                backing = .npz(archive)
                allKeys = archive.keys
            case .safetensors:
                let file = try SafeTensorsFile(contentsOf: url)
                backing = .safetensors(file)
                allKeys = file.tensors.map(\.name)
            case .npyDirectory:
                preconditionFailure("a directory has no extension format")
            }
        }
        keys = format == .npy ? allKeys : allKeys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// The format an extension names (`npz`, `safetensors`, `npy`; any case), or nil.
    public static func format(ofExtension pathExtension: String) -> Format? {
        switch pathExtension.lowercased() {
        case "npy": .npy
        case "npz": .npz
        case "safetensors": .safetensors
        default: nil
        }
    }

    /// Whether `key` (without the prefix) is in the store.
    public func contains(_ key: String) -> Bool {
        format == .npy ? allKeys.contains(key) : allKeys.contains(prefix + key)
    }

    /// The full key of `key`: with the prefix (a single `.npy` has no prefix).
    public func fullKey(_ key: String) -> String { format == .npy ? key : prefix + key }

    /// Where `key` is, for messages: `dir/KEY.npy` for a directory and a single `.npy`,
    /// `file.safetensors[deq.f.KEY]` for an archive or a safetensors file.
    public func location(of key: String) -> String {
        switch backing {
        case .directory: url.appendingPathComponent("\(fullKey(key)).npy").path
        case .npy: url.path
        case .npz, .safetensors: "\(url.path)[\(fullKey(key))]"
        }
    }

    /// A short name of `key` for messages: `KEY.npy` in a directory, the full key in a file.
    public func shortName(of key: String) -> String {
        switch backing {
        case .directory: "\(fullKey(key)).npy"
        case .npy: url.lastPathComponent
        case .npz, .safetensors: fullKey(key)
        }
    }

    /// The array `key` (without the prefix) as Float64 values in C order.
    ///
    /// - Throws: ``ArrayFileError`` naming the file and the key: no such key (the message
    ///   lists the keys found, with the prefix applied), or a malformed array.
    public func array(_ key: String) throws(ArrayFileError) -> NumPyArray {
        guard contains(key) else { throw missing(key) }
        switch backing {
        case .directory, .npy:
            let file = format == .npy ? url : url.appendingPathComponent("\(fullKey(key)).npy")
            do {
                return try NumPyArray.read(contentsOf: file)
            } catch {
                throw ArrayFileError(file: error.file, reason: error.reason)
            }
        case .npz(let archive):
            return try archive.array(named: fullKey(key))
        case .safetensors(let file):
            return try file.array(named: fullKey(key))
        }
    }

    /// The error for a missing key, listing what there is.
    public func missing(_ key: String, expected: String? = nil) -> ArrayFileError {
        let tail = expected.map { "; expected \($0)" } ?? ""
        let full = fullKey(key)
        if format == .npyDirectory {
            return ArrayFileError(file: url.appendingPathComponent("\(full).npy").path,
                                  reason: "no such file; the directory holds \(Self.list(allKeys.map { "\($0).npy" }))\(tail)")
        }
        let found: String
        if prefix.isEmpty || format == .npy {
            found = "the file holds \(Self.list(allKeys))"
        } else if keys.isEmpty {
            found = "no key starts with the prefix '\(prefix)'; the file holds \(Self.list(allKeys))"
        } else {
            found = "the keys with the prefix '\(prefix)' are \(Self.list(keys.map { prefix + $0 }))"
        }
        return ArrayFileError(file: url.path, key: full, reason: "no such key; \(found)\(tail)")
    }

    /// `a, b, c` with a count, cut after 24 names.
    static func list(_ names: [String]) -> String {
        if names.isEmpty { return "no arrays" }
        let shown = names.prefix(24).joined(separator: ", ")
        let count = names.count == 1 ? "1 array" : "\(names.count) arrays"
        return names.count > 24 ? "\(count): \(shown), … (\(names.count - 24) more)" : "\(count): \(shown)"
    }
}

// MARK: - One array, where a single array is expected

extension ArrayStore {
    /// The array at `url` where one array is expected (an injection, a start, an upstream
    /// gradient): a `.npy` file; an `.npz` or `.safetensors` file that holds exactly one array;
    /// or `FILE.npz:KEY` / `FILE.safetensors:KEY` for one array of several.
    ///
    /// Returns the array and where it was, for messages (the path, or `file[KEY]`).
    /// A path with any other extension is read as `.npy`, as before these formats.
    public static func singleArray(at url: URL) throws(ArrayFileError) -> (array: NumPyArray, location: String, key: String?) {
        let (file, key) = splitKey(url)
        guard let format = format(ofExtension: file.pathExtension), format != .npy else {
            do {
                return (try NumPyArray.read(contentsOf: file), file.path, nil)
            } catch {
                throw ArrayFileError(file: error.file, reason: error.reason)
            }
        }
        let store = try ArrayStore(contentsOf: file)
        if let key {
            return (try store.array(key), store.location(of: key), key)
        }
        guard store.allKeys.count == 1, let only = store.allKeys.first else {
            throw ArrayFileError(file: file.path, reason: "holds \(list(store.allKeys)); expected exactly one array, or name one as \(file.lastPathComponent):KEY")
        }
        return (try store.array(only), store.location(of: only), only)
    }

    /// `FILE.npz:KEY` → (FILE.npz, KEY) when FILE.npz (or .safetensors) exists and the whole
    /// path does not; otherwise the path unchanged.
    static func splitKey(_ url: URL) -> (file: URL, key: String?) {
        let path = url.path
        guard !FileManager.default.fileExists(atPath: path), let colon = path.lastIndex(of: ":") else { return (url, nil) }
        let file = URL(fileURLWithPath: String(path[..<colon]))
        let key = String(path[path.index(after: colon)...])
        guard !key.isEmpty, let format = format(ofExtension: file.pathExtension), format != .npy,
              FileManager.default.fileExists(atPath: file.path) else { return (url, nil) }
        return (file, key)
    }
}

// MARK: - Writing

extension ArrayStore {
    /// Writes `arrays` to `url` in the format its path names, atomically (``AtomicFile``):
    ///
    /// - `.safetensors`: one file, the arrays as F64 (or F32) tensors under their names;
    /// - `.npz`: one archive, members `NAME.npy`, stored or deflated (`compression`);
    /// - `.npy`: exactly one array;
    /// - anything else: a directory (created if needed) with one `NAME.npy` per array, each
    ///   file written atomically (the layout ``init(contentsOf:prefix:)`` reads back).
    ///
    /// - Throws: ``ArrayFileError`` naming the path: several arrays for a `.npy`, duplicate or
    ///   empty names, or a file that cannot be written.
    public static func write(_ arrays: [NamedArray], to url: URL, as type: NumPyArray.DataType = .float64,
                             compression: NumPyArchive.Compression = .stored) throws(ArrayFileError) {
        let path = url.path
        func written(_ data: Data) throws(ArrayFileError) {
            do { try AtomicFile.write(data, to: url) } catch { throw ArrayFileError(file: error.path, reason: error.reason) }
        }
        func located(_ error: ArrayFileError) -> ArrayFileError { ArrayFileError(file: path, key: error.key, reason: error.reason) }
        switch format(ofExtension: url.pathExtension) {
        case .safetensors:
            do { try written(SafeTensorsFile.encode(arrays, as: type)) } catch { throw located(error) }
        case .npz:
            do { try written(NumPyArchive.encode(arrays, compression: compression, as: type)) } catch { throw located(error) }
        case .npy:
            guard arrays.count == 1, let only = arrays.first else {
                throw ArrayFileError(file: path, reason: "a .npy file holds one array, got \(arrays.count) (\(arrays.map(\.name).joined(separator: ", "))); expected a .npz or .safetensors path, or a directory, for several")
            }
            try written(NumPyArray(shape: only.shape, values: only.values).encoded(as: type))
        case .npyDirectory, nil:
            var seen = Set<String>()
            for array in arrays where !seen.insert(array.name).inserted || array.name.isEmpty || array.name.contains("/") {
                throw ArrayFileError(file: path, key: array.name, reason: "the name is empty, holds '/' or is repeated; expected distinct file names")
            }
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw ArrayFileError(file: path, reason: "cannot create the directory (\(error.localizedDescription)); expected a writable location")
            }
            for array in arrays {
                do {
                    try AtomicFile.write(NumPyArray(shape: array.shape, values: array.values).encoded(as: type),
                                         to: url.appendingPathComponent("\(array.name).npy"))
                } catch {
                    throw ArrayFileError(file: error.path, reason: error.reason)
                }
            }
        }
    }
}
