import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// Seeded, bounded fuzzing of what a user feeds in: experiment files (in process) and the
/// command line (the shipped `deq`, each run under a watchdog). A case fails when it crashes
/// (a signal), hangs (the watchdog fires), is accepted when it must not be, or is refused
/// without a sentence that names the file and line or the option.
///
/// The default sizes keep the suite within a minute; `DEQ_FUZZ_SCALE=N` multiplies every case
/// count for a slow local run (e.g. `DEQ_FUZZ_SCALE=20 swift test -c release --filter Fuzz`).
@Suite struct FuzzTests {
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["DEQ_FUZZ_SCALE"] ?? "") ?? 1)
    static let repository = ExampleCustomSolverTests.repository

    /// Words that only a framework's raw error or a trap prints, never one of deq's sentences.
    static let rawErrorMarkers = ["NSCocoaErrorDomain", "Error Domain=", "Fatal error", "Swift/", "Optional(",
                                  "YamlError", "DecodingError", "precondition", "Stack dump"]

    // MARK: - Experiment files

    /// Values that probe types, ranges, sizes and YAML's own features.
    static let hostileScalars = [
        "0", "-1", "1e308", "-1e308", ".nan", ".inf", "nan", "1099511627776", "9223372036854775807",
        "9223372036854775808", "18446744073709551616", "[]", "{}", "~", "\"\"", "abc", "3.0", "[1, 2, 3]",
        "[0.5, -0.5]", "1.0e-300", "true", "\"1\"", "*undefined", "!!binary aGVsbG8=", "0x10", "1_000",
        "[[1]]", "{family: tanh}", "\"\\u0000\"", "1000000", "[1000000, 2]", "/dev/zero", "/etc/passwd",
    ]

    /// One mutation of `text` drawn from `random`.
    static func mutate(_ text: String, _ random: inout SplitMix64) -> Data {
        var lines = text.components(separatedBy: "\n")
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(max(n, 1))) }
        switch pick(9) {
        case 0:  // replace a value after a colon
            let candidates = lines.indices.filter { lines[$0].contains(": ") }
            if let i = candidates.isEmpty ? nil : candidates[pick(candidates.count)],
               let colon = lines[i].range(of: ": ") {
                lines[i] = String(lines[i][..<colon.upperBound]) + hostileScalars[pick(hostileScalars.count)]
            }
        case 1:  // replace a list item
            let candidates = lines.indices.filter { lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("- ") }
            if !candidates.isEmpty {
                let i = candidates[pick(candidates.count)]
                let indent = lines[i].prefix { $0 == " " }
                lines[i] = indent + "- " + hostileScalars[pick(hostileScalars.count)]
            }
        case 2:  // delete a line
            if !lines.isEmpty { lines.remove(at: pick(lines.count)) }
        case 3:  // duplicate a line (duplicate keys)
            if !lines.isEmpty { let i = pick(lines.count); lines.insert(lines[i], at: i) }
        case 4:  // break the indentation
            if !lines.isEmpty { let i = pick(lines.count); lines[i] = String(repeating: " ", count: pick(7)) + lines[i] }
        case 5:  // an alias bomb in front
            var bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            for level in 1...(3 + pick(7)) {
                bomb.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
            }
            lines.insert(contentsOf: bomb, at: 0)
        case 6:  // truncate
            let joined = lines.joined(separator: "\n")
            return Data(joined.utf8.prefix(pick(joined.utf8.count + 1)))
        case 7:  // invalid UTF-8 or a NUL byte somewhere
            var bytes = Array(lines.joined(separator: "\n").utf8)
            let junk: [[UInt8]] = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00], [0xF4, 0x90, 0x80, 0x80]]
            bytes.insert(contentsOf: junk[pick(junk.count)], at: pick(bytes.count + 1))
            return Data(bytes)
        default:  // an unknown key
            lines.insert(["bogus: 1", "cells: 3", "  extra: [1", "quick: {epochs: 0}", "stopping: {tol: 0}"][pick(5)], at: pick(lines.count + 1))
        }
        return Data(lines.joined(separator: "\n").utf8)
    }

    @Test func experimentFilesNeverCrashHangOrFailWithoutASentence() throws {
        let folder = Self.repository.appendingPathComponent("Experiments")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 5)
        var random = SplitMix64(seed: 20_261_202)
        var accepted = 0, refused = 0, slowest = 0.0
        let cases = 3000 * Self.scale
        for n in 0..<cases {
            let name = files[n % files.count]
            let original = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            var data = Self.mutate(original, &random)
            // Some cases stack two mutations.
            if n % 3 == 0, let text = String(data: data, encoding: .utf8) { data = Self.mutate(text, &random) }
            let started = Date()
            do {
                let text = try YAMLDocument.decode(data, file: name)
                let spec = try ExperimentSpec.parse(yaml: text, file: name, baseDirectory: folder)
                // Accepted: the grid must be one a run can afford (parse checks size and memory).
                #expect((spec.gridSize ?? Int.max) <= ExperimentSpec.maxGridPoints, "case \(n) (\(name)): \(String(describing: spec.gridSize)) points accepted")
                accepted += 1
            } catch {
                refused += 1
                let message = error.description
                #expect(message.hasPrefix(name), "case \(n): the message does not name the file: \(message)")
                #expect(!Self.rawErrorMarkers.contains { message.contains($0) }, "case \(n): a raw error: \(message)")
                #expect(message.count > name.count + 10, "case \(n): no sentence: \(message)")
            }
            slowest = max(slowest, Date().timeIntervalSince(started))
        }
        // A hang, not a performance bound: the slowest file must parse or be refused within
        // seconds (an alias bomb used to take 52 s and 7.7 GB before failing).
        #expect(slowest < 5, "the slowest case took \(slowest) s")
        #expect(accepted > 0 && refused > 0, "\(accepted) accepted, \(refused) refused: the mutations should do both")
    }

    // MARK: - The command line

    /// Option pools: values that are valid, at the edges, out of range, huge or not numbers.
    static let sizeValues = ["1", "3", "16", "0", "-1", "1000000", "1099511627776", "9223372036854775807", "99999999999999999999", "abc", "", "1.5", "nan"]
    static let realValues = ["0.5", "0.99", "1", "2", "0", "-0.5", "1e-300", "1e308", "nan", "inf", "-inf", "x", "", "1e-8"]
    static let countValues = ["0", "1", "20", "200", "-3", "9223372036854775807", "huge", ""]
    static let pathValues = ["/dev/full", "/dev/null", "/nonexistent/x.npy", "/tmp", "", "W.npy", "/etc/passwd"]

    static let options: [(String, [String])] = [
        ("--dim", sizeValues), ("--batch", sizeValues), ("--rho", realValues), ("--injection-scale", realValues),
        ("--memory", countValues), ("--beta", realValues), ("--lambda", realValues), ("--damping", realValues),
        ("--tol", realValues), ("--max-iter", countValues), ("--max-evals", countValues), ("--eta", realValues),
        ("--krylov", countValues), ("--delay", countValues), ("--seed", countValues + ["-1"]),
        ("--cell", ["tanh", "affine", "residual", "conv1d", "conv2d", "monotone", "bogus", ""]),
        ("--solver", ["forward", "anderson", "broyden", "newton-krylov", "nope", ""]),
        ("--solvers", ["forward,anderson", "broyden,,", "", "anderson,anderson"]),
        ("--channels", sizeValues), ("--inner", sizeValues), ("--height", sizeValues), ("--width", sizeValues),
        ("--length", sizeValues), ("--groups", sizeValues), ("--monotonicity", realValues),
        ("--weights", pathValues), ("--injection", pathValues), ("--init", pathValues + ["zero", "gaussian"]),
        ("--trace", pathValues), ("--save-solution", pathValues), ("--repeats", countValues),
        ("--estimators", ["implicit,phantom", "exact", "", "jfb,shine,neumann"]), ("--k", ["1,5", "0", "-1", "1000000", ""]),
        ("--stop", ["abs", "rel", "both", ""]), ("--memory-limit", ["1MB", "0", "-1", "10 TB", "abc", "64MB"]),
        ("--symmetric", []), ("--json", []), ("--strict", []), ("--quiet", []),
    ]

    typealias Run = ChildProcess.Result

    /// Runs deq with a memory limit and one BLAS thread under a watchdog of `timeout` seconds.
    static func run(_ arguments: [String], in directory: URL, timeout: Double = 20, memoryLimit: String? = "256MB") throws -> Run {
        let binary = try #require(DeqProcess.executable, "the deq executable was not found next to the test bundle")
        // The limit keeps every accepted size small enough to run in seconds; refusals must say so.
        return try ChildProcess.run(binary, arguments, in: directory, environment: ["DEQ_MEMORY_LIMIT": memoryLimit, "OPENBLAS_NUM_THREADS": "1"],
                                    timeout: timeout)
    }

    @Test(.timeLimit(.minutes(10)))
    func commandLineNeverCrashesHangsOrFailsWithoutASentence() throws {
        let directory = try ScratchDirectory("deq-fuzz")
        defer { directory.cleanUp() }
        var random = SplitMix64(seed: 7_771)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(max(n, 1))) }
        let commands = ["solve", "compare", "grad"]
        var refused = 0, accepted = 0
        for n in 0..<(150 * Self.scale) {
            var arguments = [commands[n % commands.count]]
            for _ in 0..<(1 + pick(4)) {
                let (option, values) = Self.options[pick(Self.options.count)]
                arguments.append(option)
                if !values.isEmpty { arguments.append(values[pick(values.count)]) }
            }
            // Keep accepted runs short: a small default size unless the case chose its own.
            if !arguments.contains("--dim") { arguments += ["--dim", "8"] }
            if !arguments.contains("--max-iter") { arguments += ["--max-iter", "200"] }
            let run = try Self.run(arguments, in: directory.url)
            let label = "deq " + arguments.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ")
            #expect(!run.signalled, "\(label) crashed (status \(run.status)): \(run.stderr.suffix(600))")
            #expect(!run.timedOut, "\(label) hung")
            #expect(!Self.rawErrorMarkers.contains { run.stderr.contains($0) }, "\(label): a raw error: \(run.stderr.suffix(600))")
            if run.status == 0 {
                accepted += 1
                #expect(!run.stdout.isEmpty, "\(label) succeeded silently")
            } else if !run.signalled && !run.timedOut {
                refused += 1
                let message = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(message.count > 20, "\(label) failed without a sentence: \(message)")
            }
            // /dev/full and /dev/null must still be devices: an output never replaces one.
            var status = stat()
            #expect(stat("/dev/full", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR, "\(label) replaced /dev/full")
        }
        #expect(accepted > 0 && refused > 0, "\(accepted) accepted, \(refused) refused")
    }
}
