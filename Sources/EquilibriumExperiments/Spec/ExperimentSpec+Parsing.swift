import Equilibrium
import Foundation
import Yams

extension ExperimentSpec {
    /// Reads and validates an experiment file. Relative paths in it resolve against its folder.
    public static func load(contentsOf url: URL, catalog: Catalog = .standard) throws(ExperimentError) -> ExperimentSpec {
        let text = try YAMLDocument.text(of: url)
        return try parse(yaml: text, file: url.path, baseDirectory: url.deletingLastPathComponent(),
                         defaultName: url.deletingPathExtension().lastPathComponent, catalog: catalog)
    }

    /// Parses and validates YAML text. Every field is checked: an unknown key, a wrong type or an
    /// impossible value is an ``ExperimentError`` naming `file`, the line and the valid choices.
    public static func parse(yaml: String, file: String, baseDirectory: URL, defaultName: String = "experiment",
                             catalog: Catalog = .standard) throws(ExperimentError) -> ExperimentSpec {
        let reader = SpecReader(file: file, catalog: catalog)
        let root = try YAMLDocument.compose(yaml, file: file)
        let spec = try reader.experiment(root, defaultName: defaultName, baseDirectory: baseDirectory)
        try spec.checkGridSize(file: file)
        return spec
    }
}

/// The keys an experiment file may use at its top level.
public enum SpecReaderKeys {
    public static let topLevel = ["name", "description", "seed", "repeats", "cells", "solvers", "stopping",
                                  "init", "measurements", "path-independence", "gradients", "jacobian-diagnostics", "quick"]
    /// The keys of the `gradients:` section.
    public static let gradients = ["estimators", "k", "damping", "backward-solvers", "backward-tol", "timing-runs", "backward-max-iter",
                                   "shine-refine", "shine-fallback", "dense-limit", "upstream-seed"]
    /// The keys of the `jacobian-diagnostics:` section.
    public static let jacobianDiagnostics = ["probes", "power-iterations", "window", "power-tol", "exact-limit"]
}

/// Walks the YAML node tree of an experiment file, validating as it goes.
struct SpecReader {
    let file: String
    /// The solvers, cells and estimators the file may name.
    let catalog: Catalog

    static let topLevelKeys = SpecReaderKeys.topLevel

    func fail(_ node: Node?, _ message: String) -> ExperimentError {
        ExperimentError(file: file, line: node?.mark?.line, message: message)
    }

    // MARK: Structure

    /// The entries of a mapping, checked against the allowed keys (no unknown, no duplicate).
    func entries(_ node: Node, of context: String, allowed: [String]) throws(ExperimentError) -> [(key: String, node: Node)] {
        guard case let .mapping(mapping) = node else {
            throw fail(node, "\(context) must be a mapping of keys (\(allowed.joined(separator: ", ")))")
        }
        var seen = Set<String>()
        var result: [(key: String, node: Node)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw fail(keyNode, "\(context): keys must be strings") }
            guard allowed.contains(key) else {
                throw fail(keyNode, "unknown key '\(key)' in \(context); expected one of \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw fail(keyNode, "duplicate key '\(key)' in \(context)") }
            result.append((key, valueNode))
        }
        return result
    }

    /// A sequence's items, or the node itself as a one-item list.
    func items(_ node: Node) -> [Node] {
        if case let .sequence(sequence) = node { return Array(sequence) }
        return [node]
    }

    /// A scalar as a typed value: quoted scalars stay text; otherwise integer, real, boolean or text.
    func scalarValue(_ node: Node) -> ParameterValue? {
        guard case let .scalar(scalar) = node else { return nil }
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .text(scalar.string) }
        if let i = node.int { return .integer(i) }
        if let d = node.float { return .real(d) }
        if let b = node.bool { return .boolean(b) }
        return .text(scalar.string)
    }

    func value(_ node: Node, _ definition: ParameterDefinition, in context: String) throws(ExperimentError) -> ParameterValue {
        guard let raw = scalarValue(node), let valid = definition.validate(raw) else {
            let shown = node.string.map { "'\($0)'" } ?? "a \(node.isMapping ? "mapping" : "list")"
            throw fail(node, "\(context): \(definition.name) is \(shown); expected \(definition.expectation)")
        }
        return valid
    }

