import Equilibrium
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

}

/// Where a result came from: the commit, whether the tree had uncommitted changes, the build
/// configuration of the program that wrote it, and the exact command. Recorded in every
/// results folder's manifest (`deq run`, `deq merge`; `deq plot` leaves the manifest as it
/// is) and meant for any other writer of results (training runs):
///
/// ```swift
/// let provenance = Provenance.current()                // this process, its working folder
/// try provenance.write(into: resultsFolder)           // resultsFolder/provenance.json
/// ```
///
/// A result with `dirty == true` or `gitCommit == nil` cannot be traced to committed code;
/// `deq report` refuses to quote a folder without them.
public struct Provenance: Sendable, Codable, Equatable {
    /// `git rev-parse HEAD` of ``sourceCheckout``; nil when it is not a git repository.
    public var gitCommit: String?
    /// The checkout whose git state is recorded: the one this program was built from (found
    /// from the source path compiled in) when it still exists, else the working folder.
    public var sourceCheckout: String?
    /// True when `git status --porcelain --untracked-files=no` listed changes to tracked files
    /// outside `Results/` (the code or the experiment files that ran may differ from the
    /// commit); nil when unknown. Changes under `Results/` are outputs, not inputs: a run
    /// replacing its own results folder does not make the tree dirty.
    public var dirty: Bool?
    /// Paths of the tracked files outside `Results/` that differed from the commit (at most
    /// 200), when dirty.
    public var dirtyFiles: [String]?
    /// `release` or `debug`: how the writing program was compiled.
    public var buildConfiguration: String
    /// The command line, each argument shell-quoted, as it could be pasted into a shell.
    public var command: String
    /// The folder the command ran in.
    public var workingDirectory: String
    public var toolkitVersion: String
    /// When this record was taken.
    public var recorded: Date

    public init(gitCommit: String?, sourceCheckout: String? = nil, dirty: Bool?, dirtyFiles: [String]? = nil, buildConfiguration: String,
                command: String, workingDirectory: String, toolkitVersion: String = EquilibriumVersion.string,
                recorded: Date = Date()) {
        self.gitCommit = gitCommit
        self.sourceCheckout = sourceCheckout
        self.dirty = dirty
        self.dirtyFiles = dirtyFiles
        self.buildConfiguration = buildConfiguration
        self.command = command
        self.workingDirectory = workingDirectory
        self.toolkitVersion = toolkitVersion
        self.recorded = recorded
    }

    /// How this program was compiled.
    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The checkout this program was compiled from: three folders above this source file
    /// (`Sources/EquilibriumExperiments/Run/`), when it is still there.
    static var builtFrom: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) ? root.path : nil
    }

    /// The provenance of the running process: git state of the checkout it was built from (else
    /// of the working folder), this build, `arguments` (default: the process's own command
    /// line) shell-quoted. The git state is read now: a binary not rebuilt after an edit that
    /// was then committed is not detected.
    public static func current(arguments: [String] = CommandLine.arguments) -> Provenance {
        let checkout = builtFrom ?? FileManager.default.currentDirectoryPath
        let commit = git(["-C", checkout, "rev-parse", "HEAD"])
        var dirty: Bool?
        var files: [String]?
        if commit != nil, let status = git(["-C", checkout, "status", "--porcelain", "--untracked-files=no"], trim: false) {
            let changed = status.split(separator: "\n").map { String($0.dropFirst(3)) }
                .filter { !$0.isEmpty && !$0.hasPrefix("Results/") && !$0.hasPrefix("\"Results/") }
            dirty = !changed.isEmpty
            files = changed.isEmpty ? nil : Array(changed.prefix(200))
        }
        return Provenance(gitCommit: commit, sourceCheckout: commit == nil ? nil : checkout, dirty: dirty, dirtyFiles: files, buildConfiguration: buildConfiguration,
                          command: arguments.map(shellQuoted).joined(separator: " "),
                          workingDirectory: FileManager.default.currentDirectoryPath)
    }

    /// Writes `provenance.json` into `directory` (atomically), for writers of results that
    /// keep no `manifest.json` of their own.
    public func write(into directory: URL) throws {
        try AtomicFile.createFolder(directory)
        try AtomicFile.write(try JSONFormat.encoder().encode(self), to: directory.appendingPathComponent("provenance.json"))
    }

    /// Reads `directory/provenance.json`; nil when absent or unreadable.
    public static func read(from directory: URL) -> Provenance? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("provenance.json")) else { return nil }
        return try? JSONFormat.decoder().decode(Provenance.self, from: data)
    }

    /// One argument as a POSIX shell word: unchanged when it holds only safe characters, else
    /// in single quotes (a quote inside written as '\'').
    public static func shellQuoted(_ argument: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !argument.isEmpty, argument.allSatisfy({ safe.contains($0) }) { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The output of `git ARGS` in the current folder; nil when git fails.
    static func git(_ arguments: [String], trim: Bool = true) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        if !trim { return text }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
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
