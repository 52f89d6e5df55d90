import Equilibrium
import Foundation

/// The digits experiments (`kind: digits-solvers`, `kind: digits-comparison`): the tutorial's
/// convolutional DEQ on the UCI digits (``ImageTrainer``), every run repeated over `seeds`.
///
///     digits:
///       seeds: [0, 1, 2]
///       solvers: [forward, anderson, broyden, newton-krylov]   # digits-solvers: catalog names
///       budget: 100                                           # iterations per test solve
///       tolerance: 1.0e-4                                     # relative residual
///       snapshots: [0, 0.25, 0.5, 1]                          # fractions of the epochs
///       samples: 128                                          # digits-agreement: the fixed batch
///       referenceTolerance: 1.0e-10                           # digits-agreement: g*'s solves
///       referenceBudget: 300
///       claims:                                               # digits-comparison
///         - {text: "…", run: reuse, baseline: zero start, metric: forwardEvaluations, factor: 1.5}
public struct DigitsSettings: Sendable {
    public struct Claim: Sendable {
        public var text: String
        public var run: String
        public var baseline: String
        /// `forwardEvaluations` (per step) or `backwardSeconds` (per step); lower is better.
        public var metric: String
        /// The improvement (baseline ÷ run) the claim states.
        public var factor: Double
    }
    public var seeds: [UInt64] = [0, 1, 2]
    public var solvers: [String] = ["forward", "anderson", "broyden", "newton-krylov"]
    public var budget = 100
    public var tolerance = 1e-4
    public var snapshots: [Double] = [0, 0.25, 0.5, 1]
    public var claims: [Claim] = []
    /// `digits-agreement`: the training images of the fixed batch, and the tolerance and
    /// iteration budget of the exact gradient's forward and adjoint solves.
    public var samples = 128
    public var referenceTolerance = 1e-10
    public var referenceBudget = 300

    static func parse(_ value: Any?, _ field: String, _ path: String, _ defaults: DigitsSettings) throws -> DigitsSettings {
        guard let value else { return defaults }
        guard let map = value as? [String: Any] else { throw TrainingError("\(path): '\(field)' must be a mapping") }
        let keys: Set<String> = ["seeds", "solvers", "budget", "tolerance", "snapshots", "claims", "samples", "referenceTolerance", "referenceBudget"]
        if let unknown = map.keys.sorted().first(where: { !keys.contains($0) }) {
            throw TrainingError("\(path): \(field): unknown field '\(unknown)'; expected one of \(keys.sorted().joined(separator: ", "))")
        }
        var s = defaults
        if let v = map["seeds"] {
            guard let list = v as? [Int], !list.isEmpty, list.allSatisfy({ $0 >= 0 }) else {
                throw TrainingError("\(path): \(field).seeds must be a non-empty list of non-negative integers")
            }
            s.seeds = list.map { UInt64($0) }
        }
        if let v = map["solvers"] {
            guard let list = v as? [String], !list.isEmpty else { throw TrainingError("\(path): \(field).solvers must be a list of solver names") }
            for name in list {
                do { _ = try Catalog.standard.solver(named: name) } catch { throw TrainingError("\(path): \(field).solvers: \(error)") }
            }
            s.solvers = list
        }
        if let v = map["budget"] {
            guard let n = v as? Int, (1...10_000).contains(n) else { throw TrainingError("\(path): \(field).budget must be an integer in 1 … 10000") }
            s.budget = n
        }
        if let v = map["tolerance"] {
            guard let t = (v as? Double) ?? (v as? Int).map(Double.init), t > 0, t.isFinite else {
                throw TrainingError("\(path): \(field).tolerance must be a positive number")
            }
            s.tolerance = t
        }
        if let v = map["samples"] {
            guard let n = v as? Int, (1...10_000).contains(n) else { throw TrainingError("\(path): \(field).samples must be an integer in 1 … 10000") }
            s.samples = n
        }
        if let v = map["referenceTolerance"] {
            guard let t = (v as? Double) ?? (v as? Int).map(Double.init), t > 0, t < 1 else {
                throw TrainingError("\(path): \(field).referenceTolerance must be a number in (0, 1)")
            }
            s.referenceTolerance = t
        }
        if let v = map["referenceBudget"] {
            guard let n = v as? Int, (1...10_000).contains(n) else { throw TrainingError("\(path): \(field).referenceBudget must be an integer in 1 … 10000") }
            s.referenceBudget = n
        }
        if let v = map["snapshots"] {
            let list = (v as? [Any])?.compactMap { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }
            guard let list, !list.isEmpty, list.count == (v as? [Any])?.count, list.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw TrainingError("\(path): \(field).snapshots must be a list of fractions in [0, 1]")
            }
            s.snapshots = list
        }
        if let v = map["claims"] {
            guard let list = v as? [[String: Any]] else { throw TrainingError("\(path): \(field).claims must be a list of mappings") }
            s.claims = try list.enumerated().map { index, c in
                guard let text = c["text"] as? String, let run = c["run"] as? String, let baseline = c["baseline"] as? String,
                      let metric = c["metric"] as? String, ["forwardEvaluations", "backwardSeconds"].contains(metric),
                      let factor = (c["factor"] as? Double) ?? (c["factor"] as? Int).map(Double.init), factor > 0 else {
                    throw TrainingError("\(path): \(field).claims[\(index)] needs text, run, baseline, metric (forwardEvaluations or backwardSeconds) and a positive factor")
                }
                return Claim(text: text, run: run, baseline: baseline, metric: metric, factor: factor)
            }
        }
        return s
    }
}

