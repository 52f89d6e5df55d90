/// A zip archive's members, located through its central directory and checked against their
/// local headers before any member is read.
///
/// The container (PKWARE, APPNOTE.TXT 6.3): each member is a local header (signature
/// `PK\x03\x04`, method, CRC-32, sizes, name) followed by its data, optionally by a data
/// descriptor (flag bit 3); then the central directory repeats every header with the offset
/// of its local header; the end-of-central-directory record (`PK\x05\x06`, found by scanning
/// back over at most a 64 KiB comment) says where the directory is. Sizes or offsets past
/// 32 bits, or more than 65535 members, move into zip64 fields: extra field 0x0001 in the
/// headers, and a zip64 end record found through its locator. Python's `zipfile`, which
/// `numpy.savez` uses, always writes the zip64 extra field into local headers.
///
/// Checked here, each an ``ArrayFileError`` naming the archive and the member: one disk only,
/// no encryption, method stored (0) or deflate (8), the directory exactly between the last
/// member and the end record, every local header where the directory says with the same
/// name, method and (without a data descriptor) CRC-32 and sizes, the data descriptor's values
/// when there is one, members inside the file and not overlapping (overlapping members are
/// how "zip bombs" reuse bytes), no duplicate names, stored sizes equal, and a declared
/// uncompressed size deflate can reach (at most 1032 × the compressed size). Reading a member
/// checks its CRC-32, and a deflated member must inflate to exactly its declared size
/// (``Deflate/inflate(_:into:)``). Not supported (errors, not guesses): multi-disk archives,
/// encryption, other compression methods, data before the first member, names that are
/// neither ASCII nor flagged UTF-8.
struct ZipArchive: Sendable {
    struct Entry: Sendable {
        var name: String
        var method: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
        var dataOffset: Int
    }

    let storage: MappedFile
    let entries: [Entry]

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50
    private static let descriptorSignature: UInt32 = 0x0807_4B50

    init(storage: MappedFile) throws(ArrayFileError) {
        self.storage = storage
        let bytes = storage.bytes, n = bytes.count, source = storage.path
        func fail(_ reason: String, _ member: String? = nil) -> ArrayFileError {
            ArrayFileError(file: source, key: member, reason: reason)
        }
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) throws(ArrayFileError) -> Int {
            let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            guard let result = Int(exactly: value), result <= n else {
                throw fail("a zip64 size or offset (\(value)) exceeds the file's \(n) bytes; the archive is truncated or corrupt")
            }
            return result
        }

