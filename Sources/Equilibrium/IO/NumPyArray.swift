import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A dense float64 array read from or written to NumPy's `.npy` format. `values` are always in C (row-major) order, whatever order the file used.
///
/// The format is specified in `numpy.lib.format` (NEP 1, "A Simple File Format for NumPy Arrays"):
///
/// - a 6-byte magic string, `\x93NUMPY`;
/// - two bytes, the major and minor format version (1.0, 2.0 or 3.0);
/// - the header length, a little-endian `UInt16` in version 1.0 and a little-endian `UInt32`
///   in versions 2.0 and 3.0;
/// - the header: a Python dict literal such as
///   `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`, encoded as latin-1
///   (versions 1.0 and 2.0) or UTF-8 (version 3.0), padded with spaces and ended by `'\n'`
///   so that the data starts at a multiple of 64 bytes;
/// - the raw element data, in C or Fortran order as the header says.
///
/// Reading accepts little-endian `float64` (`'<f8'`), `float32` (`'<f4'`), `float16` (`'<f2'`),
/// the signed and unsigned integers of 1 to 8 bytes (`'|i1'` … `'<u8'`, for labels) and `bool`
/// (`'|b1'`), all widened exactly to `Double` (``StoredElementType``); writing produces `float64`
/// or `float32`. That covers what the toolkit exchanges with Python (weights, iterates, labels,
/// residual traces) without a general dtype system.
///
/// Equality compares `shape` and `values` element-wise, so arrays holding NaN are never equal,
/// even to themselves.
public struct NumPyArray: Equatable, Sendable {
    /// The extent of each axis; empty for a 0-d (scalar) array.
    public var shape: [Int]
    /// The elements in C (row-major) order; `shape.reduce(1, *)` of them.
    public var values: [Double]

    /// Creates an array from its shape and its elements in C (row-major) order.
    ///
    /// - Throws: ``UsageError`` unless every dimension is non-negative and their product equals
    ///   `values.count` (an empty shape is a scalar and holds exactly one value).
    public init(shape: [Int], checking values: [Double]) throws(UsageError) {
        guard Self.elementCount(of: shape) == values.count else {
            throw UsageError("NumPyArray", "values", got: "\(values.count) values for shape \(shape)",
                             expected: "non-negative extents whose product is the number of values")
        }
        self.init(shape: shape, values: values)
    }

    /// The library's own constructor for arrays of a known size (a precondition, not an error).
    package init(shape: [Int], values: [Double]) {
        precondition(Self.elementCount(of: shape) == values.count,
                     "NumPyArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// The element types this type reads and writes, spelled as NumPy's `descr` strings.
    public enum DataType: String, Sendable, CaseIterable {
        /// Little-endian IEEE 754 binary64.
        case float64 = "<f8"
        /// Little-endian IEEE 754 binary32, widened to `Double` on reading.
        case float32 = "<f4"

        /// Bytes per element.
        var byteWidth: Int {
            switch self {
            case .float64: 8
            case .float32: 4
            }
        }
    }
}

// MARK: - Reading

extension NumPyArray {
    /// Decodes the bytes of a `.npy` file; `source` names the file in error messages.
    ///
    /// Accepts format versions 1.0, 2.0 and 3.0, C or Fortran order, and the dtypes in
    /// ``DataType``. Fortran-ordered data are permuted to C order. NaN and infinities are
    /// kept as they are: whether they are acceptable is the caller's decision.
    ///
    /// The whole file must be accounted for: a payload shorter *or longer* than the shape
    /// requires is rejected, since either means the file is not what its header claims.
    public static func decode(_ data: Data, source: String) throws(NumPyError) -> NumPyArray {
        // `withUnsafeBytes` only rethrows untyped errors, so carry the typed one out in a Result.
        // The buffer starts at the slice's first byte, so a nonzero `startIndex` is harmless.
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(NumPyError) -> NumPyArray in
                try decode(bytes, source: source)
            }
        }
        return try result.get()
    }