/// Mean and sample standard deviation.
func meanAndSD(_ xs: [Double]) -> (mean: Double, sd: Double) {
    guard !xs.isEmpty else { return (.nan, .nan) }
    let m = xs.reduce(0, +) / Double(xs.count)
    guard xs.count > 1 else { return (m, 0) }
    let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    return (m, v.squareRoot())
}

extension TrainingExperiment {
    static func pm(_ xs: [Double], _ digits: Int = 3) -> String {
        let (m, s) = meanAndSD(xs)
        return String(format: "%.\(digits)f ± %.\(digits)f", m, s)
    }

    static func digitsHeader(_ spec: TrainingExperiment, quick: Bool, _ settings: DigitsSettings, _ options: TrainingOptions) -> String {
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "unknown"
        return header(spec, quick: quick) + "Model: conv stem → GroupNorm → DEQ (ConvResidualCell, C = \(options.width), h = \(options.innerWidth), \(options.groups) groups) → GroupNorm → \(options.pool ?? 2)×\(options.pool ?? 2) average pool → linear head; Adam (lr \(options.optimizer.learningRate), \(options.schedule ?? "cosine") schedule), batch \(options.batchSize), \(options.epochs) epochs, forward \(options.solver.rawValue) with tolerance \(options.tolerance) (relative) and at most \(options.maxIterations) iterations. Data: \(options.dataDirectory ?? "Data/digits"), 1437 training / 360 test images. Seeds: \(settings.seeds.map(String.init).joined(separator: ", ")) (n = \(settings.seeds.count) per run). Load average at the end: \(load) (the machine was shared; times are wall-clock and inflated by other work).\n\n"
    }

    /// Trains `options` for one seed, epoch by epoch, calling `snapshot` at epoch 0 and after
    /// every epoch; writes the checkpoint and log into `directory`.
    static func trainDigits(_ options: TrainingOptions, directory: URL, progress: (String) -> Void,
                            snapshot: (Int, ImageTrainer) throws -> Void) throws -> ImageTrainer {
        guard var session = try Training.session(options) as? ImageTrainer else {
            throw TrainingError("the digits experiments need the digits task")
        }
        let (train, test) = try options.loadDatasets()
        try snapshot(0, session)
        while session.epoch < options.epochs {
            let r = try session.trainEpoch(train: train, test: test)
            progress("seed \(options.seed)\tepoch \(r.epoch)\tloss \(format(r.loss))\ttest accuracy \(format(r.testAccuracy))\tnfe/step \(format(r.forwardEvaluations))\t\(format(r.epochSeconds)) s")
            try session.checkpoint.write(to: directory)
            try TrainingLog.write(session.log, to: directory)
            try snapshot(session.epoch, session)
        }
        return session
    }