        // End of central directory record: 22 bytes plus a comment of at most 65535.
        guard n >= 22 else {
            throw fail("truncated: \(n) bytes, too short for a zip archive (it ends with a 22-byte record); expected an .npz written by numpy.savez")
        }
        var endRecord: Int?
        var candidate = n - 22
        while candidate >= max(0, n - 22 - 0xFFFF) {
            if u32(candidate) == Int(Self.endSignature) && candidate + 22 + u16(candidate + 20) == n {
                endRecord = candidate
                break
            }
            candidate -= 1
        }
        guard let end = endRecord else {
            throw fail("no end of central directory record (PK\\x05\\x06) at the end of the file: the archive is truncated or not a zip file; expected an .npz written by numpy.savez")
        }
        var disk = u16(end + 4), directoryDisk = u16(end + 6)
        var diskEntries = u16(end + 8), totalEntries = u16(end + 10)
        var directorySize = u32(end + 12), directoryOffset = u32(end + 16)
        var directoryLimit = end
        if end >= 20 && u32(end - 20) == Int(Self.zip64LocatorSignature) {
            let locator = end - 20
            let record = try u64(locator + 8)
            guard u32(locator + 4) == 0, u32(locator + 16) <= 1 else {
                throw fail("the zip64 locator names several disks; expected a single-file archive")
            }
            guard record + 56 <= locator, u32(record) == Int(Self.zip64EndSignature) else {
                throw fail("the zip64 locator points to byte \(record), where there is no zip64 end record; the archive is corrupt")
            }
            disk = u32(record + 16)
            directoryDisk = u32(record + 20)
            diskEntries = try u64(record + 24)
            totalEntries = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryOffset = try u64(record + 48)
            directoryLimit = record
        } else if totalEntries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw fail("the end record defers to zip64 fields, but there is no zip64 locator before it; the archive is truncated or corrupt")
        }
        guard disk == 0, directoryDisk == 0, diskEntries == totalEntries else {
            throw fail("the archive spans several disks; expected a single-file archive")
        }
        guard directoryOffset <= directoryLimit, directorySize == directoryLimit - directoryOffset else {
            throw fail("the central directory (\(directorySize) bytes at byte \(directoryOffset)) does not end where the end record begins (byte \(directoryLimit)); the archive is truncated, has data prepended, or is corrupt")
        }
        guard totalEntries <= directorySize / 46 else {
            throw fail("the end record counts \(totalEntries) members, more than a \(directorySize)-byte central directory can hold; the archive is corrupt")
        }

        // Central directory.
        var entries: [Entry] = []
        var names = Set<String>()
        var dataEnds: [(start: Int, end: Int, name: String)] = []
        var p = directoryOffset
        for index in 0..<totalEntries {
            guard p + 46 <= directoryLimit, u32(p) == Int(Self.centralSignature) else {
                throw fail("central directory entry \(index) is missing or truncated at byte \(p); the archive is corrupt")
            }
            let flags = u16(p + 8), method = u16(p + 10), crc = UInt32(u32(p + 16))
            var compressed = u32(p + 20), uncompressed = u32(p + 24)
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            var startDisk = u16(p + 34), localOffset = u32(p + 42)
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= directoryLimit else {
                throw fail("central directory entry \(index) runs past the end of the directory; the archive is corrupt")
            }
            let name = try Self.name(bytes, at: p + 46, length: nameLength, utf8: flags & 0x800 != 0, entry: index, fail: fail)
            // zip64 extra field: the saturated fields, in this order.
            let zip64 = try Self.zip64Fields(bytes, at: p + 46 + nameLength, length: extraLength,
                                             wanted: [uncompressed == 0xFFFF_FFFF, compressed == 0xFFFF_FFFF, localOffset == 0xFFFF_FFFF],
                                             member: name, fail: fail)
            if let value = zip64[0] { uncompressed = value }
            if let value = zip64[1] { compressed = value }
            if let value = zip64[2] { localOffset = value }
            if startDisk == 0xFFFF { startDisk = 0 }
            guard startDisk == 0 else { throw fail("the member starts on disk \(startDisk); expected a single-file archive", name) }
            guard flags & 0x41 == 0 else { throw fail("the member is encrypted; expected an unencrypted archive", name) }
            guard method == 0 || method == 8 else {
                throw fail("compression method \(method); expected 0 (stored) or 8 (deflate), as numpy.savez and savez_compressed write", name)
            }
            guard names.insert(name).inserted else { throw fail("the archive holds two members of this name; expected each once", name) }
            if method == 0 && compressed != uncompressed {
                throw fail("a stored member with compressed size \(compressed) and uncompressed size \(uncompressed); expected equal sizes", name)
            }
            if method == 8 {
                let (bound, overflow) = compressed.multipliedReportingOverflow(by: Deflate.maximumRatio)
                if !overflow && uncompressed > bound + 8 {
                    throw fail("declares \(uncompressed) bytes from \(compressed) compressed ones, more than deflate's maximum ratio of \(Deflate.maximumRatio):1 allows; the sizes are forged or corrupt", name)
                }
            }

            // Its local header.
            guard localOffset <= directoryOffset - 30, u32(localOffset) == Int(Self.localSignature) else {
                throw fail("no local header (PK\\x03\\x04) at byte \(localOffset), where the central directory says the member starts; the archive is corrupt", name)
            }
            let localFlags = u16(localOffset + 6), localMethod = u16(localOffset + 8)
            let localNameLength = u16(localOffset + 26), localExtraLength = u16(localOffset + 28)
            let dataOffset = localOffset + 30 + localNameLength + localExtraLength
            guard dataOffset <= directoryOffset else {
                throw fail("the local header at byte \(localOffset) runs into the central directory; the archive is corrupt", name)
            }
            guard localNameLength == nameLength,
                  bytes[(localOffset + 30)..<(localOffset + 30 + nameLength)].elementsEqual(bytes[(p + 46)..<(p + 46 + nameLength)]) else {
                throw fail("the local header at byte \(localOffset) names another member than the central directory; the archive is corrupt", name)
            }
            guard localMethod == method, localFlags & 0x8 == flags & 0x8 else {
                throw fail("the local header (method \(localMethod), flags 0x\(String(localFlags, radix: 16))) disagrees with the central directory (method \(method), flags 0x\(String(flags, radix: 16))); the archive is corrupt", name)
            }
            guard compressed <= directoryOffset - dataOffset else {
                throw fail("\(compressed) bytes of data from byte \(dataOffset) run into the central directory at byte \(directoryOffset); the archive is truncated or corrupt", name)
            }
            var end = dataOffset + compressed
            if flags & 0x8 == 0 {
                var localCompressed = u32(localOffset + 18), localUncompressed = u32(localOffset + 22)
                let local64 = try Self.zip64Fields(bytes, at: localOffset + 30 + localNameLength, length: localExtraLength,
                                                   wanted: [localUncompressed == 0xFFFF_FFFF, localCompressed == 0xFFFF_FFFF, false],
                                                   member: name, fail: fail)
                if let value = local64[0] { localUncompressed = value }
                if let value = local64[1] { localCompressed = value }
                let localCRC = UInt32(u32(localOffset + 14))
                guard localCRC == crc, localCompressed == compressed, localUncompressed == uncompressed else {
                    throw fail("the local header (CRC-32 0x\(String(localCRC, radix: 16)), \(localCompressed) → \(localUncompressed) bytes) disagrees with the central directory (CRC-32 0x\(String(crc, radix: 16)), \(compressed) → \(uncompressed) bytes); the archive is corrupt", name)
                }
            } else {
                end = try Self.checkDescriptor(bytes, at: end, limit: directoryOffset, crc: crc, compressed: compressed,
                                               uncompressed: uncompressed, member: name, fail: fail)
            }
            entries.append(Entry(name: name, method: UInt16(method), crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: localOffset, dataOffset: dataOffset))
            dataEnds.append((localOffset, end, name))
            p = next
        }
        guard p == directoryLimit else {
            throw fail("the central directory holds \(directoryLimit - p) bytes after its \(totalEntries) entries; the archive is corrupt")
        }
        dataEnds.sort { $0.start < $1.start }
        for (a, b) in zip(dataEnds, dataEnds.dropFirst()) where a.end > b.start {
            throw fail("the member overlaps '\(a.name)' (bytes \(a.start)..<\(a.end) and \(b.start)..<\(b.end)); expected members that do not share bytes", b.name)
        }
        self.entries = entries
    }

    /// The member's uncompressed bytes, CRC-checked, lent to `body` (stored members in place,
    /// deflated ones in a buffer of exactly their declared size, freed afterwards).
    func withContents<R>(of entry: Entry, _ body: (UnsafeRawBufferPointer) throws(ArrayFileError) -> R) throws(ArrayFileError) -> R {
        let source = storage.path
        func fail(_ reason: String) -> ArrayFileError { ArrayFileError(file: source, key: entry.name, reason: reason) }
        let raw = UnsafeRawBufferPointer(rebasing: storage.bytes[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)])
        func checked(_ content: UnsafeRawBufferPointer) throws(ArrayFileError) -> R {
            let crc = Deflate.crc32(content)
            guard crc == entry.crc32 else {
                throw fail("CRC-32 mismatch: the data give 0x\(String(crc, radix: 16)), the archive records 0x\(String(entry.crc32, radix: 16)); the member is corrupt")
            }
            return try body(content)
        }
        if entry.method == 0 { return try checked(raw) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(entry.uncompressedSize, 1), alignment: 16)
        defer { buffer.deallocate() }
        let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<entry.uncompressedSize])
        do {
            try Deflate.inflate(raw, into: output)
        } catch {
            switch error {
            case .pastDeclaredSize:
                throw fail("inflates past its declared size of \(entry.uncompressedSize) bytes; the member is corrupt or its size is forged (inflation stopped there)")
            case let .shortOfDeclaredSize(produced):
                throw fail("inflates to \(produced) bytes, fewer than the \(entry.uncompressedSize) declared; the member is corrupt")
            case let .truncated(consumed):
                throw fail("the deflate stream is cut short after \(consumed) of \(entry.compressedSize) bytes; the member is truncated or corrupt")
            case let .trailingInput(consumed):
                throw fail("the deflate stream ends after \(consumed) of its \(entry.compressedSize) compressed bytes; the member is corrupt")
            case let .corrupt(message):
                throw fail("invalid deflate data (zlib: \(message)); the member is corrupt")
            }
        }
        return try checked(UnsafeRawBufferPointer(output))
    }

    // MARK: Helpers

    private static func name(_ bytes: UnsafeRawBufferPointer, at offset: Int, length: Int, utf8: Bool, entry: Int,
                             fail: (String, String?) -> ArrayFileError) throws(ArrayFileError) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        if raw.allSatisfy({ $0 < 0x80 }) || (utf8 && StrictJSONParser.firstInvalidUTF8(in: raw) == nil) {
            return String(decoding: raw, as: UTF8.self)
        }
        throw fail("central directory entry \(entry) has a name that is neither ASCII nor valid UTF-8 flagged as such; expected member names like 'W.npy'", nil)
    }

    /// The 64-bit values of the zip64 extra field (id 0x0001) for the fields marked `wanted`
    /// (uncompressed size, compressed size, local header offset), in that order.
    private static func zip64Fields(_ bytes: UnsafeRawBufferPointer, at offset: Int, length: Int, wanted: [Bool], member: String,
                                    fail: (String, String?) -> ArrayFileError) throws(ArrayFileError) -> [Int?] {
        var result: [Int?] = [nil, nil, nil]
        guard wanted.contains(true) else { return result }
        var p = offset
        let end = offset + length
        while p + 4 <= end {
            let id = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt16.self)))
            let size = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: p + 2, as: UInt16.self)))
            guard p + 4 + size <= end else { break }
            if id == 1 {
                var q = p + 4
                for (k, isWanted) in wanted.enumerated() where isWanted {
                    guard q + 8 <= p + 4 + size else {
                        throw fail("the zip64 extra field is too short for the sizes it must hold; the archive is corrupt", member)
                    }
                    let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: q, as: UInt64.self))
                    // Sizes of compressed data and offsets lie inside the file; the uncompressed
                    // size is bounded later, by deflate's maximum ratio.
                    guard let int = Int(exactly: value), k == 0 || int <= bytes.count else {
                        throw fail("a zip64 size or offset (\(value)) exceeds the file's \(bytes.count) bytes; the archive is truncated or corrupt", member)
                    }
                    result[k] = int
                    q += 8
                }
                return result
            }
            p += 4 + size
        }
        throw fail("32-bit sizes are saturated (0xFFFFFFFF) but there is no zip64 extra field; the archive is corrupt", member)
    }

    /// Checks the data descriptor after a member's data (CRC-32 and sizes, 4- or 8-byte, with
    /// or without its signature) and returns where it ends.
    private static func checkDescriptor(_ bytes: UnsafeRawBufferPointer, at offset: Int, limit: Int, crc: UInt32, compressed: Int,
                                        uncompressed: Int, member: String,
                                        fail: (String, String?) -> ArrayFileError) throws(ArrayFileError) -> Int {
        func u32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        for signed in [true, false] {
            let start = offset + (signed ? 4 : 0)
            if signed && (offset + 4 > limit || u32(offset) != UInt64(descriptorSignature)) { continue }
            for wide in [false, true] {
                let length = 4 + (wide ? 16 : 8)
                guard start + length <= limit else { continue }
                let sizes = wide ? (u64(start + 4), u64(start + 12)) : (u32(start + 4), u32(start + 8))
                if u32(start) == UInt64(crc) && sizes.0 == UInt64(compressed) && sizes.1 == UInt64(uncompressed) {
                    return start + length
                }
            }
        }
        throw fail("the data descriptor after the member's data does not repeat the central directory's CRC-32 and sizes; the archive is corrupt", member)
    }
}
