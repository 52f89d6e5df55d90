import Equilibrium
import Foundation

/// Rebuilds a results folder's tables, curves and pictures from its point files.
///
/// Used after a run, after `deq merge`, and by `deq plot`. Everything it writes derives from
/// `points/*.json` and the spec, so a merged set of shards gives the same files as one run
/// (times aside).
public struct ResultsWriter {
    public var spec: ExperimentSpec
    public var directory: URL
    public var renderPictures: Bool

    public init(spec: ExperimentSpec, directory: URL, renderPictures: Bool = true) {
        self.spec = spec
        self.directory = directory
        self.renderPictures = renderPictures
    }

    public struct Summary: Sendable {
        public var pointsPresent: Int
        public var pointsTotal: Int
        public var complete: Bool { pointsPresent == pointsTotal }
        /// The gnuplot scripts written (rendered when gnuplot is there).
        public var scripts: [URL]
        /// Why pictures were not rendered, if they were not.
        public var renderingNote: String?
    }

    /// The point files present, keyed by grid id.
    public func records() -> [String: PointRecord] {
        let folder = directory.appendingPathComponent("points")
        let files = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        var result: [String: PointRecord] = [:]
        for file in files where file.pathExtension == "json" && !file.lastPathComponent.hasPrefix(".") {
            if let record = PointRecord.read(from: file) { result[record.id] = record }
        }
        return result
    }

    @discardableResult
    public func writeAll() throws -> Summary {
        let records = records()
        let grid = spec.grid
        let present = grid.filter { records[$0.id] != nil }.count
        var scripts: [URL] = []
        try writeSummary(records: records, grid: grid, present: present)
        if spec.measurements.contains(.convergence) {
            scripts += try writeCurves(records: records, grid: grid)
        }
        if spec.measurements.contains(.pathIndependence) {
            scripts += try writePathIndependence(records: records, grid: grid)
        }
        if spec.measurements.contains(.gradients) {
            scripts += try writeGradients(records: records, grid: grid)
        }
        if spec.measurements.contains(.jacobianDiagnostics) {
            scripts += try writeJacobian(records: records, grid: grid)
        }
        var note: String?
        if renderPictures && !scripts.isEmpty {
            if Gnuplot.isAvailable {
                try Gnuplot.render(scripts, format: .png)
            } else {
                note = Gnuplot.Missing().description
            }
        }
        return Summary(pointsPresent: present, pointsTotal: grid.count, scripts: scripts, renderingNote: note)
    }

    // MARK: Summary tables

    struct Row {
        var cell: String
        var solver: String
        var initialization: String
        var samples: Int
        var converged: Int
        var nfe: [Int]
        /// Analytic J·v and vᵀJ products per sample.
        var products: [Int]
        var wall: [Double]
        var residual: [Double]
    }

    func rows(records: [String: PointRecord], grid: [GridPoint]) -> [Row] {
        var order: [String] = []
        var rows: [String: Row] = [:]
        let rel = spec.stopping.measure == .relative
        for point in grid {
            let key = "\(point.cell.index)-\(point.solver.index)-\(point.initializationIndex)"
            if rows[key] == nil {
                order.append(key)
                rows[key] = Row(cell: point.cell.label, solver: point.solver.label, initialization: point.initialization.label,
                                samples: 0, converged: 0, nfe: [], products: [], wall: [], residual: [])
            }
            guard let record = records[point.id] else { continue }
            rows[key]?.samples += record.samples.count
            rows[key]?.converged += record.samples.filter(\.converged).count
            rows[key]?.nfe += record.samples.map(\.nfe)
            rows[key]?.products += record.samples.map { $0.jvp + $0.vjp }
            rows[key]?.wall.append(record.wallSeconds)
            rows[key]?.residual += record.samples.map { rel ? $0.relResidual : $0.absResidual }
        }
        return order.compactMap { rows[$0] }
    }

