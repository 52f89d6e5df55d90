import Foundation
import Testing
import Equilibrium

/// The `.safetensors` reader and writer: files written by `safetensors.torch.save_file`
/// (fixtures from `scripts/pytorch_check.py`), round trips, every malformation the format
/// forbids, and seeded fuzzing.
@Suite struct SafeTensorsFileTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/formats")

    /// A file from a header text and a data buffer.
    static func file(_ header: String, _ data: [UInt8] = []) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    static func error(_ data: Data, source: String = "bad.safetensors") -> ArrayFileError? {
        do {
            let file = try SafeTensorsFile(data: data, source: source)
            for tensor in file.tensors { _ = try file.array(named: tensor.name) }
            return nil
        } catch {
            return error
        }
    }

    // MARK: Reading what PyTorch writes

    @Test func readsEveryDtypeSavedByPyTorch() throws {
        let file = try SafeTensorsFile(contentsOf: Self.fixtures.appendingPathComponent("dtypes.safetensors"))
        let expected = try NumPyArchive(contentsOf: Self.fixtures.appendingPathComponent("dtypes-expected.npz"))
        #expect(file.metadata == ["format": "pt", "note": "deq fixture"])
        #expect(Set(file.tensors.map(\.name)) == Set(expected.keys))
        let types = Set(file.tensors.map(\.type))
        #expect(types == [.float64, .float32, .float16, .bfloat16, .float8E4M3, .float8E5M2, .int8, .int16, .int32, .int64, .uint8, .bool])
        for key in expected.keys {
            let ours = try file.array(named: key), theirs = try expected.array(named: key)
            #expect(ours.shape == theirs.shape, "\(key)")
            // Bit for bit (widening is exact); -0.0 kept.
            #expect(ours.values.map(\.bitPattern) == theirs.values.map(\.bitPattern), "\(key): \(ours.values) against \(theirs.values)")
        }
        #expect(try file.array(named: "empty").shape == [0, 3])
        #expect(try file.array(named: "scalar") == NumPyArray(shape: [], values: [2.5]))
    }

    @Test func halfAndEightBitFloatsWidenExactly() throws {
        // Hand-made: binary16 0x3C00 = 1, 0x0001 = 2⁻²⁴, 0x7C00 = ∞; bf16 0x3F80 = 1; E4M3 0x7E = 448, 0x01 = 2⁻⁹.
        let header = #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},"e":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[8,11]}}"#
        let file = try SafeTensorsFile(data: Self.file(header, [0x00, 0x3C, 0x01, 0x00, 0x00, 0x7C, 0x80, 0x3F, 0x7E, 0x01, 0x7F]), source: "h.safetensors")
        #expect(try file.array(named: "h").values == [1, 0x1p-24, .infinity])
        #expect(try file.array(named: "b").values == [1])
        let e = try file.array(named: "e").values
        #expect(e[0] == 448 && e[1] == 0x1p-9 && e[2].isNaN)
    }

    // MARK: Writing

    @Test func roundTripsAndAlignsTheData() throws {
        let arrays = [NamedArray(name: "deq.f.conv1.weight", shape: [2, 1, 3, 3], values: (0..<18).map { Double($0) / 7 }),
                      NamedArray(name: "b \"quoted\"", shape: [3], values: [1, -2, .pi]),
                      NamedArray(name: "s", shape: [], values: [4])]
        let data = try SafeTensorsFile.encode(arrays, metadata: ["format": "pt"])
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
        let file = try SafeTensorsFile(data: data, source: "round.safetensors")
        #expect(file.tensors.map(\.name) == arrays.map(\.name) && file.metadata == ["format": "pt"])
        for array in arrays { #expect(try file.array(named: array.name) == NumPyArray(shape: array.shape, values: array.values)) }
        let narrow = try SafeTensorsFile(data: SafeTensorsFile.encode(arrays, as: .float32), source: "f32.safetensors")
        #expect(narrow.tensors.allSatisfy { $0.type == .float32 })
        #expect(try narrow.array(named: "b \"quoted\"").values == [1, -2, Double(Float(Double.pi))])
    }

    @Test func duplicateNamesAreNotWritten() {
        #expect(throws: ArrayFileError.self) {
            try SafeTensorsFile.encode([NamedArray(name: "a", shape: [1], values: [1]), NamedArray(name: "a", shape: [1], values: [2])])
        }
    }

    // MARK: Malformed files are errors naming the file and the key

    static let good = #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#
    static let sixteen = [UInt8](repeating: 0, count: 16)

    @Test(arguments: [
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#, "overlap", "b"),
        (#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#, "unused", "a"),
        (#"{"a":{"dtype":"F64","shape":[4],"data_offsets":[0,32]}}"#, "run past the end of the data buffer", "a"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, "need 8", "a"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[16,0]}}"#, "end before they begin", "a"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, "duplicate key \"a\"", nil),
        (#"{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}"#, "unsupported dtype \"C64\"", "a"),
        (#"{"a":{"dtype":"F64","shape":[2.0],"data_offsets":[0,16]}}"#, "non-negative integers", "a"),
        (#"{"a":{"dtype":"F64","shape":[-2],"data_offsets":[0,16]}}"#, "non-negative integers", "a"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0]}}"#, "pair of non-negative integers", "a"),
        (#"{"a":{"dtype":"F64","shape":[2]}}"#, "missing field \"data_offsets\"", "a"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16],"x":1}}"#, "unexpected field \"x\"", "a"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"__metadata__":{"k":1}}"#, "expected a string", "__metadata__"),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}"#, "not valid JSON", nil),
        (#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}} x"#, "not valid JSON", nil),
        (#"{"a\ud800":1}"#, "surrogate", nil),
        (#"[1, 2]"#, "does not start with '{'", nil),
        (#"{"a":{"dtype":"F64","shape":[9223372036854775807,2],"data_offsets":[0,16]}}"#, "more elements than can be addressed", "a"),
    ] as [(String, String, String?)])
    func malformedHeaderIsRejected(header: String, message: String, key: String?) {
        let error = Self.error(Self.file(header, Self.sixteen))
        #expect(error?.file == "bad.safetensors")
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.reason.contains(message) == true, "\(String(describing: error))")
        #expect(error?.reason.contains("expected") == true || message.contains("JSON") || message.contains("duplicate"), "\(String(describing: error))")
    }

    @Test func nonUTF8HeaderIsRejected() {
        var data = Self.file(Self.good, Self.sixteen)
        data[8 + 3] = 0xFF   // inside the key "a"
        let error = Self.error(data)
        #expect(error?.reason.contains("not UTF-8") == true && error?.reason.contains("header byte 3") == true, "\(String(describing: error))")
    }

    @Test func headerLengthPastTheEndIsRejected() {
        var data = Self.file(Self.good, Self.sixteen)
        data.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(5000).littleEndian) { Data($0) })
        #expect(Self.error(data)?.reason.contains("runs past the end of the file") == true)
        data.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64.max.littleEndian) { Data($0) })
        #expect(Self.error(data)?.reason.contains("exceeds the format's limit") == true)
        #expect(Self.error(Data([1, 2, 3]))?.reason.contains("truncated") == true)
    }

    @Test func trailingBytesAreRejected() {
        let error = Self.error(Self.file(Self.good, Self.sixteen + [0]))
        #expect(error?.reason.contains("1 extra") == true, "\(String(describing: error))")
    }

    @Test func int64BeyondDoublePrecisionIsAnErrorNotARounding() throws {
        let value = Int64(1) << 53 + 1
        let bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
        let file = try SafeTensorsFile(data: Self.file(#"{"labels":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, bytes), source: "l.safetensors")
        #expect(throws: ArrayFileError(file: "l.safetensors", key: "labels",
                                       reason: "element 0: the int64 value 9007199254740993 has no exact Float64 (|v| > 2⁵³); expected integers a double holds exactly")) {
            try file.array(named: "labels")
        }
        let exact = try SafeTensorsFile(data: Self.file(#"{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
                                                        withUnsafeBytes(of: (Int64(1) << 60).littleEndian) { Array($0) }), source: "n")
        #expect(try exact.array(named: "n").values == [0x1p60])
    }

    @Test func nonRegularFilesAreErrorsNotHangs() throws {
        let dir = try ScratchDirectory("SafeTensorsFileTests")
        defer { dir.cleanUp() }
        let fifo = dir.file("pipe.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: ArrayFileError.self) { try SafeTensorsFile(contentsOf: fifo) }
        do { _ = try SafeTensorsFile(contentsOf: fifo) } catch {
            #expect(error.file == fifo.path && error.reason.contains("FIFO"), "\(error)")
        }
        do { _ = try SafeTensorsFile(contentsOf: dir.url) } catch {
            #expect(error.reason.contains("a directory"), "\(error)")
        }
        do { _ = try SafeTensorsFile(contentsOf: dir.file("missing.safetensors")) } catch {
            #expect(error.reason.contains("no such file"), "\(error)")
        }
    }

    // MARK: Fuzzing

    /// Seeded mutations of valid files (byte flips biased to the length and header, JSON tokens,
    /// truncations): each must decode or throw an error naming the file, never trap; what decodes
    /// must hold as many values as its shape says.
    @Test func mutatedFilesNeverTrap() throws {
        let seeds = [try Data(contentsOf: Self.fixtures.appendingPathComponent("dtypes.safetensors")),
                     try SafeTensorsFile.encode([NamedArray(name: "w", shape: [3, 2], values: [1, 2, 3, 4, 5, 6]),
                                                 NamedArray(name: "b", shape: [2], values: [7, 8])], metadata: ["k": "v"])]
        let tokens = Array(#"{}[]:,"0123456789-.eE\u"#.utf8) + [0x00, 0x80, 0xC3, 0xFF, 0x20]
        var random = SplitMix64(seed: 0x5AFE)
        var tried = 0, decoded = 0
        for seed in seeds {
            let headerEnd = 8 + Int(seed.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            for round in 0..<2_000 {
                var mutated = seed
                if round % 10 == 9 {
                    mutated = mutated.prefix(Int(random.next() % UInt64(seed.count)))
                } else {
                    for _ in 0..<Int(random.next() % 3 + 1) {
                        let position = random.next() % 4 == 0 ? Int(random.next() % 8) : Int(random.next() % UInt64(headerEnd))
                        mutated[position] = random.next() % 2 == 0 ? UInt8(truncatingIfNeeded: random.next())
                                                                   : tokens[Int(random.next() % UInt64(tokens.count))]
                    }
                }
                tried += 1
                do {
                    let file = try SafeTensorsFile(data: mutated, source: "fuzz.safetensors")
                    for tensor in file.tensors {
                        if let a = try? file.array(named: tensor.name) { #expect(a.values.count == a.shape.reduce(1, *)) }
                    }
                    decoded += 1
                } catch {
                    #expect(error.file == "fuzz.safetensors" && !error.reason.isEmpty)
                }
            }
        }
        print("safetensors fuzz: \(tried) mutated inputs, \(decoded) still decoded")
        #expect(tried == 4_000)
    }
}
