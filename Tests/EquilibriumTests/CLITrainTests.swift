import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// The bundled training experiments' folder.
private let trainingExperiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Experiments/training").standardized

@Suite struct CLITrainTests {
    @Test func trainResumeAndEvalWriteACheckpointAndTables() throws {
        let scratch = try ScratchDirectory("deq-train")
        defer { scratch.cleanUp() }
        let out = scratch.file("run").path
        let common = ["--task", "parity", "--width", "4", "--inner-width", "4", "--groups", "2", "--train-size", "12",
                      "--test-size", "4", "--min-length", "4", "--max-length", "5", "--test-length", "6", "--max-iter", "6",
                      "--batch-size", "4", "--seed", "3"]
        let first = try DeqProcess.run(["train"] + common + ["--epochs", "1", "--output", out])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("epoch\tloss\taccuracy"))
        let folder = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasPrefix("checkpoint-e000001-") })
        for file in ["checkpoint.json", "log.tsv", "log.gp", "\(folder)/state.json", "\(folder)/parameters/head.weight.npy",
                     "\(folder)/parameters/cell.conv1.weight.npy",
                     "\(folder)/optimizer/first.head.weight.npy", "\(folder)/optimizer/second.head.weight.npy"] {
            #expect(FileManager.default.fileExists(atPath: scratch.file("run/\(file)").path), "\(file) missing")
        }
        let resumed = try DeqProcess.run(["train", "--resume", out, "--epochs", "2"])
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(try TrainingCheckpoint.read(from: scratch.file("run")).epoch == 2)
        let log = try String(contentsOf: scratch.file("run/log.tsv"), encoding: .utf8)
        #expect(log.split(separator: "\n").count == 3)

        let eval = try DeqProcess.run(["eval", "--checkpoint", out, "--length", "10", "--budgets", "2,8", "--alignment"])
        #expect(eval.status == 0, "stderr: \(eval.stderr)")
        let lines = eval.stdout.split(separator: "\n")
        #expect(lines.first == "budget\taccuracy\texample_accuracy\tloss\tmean_nfe\tconverged")
        #expect(lines.contains { $0.hasPrefix("2\t") } && lines.contains { $0.hasPrefix("8\t") })
        #expect(lines.contains { $0.hasPrefix("AA score\t") })
    }

    @Test(arguments: [
        (["train", "--task", "parity", "--cell", "tanh", "--output", "/tmp/x"], "the parity task needs the conv cell"),
        (["train", "--lambda", "2.5", "--output", "/tmp/x"], "phantom damping λ must lie in (0, 2), got 2.5"),
        (["train", "--epochs", "3"], "give --output DIR"),
        (["train", "--width", "6", "--groups", "4", "--cell", "residual", "--output", "/tmp/x"], "groups (4) must divide the width (6)"),
        (["train", "--random-budget-min", "50", "--max-iter", "30", "--output", "/tmp/x"], "the random budget's minimum must lie in 1 ... 30, got 50"),
        (["train", "--estimator", "magic", "--output", "/tmp/x"], "magic"),
        (["train", "--resume", "/nonexistent/run"], "/nonexistent/run/checkpoint.json: no checkpoint here"),
        (["train", "--experiment", "nonexistent", "--experiments-dir", "/nonexistent"], "nonexistent.yaml: cannot open the file"),
        (["eval", "--checkpoint", "/nonexistent/run"], "no checkpoint here"),
        (["eval", "--checkpoint", "/tmp", "--budgets", "4,x"], "--budgets: 'x' is not an integer"),
        (["eval", "--checkpoint", "/tmp", "--budgets", ""], "--budgets: empty"),
        (["eval", "--checkpoint", "/tmp", "--budgets", "4,,8"], "--budgets: '' is not an integer"),
        (["train", "--optimizer", "sgd", "--momentum", "nan", "--output", "/tmp/x"], "momentum must lie in [0, 1), got nan"),
        (["train", "--clip", "nan", "--output", "/tmp/x"], "clip norm must be positive and finite, got nan"),
        (["train", "--width", "1000000", "--output", "/tmp/deq-never"], "--width: the model's parameters"),
        (["train", "--max-evals", "0", "--output", "/tmp/deq-never"], "max evaluations must be ≥ 1, got 0"),
        (["train", "--stop", "sideways", "--output", "/tmp/deq-never"], "sideways"),
        (["train", "--max-iter", "2000000000", "--output", "/tmp/deq-never"], "max iterations must lie in 1 ... 1000000000"),
        (["train", "--task", "parity", "--test-length", "1000000000", "--output", "/tmp/deq-never"], "--test-length: the test set"),
        (["train", "--estimator", "phantom", "--k", "1000000", "--output", "/tmp/deq-never"], "invalid training options: PhantomGradient steps: got 1000000"),
    ])
    func badInputIsAClearError(arguments: [String], message: String) throws {
        let output = try DeqProcess.run(arguments)
        #expect(output.exitedNormally && output.status != 0, "status \(output.status)")
        #expect(output.stderr.contains(message), "stderr: \(output.stderr)")
    }

    @Test func bundledTrainingExperimentsParseInFullAndQuickForms() throws {
        for name in ["phantom-training", "exact-gradient-failure", "upward-generalization", "digits-solvers", "digits-reuse", "digits-gradients",
                     "digits-jacobian-reg", "digits-gradient-agreement", "digits-adjoint-tolerance"] {
            let spec = try TrainingExperiment.load(trainingExperiments.appendingPathComponent("\(name).yaml"))
            #expect(spec.name == name && !spec.description.isEmpty && spec.runs.count >= (name == "digits-solvers" ? 1 : 2))
            if name.hasPrefix("digits") { #expect(spec.digits.seeds.count >= 3) }
            for run in spec.runs { #expect(run.options.problems() == nil && run.quickOptions.problems() == nil) }
        }
    }

    /// Training names solvers and estimators by their catalog names: every catalog solver
    /// builds as the forward solver under its own name, checkpoints' JSON keeps the names, and
    /// a name outside the catalog is refused by validation and by decoding.
    @Test func trainingNamesAreCatalogNames() throws {
        for entry in Catalog.standard.solvers {
            var options = TrainingOptions()
            options.solver = try #require(TrainingOptions.SolverKind(rawValue: entry.name))
            #expect(try options.forwardSolver.name == entry.name)
            #expect(options.problems() == nil, "\(entry.name): \(options.problems() ?? "")")
        }
        for entry in Catalog.standard.estimators {
            var options = TrainingOptions()
            options.estimator = try #require(TrainingOptions.EstimatorKind(rawValue: entry.name))
            if entry.needsInverseJacobian { options.solver = .broyden }
            #expect(try options.gradientEstimator.name == entry.name)
        }
        var options = TrainingOptions()
        options.solver = "andersen"
        #expect(options.problems()?.contains("unknown solver andersen") == true)
        #expect(TrainingOptions.SolverKind(rawValue: "andersen") == nil)
        let json = try JSONEncoder().encode(TrainingOptions())
        let text = try #require(String(data: json, encoding: .utf8)).replacingOccurrences(of: "\"anderson\"", with: "\"andersen\"")
        #expect(throws: (any Error).self) { try JSONDecoder().decode(TrainingOptions.self, from: Data(text.utf8)) }
    }

    /// `--checkpoint-format safetensors` stores the arrays as one verified `arrays.safetensors`
    /// (readable by PyTorch's safetensors), and a resume from it continues exactly: the model
    /// equals an uninterrupted run's stored as `.npy` files.
    @Test func safetensorsCheckpointsResumeExactly() throws {
        let scratch = try ScratchDirectory("deq-train-safetensors")
        defer { scratch.cleanUp() }
        let common = ["--width", "4", "--train-size", "16", "--test-size", "8", "--batch-size", "8", "--seed", "5"]
        let straight = try DeqProcess.run(["train"] + common + ["--epochs", "2", "--output", scratch.file("npy").path])
        #expect(straight.status == 0, "\(straight.stderr)")
        let first = try DeqProcess.run(["train"] + common + ["--epochs", "1", "--checkpoint-format", "safetensors",
                                                          "--output", scratch.file("st").path])
        #expect(first.status == 0, "\(first.stderr)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: scratch.file("st").path).filter { $0.hasPrefix("checkpoint-") }
        #expect(folders.count == 1 && FileManager.default.fileExists(atPath: scratch.file("st/\(folders[0])/arrays.safetensors").path), "\(folders)")
        let resumed = try DeqProcess.run(["train", "--resume", scratch.file("st").path, "--epochs", "2", "--checkpoint-format", "safetensors"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try TrainingCheckpoint.read(from: scratch.file("npy")), b = try TrainingCheckpoint.read(from: scratch.file("st"))
        #expect(a.epoch == 2 && b.epoch == 2 && a.parameters == b.parameters && a.optimizerState == b.optimizerState)
    }

    @Test func trainTakesTheStoppingOptionsOfSolve() throws {
        let scratch = try ScratchDirectory("deq-train-stop")
        defer { scratch.cleanUp() }
        let out = scratch.file("run").path
        let run = try DeqProcess.run(["train", "--width", "4", "--train-size", "16", "--test-size", "8", "--batch-size", "8", "--epochs", "1",
                                      "--stop", "abs", "--tol", "1e-3", "--max-evals", "3", "--output", out])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let checkpoint = try TrainingCheckpoint.read(from: scratch.file("run"))
        #expect(checkpoint.options.stopMeasure == "abs" && checkpoint.options.maxEvaluations == 3)
        // At most 3 evaluations per sample: the mean per step cannot exceed 3.
        #expect(checkpoint.log[0].forwardEvaluations <= 3)
    }

    @Test func badExperimentFieldsNameTheFileAndField() throws {
        let scratch = try ScratchDirectory("deq-train-spec")
        defer { scratch.cleanUp() }
        let cases: [(String, String)] = [
            ("kind: phantom-training\nruns: [{label: a, estimatr: jfb}]\n", "bad.yaml: runs[0] (a): unknown option 'estimatr'"),
            ("kind: nonsense\nruns: [{label: a}]\n", "bad.yaml: 'kind' must be one of phantom-training, upward-generalization"),
            ("kind: phantom-training\nruns: [{label: a, width: wide}]\n", "bad.yaml: runs[0] (a): option 'width' has the wrong type"),
            ("kind: phantom-training\nruns: []\n", "bad.yaml: 'runs' must be a non-empty list"),
            ("kind: upward-generalization\nbase: {task: parity, cell: conv}\nruns: [{label: a}]\nevaluation: {budgets: [0]}\n",
             "bad.yaml: evaluation.budgets must be a non-empty list of positive integers"),
        ]
        for (yaml, message) in cases {
            try yaml.write(to: scratch.file("bad.yaml"), atomically: true, encoding: .utf8)
            #expect {
                _ = try TrainingExperiment.load(scratch.file("bad.yaml"))
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }

    @Test(arguments: ["phantom-training", "upward-generalization", "digits-solvers", "digits-reuse", "digits-gradients",
                      "digits-jacobian-reg", "digits-gradient-agreement"])
    func quickExperimentRunsAndWritesItsResults(name: String) throws {
        let scratch = try ScratchDirectory("deq-train-experiment")
        defer { scratch.cleanUp() }
        let output = try DeqProcess.run(["train", "--experiment", name, "--quick", "--experiments-dir", trainingExperiments.path,
                                         "--results-dir", scratch.url.path])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let folder = scratch.file("\(name)-quick")
        let summary = try String(contentsOf: folder.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.hasPrefix("# \(name) (quick)"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("summary.tsv").path))
        if name == "digits-solvers" {
            // One row per (snapshot, solver, seed): snapshots 0 and 1, forward and Anderson, one seed.
            let rows = try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8).split(separator: "\n")
            #expect(rows.count == 1 + 2 * 2)
            #expect(summary.contains("## Claim") && summary.contains("Anderson needs about half"))
        } else if name == "digits-reuse" {
            let rows = try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8).split(separator: "\n")
            #expect(rows.count == 1 + 3)
            #expect(summary.contains("Fixed-point reuse lowers") && summary.contains("n = 1 seeds"))
        } else if name == "digits-gradients" || name == "digits-jacobian-reg" {
            let rows = try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8).split(separator: "\n")
            #expect(rows.count == 1 + (name == "digits-gradients" ? 10 : 2))
            // ρ(J) and ‖J‖_F²/d of the trained cell: finite and positive in every row.
            for row in rows.dropFirst() {
                let cells = row.split(separator: "\t")
                #expect(cells.count == 11 && Double(cells[9])! > 0 && Double(cells[10])! > 0, "\(row)")
            }
            #expect(summary.contains("## Claims") && summary.contains("n = 1 seeds"))
        } else if name == "digits-gradient-agreement" {
            // One row per (run, checkpoint): 14 estimators × checkpoints 0 and 1, one seed.
            let rows = try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8).split(separator: "\n").dropFirst()
            #expect(rows.count == 14 * 2)
            var table = [String: [Double]]()
            for row in rows {
                let cells = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                table["\(cells[0]) \(cells[2])"] = cells[3...].compactMap(Double.init)
            }
            for epoch in [0, 1] {
                // Two implementations of one estimator: the unrolled phantom gradient with k = 1,
                // λ = 1 is y = c, the Jacobian-free gradient; with λ = 0.5 it is half of it (the
                // same direction, half the norm). Both agree to rounding (1e-12 ≫ 64 ulp · terms).
                let jfb = table["jfb \(epoch)"]!, k1 = table["phantom k=1 λ=1 \(epoch)"]!, half = table["phantom k=1 λ=0.5 \(epoch)"]!
                #expect(abs(jfb[0] - k1[0]) < 1e-12 && abs(jfb[2] - k1[2]) < 1e-12, "\(jfb) \(k1)")
                #expect(abs(half[0] - k1[0]) < 1e-12 && abs(half[2] - 0.5 * k1[2]) < 1e-12, "\(half) \(k1)")
                for (key, values) in table where key.hasSuffix(" \(epoch)") { #expect(values[0] >= -1 - 1e-12 && values[0] <= 1 + 1e-12, "\(key)") }
            }
            // At initialisation (cell weights N(0, 0.01): ‖J‖ ≪ 1) the training forward solve is
            // accurate, so an adjoint at 1e-6 gives the exact gradient's direction: cos > 0.99.
            #expect(table["implicit adjoint 1e-6 0"]![0] > 0.99)
            #expect(summary.contains("## Claims") && summary.contains("Geng et al. 2021") && summary.contains("n = 1 seeds"))
        } else if name == "phantom-training" {
            // The exact run's backward time is the unit of the ratio column.
            let rows = try String(contentsOf: folder.appendingPathComponent("summary.tsv"), encoding: .utf8).split(separator: "\n")
            // Four configurations × three seeds, and the table over seeds: n = 3 each, and the
            // implicit run is the unit of its own seed's ratio.
            #expect(rows.count == 1 + 4 * 3)
            #expect(rows[1].split(separator: "\t")[8] == "1")
            #expect(summary.contains("| exact | 3 |") && summary.contains("| 1 [1–1] |"), "\(summary)")
            #expect(summary.contains("| phantom k=5 λ=0.5 | 3 |"))
            // ρ(J) after every epoch of every run: 12 runs × the quick file's 2 epochs.
            let jacobian = try String(contentsOf: folder.appendingPathComponent("jacobian.tsv"), encoding: .utf8).split(separator: "\n")
            #expect(jacobian.count == 1 + 12 * 2)
            #expect(jacobian.dropFirst().allSatisfy { Double($0.split(separator: "\t")[2]).map { $0 > 0 && $0.isFinite } == true })
        } else {
            // Three seeds per configuration, aggregated, and the three claims judged.
            #expect(summary.contains("| baseline | 3 |") && summary.contains("| path-independent | 3 |"))
            #expect(summary.contains("## Claims") && summary.contains("n = 3 seed pairs"))
            #expect(summary.contains("AA score"))
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("alignment.tsv").path))
        }
    }
}
