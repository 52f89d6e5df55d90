import Foundation
import Testing
import Equilibrium

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

/// Runs `deq grad arguments… --json` and parses the object it prints.
private func gradJSON(_ arguments: [String]) throws -> [String: Any] {
    let output = try DeqProcess.run(["grad"] + arguments + ["--json"])
    #expect(output.status == 0, "stderr: \(output.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    return try #require(object as? [String: Any], "the JSON output is not an object")
}

@Suite struct CLIGradTests {
    @Test func jsonHasTheDocumentedSchema() throws {
        let json = try gradJSON(["--dim", "12", "--batch", "2", "--rho", "0.7", "--k", "1,3", "--damping", "0.5,1",
                                 "--backward-solver", "anderson,lu"])
        let forward = try #require(json["forward"] as? [String: Any])
        #expect(forward["solver"] as? String == "broyden" && forward["converged"] as? Bool == true)
        #expect(integer(forward["nfe"]) != nil && double(forward["wallSeconds"]) != nil)
        let reference = try #require(json["reference"] as? [String: Any])
        #expect(reference["label"] as? String == "implicit lu" && reference["converged"] as? Bool == true)
        #expect((json["exactBaseline"] as? [String: Any])?["label"] as? String == "implicit anderson")
        #expect((json["upstream"] as? [String: Any])?["source"] as? String == "gaussian")
        #expect((json["cell"] as? [String: Any]).flatMap { integer($0["dim"]) } == 12)
        let estimators = try #require(json["estimators"] as? [[String: Any]])
        // implicit × 2 solvers, phantom and neumann × 2 k × 2 λ, jfb, shine.
        #expect(estimators.count == 12)
        for e in estimators {
            for key in ["estimator", "label"] { #expect(e[key] is String, "\(key)") }
            for key in ["cosine", "relativeError", "inputCosine", "inputRelativeError", "wallSeconds", "speedupOverExact", "ratioToForward"] {
                #expect(double(e[key]) != nil, "\(e["label"] ?? "") lacks \(key)")
            }
            for key in ["vjp", "totalVjp", "jvp", "evaluations", "parameterProducts", "floatsKept"] {
                #expect(integer(e[key]) != nil, "\(e["label"] ?? "") lacks \(key)")
            }
            #expect((e["perParameter"] as? [[String: Any]])?.first?["name"] as? String == "W")
        }
        func entry(_ label: String) throws -> [String: Any] {
            try #require(estimators.first { $0["label"] as? String == label }, "no entry \(label)")
        }
        for label in ["implicit anderson", "implicit lu"] {
            let exact = try entry(label)
            #expect(try #require(double(exact["relativeError"])) < 1e-8)
            let backward = try #require(exact["backward"] as? [String: Any])
            #expect(backward["converged"] as? Bool == true && backward["outcome"] as? String == "converged")
            #expect(integer(backward["convergedSamples"]) == 2)
        }
        #expect(double(try entry("jfb")["cosine"]) == double(try entry("phantom k=1 λ=1")["cosine"]))
        #expect(integer(try entry("neumann k=3 λ=0.5")["vjp"]) == 2)
        #expect(integer(try entry("phantom k=3 λ=1")["evaluations"]) == 3)
        #expect(integer(try entry("shine")["fallbackSamples"]) != nil)
        #expect(try entry("jfb")["backward"] == nil)
    }

    /// `--save` writes every estimator's gradients, and the exact one is the closed form.
    @Test func saveWritesGradientsThatAreTheClosedForm() throws {
        let dir = try ScratchDirectory("CLIGradTests")
        defer { dir.cleanUp() }
        let out = dir.file("grads")
        let json = try gradJSON(["--dim", "10", "--batch", "3", "--rho", "0.8", "--seed", "4", "--tol", "1e-13",
                                 "--estimators", "implicit,neumann,jfb", "--backward-solver", "lu,newton-krylov",
                                 "--upstream-seed", "9", "--save", out.path])
        for folder in ["implicit-lu", "implicit-newton-krylov", "neumann-k5-damping1", "jfb", "reference"] {
            #expect(try NumPyArray.read(contentsOf: out.appendingPathComponent("\(folder)/dW.npy")).shape == [10, 10], "\(folder)")
            #expect(try NumPyArray.read(contentsOf: out.appendingPathComponent("\(folder)/dx.npy")).shape == [3, 10], "\(folder)")
        }
        let estimators = try #require(json["estimators"] as? [[String: Any]])
        #expect(estimators.allSatisfy { ($0["saved"] as? String)?.hasPrefix(out.path) == true })
        let upstream = try NumPyArray.read(contentsOf: out.appendingPathComponent("upstream.npy"))
        #expect(upstream.shape == [3, 10])
        // The closed form at the cell's fixed point with the saved upstream gradient.
        let cell = try TanhCell.random(.init(dimension: 10, batchSize: 3, spectralNorm: 0.8, seed: 4))
        let c = Matrix(rows: 3, columns: 10, storage: upstream.values)
        let oracle = try tanhClosedForm(cell, fixedPoint: tightFixedPoint(cell), upstream: c)
        for folder in ["implicit-lu", "implicit-newton-krylov"] {
            let dW = try NumPyArray.read(contentsOf: out.appendingPathComponent("\(folder)/dW.npy")).values
            let dx = try NumPyArray.read(contentsOf: out.appendingPathComponent("\(folder)/dx.npy")).values
            #expect(GradientComparison.relativeError(dW, oracle.dW.storage) < 1e-9, "\(folder)")
            #expect(GradientComparison.relativeError(dx, oracle.dx.storage) < 1e-9, "\(folder)")
        }
    }

    /// `--save FILE.safetensors` (or `.npz`) holds exactly the arrays of the folder form, under
    /// `NAME.d<parameter>` keys; `deq solve --save-solution` writes `z` to either format.
    @Test func saveToOneFileHoldsTheFolderFormsArrays() throws {
        let dir = try ScratchDirectory("CLIGradTests")
        defer { dir.cleanUp() }
        let common = ["--dim", "6", "--batch", "2", "--seed", "2", "--estimators", "implicit,phantom", "--upstream-seed", "3"]
        _ = try gradJSON(common + ["--save", dir.file("folder").path])
        for format in ["safetensors", "npz"] {
            let file = dir.file("grads.\(format)")
            _ = try gradJSON(common + ["--save", file.path])
            let store = try ArrayStore(contentsOf: file)
            for (folder, key) in [("implicit-anderson", "implicit-anderson"), ("phantom-k5-damping1", "phantom-k5-damping1"), ("reference", "reference")] {
                for name in ["dW", "dx"] {
                    let saved = try store.array("\(key).\(name)")
                    let expected = try NumPyArray.read(contentsOf: dir.file("folder/\(folder)/\(name).npy"))
                    #expect(saved.values == expected.values && saved.shape == expected.shape, "\(format) \(key).\(name)")
                }
            }
            #expect(try store.array("upstream").values == NumPyArray.read(contentsOf: dir.file("folder/upstream.npy")).values)
            let solve = try DeqProcess.run(["solve", "--dim", "5", "--batch", "3", "--save-solution", dir.file("z.\(format)").path])
            #expect(solve.status == 0, "\(solve.stderr)")
            #expect(try ArrayStore(contentsOf: dir.file("z.\(format)")).array("z").shape == [3, 5])
            // Restarting from the saved solution (the same cell): one evaluation per sample.
            let restart = try DeqProcess.run(["solve", "--dim", "5", "--batch", "3", "--json", "--init", dir.file("z.\(format)").path + ":z"])
            #expect(restart.status == 0, "\(restart.stderr)")
            let samples = try #require((try JSONSerialization.jsonObject(with: Data(restart.stdout.utf8)) as? [String: Any])?["samples"] as? [[String: Any]])
            #expect(samples.count == 3 && samples.allSatisfy { ($0["nfe"] as? Int) == 1 }, "\(restart.stdout.prefix(600))")
        }
    }

    /// A cell from files with U and b, and the upstream gradient from a file.
    @Test func cellAndUpstreamFromFiles() throws {
        let dir = try ScratchDirectory("CLIGradTests")
        defer { dir.cleanUp() }
        var generator = SplitMix64(seed: 3)
        let w = try RandomMatrix.withSpectralNorm(0.6, dimension: 8, symmetric: false, using: &generator)
        try dir.npy("W.npy", w)
        try dir.npy("U.npy", Matrix.gaussian(rows: 8, columns: 5, using: &generator))
        try dir.npy("b.npy", shape: [8], generator.gaussians(count: 8))
        try dir.npy("X.npy", Matrix.gaussian(rows: 2, columns: 5, using: &generator))
        try dir.npy("C.npy", Matrix.gaussian(rows: 2, columns: 8, using: &generator))
        let out = dir.file("out")
        let json = try gradJSON(["--weights", dir.file("W.npy").path, "--input-weights", dir.file("U.npy").path,
                                 "--bias", dir.file("b.npy").path, "--injection", dir.file("X.npy").path,
                                 "--upstream", dir.file("C.npy").path, "--estimators", "implicit,phantom",
                                 "--k", "40", "--save", out.path])
        #expect((json["upstream"] as? [String: Any])?["path"] as? String == dir.file("C.npy").path)
        let estimators = try #require(json["estimators"] as? [[String: Any]])
        #expect((estimators.first?["perParameter"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["W", "U", "b"])
        // ρ(J) ≤ 0.6: 40 phantom steps are exact to about 0.6⁴⁰ ≈ 1e-9.
        #expect(try #require(double(estimators.last?["relativeError"])) < 1e-7)
        #expect(try NumPyArray.read(contentsOf: out.appendingPathComponent("phantom-k40-damping1/dU.npy")).shape == [8, 5])
        #expect(try NumPyArray.read(contentsOf: out.appendingPathComponent("phantom-k40-damping1/db.npy")).shape == [8])
        #expect(try NumPyArray.read(contentsOf: out.appendingPathComponent("phantom-k40-damping1/dx.npy")).shape == [2, 5])
    }

    @Test func nonConvergingBackwardSolveIsReportedAndStrictFails() throws {
        let arguments = ["grad", "--dim", "16", "--batch", "2", "--rho", "0.95", "--symmetric", "--injection-scale", "0.05",
                         "--estimators", "implicit", "--backward-solver", "forward", "--backward-max-iter", "3"]
        let json = try gradJSON(Array(arguments.dropFirst()))
        let backward = try #require((json["estimators"] as? [[String: Any]])?.first?["backward"] as? [String: Any])
        #expect(backward["converged"] as? Bool == false)
        #expect(backward["outcome"] as? String == "maxIterationsReached")
        #expect(integer(backward["convergedSamples"]) == 0)
        let table = try DeqProcess.run(arguments)
        #expect(table.status == 0)
        #expect(table.stdout.contains("0/2 converged: maxIterationsReached"))
        #expect(table.stdout.contains("maximum iterations reached"))
        let strict = try DeqProcess.run(arguments + ["--strict"])
        #expect(strict.status == 3)
    }

    @Test(arguments: [
        (["--estimators", "implicit,phantm"], "unknown estimator 'phantm'"),
        (["--k", "0"], "--k: '0' is not an integer"),
        (["--k", "2,2"], "--k lists 2 twice"),
        (["--damping", "2"], "--damping: '2' is not a number in (0, 2)"),
        (["--backward-solver", "gmres"], "unknown solver 'gmres'"),
        (["--solver", "anderson"], "shine needs the forward solver's inverse-Jacobian estimate"),
        (["--backward-tol", "0"], "--backward-tol must be positive"),
        (["--shine-fallback", "-1"], "--shine-fallback must be positive"),
        (["--upstream", "C.txt"], "expected a .npy file"),
        (["--upstream", "C.npy", "--upstream-seed", "3"], "--upstream-seed conflicts with --upstream"),
        (["--save", "/nonexistent-folder/out"], "does not exist"),
    ])
    func badOptionsAreClearErrors(arguments: [String], expected: String) throws {
        let output = try DeqProcess.run(["grad", "--dim", "8", "--batch", "2"] + arguments)
        #expect(output.exitedNormally)
        #expect(output.status == 64, "stderr: \(output.stderr)")
        #expect(output.stderr.contains(expected), "stderr: \(output.stderr)")
    }

    @Test func badUpstreamFilesNameTheFileAndTheShape() throws {
        let dir = try ScratchDirectory("CLIGradTests")
        defer { dir.cleanUp() }
        try dir.npy("C.npy", Matrix(rows: 3, columns: 8))
        let wrongShape = try DeqProcess.run(["grad", "--dim", "8", "--batch", "2", "--upstream", dir.file("C.npy").path])
        #expect(wrongShape.exitedNormally && wrongShape.status == 1)
        #expect(wrongShape.stderr.contains("C.npy") && wrongShape.stderr.contains("upstream gradient"))
        #expect(wrongShape.stderr.contains("expected (2, 8)"), "stderr: \(wrongShape.stderr)")
        let missing = try DeqProcess.run(["grad", "--dim", "8", "--batch", "2", "--upstream", dir.file("missing.npy").path])
        #expect(missing.exitedNormally && missing.status == 1)
        #expect(missing.stderr.contains("missing.npy"))
        try dir.npy("N.npy", shape: [2, 8], [.nan] + Array(repeating: 0, count: 15))
        let nonFinite = try DeqProcess.run(["grad", "--dim", "8", "--batch", "2", "--upstream", dir.file("N.npy").path])
        #expect(nonFinite.exitedNormally && nonFinite.status == 1)
        #expect(nonFinite.stderr.contains("non-finite"))
        // A file where --save wants a folder.
        let file = try dir.npy("F.npy", Matrix(rows: 1, columns: 1))
        let saveOnFile = try DeqProcess.run(["grad", "--dim", "8", "--batch", "2", "--save", file.path])
        #expect(saveOnFile.status == 64 && saveOnFile.stderr.contains("expected a folder"))
    }

    @Test func helpListsTheGradientOptions() throws {
        let output = try DeqProcess.run(["grad", "--help"])
        #expect(output.status == 0)
        for option in ["--estimators", "--k", "--damping", "--backward-solver", "--backward-tol", "--upstream", "--json", "--save", "--shine-refine"] {
            #expect(output.stdout.contains(option), "\(option)")
        }
    }
}
