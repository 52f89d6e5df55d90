import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#elseif canImport(Musl)
import Musl
#endif

/// The bytes of a regular file, memory-mapped read-only, or of a buffer in memory.
///
/// Mapping lets a reader check a large file's header and then decode only the arrays it asks
/// for, straight from the page cache: the one copy made is the `[Double]` an array becomes.
/// The file is opened with `O_NONBLOCK` and checked with `fstat` before anything is read, so a
/// FIFO, a socket, a device or a directory is a clear error instead of a read that blocks
/// forever or fails obscurely. (If another process truncates a file while it is mapped, a
/// read past the new end raises SIGBUS: the usual cost of mapping, as with NumPy's
/// `mmap_mode`.)
final class MappedFile: @unchecked Sendable {
    /// The file's path, or the name given to an in-memory buffer.
    let path: String
    /// The whole content; valid for the lifetime of this object. Never written to.
    let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?
    private let ownsAllocation: Bool

    /// Maps the file at `url`; `kind` says what was expected there ("a .safetensors file").
    init(url: URL, kind: String) throws(ArrayFileError) {
        let path = url.path
        func fail(_ reason: String) -> ArrayFileError { ArrayFileError(file: path, reason: reason) }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw fail("no such file; expected \(kind) at this path") }
            throw fail("cannot open (\(String(cString: strerror(code)))); expected a readable \(kind)")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw fail("cannot inspect (\(String(cString: strerror(errno)))); expected a readable \(kind)")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw fail("cannot read: this is \(Self.describe(mode: status.st_mode)), not a regular file; expected \(kind)")
        }
        guard let size = Int(exactly: status.st_size), size >= 0 else {
            throw fail("has a size (\(status.st_size) bytes) this platform cannot address; expected \(kind)")
        }
        self.path = path
        ownsAllocation = false
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw fail("cannot map \(size) bytes into memory (\(String(cString: strerror(errno)))); expected \(kind) that fits the address space")
        }
        mapping = address
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// A copy of `data`, named `name` in errors (for decoding bytes already in memory).
    init(copying data: Data, name: String) {
        path = name
        mapping = nil
        if data.isEmpty {
            ownsAllocation = false
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
            _ = data.copyBytes(to: buffer)
            ownsAllocation = true
            bytes = UnsafeRawBufferPointer(buffer)
        }
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
        if ownsAllocation { bytes.deallocate() }
    }

    private static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "not a regular file"
        }
    }
}