    func integer(_ node: Node, _ name: String, minimum: Int, in context: String) throws(ExperimentError) -> Int {
        let definition = ParameterDefinition(name, .integer(minimum: minimum), default: nil, "")
        return try value(node, definition, in: context).intValue ?? minimum
    }

    func real(_ node: Node, _ name: String, _ kind: ParameterDefinition.Kind, in context: String) throws(ExperimentError) -> Double {
        try value(node, ParameterDefinition(name, kind, default: nil, ""), in: context).doubleValue ?? 0
    }

    func text(_ node: Node, _ name: String, in context: String) throws(ExperimentError) -> String {
        guard case let .scalar(scalar) = node else { throw fail(node, "\(context): \(name) must be a string") }
        return scalar.string
    }

    func choice(_ node: Node, _ name: String, _ choices: [String], in context: String) throws(ExperimentError) -> String {
        let definition = ParameterDefinition(name, .choice(choices), default: nil, "")
        return try value(node, definition, in: context).stringValue ?? choices[0]
    }

    /// A parameter given as one value or a list of values (a sweep).
    func sweep(_ node: Node, _ definition: ParameterDefinition, in context: String) throws(ExperimentError) -> ParameterSweep {
        let list = items(node)
        guard !list.isEmpty else { throw fail(node, "\(context): \(definition.name) is an empty list; give at least one value") }
        var values: [ParameterValue] = []
        for item in list {
            let v = try value(item, definition, in: context)
            if values.contains(v) { throw fail(item, "\(context): \(definition.name) lists \(v) twice") }
            values.append(v)
        }
        return ParameterSweep(name: definition.name, values: values)
    }

    // MARK: Sections

    func experiment(_ root: Node, defaultName: String, baseDirectory: URL) throws(ExperimentError) -> ExperimentSpec {
        let top = try entries(root, of: "the experiment", allowed: Self.topLevelKeys)
        var spec = ExperimentSpec(name: defaultName, description: "", seed: 0, repeats: 1, cells: [], solvers: [],
                                  stopping: StoppingSpec(), initializations: [InitializationSpec(kind: .zero)],
                                  measurements: [.convergence], pathIndependence: PathIndependenceSpec(),
                                  quick: QuickSpec(), baseDirectory: baseDirectory.path)
        var sawCells = false, sawSolvers = false
        for (key, node) in top {
            switch key {
            case "name": spec.name = try text(node, "name", in: "the experiment")
            case "description": spec.description = try text(node, "description", in: "the experiment")
            case "seed": spec.seed = UInt64(try integer(node, "seed", minimum: 0, in: "the experiment"))
            case "repeats": spec.repeats = try integer(node, "repeats", minimum: 1, in: "the experiment")
            case "cells":
                spec.cells = try items(node).map { (item: Node) throws(ExperimentError) in try cell(item) }
                sawCells = true
            case "solvers":
                spec.solvers = try items(node).map { (item: Node) throws(ExperimentError) in try solver(item) }
                sawSolvers = true
            case "stopping": spec.stopping = try stopping(node)
            case "init":
                spec.initializations = try items(node).map { (item: Node) throws(ExperimentError) in try initialization(item) }
            case "measurements":
                spec.measurements = try items(node).map { (item: Node) throws(ExperimentError) in
                    let name = try choice(item, "measurement", ExperimentSpec.Measurement.allCases.map(\.rawValue),
                                          in: "measurements")
                    return ExperimentSpec.Measurement(rawValue: name) ?? .convergence
                }
            case "path-independence": spec.pathIndependence = try pathIndependence(node)
            case "gradients": spec.gradients = try gradients(node)
            case "jacobian-diagnostics": spec.jacobianDiagnostics = try jacobianDiagnostics(node)
            case "quick": spec.quick = try quick(node)
            default: break
            }
        }
        guard sawCells, !spec.cells.isEmpty else {
            throw fail(root, "the experiment declares no cells; add a cells: list (families: \(catalog.cells.map(\.name).joined(separator: ", ")))")
        }
        guard sawSolvers, !spec.solvers.isEmpty else {
            throw fail(root, "the experiment declares no solvers; add a solvers: list (kinds: \(catalog.solvers.map(\.name).joined(separator: ", ")))")
        }
        guard !spec.initializations.isEmpty else { throw fail(root, "init: is an empty list; give at least one start") }
        return spec
    }