    func writeSummary(records: [String: PointRecord], grid: [GridPoint], present: Int) throws {
        let rows = rows(records: records, grid: grid)
        let measure = spec.stopping.measure == .relative ? "relative" : "absolute"
        var md = "# \(spec.name)\n\n"
        if !spec.description.isEmpty { md += "\(spec.description)\n\n" }
        if present < grid.count {
            md += "**INCOMPLETE: \(present) of \(grid.count) grid points present.** Rerun to resume, or merge the other shards.\n\n"
        } else {
            md += "Complete: \(grid.count) grid points.\n\n"
        }
        md += "Stopping: \(measure) residual ≤ \(formatCompact(spec.stopping.tolerance)), at most \(spec.stopping.maxIterations) iterations"
        md += spec.stopping.maxEvaluations.map { ", \($0) evaluations" } ?? ""
        md += "; seed \(spec.seed), \(spec.repeats) repeat\(spec.repeats == 1 ? "" : "s").\n\n"
        if let line = provenanceLine() { md += line + "\n\n" }
        md += "Every row pools the samples of all \(spec.repeats) repeat\(spec.repeats == 1 ? "" : "s") (independent cell draws): converged samples / samples, nfe over every sample; wall time per batch solve, median [min–max] over the n repeats.\n\n"
        md += "| cell | solver | start | n | converged | nfe median [min–max] | J·v, vᵀJ median | wall median [min–max] | final residual (max) |\n"
        md += "|---|---|---|---|---|---|---|---|---|\n"
        var tsv = "cell\tsolver\tinit\tsamples\tconverged_fraction\tnfe_median\tnfe_min\tnfe_max\twall_median_s\tresidual_median\tresidual_max\tproducts_median\n"
        for row in rows {
            guard row.samples > 0 else {
                md += "| \(row.cell) | \(row.solver) | \(row.initialization) | 0 | (missing) | | | | |\n"
                continue
            }
            let fraction = Double(row.converged) / Double(row.samples)
            let nfe = row.nfe.sorted()
            let nfeMedian = Statistics.median(nfe.map(Double.init))
            let wall = Statistics.median(row.wall)
            let residualMax = row.residual.max() ?? .nan
            md += "| \(row.cell) | \(row.solver) | \(row.initialization) | \(row.wall.count) | \(row.converged)/\(row.samples) | "
            let products = Statistics.median(row.products.map(Double.init))
            md += "\(formatCompact(nfeMedian)) [\(nfe.first ?? 0)–\(nfe.last ?? 0)] | \(formatCompact(products)) | \(Statistics.seconds(wall))\(row.wall.count > 1 ? " [\(Statistics.seconds(row.wall.min() ?? .nan))–\(Statistics.seconds(row.wall.max() ?? .nan))]" : "") | "
            md += "\(String(format: "%.2e", residualMax)) |\n"
            tsv += [row.cell, row.solver, row.initialization, String(row.samples), String(format: "%.4f", fraction),
                    formatCompact(nfeMedian), String(nfe.first ?? 0), String(nfe.last ?? 0), String(format: "%.6f", wall),
                    String(format: "%.6e", Statistics.median(row.residual)), String(format: "%.6e", residualMax),
                    formatCompact(products)]
                .joined(separator: "\t") + "\n"
        }
        if spec.measurements.contains(.pathIndependence) {
            md += try pathIndependenceTable(records: records, grid: grid)
        }
        if spec.measurements.contains(.gradients) {
            md += try gradientTable(records: records, grid: grid)
        }
        if spec.measurements.contains(.jacobianDiagnostics) {
            md += jacobianTable(records: records, grid: grid)
        }
        if spec.measurements.contains(.convergence) {
            md += "\nResidual curves: `curves/` (`.dat` for gnuplot, `.gp` scripts, pictures).\n"
        }
        try AtomicFile.write(md, creatingFoldersFor: directory.appendingPathComponent("summary.md"))
        try AtomicFile.write(tsv, creatingFoldersFor: directory.appendingPathComponent("summary.tsv"))
    }

    /// "Provenance: commit …, clean/DIRTY, release build; `command`" from `manifest.json`
    /// (a merged folder names its shards' commits).
    func provenanceLine() -> String? {
        guard let manifest = RunManifest.read(from: directory) else { return nil }
        func describe(_ p: Provenance) -> String {
            let commit = p.gitCommit.map { String($0.prefix(12)) } ?? "unknown commit"
            let state = p.dirty.map { $0 ? "DIRTY tree (\(p.dirtyFiles?.count ?? 0) tracked files changed)" : "clean tree" } ?? "tree state unknown"
            return "\(commit), \(state), \(p.buildConfiguration) build"
        }
        var runs = (manifest.earlierRuns ?? []) + (manifest.sources ?? []).flatMap { ($0.earlierRuns ?? []) + ($0.provenance.map { [$0] } ?? []) }
        if manifest.sources == nil, let p = manifest.provenance { runs.append(p) }
        guard !runs.isEmpty else { return nil }
        var seen = Set<String>()
        let described = runs.map(describe).filter { seen.insert($0).inserted }
        var line = "Provenance: points written by " + described.joined(separator: "; ")
        if let last = runs.last { line += "; command `\(last.command)`" }
        return line + " (`manifest.json`)."
    }

