import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing files so that an interrupted program never leaves one that looks complete.
///
/// The data goes to a hidden temporary file in the destination's folder, which is then renamed
/// over the destination: rename(2) replaces a file atomically within one file system, so a
/// reader sees either the old file or the whole new one.
public enum AtomicFile {
    /// Why a file could not be written: `reason` says what failed and what was expected.
    public struct WriteError: Error, CustomStringConvertible, Equatable, Sendable {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func write(_ data: Data, to url: URL) throws(WriteError) {
        let path = url.path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary, options: .withoutOverwriting)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(path: path, reason: "cannot write file (\(error.localizedDescription)); expected a writable directory")
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(path: path, reason: "cannot move the written file into place (\(reason)); expected a writable destination")
        }
    }

    public static func write(_ text: String, to url: URL) throws(WriteError) {
        try write(Data(text.utf8), to: url)
    }

    /// Writes into `url`'s folder, creating the folder (and its parents) first.
    public static func write(_ text: String, creatingFoldersFor url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try write(text, to: url)
    }
}