    func cell(_ node: Node) throws(ExperimentError) -> CellSweep {
        let families = catalog.cells.map(\.name)
        guard case .mapping = node, let familyNode = node["family"] else {
            throw fail(node, "each cell needs a family: (\(families.joined(separator: ", ")))")
        }
        let name = try choice(familyNode, "family", families, in: "a cell")
        guard let family = catalog.cells.first(where: { $0.name == name }) else { throw fail(familyNode, "unknown family '\(name)'") }
        let definitions = family.parameters
        let context = "cell '\(name)'"
        let fields = try entries(node, of: context, allowed: ["family"] + definitions.map(\.name))
        var parameters: [ParameterSweep] = []
        for definition in definitions {
            if let field = fields.first(where: { $0.key == definition.name }) {
                parameters.append(try sweep(field.node, definition, in: context))
            }
        }
        // Checks across parameters (e.g. GroupNorm groups dividing the channels), per configuration.
        for assignment in Assignment.product(of: parameters) {
            let swept = assignment.label.isEmpty ? "" : " (\(assignment.label))"
            do {
                if let problem = try family.problem(with: assignment.dictionary) {
                    throw fail(node, "\(context)\(swept): \(problem)")
                }
                // Sizes that cannot be allocated are refused here, with the file and line.
                let budget = MemoryBudget.current
                for (what, bytes) in try family.memoryEstimate(assignment.dictionary) where !(bytes.map { $0 <= budget.limit } ?? false) {
                    throw fail(node, "\(context)\(swept): \(what) needs \(Size.describe(bytes: bytes)), more than the memory limit of \(Size.describe(bytes: budget.limit)); expected smaller sizes (or raise the limit with --memory-limit or DEQ_MEMORY_LIMIT)")
                }
            } catch let error as ExperimentError {
                throw error
            } catch {
                throw fail(node, "\(context)\(swept): \(error)")
            }
        }
        return CellSweep(family: name, parameters: parameters)
    }

    func solver(_ node: Node) throws(ExperimentError) -> SolverSweep {
        let kinds = catalog.solvers.map(\.name)
        // A bare name is a solver with its defaults.
        if case .scalar = node {
            let name = try choice(node, "solver", kinds, in: "solvers")
            return SolverSweep(kind: name, label: nil, parameters: [])
        }
        guard case .mapping = node, let kindNode = node["kind"] else {
            throw fail(node, "each solver needs a kind: (\(kinds.joined(separator: ", ")))")
        }
        let name = try choice(kindNode, "kind", kinds, in: "a solver")
        guard let kind = catalog.solvers.first(where: { $0.name == name }) else { throw fail(kindNode, "unknown solver '\(name)'") }
        let definitions = kind.parameters
        let context = "solver '\(name)'"
        let fields = try entries(node, of: context, allowed: ["kind", "label"] + definitions.map(\.name))
        var label: String?
        if let field = fields.first(where: { $0.key == "label" }) { label = try text(field.node, "label", in: context) }
        var parameters: [ParameterSweep] = []
        for definition in definitions {
            if let field = fields.first(where: { $0.key == definition.name }) {
                parameters.append(try sweep(field.node, definition, in: context))
            }
        }
        return SolverSweep(kind: name, label: label, parameters: parameters)
    }

