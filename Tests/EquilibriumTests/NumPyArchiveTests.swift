import Foundation
import Testing
import Equilibrium

/// The `.npz` reader and writer: archives written by `numpy.savez`, `numpy.savez_compressed`
/// and `zipfile` on a non-seekable stream (fixtures from `scripts/pytorch_check.py`), round
/// trips with and without zip64, the container's malformations, and seeded fuzzing.
@Suite struct NumPyArchiveTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/formats")

    static func error(_ data: Data, source: String = "bad.npz") -> ArrayFileError? {
        do {
            let archive = try NumPyArchive(data: data, source: source)
            for key in archive.keys { _ = try archive.array(named: key) }
            return nil
        } catch {
            return error
        }
    }

    static let arrays = [NamedArray(name: "W", shape: [3, 4], values: (0..<12).map { Double($0) / 3 }),
                         NamedArray(name: "b", shape: [3], values: [1, -2, 0.5])]

    // MARK: Reading what NumPy writes

    @Test func readsEveryDtypeSavedByNumPy() throws {
        let archive = try NumPyArchive(contentsOf: Self.fixtures.appendingPathComponent("dtypes.npz"))
        let expected = try NumPyArchive(contentsOf: Self.fixtures.appendingPathComponent("dtypes-npz-expected.npz"))
        #expect(archive.keys == expected.keys)
        #expect(archive.keys.count == 13)
        for key in expected.keys {
            #expect(try archive.array(named: key) == expected.array(named: key), "\(key)")
        }
        #expect(try archive.array(named: "fortran").values == (0..<24).map(Double.init))   // Fortran order → C order
    }

    @Test func readsCompressedArchivesAndDataDescriptors() throws {
        let compressed = try NumPyArchive(contentsOf: Self.fixtures.appendingPathComponent("compressed.npz"))
        #expect(compressed.keys == ["W", "b"])
        #expect(try compressed.array(named: "W").values == (0..<60).map { Double($0) / 7 })
        let described = try NumPyArchive(contentsOf: Self.fixtures.appendingPathComponent("descriptor.npz"))
        #expect(try described.array(named: "W") == NumPyArray(shape: [3, 4], values: (0..<12).map(Double.init)))
        #expect(try described.array(named: "b").values == [1.5, -2, 0.25])
    }

    // MARK: Writing

    @Test(arguments: [(NumPyArchive.Compression.stored, false), (.deflated, false), (.stored, true), (.deflated, true)])
    func roundTrips(compression: NumPyArchive.Compression, zip64: Bool) throws {
        let data = try NumPyArchive.encode(Self.arrays, compression: compression)
        let archive = try NumPyArchive(data: data, source: "round.npz")
        #expect(archive.keys == ["W", "b"])
        for a in Self.arrays { #expect(try archive.array(named: a.name) == NumPyArray(shape: a.shape, values: a.values)) }
        if zip64 {
            let forced = try ZipFixtures.zip64(Self.arrays, compression: compression)
            let reread = try NumPyArchive(data: forced, source: "zip64.npz")
            for a in Self.arrays { #expect(try reread.array(named: a.name).values == a.values) }
        }
    }

    @Test func manyMembersRoundTrip() throws {
        let many = (0..<300).map { NamedArray(name: "a\($0)", shape: [1], values: [Double($0)]) }
        let archive = try NumPyArchive(data: NumPyArchive.encode(many), source: "many.npz")
        #expect(archive.keys.count == 300)
        #expect(try archive.array(named: "a299").values == [299])
    }

    // MARK: Malformed archives are errors naming the file and the member

    @Test func crcMismatchIsDetected() throws {
        var data = try NumPyArchive.encode(Self.arrays)
        data[data.count / 3] ^= 0x01          // inside W's stored data, past its .npy header
        let error = Self.error(data)
        #expect(error?.key == "W.npy" && error?.reason.contains("CRC-32 mismatch") == true, "\(String(describing: error))")
    }

    @Test func everyTruncationThrows() throws {
        for compression in [NumPyArchive.Compression.stored, .deflated] {
            let data = try NumPyArchive.encode(Self.arrays, compression: compression)
            for length in 0..<data.count {
                let error = Self.error(data.prefix(length))
                #expect(error?.file == "bad.npz", "length \(length)")
            }
        }
    }

    @Test func memberInflatingPastItsDeclaredSizeStopsThere() throws {
        // A deflated member whose declared size (in both headers) is 100 bytes short.
        let member = NumPyArray(shape: [50], values: (0..<50).map(Double.init)).encoded()
        let data = ZipFixtures.archive([.init(name: "x.npy", contents: member, deflate: true, declaredSize: member.count - 100)])
        let error = Self.error(data)
        #expect(error?.key == "x.npy" && error?.reason.contains("inflates past its declared size of \(member.count - 100) bytes") == true,
                "\(String(describing: error))")
        let short = ZipFixtures.archive([.init(name: "x.npy", contents: member, deflate: true, declaredSize: member.count + 100)])
        #expect(Self.error(short)?.reason.contains("fewer than the \(member.count + 100) declared") == true)
    }

    @Test func forgedHugeSizeIsRejectedBeforeAllocating() throws {
        let member = NumPyArray(shape: [4], values: [1, 2, 3, 4]).encoded()
        let data = ZipFixtures.archive([.init(name: "x.npy", contents: member, deflate: true, declaredSize: 1 << 40)], zip64: true)
        let error = Self.error(data)
        #expect(error?.reason.contains("maximum ratio") == true || error?.reason.contains("exceeds the file") == true, "\(String(describing: error))")
    }

    @Test func localAndCentralHeadersMustAgree() throws {
        let member = NumPyArray(shape: [2], values: [1, 2]).encoded()
        for (tamper, message) in [(ZipFixtures.Tamper.localName, "names another member"), (.localMethod, "disagrees"),
                                  (.localCRC, "disagrees"), (.centralOffset, "no local header")] {
            let data = ZipFixtures.archive([.init(name: "x.npy", contents: member)], tamper: tamper)
            let error = Self.error(data)
            #expect(error?.reason.contains(message) == true, "\(tamper): \(String(describing: error))")
        }
    }

    @Test func containerMalformationsAreRejected() throws {
        let member = NumPyArray(shape: [2], values: [1, 2]).encoded()
        let cases: [(Data, String)] = [
            (ZipFixtures.archive([.init(name: "x.npy", contents: member), .init(name: "x.npy", contents: member)]), "two members of this name"),
            (ZipFixtures.archive([.init(name: "x.npy", contents: member, method: 12)]), "compression method 12"),
            (ZipFixtures.archive([.init(name: "x.npy", contents: member, flags: 1)]), "encrypted"),
            (ZipFixtures.archive([.init(name: "x.npy", contents: member)], tamper: .saturatedWithoutZip64), "no zip64 extra field"),
            (ZipFixtures.overlapping(member), "overlaps"),
            (Data("PK\u{05}\u{06}not a zip".utf8), "too short for a zip archive"),
            (Data("PK\u{05}\u{06}".utf8) + Data(repeating: 0x20, count: 40), "no end of central directory"),
            (Data(repeating: 0, count: 100), "no end of central directory"),
        ]
        for (data, message) in cases {
            let error = Self.error(data)
            #expect(error?.file == "bad.npz" && error?.reason.contains(message) == true, "\(message): \(String(describing: error))")
        }
    }

    @Test func missingKeyListsTheKeys() throws {
        let archive = try NumPyArchive(data: NumPyArchive.encode(Self.arrays), source: "w.npz")
        #expect(throws: ArrayFileError(file: "w.npz", key: "U", reason: "no such array; the archive holds 2 arrays: W, b")) {
            try archive.array(named: "U")
        }
    }

    @Test func nonRegularFilesAreErrors() throws {
        let dir = try ScratchDirectory("NumPyArchiveTests")
        defer { dir.cleanUp() }
        let fifo = dir.file("pipe.npz")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        do { _ = try NumPyArchive(contentsOf: fifo) } catch { #expect(error.reason.contains("FIFO"), "\(error)") }
    }

    // MARK: Fuzzing

    /// Seeded corruption of stored and deflated archives (byte flips anywhere, biased to the
    /// headers and the end record; truncations): each must read correctly or throw an error
    /// naming the archive, never trap or allocate past the declared sizes.
    @Test func mutatedArchivesNeverTrap() throws {
        let seeds = [try NumPyArchive.encode(Self.arrays, compression: .stored), try NumPyArchive.encode(Self.arrays, compression: .deflated),
                     try Data(contentsOf: Self.fixtures.appendingPathComponent("descriptor.npz"))]
        var random = SplitMix64(seed: 0x21B)
        var tried = 0, decoded = 0
        for seed in seeds {
            for round in 0..<1_500 {
                var mutated = seed
                if round % 10 == 9 {
                    mutated = mutated.prefix(Int(random.next() % UInt64(seed.count)))
                } else {
                    for _ in 0..<Int(random.next() % 3 + 1) {
                        let region = random.next() % 3
                        let position = region == 0 ? Int(random.next() % 64)                                  // first local header
                            : region == 1 ? seed.count - 1 - Int(random.next() % UInt64(min(seed.count, 150)))  // directory, end record
                            : Int(random.next() % UInt64(seed.count))
                        mutated[position] = UInt8(truncatingIfNeeded: random.next())
                    }
                }
                tried += 1
                do {
                    let archive = try NumPyArchive(data: mutated, source: "fuzz.npz")
                    for key in archive.keys {
                        if let a = try? archive.array(named: key) { #expect(a.values.count == a.shape.reduce(1, *)) }
                    }
                    decoded += 1
                } catch {
                    #expect(error.file == "fuzz.npz" && !error.reason.isEmpty)
                }
            }
        }
        print("npz fuzz: \(tried) mutated inputs, \(decoded) still opened")
        #expect(tried == 4_500)
    }
}

/// Hand-built zip archives for the malformations `NumPyArchive` must reject.
enum ZipFixtures {
    struct Member {
        var name: String
        var contents: Data
        var deflate = false
        var declaredSize: Int? = nil
        var method: UInt16? = nil
        var flags: UInt16 = 0
    }

    enum Tamper { case none, localName, localMethod, localCRC, centralOffset, saturatedWithoutZip64 }

    static func append<T: FixedWidthInteger>(_ value: T, _ data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    /// zlib's raw deflate through the library's writer (a one-member archive, cut out).
    static func deflated(_ contents: Data) throws -> Data { NumPyArchive.rawDeflate(contents) }

    static func crc32(_ data: Data) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func archive(_ members: [Member], tamper: Tamper = .none, zip64: Bool = false) -> Data {
        var out = Data(), central = Data()
        for member in members {
            let payload = member.deflate ? try! deflated(member.contents) : member.contents
            let crc = crc32(member.contents)
            let size = member.declaredSize ?? member.contents.count
            let method = member.method ?? (member.deflate ? 8 : 0)
            let name = Array(member.name.utf8)
            let offset = out.count
            var extra = Data()
            if zip64 {
                append(UInt16(1), &extra); append(UInt16(16), &extra)
                append(UInt64(size), &extra); append(UInt64(payload.count), &extra)
            }
            append(UInt32(0x0403_4B50), &out); append(UInt16(45), &out); append(member.flags, &out)
            append(tamper == .localMethod ? method ^ 8 : method, &out); append(UInt32(0x0021_0000), &out)
            append(tamper == .localCRC ? crc ^ 1 : crc, &out)
            append(zip64 ? UInt32.max : UInt32(payload.count), &out); append(zip64 ? UInt32.max : UInt32(size), &out)
            append(UInt16(name.count), &out); append(UInt16(extra.count), &out)
            out.append(contentsOf: tamper == .localName ? Array("y.npy".utf8) : name)
            out.append(extra); out.append(payload)

            append(UInt32(0x0201_4B50), &central); append(UInt16(0x031E), &central); append(UInt16(45), &central)
            append(member.flags, &central); append(method, &central); append(UInt32(0x0021_0000), &central); append(crc, &central)
            let saturate = zip64 || tamper == .saturatedWithoutZip64
            append(saturate ? UInt32.max : UInt32(payload.count), &central); append(saturate ? UInt32.max : UInt32(size), &central)
            append(UInt16(name.count), &central); append(UInt16(zip64 ? 20 : 0), &central); append(UInt16(0), &central)
            append(UInt16(0), &central); append(UInt16(0), &central); append(UInt32(0), &central)
            append(UInt32(tamper == .centralOffset ? offset + 3 : offset), &central)
            central.append(contentsOf: name)
            if zip64 {
                append(UInt16(1), &central); append(UInt16(16), &central)
                append(UInt64(size), &central); append(UInt64(payload.count), &central)
            }
        }
        let directoryOffset = out.count
        out.append(central)
        append(UInt32(0x0605_4B50), &out); append(UInt32(0), &out)
        append(UInt16(members.count), &out); append(UInt16(members.count), &out)
        append(UInt32(central.count), &out); append(UInt32(directoryOffset), &out); append(UInt16(0), &out)
        return out
    }

    /// Two members whose data overlap: the second member's local header and data lie inside
    /// the first member's stored data (the "quoted overlap" of non-recursive zip bombs).
    static func overlapping(_ contents: Data) -> Data {
        let inner = archive([Member(name: "b.npy", contents: contents)])
        let innerLocal = inner.prefix(30 + 5 + contents.count)       // b's local header and data
        var out = Data(), central = Data()
        let crcA = crc32(innerLocal), crcB = crc32(contents)
        append(UInt32(0x0403_4B50), &out); append(UInt16(20), &out); append(UInt16(0), &out); append(UInt16(0), &out)
        append(UInt32(0x0021_0000), &out); append(crcA, &out); append(UInt32(innerLocal.count), &out); append(UInt32(innerLocal.count), &out)
        append(UInt16(5), &out); append(UInt16(0), &out); out.append(contentsOf: Array("a.npy".utf8))
        let bOffset = out.count
        out.append(innerLocal)
        for (name, crc, size, offset) in [("a.npy", crcA, innerLocal.count, 0), ("b.npy", crcB, contents.count, bOffset)] {
            append(UInt32(0x0201_4B50), &central); append(UInt16(0x0314), &central); append(UInt16(20), &central)
            append(UInt16(0), &central); append(UInt16(0), &central); append(UInt32(0x0021_0000), &central); append(crc, &central)
            append(UInt32(size), &central); append(UInt32(size), &central); append(UInt16(5), &central)
            append(UInt16(0), &central); append(UInt16(0), &central); append(UInt16(0), &central); append(UInt16(0), &central)
            append(UInt32(0), &central); append(UInt32(offset), &central); central.append(contentsOf: Array(name.utf8))
        }
        let directoryOffset = out.count
        out.append(central)
        append(UInt32(0x0605_4B50), &out); append(UInt32(0), &out); append(UInt16(2), &out); append(UInt16(2), &out)
        append(UInt32(central.count), &out); append(UInt32(directoryOffset), &out); append(UInt16(0), &out)
        return out
    }

    static func zip64(_ arrays: [NamedArray], compression: NumPyArchive.Compression) throws -> Data {
        try NumPyArchive.encodeForcingZip64(arrays, compression: compression)
    }
}
