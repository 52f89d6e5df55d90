import CZlib

/// Raw deflate (RFC 1951) and CRC-32 through the system zlib, for `.npz` members.
///
/// ``inflate(_:into:)`` writes into a buffer of exactly the size the archive declares and
/// stops there: a stream that would produce more is an error ("inflates past its declared
/// size"), never a larger allocation, so a forged size or a zip bomb costs at most the
/// declared bytes, which the caller bounds first (deflate cannot expand data more than about
/// 1032:1, see ``maximumRatio``).
///
/// References: P. Deutsch, "DEFLATE Compressed Data Format Specification version 1.3", RFC 1951;
/// J. Gailly, M. Adler, zlib 1.2 manual (`inflateInit2` with negative window bits for raw
/// deflate, as zip stores it).
enum Deflate {
    /// A bound on uncompressed ÷ compressed size for any deflate stream: a 258-byte match costs
    /// at least one bit of a fixed-Huffman code, so each compressed byte expands to at most
    /// 8 × 258 / 2 = 1032 bytes (zlib's technical notes give the same ratio).
    static let maximumRatio = 1032

    /// Why a deflate stream could not be inflated into its declared size.
    enum Problem: Error {
        case pastDeclaredSize
        case shortOfDeclaredSize(produced: Int)
        case truncated(consumed: Int)
        case trailingInput(consumed: Int)
        case corrupt(String)
    }

    /// Inflates the raw deflate stream `input` into `output`, which it must fill exactly.
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(Problem) {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start inflating (out of memory?)")
        }
        defer { inflateEnd(&stream) }
        // Once `output` is full, one byte of scratch tells whether the stream would go on.
        let scratch = UnsafeMutablePointer<Bytef>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        let chunk = 1 << 30  // zlib counts in 32-bit integers: feed and drain at most this much at once
        var fedInput = 0, handedOutput = 0, probing = false
        while true {
            if stream.avail_in == 0 && fedInput < input.count {
                let n = min(chunk, input.count - fedInput)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: fedInput).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                fedInput += n
            }
            if stream.avail_out == 0 {
                if handedOutput < output.count {
                    let n = min(chunk, output.count - handedOutput)
                    stream.next_out = output.baseAddress!.advanced(by: handedOutput).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(n)
                    handedOutput += n
                } else if !probing {
                    probing = true
                    stream.next_out = scratch
                    stream.avail_out = 1
                }
            }
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            if probing && stream.avail_out == 0 { throw .pastDeclaredSize }
            let produced = Int(stream.total_out), consumed = Int(stream.total_in)
            switch status {
            case Z_STREAM_END:
                if produced < output.count { throw .shortOfDeclaredSize(produced: produced) }
                if consumed < input.count { throw .trailingInput(consumed: consumed) }
                return
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress was possible: out of input (the stream is cut short), or out of
                // output space, which the next round provides.
                if stream.avail_in == 0 && fedInput == input.count && stream.avail_out > 0 { throw .truncated(consumed: consumed) }
                continue
            case Z_NEED_DICT:
                throw .corrupt("the stream asks for a preset dictionary, which zip does not use")
            default:
                throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
        }
    }

    /// The raw deflate stream of `input` at zlib's default level (6, as `numpy.savez_compressed`).
    static func deflate(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var stream = z_stream()
        let started = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                    ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(started == Z_OK, "zlib could not start deflating (status \(started)).")
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Int(deflateBound(&stream, uLong(input.count))))
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var inputOffset = 0
        while true {
            if stream.avail_in == 0 && inputOffset < input.count {
                let n = min(Int(UInt32.max / 2), input.count - inputOffset)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: inputOffset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                inputOffset += n
            }
            let flush = inputOffset == input.count ? Z_FINISH : Z_NO_FLUSH
            let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(chunk)
                return CZlib.deflate(&stream, flush)
            }
            output.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
            if status == Z_STREAM_END { return output }
            precondition(status == Z_OK || status == Z_BUF_ERROR, "zlib deflate failed with status \(status).")
        }
    }

    /// The CRC-32 (ISO 3309, as zip uses it) of `bytes`.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < bytes.count {
            let n = min(Int(UInt32.max / 2), bytes.count - offset)
            crc = CZlib.crc32(crc, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
