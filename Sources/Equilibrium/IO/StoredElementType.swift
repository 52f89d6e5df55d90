/// The element type of a stored array, as `.npy` (NumPy's `descr`) and `.safetensors` name it;
/// every type is read as Float64.
///
/// | case | `.npy` | `.safetensors` | bytes | read as |
/// |---|---|---|---|---|
/// | float64 | `<f8` | `F64` | 8 | itself |
/// | float32 | `<f4` | `F32` | 4 | exact widening |
/// | float16 | `<f2` | `F16` | 2 | exact widening (IEEE 754 binary16) |
/// | bfloat16 | – | `BF16` | 2 | exact widening (the upper half of a binary32) |
/// | float8E4M3 | – | `F8_E4M3` | 1 | exact widening (OCP FP8 E4M3: no infinities, S.1111.111 is NaN) |
/// | float8E5M2 | – | `F8_E5M2` | 1 | exact widening (OCP FP8 E5M2: the upper byte of a binary16) |
/// | int8 … int64 | `|i1`, `<i2`, `<i4`, `<i8` | `I8` … `I64` | 1–8 | exact; a 64-bit value Float64 cannot hold exactly is an error |
/// | uint8 … uint64 | `|u1`, `<u2`, `<u4`, `<u8` | `U8` … `U64` | 1–8 | as the signed types |
/// | bool | `|b1` | `BOOL` | 1 | 0 or 1; any other byte is an error |
///
/// Integer types are there for labels and indices: they arrive as integral doubles, and a
/// 64-bit integer beyond 2⁵³ that is not exactly representable is rejected rather than
/// rounded. Half-precision and 8-bit floats are widened exactly (every such value is a
/// Float64), so a float16 model's weights are what PyTorch would print after `.double()`.
///
/// References: NumPy, "numpy.lib.format" (NEP 1); Hugging Face, "safetensors" format
/// specification; OCP, "8-bit Floating Point Specification (OFP8)", 2023.
public enum StoredElementType: String, Sendable, CaseIterable {
    case float64, float32, float16, bfloat16, float8E4M3, float8E5M2
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case bool

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .float64, .int64, .uint64: 8
        case .float32, .int32, .uint32: 4
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float8E4M3, .float8E5M2, .int8, .uint8, .bool: 1
        }
    }

    /// The `.safetensors` dtype string.
    public var safetensorsName: String {
        switch self {
        case .float64: "F64"
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float8E4M3: "F8_E4M3"
        case .float8E5M2: "F8_E5M2"
        case .int8: "I8"
        case .int16: "I16"
        case .int32: "I32"
        case .int64: "I64"
        case .uint8: "U8"
        case .uint16: "U16"
        case .uint32: "U32"
        case .uint64: "U64"
        case .bool: "BOOL"
        }
    }

    /// NumPy's little-endian `descr`, nil for the types NumPy has no standard name for.
    public var numpyDescr: String? {
        switch self {
        case .float64: "<f8"
        case .float32: "<f4"
        case .float16: "<f2"
        case .bfloat16, .float8E4M3, .float8E5M2: nil
        case .int8: "|i1"
        case .int16: "<i2"
        case .int32: "<i4"
        case .int64: "<i8"
        case .uint8: "|u1"
        case .uint16: "<u2"
        case .uint32: "<u4"
        case .uint64: "<u8"
        case .bool: "|b1"
        }
    }

    /// The type a `.safetensors` dtype string names.
    public init?(safetensorsName name: String) {
        guard let type = Self.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = type
    }

    /// The type a NumPy `descr` names; single-byte types may be spelled with `|`, `<` or `=`
    /// (NumPy writes `|`), wider ones must be little-endian (`<`).
    public init?(numpyDescr descr: String) {
        var spelled = descr
        if descr.count == 3, let kind = descr.dropFirst().first, descr.hasSuffix("1"), ["<", "="].contains(descr.first),
           ["i", "u", "b"].contains(kind) {
            spelled = "|" + descr.dropFirst()
        }
        guard let type = Self.allCases.first(where: { $0.numpyDescr == spelled }) else { return nil }
        self = type
    }

    /// Why an element could not become a Float64.
    struct ConversionProblem: Error {
        var index: Int
        var reason: String
    }

    /// Converts `count` little-endian elements at `bytes` (at least `count × byteWidth` of them,
    /// any alignment) into doubles, in storage order.
    func decode(_ bytes: UnsafeRawBufferPointer, count: Int) throws(ConversionProblem) -> [Double] {
        precondition(bytes.count >= count * byteWidth, "StoredElementType.decode: \(bytes.count) bytes for \(count) elements of \(self)")
        var problem: ConversionProblem?
        let values = [Double](unsafeUninitializedCapacity: count) { out, initialized in
            func load<T: FixedWidthInteger>(_: T.Type, _ index: Int) -> T {
                T(littleEndian: bytes.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
            }
            switch self {
            case .float64:
                #if _endian(little)
                if count > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: count * 8) }
                #else
                for i in 0..<count { out[i] = Double(bitPattern: load(UInt64.self, i)) }
                #endif
            case .float32:
                for i in 0..<count { out[i] = Double(Float(bitPattern: load(UInt32.self, i))) }
            case .float16:
                for i in 0..<count { out[i] = Self.binary16(load(UInt16.self, i)) }
            case .bfloat16:
                for i in 0..<count { out[i] = Double(Float(bitPattern: UInt32(load(UInt16.self, i)) << 16)) }
            case .float8E5M2:
                for i in 0..<count { out[i] = Self.binary16(UInt16(bytes[i]) << 8) }
            case .float8E4M3:
                for i in 0..<count { out[i] = Self.e4m3(bytes[i]) }
            case .int8:
                for i in 0..<count { out[i] = Double(Int8(bitPattern: bytes[i])) }
            case .int16:
                for i in 0..<count { out[i] = Double(load(Int16.self, i)) }
            case .int32:
                for i in 0..<count { out[i] = Double(load(Int32.self, i)) }
            case .uint8:
                for i in 0..<count { out[i] = Double(bytes[i]) }
            case .uint16:
                for i in 0..<count { out[i] = Double(load(UInt16.self, i)) }
            case .uint32:
                for i in 0..<count { out[i] = Double(load(UInt32.self, i)) }
            case .int64:
                for i in 0..<count {
                    let v = load(Int64.self, i)
                    let d = Double(v)
                    // Double(Int64.max) rounds up to 2⁶³, which Int64(exactly:) rejects: no trap.
                    if problem == nil, Int64(exactly: d) != v {
                        problem = ConversionProblem(index: i, reason: "the int64 value \(v) has no exact Float64 (|v| > 2⁵³); expected integers a double holds exactly")
                    }
                    out[i] = d
                }
            case .uint64:
                for i in 0..<count {
                    let v = load(UInt64.self, i)
                    let d = Double(v)
                    if problem == nil, UInt64(exactly: d) != v {
                        problem = ConversionProblem(index: i, reason: "the uint64 value \(v) has no exact Float64 (v > 2⁵³); expected integers a double holds exactly")
                    }
                    out[i] = d
                }
            case .bool:
                for i in 0..<count {
                    let byte = bytes[i]
                    if problem == nil, byte > 1 {
                        problem = ConversionProblem(index: i, reason: "the bool byte \(byte) is neither 0 nor 1; expected 0 (false) or 1 (true)")
                    }
                    out[i] = Double(byte & 1)
                }
            }
            initialized = count
        }
        if let problem { throw problem }
        return values
    }

    /// IEEE 754 binary16 bits as a double (exact).
    static func binary16(_ bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F), fraction = Double(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24                                   // zero, subnormal
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    /// OCP E4M3 ("fn": finite, one NaN pattern per sign) bits as a double (exact).
    static func e4m3(_ bits: UInt8) -> Double {
        let sign: Double = bits & 0x80 != 0 ? -1 : 1
        let exponent = Int((bits >> 3) & 0xF), fraction = Double(bits & 0x7)
        if exponent == 15 && bits & 0x7 == 7 { return .nan }
        if exponent == 0 { return sign * fraction * 0x1p-9 }                         // (m/8)·2⁻⁶
        return sign * (1 + fraction / 8) * Double(sign: .plus, exponent: exponent - 7, significand: 1)
    }
}
