import Foundation

/// Builds a zip archive in memory: stored or deflated members, zip64 fields where a size, an
/// offset or the member count needs them (APPNOTE.TXT 6.3, sections 4.3–4.5).
///
/// Timestamps are fixed at 1980-01-01 00:00 (the earliest DOS date), so the same arrays
/// always give the same bytes. `forceZip64` writes the zip64 fields even when 32 bits would
/// do (as Python's `zipfile` does in local headers for `numpy.savez`); the tests use it to
/// exercise the zip64 path without a 4 GiB member.
struct ZipWriter {
    private(set) var data = Data()
    private var central = Data()
    private var count = 0
    let forceZip64: Bool

    init(forceZip64: Bool = false) {
        self.forceZip64 = forceZip64
    }

    /// Appends a member; `deflate` compresses it at zlib's default level.
    mutating func add(name: String, contents: Data, deflate: Bool) {
        let nameBytes = Array(name.utf8)
        let (crc, compressed): (UInt32, Data) = contents.withUnsafeBytes { raw in
            (Deflate.crc32(raw), deflate ? Data(Deflate.deflate(raw)) : contents)
        }
        let offset = data.count
        let sizesNeed64 = forceZip64 || compressed.count >= 0xFFFF_FFFF || contents.count >= 0xFFFF_FFFF
        let offsetNeeds64 = forceZip64 || offset >= 0xFFFF_FFFF
        let method: UInt16 = deflate ? 8 : 0
        let flags: UInt16 = nameBytes.allSatisfy { $0 < 0x80 } ? 0 : 0x800
        let version: UInt16 = sizesNeed64 || offsetNeeds64 ? 45 : 20

        // Local header: a zip64 field holds both sizes when either is saturated.
        var localExtra = Data()
        if sizesNeed64 {
            Self.append(UInt16(1), to: &localExtra)
            Self.append(UInt16(16), to: &localExtra)
            Self.append(UInt64(contents.count), to: &localExtra)
            Self.append(UInt64(compressed.count), to: &localExtra)
        }
        Self.append(UInt32(0x0403_4B50), to: &data)
        Self.append(version, to: &data)
        Self.append(flags, to: &data)
        Self.append(method, to: &data)
        Self.append(UInt16(0), to: &data)            // time 00:00
        Self.append(UInt16(0x21), to: &data)         // date 1980-01-01
        Self.append(crc, to: &data)
        Self.append(sizesNeed64 ? UInt32.max : UInt32(compressed.count), to: &data)
        Self.append(sizesNeed64 ? UInt32.max : UInt32(contents.count), to: &data)
        Self.append(UInt16(nameBytes.count), to: &data)
        Self.append(UInt16(localExtra.count), to: &data)
        data.append(contentsOf: nameBytes)
        data.append(localExtra)
        data.append(compressed)

        // Central directory entry: the zip64 field holds only the saturated values, in order.
        var centralExtra = Data()
        var fields: [UInt64] = []
        if sizesNeed64 { fields += [UInt64(contents.count), UInt64(compressed.count)] }
        if offsetNeeds64 { fields.append(UInt64(offset)) }
        if !fields.isEmpty {
            Self.append(UInt16(1), to: &centralExtra)
            Self.append(UInt16(8 * fields.count), to: &centralExtra)
            for field in fields { Self.append(field, to: &centralExtra) }
        }
        Self.append(UInt32(0x0201_4B50), to: &central)
        Self.append(UInt16(0x0300) | version, to: &central)   // made by: Unix
        Self.append(version, to: &central)
        Self.append(flags, to: &central)
        Self.append(method, to: &central)
        Self.append(UInt16(0), to: &central)
        Self.append(UInt16(0x21), to: &central)
        Self.append(crc, to: &central)
        Self.append(sizesNeed64 ? UInt32.max : UInt32(compressed.count), to: &central)
        Self.append(sizesNeed64 ? UInt32.max : UInt32(contents.count), to: &central)
        Self.append(UInt16(nameBytes.count), to: &central)
        Self.append(UInt16(centralExtra.count), to: &central)
        Self.append(UInt16(0), to: &central)                   // comment length
        Self.append(UInt16(0), to: &central)                   // disk
        Self.append(UInt16(0), to: &central)                   // internal attributes
        Self.append(UInt32(0o100644) << 16, to: &central)      // external: a regular file, rw-r--r--
        Self.append(offsetNeeds64 ? UInt32.max : UInt32(offset), to: &central)
        central.append(contentsOf: nameBytes)
        central.append(centralExtra)
        count += 1
    }

    /// The finished archive: members, central directory, (zip64 end record and locator,) end record.
    func finished() -> Data {
        var out = data
        let directoryOffset = out.count
        out.append(central)
        let needs64 = forceZip64 || count >= 0xFFFF || directoryOffset >= 0xFFFF_FFFF || central.count >= 0xFFFF_FFFF
        if needs64 {
            let record = out.count
            Self.append(UInt32(0x0606_4B50), to: &out)
            Self.append(UInt64(44), to: &out)                  // size of the rest of the record
            Self.append(UInt16(0x032D), to: &out)              // made by: Unix, 4.5
            Self.append(UInt16(45), to: &out)
            Self.append(UInt32(0), to: &out)
            Self.append(UInt32(0), to: &out)
            Self.append(UInt64(count), to: &out)
            Self.append(UInt64(count), to: &out)
            Self.append(UInt64(central.count), to: &out)
            Self.append(UInt64(directoryOffset), to: &out)
            Self.append(UInt32(0x0706_4B50), to: &out)
            Self.append(UInt32(0), to: &out)
            Self.append(UInt64(record), to: &out)
            Self.append(UInt32(1), to: &out)
        }
        Self.append(UInt32(0x0605_4B50), to: &out)
        Self.append(UInt16(0), to: &out)
        Self.append(UInt16(0), to: &out)
        Self.append(needs64 ? UInt16.max : UInt16(count), to: &out)
        Self.append(needs64 ? UInt16.max : UInt16(count), to: &out)
        Self.append(needs64 ? UInt32.max : UInt32(central.count), to: &out)
        Self.append(needs64 ? UInt32.max : UInt32(directoryOffset), to: &out)
        Self.append(UInt16(0), to: &out)                       // comment length
        return out
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
