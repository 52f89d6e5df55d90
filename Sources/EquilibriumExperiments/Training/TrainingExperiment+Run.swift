import Equilibrium
import Foundation

extension TrainingExperiment {
    /// A file-name form of a label: lower case, runs of other characters as one '-'.
    static func slug(_ label: String) -> String {
        var out = ""
        for ch in label.lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) || ch == "." { out.append(ch) } else if !out.hasSuffix("-") { out.append("-") }
        }
        return out.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }

    /// Trains every run (checkpoints in `folder/runs/SLUG/`), evaluates, writes `summary.md`,
    /// `summary.tsv`, curves and pictures (PNG when gnuplot is installed), and returns the
    /// summary's text. `progress` receives one line per epoch.
    public static func run(_ spec: TrainingExperiment, quick: Bool, into folder: URL,
                           progress: (String) -> Void = { _ in }) throws -> String {
        let manager = FileManager.default
        try manager.createDirectory(at: folder.appendingPathComponent("curves"), withIntermediateDirectories: true)
        try Provenance.current().write(into: folder)
        var sessions = [(label: String, session: any TrainingSession)]()
        var jacobians: [String: [JacobianRecord]] = [:]
        // The digits kinds train their runs over seeds themselves.
        let trainsHere = spec.kind == .phantomTraining || spec.kind == .upwardGeneralization
        for run in spec.runs where trainsHere {
            let options = quick ? run.quickOptions : run.options
            var session = try Training.session(options)
            let (train, test) = options.datasets()
            let directory = folder.appendingPathComponent("runs/\(slug(run.label))")
            try Training.run(&session, train: train, test: test, directory: directory, progress: { r in
                progress("\(run.label)\tepoch \(r.epoch)\tloss \(format(r.loss))\ttest accuracy \(format(r.testAccuracy))\t\(format(r.epochSeconds)) s")
            }, afterEpoch: { session in
                // ρ(J) through training (phantom-training only: the cells are small enough).
                guard spec.kind == .phantomTraining else { return }
                let j = try session.jacobianAtFixedPoints(test, samples: jacobianSamples, maxIterations: options.maxIterations, probes: 16).summary
                jacobians[run.label, default: []].append(JacobianRecord(epoch: session.epoch, spectralRadius: j.spectralRadius,
                                                                        frobeniusSquaredPerDimension: j.frobeniusSquaredPerDimension,
                                                                        convergedFraction: j.convergedFraction))
            })
            sessions.append((run.label, session))
        }
        let text: String
        switch spec.kind {
        case .phantomTraining: text = try writePhantom(spec, sessions, jacobians: jacobians, quick: quick, folder)
        case .upwardGeneralization: text = try writeUpward(spec, sessions, quick: quick, folder)
        case .digitsSolvers: text = try runDigitsSolvers(spec, quick: quick, into: folder, progress: progress)
        case .digitsComparison: text = try runDigitsComparison(spec, quick: quick, into: folder, progress: progress)
        case .digitsAgreement: text = try runDigitsAgreement(spec, quick: quick, into: folder, progress: progress)
        }
        try AtomicFile.write(text, to: folder.appendingPathComponent("summary.md"))
        if Gnuplot.isAvailable {
            let scripts = try manager.contentsOfDirectory(at: folder.appendingPathComponent("curves"), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "gp" }
            try Gnuplot.render(scripts, format: .png)
        }
        return text
    }

    static func format(_ x: Double) -> String { String(format: "%.4g", x) }

    /// How many test samples the Jacobian diagnostics use after each epoch.
    static let jacobianSamples = 32

    /// The cell's Jacobian after one epoch: medians over ``jacobianSamples`` test samples of
    /// ρ(J) and ‖J‖_F²/d at the fixed points the forward solve reached, and the fraction of those
    /// solves that converged.
    struct JacobianRecord {
        var epoch: Int
        var spectralRadius: Double
        var frobeniusSquaredPerDimension: Double
        var convergedFraction: Double
    }

    static func header(_ spec: TrainingExperiment, quick: Bool) -> String {
        let provenance = Provenance.current()
        let source = provenance.gitCommit.map { "commit \($0.prefix(12))\(provenance.dirty == true ? " with uncommitted changes" : "")" } ?? "no git commit"
        return "# \(spec.name)\(quick ? " (quick)" : "")\n\n\(spec.description)\n\nMade by `\(provenance.command)` at \(source), \(provenance.buildConfiguration) build (`provenance.json`). Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores. Times are wall-clock seconds of this run; `deq train --experiment \(spec.name)\(quick ? " --quick" : "")` regenerates this folder.\n\n"
    }

    /// A label `NAME seed N` split into NAME and N; nil for a label without a seed.
    static func seedKey(_ label: String) -> (name: String, seed: String)? {
        let parts = label.components(separatedBy: " seed ")
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// The median, minimum and maximum of the finite values; nil when there is none.
    static func medianRange(_ values: [Double]) -> (median: Double, low: Double, high: Double)? {
        let sorted = values.filter(\.isFinite).sorted()
        guard let low = sorted.first, let high = sorted.last else { return nil }
        return (VectorComparison.median(sorted), low, high)
    }

    /// "median [min–max]" of the finite values, "–" when there is none.
    static func spread(_ values: [Double]) -> String {
        guard let m = medianRange(values) else { return "–" }
        return "\(format(m.median)) [\(format(m.low))–\(format(m.high))]"
    }

    /// Runs labelled `NAME seed N` grouped by NAME: median [min–max] over the seeds, n, of the
    /// test accuracy, the backward time per step, its ratio to the same seed's implicit-gradient
    /// run, and the fraction of adjoint solves that converged; a configuration whose adjoint
    /// solves mostly (≥ 50 %) hit their budget is flagged, since its backward time is that of a
    /// truncated solve, not of the implicit gradient.
    static func aggregateOverSeeds(_ sessions: [(label: String, session: any TrainingSession)], jacobians: [String: [JacobianRecord]],
                                   perStep: (any TrainingSession, KeyPath<EpochRecord, Double>) -> Double) -> String {
        let seeded = sessions.compactMap { entry in seedKey(entry.label).map { (name: $0.name, seed: $0.seed, label: entry.label, session: entry.session) } }
        guard !seeded.isEmpty else { return "" }
        var exactBySeed: [String: Double] = [:]
        // The ratio's reference: the first implicit-gradient configuration, seed by seed.
        let reference = seeded.first { $0.session.options.estimator == .implicit }?.name
        for entry in seeded where entry.name == reference { exactBySeed[entry.seed] = perStep(entry.session, \.backwardSeconds) }
        var names: [String] = []
        for entry in seeded where !names.contains(entry.name) { names.append(entry.name) }
        var md = "Over seeds (median [min–max], n seeds; the ratio divides by the same seed's run of `\(reference ?? "–")`, the first configuration with the implicit gradient):\n\n"
        md += "| configuration | n | test acc | backward s/step | backward ÷ \(reference ?? "implicit") | backward VJPs/step | adjoint converged | forward converged | ρ(J) at end |\n|---|---|---|---|---|---|---|---|---|\n"
        for name in names {
            let runs = seeded.filter { $0.name == name }
            let n = runs.count
            func mean(_ s: any TrainingSession, _ key: KeyPath<EpochRecord, Double>) -> Double { s.log.reduce(0) { $0 + $1[keyPath: key] } / Double(max(s.log.count, 1)) }
            let adjoint = runs.map { mean($0.session, \.backwardConverged) }
            let flagged = runs.first?.session.options.estimator == .implicit && (adjoint.sorted()[adjoint.count / 2]) < 0.5
            let cells = [name + (flagged ? " ⚠ adjoint mostly hit its budget" : ""), "\(n)",
                         spread(runs.map { $0.session.log.last?.testAccuracy ?? .nan }),
                         spread(runs.map { perStep($0.session, \.backwardSeconds) }),
                         spread(runs.map { r in exactBySeed[r.seed].map { perStep(r.session, \.backwardSeconds) / $0 } ?? .nan }),
                         spread(runs.map { r in r.session.log.reduce(0) { $0 + $1.backwardProducts } / Double(max(r.session.log.count, 1)) }),
                         spread(adjoint), spread(runs.map { mean($0.session, \.forwardConverged) }),
                         spread(runs.map { jacobians[$0.label]?.last?.spectralRadius ?? .nan })]
            md += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return md + "\nEvery run:\n\n"
    }

    static func writePhantom(_ spec: TrainingExperiment, _ sessions: [(label: String, session: any TrainingSession)],
                             jacobians: [String: [JacobianRecord]], quick: Bool, _ folder: URL) throws -> String {
        func perStep(_ s: any TrainingSession, _ key: KeyPath<EpochRecord, Double>) -> Double {
            s.log.reduce(0) { $0 + $1[keyPath: key] } / Double(max(s.log.last?.steps ?? 1, 1))
        }
        let exact = sessions.first { $0.session.options.estimator == .implicit }.map { perStep($0.session, \.backwardSeconds) }
        var md = header(spec, quick: quick)
        md += aggregateOverSeeds(sessions, jacobians: jacobians, perStep: perStep)
        md += "| run | estimator | epochs | final loss | train acc | test acc | forward s/step | backward s/step | backward ÷ exact | backward VJPs/step | forward converged | backward converged | total s | ρ(J) epoch 1 → end |\n"
        md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        var tsv = "run\testimator\tepochs\tloss\ttrain_accuracy\ttest_accuracy\tforward_s_per_step\tbackward_s_per_step\tbackward_ratio\tbackward_vjps_per_step\tforward_converged\tbackward_converged\ttotal_s\tspectral_radius_end\n"
        var jacobianDat = "# run\tepoch\tspectral_radius\tfrobenius_squared_per_dim\tconverged_fraction\n"
        var plots = [(file: String, title: String)]()
        for (label, s) in sessions {
            guard let last = s.log.last else { continue }
            let backward = perStep(s, \.backwardSeconds), forward = perStep(s, \.forwardSeconds)
            let ratio = exact.map { backward / $0 } ?? .nan
            let vjps = s.log.reduce(0) { $0 + $1.backwardProducts } / Double(s.log.count)
            let total = s.log.reduce(0) { $0 + $1.epochSeconds }
            let n = Double(s.log.count)
            let forwardConverged = s.log.reduce(0) { $0 + $1.forwardConverged } / n
            let backwardConverged = s.log.reduce(0) { $0 + $1.backwardConverged } / n
            let cells = [label, s.options.estimatorLabel, String(s.log.count), format(last.loss), format(last.accuracy),
                         format(last.testAccuracy), format(forward), format(backward), format(ratio), format(vjps),
                         format(forwardConverged), format(backwardConverged), format(total)]
            let rho = jacobians[label] ?? []
            let rhoCell = rho.isEmpty ? "–" : "\(format(rho.first!.spectralRadius)) → \(format(rho.last!.spectralRadius))"
            md += "| " + (cells + [rhoCell]).joined(separator: " | ") + " |\n"
            tsv += (cells + [format(rho.last?.spectralRadius ?? .nan)]).joined(separator: "\t") + "\n"
            var runDat = "# epoch\tspectral_radius\tfrobenius_squared_per_dim\tconverged_fraction\n"
            for r in rho {
                jacobianDat += "\(label)\t\(r.epoch)\t\(r.spectralRadius)\t\(r.frobeniusSquaredPerDimension)\t\(r.convergedFraction)\n"
                runDat += "\(r.epoch)\t\(r.spectralRadius)\t\(r.frobeniusSquaredPerDimension)\t\(r.convergedFraction)\n"
            }
            try AtomicFile.write(runDat, to: folder.appendingPathComponent("curves/\(slug(label))-jacobian.dat"))
            var dat = "# epoch\twall_s\tloss\ttrain_accuracy\ttest_accuracy\n"
            var wall = 0.0
            for r in s.log {
                wall += r.epochSeconds
                dat += "\(r.epoch)\t\(wall)\t\(r.loss)\t\(r.accuracy)\t\(r.testAccuracy)\n"
            }
            try AtomicFile.write(dat, to: folder.appendingPathComponent("curves/\(slug(label)).dat"))
            plots.append((slug(label), label))
        }
        try AtomicFile.write(jacobianDat, to: folder.appendingPathComponent("jacobian.tsv"))
        md += "\nBackward time per step includes the head, the estimator, the embedding, the optimiser step and any Jacobian penalty; forward time is the solve. `backward ÷ exact` divides by the first run that uses the implicit gradient. Forward converged: the fraction of training samples whose solve met the tolerance within the budget; backward converged: the fraction of steps whose adjoint solve (≤ 100 iterations) converged for every sample (1 without a solve). Both are means over the epochs. ρ(J): the spectral radius of the cell's Jacobian ∂f/∂z at the fixed points of the first \(jacobianSamples) test samples after each epoch (median over the samples, Arnoldi power iteration; `jacobian.tsv` has ‖J‖_F²/d and the converged fraction of those solves too). Above 1, forward iteration diverges near the point and the implicit function theorem's linear system (I − Jᵀ) may be near-singular.\n\n![training curves](curves/training.png)\n\n![rho(J) through training](curves/jacobian.png)\n"
        func series(_ x: Int, _ y: Int) -> String {
            plots.map { "\"\($0.file).dat\" using \(x):\(y) with linespoints title \(Gnuplot.quoted($0.title))" }.joined(separator: ", ")
        }
        let script = Gnuplot.preamble(output: "training", width: 1100, height: 800) + """

        set multiplot layout 2,2
        set key top right
        set xlabel "epoch"; set ylabel "training loss"
        plot \(series(1, 3))
        set xlabel "wall seconds"; set ylabel "training loss"
        plot \(series(2, 3))
        set key bottom right
        set xlabel "epoch"; set ylabel "test accuracy"; set yrange [0:1]
        plot \(series(1, 5))
        set xlabel "wall seconds"; set ylabel "test accuracy"
        plot \(series(2, 5))
        unset multiplot

        """
        try AtomicFile.write(script, to: folder.appendingPathComponent("curves/training.gp"))
        let jacobianScript = Gnuplot.preamble(output: "jacobian", width: 900, height: 500) + """

        set key outside right
        set xlabel "epoch"; set ylabel "spectral radius of J at the fixed points (median)"
        plot \(jacobianSeries(plots)), 1 with lines dashtype 2 lc rgb "black" title "ρ = 1"

        """
        try AtomicFile.write(jacobianScript, to: folder.appendingPathComponent("curves/jacobian.gp"))
        try AtomicFile.write(tsv, to: folder.appendingPathComponent("summary.tsv"))
        return md
    }

    /// Upward generalisation (Anil et al. 2022, "Path independent equilibrium models can better
    /// exploit test-time computation"): every run's accuracy on longer strings as the test-time
    /// budget grows and its AA score; runs labelled `NAME seed N` aggregated per NAME (median
    /// [min–max], n), and each configuration after the first compared with the first, seed by seed,
    /// on the paper's three claims.
    /// The ρ(J) curves: one colour per configuration (NAME of `NAME seed N`), one point type per seed.
    static func jacobianSeries(_ plots: [(file: String, title: String)]) -> String {
        var configurations: [String] = [], seeds: [String] = []
        for plot in plots {
            let key = seedKey(plot.title) ?? (plot.title, "")
            if !configurations.contains(key.name) { configurations.append(key.name) }
            if !seeds.contains(key.seed) { seeds.append(key.seed) }
        }
        return plots.map { plot in
            let key = seedKey(plot.title) ?? (plot.title, "")
            let colour = configurations.firstIndex(of: key.name)! + 1, point = seeds.firstIndex(of: key.seed)! + 4
            return "\"\(plot.file)-jacobian.dat\" using 1:2 with linespoints lc \(colour) pt \(point) title \(Gnuplot.quoted(plot.title))"
        }.joined(separator: ", ")
    }

    static func writeUpward(_ spec: TrainingExperiment, _ sessions: [(label: String, session: any TrainingSession)],
                            quick: Bool, _ folder: URL) throws -> String {
        let e = quick ? spec.quickEvaluation : spec.evaluation
        var md = header(spec, quick: quick)
        md += "## Training\n\n| run | init | random budget | epochs | final loss | train acc | test acc (length \(sessions.first?.session.options.testLength ?? 0)) |\n|---|---|---|---|---|---|---|\n"
        for (label, s) in sessions {
            guard let last = s.log.last else { continue }
            let budget = s.options.randomBudgetMin.map { "\($0)…\(s.options.maxIterations)" } ?? "fixed \(s.options.maxIterations)"
            md += "| \(label) | \(s.options.initialization.rawValue) | \(budget) | \(s.log.count) | \(format(last.loss)) | \(format(last.accuracy)) | \(format(last.testAccuracy)) |\n"
        }
        // Every run's evaluations: accuracy[label][length][budget index].
        var accuracy: [String: [Int: [Equilibrium.Evaluation]]] = [:]
        var tsv = "run\tlength\tbudget\taccuracy\texample_accuracy\tmean_nfe\tconverged\n"
        for (label, s) in sessions {
            for length in e.lengths {
                var options = s.options
                options.testLength = length
                let test = options.datasets().test
                for budget in e.budgets {
                    let r = try s.evaluate(test, maxIterations: budget, batchSize: 64)
                    accuracy[label, default: [:]][length, default: []].append(r)
                    tsv += "\(label)\t\(length)\t\(budget)\t\(r.accuracy)\t\(r.exampleAccuracy)\t\(r.meanEvaluations)\t\(r.convergedFraction)\n"
                }
            }
        }
        var alignment: [String: (score: Double, right: Double, wrong: Double, correct: Int, total: Int)] = [:]
        var perExample = "run\texample\taa\tcorrect\n"
        for (label, s) in sessions {
            var options = s.options
            options.testLength = e.alignmentLength
            options.testSize = e.alignmentSamples
            let a = try s.alignment(options.datasets().test, samples: e.alignmentSamples, maxIterations: e.alignmentBudget)
            func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
            let right = zip(a.perExample, a.correct).filter { $0.1 }.map(\.0), wrong = zip(a.perExample, a.correct).filter { !$0.1 }.map(\.0)
            alignment[label] = (a.score, mean(right), mean(wrong), right.count, a.correct.count)
            for (i, (aa, ok)) in zip(a.perExample, a.correct).enumerated() { perExample += "\(label)\t\(i)\t\(aa)\t\(ok ? 1 : 0)\n" }
        }
        // Configurations: NAME of `NAME seed N`, or the whole label; their runs by seed.
        var names: [String] = []
        var runs: [String: [(seed: String, label: String)]] = [:]
        for (label, _) in sessions {
            let key = seedKey(label) ?? (label, "")
            if runs[key.name] == nil { names.append(key.name) }
            runs[key.name, default: []].append((key.seed, label))
        }
        let seedCounts = Set(names.map { runs[$0]!.count })
        md += "\n## Accuracy on longer strings as the test-time budget grows\n\nPer-position accuracy, z₀ = 0, median [min–max] over the n seeds of each configuration (n = \(seedCounts.sorted().map(String.init).joined(separator: ", "))); every run's figures, with the fraction of whole strings right, are in `summary.tsv`.\n\n"
        md += "| configuration | n | length | " + e.budgets.map { "budget \($0)" }.joined(separator: " | ") + " |\n"
        md += "|---|---|---|" + e.budgets.map { _ in "---|" }.joined() + "\n"
        for name in names {
            let labels = runs[name]!.map(\.label)
            for length in e.lengths {
                var row = "| \(name) | \(labels.count) | \(length) |"
                var dat = "# budget\tmedian_accuracy\tmin_accuracy\tmax_accuracy\tn=\(labels.count)\n"
                for (b, budget) in e.budgets.enumerated() {
                    let values = labels.compactMap { accuracy[$0]?[length]?[b].accuracy }
                    row += " \(spread(values)) |"
                    if let m = medianRange(values) { dat += "\(budget)\t\(m.median)\t\(m.low)\t\(m.high)\n" }
                }
                md += row + "\n"
                try AtomicFile.write(dat, to: folder.appendingPathComponent("curves/\(slug(name))-L\(length).dat"))
            }
        }
        md += "\n## Path independence\n\nAA score on \(e.alignmentSamples) strings of length \(e.alignmentLength) at budget \(e.alignmentBudget) (every string re-solved from every other string's fixed point); per example, the mean AA of the strings the model gets right and wrong; median [min–max] over the seeds.\n\n"
        md += "| configuration | n | AA score | mean AA, correct | mean AA, wrong | correct strings (all seeds) |\n|---|---|---|---|---|---|\n"
        for name in names {
            let a = runs[name]!.compactMap { alignment[$0.label] }
            md += "| \(name) | \(a.count) | \(spread(a.map(\.score))) | \(spread(a.map(\.right))) | \(spread(a.map(\.wrong))) | \(a.reduce(0) { $0 + $1.correct })/\(a.reduce(0) { $0 + $1.total }) |\n"
        }
        md += upwardClaims(names: names, runs: runs, accuracy: accuracy, alignment: alignment, sessions: sessions, evaluation: e)
        try AtomicFile.write(perExample, to: folder.appendingPathComponent("alignment.tsv"))
        try AtomicFile.write(tsv, to: folder.appendingPathComponent("summary.tsv"))
        md += "\n![accuracy against budget](curves/upward.png)\n\nThe picture shows the median over seeds with the range (min–max) as error bars.\n"
        let panels = e.lengths.map { length in
            "set title \"length \(length)\"\nplot " + names.map { "\"\(slug($0))-L\(length).dat\" using 1:2:3:4 with yerrorlines title \(Gnuplot.quoted("\($0) (n = \(runs[$0]!.count))"))" }.joined(separator: ", ")
        }.joined(separator: "\n")
        let script = Gnuplot.preamble(output: "upward", width: 450 * e.lengths.count, height: 400) + """

        set multiplot layout 1,\(e.lengths.count)
        set key bottom right
        set logscale x 2
        set xlabel "test-time iteration budget"; set ylabel "per-position accuracy"; set yrange [0:1]
        \(panels)
        unset multiplot

        """
        try AtomicFile.write(script, to: folder.appendingPathComponent("curves/upward.gp"))
        return md
    }

    /// The verdicts on Anil et al.'s claims, each configuration after the first against the first,
    /// paired by seed: (1) better upward generalisation with the largest test-time budget on every
    /// length beyond the training lengths, (2) a higher AA score, and, over every run, (3) strings
    /// solved right have a higher mean AA than strings solved wrong. Reproduced: every seed agrees;
    /// partly reproduced: the median difference agrees; refuted: it does not.
    static func upwardClaims(names: [String], runs: [String: [(seed: String, label: String)]],
                             accuracy: [String: [Int: [Equilibrium.Evaluation]]],
                             alignment: [String: (score: Double, right: Double, wrong: Double, correct: Int, total: Int)],
                             sessions: [(label: String, session: any TrainingSession)],
                             evaluation e: TrainingExperiment.Evaluation) -> String {
        func verdict(_ differences: [Double]) -> String {
            let finite = differences.filter(\.isFinite)
            guard let m = medianRange(finite) else { return "not measured" }
            return m.low > 0 ? "reproduced" : m.median > 0 ? "partly reproduced" : "refuted"
        }
        guard let baseline = names.first, names.count > 1 else { return "" }
        let trainMax = sessions.map(\.session.options.trainLengthMax).max() ?? 0
        let longer = e.lengths.filter { $0 > trainMax }
        let largest = e.budgets.count - 1
        var md = "\n## Claims\n\nEach configuration against `\(baseline)`, paired by seed (differences: configuration − \(baseline)); reproduced when every seed's difference is positive, partly reproduced when the median is, refuted otherwise.\n\n"
        for name in names.dropFirst() {
            let pairs = runs[name]!.compactMap { r in runs[baseline]!.first { $0.seed == r.seed }.map { (r.label, $0.label) } }
            var lengthParts: [String] = []
            var all: [Double] = []
            for length in longer {
                let d = pairs.compactMap { p -> Double? in
                    guard let a = accuracy[p.0]?[length]?[largest].accuracy, let b = accuracy[p.1]?[length]?[largest].accuracy else { return nil }
                    return a - b
                }
                all += d
                lengthParts.append("length \(length): \(spread(d))")
            }
            let lengthVerdicts = longer.map { length in
                verdict(pairs.compactMap { p in
                    guard let a = accuracy[p.0]?[length]?[largest].accuracy, let b = accuracy[p.1]?[length]?[largest].accuracy else { return nil }
                    return a - b
                })
            }
            let upward = lengthVerdicts.allSatisfy { $0 == "reproduced" } ? "reproduced"
                : lengthVerdicts.contains { $0 != "refuted" } ? "partly reproduced" : "refuted"
            md += "- **`\(name)` generalises upward better than `\(baseline)` with the largest test-time budget (\(e.budgets[largest])) on strings longer than the training ones: \(longer.isEmpty ? "not measured" : upward)** — per-position accuracy difference, median [min–max] over n = \(pairs.count) seed pairs: \(lengthParts.joined(separator: "; ")) (per length: \(lengthVerdicts.joined(separator: ", "))).\n"
            let aa = pairs.compactMap { p -> Double? in
                guard let a = alignment[p.0]?.score, let b = alignment[p.1]?.score else { return nil }
                return a - b
            }
            md += "- **`\(name)` is more path independent than `\(baseline)` (higher AA score): \(verdict(aa))** — AA difference \(spread(aa)), n = \(aa.count) seed pairs.\n"
        }
        let gaps = sessions.compactMap { alignment[$0.label].map { $0.right - $0.wrong } }
        md += "- **Strings a model solves right have a higher mean AA than strings it solves wrong: \(verdict(gaps))** — mean AA right − wrong per run \(spread(gaps)), n = \(gaps.filter(\.isFinite).count) runs (a run with no right or no wrong string has no difference).\n"
        return md
    }
}
