import Foundation
import Testing
import Equilibrium

/// Runs the built `deq` executable as a subprocess.
enum DeqProcess {
    struct Output {
        var stdout: String
        var stderr: String
        var status: Int32
        /// False when the process died of a signal (a Swift trap is SIGILL or SIGTRAP).
        var exitedNormally: Bool
    }

    /// `deq` lives next to the test bundle: under `swift test` on Linux the tests run in the
    /// `…PackageTests.xctest` executable in the build directory (`/proc/self/exe`); on macOS
    /// the `.xctest` bundle sits in that directory.
    static let executable: URL? = {
        var directories: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        return directories.map { $0.appendingPathComponent("deq") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `deq arguments…` (``ChildProcess``).
    static func run(_ arguments: [String]) throws -> Output {
        let binary = try #require(executable, "the deq executable was not found next to the test bundle")
        let result = try ChildProcess.run(binary, arguments)
        return Output(stdout: result.stdout, stderr: result.stderr, status: result.status, exitedNormally: !result.signalled && !result.timedOut)
    }

    /// Runs `deq solve arguments… --json` and parses the object it prints.
    static func solveJSON(_ arguments: [String]) throws -> (output: Output, json: [String: Any]) {
        let output = try run(["solve"] + arguments + ["--json"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return (output, try #require(object as? [String: Any], "the JSON output is not an object"))
    }
}

/// Type checks on JSONSerialization's values, which are NSNumbers for both numbers and booleans:
/// a JSON `true` has the Objective-C type "c" (on Linux and Darwin), numbers "i", "q" or "d".
private func isBool(_ value: Any?) -> Bool {
    guard let number = value as? NSNumber else { return false }
    return String(cString: number.objCType) == "c"
}

private func integer(_ value: Any?) -> Int? {
    guard let value, !isBool(value), let number = value as? NSNumber else { return nil }
    let double = number.doubleValue
    return double.rounded() == double ? number.intValue : nil
}

private func double(_ value: Any?) -> Double? {
    guard let value, !isBool(value), let number = value as? NSNumber else { return nil }
    return number.doubleValue
}

@Suite struct CLISolveTests {
    // MARK: --json

    /// --sample-threads: the same per-sample outcomes and counts as one solve. A GEMM over fewer
    /// rows may round a row differently (by a few ulps), which could change a count only if a
    /// residual fell within that rounding of the tolerance; a wrong grouping (a sample solved
    /// with another sample's input) changes the counts.
    @Test func sampleThreadsGiveTheSamePerSampleSolves() throws {
        let common = ["--dim", "24", "--batch", "7", "--tol", "1e-10", "--solver", "broyden"]
        let (_, one) = try DeqProcess.solveJSON(common)
        let (output, grouped) = try DeqProcess.solveJSON(common + ["--sample-threads", "3"])
        #expect(output.status == 0, "\(output.stderr)")
        let a = try #require(one["samples"] as? [[String: Any]]), b = try #require(grouped["samples"] as? [[String: Any]])
        #expect(a.count == 7 && b.count == 7)
        for (x, y) in zip(a, b) {
            #expect(x["outcome"] as? String == y["outcome"] as? String)
            #expect(integer(x["nfe"]) == integer(y["nfe"]) && integer(x["iterations"]) == integer(y["iterations"]))
        }
        #expect(grouped["converged"] as? Bool == true)
    }

    @Test func jsonHasTheDocumentedSchema() throws {
        let (_, json) = try DeqProcess.solveJSON(["--dim", "64", "--batch", "3"])
        #expect(json["solver"] as? String == "anderson")
        #expect(isBool(json["converged"]))
        let nfe = try #require(integer(json["nfe"]), "nfe is not an integer")
        #expect(double(json["wallSeconds"]).map { $0 >= 0 } == true)
        let samples = try #require(json["samples"] as? [[String: Any]])
        #expect(samples.count == 3)
        var allConverged = true, maxNFE = 0
        for (i, sample) in samples.enumerated() {
            #expect(isBool(sample["converged"]), "sample \(i)")
            let outcome = try #require(sample["outcome"] as? String)
            #expect(SolveOutcome(rawValue: outcome) != nil, "unknown outcome \(outcome)")
            let converged = try #require(sample["converged"] as? Bool)
            #expect(converged == (outcome == "converged"))
            #expect(integer(sample["iterations"]) != nil)
            let sampleNFE = try #require(integer(sample["nfe"]))
            #expect(double(sample["absResidual"]).map { $0 >= 0 } == true)
            #expect(double(sample["relResidual"]).map { $0 >= 0 } == true)
            allConverged = allConverged && converged
            maxNFE = max(maxNFE, sampleNFE)
        }
        #expect(json["converged"] as? Bool == allConverged)
        #expect(nfe == maxNFE)
        // The extras.
        let options = try #require(json["options"] as? [String: Any])
        #expect(integer(options["memory"]) == AndersonAcceleration().memory)
        #expect(double(options["beta"]) == AndersonAcceleration().mixing)
        let criteria = try #require(json["criteria"] as? [String: Any])
        #expect(double(criteria["tol"]) == StoppingCriteria().tolerance)
        #expect(criteria["stop"] as? String == "rel")
        #expect(integer(criteria["maxIter"]) == StoppingCriteria().maxIterations)
        let cell = try #require(json["cell"] as? [String: Any])
        #expect(cell["kind"] as? String == "tanh")
        #expect(integer(cell["dim"]) == 64)
        #expect(integer(cell["batch"]) == 3)
        let parameters = try #require(cell["parameters"] as? [String: Any])
        #expect(double(parameters["rho"]) == 0.9)
        #expect(integer(parameters["seed"]) == 0)
        #expect(parameters["symmetric"] as? Bool == false)
    }

    @Test func theReportedResidualsAreThoseOfTheSavedSolution() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        let z = dir.file("Z.npy")
        let (_, json) = try DeqProcess.solveJSON(["--dim", "20", "--batch", "2", "--seed", "5", "--save-solution", z.path])
        let cell = try TanhCell.random(.init(dimension: 20, batchSize: 2, seed: 5))
        let array = try NumPyArray.read(contentsOf: z)
        #expect(array.shape == [2, 20])
        let solution = Matrix(rows: 2, columns: 20, storage: array.values)
        let image = try cell(solution)
        let samples = try #require(json["samples"] as? [[String: Any]])
        for i in 0..<2 {
            let residual = BLAS.nrm2(zip(image.row(i), solution.row(i)).map { $0 - $1 })
            let reported = try #require(double(samples[i]["absResidual"]))
            // The residual recomputed from the whole batch vs the solver's compacted evaluation: at most
            // √d · 2γ_{d+1} · max Σ|terms| (ErrorBound.residualAgreement), ≈ 8 · 1.4e-14 · 1 ≈ 1e-13 for d = 64;
            // 1e-12 is a 10× margin.
            #expect(abs(residual - reported) <= 1e-12 * max(1, residual), "sample \(i)")
        }
    }

    // MARK: The table

    @Test func tableMentionsEverySampleAndTheSummary() throws {
        let output = try DeqProcess.run(["solve", "--dim", "32", "--batch", "5"])
        #expect(output.status == 0)
        let lines = output.stdout.split(separator: "\n").map(String.init)
        for name in ["sample", "outcome", "iterations", "nfe", "abs residual", "rel residual"] {
            #expect(lines.first?.contains(name) == true, "header lacks \(name)")
        }
        for i in 0..<5 {
            let row = lines.first { $0.split(separator: " ").first == Substring("\(i)") }
            #expect(row?.contains("converged") == true, "no row for sample \(i)")
        }
        #expect(output.stdout.contains("anderson: 5/5 converged, max nfe"))
        #expect(!output.stdout.contains("did NOT converge"))
    }

    // MARK: --trace

    @Test func traceHasOneBlockPerSampleWithContractingResiduals() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        let trace = dir.file("trace.dat")
        let tol = 1e-10, batch = 3, rho = 0.9
        // Forward iteration on a tanh cell with ‖W‖₂ = ρ: tanh is 1-Lipschitz, so every step
        // shrinks the residual by at least ρ.
        let (_, json) = try DeqProcess.solveJSON([
            "--dim", "24", "--batch", "\(batch)", "--rho", "\(rho)", "--solver", "forward",
            "--stop", "abs", "--tol", "\(tol)", "--trace", trace.path,
        ])
        let samples = try #require(json["samples"] as? [[String: Any]])
        let text = try String(contentsOf: trace, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("#") == true)
        #expect(text.contains("# iteration nfe seconds abs_residual rel_residual\n"))
        #expect(text.contains("solver: forward"))
        #expect(text.contains("cell: tanh dim=24 batch=3"))

        // Blocks are separated by exactly two blank lines; each starts with "# sample i".
        let blocks = text.components(separatedBy: "\n\n\n")
        #expect(blocks.count == batch)
        #expect(!text.contains("\n\n\n\n"))
        for (i, block) in blocks.enumerated() {
            let blockLines = block.split(separator: "\n").map(String.init)
            let marker = try #require(blockLines.firstIndex { !$0.hasPrefix("#") }, "block \(i) has no data")
            #expect(blockLines[marker - 1] == "# sample \(i)")
            let rows = blockLines[marker...].map { $0.split(separator: " ").map { Double($0) } }
            #expect(rows.allSatisfy { $0.count == 5 && $0.allSatisfy { $0 != nil } }, "block \(i) is not five numeric columns")
            let values = rows.map { $0.map { $0! } }
            #expect(values.count == integer(samples[i]["nfe"]), "one line per evaluation")
            #expect(values.map { $0[1] } == (1...values.count).map(Double.init), "nfe counts 1, 2, …")
            let residuals = values.map { $0[3] }
            for k in 1..<residuals.count {
                #expect(residuals[k] <= rho * residuals[k - 1] * (1 + 1e-9), "block \(i) line \(k)")
            }
            #expect(try #require(residuals.last) <= tol)
            #expect(residuals.dropLast().allSatisfy { $0 > tol }, "stops at the first point below tol")
        }
    }

    // MARK: --save-solution and --init

    @Test func savedSolutionRestartsAtAFixedPoint() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        let z = dir.file("Z.npy")
        let common = ["--dim", "40", "--batch", "3", "--stop", "abs", "--tol", "1e-9"]
        let (_, first) = try DeqProcess.solveJSON(common + ["--save-solution", z.path])
        #expect(first["converged"] as? Bool == true)
        #expect(try NumPyArray.read(contentsOf: z).shape == [3, 40])
        let (_, second) = try DeqProcess.solveJSON(common + ["--init", z.path])
        #expect(second["converged"] as? Bool == true)
        #expect(integer(second["nfe"]) == 1)
        let samples = try #require(second["samples"] as? [[String: Any]])
        #expect(samples.allSatisfy { integer($0["nfe"]) == 1 && integer($0["iterations"]) == 0 })
        // The saved batch does not fit another batch size.
        let mismatch = try DeqProcess.run(["solve", "--dim", "40", "--batch", "2", "--init", z.path])
        #expect(mismatch.status != 0)
        #expect(mismatch.stderr.contains(z.path))
        #expect(mismatch.stderr.contains("shape (3, 40) does not fit: expected (2, 40)"))
    }

    // MARK: Cells from .npy files

    @Test func npyCellMatchesTheLibrarySolve() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        var generator = SplitMix64(seed: 21)
        let d = 24, p = 10, b = 3
        let w = try RandomMatrix.withSpectralNorm(0.8, dimension: d, symmetric: false, using: &generator)
        let u = Matrix.gaussian(rows: d, columns: p, using: &generator)
        let bias = generator.gaussians(count: d, scale: 0.1)
        let x = Matrix.gaussian(rows: b, columns: p, using: &generator)
        let z = dir.file("Z.npy")
        let (_, json) = try DeqProcess.solveJSON([
            "--weights", try dir.npy("W.npy", w).path, "--input-weights", try dir.npy("U.npy", u).path,
            "--bias", try dir.npy("b.npy", shape: [d], bias).path, "--injection", try dir.npy("X.npy", x).path,
            "--stop", "abs", "--tol", "1e-12", "--save-solution", z.path,
        ])
        let cellReport = try #require(json["cell"] as? [String: Any])
        #expect((cellReport["parameters"] as? [String: Any])?["weights"] as? String == dir.file("W.npy").path)
        #expect(integer(cellReport["batch"]) == b)

        let cell = try TanhCell(weight: w, inputWeight: u, bias: bias, input: x)
        let expected = try AndersonAcceleration().solve(
            cell, from: Matrix(rows: b, columns: d),
            criteria: try StoppingCriteria(tolerance: 1e-12, measure: .absolute))
        #expect(expected.converged)
        let saved = try NumPyArray.read(contentsOf: z)
        #expect(saved.shape == [b, d])
        let difference = zip(saved.values, expected.solution.storage).map { abs($0 - $1) }.max() ?? .infinity
        // The .npy holds the float64 values written, bit for bit; the two solves run the same arithmetic
        // (same process settings), so only a kernel blocking difference of 2γ_d · |terms| ≈ 1e-14 could appear;
        // 1e-12 is a 100× margin.
        #expect(difference <= 1e-12)
        #expect(integer(json["nfe"]) == expected.mostEvaluations)
    }

    @Test func weightsWithoutInjectionDrawBatchSeededSamples() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        var generator = SplitMix64(seed: 3)
        let a = try RandomMatrix.withSpectralNorm(0.5, dimension: 6, symmetric: false, using: &generator)
        let path = try dir.npy("A.npy", a).path
        let run = { (seed: String) throws -> [Double] in
            let z = dir.file("Z\(seed).npy")
            _ = try DeqProcess.solveJSON(["--cell", "affine", "--weights", path, "--batch", "4", "--seed", seed,
                                          "--save-solution", z.path])
            return try NumPyArray.read(contentsOf: z).values
        }
        let first = try run("1")
        #expect(first.count == 4 * 6)
        #expect(try run("1") == first)
        #expect(try run("2") != first)
    }