    /// Reads and decodes the `.npy` file at `url`.
    ///
    /// A missing or unreadable file is reported as a ``NumPyError`` like any malformed one,
    /// so callers handle a single error type.
    ///
    /// The file is memory-mapped (``MappedFile``), so its bytes are copied once, into the
    /// values; a FIFO, a directory or another non-regular file is an error, not a hang.
    public static func read(contentsOf url: URL) throws(NumPyError) -> NumPyArray {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NumPyError(file: path, reason: "file not found; expected an existing .npy file at this path")
        }
        let file: MappedFile
        do {
            file = try MappedFile(url: url, kind: "a .npy file")
        } catch {
            throw NumPyError(file: path, reason: error.reason)
        }
        return try decode(file.bytes, source: path)
    }

    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// Decodes `.npy` bytes in place (an `.npz` member, a mapped file).
    static func decode(_ bytes: UnsafeRawBufferPointer, source: String) throws(NumPyError) -> NumPyArray {
        func fail(_ reason: String) -> NumPyError { NumPyError(file: source, reason: reason) }

        // Magic string: compare what is there before complaining about length, so that a short
        // non-NumPy file is called what it is.
        let magicPrefix = min(bytes.count, magic.count)
        guard bytes.prefix(magicPrefix).elementsEqual(magic.prefix(magicPrefix)) else {
            let found = bytes.prefix(magic.count).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw fail("bad magic string: expected \\x93NUMPY (93 4e 55 4d 50 59), found \(found); not a .npy file")
        }
        guard bytes.count >= magic.count + 2 else {
            throw fail("truncated preamble: expected at least 8 bytes (magic string and version), found \(bytes.count)")
        }

        // Version and header length.
        let major = bytes[6], minor = bytes[7]
        let lengthFieldSize: Int
        let headerIsUTF8: Bool
        switch (major, minor) {
        case (1, 0): (lengthFieldSize, headerIsUTF8) = (2, false)
        case (2, 0): (lengthFieldSize, headerIsUTF8) = (4, false)
        case (3, 0): (lengthFieldSize, headerIsUTF8) = (4, true)
        default:
            throw fail("unsupported .npy format version \(major).\(minor); expected 1.0, 2.0 or 3.0")
        }
        let headerStart = 8 + lengthFieldSize
        guard bytes.count >= headerStart else {
            throw fail("truncated preamble: expected at least \(headerStart) bytes (magic string, version and header length), found \(bytes.count)")
        }
        var lengthField: UInt32 = 0
        for offset in 0..<lengthFieldSize {
            lengthField |= UInt32(bytes[8 + offset]) << (8 * offset)
        }
        guard let headerLength = Int(exactly: lengthField) else {
            throw fail("header length \(lengthField) exceeds what this platform can address; expected a smaller header")
        }
        let headerEnd = headerStart + headerLength
        guard headerEnd <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the file: expected at least \(headerEnd) bytes, found \(bytes.count)")
        }

        // Header dict.
        let header = try Header(
            parsing: UnsafeRawBufferPointer(rebasing: bytes[headerStart..<headerEnd]),
            isUTF8: headerIsUTF8, source: source)

        // Payload: exactly count × width bytes, no more, no fewer.
        let payload = UnsafeRawBufferPointer(rebasing: bytes[headerEnd...])
        let width = header.dataType.byteWidth
        let (expectedBytes, overflow) = header.count.multipliedReportingOverflow(by: width)
        let layout = "shape \(Self.pythonRepr(of: header.shape)) of '\(header.descr)'"
        guard !overflow else {
            throw fail("malformed header: \(layout) needs more bytes than can be addressed; expected a shape whose data fits in memory")
        }
        guard payload.count >= expectedBytes else {
            throw fail("truncated data: expected \(expectedBytes) bytes for \(layout), found \(payload.count)")
        }
        guard payload.count == expectedBytes else {
            throw fail("unexpected trailing data: expected \(expectedBytes) bytes for \(layout), found \(payload.count) (\(payload.count - expectedBytes) extra)")
        }

        let fileOrder: [Double]
        do {
            fileOrder = try header.dataType.decode(payload, count: header.count)
        } catch {
            throw fail("element \(error.index) (in file order): \(error.reason)")
        }
        let values = header.isFortranOrder
            ? Self.cOrder(fromFortranOrder: fileOrder, shape: header.shape)
            : fileOrder
        return NumPyArray(shape: header.shape, values: values)
    }

    /// Permutes Fortran-ordered (first axis fastest) elements into C order (last axis fastest).
    ///
    /// Walks the output in C order with an odometer over all axes but the last; along the
    /// last axis the Fortran offset advances by the product of all other dimensions.
    private static func cOrder(fromFortranOrder source: [Double], shape: [Int]) -> [Double] {
        guard shape.count > 1, !source.isEmpty else { return source }
        let rank = shape.count
        var fortranStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank {
            fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1]
        }
        let innerLength = shape[rank - 1]
        let innerStride = fortranStrides[rank - 1]

        return [Double](unsafeUninitializedCapacity: source.count) { output, initialized in
            source.withUnsafeBufferPointer { input in
                var index = [Int](repeating: 0, count: rank - 1)
                var rowStart = 0  // Fortran offset of the element at (index..., 0)
                var written = 0
                while written < source.count {
                    var offset = rowStart
                    for _ in 0..<innerLength {
                        output[written] = input[offset]
                        written += 1
                        offset += innerStride
                    }
                    // Advance the odometer over axes rank-2 ... 0.
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        rowStart += fortranStrides[axis]
                        if index[axis] < shape[axis] { break }
                        rowStart -= fortranStrides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            initialized = source.count
        }
    }
}

