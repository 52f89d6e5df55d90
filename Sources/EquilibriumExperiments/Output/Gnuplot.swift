import Foundation

/// Renders gnuplot scripts to pictures. Each script reads `fmt` (png or svg) and writes its
/// picture next to itself, so rendering is `gnuplot -e "fmt='png'" script.gp` in its folder.
public enum Gnuplot {
    public enum Format: String, CaseIterable, Sendable {
        case png, svg
    }

    public struct Missing: Error, CustomStringConvertible {
        public init() {}
        public var description: String {
            "gnuplot is not installed; install it with: sudo apt-get install -y gnuplot-nox (the .dat and .gp files are written; render later with deq plot)"
        }
    }

    public struct Failed: Error, CustomStringConvertible {
        public var script: String
        public var message: String
        public var description: String { "gnuplot failed on \(script): \(message)" }
    }

    /// The gnuplot executable on PATH, if any.
    public static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("gnuplot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    public static var isAvailable: Bool { executable != nil }

    /// Runs every script in its own folder.
    public static func render(_ scripts: [URL], format: Format) throws {
        guard let gnuplot = executable else { throw Missing() }
        for script in scripts {
            let process = Process()
            process.executableURL = gnuplot
            process.arguments = ["-e", "fmt='\(format.rawValue)'", script.lastPathComponent]
            process.currentDirectoryURL = script.deletingLastPathComponent()
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Failed(script: script.path, message: String(decoding: message, as: UTF8.self))
            }
        }
    }

    /// The lines every script starts with: terminal chosen by `fmt`, output next to the script.
    static func preamble(output stem: String, width: Int, height: Int) -> String {
        """
        if (!exists("fmt")) fmt = "png"
        if (fmt eq "svg") { set terminal svg size \(width),\(height) dynamic enhanced font "sans,11" } \
        else { set terminal pngcairo size \(width),\(height) enhanced font "sans,10" }
        set output "\(stem).".fmt
        set grid
        """
    }

    /// A string literal for gnuplot (double quotes escaped).
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
