import Foundation
import Testing
import Equilibrium

@Suite struct NumPyArrayTests {
    // MARK: Fixtures and helpers

    /// Files written by NumPy 2.4 (`np.save`, and `np.lib.format.write_array(..., version=(2, 0))`
    /// for `v2.npy`); located next to this source file so tests need neither Python nor bundles.
    private static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/npy")

    private static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appendingPathComponent(name))
    }

    /// Builds a `.npy` file by hand: magic, version, little-endian header length, the header as
    /// given (plus a newline, unpadded), then the payload.
    private static func npy(header: String, version: UInt8 = 1, payload: Data = Data()) -> Data {
        let headerBytes = Array((header + "\n").utf8)
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        let length = UInt32(headerBytes.count)
        let lengthFieldSize = version == 1 ? 2 : 4
        for index in 0..<lengthFieldSize {
            data.append(UInt8(truncatingIfNeeded: length >> (8 * UInt32(index))))
        }
        data.append(contentsOf: headerBytes)
        data.append(payload)
        return data
    }

    private static func float64Payload(_ values: [Double]) -> Data {
        var data = Data()
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    private static func float32Payload(_ values: [Float]) -> Data {
        var data = Data()
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// The error decoding `data` throws, recording an issue if it decodes instead.
    private static func decodeError(_ data: Data, source: String = "test.npy") -> NumPyError? {
        do {
            let array = try NumPyArray.decode(data, source: source)
            Issue.record("expected a NumPyError, decoded \(array.shape)")
            return nil
        } catch {
            return error
        }
    }

    private static let sampleShapes: [[Int]] = [[], [5], [2, 3], [2, 3, 4], [0], [3, 0]]

    private static func sample(shape: [Int]) -> NumPyArray {
        let count = shape.reduce(1, *)
        return NumPyArray(shape: shape, values: (0..<count).map { Double($0) * 0.37 - 1.5 })
    }

    // MARK: Round trips

    @Test(arguments: sampleShapes)
    func float64RoundTripIsExact(shape: [Int]) throws {
        let array = Self.sample(shape: shape)
        let data = array.encoded()
        #expect(try NumPyArray.decode(data, source: "memory") == array)
    }

    @Test(arguments: sampleShapes)
    func float32RoundTripIsWithinFloat32Precision(shape: [Int]) throws {
        let array = Self.sample(shape: shape)
        let decoded = try NumPyArray.decode(array.encoded(as: .float32), source: "memory")
        #expect(decoded.shape == array.shape)
        #expect(decoded.values.count == array.values.count)
        for (got, want) in zip(decoded.values, array.values) {
            #expect(abs(got - want) <= 1e-6 * max(1, abs(want)))
            #expect(got == Double(Float(want)))
        }
    }

    @Test func nonFiniteValuesAreKept() throws {
        let array = NumPyArray(shape: [3], values: [.nan, .infinity, -.infinity])
        for type in NumPyArray.DataType.allCases {
            let decoded = try NumPyArray.decode(array.encoded(as: type), source: "memory")
            #expect(decoded.values[0].isNaN)
            #expect(decoded.values[1] == .infinity)
            #expect(decoded.values[2] == -.infinity)
        }
    }

    @Test func writeThenReadRoundTripsAndLeavesNoTemporaryFiles() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("NumPyArrayTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("a.npy")

        try Self.sample(shape: [4, 2]).write(to: url)
        let replacement = Self.sample(shape: [2, 3, 4])
        try replacement.write(to: url)  // replaces the existing file

        #expect(try NumPyArray.read(contentsOf: url) == replacement)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["a.npy"])
    }

    @Test func writeIntoMissingDirectoryThrows() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/a.npy")
        #expect {
            try Self.sample(shape: [2]).write(to: url)
        } throws: { error in
            let error = error as? NumPyError
            return error?.file == url.path && error?.reason.contains("does not exist; expected an existing, writable folder") == true
        }
    }

    /// NumPy switches to format 2.0 only when the header no longer fits a UInt16 length.
    @Test func hugeHeaderIsWrittenAsVersion2() throws {
        let array = NumPyArray(shape: Array(repeating: 1, count: 22_000), values: [2.5])
        let data = array.encoded()
        #expect(data[data.startIndex + 6] == 2)
        #expect(try NumPyArray.decode(data, source: "memory") == array)
        #expect(Self.sample(shape: [2, 3]).encoded()[6] == 1)
    }

    // MARK: Files written by NumPy

    @Test func encodedBytesMatchNumPy() throws {
        let matrix = NumPyArray(shape: [2, 3], values: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        #expect(matrix.encoded() == (try Self.fixture("c_order_f8.npy")))
        #expect(NumPyArray(shape: [], values: [3.25]).encoded() == (try Self.fixture("scalar.npy")))
        let vector = NumPyArray(shape: [3], values: [1.5, -2.25, 3.0])
        #expect(vector.encoded(as: .float32) == (try Self.fixture("vector_f4.npy")))
    }

    @Test func encodedHeaderIsAlignedAndEndsInNewline() {
        for shape in Self.sampleShapes {
            let data = Self.sample(shape: shape).encoded()
            let headerLength = Int(data[8]) | Int(data[9]) << 8
            let dataStart = 10 + headerLength
            #expect(dataStart % 64 == 0)
            #expect(data[dataStart - 1] == UInt8(ascii: "\n"))
        }
    }

    @Test func readsNumPyFiles() throws {
        let url = Self.fixtures.appendingPathComponent("c_order_f8.npy")
        #expect(try NumPyArray.read(contentsOf: url) == NumPyArray(shape: [2, 3], values: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]))

        let scalar = try NumPyArray.read(contentsOf: Self.fixtures.appendingPathComponent("scalar.npy"))
        #expect(scalar == NumPyArray(shape: [], values: [3.25]))
    }

    @Test func readsNumPyFortranFloat32File() throws {
        // np.asfortranarray([[1.25, -2.0], [3.5, 4.0], [5.0, -6.75]], dtype='<f4')
        let array = try NumPyArray.read(contentsOf: Self.fixtures.appendingPathComponent("fortran_f4.npy"))
        #expect(array == NumPyArray(shape: [3, 2], values: [1.25, -2.0, 3.5, 4.0, 5.0, -6.75]))
    }

    @Test func readsNumPyFortran3DFile() throws {
        // np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))
        let array = try NumPyArray.read(contentsOf: Self.fixtures.appendingPathComponent("fortran_3d_f8.npy"))
        #expect(array == NumPyArray(shape: [2, 3, 4], values: (0..<24).map(Double.init)))
    }

    @Test func readsNumPyVersion2File() throws {
        let data = try Self.fixture("v2.npy")
        #expect(data[6] == 2)
        #expect(try NumPyArray.decode(data, source: "v2.npy") == NumPyArray(shape: [3], values: [1, 2, 3]))
    }

    // MARK: Hand-built headers

    @Test func fortranOrderIsConvertedToCOrder() throws {
        // A 2×3 matrix a[i][j] = 10i + j, stored column by column.
        let fortran: [Double] = [0, 10, 1, 11, 2, 12]
        let data = Self.npy(header: "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                            payload: Self.float64Payload(fortran))
        #expect(try NumPyArray.decode(data, source: "f.npy") == NumPyArray(shape: [2, 3], values: [0, 1, 2, 10, 11, 12]))
    }

    @Test func fortranOrder4DMatchesIndexFormula() throws {
        let shape = [2, 3, 1, 4]
        // Element (i, j, k, l) has value 1000i + 100j + 10k + l; Fortran order varies i fastest.
        var fortran: [Double] = []
        for l in 0..<4 { for k in 0..<1 { for j in 0..<3 { for i in 0..<2 {
            fortran.append(Double(1000 * i + 100 * j + 10 * k + l))
        } } } }
        var cOrder: [Double] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<1 { for l in 0..<4 {
            cOrder.append(Double(1000 * i + 100 * j + 10 * k + l))
        } } } }
        let data = Self.npy(header: "{'shape': (2, 3, 1, 4), 'fortran_order': True, 'descr': '<f8'}",
                            payload: Self.float64Payload(fortran))
        #expect(try NumPyArray.decode(data, source: "f.npy") == NumPyArray(shape: shape, values: cOrder))
    }

    @Test func fortranOrderWithZeroSizeAndScalarShapes() throws {
        let empty = Self.npy(header: "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3)}")
        #expect(try NumPyArray.decode(empty, source: "e.npy") == NumPyArray(shape: [0, 3], values: []))
        let scalar = Self.npy(header: "{'descr': '<f4', 'fortran_order': True, 'shape': ()}",
                              payload: Self.float32Payload([7.5]))
        #expect(try NumPyArray.decode(scalar, source: "s.npy") == NumPyArray(shape: [], values: [7.5]))
    }

    @Test func headerVariationsAreAccepted() throws {
        let payload = Self.float64Payload([1, 2, 3])
        let headers = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            "{\"shape\":(3,),\"descr\":\"<f8\",\"fortran_order\":False}",
            "  {\n\t'fortran_order' : False ,\n 'shape' : ( 3 , ) , 'descr' : '<f8' }   ",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
        ]
        for header in headers {
            let decoded = try NumPyArray.decode(Self.npy(header: header, payload: payload), source: "v.npy")
            #expect(decoded == NumPyArray(shape: [3], values: [1, 2, 3]), "header \(header)")
        }
    }

    @Test(arguments: [UInt8(2), 3])
    func versions2And3HaveFourByteHeaderLength(version: UInt8) throws {
        let data = Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                            version: version, payload: Self.float32Payload([1, 2, 3, 4]))
        #expect(try NumPyArray.decode(data, source: "v.npy") == NumPyArray(shape: [2, 2], values: [1, 2, 3, 4]))
    }

    @Test func decodesDataSliceWithNonzeroStartIndex() throws {
        let file = Self.sample(shape: [3, 2]).encoded()
        let padded = Data([0xFF, 0xEE, 0xDD]) + file
        let slice = padded[3...]
        #expect(slice.startIndex == 3)
        #expect(try NumPyArray.decode(slice, source: "slice") == Self.sample(shape: [3, 2]))
    }

    // MARK: Errors

    @Test func missingFileIsANumPyError() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString).npy")
        #expect {
            _ = try NumPyArray.read(contentsOf: url)
        } throws: { error in
            guard let error = error as? NumPyError else { return false }
            return error.file == url.path && error.reason.contains("not found")
                && error.description.hasPrefix(url.path + ": ")
        }
    }

    @Test func unreadableFileIsANumPyError() {
        // A directory exists but cannot be read as a file.
        let url = FileManager.default.temporaryDirectory
        #expect {
            _ = try NumPyArray.read(contentsOf: url)
        } throws: { error in
            (error as? NumPyError)?.reason.contains("cannot read") == true
        }
    }

    @Test func badMagicIsRejected() {
        var data = Self.sample(shape: [2]).encoded()
        data[1] = UInt8(ascii: "X")
        let error = Self.decodeError(data, source: "bad.npy")
        #expect(error?.file == "bad.npy")
        #expect(error?.reason.contains("magic") == true)
        #expect(error?.reason.contains("expected") == true)
        #expect(Self.decodeError(Data("hello, world".utf8))?.reason.contains("magic") == true)
        #expect(Self.decodeError(Data())?.reason.contains("truncated") == true)
    }

    @Test(arguments: [(UInt8(1), UInt8(1)), (4, 0), (0, 0)])
    func unsupportedVersionIsRejected(major: UInt8, minor: UInt8) {
        var data = Self.sample(shape: [2]).encoded()
        data[6] = major
        data[7] = minor
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("version \(major).\(minor)"))
        #expect(reason.contains("expected 1.0, 2.0 or 3.0"))
    }

    @Test func headerLengthPastEndIsRejected() {
        var data = Self.sample(shape: [2]).encoded()
        data[8] = 0xFF
        data[9] = 0xFF
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("header length 65535 runs past the end"))
        #expect(reason.contains("expected at least 65545 bytes"))
    }

    @Test(arguments: [
        ("{'descr': '<f8', 'fortran_order': False}", "missing key 'shape'"),
        ("{'descr': '<f8', 'shape': (2,)}", "missing key 'fortran_order'"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'"),
        ("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", "duplicate key 'descr'"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}", "negative dimension -2"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2)}", "expected a tuple"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': [2]}", "expected a tuple"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 'a')}", "expected a tuple"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,, 3)}", "unexpected character ','"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", "integer too large"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", "more elements than can be addressed"),
        ("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", "expected True or False"),
        ("{'descr': '<f8', 'fortran_order': Falsey, 'shape': (2,)}", "unexpected character 'F'"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", "expected ',' or '}'"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk", "unexpected text after"),
        ("{'descr: '<f8', 'fortran_order': False, 'shape': (2,)}", "expected ':'"),
        ("{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}", "expected ',' or '}' after the value of 'descr'"),
        ("{'descr': '<f8", "unterminated string"),
        ("('descr', '<f8')", "expected '{'"),
        ("", "expected '{'"),
        ("{" + String(repeating: "(", count: 10_000), "nested too deeply"),
    ])
    func malformedHeaderIsRejected(header: String, expectedMessage: String) {
        let data = Self.npy(header: header, payload: Self.float64Payload([1, 2]))
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("malformed header"), "\(reason)")
        #expect(reason.contains(expectedMessage), "\(reason)")
        #expect(reason.contains("expected"), "\(reason)")
    }

    @Test(arguments: [">f8", ">i8", "<c16", "|O", ">f2", "|f8", "<f16", "<i16"])
    func unsupportedDtypeIsRejected(descr: String) {
        let data = Self.npy(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }",
                            payload: Self.float64Payload([1, 2]))
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("unsupported dtype '\(descr)'"), "\(reason)")
        #expect(reason.contains("expected one of '<f8' (float64), '<f4' (float32), '<f2' (float16), '|i1' (int8)"), "\(reason)")
    }

    @Test func structuredDtypeIsRejected() {
        let data = Self.npy(header: "{'descr': [('a', '<f8'), ('b', '<i4', (2,))], 'fortran_order': False, 'shape': (1,)}")
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("unsupported dtype [('a', '<f8'), ('b', '<i4', (2,))]"), "\(reason)")
    }

    @Test func truncatedDataIsRejected() {
        let data = Self.sample(shape: [2, 3]).encoded().dropLast(5)
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("truncated data"))
        #expect(reason.contains("expected 48 bytes"))
        #expect(reason.contains("found 43"))
    }

    @Test func trailingDataIsRejected() {
        let data = Self.sample(shape: [2, 3]).encoded(as: .float32) + Data([1, 2, 3])
        let reason = Self.decodeError(data)?.reason ?? ""
        #expect(reason.contains("trailing data"))
        #expect(reason.contains("expected 24 bytes"))
        #expect(reason.contains("found 27 (3 extra)"))
    }

    // MARK: Fuzzing

    /// Every prefix of a valid file must fail cleanly (only the full file decodes).
    @Test(arguments: NumPyArray.DataType.allCases)
    func everyTruncationThrows(type: NumPyArray.DataType) {
        let file = Self.sample(shape: [2, 3]).encoded(as: type)
        for length in 0..<file.count {
            #expect(throws: NumPyError.self) {
                try NumPyArray.decode(file.prefix(length), source: "cut.npy")
            }
        }
    }

    /// Random byte corruption in the preamble and header must throw or decode, never trap.
    @Test func corruptedHeadersNeverTrap() throws {
        let files = try [Self.sample(shape: [2, 3]).encoded(), Self.fixture("v2.npy"), Self.fixture("fortran_f4.npy")]
        var random = SplitMix64(seed: 0x5EED)
        let interesting = Array("{}()[],:'\"-0123456789TrueFalseNone \n\\".utf8) + [0x00, 0x80, 0xFF]
        for file in files {
            let headerEnd = 64  // covers magic, version, length and most of the dict
            for _ in 0..<2_000 {
                var corrupted = file
                for _ in 0..<Int(random.next() % 4 + 1) {
                    let position = Int(random.next() % UInt64(headerEnd))
                    corrupted[position] = random.next() % 2 == 0
                        ? UInt8(truncatingIfNeeded: random.next())
                        : interesting[Int(random.next() % UInt64(interesting.count))]
                }
                if let array = try? NumPyArray.decode(corrupted, source: "fuzz.npy") {
                    #expect(array.values.count == array.shape.reduce(1, *))
                }
            }
        }
    }

    // MARK: Large arrays

    /// A 2048 × 2048 round trip (the size of the benchmark cells); its speed is measured in
    /// `Benchmarks/`, not asserted here.
    @Test func roundTripsLargeArray() throws {
        let side = 2048
        let array = NumPyArray(shape: [side, side], values: (0..<(side * side)).map(Double.init))
        #expect(try NumPyArray.decode(array.encoded(), source: "large.npy") == array)
    }
}
