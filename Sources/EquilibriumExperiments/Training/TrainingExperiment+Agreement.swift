import Equilibrium
import Foundation

/// `kind: digits-agreement`: how close each gradient estimator comes to the exact gradient on
/// the same checkpoints of one training trajectory.
///
/// The first run is trained over every seed (the reference trajectory: its checkpoints at the
/// `snapshots` are shared by every estimator). At each snapshot, on the same fixed batch of the
/// first `samples` training images, the reference is the exact implicit gradient g* of the mean
/// cross-entropy: the forward solve and the adjoint solve (I − Jᵀ)y = ∂L/∂z* both to the
/// relative tolerance `referenceTolerance` within `referenceBudget` iterations (Anderson). Then
/// every run's estimator, with that run's own forward solve (solver, tolerance, budget) from
/// z₀ = 0 and backward options, as one training step computes it, gives g, and
///
///     cos(g, g*) = g·g* / (‖g‖ ‖g*‖),      ‖g‖ / ‖g*‖,      ‖g − g*‖ / ‖g*‖
///
/// over the parameters the DEQ's backward pass reaches (stem, its norm, the cell: the readout's
/// gradient does not depend on the estimator), and the cosine over all parameters.
///
/// References: Z. Geng, X.-Y. Zhang, S. Bai, Y. Wang, Z. Lin, "On training implicit models",
/// NeurIPS 2021 (the phantom gradient and its approximation of the exact gradient);
/// Z. Ramzi, F. Mannel, S. Bai, J.-L. Starck, P. Ciuciu, T. Moreau, "SHINE: SHaring the INverse
/// Estimate from the forward pass for bi-level optimization and implicit models", ICLR 2022.
extension TrainingExperiment {
    /// One estimator at one snapshot of one seed.
    struct AgreementRecord {
        var run: String
        var seed: UInt64
        var epoch: Int
        /// cos(g, g*) over the parameters behind the DEQ, and over all parameters.
        var cosine: Double
        var cosineAll: Double
        var normRatio: Double
        var relativeError: Double
        var vjps: Double
        var backwardSeconds: Double
        var backwardConverged: Bool
        var forwardConverged: Double
    }

    /// Whether a parameter's gradient depends on the estimator (it lies behind the DEQ layer).
    static func behindEquilibrium(_ name: String) -> Bool {
        name.hasPrefix("stem") || name.hasPrefix("cell.")
    }

