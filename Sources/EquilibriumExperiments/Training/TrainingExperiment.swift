import Equilibrium
import Foundation
import Yams

/// A bundled training experiment: `Experiments/training/NAME.yaml` (a folder of its own: the
/// files in `Experiments/` are solver experiments for `deq run`) declares shared training options, the
/// runs (each a label and option overrides), what `--quick` changes, and for
/// `upward-generalization` the evaluation grid. `deq train --experiment NAME [--quick]` runs it
/// into `Results/NAME[-quick]/`: `summary.md`, `summary.tsv`, per-run logs and checkpoints,
/// gnuplot `.dat/.gp` and PNG pictures.
///
///     kind: phantom-training | upward-generalization
///     description: text
///     base: {TrainingOptions fields}        # task, cell, width, epochs, optimizer: {learningRate: …}, …
///     quick: {TrainingOptions fields}       # applied on top of base with --quick
///     runs: [{label: text, <TrainingOptions fields>}, …]
///     evaluation:                           # upward-generalization only
///       lengths: [48, 96]                   # parity test lengths
///       budgets: [40, 80, 160]              # test-time iteration budgets
///       alignmentSamples: 16                # examples of the AA score (B² re-solves)
///       alignmentLength: 48
///       alignmentBudget: 80
///
/// Option fields are ``TrainingOptions``' JSON names; an unknown one is an error naming the file.
public struct TrainingExperiment: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case phantomTraining = "phantom-training", upwardGeneralization = "upward-generalization"
        /// Solvers on the checkpoints of digits training (``runDigitsSolvers``).
        case digitsSolvers = "digits-solvers"
        /// Runs over seeds compared with claims (``runDigitsComparison``).
        case digitsComparison = "digits-comparison"
        /// Every run's gradient against the exact one on the first run's checkpoints (``runDigitsAgreement``).
        case digitsAgreement = "digits-agreement"
    }

    public struct Run: Sendable {
        public var label: String
        public var options: TrainingOptions
        public var quickOptions: TrainingOptions
    }

    public struct Evaluation: Sendable {
        public var lengths: [Int] = [48, 96]
        public var budgets: [Int] = [40, 80, 160]
        public var alignmentSamples = 16
        public var alignmentLength = 48
        public var alignmentBudget = 80
    }

    public var name: String
    public var kind: Kind
    public var description: String
    public var runs: [Run]
    public var evaluation: Evaluation
    public var quickEvaluation: Evaluation
    /// Seeds, solvers and claims of the digits kinds.
    public var digits = DigitsSettings()
    public var quickDigits = DigitsSettings()

    /// Parses and validates `file`.
    public static func load(_ file: URL) throws -> TrainingExperiment {
        let path = file.path
        // The same guarded reader as solver experiments: a regular file of at most 4 MB, UTF-8
        // (errors with the line), at most 100 000 nodes with aliases expanded, before anything
        // is built from it.
        let node: Node
        do { node = try YAMLDocument.compose(try YAMLDocument.text(of: file), file: path) } catch {
            throw TrainingError(error.description.replacingOccurrences(of: "expected a mapping with cells: and solvers:", with: "expected a mapping with kind:, base: and runs:"))
        }
        let loaded: Any? = Constructor.default.any(from: node)
        guard let root = loaded as? [String: Any] else { throw TrainingError("\(path): expected a mapping at the top level") }
        let allowed: Set<String> = ["kind", "description", "base", "quick", "runs", "evaluation", "quickEvaluation", "digits", "quickDigits"]
        if let unknown = root.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw TrainingError("\(path): unknown field '\(unknown)'; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
        guard let kindText = root["kind"] as? String, let kind = Kind(rawValue: kindText) else {
            throw TrainingError("\(path): 'kind' must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let base = try mapping(root["base"], "base", path)
        let quick = try mapping(root["quick"], "quick", path)
        guard let runList = root["runs"] as? [Any], !runList.isEmpty else {
            throw TrainingError("\(path): 'runs' must be a non-empty list of {label: …, option: value}")
        }
        var runs = [Run]()
        for (index, item) in runList.enumerated() {
            var overrides = try mapping(item, "runs[\(index)]", path)
            guard let label = overrides.removeValue(forKey: "label") as? String, !label.isEmpty else {
                throw TrainingError("\(path): runs[\(index)] needs a 'label'")
            }
            if runs.contains(where: { $0.label == label }) { throw TrainingError("\(path): run label '\(label)' appears twice") }
            var options = try makeOptions([base, overrides], "runs[\(index)] (\(label))", path)
            var quickOptions = try makeOptions([base, overrides, quick], "runs[\(index)] (\(label)) with quick", path)
            // A digits run without a data folder reads the repository's Data/digits (the
            // experiment file lives in Experiments/training/), wherever deq runs from.
            let shipped = file.absoluteURL.deletingLastPathComponent().appendingPathComponent("../../Data/digits").standardizedFileURL.path
            if options.task == .digits && options.dataDirectory == nil { options.dataDirectory = shipped }
            if quickOptions.task == .digits && quickOptions.dataDirectory == nil { quickOptions.dataDirectory = shipped }
            // An experiment needs at least one epoch per run (its curves and summary need a log).
            for (candidate, sections) in [(options, ["runs", "base"]), (quickOptions, ["quick", "runs", "base"])] where candidate.epochs < 1 {
                let line = sections.lazy.compactMap { section in epochsLine(node, section: section, run: index) }.first
                throw TrainingError("\(path)\(line.map { " line \($0)" } ?? ""): runs[\(index)] (\(label))\(sections.first == "quick" ? " with quick" : ""): epochs must be ≥ 1 in an experiment, got \(candidate.epochs)")
            }
            runs.append(Run(label: label, options: options, quickOptions: quickOptions))
        }
        let evaluation = try makeEvaluation(root["evaluation"], "evaluation", path, Evaluation())
        let quickEvaluation = try makeEvaluation(root["quickEvaluation"], "quickEvaluation", path, evaluation)
        var spec = TrainingExperiment(name: file.deletingPathExtension().lastPathComponent, kind: kind,
                                      description: root["description"] as? String ?? "", runs: runs,
                                      evaluation: evaluation, quickEvaluation: quickEvaluation)
        spec.digits = try DigitsSettings.parse(root["digits"], "digits", path, DigitsSettings())
        spec.quickDigits = try DigitsSettings.parse(root["quickDigits"], "quickDigits", path, spec.digits)
        if [.digitsSolvers, .digitsComparison, .digitsAgreement].contains(kind), let run = runs.first(where: { $0.options.task != .digits }) {
            throw TrainingError("\(path): run '\(run.label)': the \(kind.rawValue) kind needs task: digits")
        }
        return spec
    }

    /// The line of `epochs:` in the top-level `section` (`base`, `quick`) or in run `run`.
    static func epochsLine(_ root: Node, section: String, run: Int) -> Int? {
        var container: Node?
        if section == "runs" {
            if let runs = root.mapping?["runs"]?.sequence, run < runs.count { container = runs[run] }
        } else {
            container = root.mapping?[section]
        }
        guard let map = container?.mapping else { return nil }
        for (key, value) in map where key.string == "epochs" { return (value.mark ?? key.mark).map(\.line) }
        return nil
    }

    static func mapping(_ value: Any?, _ field: String, _ path: String) throws -> [String: Any] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else { throw TrainingError("\(path): '\(field)' must be a mapping of option: value") }
        return map
    }

    /// Default options overlaid by each mapping in turn (nested for `optimizer`), then decoded
    /// and validated.
    static func makeOptions(_ layers: [[String: Any]], _ field: String, _ path: String) throws -> TrainingOptions {
        // TrainingOptions encodes as a JSON object; the defaults are the base layer.
        guard var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as? [String: Any] else {
            throw TrainingError("\(path): the default training options did not encode as a JSON object")
        }
        let optimizerKeys = Set((json["optimizer"] as? [String: Any] ?? [:]).keys).union(["clipNorm"])
        let known = Set(json.keys).union(["randomBudgetMin", "dataDirectory", "pool", "schedule", "reuse", "correctionIterates",
                                           "correctionDecay", "cellWeightScale", "stopMeasure", "maxEvaluations", "sampleThreads"])
        for layer in layers {
            for (key, value) in layer {
                guard known.contains(key) else {
                    throw TrainingError("\(path): \(field): unknown option '\(key)'; expected one of \(known.sorted().joined(separator: ", "))")
                }
                if key == "optimizer" {
                    let inner = try mapping(value, "\(field).optimizer", path)
                    var merged = json["optimizer"] as? [String: Any] ?? [:]
                    for (k, v) in inner {
                        guard optimizerKeys.contains(k) else {
                            throw TrainingError("\(path): \(field): unknown optimizer option '\(k)'; expected one of \(optimizerKeys.sorted().joined(separator: ", "))")
                        }
                        merged[k] = v
                    }
                    json["optimizer"] = merged
                } else {
                    json[key] = value
                }
            }
        }
        let options: TrainingOptions
        do {
            options = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: json))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw TrainingError("\(path): \(field): option '\(key)' has the wrong type or value (\(context.debugDescription))")
        } catch {
            throw TrainingError("\(path): \(field): \(error)")
        }
        if let problems = options.problems() { throw TrainingError("\(path): \(field): \(problems)") }
        return options
    }

    static func makeEvaluation(_ value: Any?, _ field: String, _ path: String, _ defaults: Evaluation) throws -> Evaluation {
        let map = try mapping(value, field, path)
        var e = defaults
        func positiveList(_ key: String) throws -> [Int]? {
            guard let v = map[key] else { return nil }
            guard let list = v as? [Int], !list.isEmpty, list.allSatisfy({ $0 >= 1 }) else {
                throw TrainingError("\(path): \(field).\(key) must be a non-empty list of positive integers")
            }
            return list
        }
        func positive(_ key: String) throws -> Int? {
            guard let v = map[key] else { return nil }
            guard let n = v as? Int, n >= 1 else { throw TrainingError("\(path): \(field).\(key) must be a positive integer") }
            return n
        }
        let keys: Set<String> = ["lengths", "budgets", "alignmentSamples", "alignmentLength", "alignmentBudget"]
        if let unknown = map.keys.sorted().first(where: { !keys.contains($0) }) {
            throw TrainingError("\(path): \(field): unknown field '\(unknown)'; expected one of \(keys.sorted().joined(separator: ", "))")
        }
        if let v = try positiveList("lengths") { e.lengths = v }
        if let v = try positiveList("budgets") { e.budgets = v }
        if let v = try positive("alignmentSamples") { e.alignmentSamples = v }
        if let v = try positive("alignmentLength") { e.alignmentLength = v }
        if let v = try positive("alignmentBudget") { e.alignmentBudget = v }
        return e
    }
}
