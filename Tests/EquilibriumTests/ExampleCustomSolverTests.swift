import Foundation
import Testing

/// Builds `Examples/CustomSolver` — a separate package that depends on Equilibrium by path and
/// sees only its public API — and runs its check program: a solver written outside the package
/// (Anderson type I) through the library's contract checks, Newton–Krylov and the implicit
/// gradient on a user cell, a comparison and a named experiment through a catalog with the
/// example's entries. Each of its checks compares against an independent reference (central
/// differences, true residuals recomputed from the map); see its `main.swift`.
@Suite struct ExampleCustomSolverTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test(.timeLimit(.minutes(30)))
    func theExamplePackageBuildsAndPassesItsChecks() throws {
        let example = Self.repository.appendingPathComponent("Examples/CustomSolver")
        let scratch = Self.repository.appendingPathComponent(".build/examples/CustomSolver")
        let results = try ScratchDirectory("custom-solver-check")
        defer { results.cleanUp() }
        // A debug build: the example's checks are small, and it compiles in about half the time.
        let build = try Self.run(["swift", "build", "--package-path", example.path, "--scratch-path", scratch.path,
                                  "--product", "custom-solver-check"])
        try #require(build.status == 0, "swift build of Examples/CustomSolver failed:\n\(build.output.suffix(4000))")
        let check = try Self.run([scratch.appendingPathComponent("debug/custom-solver-check").path, results.url.path])
        let lines = check.output.split(separator: "\n")
        #expect(check.status == 0, "\(check.output)")
        #expect(lines.filter { $0.hasPrefix("ok ") }.count == 14, "\(check.output)")
        #expect(!lines.contains { $0.hasPrefix("FAIL") }, "\(check.output)")
        #expect(lines.last == "all checks passed", "\(check.output)")
    }

    /// Runs a command found on PATH, its stdout and stderr together.
    static func run(_ command: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), command)
        return (result.status, result.stdout + result.stderr)
    }
}