    static func runDigitsAgreement(_ spec: TrainingExperiment, quick: Bool, into folder: URL, progress: (String) -> Void) throws -> String {
        let settings = quick ? spec.quickDigits : spec.digits
        guard let trained = spec.runs.first else { throw TrainingError("digits-agreement needs at least one run") }
        let base = quick ? trained.quickOptions : trained.options
        let snapshotEpochs = Set(settings.snapshots.map { Int(($0 * Double(base.epochs)).rounded()) })
        let referenceCriteria = try StoppingCriteria(tolerance: settings.referenceTolerance, maxIterations: settings.referenceBudget,
                                                     recordHistory: false)
        let reference = try ImplicitGradient(solver: AndersonAcceleration(), criteria: referenceCriteria)
        var records = [AgreementRecord]()
        // Per (seed, epoch): the reference's forward and adjoint converged fractions.
        var referenceOutcomes = [(seed: UInt64, epoch: Int, forward: Double, adjoint: Bool, adjointIterations: Int)]()
        for seed in settings.seeds {
            var options = base
            options.seed = seed
            let train = try options.loadDatasets().train
            guard let group = train.groups.first, group.positions == 1 else { throw TrainingError("digits-agreement needs an image data set") }
            let batch = Array(0..<min(settings.samples, group.count))
            let u = ImageTrainer.rows(group.inputs, batch), y = batch.map { group.targets[$0] }
            _ = try trainDigits(options, directory: folder.appendingPathComponent("runs/\(slug(trained.label))-seed-\(seed)"),
                                progress: progress) { epoch, trainer in
                guard snapshotEpochs.contains(epoch) else { return }
                let model = trainer.model
                let bound = try model.bind(u)
                let zero = Matrix(rows: batch.count, columns: bound.dimension)
                let exactForward = try AndersonAcceleration().solve(bound, from: zero, criteria: referenceCriteria)
                let exact = try model.lossAndGradient(images: u, bound: bound, solution: exactForward.solution, targets: y, estimator: reference)
                let exactIterations = exact.backward.statistics.backward?.iterations.max() ?? 0
                referenceOutcomes.append((seed, epoch, Double(exactForward.samples.filter(\.converged).count) / Double(batch.count),
                                          exact.backward.converged, exactIterations))
                let star = exact.gradient.filter { behindEquilibrium($0.name) }.flatMap(\.values)
                let starAll = exact.gradient.flatMap(\.values)
                // Runs with the same forward options share one forward solve.
                var forwards = [String: SolveResult]()
                for run in spec.runs {
                    var o = quick ? run.quickOptions : run.options
                    o.seed = seed
                    let key = "\(o.solver.rawValue) \(o.tolerance) \(o.maxIterations) \(o.stopMeasure ?? "") \(o.maxEvaluations.map(String.init) ?? "")"
                    let forward: SolveResult
                    if let cached = forwards[key] { forward = cached } else {
                        forward = try o.forwardSolver.solve(bound, from: zero, criteria: o.forwardCriteria(maxIterations: o.maxIterations))
                        forwards[key] = forward
                    }
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let step = try model.lossAndGradient(images: u, bound: bound, solution: forward.solution, targets: y,
                                                         estimator: try o.gradientEstimator, byproducts: forward.byproducts)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                    let g = step.gradient.filter { behindEquilibrium($0.name) }.flatMap(\.values)
                    let record = AgreementRecord(
                        run: run.label, seed: seed, epoch: epoch,
                        cosine: VectorComparison.cosine(g, star), cosineAll: VectorComparison.cosine(step.gradient.flatMap(\.values), starAll),
                        normRatio: BLAS.nrm2(g) / BLAS.nrm2(star), relativeError: VectorComparison.relativeError(g, star),
                        vjps: Double(step.backward.statistics.vectorJacobianProducts + step.backward.statistics.parameterProducts),
                        backwardSeconds: seconds, backwardConverged: step.backward.converged,
                        forwardConverged: Double(forward.samples.filter(\.converged).count) / Double(batch.count))
                    records.append(record)
                    progress("seed \(seed)\tepoch \(epoch)\t\(run.label)\tcos \(format(record.cosine))\t‖g‖/‖g*‖ \(format(record.normRatio))\tVJPs \(format(record.vjps))")
                }
            }
        }
        return try writeAgreement(spec, quick: quick, settings: settings, base: base, records: records,
                                  referenceOutcomes: referenceOutcomes.map { ($0.forward, $0.adjoint, $0.adjointIterations) }, folder)
    }