    // MARK: Curves

    func writeCurves(records: [String: PointRecord], grid: [GridPoint]) throws -> [URL] {
        let folder = directory.appendingPathComponent("curves")
        var scripts: [URL] = []
        let cells = spec.cellConfigurations
        let rel = spec.stopping.measure == .relative
        for cell in cells {
            let points = grid.filter { $0.cell.index == cell.index && $0.repeatIndex == 0 && $0.initializationIndex == 0 }
            let present = points.compactMap { point in records[point.id].map { (point, $0) } }
            guard !present.isEmpty else { continue }
            let stem = String(format: "c%03d", cell.index)
            var dat = "# Residual curves: \(cell.label) (seed \(points[0].cellSeed), start \(points[0].initialization.label))\n"
            dat += "# One index block per solver; each block is the batch's slowest sample (most f evaluations),\n"
            dat += "# thinned to at most \(PointRecord.maxCurvePoints) rows when longer (every k-th row, first and last kept).\n"
            dat += "# columns: iteration nfe seconds abs_residual rel_residual\n"
            for (blockIndex, (point, _)) in present.enumerated() {
                dat += "# block \(blockIndex): \(point.solver.label)\n"
            }
            for (blockIndex, (point, record)) in present.enumerated() {
                if blockIndex > 0 { dat += "\n\n" }
                guard let curve = record.curve else { continue }
                dat += "# \(point.solver.label): sample \(curve.sample), \(curve.length) iterates"
                dat += curve.stride > 1 ? ", every \(curve.stride)th kept\n" : "\n"
                let h = curve.history
                for k in 0..<h.nfe.count {
                    dat += "\(h.iteration[k]) \(h.nfe[k]) \(String(format: "%.6e", h.seconds[k])) "
                    dat += "\(String(format: "%.6e", h.absResidual[k])) \(String(format: "%.6e", h.relResidual[k]))\n"
                }
            }
            try AtomicFile.write(dat, creatingFoldersFor: folder.appendingPathComponent("\(stem).dat"))

            let column = rel ? 5 : 4
            let yLabel = rel ? "relative residual ‖f(z)−z‖/‖f(z)‖" : "absolute residual ‖f(z)−z‖"
            var gp = "# Residual against iterations, evaluations and time for \(cell.label).\n"
            gp += "# Render: gnuplot -e \"fmt='svg'\" \(stem).gp   (png by default)\n"
            // Few curves: a legend in each panel. Many: one legend outside, right of the last
            // panel, and dash patterns so that the 8 colours of a cycle stay distinguishable.
            let many = present.count > 6
            gp += Gnuplot.preamble(output: stem, width: many ? 1800 : 1500, height: many ? 560 : 460) + "\n"
            gp += "set logscale y\nset format y \"10^{%L}\"\n"
            gp += "set ylabel \(Gnuplot.quoted(yLabel))\n"
            gp += "set multiplot layout 1,3 title \(Gnuplot.quoted("\(spec.name): \(cell.label)"))\n"
            for (panel, (x, xLabel)) in [(1, "iteration"), (2, "f evaluations (nfe)"), (3, "seconds")].enumerated() {
                if many {
                    gp += panel == 2 ? "set key outside right top font \",8\"\n" : "unset key\n"
                } else {
                    gp += "set key top right font \",9\"\n"
                }
                gp += "set xlabel \(Gnuplot.quoted(xLabel))\n"
                let plots = present.enumerated().map { blockIndex, pair in
                    "\"\(stem).dat\" index \(blockIndex) using \(x):\(column) with lines lw 2 lc \(blockIndex % 8 + 1) dt \(blockIndex / 8 + 1) title \(Gnuplot.quoted(pair.0.solver.label))"
                }
                gp += "plot " + plots.joined(separator: ", \\\n     ")
                gp += ", \\\n     \(formatCompact(spec.stopping.tolerance)) with lines dt 2 lc rgb \"gray40\" title \"tol\"\n"
            }
            gp += "unset multiplot\n"
            let script = folder.appendingPathComponent("\(stem).gp")
            try AtomicFile.write(gp, creatingFoldersFor: script)
            scripts.append(script)
        }
        return scripts
    }

