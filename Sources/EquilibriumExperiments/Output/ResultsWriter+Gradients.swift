import Equilibrium
import Foundation

// The tables, data files and pictures of the `gradients` and `jacobian-diagnostics`
// measurements: `summary.md` sections, `gradients/` and `jacobian/` folders.
extension ResultsWriter {
    // MARK: Gradients

    /// One table row: a cell × forward solver × estimator configuration, over the repeats.
    struct GradientRow {
        var cell: String
        var solver: String
        var label: String
        var entries: [GradientEntry] = []
    }

    /// Rows in grid order (cell, solver, estimator configuration), default start only.
    func gradientRows(records: [String: PointRecord], grid: [GridPoint]) -> [GradientRow] {
        var order: [String] = []
        var rows: [String: GradientRow] = [:]
        for point in grid where point.initializationIndex == 0 {
            guard let study = records[point.id]?.gradients else { continue }
            for entry in study.entries {
                let key = "\(point.cell.index)-\(point.solver.index)-\(entry.label)"
                if rows[key] == nil {
                    order.append(key)
                    rows[key] = GradientRow(cell: point.cell.label, solver: point.solver.label, label: entry.label)
                }
                rows[key]?.entries.append(entry)
            }
        }
        return order.compactMap { rows[$0] }
    }