    static func writeAgreement(_ spec: TrainingExperiment, quick: Bool, settings: DigitsSettings, base: TrainingOptions,
                               records: [AgreementRecord], referenceOutcomes: [(forward: Double, adjoint: Bool, iterations: Int)],
                               _ folder: URL) throws -> String {
        let epochs = Array(Set(records.map(\.epoch))).sorted()
        let labels = spec.runs.map(\.label)
        func pick(_ label: String, _ epoch: Int? = nil) -> [AgreementRecord] {
            records.filter { $0.run == label && (epoch == nil || $0.epoch == epoch) }
        }
        var tsv = "run\tseed\tepoch\tcosine_behind_deq\tcosine_all\tnorm_ratio\trelative_error\tbackward_products\tbackward_s\tbackward_converged\tforward_converged\n"
        for r in records {
            tsv += "\(r.run)\t\(r.seed)\t\(r.epoch)\t\(r.cosine)\t\(r.cosineAll)\t\(r.normRatio)\t\(r.relativeError)\t\(r.vjps)\t\(r.backwardSeconds)\t\(r.backwardConverged ? 1 : 0)\t\(r.forwardConverged)\n"
        }
        try AtomicFile.write(tsv, to: folder.appendingPathComponent("summary.tsv"))
        let forwardDone = referenceOutcomes.map(\.forward).min() ?? .nan
        let adjointDone = referenceOutcomes.filter(\.adjoint).count
        var md = digitsHeader(spec, quick: quick, settings, base)
        md += "Reference (the exact gradient g*): on the first \(settings.samples) training images at each checkpoint, forward Anderson and the adjoint solve (Anderson) both to relative tolerance \(settings.referenceTolerance) within \(settings.referenceBudget) iterations; the reference forward solve converged for \(forwardDone == 1 ? "every image" : "a fraction \(format(forwardDone)) or more of the images") at every checkpoint and its adjoint converged at \(adjointDone) of \(referenceOutcomes.count) checkpoints (at most \(referenceOutcomes.map(\.iterations).max() ?? 0) iterations)\(adjointDone < referenceOutcomes.count ? " ⚠ — where it did not, g* is itself approximate" : ""). Every estimator then uses its run's own forward solve (z₀ = 0, as in training: \(base.solver.rawValue), tolerance \(base.tolerance), at most \(base.maxIterations) iterations unless the run says otherwise) and backward options. Checkpoints: epochs \(epochs.map(String.init).joined(separator: ", ")) of the `\(spec.runs[0].label)` run's training, seeds \(settings.seeds.map(String.init).joined(separator: ", ")).\n\n"
        md += "## Cosine to the exact gradient at the same checkpoints\n\ncos(g, g*) over the parameters behind the DEQ layer (stem, stem norm, cell), mean ± sd over n = \(settings.seeds.count) seeds per checkpoint.\n\n"
        md += "| estimator | " + epochs.map { "epoch \($0)" }.joined(separator: " | ") + " |\n|---|" + epochs.map { _ in "---|" }.joined() + "\n"
        for label in labels {
            md += "| \(label) | " + epochs.map { pm(pick(label, $0).map(\.cosine), 4) }.joined(separator: " | ") + " |\n"
        }
        let n = settings.seeds.count * epochs.count
        md += "\n## Over all checkpoints\n\nMean ± sd over n = \(n) (\(settings.seeds.count) seeds × \(epochs.count) checkpoints). Backward products: VJPs and parameter products per step (one per batch); backward s: seconds for the \(settings.samples)-image batch; adjoint converged: fraction of steps whose backward solve converged for every image (1 without a solve).\n\n"
        md += "| estimator | cos(g, g*) behind the DEQ | cos(g, g*) all parameters | ‖g‖/‖g*‖ | ‖g − g*‖/‖g*‖ | backward products | backward s | adjoint converged |\n|---|---|---|---|---|---|---|---|\n"
        for label in labels {
            let r = pick(label)
            md += "| \(label) | \(pm(r.map(\.cosine), 4)) | \(pm(r.map(\.cosineAll), 4)) | \(pm(r.map(\.normRatio), 3)) | \(pm(r.map(\.relativeError), 3)) | \(pm(r.map(\.vjps), 1)) | \(pm(r.map(\.backwardSeconds), 3)) | \(format(Double(r.filter(\.backwardConverged).count) / Double(max(r.count, 1)))) |\n"
        }
        md += agreementClaims(labels: labels, epochs: epochs, pick: pick)
        md += "\n![cosine to the exact gradient through training](curves/cosine.png)\n"
        try writeAgreementPicture(labels: labels, epochs: epochs, pick: pick, folder)
        return md
    }

