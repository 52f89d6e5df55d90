import Foundation

/// An `.npz` file: NumPy's archive of named arrays, a zip of one `.npy` member per array.
///
/// `numpy.savez(file, W=w, b=b)` writes members `W.npy` and `b.npy` stored (method 0);
/// `numpy.savez_compressed` deflates them (method 8). The key of a member is its name without
/// `.npy`, as `numpy.load(file).files` lists them; members not ending in `.npy` are not
/// arrays and are not listed. The zip container is checked as ``ZipArchive`` says (CRC-32,
/// sizes, local against central headers, no overlapping members, zip64) and each member as
/// a `.npy` file (``NumPyArray``), every error naming the archive and the key.
///
/// Reading maps the file (``MappedFile``) and checks the whole directory before any member is
/// read. A stored member is decoded in place, so its bytes are copied once, into the values; a
/// deflated one is inflated into a buffer of exactly its declared size first (two copies:
/// deflate leaves no way around it).
///
/// Writing produces what `numpy.savez` (stored, the default) or `numpy.savez_compressed`
/// (deflated) would, with fixed timestamps; zip64 fields are written when a member, an offset
/// or the member count exceeds the 32-bit (16-bit) fields, so there is no size limit but memory:
/// the archive is built in memory before it is written atomically.
///
/// References: NumPy, `numpy.savez`, `numpy.lib.format` (NEP 1); PKWARE, APPNOTE.TXT 6.3.
public struct NumPyArchive: Sendable {
    /// How members are written.
    public enum Compression: Sendable {
        /// Method 0, as `numpy.savez`.
        case stored
        /// Method 8 (deflate, zlib's default level), as `numpy.savez_compressed`.
        case deflated
    }

    /// The archive's path or the name given to the bytes.
    public let source: String
    /// The keys (member names without `.npy`), in the archive's order.
    public let keys: [String]
    private let archive: ZipArchive
    private let members: [String: Int]

    /// Maps and checks the archive at `url`.
    public init(contentsOf url: URL) throws(ArrayFileError) {
        try self.init(storage: MappedFile(url: url, kind: "an .npz file (a zip of .npy arrays)"))
    }

    /// Checks the archive in `data`, named `source` in errors.
    public init(data: Data, source: String) throws(ArrayFileError) {
        try self.init(storage: MappedFile(copying: data, name: source))
    }

    private init(storage: MappedFile) throws(ArrayFileError) {
        let zip = try ZipArchive(storage: storage)
        var keys: [String] = []
        var members: [String: Int] = [:]
        for (index, entry) in zip.entries.enumerated() where entry.name.hasSuffix(".npy") {
            let key = String(entry.name.dropLast(4))
            keys.append(key)
            members[key] = index
        }
        source = storage.path
        self.keys = keys
        self.members = members
        archive = zip
    }

    /// The array `key` (the member `key.npy`).
    ///
    /// - Throws: ``ArrayFileError`` when there is no such member (the message lists the keys),
    ///   or the member is corrupt or not a valid `.npy` file.
    public func array(named key: String) throws(ArrayFileError) -> NumPyArray {
        guard let index = members[key] else {
            throw ArrayFileError(file: source, key: key, reason: "no such array; the archive holds \(ArrayStore.list(keys))")
        }
        let entry = archive.entries[index]
        let source = self.source
        return try archive.withContents(of: entry) { bytes throws(ArrayFileError) in
            do throws(NumPyError) {
                return try NumPyArray.decode(bytes, source: "\(source)[\(key)]")
            } catch {
                throw ArrayFileError(file: source, key: key, reason: error.reason)
            }
        }
    }

    /// The arrays as an `.npz` archive, members `NAME.npy` in the given order, each as
    /// `type` (float64 by default).
    ///
    /// - Throws: ``ArrayFileError`` (file `"<npz>"`) for an empty or duplicate name, or one
    ///   with a `/` (a folder inside the archive).
    public static func encode(_ arrays: [NamedArray], compression: Compression = .stored,
                              as type: NumPyArray.DataType = .float64) throws(ArrayFileError) -> Data {
        try encode(arrays, compression: compression, as: type, forceZip64: false)
    }

    /// As ``encode(_:compression:as:)`` with every zip64 field written (sizes, offsets, the
    /// zip64 end record), for tests of the zip64 path without a 4 GiB member.
    package static func encodeForcingZip64(_ arrays: [NamedArray], compression: Compression = .stored) throws(ArrayFileError) -> Data {
        try encode(arrays, compression: compression, as: .float64, forceZip64: true)
    }

    /// The raw deflate stream of `contents` (zlib's default level), for tests that build archives by hand.
    package static func rawDeflate(_ contents: Data) -> Data {
        contents.withUnsafeBytes { Data(Deflate.deflate($0)) }
    }

    static func encode(_ arrays: [NamedArray], compression: Compression, as type: NumPyArray.DataType,
                       forceZip64: Bool) throws(ArrayFileError) -> Data {
        var writer = ZipWriter(forceZip64: forceZip64)
        var seen = Set<String>()
        for array in arrays {
            guard !array.name.isEmpty, !array.name.contains("/") else {
                throw ArrayFileError(file: "<npz>", key: array.name, reason: "the name is empty or holds '/'; expected an array name such as \"W\"")
            }
            guard seen.insert(array.name).inserted else {
                throw ArrayFileError(file: "<npz>", key: array.name, reason: "duplicate name; expected each array once")
            }
            writer.add(name: array.name + ".npy",
                       contents: NumPyArray(shape: array.shape, values: array.values).encoded(as: type),
                       deflate: compression == .deflated)
        }
        return writer.finished()
    }
}
