import Foundation

/// A `.safetensors` file: named tensors with their dtypes and shapes, read as Float64 arrays.
///
/// The format (Hugging Face, "safetensors", the format PyTorch users save `state_dict`s in):
///
///     bytes 0..<8          N, the header length: an unsigned 64-bit little-endian integer
///     bytes 8..<8+N        the header: UTF-8 JSON, one object, possibly padded with spaces
///     bytes 8+N...         the data buffer: every tensor's bytes, little-endian, C order
///
///     {"__metadata__": {"format": "pt"},
///      "conv1.weight": {"dtype": "F64", "shape": [64, 48, 3, 3], "data_offsets": [0, 221184]}, …}
///
/// `data_offsets` [begin, end) are relative to the data buffer. `__metadata__`, optional, maps
/// strings to strings. The reference implementation (the `safetensors` Rust crate) accepts a
/// file only when the tensors tile the buffer exactly (sorted by offset, each begins where the
/// previous ended, the last ends at the end of the file: no holes, no overlaps, nothing
/// after) and each tensor's byte count is its element count times the dtype's width; this
/// reader checks the same, plus what JSON leaves open: no duplicate keys, a UTF-8 header of
/// at most 100 MB (the crate's limit), integer shapes and offsets, only the three fields.
/// Every check runs on the header before any tensor data is touched; a bad file is an
/// ``ArrayFileError`` naming the file and the key.
///
/// Dtypes: everything in ``StoredElementType`` (F64, F32, F16, BF16, F8_E4M3, F8_E5M2, the
/// integers and BOOL), widened exactly to Float64. Reading maps the file (``MappedFile``): a
/// tensor is decoded only when asked for, and costs one copy, into its `[Double]`.
///
/// Writing (``encode(_:metadata:as:)``) produces F64 (or F32) tensors in the given order, the
/// header padded with spaces to a multiple of 8 bytes so that the data are aligned, as the
/// Python writer does; `safetensors.torch.load_file` reads them back.
///
/// References: Hugging Face, safetensors format specification and reference implementation
/// (github.com/huggingface/safetensors, `safetensors/src/tensor.rs`).
public struct SafeTensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var type: StoredElementType
        public var shape: [Int]
        /// The tensor's bytes within the data buffer.
        public var dataOffsets: Range<Int>
    }

    /// The file's path or the name given to the bytes.
    public let source: String
    /// The tensors in the header's order.
    public let tensors: [Tensor]
    /// The `__metadata__` object, when present.
    public let metadata: [String: String]?
    private let storage: MappedFile
    private let dataStart: Int
    private let index: [String: Int]

    /// The largest header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// Maps and checks the file at `url` (only the header is read).
    public init(contentsOf url: URL) throws(ArrayFileError) {
        try self.init(storage: MappedFile(url: url, kind: "a .safetensors file"))
    }

    /// Checks `data`, named `source` in errors.
    public init(data: Data, source: String) throws(ArrayFileError) {
        try self.init(storage: MappedFile(copying: data, name: source))
    }

    private init(storage: MappedFile) throws(ArrayFileError) {
        let bytes = storage.bytes, source = storage.path
        func fail(_ reason: String, key: String? = nil) -> ArrayFileError { ArrayFileError(file: source, key: key, reason: reason) }

        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, expected at least 8 (the header length) in a .safetensors file")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maximumHeaderLength) else {
            throw fail("header length \(declared) exceeds the format's limit of \(Self.maximumHeaderLength) bytes; expected a .safetensors file (is this one?)")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the file: expected at least \(8 + headerLength) bytes, found \(bytes.count)")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        guard header.first == UInt8(ascii: "{") else {
            throw fail("the header does not start with '{'; expected a JSON object after the 8-byte length")
        }
        var parser = StrictJSONParser(bytes: header)
        let document: JSONValue
        do {
            document = try parser.parseDocument()
        } catch {
            let what = error.message.hasPrefix("invalid UTF-8") ? "the header is not UTF-8" : "the header is not valid JSON"
            throw fail("\(what): \(error.message) at header byte \(error.offset); expected a JSON object of tensors")
        }
        guard case .object(let entries) = document else {
            throw fail("the header is \(document.kind), expected a JSON object of tensors")
        }

        let bufferLength = bytes.count - 8 - headerLength
        var tensors: [Tensor] = []
        var metadata: [String: String]?
        for (key, value) in entries {
            if key == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw fail("__metadata__ is \(value.kind); expected an object of strings", key: key)
                }
                var strings: [String: String] = [:]
                for (name, item) in pairs {
                    guard case .string(let text) = item else {
                        throw fail("__metadata__ entry \"\(name)\" is \(item.kind); expected a string", key: key)
                    }
                    strings[name] = text
                }
                metadata = strings
                continue
            }
            tensors.append(try Self.tensor(key, value, fail: fail))
        }

        // The tensors must tile the data buffer: sorted by offset, no hole, no overlap.
        let ordered = tensors.sorted { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var end = 0
        var previous: String?
        for tensor in ordered {
            let range = tensor.dataOffsets
            if range.lowerBound < end {
                throw fail("data_offsets [\(range.lowerBound), \(range.upperBound)] overlap those of '\(previous ?? "")', which end at \(end); expected tensors that do not share bytes", key: tensor.name)
            }
            if range.lowerBound > end {
                throw fail("data_offsets [\(range.lowerBound), \(range.upperBound)] leave bytes \(end)..<\(range.lowerBound) of the data buffer unused; expected each tensor to begin where the previous one ends (\(end))", key: tensor.name)
            }
            if range.upperBound > bufferLength {
                throw fail("data_offsets [\(range.lowerBound), \(range.upperBound)] run past the end of the data buffer (\(bufferLength) bytes after the header); expected offsets within it (is the file truncated?)", key: tensor.name)
            }
            end = range.upperBound
            previous = tensor.name
        }
        if end != bufferLength {
            throw fail("the tensors cover \(end) bytes of the data buffer, but the file holds \(bufferLength) after the header (\(bufferLength - end) extra); expected the buffer to end with the last tensor")
        }

        self.source = source
        self.tensors = tensors
        self.metadata = metadata
        self.storage = storage
        self.dataStart = 8 + headerLength
        var index: [String: Int] = [:]
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        self.index = index
    }

    /// One header entry, checked on its own.
    private static func tensor(_ key: String, _ value: JSONValue,
                               fail: (String, String?) -> ArrayFileError) throws(ArrayFileError) -> Tensor {
        let expected = "expected {\"dtype\": \"F64\", \"shape\": [2, 3], \"data_offsets\": [begin, end]}"
        guard case .object(let fields) = value else { throw fail("the entry is \(value.kind); \(expected)", key) }
        var dtype: JSONValue?, shape: JSONValue?, offsets: JSONValue?
        for (name, item) in fields {
            switch name {
            case "dtype": dtype = item
            case "shape": shape = item
            case "data_offsets": offsets = item
            default: throw fail("unexpected field \"\(name)\"; \(expected)", key)
            }
        }
        guard let dtype, let shape, let offsets else {
            let missing = [("dtype", dtype), ("shape", shape), ("data_offsets", offsets)].filter { $0.1 == nil }.map { "\"\($0.0)\"" }
            throw fail("missing field \(missing.joined(separator: ", ")); \(expected)", key)
        }
        let supported = StoredElementType.allCases.map(\.safetensorsName).joined(separator: ", ")
        guard case .string(let dtypeName) = dtype else { throw fail("dtype is \(dtype.kind); expected one of \(supported)", key) }
        guard let type = StoredElementType(safetensorsName: dtypeName) else {
            throw fail("unsupported dtype \"\(dtypeName)\"; expected one of \(supported)", key)
        }
        guard case .array(let extents) = shape else { throw fail("shape is \(shape.kind); expected an array of non-negative integers", key) }
        var dimensions: [Int] = []
        for extent in extents {
            guard case .integer(let n) = extent, n >= 0 else {
                throw fail("shape contains \(Self.text(extent)); expected non-negative integers", key)
            }
            dimensions.append(n)
        }
        guard case .array(let pair) = offsets, pair.count == 2,
              case .integer(let begin) = pair[0], case .integer(let end) = pair[1], begin >= 0, end >= 0 else {
            throw fail("data_offsets is not a pair of non-negative integers; expected [begin, end] within the data buffer", key)
        }
        guard begin <= end else { throw fail("data_offsets [\(begin), \(end)] end before they begin; expected begin ≤ end", key) }
        guard let count = NumPyArray.elementCount(of: dimensions) else {
            throw fail("shape \(dimensions) has more elements than can be addressed; expected a shape whose data fits in memory", key)
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.byteWidth)
        guard !overflow, bytes == end - begin else {
            throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but dtype \(dtypeName) and shape \(dimensions) need \(overflow ? "more than can be addressed" : String(bytes)); expected end − begin = \(type.byteWidth) × \(count)", key)
        }
        return Tensor(name: key, type: type, shape: dimensions, dataOffsets: begin..<end)
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .integer(let n): String(n)
        case .number(let text): text
        case .string(let s): "\"\(s)\""
        default: value.kind
        }
    }

    /// The tensor's header entry, or nil.
    public func tensor(named name: String) -> Tensor? { index[name].map { tensors[$0] } }

    /// The tensor `name` as Float64 values in C order.
    ///
    /// - Throws: ``ArrayFileError`` when there is no such tensor (the message lists the keys)
    ///   or a value cannot be widened exactly (a 64-bit integer beyond 2⁵³, a bool byte > 1).
    public func array(named name: String) throws(ArrayFileError) -> NumPyArray {
        guard let tensor = tensor(named: name) else {
            throw ArrayFileError(file: source, key: name, reason: "no such tensor; the file holds \(ArrayStore.list(tensors.map(\.name)))")
        }
        let count = tensor.shape.reduce(1, *)
        let start = dataStart + tensor.dataOffsets.lowerBound
        let raw = UnsafeRawBufferPointer(rebasing: storage.bytes[start..<(start + tensor.dataOffsets.count)])
        do {
            return NumPyArray(shape: tensor.shape, values: try tensor.type.decode(raw, count: count))
        } catch {
            throw ArrayFileError(file: source, key: name, reason: "element \(error.index): \(error.reason)")
        }
    }
}