    /// The verdicts the data decide:
    /// 1. Geng et al.: the unrolled phantom gradient is a descent direction close to the exact
    ///    gradient, improving with the unrolling steps k — reproduced when every phantom run's
    ///    mean cosine is positive at every checkpoint and rises with k for each λ (over all
    ///    checkpoints); partly when positive but not rising; refuted when not positive.
    /// 2. Ramzi et al.: SHINE's direction is closer to the exact one than the Jacobian-free
    ///    gradient's — reproduced when its mean cosine is higher at every checkpoint, partly when
    ///    higher over all checkpoints only, refuted otherwise.
    /// 3. The adjoint tolerance sweep: the loosest tolerance whose cosine is ≥ 0.99 at every
    ///    checkpoint (a measurement, not a claim).
    static func agreementClaims(labels: [String], epochs: [Int], pick: (String, Int?) -> [AgreementRecord]) -> String {
        var md = "\n## Claims\n\n"
        func mean(_ label: String, _ epoch: Int?) -> Double { meanAndSD(pick(label, epoch).map(\.cosine)).mean }
        // Phantom runs grouped by λ, ordered by k: labels "phantom k=K λ=L".
        var phantoms = [String: [(k: Int, label: String)]]()
        for label in labels where label.hasPrefix("phantom k=") {
            let parts = label.dropFirst("phantom k=".count).split(separator: " ")
            guard let k = parts.first.flatMap({ Int($0) }), let lambda = parts.dropFirst().first else { continue }
            phantoms[String(lambda), default: []].append((k, label))
        }
        if !phantoms.isEmpty {
            let all = phantoms.values.flatMap { $0 }
            let positive = all.allSatisfy { p in epochs.allSatisfy { mean(p.label, $0) > 0 } }
            let rising = phantoms.values.allSatisfy { group in
                let means = group.sorted { $0.k < $1.k }.map { mean($0.label, nil) }
                return zip(means, means.dropFirst()).allSatisfy { $0 < $1 }
            }
            let verdict = positive && rising ? "reproduced" : positive ? "partly reproduced" : "refuted"
            let figures = phantoms.keys.sorted().map { lambda in
                "\(lambda): " + phantoms[lambda]!.sorted { $0.k < $1.k }.map { "k = \($0.k) \(String(format: "%.3f", mean($0.label, nil)))" }.joined(separator: ", ")
            }.joined(separator: "; ")
            let lowest = all.flatMap { p in epochs.map { mean(p.label, $0) } }.min() ?? .nan
            md += "- **The phantom gradient is a descent direction close to the exact gradient, improving with k (Geng et al. 2021): \(verdict)** — mean cosine to g* over all checkpoints, \(figures); lowest mean at any checkpoint \(String(format: "%.3f", lowest)).\n"
        }
        if labels.contains("jfb"), let shine = labels.first(where: { $0.hasPrefix("shine") }) {
            let everywhere = epochs.allSatisfy { mean(shine, $0) > mean("jfb", $0) }
            let overall = mean(shine, nil) > mean("jfb", nil)
            let verdict = everywhere ? "reproduced" : overall ? "partly reproduced" : "refuted"
            md += "- **SHINE's gradient is closer to the exact one than the Jacobian-free gradient (Ramzi et al. 2022): \(verdict)** — mean cosine \(String(format: "%.3f", mean(shine, nil))) against \(String(format: "%.3f", mean("jfb", nil))) over all checkpoints; per checkpoint " + epochs.map { "epoch \($0): \(String(format: "%.3f", mean(shine, $0))) vs \(String(format: "%.3f", mean("jfb", $0)))" }.joined(separator: ", ") + ".\n"
        }
        let implicit = labels.filter { $0.hasPrefix("implicit") }
        if implicit.count > 1 {
            let sweep = implicit.map { label in (label, epochs.map { mean(label, $0) }.min() ?? .nan, meanAndSD(pick(label, nil).map(\.vjps)).mean) }
            md += "- Adjoint tolerance sweep (measurement): lowest mean cosine over the checkpoints and mean backward products per step — "
                + sweep.map { "\($0.0): \(String(format: "%.4f", $0.1)), \(String(format: "%.1f", $0.2))" }.joined(separator: "; ") + ".\n"
        }
        return md
    }

    static func writeAgreementPicture(labels: [String], epochs: [Int], pick: (String, Int?) -> [AgreementRecord], _ folder: URL) throws {
        var series = [(file: String, title: String, phantom: Bool)]()
        for label in labels {
            var dat = "# epoch\tmean cosine\tsd\n"
            for epoch in epochs {
                let (m, s) = meanAndSD(pick(label, epoch).map(\.cosine))
                dat += "\(epoch)\t\(m)\t\(s)\n"
            }
            let file = "cosine-\(slug(label))"
            try AtomicFile.write(dat, to: folder.appendingPathComponent("curves/\(file).dat"))
            series.append((file, label, label.hasPrefix("phantom")))
        }
        func plot(_ rows: [(file: String, title: String, phantom: Bool)]) -> String {
            rows.map { "\"\($0.file).dat\" using 1:2:3 with yerrorlines title \(Gnuplot.quoted($0.title))" }.joined(separator: ", ")
        }
        let script = Gnuplot.preamble(output: "cosine", width: 1100, height: 600) + """

        set multiplot layout 1,2
        set key below maxrows 4
        set xlabel "epoch of the reference run (checkpoint)"; set ylabel "cos(g, g*) behind the DEQ"
        set title "exact gradient at adjoint tolerances, Jacobian-free, SHINE"
        plot \(plot(series.filter { !$0.phantom }))
        set title "phantom gradient (k unrolled steps, damping λ)"
        plot \(plot(series.filter(\.phantom)))
        unset multiplot

        """
        try AtomicFile.write(script, to: folder.appendingPathComponent("curves/cosine.gp"))
    }
}