    // MARK: Path independence

    /// The AA measurement of one cell × solver over the repeats (default start).
    struct AlignmentGroup {
        var point: GridPoint
        var records: [(repeatIndex: Int, alignment: PointRecord.Alignment)]
    }

    func alignmentGroups(records: [String: PointRecord], grid: [GridPoint]) -> [AlignmentGroup] {
        var order: [String] = []
        var groups: [String: AlignmentGroup] = [:]
        for point in grid where point.initializationIndex == 0 {
            let key = "\(point.cell.index)-\(point.solver.index)"
            guard let alignment = records[point.id]?.pathIndependence else { continue }
            if groups[key] == nil {
                order.append(key)
                groups[key] = AlignmentGroup(point: point, records: [])
            }
            groups[key]?.records.append((point.repeatIndex, alignment))
        }
        return order.compactMap { groups[$0] }
    }

    /// AA of one measurement with the spec's pair policy: over all pairs (the authors'
    /// definition) or the off-diagonal ones, over every pair or, with
    /// `path-independence.exclude-non-converged`, over the converged ones only.
    func aa(_ alignment: PointRecord.Alignment, _ pairs: PathIndependence.Pairs) -> Double {
        if let matrix = alignment.pairs {
            return matrix.alignment.score(over: pairs, convergedOnly: spec.pathIndependence.excludeNonConverged)
        }
        return pairs == .all ? alignment.score : (alignment.offDiagonalScore ?? .nan)
    }

    func aa(_ budget: PointRecord.Budget, _ pairs: PathIndependence.Pairs) -> Double {
        if let matrix = budget.pairs {
            return matrix.alignment.score(over: pairs, convergedOnly: spec.pathIndependence.excludeNonConverged)
        }
        return pairs == .all ? budget.score : (budget.offDiagonalScore ?? .nan)
    }