// MARK: - Writing

extension NumPyArray {
    /// Encodes the array as a `.npy` file, byte for byte as `numpy.save` writes it.
    ///
    /// Uses format version 1.0 unless the header exceeds 65535 bytes, then 2.0 (NumPy's
    /// "oldest version that works" rule). The data are in C order; the header keys are sorted,
    /// carry NumPy's spare spaces for growing the first axis in place, and are padded with
    /// spaces and a final `'\n'` so that the data start at a multiple of 64 bytes.
    public func encoded(as type: DataType = .float64) -> Data {
        precondition(Self.elementCount(of: shape) == values.count,
                     "NumPyArray: shape \(shape) does not hold \(values.count) values")
        var data = Self.encodedHeader(shape: shape, type: type)
        data.reserveCapacity(data.count + values.count * type.byteWidth)
        switch type {
        case .float64:
            #if _endian(little)
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            #else
            for value in values { Self.appendLittleEndian(value.bitPattern, to: &data) }
            #endif
        case .float32:
            let narrowed = values.map { Float($0).bitPattern.littleEndian }
            narrowed.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes the encoded array to `url`, replacing any existing file.
    ///
    /// Writes atomically (temporary file in the same directory, then rename), so a
    /// half-written file never looks complete: readers see either the old file or the new one.
    public func write(to url: URL, as type: DataType = .float64) throws(NumPyError) {
        do {
            try AtomicFile.write(encoded(as: type), to: url)
        } catch {
            throw NumPyError(file: error.path, reason: error.reason)
        }
    }

    private static func encodedHeader(shape: [Int], type: DataType) -> Data {
        var dict = "{'descr': '\(type.rawValue)', 'fortran_order': False, 'shape': \(pythonRepr(of: shape)), }"
        // NumPy leaves room for the growth axis (the first, in C order) to reach 21 digits.
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, 21 - String(first).utf8.count))
        }
        let dictBytes = Array(dict.utf8)

        // Version 1.0 stores the header length in a UInt16; fall back to 2.0 (UInt32) only when
        // it does not fit, as NumPy does.
        let alignment = 64
        func paddedLength(lengthFieldSize: Int) -> Int {
            let withNewline = dictBytes.count + 1
            return withNewline + alignment - (magic.count + 2 + lengthFieldSize + withNewline) % alignment
        }
        let version1Length = paddedLength(lengthFieldSize: 2)
        let usesVersion1 = version1Length <= Int(UInt16.max)
        let headerLength = usesVersion1 ? version1Length : paddedLength(lengthFieldSize: 4)

        var data = Data(magic)
        if usesVersion1 {
            data.append(contentsOf: [1, 0])
            appendLittleEndian(UInt16(headerLength), to: &data)
        } else {
            data.append(contentsOf: [2, 0])
            appendLittleEndian(UInt32(truncatingIfNeeded: headerLength), to: &data)
        }
        data.append(contentsOf: dictBytes)
        data.append(contentsOf: repeatElement(UInt8(ascii: " "), count: headerLength - dictBytes.count - 1))
        data.append(UInt8(ascii: "\n"))
        return data
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}

// MARK: - Shared helpers

extension NumPyArray {
    /// The number of elements a shape holds, or nil if a dimension is negative or the product overflows.
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// The shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
    fileprivate static func pythonRepr(of shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}

// MARK: - Errors

/// A `.npy` file that could not be read, decoded or written.
public struct NumPyError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path or source name of the file.
    public var file: String
    /// What was wrong and what was expected.
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

// MARK: - Header parsing

/// The three keys of a `.npy` header, validated.
private struct Header {
    var dataType: StoredElementType
    /// The dtype as the header spells it.
    var descr: String
    var isFortranOrder: Bool
    var shape: [Int]
    /// The product of `shape`, known not to overflow.
    var count: Int

