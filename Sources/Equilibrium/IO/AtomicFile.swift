import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing files so that an interrupted program never leaves one that looks complete.
///
/// The data goes to a hidden temporary file in the destination's folder (`.NAME.UUID.tmp`),
/// flushed to disk, then renamed over the destination: rename(2) replaces a file atomically
/// within one file system, so a reader sees either the old file or the whole new one. A
/// destination that is a symbolic link is written through (the link stays and its target is
/// replaced); one that exists but is not a regular file (a directory, a FIFO, a device such as
/// `/dev/full`, a socket) is refused, never replaced. Failures are sentences with the system's
/// reason (`No space left on device`), not framework dumps.
package enum AtomicFile {
    /// Why a file could not be written: `reason` says what failed and what was expected.
    package struct WriteError: Error, CustomStringConvertible, Equatable, Sendable {
        package var path: String
        package var reason: String
        package var description: String { "\(path): \(reason)" }
    }

    /// The suffix of the temporary files (a run that was killed may leave some behind; see
    /// ``removeStaleTemporaries(in:)``).
    package static let temporarySuffix = ".tmp"

    /// Why `url` cannot be a destination, or nil: it exists and is not a regular file (after
    /// following symbolic links).
    package static func destinationProblem(_ url: URL) -> String? {
        let target = resolved(url)
        var info = stat()
        guard stat(target.path, &info) == 0 else { return nil }   // missing: fine
        let kind = info.st_mode & S_IFMT
        guard kind != S_IFREG else { return nil }
        let what: String
        switch kind {
        case S_IFDIR: what = "a directory"
        case S_IFIFO: what = "a FIFO (named pipe)"
        case S_IFCHR: what = "a character device"
        case S_IFBLK: what = "a block device"
        case S_IFSOCK: what = "a socket"
        default: what = "not a regular file"
        }
        return "is \(what), not a regular file; expected a path to a new or regular file"
    }

    /// `url` with symbolic links followed (the destination of the write), also when the last
    /// link dangles (then its target is where the file is created). At most 40 links.
    static func resolved(_ url: URL) -> URL {
        var current = url.standardizedFileURL
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current.path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current.path, &buffer, buffer.count - 1)
            guard n > 0 else { return current }
            let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = (target.hasPrefix("/") ? URL(fileURLWithPath: target)
                       : current.deletingLastPathComponent().appendingPathComponent(target)).standardizedFileURL
        }
        return current
    }

    package static func write(_ data: Data, to url: URL) throws(WriteError) {
        let path = url.path
        if let problem = destinationProblem(url) { throw WriteError(path: path, reason: problem) }
        let destination = resolved(url)
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WriteError(path: path, reason: "the folder \(folder.path) does not exist; expected an existing, writable folder")
        }
        let temporary = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString)\(temporarySuffix)")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw WriteError(path: path, reason: "cannot create a file in \(folder.path): \(systemReason()); expected a writable folder")
        }
        let written: Bool = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return fsync(descriptor) == 0
        }
        let reason = written ? "" : systemReason()
        if close(descriptor) != 0 || !written {
            let why = written ? systemReason() : reason
            unlink(temporary.path)
            throw WriteError(path: path, reason: "cannot write the file: \(why); expected free space and a writable folder")
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let why = systemReason()
            unlink(temporary.path)
            throw WriteError(path: path, reason: "cannot move the written file into place: \(why); expected a writable destination")
        }
    }

    package static func write(_ text: String, to url: URL) throws(WriteError) {
        try write(Data(text.utf8), to: url)
    }

    /// Writes into `url`'s folder, creating the folder (and its parents) first.
    package static func write(_ text: String, creatingFoldersFor url: URL) throws(WriteError) {
        try createFolder(url.deletingLastPathComponent())
        try write(text, to: url)
    }

    /// Creates `folder` and its parents; errors are sentences.
    package static func createFolder(_ folder: URL) throws(WriteError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw WriteError(path: folder.path, reason: "is a file, not a folder; expected a folder (or a path where one can be created)")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: folder.path, reason: "cannot create the folder: \(systemReason(of: error)); expected a writable parent folder")
        }
    }

    /// Removes the temporary files an interrupted writer left in `folder` (not recursive).
    package static func removeStaleTemporaries(in folder: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(temporarySuffix) {
            unlink(folder.appendingPathComponent(name).path)
        }
    }

    /// The system's sentence for the current `errno`, with its symbolic name.
    static func systemReason() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// A Foundation error's underlying POSIX reason when it has one, else its description.
    package static func systemReason(of error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return "\(String(cString: strerror(Int32(underlying.code)))) (errno \(underlying.code))"
        }
        if ns.domain == NSPOSIXErrorDomain { return "\(String(cString: strerror(Int32(ns.code)))) (errno \(ns.code))" }
        return ns.localizedDescription
    }
}