    func pathIndependenceTable(records: [String: PointRecord], grid: [GridPoint]) throws -> String {
        var md = "\n## Path independence\n\n"
        let exclude = spec.pathIndependence.excludeNonConverged
        md += "AA = (1/B²) Σᵢⱼ cos(zᵢ, z_{i|j}) over all B² pairs, i = j included (Anil et al. 2022, §4, and the authors' code; "
        md += "docs/EXPERIMENTS.md, \"Path independence\"): re-solve input i from input j's fixed point. "
        md += "AA off-diag. averages the B(B − 1) pairs i ≠ j (the diagonal pairs score 1 and add (1 − AA_off)/B to AA). "
        md += "Converged = the fraction of the B² re-solves that met the tolerance; "
        md += exclude ? "**non-converged pairs are excluded** from both AA columns (`exclude-non-converged: true`). "
                      : "non-converged pairs are included (their last iterate) and the row is flagged ⚠; `exclude-non-converged: true` drops them. "
        md += "Each cell: median [min–max] over the n repeats (independent cell draws).\n\n"
        let groups = alignmentGroups(records: records, grid: grid)
        let otherStarts = spec.initializations.dropFirst().map(\.label)
        md += "| cell | solver | n | AA (all pairs) | AA off-diag. | converged re-solves | min per-example | "
        md += otherStarts.map { "cos vs \($0)" }.joined(separator: " | ") + (otherStarts.isEmpty ? "" : " |") + "\n"
        md += "|---|---|---|---|---|---|---|" + String(repeating: "---|", count: otherStarts.count) + "\n"
        for group in groups {
            let a = group.records.map(\.alignment)
            let flagged = a.filter { $0.convergedFraction < 1 }.count
            var line = "| \(group.point.cell.label) | \(group.point.solver.label) | \(a.count) | "
            line += Statistics.spread(a.map { aa($0, .all) }, "%.4f") + " | " + Statistics.spread(a.map { aa($0, .offDiagonal) }, "%.4f") + " | "
            line += Statistics.spread(a.map(\.convergedFraction), "%.3f")
            if flagged > 0 { line += " ⚠ \(flagged)/\(a.count)" }
            line += " | " + Statistics.spread(a.map { $0.perExample.min() ?? .nan }, "%.4f") + " | "
            for index in otherStarts.indices {
                line += Statistics.spread(a.map { $0.starts.count > index ? $0.starts[index].meanCosine : .nan }, "%.4f") + " | "
            }
            md += line + "\n"
        }
        let budgets = spec.pathIndependence.budgets
        if !budgets.isEmpty {
            md += "\nAA (all pairs) with the iteration budget capped (forward solve and re-solves), median [min–max] over the repeats; "
            md += "at a small budget few re-solves converge by construction (`path-independence/aa-budget.dat` has the converged fractions).\n\n"
            md += "| cell | solver | n | " + budgets.map { "AA@\($0)" }.joined(separator: " | ") + " |\n"
            md += "|---|---|---|" + String(repeating: "---|", count: budgets.count) + "\n"
            for group in groups {
                let a = group.records.map(\.alignment)
                md += "| \(group.point.cell.label) | \(group.point.solver.label) | \(a.count) | "
                md += budgets.map { b in
                    Statistics.spread(a.compactMap { $0.budgets.first { $0.budget == b } }.map { aa($0, .all) }, "%.3f")
                }.joined(separator: " | ") + " |\n"
            }
        }
        var tsv = "cell\tsolver\trepeat\texample\taa\n"
        var pairs = "cell\tsolver\trepeat\ti\tj\tcosine\tconverged\n"
        for group in groups {
            for (repeatIndex, alignment) in group.records {
                for (i, score) in alignment.perExample.enumerated() {
                    tsv += "\(group.point.cell.label)\t\(group.point.solver.label)\t\(repeatIndex)\t\(i)\t\(String(format: "%.8f", score))\n"
                }
                guard let matrix = alignment.pairs else { continue }
                for i in 0..<matrix.batchSize {
                    for j in 0..<matrix.batchSize {
                        let k = i * matrix.batchSize + j
                        pairs += "\(group.point.cell.label)\t\(group.point.solver.label)\t\(repeatIndex)\t\(i)\t\(j)\t"
                        pairs += "\(String(format: "%.8f", matrix.cosines[k]))\t\(matrix.converged[k] ? 1 : 0)\n"
                    }
                }
            }
        }
        try AtomicFile.write(tsv, creatingFoldersFor: directory.appendingPathComponent("path-independence/per-example.tsv"))
        try AtomicFile.write(pairs, creatingFoldersFor: directory.appendingPathComponent("path-independence/pairs.tsv"))
        return md
    }

