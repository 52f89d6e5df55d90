import Equilibrium
import Foundation

/// The figures that README.md and docs quote, generated from `Results/`, so that a figure cannot
/// drift from its data (`deq report` rewrites them; `deq report --check` and ReportTests fail
/// when a quoted block differs from what `Results/` gives).
///
/// A quoted block in a Markdown file is delimited by
///
///     <!-- results:NAME -->
///     … generated text …
///     <!-- /results:NAME -->
///
/// and NAME is one of ``ResultsReport/blockNames``. Everything between the markers is replaced;
/// the prose around them must not repeat the figures.
public enum ResultsReport {
    /// The blocks and the results folder each reads.
    public static let blocks: [(name: String, folder: String, make: @Sendable (Folder) throws -> String)] = [
        ("quickstart-hard", "quickstart", quickstartHard),
        ("convergence-generic", "convergence", convergenceGeneric),
        ("convergence-hard", "convergence", convergenceHard),
        ("path-independence", "path-independence", pathIndependence),
        ("path-independence-budget", "path-independence", pathIndependenceBudget),
        ("phantom-gradient-lambda", "phantom-gradient", phantomLambda),
        ("phantom-gradient-jfb", "phantom-gradient", phantomJFB),
        ("phantom-gradient-matched", "phantom-gradient", phantomMatched),
    ]

    /// Blocks copied from a results folder that has no grid (training), with the folder's
    /// provenance: when `heading` is a Markdown heading (`## …`), the whole section under it in
    /// `Results/FOLDER/summary.md` (up to the next heading or picture); otherwise the table that
    /// follows the line starting with `heading`.
    public static let summaryBlocks: [(name: String, folder: String, heading: String)] = [
        ("phantom-training-seeds", "phantom-training", "Over seeds"),
        ("exact-gradient-failure-seeds", "exact-gradient-failure", "Over seeds"),
        ("upward-generalization-accuracy", "upward-generalization", "## Accuracy on longer strings"),
        ("upward-generalization-path-independence", "upward-generalization", "## Path independence"),
        ("upward-generalization-claims", "upward-generalization", "## Claims"),
        ("digits-accuracy", "digits-solvers", "## Test accuracy after training"),
        ("digits-solvers-claim", "digits-solvers", "## Claim"),
        ("digits-reuse", "digits-reuse", "Model:"),
        ("digits-reuse-claims", "digits-reuse", "## Claims"),
        ("digits-gradients", "digits-gradients", "Model:"),
        ("digits-gradients-claims", "digits-gradients", "## Claims"),
        ("digits-jacobian-reg", "digits-jacobian-reg", "Model:"),
        ("digits-jacobian-reg-claims", "digits-jacobian-reg", "## Claims"),
        ("digits-gradient-agreement", "digits-gradient-agreement", "## Over all checkpoints"),
        ("digits-gradient-agreement-claims", "digits-gradient-agreement", "## Claims"),
        ("digits-adjoint-tolerance", "digits-adjoint-tolerance", "Model:"),
        ("digits-adjoint-tolerance-claims", "digits-adjoint-tolerance", "## Claims"),
        ("input-optimization-digits", "input-optimization-digits", "| level"),
        ("input-optimization-inpainting", "input-optimization-inpainting", "**Result**"),
    ]

    public static var blockNames: [String] { blocks.map(\.name) + summaryBlocks.map(\.name) }