// MARK: - Writing

extension SafeTensorsFile {
    /// The arrays as a `.safetensors` file, in the given order, stored as `type` (F64 by
    /// default, F32 on request), with the header padded by spaces to a multiple of 8 bytes.
    ///
    /// - Throws: ``ArrayFileError`` (file `"<safetensors>"`) for a duplicate or empty name, or
    ///   the reserved name `__metadata__`.
    public static func encode(_ arrays: [NamedArray], metadata: [String: String]? = nil,
                              as type: NumPyArray.DataType = .float64) throws(ArrayFileError) -> Data {
        let stored: StoredElementType = type == .float64 ? .float64 : .float32
        var seen = Set<String>()
        var header = "{"
        var fields: [String] = []
        if let metadata {
            let pairs = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for array in arrays {
            guard !array.name.isEmpty, array.name != "__metadata__" else {
                throw ArrayFileError(file: "<safetensors>", key: array.name, reason: "the name is empty or reserved; expected a tensor name such as \"conv1.weight\"")
            }
            guard seen.insert(array.name).inserted else {
                throw ArrayFileError(file: "<safetensors>", key: array.name, reason: "duplicate name; expected each tensor once")
            }
            let bytes = array.values.count * stored.byteWidth
            fields.append("\(jsonQuoted(array.name)):{\"dtype\":\"\(stored.safetensorsName)\",\"shape\":[\(array.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for array in arrays {
            switch stored {
            case .float64:
                #if _endian(little)
                array.values.withUnsafeBytes { data.append(contentsOf: $0) }
                #else
                let bits = array.values.map { $0.bitPattern.littleEndian }
                bits.withUnsafeBytes { data.append(contentsOf: $0) }
                #endif
            default:
                let bits = array.values.map { Float($0).bitPattern.littleEndian }
                bits.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