    private static let expectedForm = "expected a dict like {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"

    init(parsing bytes: UnsafeRawBufferPointer, isUTF8: Bool, source: String) throws(NumPyError) {
        func fail(_ reason: String) -> NumPyError { NumPyError(file: source, reason: reason) }

        var parser = LiteralParser(bytes: bytes, isUTF8: isUTF8)
        let entries: [(key: String, value: PythonLiteral)]
        do {
            entries = try parser.parseHeaderDict()
        } catch {
            throw fail("malformed header: \(error.message) at header byte \(error.offset); \(Self.expectedForm)")
        }

        var dict: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw fail("malformed header: unexpected key '\(key)'; expected only 'descr', 'fortran_order' and 'shape'")
            }
            guard dict.updateValue(value, forKey: key) == nil else {
                throw fail("malformed header: duplicate key '\(key)'; expected each of 'descr', 'fortran_order' and 'shape' once")
            }
        }
        guard let descr = dict["descr"], let fortranOrder = dict["fortran_order"], let shapeLiteral = dict["shape"] else {
            let missing = ["descr", "fortran_order", "shape"].filter { dict[$0] == nil }
            throw fail("malformed header: missing key \(missing.map { "'\($0)'" }.joined(separator: ", ")); expected keys 'descr', 'fortran_order' and 'shape'")
        }

        let supported = StoredElementType.allCases.compactMap { type in type.numpyDescr.map { "'\($0)' (\(type))" } }.joined(separator: ", ")
        guard case .string(let descrString) = descr, let dataType = StoredElementType(numpyDescr: descrString) else {
            throw fail("unsupported dtype \(descr.repr); expected one of \(supported)")
        }
        guard case .bool(let isFortranOrder) = fortranOrder else {
            throw fail("malformed header: 'fortran_order' is \(fortranOrder.repr); expected True or False")
        }
        guard case .tuple(let dimensionLiterals) = shapeLiteral else {
            throw fail("malformed header: 'shape' is \(shapeLiteral.repr); expected a tuple of non-negative integers such as (3, 4), (5,) or ()")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dimensionLiterals.count)
        for literal in dimensionLiterals {
            guard case .int(let dimension) = literal else {
                throw fail("malformed header: 'shape' contains \(literal.repr); expected a tuple of non-negative integers")
            }
            guard dimension >= 0 else {
                throw fail("malformed header: negative dimension \(dimension) in 'shape'; expected non-negative integers")
            }
            shape.append(dimension)
        }
        guard let count = NumPyArray.elementCount(of: shape) else {
            throw fail("malformed header: 'shape' \(NumPyArray.pythonRepr(of: shape)) has more elements than can be addressed; expected a shape whose data fits in memory")
        }

        self.dataType = dataType
        self.descr = descrString
        self.isFortranOrder = isFortranOrder
        self.shape = shape
        self.count = count
    }
}

/// The subset of Python literals a `.npy` header can hold (structured dtypes use lists of tuples).
private indirect enum PythonLiteral {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])

    /// Python-like spelling for error messages, shortened when long.
    var repr: String {
        let full = fullRepr
        return full.count <= 80 ? full : String(full.prefix(77)) + "..."
    }

    private var fullRepr: String {
        switch self {
        case .string(let value): "'\(value)'"
        case .int(let value): String(value)
        case .bool(let value): value ? "True" : "False"
        case .none: "None"
        case .tuple(let items) where items.count == 1: "(\(items[0].fullRepr),)"
        case .tuple(let items): "(" + items.map(\.fullRepr).joined(separator: ", ") + ")"
        case .list(let items): "[" + items.map(\.fullRepr).joined(separator: ", ") + "]"
        }
    }
}

/// A syntax error in the header, with the byte offset where it was noticed.
private struct LiteralSyntaxError: Error {
    var message: String
    var offset: Int
}

/// A small recursive-descent parser for the header's Python dict literal.
///
/// Hand-written rather than regex-based so that it runs in linear time on any input, never
/// traps, and reports where it went wrong. It accepts strings (single or double quoted, a
/// backslash taking the next character literally), integers, `True`, `False`, `None`, tuples
/// and lists, with Python's whitespace and trailing commas; `(x)` is `x`, as in Python.
private struct LiteralParser {
    private let bytes: UnsafeRawBufferPointer
    private let isUTF8: Bool
    private var position = 0
    /// Bounds recursion so that a header of nested brackets cannot exhaust the stack.
    private static let maximumDepth = 32