    // MARK: Errors are messages with a non-zero exit, never a crash

    struct BadInput: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var expected: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    @Test(arguments: [
        BadInput(arguments: ["--bogus"], expected: ["unknown option '--bogus'", "the tanh cell takes --dim", "the anderson solver takes --memory"]),
        BadInput(arguments: ["--memory", "-1"], expected: ["--memory -1: expected an integer in 1…1000 (m, difference pairs kept)"]),
        BadInput(arguments: ["--memory", "0"], expected: ["--memory 0: expected an integer in 1…1000"]),
        BadInput(arguments: ["--memory"], expected: ["--memory needs a value: an integer in 1…1000"]),
        BadInput(arguments: ["--memory", "many"], expected: ["--memory many: expected an integer in 1…1000"]),
        BadInput(arguments: ["--beta", "0"], expected: ["--beta 0: expected a number > 0 (β: < 1 damped, > 1 overprojected)"]),
        BadInput(arguments: ["--beta", "-1"], expected: ["--beta -1: expected a number > 0"]),
        BadInput(arguments: ["--beta", "nan"], expected: ["--beta nan: expected a number > 0"]),
        BadInput(arguments: ["--memory", "3", "--memory", "4"], expected: ["--memory is given twice"]),
        BadInput(arguments: ["--symmetric=maybe"], expected: ["--symmetric=maybe: expected true or false"]),
        BadInput(arguments: ["--tol", "0"], expected: ["--tol must be positive"]),
        BadInput(arguments: ["--tol", "nan"], expected: ["--tol must be positive and finite"]),
        BadInput(arguments: ["--solver", "forward", "--damping", "2"], expected: ["--damping 2: expected a number in (0, 2)"]),
        BadInput(arguments: ["--solver", "forward", "--memory", "3"],
                 expected: ["--memory does not apply to the tanh cell and the forward solver; it is an option of the anderson solver, the broyden solver"]),
        BadInput(arguments: ["--solver", "newton"], expected: ["--solver newton: expected one of forward, anderson, broyden, newton-krylov"]),
        BadInput(arguments: ["--dim", "0"], expected: ["--dim 0: expected an integer in 1…16777216 (state dimension d)"]),
        BadInput(arguments: ["--batch", "-2"], expected: ["--batch -2: expected an integer in 1…16777216"]),
        BadInput(arguments: ["--rho", "-0.5"], expected: ["--rho -0.5: expected a number ≥ 0"]),
        BadInput(arguments: ["--max-iter", "-1"], expected: ["--max-iter must be ≥ 0"]),
        BadInput(arguments: ["--max-iter", "\(Int.max)"], expected: ["--max-iter must be at most"]),
        BadInput(arguments: ["--max-evals", "0"], expected: ["--max-evals must be at least 1"]),
        BadInput(arguments: ["--lambda", "-1"], expected: ["--lambda -1: expected a number ≥ 0"]),
        BadInput(arguments: ["--delay", "-1"], expected: ["--delay -1: expected an integer ≥ 0"]),
        BadInput(arguments: ["--init", "gausian"], expected: ["'gausian' is invalid for '--init"]),
        BadInput(arguments: ["--init-scale", "2"], expected: ["--init-scale applies to --init gaussian"]),
        BadInput(arguments: ["--dim", "1000000"], expected: ["--cell tanh: the d × d matrix", "needs 48 TB, more than the memory limit"]),
        BadInput(arguments: ["--dim", "4096", "--memory-limit", "100M"], expected: ["needs 805 MB, more than the memory limit of 100 MB"]),
        BadInput(arguments: ["--memory-limit", "lots"], expected: ["--memory-limit lots: a positive size in bytes"]),
        BadInput(arguments: ["--injection", "x.npy"], expected: ["--cell tanh: --injection needs --weights"]),
        BadInput(arguments: ["--weights", "/nonexistent/W.npy"], expected: ["/nonexistent/W.npy", "weight matrix W", "not found"]),
        BadInput(arguments: ["--weights", "/nonexistent/W.npy", "--dim", "4"], expected: ["--dim conflicts with --weights"]),
        BadInput(arguments: ["--cell", "affine", "--weights", "/nonexistent/A.npy", "--bias", "b.npy"],
                 expected: ["--bias does not apply to the affine cell", "it is an option of the tanh cell"]),
        BadInput(arguments: ["--trace", "/nonexistent/dir/trace.dat"], expected: ["/nonexistent/dir does not exist"]),
        BadInput(arguments: ["--save-solution", "out.txt"], expected: ["expected a file name ending in .npy"]),
        BadInput(arguments: ["--sample-threads", "0"], expected: ["--sample-threads 0: expected an integer in 1…256"]),
        BadInput(arguments: ["--sample-threads", "many"], expected: ["--sample-threads"]),
    ])
    func badInputIsAClearError(input: BadInput) throws {
        let output = try DeqProcess.run(["solve"] + input.arguments)
        #expect(output.exitedNormally, "deq crashed: \(output.stderr)")
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        for text in input.expected {
            #expect(output.stderr.contains(text), "stderr lacks '\(text)': \(output.stderr)")
        }
    }

