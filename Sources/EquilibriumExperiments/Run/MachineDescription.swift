import Foundation

/// The toolkit's version, recorded in every manifest.
public enum EquilibriumVersion {
    public static let string = "0.1.0"
}

/// The machine a run happened on, for manifests.
struct MachineDescription: Codable, Equatable {
    var hostname: String
    var operatingSystem: String
    var processor: String
    var cores: Int
    var memoryGiB: Double

    static func current() -> MachineDescription {
        let info = ProcessInfo.processInfo
        var processor = "unknown"
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let value = line.split(separator: ":", maxSplits: 1).last {
            processor = value.trimmingCharacters(in: .whitespaces)
        }
        return MachineDescription(hostname: info.hostName, operatingSystem: info.operatingSystemVersionString,
                                  processor: processor, cores: info.activeProcessorCount,
                                  memoryGiB: (Double(info.physicalMemory) / 1_073_741_824 * 10).rounded() / 10)
    }

    /// `git rev-parse HEAD` of the current folder, when git and a repository are there.
    static func gitRevision() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// Progress on stderr while a long run goes: done/total, elapsed, estimated time left.
/// Only when stderr is a terminal; `--quiet` turns it off.
public final class ProgressReporter {
    private var total = 0
    private var start = Date()
    private let enabled: Bool

    public init(enabled: Bool = isatty(STDERR_FILENO) != 0) {
        self.enabled = enabled
    }

    func start(total: Int, skipped: Int) {
        self.total = total
        start = Date()
        guard enabled else { return }
        if skipped > 0 { FileHandle.standardError.write(Data("resuming: \(skipped) finished points skipped\n".utf8)) }
    }

    func update(done: Int, label: String) {
        guard enabled, total > 0 else { return }
        let elapsed = Date().timeIntervalSince(start)
        let left = elapsed / Double(done) * Double(total - done)
        let line = String(format: "\r[%d/%d] %@ elapsed, ~%@ left  %@", done, total, Self.clock(elapsed), Self.clock(left),
                          String(label.prefix(50)))
        FileHandle.standardError.write(Data(line.padding(toLength: 100, withPad: " ", startingAt: 0).utf8))
    }

    func finish() {
        guard enabled, total > 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
