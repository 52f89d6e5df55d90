import Foundation
import Testing

/// Runs a program as a child process, its stdout and stderr through files (pipes could fill up
/// and block the child while the parent waits), under a watchdog that kills it after `timeout`
/// seconds. The one process runner of the suite's command-line tests.
enum ChildProcess {
    struct Result {
        var status: Int32
        /// Killed by a signal that was not the watchdog's (a Swift trap is SIGILL or SIGTRAP).
        var signalled: Bool
        var timedOut: Bool
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                    environment: [String: String?] = [:], timeout: Double = 1800) throws -> Result {
        let dir = try ScratchDirectory("child-process")
        defer { dir.cleanUp() }
        let out = dir.file("stdout"), err = dir.file("stderr")
        try Data().write(to: out)
        try Data().write(to: err)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(2000)
        }
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal && !timedOut,
                      timedOut: timedOut, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