    @Test func malformedAndMisShapedFilesAreClearErrors() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        var generator = SplitMix64(seed: 1)
        let w = try dir.npy("W.npy", try RandomMatrix.withSpectralNorm(0.5, dimension: 5, symmetric: false, using: &generator)).path
        let garbage = dir.file("garbage.npy")
        try Data("definitely not numpy".utf8).write(to: garbage)
        let truncated = dir.file("truncated.npy")
        try NumPyArray(shape: [3, 5], values: Array(repeating: 1, count: 15)).encoded().dropLast(8).write(to: truncated)
        let misShaped = try dir.npy("X.npy", shape: [3, 4], Array(repeating: 0.5, count: 12)).path

        let cases: [([String], [String])] = [
            (["--weights", garbage.path], [garbage.path, "weight matrix W", "not a .npy file"]),
            (["--weights", w, "--injection", truncated.path], [truncated.path, "injection x", "truncated data"]),
            (["--weights", w, "--injection", misShaped], [misShaped, "injection x", "shape (3, 4) does not fit", "expected (B, 5)"]),
            (["--cell", "affine", "--weights", w, "--injection", misShaped], [misShaped, "offsets b", "shape (3, 4)"]),
        ]
        for (arguments, expected) in cases {
            let output = try DeqProcess.run(["solve"] + arguments)
            #expect(output.exitedNormally, "deq crashed: \(output.stderr)")
            #expect(output.status != 0, "\(arguments)")
            for text in expected {
                #expect(output.stderr.contains(text), "stderr lacks '\(text)': \(output.stderr)")
            }
        }
    }

    // MARK: Non-convergence is a result

    @Test func divergentAffineCellReportsDivergedWithoutCrashing() throws {
        // Symmetric, so that ρ(A) = ‖A‖₂ = 1.5: a non-symmetric Gaussian A rescaled to
        // ‖A‖₂ = 1.5 has ρ(A) ≈ 0.75 for large d (circular law) and may well converge.
        let arguments = ["--cell", "affine", "--rho", "1.5", "--symmetric", "--solver", "forward",
                         "--dim", "16", "--batch", "2"]
        let (output, json) = try DeqProcess.solveJSON(arguments)
        #expect(output.status == 0)
        #expect(json["converged"] as? Bool == false)
        let samples = try #require(json["samples"] as? [[String: Any]])
        #expect(samples.allSatisfy { $0["outcome"] as? String == "diverged" && $0["converged"] as? Bool == false })

        let table = try DeqProcess.run(["solve"] + arguments)
        #expect(table.status == 0)
        #expect(table.stdout.contains("diverged"))
        #expect(table.stdout.contains("0/2 converged"))
        #expect(table.stdout.contains("did NOT converge"))
        // The explanation is printed once, not once per sample.
        let explanation = SolveOutcome.diverged.explanation.dropFirst()
        #expect(table.stdout.components(separatedBy: explanation).count == 2)
    }

    @Test func strictExitsWithThreeOnlyWhenASampleDidNotConverge() throws {
        let diverging = try DeqProcess.run(["solve", "--cell", "affine", "--rho", "1.5", "--symmetric",
                                            "--solver", "forward", "--dim", "8", "--batch", "2", "--strict"])
        #expect(diverging.status == 3)
        #expect(diverging.stdout.contains("diverged"))
        let capped = try DeqProcess.run(["solve", "--dim", "16", "--max-iter", "2", "--strict"])
        #expect(capped.status == 3)
        #expect(capped.stdout.contains("maxIterationsReached"))
        let converging = try DeqProcess.run(["solve", "--dim", "16", "--strict"])
        #expect(converging.status == 0)
    }

    /// JSON has no NaN or infinity: every output writes them as the strings "NaN", "Infinity",
    /// "-Infinity" (one convention, `JSONFormat`), which keep the value and read back.
    @Test func nonFiniteResidualsAreJSONStrings() throws {
        let dir = try ScratchDirectory("CLISolveTests")
        defer { dir.cleanUp() }
        // A z overflows at the first evaluation from a Gaussian start: no finite point exists.
        let d = 4
        let a = try dir.npy("A.npy", shape: [d, d], Array(repeating: 1e308, count: d * d))
        let b = try dir.npy("b.npy", shape: [2, d], Array(repeating: 0, count: 2 * d))
        let (output, json) = try DeqProcess.solveJSON(["--cell", "affine", "--weights", a.path, "--injection", b.path,
                                                       "--init", "gaussian"])
        #expect(!output.stdout.contains(": nan") && !output.stdout.contains(": inf") && !output.stdout.contains("null"))
        let samples = try #require(json["samples"] as? [[String: Any]])
        #expect(samples.allSatisfy { $0["outcome"] as? String == "nonFinite" })
        #expect(samples.allSatisfy { ["NaN", "Infinity"].contains($0["absResidual"] as? String) }, "\(samples)")
        #expect(json["converged"] as? Bool == false)
    }

    // MARK: Help

    @Test func helpListsEveryOptionWithASentence() throws {
        let output = try DeqProcess.run(["solve", "--help"])
        #expect(output.status == 0)
        for option in ["--cell", "--dim", "--batch", "--rho", "--symmetric", "--injection-scale", "--seed",
                       "--weights", "--input-weights", "--bias", "--injection", "--solver", "--damping",
                       "--memory", "--lambda", "--beta", "--delay", "--tol", "--stop", "--max-iter",
                       "--max-evals", "--init", "--init-scale", "--init-seed", "--json", "--trace",
                       "--save-solution", "--strict"] {
            #expect(output.stdout.contains("  \(option) "), "help lacks \(option)")
        }
        // The solvers and cells, listed from the catalog with their options and defaults.
        // (ArgumentParser wraps the discussion, so compare with the whitespace collapsed.)
        let words = output.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for entry in Catalog.standard.solvers { #expect(words.contains("\(entry.name): \(entry.summary)"), "\(entry.name)") }
        #expect(output.stdout.contains("--memory <n>  m, difference pairs kept (default: 5)"))
        let root = try DeqProcess.run(["--help"])
        #expect(root.stdout.contains("solve"))
    }
}