    func writePathIndependence(records: [String: PointRecord], grid: [GridPoint]) throws -> [URL] {
        let folder = directory.appendingPathComponent("path-independence")
        let groups = alignmentGroups(records: records, grid: grid)
        guard !groups.isEmpty else { return [] }
        // AA against the iteration budget: one block per cell × solver, spread over repeats.
        var curve = "# AA score (all pairs\(spec.pathIndependence.excludeNonConverged ? ", converged pairs only" : "")) against the iteration budget; one index block per cell and solver.\n"
        curve += "# Over the repeats: median, min, max of AA; median of AA off-diagonal; median converged fraction of the re-solves; n.\n"
        curve += "# columns: budget aa_median aa_min aa_max aa_offdiag_median converged_fraction_median n\n"
        for (index, group) in groups.enumerated() { curve += "# block \(index): \(group.point.cell.label) · \(group.point.solver.label)\n" }
        for (index, group) in groups.enumerated() {
            if index > 0 { curve += "\n\n" }
            curve += "# \(group.point.cell.label) · \(group.point.solver.label)\n"
            for budget in spec.pathIndependence.budgets {
                let at = group.records.compactMap { $0.alignment.budgets.first { $0.budget == budget } }
                guard !at.isEmpty else { continue }
                let values = at.map { aa($0, .all) }.filter { !$0.isNaN }
                curve += "\(budget) " + [Statistics.median(values), values.min() ?? .nan, values.max() ?? .nan,
                                         Statistics.median(at.map { aa($0, .offDiagonal) }),
                                         Statistics.median(at.compactMap(\.convergedFraction))]
                    .map { String(format: "%.8f", $0) }.joined(separator: " ") + " \(at.count)\n"
            }
        }
        try AtomicFile.write(curve, creatingFoldersFor: folder.appendingPathComponent("aa-budget.dat"))
        var gp = "# AA score against the iteration budget: median over repeats, bars from min to max.\n"
        gp += Gnuplot.preamble(output: "aa-budget", width: 1200, height: 560) + "\n"
        gp += "set logscale x\nset xlabel \"iteration budget\"\nset ylabel \"AA score (all pairs; bars: min–max over repeats)\"\nset key outside right top font \",9\"\n"
        gp += "set title \(Gnuplot.quoted("\(spec.name): asymptotic alignment against budget (n = \(spec.repeats) repeats)"))\n"
        gp += "plot " + groups.enumerated().map { index, group in
            "\"aa-budget.dat\" index \(index) using 1:2:3:4 with yerrorlines lw 2 lc \(index % 8 + 1) dt \(index / 8 + 1) title \(Gnuplot.quoted("\(group.point.cell.label) · \(group.point.solver.label)"))"
        }.joined(separator: ", \\\n     ") + "\n"
        let budgetScript = folder.appendingPathComponent("aa-budget.gp")
        try AtomicFile.write(gp, creatingFoldersFor: budgetScript)

        // Histogram of per-example AA scores (all repeats), one block per cell × solver.
        let bins = 20
        var hist = "# Histogram of per-example AA scores over [lo, 1], every repeat; one index block per cell and solver.\n"
        hist += "# columns: bin_center count\n"
        let all = groups.flatMap { $0.records.flatMap(\.alignment.perExample) }
        let lo = min(0, (all.min() ?? 0).rounded(.down))
        let width = (1 - lo) / Double(bins)
        for (index, group) in groups.enumerated() {
            if index > 0 { hist += "\n\n" }
            hist += "# \(group.point.cell.label) · \(group.point.solver.label)\n"
            var counts = [Int](repeating: 0, count: bins)
            for s in group.records.flatMap(\.alignment.perExample) { counts[min(bins - 1, max(0, Int((s - lo) / width)))] += 1 }
            for b in 0..<bins { hist += "\(String(format: "%.4f", lo + (Double(b) + 0.5) * width)) \(counts[b])\n" }
        }
        try AtomicFile.write(hist, creatingFoldersFor: folder.appendingPathComponent("aa-histogram.dat"))
        var hgp = "# Histogram of per-example AA scores (every repeat).\n"
        hgp += Gnuplot.preamble(output: "aa-histogram", width: 1200, height: 560) + "\n"
        hgp += "set style fill transparent solid 0.5\nset boxwidth \(String(format: "%.4f", width * 0.9))\n"
        hgp += "set xlabel \"per-example AA score\"\nset ylabel \"examples (all repeats)\"\nset key outside right top font \",9\"\n"
        hgp += "set xrange [\(formatCompact(lo)):1.02]\n"
        hgp += "set title \(Gnuplot.quoted("\(spec.name): per-example asymptotic alignment"))\n"
        hgp += "plot " + groups.enumerated().map { index, group in
            "\"aa-histogram.dat\" index \(index) using 1:2 with boxes title \(Gnuplot.quoted("\(group.point.cell.label) · \(group.point.solver.label)"))"
        }.joined(separator: ", \\\n     ") + "\n"
        let histogramScript = folder.appendingPathComponent("aa-histogram.gp")
        try AtomicFile.write(hgp, creatingFoldersFor: histogramScript)
        return [budgetScript, histogramScript]
    }
}

/// Small statistics for tables.
enum Statistics {
    static func median(_ values: [Double]) -> Double { VectorComparison.median(values) }

    /// "median [min–max]" of the values that are not NaN (one value: just it; none: "–").
    static func spread(_ values: [Double], _ format: String) -> String {
        let kept = values.filter { !$0.isNaN }
        guard let lo = kept.min(), let hi = kept.max() else { return "–" }
        let m = String(format: format, median(kept))
        return kept.count == 1 ? m : "\(m) [\(String(format: format, lo))–\(String(format: format, hi))]"
    }

    static func seconds(_ value: Double) -> String {
        if value.isNaN { return "–" }
        if value < 1e-3 { return String(format: "%.0f µs", value * 1e6) }
        if value < 1 { return String(format: "%.1f ms", value * 1e3) }
        return String(format: "%.2f s", value)
    }
}