    func gradientTable(records: [String: PointRecord], grid: [GridPoint]) throws -> String {
        var md = "\n## Gradients\n\n"
        let studies = grid.filter { $0.initializationIndex == 0 }.compactMap { records[$0.id]?.gradients }
        guard let first = studies.first else { return md + "(no gradient measurements yet)\n" }
        let options = spec.gradientOptions
        md += "Upstream ∂L/∂z* ~ N(0, I) (seed \(options.upstreamSeed) + cell seed). Reference: \(first.reference)"
        md += " (dense LU when d ≤ \(options.denseLimit), else the first iterative exact estimator). "
        md += "Speedup = the backward time of the fastest converged exact estimator of the same point (`exact_baseline` in `gradients/entries.tsv`) / the estimator's. "
        md += "Iterative backward solves: relative residual ≤ \(options.backwardTolerances.map(formatCompact).joined(separator: ", ")), at most \(options.backwardMaxIterations) iterations"
        md += options.backwardTolerances.count > 1 ? " (the speedup baseline uses the tightest). " : ". "
        md += options.timingRuns > 1 ? "Times: median of \(options.timingRuns) interleaved runs of every configuration. " : ""
        md += "Cells: median [min–max] over the n repeats (independent cell draws and upstream gradients).\n\n"
        let notConverged = studies.filter { !$0.referenceConverged }.count
        if notConverged > 0 {
            md += "**\(notConverged) reference gradient(s) did not converge**: their comparisons are against the best iterate.\n\n"
        }
        for note in Set(studies.flatMap(\.notes)).sorted() { md += "- \(note)\n" }
        if studies.contains(where: { !$0.notes.isEmpty }) { md += "\n" }
        md += "| cell | solver | estimator | n | cos θ | rel. err θ | cos x | VJP/sample | backward time | speedup vs exact | time / forward | backward solve |\n"
        md += "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for row in gradientRows(records: records, grid: grid) {
            let e = row.entries
            let cosine = Statistics.median(e.map(\.cosine)), minimum = e.map(\.cosine).min() ?? .nan
            var backward = "–"
            if e.contains(where: { $0.backward != nil }) {
                let converged = e.compactMap(\.backward).reduce(0) { $0 + $1.convergedSamples }
                let total = e.compactMap(\.backward).reduce(0) { $0 + $1.samples }
                let worst = e.compactMap(\.backward).first { !$0.converged }?.outcome.rawValue
                backward = "\(converged)/\(total)" + (worst.map { " (\($0))" } ?? "")
            }
            if e.contains(where: { $0.fallbackSamples != nil }) {
                let samples = e.compactMap(\.fallbackSamples).reduce(0, +)
                backward = "fallback on \(samples) sample\(samples == 1 ? "" : "s")"
            }
            _ = (cosine, minimum)
            md += "| \(row.cell) | \(row.solver) | \(row.label) | \(e.count) | \(Statistics.spread(e.map(\.cosine), "%.6f")) | "
            md += "\(Statistics.spread(e.map(\.relativeError), "%.2e")) | "
            md += "\(String(format: "%.6f", Statistics.median(e.map(\.inputCosine)))) | "
            md += "\(formatCompact(Statistics.median(e.map { Double($0.vjp) }))) | "
            md += "\(Statistics.seconds(Statistics.median(e.map(\.seconds)))) | "
            md += "\(Statistics.spread(e.map(\.speedupOverExact), "%.2f"))× | "
            md += "\(String(format: "%.3f", Statistics.median(e.map(\.ratioToForward)))) | \(backward) |\n"
        }
        md += matchedAccuracyTable(records: records, grid: grid)
        md += "\nEvery entry of every repeat: `gradients/entries.tsv`; pictures: `gradients/cosine-k.png`, `gradients/pareto.png`.\n"
        return md
    }

    /// The error targets of the matched-accuracy table.
    static let errorTargets: [Double] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-6]

    /// Speedup at equal error, read off the Pareto fronts: per point and target ε, the fastest
    /// entry of a family with relative error ≤ ε against the fastest iterative exact entry (any
    /// backward solver and tolerance) with error ≤ ε; median [min–max] over the repeats where
    /// both reach ε.
    func matchedAccuracyTable(records: [String: PointRecord], grid: [GridPoint]) -> String {
        let families = spec.gradientOptions.estimators.filter { $0 != "implicit" }
        guard spec.gradientOptions.estimators.contains("implicit"), !families.isEmpty else { return "" }
        let targets = Self.errorTargets
        var md = "\n### Speedup at equal error\n\n"
        md += "Per repeat and target ε: (backward time of the fastest iterative exact gradient with relative error ≤ ε, over every backward solver and tolerance) ÷ "
        md += "(backward time of the fastest entry of the family with error ≤ ε); in parentheses the same ratio of VJPs per sample. "
        md += "Median [min–max] over the repeats where both reach ε (n in the cell); – when the family never reaches ε. "
        md += "> 1: the approximate gradient is cheaper at that accuracy.\n\n"
        md += "| cell | solver | family | " + targets.map { "ε = \(formatCompact($0))" }.joined(separator: " | ") + " |\n"
        md += "|---|---|---|" + String(repeating: "---|", count: targets.count) + "\n"
        var seen = Set<String>()
        for point in grid where point.initializationIndex == 0 {
            let key = "\(point.cell.index)-\(point.solver.index)"
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            let studies = grid.filter { $0.cell.index == point.cell.index && $0.solver.index == point.solver.index && $0.initializationIndex == 0 }
                .compactMap { records[$0.id]?.gradients }
            guard !studies.isEmpty else { continue }
            for family in families {
                var cells: [String] = []
                for target in targets {
                    var ratios: [Double] = [], vjps: [Double] = []
                    for study in studies {
                        let exact = study.entries.filter { $0.estimator == "implicit" && $0.backwardSolver != "lu" && $0.relativeError <= target }
                            .min { $0.seconds < $1.seconds }
                        let mine = study.entries.filter { $0.estimator == family && $0.relativeError <= target }.min { $0.seconds < $1.seconds }
                        guard let exact, let mine, mine.seconds > 0 else { continue }
                        ratios.append(exact.seconds / mine.seconds)
                        vjps.append(mine.vjp > 0 ? Double(exact.vjp) / Double(mine.vjp) : .nan)
                    }
                    cells.append(ratios.isEmpty ? "–" : "\(Statistics.spread(ratios, "%.2f"))× (\(Statistics.spread(vjps, "%.2g"))) n=\(ratios.count)")
                }
                md += "| \(point.cell.label) | \(point.solver.label) | \(family) | " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return md
    }

    func writeGradients(records: [String: PointRecord], grid: [GridPoint]) throws -> [URL] {
        let folder = directory.appendingPathComponent("gradients")
        var tsv = "cell\tsolver\trepeat\testimator\tlabel\tk\tdamping\tbackward_solver\trefine\tcosine\trel_error\t"
        tsv += "input_cosine\tinput_rel_error\tvjp\tjvp\tevaluations\tparameter_products\tfloats_kept\tseconds\t"
        tsv += "speedup_over_exact\texact_baseline\tratio_to_forward\tbackward_converged\tsamples\tfallback_samples\t"
        tsv += "backward_tol\tmatched_exact\tmatched_exact_seconds\tmatched_speedup\tmatched_vjp_ratio\n"
        for point in grid where point.initializationIndex == 0 {
            guard let study = records[point.id]?.gradients else { continue }
            for e in study.entries {
                let fields: [String] = [
                    point.cell.label, point.solver.label, String(point.repeatIndex), e.estimator, e.label,
                    e.k.map(String.init) ?? "", e.damping.map(formatCompact) ?? "", e.backwardSolver ?? "",
                    e.refine.map(String.init) ?? "", String(format: "%.12f", e.cosine), String(format: "%.6e", e.relativeError),
                    String(format: "%.12f", e.inputCosine), String(format: "%.6e", e.inputRelativeError),
                    String(e.vjp), String(e.jvp), String(e.evaluations), String(e.parameterProducts), String(e.floatsKept),
                    String(format: "%.6e", e.seconds), String(format: "%.4f", e.speedupOverExact), study.exactBaseline,
                    String(format: "%.4f", e.ratioToForward), e.backward.map { String($0.convergedSamples) } ?? "",
                    e.backward.map { String($0.samples) } ?? "", e.fallbackSamples.map(String.init) ?? "",
                    e.backwardTolerance.map(formatCompact) ?? "", e.matchedExact ?? "",
                    e.matchedExactSeconds.map { String(format: "%.6e", $0) } ?? "",
                    e.matchedSpeedup.map { String(format: "%.4f", $0) } ?? "", e.matchedVjpRatio.map { String(format: "%.4f", $0) } ?? "",
                ]
                tsv += fields.joined(separator: "\t") + "\n"
            }
        }
        try AtomicFile.write(tsv, creatingFoldersFor: folder.appendingPathComponent("entries.tsv"))

        // Panels: one per cell, for the first solver, medians over repeats.
        let cells = spec.cellConfigurations.filter { cell in
            grid.contains { $0.cell.index == cell.index && $0.initializationIndex == 0 && records[$0.id]?.gradients != nil }
        }
        guard !cells.isEmpty else { return [] }
        func entries(cell: Int) -> [[GradientEntry]] {
            grid.filter { $0.cell.index == cell && $0.solver.index == 0 && $0.initializationIndex == 0 }
                .compactMap { records[$0.id]?.gradients?.entries }
        }
        /// Medians over repeats of (x, y) per label, in the first repeat's order.
        func medians(_ repeats: [[GradientEntry]], _ x: (GradientEntry) -> Double, _ y: (GradientEntry) -> Double)
            -> [(entry: GradientEntry, x: Double, y: Double)] {
            guard let first = repeats.first else { return [] }
            return first.map { entry in
                let same = repeats.compactMap { $0.first { $0.label == entry.label } }
                return (entry, Statistics.median(same.map(x)), Statistics.median(same.map(y)))
            }
        }
        let floor = 1e-16
        let series: [(mode: String, lambda: Double)] = spec.gradientOptions.estimators.filter { $0 == "phantom" || $0 == "neumann" }
            .flatMap { mode in spec.gradientOptions.dampings.map { (mode, $0) } }

        // Cosine and error against k, per λ.
        var dat = "# Gradient cosine and relative error against k, per estimator and λ: median, min and max over the repeats.\n"
        dat += "# Index blocks: cell-major, then one per (estimator, λ) in the order listed.\n# columns: k cosine cosine_min cosine_max rel_error rel_error_min rel_error_max\n"
        var blocks: [(cell: Int, title: String, mode: String, lambdaIndex: Int)] = []
        var first = true
        for (c, cell) in cells.enumerated() {
            let repeats = entries(cell: cell.index)
            let values = medians(repeats, \.cosine, \.relativeError)
            func range(_ label: String, _ value: (GradientEntry) -> Double) -> (Double, Double) {
                let v = repeats.compactMap { $0.first { $0.label == label } }.map(value).filter { !$0.isNaN }
                return (v.min() ?? .nan, v.max() ?? .nan)
            }
            for (lambdaIndex, s) in series.enumerated() {
                let points = values.filter { $0.entry.estimator == s.mode && $0.entry.damping == s.lambda && $0.entry.k != nil }
                    .sorted { ($0.entry.k ?? 0) < ($1.entry.k ?? 0) }
                if !first { dat += "\n\n" }
                first = false
                dat += "# \(cell.label) · \(s.mode) λ=\(formatCompact(s.lambda))\n"
                for p in points {
                    let c = range(p.entry.label, \.cosine), e = range(p.entry.label, \.relativeError)
                    dat += "\(p.entry.k ?? 0) \(String(format: "%.12f", p.x)) \(String(format: "%.12f", c.0)) \(String(format: "%.12f", c.1)) "
                    dat += "\(String(format: "%.6e", max(p.y, floor))) \(String(format: "%.6e", max(e.0, floor))) \(String(format: "%.6e", max(e.1, floor)))\n"
                }
                if points.isEmpty { dat += "nan nan nan nan nan nan nan\n" }
                blocks.append((c, "\(s.mode) λ=\(formatCompact(s.lambda))", s.mode, lambdaIndex % max(1, spec.gradientOptions.dampings.count)))
            }
        }
        try AtomicFile.write(dat, creatingFoldersFor: folder.appendingPathComponent("cosine-k.dat"))
        let columns = cells.count
        var gp = "# Phantom and Neumann gradients: cosine (top) and relative error (bottom) against k, per λ.\n"
        gp += Gnuplot.preamble(output: "cosine-k", width: max(700, 420 * columns), height: 820) + "\n"
        gp += "set multiplot layout 2,\(columns) title \(Gnuplot.quoted("\(spec.name): phantom gradients against the exact one (forward solver \(spec.solverConfigurations.first?.label ?? ""); Neumann, open circles, equals unrolled at a fixed point)"))\n"
        let maxK = Double(spec.gradientOptions.steps.max() ?? 1)
        gp += "set logscale x\nset xlabel \"k\"\nset xrange [0.9:\(formatCompact(maxK * 1.15))]\nset key bottom right font \",8\"\n"
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        func plotLines(column: Int) -> String {
            blocks.enumerated().filter { $0.element.cell == column }.map { index, block in
                let color = colors[block.lambdaIndex % colors.count]
                let style = block.mode == "neumann" ? "dt 2 pt 6 ps 1.3" : "dt 1 pt 7 ps 0.8"
                return "\"cosine-k.dat\" index \(index) using 1:COL with yerrorlines lw 2 \(style) lc rgb \"\(color)\" title \(Gnuplot.quoted(block.title))"
            }.joined(separator: ", \\\n     ")
        }
        // The legend once, in the first panel; Neumann (dashed, open) lies on the unrolled
        // phantom (solid) at an exact fixed point.
        for (c, cell) in cells.enumerated() {
            gp += c == 0 ? "set key bottom right font \",8\"\n" : "unset key\n"
            gp += "set title \(Gnuplot.quoted(cell.label)) font \",9\"\nset ylabel \"cosine with the exact gradient (bars: min–max over repeats)\"\nunset logscale y\nset format y \"%g\"\n"
            gp += "plot " + plotLines(column: c).replacingOccurrences(of: "1:COL", with: "1:2:3:4") + ", \\\n     0.99 with lines dt 3 lc rgb \"gray40\" title \"cos = 0.99\"\n"
        }
        for (c, cell) in cells.enumerated() {
            gp += c == 0 ? "set key bottom left font \",8\"\n" : "unset key\n"
            gp += "set title \(Gnuplot.quoted(cell.label)) font \",9\"\nset ylabel \"relative error ‖g − g*‖/‖g*‖\"\nset logscale y\nset format y \"10^{%L}\"\n"
            gp += "plot " + plotLines(column: c).replacingOccurrences(of: "1:COL", with: "1:5:6:7") + "\n"
        }
        gp += "unset multiplot\n"
        let cosineScript = folder.appendingPathComponent("cosine-k.gp")
        try AtomicFile.write(gp, creatingFoldersFor: cosineScript)

        // Pareto: relative error against backward time and against VJPs, per estimator family
        // (the implicit one split by backward solver, its tolerances joined by a line).
        var families: [(name: String, matches: (GradientEntry) -> Bool)] = []
        for family in spec.gradientOptions.estimators {
            if family == "implicit" {
                for solver in spec.gradientOptions.backwardSolvers {
                    families.append(("implicit \(solver)", { $0.estimator == "implicit" && $0.backwardSolver == solver }))
                }
            } else {
                families.append((family, { $0.estimator == family }))
            }
        }
        /// Median, min and max over repeats of (x, y) per label, in the first repeat's order.
        func spreads(_ repeats: [[GradientEntry]], _ x: (GradientEntry) -> Double)
            -> [(entry: GradientEntry, x: [Double], y: [Double])] {
            guard let first = repeats.first else { return [] }
            return first.map { entry in
                let same = repeats.compactMap { $0.first { $0.label == entry.label } }
                return (entry, same.map(x), same.map(\.relativeError))
            }
        }
        func triple(_ v: [Double], floor: Double) -> String {
            [Statistics.median(v), v.min() ?? .nan, v.max() ?? .nan].map { String(format: "%.6e", max($0, floor)) }.joined(separator: " ")
        }
        var pareto = "# Relative error of dL/dθ against backward time and VJPs per sample, per estimator family, then the Pareto front (time).\n"
        pareto += "# Over the repeats: median, min and max of each coordinate (error floored at \(floor)).\n"
        pareto += "# Index blocks: cell-major; per cell one block per family (\(families.map(\.name).joined(separator: ", "))), then the front.\n"
        pareto += "# columns: seconds seconds_min seconds_max rel_error rel_error_min rel_error_max vjp vjp_min vjp_max label\n"
        first = true
        for cell in cells {
            let values = spreads(entries(cell: cell.index), \.seconds)
            let vjps = Dictionary(spreads(entries(cell: cell.index), { Double($0.vjp) }).map { ($0.entry.label, $0.x) }, uniquingKeysWith: { a, _ in a })
            for family in families {
                if !first { pareto += "\n\n" }
                first = false
                pareto += "# \(cell.label) · \(family.name)\n"
                let points = values.filter { family.matches($0.entry) }
                for p in points {
                    let name = p.entry.backwardTolerance.map { "tol " + formatCompact($0) } ?? p.entry.label
                    pareto += "\(triple(p.x, floor: 0)) \(triple(p.y, floor: floor)) \(triple(vjps[p.entry.label] ?? [], floor: 0)) \(Gnuplot.quoted(name))\n"
                }
                if points.isEmpty { pareto += "nan nan nan nan nan nan nan nan nan \"\"\n" }
            }
            // The front: sorted by median time, keep points that lower the median error.
            pareto += "\n\n# \(cell.label) · Pareto front\n"
            var best = Double.infinity
            for p in values.sorted(by: { Statistics.median($0.x) < Statistics.median($1.x) }) where Statistics.median(p.y) < best {
                best = Statistics.median(p.y)
                pareto += "\(triple(p.x, floor: 0)) \(triple(p.y, floor: floor)) \(triple(vjps[p.entry.label] ?? [], floor: 0)) \(Gnuplot.quoted(p.entry.label))\n"
            }
        }
        try AtomicFile.write(pareto, creatingFoldersFor: folder.appendingPathComponent("pareto.dat"))
        var pgp = "# Gradient error against backward time (top) and VJPs per sample (bottom): every estimator's cost–accuracy trade-off.\n"
        pgp += "# Points: medians over the repeats; bars: min–max. Implicit: one line per backward solver through its tolerances.\n"
        pgp += Gnuplot.preamble(output: "pareto", width: max(700, 480 * cells.count), height: 1000) + "\n"
        pgp += "set multiplot layout 2,\(cells.count) title \(Gnuplot.quoted("\(spec.name): relative error against backward cost (forward solver \(spec.solverConfigurations.first?.label ?? ""), n = \(spec.repeats) repeats)"))\n"
        pgp += "set logscale xy\nset format y \"10^{%L}\"\nset format x \"10^{%L}\"\nset ylabel \"relative error of dL/dθ\"\n"
        let styles = ["pt 7 ps 1.2 lc rgb \"#000000\"", "pt 5 ps 1 lc rgb \"#1f77b4\"", "pt 9 ps 1 lc rgb \"#2ca02c\"",
                      "pt 13 ps 1.4 lc rgb \"#d62728\"", "pt 11 ps 1.4 lc rgb \"#ff7f0e\"", "pt 4 ps 1 lc rgb \"#9467bd\"",
                      "pt 6 ps 1 lc rgb \"#8c564b\"", "pt 8 ps 1 lc rgb \"#e377c2\"", "pt 10 ps 1 lc rgb \"#17becf\""]
        for (x, xLabel, columns) in [("time", "backward time (s)", "1:4:2:3:5:6"), ("vjp", "VJPs per sample", "7:4:8:9:5:6")] {
            for (c, cell) in cells.enumerated() {
                let base = c * (families.count + 1)
                pgp += c == 0 && x == "time" ? "set key bottom left font \",7\"\n" : "unset key\n"
                pgp += "set xlabel \(Gnuplot.quoted(xLabel))\nset title \(Gnuplot.quoted(cell.label)) font \",9\"\n"
                var plots = families.enumerated().map { f, family in
                    let line = family.name.hasPrefix("implicit") ? "xyerrorlines lw 1" : "xyerrorbars"
                    return "\"pareto.dat\" index \(base + f) using \(columns) with \(line) \(styles[f % styles.count]) title \(Gnuplot.quoted(family.name))"
                }
                if x == "time" {
                    plots.append("\"pareto.dat\" index \(base + families.count) using 1:4 with steps lw 1 dt 2 lc rgb \"gray50\" title \"front\"")
                }
                pgp += "plot " + plots.joined(separator: ", \\\n     ") + "\n"
            }
        }
        pgp += "unset multiplot\n"
        let paretoScript = folder.appendingPathComponent("pareto.gp")
        try AtomicFile.write(pgp, creatingFoldersFor: paretoScript)
        return [cosineScript, paretoScript]
    }

    // MARK: Jacobian diagnostics

    func jacobianTable(records: [String: PointRecord], grid: [GridPoint]) -> String {
        var md = "\n## Jacobian diagnostics\n\n"
        let options = spec.jacobianOptions
        md += "At the default start's fixed points, per sample: ρ(J) by power iteration on Jᵀ (at most \(options.powerIterations) VJPs, "
        md += "Krylov window \(options.window), tolerance \(formatCompact(options.powerTolerance))) and ‖J‖_F² by Hutchinson with "
        md += "\(options.probes) Gaussian probes, against exact values from the dense J (LAPACK) when d ≤ \(options.exactLimit). "
        md += "Means over samples and repeats; errors are the worst sample. nfe counts f evaluations only "
        md += "(Newton–Krylov's J·v products are counted apart, in the point files).\n\n"
        md += "| cell | solver | ρ(J) power | ρ(J) exact | max rel. err ρ | power converged | ‖J‖_F² Hutchinson | ‖J‖_F² exact | max |err|/s.e. | forward nfe median |\n"
        md += "|---|---|---|---|---|---|---|---|---|---|\n"
        var seen = Set<String>()
        for point in grid where point.initializationIndex == 0 {
            let key = "\(point.cell.index)-\(point.solver.index)"
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            let points = grid.filter { $0.cell.index == point.cell.index && $0.solver.index == point.solver.index && $0.initializationIndex == 0 }
            let found = points.compactMap { p in records[p.id].flatMap { r in r.jacobian.map { (r, $0) } } }
            guard !found.isEmpty else { continue }
            let studies = found.map(\.1)
            func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
            let rho = studies.flatMap(\.spectralRadius), fro = studies.flatMap(\.frobeniusSquared)
            let exactRho = studies.compactMap(\.exactSpectralRadius).flatMap { $0 }
            let exactFro = studies.compactMap(\.exactFrobeniusSquared).flatMap { $0 }
            var rhoError = "–", froError = "–"
            if exactRho.count == rho.count, !rho.isEmpty {
                rhoError = String(format: "%.1e", zip(rho, exactRho).map { abs($0 - $1) / max($1, .leastNormalMagnitude) }.max() ?? .nan)
            }
            let se = studies.flatMap(\.frobeniusStandardError)
            if exactFro.count == fro.count, !fro.isEmpty {
                froError = String(format: "%.2f", zip(zip(fro, exactFro), se).map { pair, s in abs(pair.0 - pair.1) / max(s, .leastNormalMagnitude) }.max() ?? .nan)
            }
            let converged = studies.flatMap(\.spectralRadiusConverged)
            let nfe = found.flatMap { $0.0.samples.map { Double($0.nfe) } }
            md += "| \(point.cell.label) | \(point.solver.label) | \(String(format: "%.4f", mean(rho))) | "
            md += (exactRho.isEmpty ? "–" : String(format: "%.4f", mean(exactRho))) + " | \(rhoError) | "
            md += "\(converged.filter { $0 }.count)/\(converged.count) | \(String(format: "%.4g", mean(fro))) | "
            md += (exactFro.isEmpty ? "–" : String(format: "%.4g", mean(exactFro))) + " | \(froError) | "
            md += "\(formatCompact(Statistics.median(nfe))) |\n"
        }
        md += "\nPer-sample values: `jacobian/samples.tsv`; pictures: `jacobian/estimates.png`, `jacobian/nfe.png`.\n"
        return md
    }

    func writeJacobian(records: [String: PointRecord], grid: [GridPoint]) throws -> [URL] {
        let folder = directory.appendingPathComponent("jacobian")
        let points = grid.filter { $0.initializationIndex == 0 }.compactMap { p in records[p.id].flatMap { r in r.jacobian.map { (p, r, $0) } } }
        guard !points.isEmpty else { return [] }
        var tsv = "cell\tsolver\trepeat\tsample\trho_power\trho_power_converged\trho_exact\tfrobenius2_hutchinson\tfrobenius2_se\tfrobenius2_exact\tnfe\tconverged\n"
        for (point, record, study) in points {
            for i in study.spectralRadius.indices {
                let fields = [
                    point.cell.label, point.solver.label, String(point.repeatIndex), String(i),
                    String(format: "%.10f", study.spectralRadius[i]), String(study.spectralRadiusConverged[i]),
                    study.exactSpectralRadius.map { String(format: "%.10f", $0[i]) } ?? "",
                    String(format: "%.8e", study.frobeniusSquared[i]), String(format: "%.3e", study.frobeniusStandardError[i]),
                    study.exactFrobeniusSquared.map { String(format: "%.8e", $0[i]) } ?? "",
                    String(record.samples[i].nfe), String(record.samples[i].converged),
                ]
                tsv += fields.joined(separator: "\t") + "\n"
            }
        }
        try AtomicFile.write(tsv, creatingFoldersFor: folder.appendingPathComponent("samples.tsv"))

        // One block per solver: every sample of every cell and repeat.
        let solvers = spec.solverConfigurations
        var dat = "# Jacobian diagnostics per sample; one index block per forward solver.\n"
        dat += "# columns: rho_power rho_exact frobenius2_hutchinson frobenius2_se frobenius2_exact nfe (nan when absent)\n"
        for (index, solver) in solvers.enumerated() {
            if index > 0 { dat += "\n\n" }
            dat += "# \(solver.label)\n"
            var any = false
            for (point, record, study) in points where point.solver.index == solver.index {
                for i in study.spectralRadius.indices {
                    any = true
                    let exactRho = study.exactSpectralRadius?[i] ?? .nan, exactFro = study.exactFrobeniusSquared?[i] ?? .nan
                    dat += [study.spectralRadius[i], exactRho, study.frobeniusSquared[i], study.frobeniusStandardError[i], exactFro,
                            Double(record.samples[i].nfe)].map { String(format: "%.8e", $0) }.joined(separator: " ") + "\n"
                }
            }
            if !any { dat += "nan nan nan nan nan nan\n" }
        }
        try AtomicFile.write(dat, creatingFoldersFor: folder.appendingPathComponent("samples.dat"))
        let hasExact = points.contains { $0.2.exactSpectralRadius != nil }
        var scripts: [URL] = []
        if hasExact {
            var gp = "# Power-iteration ρ(J) and Hutchinson ‖J‖_F² against the exact values (dense J, LAPACK).\n"
            gp += Gnuplot.preamble(output: "estimates", width: 1200, height: 540) + "\n"
            gp += "set multiplot layout 1,2 title \(Gnuplot.quoted("\(spec.name): Jacobian estimates against exact values"))\n"
            gp += "set key top left font \",9\"\n"
            gp += "set xlabel \"exact ρ(J)\"\nset ylabel \"power-iteration ρ(J)\"\n"
            gp += "plot \"samples.dat\" using 2:1 with points pt 7 ps 0.8 title \"samples\", x with lines dt 2 lc rgb \"gray40\" title \"y = x\"\n"
            gp += "set logscale xy\nset xlabel \"exact ‖J‖_F²\"\nset ylabel \"Hutchinson ‖J‖_F² (± 2 s.e.)\"\n"
            gp += "plot \"samples.dat\" using 5:3:(2*$4) with yerrorbars pt 7 ps 0.6 title \"samples, M = \(spec.jacobianOptions.probes)\", x with lines dt 2 lc rgb \"gray40\" title \"y = x\"\n"
            gp += "unset multiplot\n"
            let script = folder.appendingPathComponent("estimates.gp")
            try AtomicFile.write(gp, creatingFoldersFor: script)
            scripts.append(script)
        }
        // Forward cost against ρ(J) and ‖J‖_F (exact values when present, else the estimates).
        let rhoColumn = hasExact ? "2" : "1", froColumn = hasExact ? "(sqrt($5))" : "(sqrt($3))"
        var gp = "# Forward solver evaluations against ρ(J) and ‖J‖_F at the fixed point, per sample.\n"
        gp += Gnuplot.preamble(output: "nfe", width: 1200, height: 540) + "\n"
        gp += "set multiplot layout 1,2 title \(Gnuplot.quoted("\(spec.name): forward cost against the Jacobian at z*"))\n"
        gp += "set logscale y\nset ylabel \"forward f evaluations (nfe)\"\nset key top left font \",9\"\n"
        gp += "set xlabel \"ρ(J)\(hasExact ? "" : " (power estimate)")\"\n"
        gp += "plot " + solvers.enumerated().map { index, solver in
            "\"samples.dat\" index \(index) using \(rhoColumn):6 with points pt 7 ps 0.8 title \(Gnuplot.quoted(solver.label))"
        }.joined(separator: ", \\\n     ") + "\n"
        gp += "set logscale x\nset xlabel \"‖J‖_F\(hasExact ? "" : " (Hutchinson)")\"\n"
        gp += "plot " + solvers.enumerated().map { index, solver in
            "\"samples.dat\" index \(index) using \(froColumn):6 with points pt 7 ps 0.8 title \(Gnuplot.quoted(solver.label))"
        }.joined(separator: ", \\\n     ") + "\n"
        gp += "unset multiplot\n"
        let nfeScript = folder.appendingPathComponent("nfe.gp")
        try AtomicFile.write(gp, creatingFoldersFor: nfeScript)
        scripts.append(nfeScript)
        return scripts
    }
}