    /// The table after `heading` in `folder/summary.md`, and where it comes from.
    static func summaryTable(_ folder: URL, heading: String) throws -> String {
        let file = folder.appendingPathComponent("summary.md")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ExperimentError(file: file.path, line: nil, message: "cannot read the summary a quoted block comes from")
        }
        let lines = text.components(separatedBy: "\n")
        let quoted: ArraySlice<String>
        if heading.hasPrefix("#") {
            guard let start = lines.firstIndex(where: { $0 == heading || $0.hasPrefix(heading) }) else {
                throw ExperimentError(file: file.path, line: nil, message: "no section headed '\(heading)'")
            }
            let section = lines[(start + 1)...].prefix { !$0.hasPrefix("#") && !$0.hasPrefix("![") }
            quoted = section.drop { $0.trimmingCharacters(in: .whitespaces).isEmpty }
        } else {
            guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }),
                  let first = lines[start...].firstIndex(where: { $0.hasPrefix("|") }) else {
                throw ExperimentError(file: file.path, line: nil, message: "no table after a line starting with '\(heading)'")
            }
            quoted = lines[first...].prefix { $0.hasPrefix("|") }
        }
        let table = quoted
        let provenance = Provenance.read(from: folder)
        let commit = provenance?.gitCommit.map { "commit \($0.prefix(12))\(provenance?.dirty == true ? ", uncommitted changes" : "")" } ?? "unknown commit"
        return "From `Results/\(folder.lastPathComponent)` (\(commit)):\n\n" + table.joined(separator: "\n")
    }

    /// The Markdown files that may hold blocks, relative to the checkout.
    public static let documents = ["README.md", "docs/EXPERIMENTS.md", "Benchmarks/README.md"]

    /// A results folder read once: its spec, records and grid.
    public struct Folder {
        public var name: String
        var spec: ExperimentSpec
        var records: [String: PointRecord]
        var writer: ResultsWriter

        init(_ directory: URL) throws {
            name = directory.lastPathComponent
            spec = try ResultsFolder.spec(in: directory)
            writer = ResultsWriter(spec: spec, directory: directory, renderPictures: false)
            records = writer.records()
            let missing = spec.grid.filter { records[$0.id] == nil }.count
            if missing > 0 {
                throw ExperimentError(file: directory.path, line: nil,
                                      message: "\(missing) of \(spec.grid.count) grid points missing; a quoted figure needs a complete results folder")
            }
        }

        /// "from `Results/NAME` (commit …, n = … repeats)".
        var source: String {
            let manifest = RunManifest.read(from: writer.directory)
            let commit = manifest?.provenance?.gitCommit.map { String($0.prefix(12)) } ?? "unknown commit"
            let dirty = manifest?.provenance?.dirty == true ? ", uncommitted changes" : ""
            return "`Results/\(name)`, \(spec.repeats) repeat\(spec.repeats == 1 ? "" : "s") (seeds \(spec.seed)–\(spec.seed + UInt64(spec.repeats) - 1)), commit \(commit)\(dirty)"
        }
    }

    /// A block's generated text (without markers) from the results under `resultsRoot`.
    public static func generate(_ name: String, resultsRoot: URL) throws -> String {
        guard let block = blocks.first(where: { $0.name == name }) else {
            throw ExperimentError(file: "report", line: nil, message: "unknown block '\(name)'; expected one of \(blockNames.joined(separator: ", "))")
        }
        return try block.make(try Folder(resultsRoot.appendingPathComponent(block.folder)))
    }

    /// A difference between a document's block and the results.
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var document: String
        public var block: String
        public var quoted: String
        public var generated: String
        public var description: String { "\(document): block results:\(block) differs from what Results/ gives (run deq report)" }
    }

    /// Rewrites (or with `check`, only compares) every block of every document under `root`;
    /// returns the blocks that differed. A marker without its end, or an unknown name, throws.
    @discardableResult
    public static func update(root: URL, check: Bool) throws -> [Mismatch] {
        var cache: [String: Folder] = [:]
        var mismatches: [Mismatch] = []
        for document in documents {
            let url = root.appendingPathComponent(document)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            var output = ""
            var rest = Substring(text)
            var changed = false
            while let open = rest.range(of: "<!-- results:") {
                output += rest[..<open.lowerBound]
                guard let nameEnd = rest[open.upperBound...].range(of: " -->") else {
                    throw ExperimentError(file: url.path, line: nil, message: "a '<!-- results:' marker is not closed with ' -->'")
                }
                let name = String(rest[open.upperBound..<nameEnd.lowerBound])
                let closing = "<!-- /results:\(name) -->"
                guard let close = rest[nameEnd.upperBound...].range(of: closing) else {
                    throw ExperimentError(file: url.path, line: nil, message: "block results:\(name) has no end marker; expected \(closing)")
                }
                let made: String
                if let block = blocks.first(where: { $0.name == name }) {
                    if cache[block.folder] == nil { cache[block.folder] = try Folder(root.appendingPathComponent("Results/\(block.folder)")) }
                    made = try block.make(cache[block.folder]!)
                } else if let block = summaryBlocks.first(where: { $0.name == name }) {
                    made = try summaryTable(root.appendingPathComponent("Results/\(block.folder)"), heading: block.heading)
                } else {
                    throw ExperimentError(file: url.path, line: nil, message: "unknown block 'results:\(name)'; expected one of \(blockNames.joined(separator: ", "))")
                }
                let generated = "\n" + made.trimmingCharacters(in: .newlines) + "\n"
                let quoted = String(rest[nameEnd.upperBound..<close.lowerBound])
                if quoted != generated {
                    mismatches.append(Mismatch(document: document, block: name, quoted: quoted, generated: generated))
                    changed = true
                }
                output += rest[open.lowerBound..<nameEnd.upperBound] + generated + closing
                rest = rest[close.upperBound...]
            }
            output += rest
            if changed && !check { try AtomicFile.write(output, to: url) }
        }
        return mismatches
    }

    // MARK: The blocks

    static func isSymmetric(_ point: GridPoint) -> Bool {
        if case .boolean(true)? = point.cell.assignment.dictionary["symmetric"] { return true }
        return false
    }

    static func rho(_ point: GridPoint) -> Double? { point.cell.assignment.dictionary["rho"]?.doubleValue }

    /// Samples of the points that pass `filter`, grouped by solver label in grid order.
    static func samplesBySolver(_ folder: Folder, _ filter: (GridPoint) -> Bool) -> [(solver: String, samples: [PointRecord.Sample], points: Int)] {
        var order: [String] = []
        var groups: [String: ([PointRecord.Sample], Int)] = [:]
        for point in folder.spec.grid where point.initializationIndex == 0 && filter(point) {
            guard let record = folder.records[point.id] else { continue }
            if groups[point.solver.label] == nil { order.append(point.solver.label) }
            groups[point.solver.label, default: ([], 0)].0 += record.samples
            groups[point.solver.label, default: ([], 0)].1 += 1
        }
        return order.map { ($0, groups[$0]!.0, groups[$0]!.1) }
    }

    static func nfeCell(_ samples: [PointRecord.Sample]) -> String {
        let nfe = samples.map { Double($0.nfe) }
        return "\(formatCompact(Statistics.median(nfe))) [\(formatCompact(nfe.min() ?? .nan))–\(formatCompact(nfe.max() ?? .nan))]"
    }

    static func quickstartHard(_ folder: Folder) throws -> String {
        var md = "From \(folder.source); tolerance \(formatCompact(folder.spec.stopping.tolerance)) relative; every sample of every repeat.\n\n"
        md += "| cell | solver | converged | nfe median [min–max] | J·v median |\n|---|---|---|---|---|\n"
        for cell in folder.spec.cellConfigurations {
            let point = folder.spec.grid.first { $0.cell.index == cell.index }!
            guard isSymmetric(point) else { continue }
            for group in samplesBySolver(folder, { $0.cell.index == cell.index }) {
                let products = Statistics.median(group.samples.map { Double($0.jvp + $0.vjp) })
                md += "| \(cell.label) | \(group.solver) | \(group.samples.filter(\.converged).count)/\(group.samples.count) | "
                md += "\(nfeCell(group.samples)) | \(formatCompact(products)) |\n"
            }
        }
        return md
    }

    static func convergenceTable(_ folder: Folder, _ filter: @escaping (GridPoint) -> Bool, what: String) -> String {
        let cells = folder.spec.cellConfigurations.filter { cell in folder.spec.grid.contains { $0.cell.index == cell.index && filter($0) } }
        var md = "From \(folder.source). \(what): \(cells.map(\.label).joined(separator: "; ")). "
        md += "f evaluations over every sample of every cell and repeat (n samples), relative tolerance \(formatCompact(folder.spec.stopping.tolerance)).\n\n"
        md += "| solver | converged / n | nfe median [min–max] |\n|---|---|---|\n"
        for group in samplesBySolver(folder, filter) {
            md += "| \(group.solver) | \(group.samples.filter(\.converged).count)/\(group.samples.count) | \(nfeCell(group.samples)) |\n"
        }
        return md
    }

    static func convergenceGeneric(_ folder: Folder) throws -> String {
        convergenceTable(folder, { $0.cell.family == "tanh" && !isSymmetric($0) }, what: "Generic tanh cells (non-symmetric W, unit-scale inputs)")
    }

    static func convergenceHard(_ folder: Folder) throws -> String {
        convergenceTable(folder, { $0.cell.family == "tanh" && isSymmetric($0) && (rho($0) ?? 0) < 1 },
                         what: "Hard tanh cells (symmetric W, injection 0.05, ‖W‖₂ < 1)")
    }

    static func pathIndependence(_ folder: Folder) throws -> String {
        let writer = folder.writer
        let groups = writer.alignmentGroups(records: folder.records, grid: folder.spec.grid)
        var md = "From \(folder.source); AA with the full budget (\(folder.spec.stopping.maxIterations) iterations, tolerance \(formatCompact(folder.spec.stopping.tolerance))), "
        md += "median [min–max] over the n repeats; converged = fraction of the B² re-solves that converged"
        md += folder.spec.pathIndependence.excludeNonConverged ? "; non-converged pairs excluded.\n\n" : " (all pairs counted; ⚠: some did not).\n\n"
        md += "The last column averages only the pairs whose re-solve converged, whatever the experiment's option.\n\n"
        md += "| cell | solver | n | AA (all B² pairs) | AA off-diagonal | converged | AA, converged pairs only |\n|---|---|---|---|---|---|---|\n"
        for group in groups {
            let a = group.records.map(\.alignment)
            let flag = a.contains { $0.convergedFraction < 1 } ? " ⚠" : ""
            let convergedOnly = a.compactMap { $0.pairs?.alignment.score(over: .all, convergedOnly: true) }
            md += "| \(group.point.cell.label) | \(group.point.solver.label) | \(a.count) | \(Statistics.spread(a.map { writer.aa($0, .all) }, "%.3f")) | "
            md += "\(Statistics.spread(a.map { writer.aa($0, .offDiagonal) }, "%.3f")) | \(Statistics.spread(a.map(\.convergedFraction), "%.2f"))\(flag) | "
            md += "\(Statistics.spread(convergedOnly, "%.3f")) |\n"
        }
        return md
    }

    static func pathIndependenceBudget(_ folder: Folder) throws -> String {
        let writer = folder.writer
        let budgets = folder.spec.pathIndependence.budgets
        var md = "From \(folder.source). AA (all pairs) with the forward solve and the re-solves capped at each iteration budget, median [min–max] over the n repeats (tanh cells).\n\n"
        md += "| cell | solver | n | " + budgets.map { "AA@\($0)" }.joined(separator: " | ") + " |\n"
        md += "|---|---|---|" + String(repeating: "---|", count: budgets.count) + "\n"
        for group in writer.alignmentGroups(records: folder.records, grid: folder.spec.grid) where group.point.cell.family == "tanh" {
            let a = group.records.map(\.alignment)
            md += "| \(group.point.cell.label) | \(group.point.solver.label) | \(a.count) | "
            md += budgets.map { b in Statistics.spread(a.compactMap { $0.budgets.first { $0.budget == b } }.map { writer.aa($0, .all) }, "%.2f") }
                .joined(separator: " | ") + " |\n"
        }
        return md
    }

    static func gradientStudies(_ folder: Folder, cell: Int) -> [GradientStudyRecord] {
        folder.spec.grid.filter { $0.cell.index == cell && $0.solver.index == 0 && $0.initializationIndex == 0 }
            .compactMap { folder.records[$0.id]?.gradients }
    }

    static func phantomLambda(_ folder: Folder) throws -> String {
        let options = folder.spec.gradientOptions
        let ks = options.steps.filter { [5, 20].contains($0) }
        var md = "From \(folder.source). Cosine of the unrolled phantom gradient with the exact one, median [min–max] over the n repeats; "
        md += "**bold**: the best λ by median in that cell and k.\n\n"
        md += "| cell | k | " + options.dampings.map { "λ = \(formatCompact($0))" }.joined(separator: " | ") + " | n |\n"
        md += "|---|---|" + String(repeating: "---|", count: options.dampings.count + 1) + "\n"
        for cell in folder.spec.cellConfigurations {
            let studies = gradientStudies(folder, cell: cell.index)
            guard !studies.isEmpty else { continue }
            for k in ks {
                let values = options.dampings.map { lambda in
                    studies.compactMap { $0.entries.first { $0.estimator == "phantom" && $0.k == k && $0.damping == lambda }?.cosine }
                }
                let medians = values.map(Statistics.median)
                let best = medians.indices.max { medians[$0] < medians[$1] }
                md += "| \(cell.label) | \(k) | " + values.indices.map { i in
                    let text = Statistics.spread(values[i], "%.5f")
                    return i == best ? "**\(text)**" : text
                }.joined(separator: " | ") + " | \(studies.count) |\n"
            }
        }
        return md
    }

    static func phantomMatched(_ folder: Folder) throws -> String {
        "From \(folder.source).\n" + folder.writer.matchedAccuracyTable(records: folder.records, grid: folder.spec.grid)
            .replacingOccurrences(of: "\n### Speedup at equal error\n\n", with: "\n")
    }

    static func phantomJFB(_ folder: Folder) throws -> String {
        var md = "From \(folder.source). Per cell, median [min–max] over the n repeats: the Jacobian-free gradient's cosine with the exact one, "
        md += "and the backward time of the fastest iterative exact gradient at the tightest tolerance (\(formatCompact(folder.spec.gradientOptions.backwardTolerances.min() ?? .nan))) that converged, as a ratio to the forward solve.\n\n"
        md += "| cell | n | JFB cos θ | exact backward / forward |\n|---|---|---|---|\n"
        let tightest = folder.spec.gradientOptions.backwardTolerances.min()
        for cell in folder.spec.cellConfigurations {
            let studies = gradientStudies(folder, cell: cell.index)
            guard !studies.isEmpty else { continue }
            let jfb = studies.compactMap { $0.entries.first { $0.estimator == "jfb" }?.cosine }
            let exact = studies.compactMap { study in
                study.entries.filter { $0.estimator == "implicit" && $0.backwardSolver != "lu" && $0.backwardTolerance == tightest && $0.backward?.converged == true }
                    .min { $0.seconds < $1.seconds }?.ratioToForward
            }
            md += "| \(cell.label) | \(studies.count) | \(Statistics.spread(jfb, "%.3f")) | \(Statistics.spread(exact, "%.3f")) |\n"
        }
        return md
    }
}
