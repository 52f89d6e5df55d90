import Equilibrium
import Foundation
import Yams

/// Reading a YAML file so that nothing in it can hang, exhaust memory or crash the reader:
///
/// - only a regular file is opened (a FIFO or a device would block or never end), at most
///   ``maxBytes`` of it;
/// - the text must be UTF-8; the first invalid byte is reported with its line and offset;
/// - the composed tree may hold at most ``maxNodes`` nodes *with aliases expanded*: an alias
///   reuses its anchor's node, so a "billion laughs" file of a few lines describes 10⁹ nodes.
///   The count stops at the limit, so the check itself costs at most ``maxNodes`` steps.
///
/// Experiment files are a few hundred nodes; the limits are far above any real one.
public enum YAMLDocument {
    /// 4 MB.
    public static let maxBytes = 4_000_000
    /// 100 000 nodes.
    public static let maxNodes = 100_000

    /// The text of `url`, checked as above. Errors name the file (and the line for bad UTF-8).
    public static func text(of url: URL) throws(ExperimentError) -> String {
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ExperimentError(file: path, line: nil, message: "cannot open the file: \(String(cString: strerror(errno))); expected a YAML experiment file")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ExperimentError(file: path, line: nil, message: "is not a regular file (a directory, FIFO or device); expected a YAML experiment file")
        }
        guard Int(info.st_size) <= maxBytes else {
            throw ExperimentError(file: path, line: nil, message: "is \(Size.describe(bytes: Int(info.st_size))); expected an experiment file of at most \(Size.describe(bytes: maxBytes))")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ExperimentError(file: path, line: nil, message: "cannot read the file: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw ExperimentError(file: path, line: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try decode(data, file: path)
    }

    /// `data` as UTF-8 text; the first invalid byte is an error with its line and offset.
    public static func decode(_ data: Data, file: String) throws(ExperimentError) -> String {
        let bytes = [UInt8](data)
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(scalar):
                offset += scalar.count
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case let .error(length):
                let line = bytes[..<offset].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
                let byte = String(format: "0x%02X", bytes[offset])
                _ = length
                throw ExperimentError(file: file, line: line, message: "the file is not valid UTF-8 (byte \(byte) at offset \(offset)); expected UTF-8 text")
            }
        }
    }

    /// The composed tree of `text`, with its size checked.
    public static func compose(_ text: String, file: String) throws(ExperimentError) -> Node {
        guard text.utf8.count <= maxBytes else {
            throw ExperimentError(file: file, line: nil, message: "the text is longer than \(Size.describe(bytes: maxBytes)); expected a small experiment file")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ExperimentError(file: file, line: nil, message: "the file is empty; expected a mapping with cells: and solvers:")
            }
            root = node
        } catch let error as ExperimentError {
            throw error
        } catch let error as YamlError {
            throw ExperimentError(file: file, line: line(of: error), message: "not valid YAML: \(summary(of: error))")
        } catch {
            throw ExperimentError(file: file, line: nil, message: "not valid YAML")
        }
        var budget = maxNodes
        guard count(root, budget: &budget) else {
            throw ExperimentError(file: file, line: nil,
                                  message: "the file describes more than \(maxNodes) YAML nodes once its aliases (*name) are expanded; expected a small experiment file (write the values out instead of nesting aliases)")
        }
        return root
    }

    /// Counts `node` and its descendants (aliases expanded) against `budget`; false when it runs out.
    private static func count(_ node: Node, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .scalar, .alias:
            return true
        case let .sequence(sequence):
            for item in sequence where !count(item, budget: &budget) { return false }
            return true
        case let .mapping(mapping):
            for (key, value) in mapping {
                guard count(key, budget: &budget), count(value, budget: &budget) else { return false }
            }
            return true
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }

    static func summary(of error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, _, _), let .parser(_, problem, _, _), let .composer(_, problem, _, _):
            return problem
        case let .reader(problem, _, _, _):
            return problem
        case let .duplicatedKeysInMapping(duplicates, _):
            return "duplicate keys \(duplicates.joined(separator: ", "))"
        case .memory:
            return "out of memory while parsing"
        default:
            return "the text could not be read as YAML"
        }
    }
}
