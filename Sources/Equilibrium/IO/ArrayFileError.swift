/// A file of named arrays (`.safetensors`, `.npz`, a directory of `.npy`) that could not be
/// read, decoded or written.
///
/// The message names the file, the key when one is concerned, what was wrong and what was
/// expected, e.g. `model.safetensors[deq.f.conv1.weight]: data_offsets [0, 96] hold 96 bytes,
/// but dtype F64 and shape [2, 3] need 48; expected end − begin = 8 × 6`.
public struct ArrayFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path or source name of the file (the archive, not a member of it).
    public var file: String
    /// The key of the array concerned, with its prefix; nil for an error of the whole file.
    public var key: String?
    /// What was wrong and what was expected.
    public var reason: String

    public init(file: String, key: String? = nil, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String {
        key.map { "\(file)[\($0)]: \(reason)" } ?? "\(file): \(reason)"
    }
}