    /// `digits-solvers`: every solver of the catalog list on the test set at the snapshots taken
    /// through training (same checkpoints for every solver), from z₀ = 0.
    static func runDigitsSolvers(_ spec: TrainingExperiment, quick: Bool, into folder: URL, progress: (String) -> Void) throws -> String {
        let settings = quick ? spec.quickDigits : spec.digits
        guard let run = spec.runs.first else { throw TrainingError("digits-solvers needs one run") }
        let base = quick ? run.quickOptions : run.options
        let snapshotEpochs = Set(settings.snapshots.map { Int(($0 * Double(base.epochs)).rounded()) })
        // [epoch][solver] → per seed (evaluations, converged, accuracy, seconds)
        var table = [Int: [String: [(nfe: Double, converged: Double, accuracy: Double, seconds: Double)]]]()
        var finals = [(seed: UInt64, accuracy: Double, seconds: Double, nfe: Double)]()
        // The same work cap for every solver: at most budget + 1 f evaluations per image (the
        // start and one per forward or Anderson iteration); Newton–Krylov takes its J·v products
        // by finite differences, so each costs one evaluation of the same budget.
        let criteria = try StoppingCriteria(tolerance: settings.tolerance, maxIterations: settings.budget,
                                            maxEvaluations: settings.budget + 1, recordHistory: false)
        let solvers = try settings.solvers.map { name in
            try Catalog.standard.solver(named: name).makeSolver(name == "newton-krylov" ? ["jvp": .text("fd")] : [:])
        }
        for seed in settings.seeds {
            var options = base
            options.seed = seed
            let test = try options.loadDatasets().test
            let started = DispatchTime.now().uptimeNanoseconds
            var evaluationSeconds = 0.0
            let session = try trainDigits(options, directory: folder.appendingPathComponent("runs/\(slug(run.label))-seed-\(seed)"),
                                          progress: progress) { epoch, trainer in
                guard snapshotEpochs.contains(epoch) else { return }
                for (name, solver) in zip(settings.solvers, solvers) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let e = try trainer.evaluate(test, solver: solver, criteria: criteria)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                    evaluationSeconds += seconds
                    table[epoch, default: [:]][name, default: []].append((e.meanEvaluations, e.convergedFraction, e.accuracy, seconds))
                    progress("seed \(seed)\tepoch \(epoch)\t\(name)\tnfe \(format(e.meanEvaluations))\tconverged \(format(e.convergedFraction))\taccuracy \(format(e.accuracy))")
                }
            }
            let total = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            let last = session.log.last!
            finals.append((seed, last.testAccuracy, total - evaluationSeconds, session.log.reduce(0) { $0 + $1.forwardEvaluations } / Double(session.log.count)))
        }
        var md = digitsHeader(spec, quick: quick, settings, base)
        md += "## Test accuracy after training (implicit gradient, forward \(base.solver.rawValue), budget \(base.maxIterations))\n\n| seed | test accuracy | training time (s, without the solver study) | forward evaluations per image per step |\n|---|---|---|---|\n"
        for f in finals { md += "| \(f.seed) | \(format(f.accuracy)) | \(format(f.seconds)) | \(format(f.nfe)) |\n" }
        md += "| mean ± sd (n = \(finals.count)) | \(pm(finals.map(\.accuracy), 4)) | \(pm(finals.map(\.seconds), 1)) | \(pm(finals.map(\.nfe), 2)) |\n\n"
        md += "## Solvers on the same checkpoints\n\nTest set (360 images), z₀ = 0, relative tolerance \(settings.tolerance), at most \(settings.budget) iterations and \(settings.budget + 1) f evaluations per image (Newton–Krylov's J·v by finite differences, one evaluation each). Evaluations: mean per image of f evaluations until the tolerance (or the budget); converged: fraction of images within the budget; mean ± sd over the \(settings.seeds.count) seeds.\n\n"
        md += "| epoch | solver | evaluations | converged | accuracy | seconds |\n|---|---|---|---|---|---|\n"
        var tsv = "epoch\tsolver\tseed_index\tevaluations\tconverged\taccuracy\tseconds\n"
        var ratios = [(epoch: Int, ratios: [Double])]()
        for epoch in table.keys.sorted() {
            for name in settings.solvers {
                let rows = table[epoch]?[name] ?? []
                md += "| \(epoch) | \(name) | \(pm(rows.map(\.nfe), 1)) | \(pm(rows.map(\.converged), 3)) | \(pm(rows.map(\.accuracy), 4)) | \(pm(rows.map(\.seconds), 2)) |\n"
                for (i, r) in rows.enumerated() { tsv += "\(epoch)\t\(name)\t\(i)\t\(r.nfe)\t\(r.converged)\t\(r.accuracy)\t\(r.seconds)\n" }
            }
            if let f = table[epoch]?["forward"], let a = table[epoch]?["anderson"] {
                ratios.append((epoch, zip(f, a).map { $0.nfe / $1.nfe }))
            }
        }
        try AtomicFile.write(tsv, to: folder.appendingPathComponent("summary.tsv"))
        if !ratios.isEmpty {
            md += "\n## Claim\n\nForward ÷ Anderson evaluations per image, per snapshot: " + ratios.map { "epoch \($0.epoch): \(pm($0.ratios, 2))" }.joined(separator: "; ") + ".\n\n"
            let first = meanAndSD(ratios.first!.ratios).mean, last = meanAndSD(ratios.last!.ratios).mean
            let converged = (table[ratios.last!.epoch]?["forward"] ?? []).map(\.converged)
            let twice = last >= 1.8, grows = last > first * 1.1
            let forwardFinished = meanAndSD(converged).mean >= 0.9
            let verdict = twice && grows ? "reproduced"
                : !forwardFinished ? "not decided (forward iteration mostly hit the budget, so the ratio is only a lower bound)"
                : (twice || grows || last > 1.2) ? "partly reproduced" : "refuted"
            md += "**The tutorial's claim that Anderson needs about half the iterations of forward iteration, with the gap growing through training: \(verdict)** — the ratio is \(format(first)) at epoch \(ratios.first!.epoch) and \(format(last)) at epoch \(ratios.last!.epoch) (n = \(settings.seeds.count) seeds; forward iteration converged for \(pm(converged, 3)) of the images at the end, so where it hits the budget of \(settings.budget) its count is a lower bound and the ratio too).\n"
        }
        return md
    }

    /// `digits-comparison`: each run (e.g. zero starts against fixed-point reuse, or estimators)
    /// over the seeds; the claims compare a metric of a run with its baseline at matched accuracy.
    static func runDigitsComparison(_ spec: TrainingExperiment, quick: Bool, into folder: URL, progress: (String) -> Void) throws -> String {
        let settings = quick ? spec.quickDigits : spec.digits
        struct Row { var accuracy: Double; var nfe: Double; var forwardConverged: Double; var backwardSeconds: Double; var vjps: Double; var backwardConverged: Double; var seconds: Double; var rho: Double; var frobenius: Double }
        var rows = [String: [Row]]()
        var md = digitsHeader(spec, quick: quick, settings, quick ? spec.runs[0].quickOptions : spec.runs[0].options)
        var tsv = "run\tseed\ttest_accuracy\tforward_evaluations_per_step\tforward_converged\tbackward_s_per_step\tbackward_vjps_per_step\tbackward_converged\ttotal_s\tspectral_radius\tfrobenius_squared_per_dim\n"
        for run in spec.runs {
            for seed in settings.seeds {
                var options = quick ? run.quickOptions : run.options
                options.seed = seed
                let session = try trainDigits(options, directory: folder.appendingPathComponent("runs/\(slug(run.label))-seed-\(seed)"),
                                              progress: { progress("\(run.label)\t\($0)") }) { _, _ in }
                let log = session.log, n = Double(max(log.count, 1)), steps = Double(max(log.last?.steps ?? 1, 1))
                // ρ(J) and ‖J‖_F²/d at the end, medians over the first test images' fixed points.
                let jacobian = try session.jacobianAtFixedPoints(try options.loadDatasets().test, samples: quick ? 4 : jacobianSamples,
                                                                 maxIterations: options.maxIterations)
                let row = Row(accuracy: log.last?.testAccuracy ?? .nan, nfe: log.reduce(0) { $0 + $1.forwardEvaluations } / n,
                              forwardConverged: log.reduce(0) { $0 + $1.forwardConverged } / n,
                              backwardSeconds: log.reduce(0) { $0 + $1.backwardSeconds } / steps,
                              vjps: log.reduce(0) { $0 + $1.backwardProducts } / n,
                              backwardConverged: log.reduce(0) { $0 + $1.backwardConverged } / n,
                              seconds: log.reduce(0) { $0 + $1.epochSeconds },
                              rho: jacobian.summary.spectralRadius, frobenius: jacobian.summary.frobeniusSquaredPerDimension)
                rows[run.label, default: []].append(row)
                tsv += "\(run.label)\t\(seed)\t\(row.accuracy)\t\(row.nfe)\t\(row.forwardConverged)\t\(row.backwardSeconds)\t\(row.vjps)\t\(row.backwardConverged)\t\(row.seconds)\t\(row.rho)\t\(row.frobenius)\n"
            }
        }
        md += "| run | test accuracy | forward evaluations per image per step | forward converged | backward s/step | backward VJPs/step | backward converged | total s | ρ(J) at end | ‖J‖_F²/d at end |\n|---|---|---|---|---|---|---|---|---|---|\n"
        for run in spec.runs {
            let r = rows[run.label] ?? []
            md += "| \(run.label) | \(pm(r.map(\.accuracy), 4)) | \(pm(r.map(\.nfe), 2)) | \(pm(r.map(\.forwardConverged), 3)) | \(pm(r.map(\.backwardSeconds), 3)) | \(pm(r.map(\.vjps), 1)) | \(pm(r.map(\.backwardConverged), 3)) | \(pm(r.map(\.seconds), 0)) | \(pm(r.map(\.rho), 3)) | \(pm(r.map(\.frobenius), 4)) |\n"
        }
        md += "\nMeans ± sd over n = \(settings.seeds.count) seeds; per-step figures are means over the epochs (forward evaluations: per image, summed over solver segments when the correction loss splits the solve); forward converged: fraction of training images whose solve met the tolerance; backward converged: fraction of steps whose adjoint solve converged for every image (1 without a solve); ρ(J) and ‖J‖_F²/d: the cell's Jacobian ∂f/∂z at the fixed points of the first \(quick ? 4 : jacobianSamples) test images after training (median over the images; Arnoldi power iteration and Hutchinson with 16 probes).\n"
        try AtomicFile.write(tsv, to: folder.appendingPathComponent("summary.tsv"))
        if !settings.claims.isEmpty { md += "\n## Claims\n\n" }
        for claim in settings.claims {
            guard let a = rows[claim.run], let b = rows[claim.baseline] else {
                throw TrainingError("\(spec.name): a claim names run '\(claim.run)' or baseline '\(claim.baseline)', which is not a run label")
            }
            let key: KeyPath<Row, Double> = claim.metric == "forwardEvaluations" ? \.nfe : \.backwardSeconds
            let ratio = meanAndSD(b.map { $0[keyPath: key] }).mean / meanAndSD(a.map { $0[keyPath: key] }).mean
            let (accA, sdA) = meanAndSD(a.map(\.accuracy)), (accB, sdB) = meanAndSD(b.map(\.accuracy))
            // Equal accuracy: within 0.5 points or two standard deviations of the difference.
            let allowance = max(0.005, 2 * (sdA * sdA + sdB * sdB).squareRoot())
            let matched = accA >= accB - allowance
            // A baseline whose exact adjoint mostly hit its budget is not a valid reference for a
            // speed claim: its backward time is the budget's, not the tolerance's.
            let baselineAdjoint = meanAndSD(b.map(\.backwardConverged)).mean
            let verdict = baselineAdjoint < 0.5 ? "not decided (the baseline's adjoint converged on only \(format(baselineAdjoint)) of steps ⚠)"
                : ratio >= claim.factor && matched ? "reproduced" : ratio > 1.05 ? "partly reproduced" : "refuted"
            // Backward time depends on the machine's load; the products ratio does not.
            let products = claim.metric == "backwardSeconds"
                ? " (backward products per step: \(format(meanAndSD(b.map(\.vjps)).mean / meanAndSD(a.map(\.vjps)).mean))×, machine-independent)" : ""
            md += "- **\(claim.text): \(verdict)** — \(claim.baseline) ÷ \(claim.run) \(claim.metric == "forwardEvaluations" ? "forward evaluations per step" : "backward seconds per step") = \(format(ratio)) (claimed ≥ \(format(claim.factor)))\(products), test accuracy \(format(accA)) ± \(format(sdA)) against \(format(accB)) ± \(format(sdB)) (\(matched ? "matched" : "not matched") within \(format(allowance))), n = \(settings.seeds.count) seeds.\n"
        }
        return md
    }
}