    init(bytes: UnsafeRawBufferPointer, isUTF8: Bool) {
        self.bytes = bytes
        self.isUTF8 = isUTF8
    }

    /// Parses `{key: value, ...}` followed only by whitespace (NumPy's padding and newline).
    mutating func parseHeaderDict() throws(LiteralSyntaxError) -> [(key: String, value: PythonLiteral)] {
        skipWhitespace()
        try expect(UInt8(ascii: "{"), "expected '{' to open the header dict")
        var entries: [(key: String, value: PythonLiteral)] = []
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { position += 1; break }
            guard case .string(let key) = try parseValue(depth: 1) else {
                throw error("expected a quoted string key")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "expected ':' after key '\(key)'")
            skipWhitespace()
            entries.append((key, try parseValue(depth: 1)))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "expected ',' or '}' after the value of '\(key)'")
            break
        }
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected text after the closing '}'") }
        return entries
    }

    private mutating func parseValue(depth: Int) throws(LiteralSyntaxError) -> PythonLiteral {
        guard depth <= Self.maximumDepth else { throw error("literal nested too deeply") }
        guard let byte = peek() else { throw error("unexpected end of header") }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString(quote: byte))
        case UInt8(ascii: "("):
            position += 1
            let (items, sawComma) = try parseItems(closing: UInt8(ascii: ")"), depth: depth)
            // Python: `(x)` is just x; `(x,)` and `()` are tuples.
            if items.count == 1 && !sawComma { return items[0] }
            return .tuple(items)
        case UInt8(ascii: "["):
            position += 1
            return .list(try parseItems(closing: UInt8(ascii: "]"), depth: depth).items)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .int(try parseInteger())
        default:
            if consume("True") { return .bool(true) }
            if consume("False") { return .bool(false) }
            if consume("None") { return .none }
            throw error("unexpected character \(Self.describe(byte))")
        }
    }

    /// Parses comma-separated values up to `closing`, which it consumes.
    private mutating func parseItems(closing: UInt8, depth: Int) throws(LiteralSyntaxError) -> (items: [PythonLiteral], sawComma: Bool) {
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if peek() == closing { position += 1; return (items, sawComma) }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                sawComma = true
                continue
            }
            try expect(closing, "expected ',' or '\(Character(Unicode.Scalar(closing)))'")
            return (items, sawComma)
        }
    }

    private mutating func parseString(quote: UInt8) throws(LiteralSyntaxError) -> String {
        let start = position
        position += 1
        var content: [UInt8] = []
        while let byte = peek() {
            position += 1
            if byte == quote {
                return isUTF8
                    ? String(decoding: content, as: UTF8.self)
                    : String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))  // latin-1
            }
            if byte == UInt8(ascii: "\n") { break }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = peek() else { break }
                position += 1
                content.append(escaped)
            } else {
                content.append(byte)
            }
        }
        position = start
        throw error("unterminated string")
    }

    private mutating func parseInteger() throws(LiteralSyntaxError) -> Int {
        let start = position
        var isNegative = false
        if let sign = peek(), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            isNegative = sign == UInt8(ascii: "-")
            position += 1
        }
        var magnitude = 0
        var digits = 0
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                position = start
                throw error("integer too large")
            }
            magnitude = next
            digits += 1
            position += 1
        }
        guard digits > 0 else {
            position = start
            throw error("expected digits after the sign")
        }
        return isNegative ? -magnitude : magnitude
    }

    // MARK: Low-level helpers

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), [0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B].contains(byte) {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8, _ message: @autoclosure () -> String) throws(LiteralSyntaxError) {
        guard peek() == byte else { throw error(message()) }
        position += 1
    }

    /// Consumes `word` if it comes next and is not the start of a longer identifier.
    private mutating func consume(_ word: String) -> Bool {
        let word = Array(word.utf8)
        let end = position + word.count
        guard end <= bytes.count, bytes[position..<end].elementsEqual(word) else { return false }
        if end < bytes.count, Self.isIdentifierByte(bytes[end]) { return false }
        position = end
        return true
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private func error(_ message: String) -> LiteralSyntaxError {
        LiteralSyntaxError(message: message, offset: position)
    }

    private static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "0x%02x", byte)
    }
}