    func stopping(_ node: Node) throws(ExperimentError) -> StoppingSpec {
        var spec = StoppingSpec()
        let context = "stopping"
        for (key, value) in try entries(node, of: context, allowed: ["tol", "stop", "max-iter", "max-evals", "divergence-factor"]) {
            switch key {
            case "tol":
                spec.tolerance = try real(value, "tol", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false), in: context)
            case "stop":
                let measure = try choice(value, "stop", StoppingCriteria.Measure.allCases.map(\.rawValue), in: context)
                spec.measure = StoppingCriteria.Measure(rawValue: measure) ?? .relative
            case "max-iter": spec.maxIterations = try integer(value, "max-iter", minimum: 0, in: context)
            case "max-evals": spec.maxEvaluations = try integer(value, "max-evals", minimum: 1, in: context)
            case "divergence-factor":
                spec.divergenceFactor = try real(value, "divergence-factor", .real(minimum: 1, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false), in: context)
            default: break
            }
        }
        return spec
    }

    func initialization(_ node: Node) throws(ExperimentError) -> InitializationSpec {
        let kinds = InitializationSpec.Kind.allCases.map(\.rawValue)
        if case .scalar = node {
            let name = try choice(node, "init", kinds.filter { $0 != "file" }, in: "init")
            return InitializationSpec(kind: InitializationSpec.Kind(rawValue: name) ?? .zero)
        }
        guard case .mapping = node, let kindNode = node["kind"] else {
            throw fail(node, "each init entry is a name (\(kinds.filter { $0 != "file" }.joined(separator: ", "))) or a mapping with kind:")
        }
        let kind = InitializationSpec.Kind(rawValue: try choice(kindNode, "kind", kinds, in: "init")) ?? .zero
        let allowed: [String]
        switch kind {
        case .zero: allowed = ["kind"]
        case .gaussian: allowed = ["kind", "scale"]
        case .uniform: allowed = ["kind", "low", "high"]
        case .mixed: allowed = ["kind", "probability", "scale"]
        case .file: allowed = ["kind", "path"]
        }
        let context = "init '\(kind.rawValue)'"
        var spec = InitializationSpec(kind: kind)
        let nonNegative = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false)
        let anyReal = ParameterDefinition.Kind.real(minimum: nil, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false)
        for (key, value) in try entries(node, of: context, allowed: allowed) {
            switch key {
            case "scale": spec.scale = try real(value, "scale", nonNegative, in: context)
            case "low": spec.low = try real(value, "low", anyReal, in: context)
            case "high": spec.high = try real(value, "high", anyReal, in: context)
            case "probability":
                spec.probability = try real(value, "probability", .real(minimum: 0, maximum: 1, exclusiveMinimum: false, exclusiveMaximum: false), in: context)
            case "path": spec.path = try text(value, "path", in: context)
            default: break
            }
        }
        if kind == .uniform, spec.low >= spec.high {
            throw fail(node, "\(context): low (\(formatCompact(spec.low))) must be below high (\(formatCompact(spec.high)))")
        }
        if kind == .file, spec.path == nil { throw fail(node, "\(context): path: is required (a .npy file, rows are samples)") }
        return spec
    }

    func pathIndependence(_ node: Node) throws(ExperimentError) -> PathIndependenceSpec {
        var spec = PathIndependenceSpec()
        for (key, value) in try entries(node, of: "path-independence", allowed: ["budgets", "exclude-non-converged"]) {
            switch key {
            case "budgets":
                spec.budgets = try items(value).map { (item: Node) throws(ExperimentError) in
                    try integer(item, "budgets", minimum: 1, in: "path-independence")
                }
            case "exclude-non-converged":
                guard case .boolean(let flag)? = scalarValue(value) else {
                    throw fail(value, "path-independence: exclude-non-converged is '\(value.string ?? "a collection")'; expected true or false")
                }
                spec.excludeNonConverged = flag
            default: break
            }
        }
        return spec
    }

    /// A list of distinct choices (one value is a one-item list).
    func choices(_ node: Node, _ name: String, _ allowed: [String], in context: String) throws(ExperimentError) -> [String] {
        var result: [String] = []
        for item in items(node) {
            let value = try choice(item, name, allowed, in: context)
            guard !result.contains(value) else { throw fail(item, "\(context): \(name) lists '\(value)' twice") }
            result.append(value)
        }
        guard !result.isEmpty else { throw fail(node, "\(context): \(name) is an empty list; give at least one of \(allowed.joined(separator: ", "))") }
        return result
    }

    func gradients(_ node: Node) throws(ExperimentError) -> GradientSpec {
        var spec = GradientSpec()
        let context = "gradients"
        for (key, value) in try entries(node, of: context, allowed: SpecReaderKeys.gradients) {
            switch key {
            case "estimators":
                spec.estimators = try choices(value, "estimators", catalog.estimators.map(\.name), in: context)
            case "backward-solvers":
                spec.backwardSolvers = try choices(value, "backward-solvers", catalog.solvers.map(\.name) + ["lu"], in: context)
            case "k":
                spec.steps = try sweep(value, ParameterDefinition("k", .integer(minimum: 1), default: nil, ""), in: context)
                    .values.compactMap(\.intValue)
            case "damping":
                let definition = ParameterDefinition("damping", .real(minimum: 0, maximum: 2, exclusiveMinimum: true, exclusiveMaximum: true),
                                                     default: nil, "")
                spec.dampings = try sweep(value, definition, in: context).values.compactMap(\.doubleValue)
            case "shine-refine":
                spec.shineRefine = try sweep(value, ParameterDefinition("shine-refine", .integer(minimum: 0), default: nil, ""), in: context)
                    .values.compactMap(\.intValue)
            case "shine-fallback":
                spec.shineFallbackRatio = try real(value, "shine-fallback", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false), in: context)
            case "backward-tol":
                let definition = ParameterDefinition("backward-tol", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false),
                                                     default: nil, "")
                spec.backwardTolerances = try sweep(value, definition, in: context).values.compactMap(\.doubleValue)
            case "timing-runs": spec.timingRuns = try integer(value, "timing-runs", minimum: 1, in: context)
            case "backward-max-iter": spec.backwardMaxIterations = try integer(value, "backward-max-iter", minimum: 1, in: context)
            case "dense-limit": spec.denseLimit = try integer(value, "dense-limit", minimum: 0, in: context)
            case "upstream-seed": spec.upstreamSeed = UInt64(try integer(value, "upstream-seed", minimum: 0, in: context))
            default: break
            }
        }
        return spec
    }

    func jacobianDiagnostics(_ node: Node) throws(ExperimentError) -> JacobianDiagnosticsSpec {
        var spec = JacobianDiagnosticsSpec()
        let context = "jacobian-diagnostics"
        for (key, value) in try entries(node, of: context, allowed: SpecReaderKeys.jacobianDiagnostics) {
            switch key {
            case "probes": spec.probes = try integer(value, "probes", minimum: 1, in: context)
            case "power-iterations": spec.powerIterations = try integer(value, "power-iterations", minimum: 2, in: context)
            case "window": spec.window = try integer(value, "window", minimum: 2, in: context)
            case "power-tol":
                spec.powerTolerance = try real(value, "power-tol", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false), in: context)
            case "exact-limit": spec.exactLimit = try integer(value, "exact-limit", minimum: 0, in: context)
            default: break
            }
        }
        guard spec.powerIterations >= spec.window else {
            throw fail(node, "\(context): power-iterations (\(spec.powerIterations)) must be at least window (\(spec.window)): one Krylov window of products")
        }
        return spec
    }

    func quick(_ node: Node) throws(ExperimentError) -> QuickSpec {
        var spec = QuickSpec()
        for (key, value) in try entries(node, of: "quick", allowed: ["dim", "batch", "inner", "channels", "spatial", "repeats", "max-iter"]) {
            switch key {
            case "dim": spec.maxDimension = try integer(value, "dim", minimum: 1, in: "quick")
            case "batch": spec.maxBatch = try integer(value, "batch", minimum: 1, in: "quick")
            case "inner": spec.maxInner = try integer(value, "inner", minimum: 1, in: "quick")
            case "channels": spec.maxChannels = try integer(value, "channels", minimum: 1, in: "quick")
            case "spatial": spec.maxSpatial = try integer(value, "spatial", minimum: 1, in: "quick")
            case "repeats": spec.repeats = try integer(value, "repeats", minimum: 1, in: "quick")
            case "max-iter": spec.maxIterations = try integer(value, "max-iter", minimum: 0, in: "quick")
            default: break
            }
        }
        return spec
    }
}

private extension Node {
    var isMapping: Bool {
        if case .mapping = self { return true }
        return false
    }
}
