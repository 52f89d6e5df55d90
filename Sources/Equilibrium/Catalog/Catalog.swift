import Foundation

/// The one catalog of solvers, cells and gradient estimators: names, parameters (with their
/// defaults, read from the types' own defaults), constructors, workspaces. Experiment files,
/// the `deq` command line, training, gradient studies and the benchmarks all read it; nothing
/// else lists the solvers or cells.
///
/// A catalog is a value: ``standard`` holds the built-in entries, and a program adds its own
/// with ``register(solver:)`` (or the cell and estimator forms) and passes the catalog to what
/// should see them (``ExperimentSpec`` parsing, the experiment runner, comparisons):
///
/// ```swift
/// var catalog = Catalog.standard
/// try catalog.register(solver: MySolver.catalogEntry)
/// ```
///
/// Adding a built-in solver touches its own file (its type and its ``SolverEntry``) and one line
/// of ``standard``.
public struct Catalog: Sendable {
    public private(set) var solvers: [SolverEntry]
    public private(set) var cells: [CellEntry]
    public private(set) var estimators: [EstimatorEntry]

    public init(solvers: [SolverEntry] = [], cells: [CellEntry] = [], estimators: [EstimatorEntry] = []) {
        self.solvers = solvers
        self.cells = cells
        self.estimators = estimators
    }

    /// The built-in solvers, cells and estimators.
    public static let standard = Catalog(
        solvers: [ForwardIteration.catalogEntry, AndersonAcceleration.catalogEntry, Broyden.catalogEntry,
                  NewtonKrylov.catalogEntry],
        cells: [TanhCell.catalogEntry, AffineMap.catalogEntry, ResidualCell.catalogEntry,
                ConvResidualCell.catalogEntry(rank: 1), ConvResidualCell.catalogEntry(rank: 2),
                MonotoneCell.catalogEntry],
        estimators: GradientEstimators.entries)

    /// Adds a solver; throws when the name is taken.
    public mutating func register(solver entry: SolverEntry) throws(UsageError) {
        guard !solvers.contains(where: { $0.name == entry.name }) else {
            throw UsageError("Catalog", "solver name", got: "'\(entry.name)'", expected: "a name not yet in the catalog (\(Self.list(solvers.map(\.name))))")
        }
        solvers.append(entry)
    }

    /// Adds a cell; throws when the name is taken.
    public mutating func register(cell entry: CellEntry) throws(UsageError) {
        guard !cells.contains(where: { $0.name == entry.name }) else {
            throw UsageError("Catalog", "cell name", got: "'\(entry.name)'", expected: "a name not yet in the catalog (\(Self.list(cells.map(\.name))))")
        }
        cells.append(entry)
    }

    /// Adds a gradient estimator; throws when the name is taken.
    public mutating func register(estimator entry: EstimatorEntry) throws(UsageError) {
        guard !estimators.contains(where: { $0.name == entry.name }) else {
            throw UsageError("Catalog", "estimator name", got: "'\(entry.name)'", expected: "a name not yet in the catalog (\(Self.list(estimators.map(\.name))))")
        }
        estimators.append(entry)
    }

    /// The solver named `name`; the error lists the names there are.
    public func solver(named name: String) throws(UsageError) -> SolverEntry {
        guard let entry = solvers.first(where: { $0.name == name }) else {
            throw UsageError("", "solver", got: "'\(name)'", expected: "one of \(Self.list(solvers.map(\.name)))")
        }
        return entry
    }

    /// The cell named `name`; the error lists the names there are.
    public func cell(named name: String) throws(UsageError) -> CellEntry {
        guard let entry = cells.first(where: { $0.name == name }) else {
            throw UsageError("", "cell", got: "'\(name)'", expected: "one of \(Self.list(cells.map(\.name)))")
        }
        return entry
    }

    /// The gradient estimator named `name`; the error lists the names there are.
    public func estimator(named name: String) throws(UsageError) -> EstimatorEntry {
        guard let entry = estimators.first(where: { $0.name == name }) else {
            throw UsageError("", "estimator", got: "'\(name)'", expected: "one of \(Self.list(estimators.map(\.name)))")
        }
        return entry
    }

    static func list(_ names: [String]) -> String { names.joined(separator: ", ") }
}

// MARK: - Parameters

/// Checks `given` against `definitions`: every name known, every value valid. Returns the
/// values normalised (an integer where a real is expected becomes real) with the defaults filled
/// in. `owner` names the entry in messages ("solver anderson").
func resolve(_ given: [String: ParameterValue], against definitions: [ParameterDefinition],
             owner: String) throws(UsageError) -> [String: ParameterValue] {
    for name in given.keys.sorted() where !definitions.contains(where: { $0.name == name }) {
        let known = definitions.map(\.name)
        throw UsageError(owner, "parameter '\(name)'", got: "a value",
                         expected: known.isEmpty ? "no parameters (\(owner) takes none)" : "one of \(Catalog.list(known))")
    }
    var result: [String: ParameterValue] = [:]
    for definition in definitions {
        guard let value = given[definition.name] ?? definition.defaultValue else { continue }
        guard let valid = definition.validate(value) else {
            throw UsageError(owner, definition.name, got: "\(value)", expected: "\(definition.expectation) (\(definition.summary))")
        }
        result[definition.name] = valid
    }
    return result
}

/// One parameter of a catalog entry bound to a property of the value it configures: its
/// definition (name, kind, default read from the defaults' property, meaning) and how a
/// validated value is applied.
public struct Setting<Subject>: @unchecked Sendable {
    public let definition: ParameterDefinition
    let apply: (inout Subject, ParameterValue) -> Void

    /// A setting with a custom application (for values that map onto an enum, several
    /// properties, …).
    public init(_ definition: ParameterDefinition, apply: @escaping (inout Subject, ParameterValue) -> Void) {
        self.definition = definition
        self.apply = apply
    }

    /// An integer property, `minimum...maximum`.
    public static func integer(_ name: String, _ keyPath: WritableKeyPath<Subject, Int>, of defaults: Subject,
                               minimum: Int, maximum: Int? = nil, _ summary: String) -> Setting {
        Setting(ParameterDefinition(name, .integer(minimum: minimum, maximum: maximum), default: .integer(defaults[keyPath: keyPath]), summary)) {
            subject, value in if let v = value.intValue { subject[keyPath: keyPath] = v }
        }
    }

    /// A real property in an interval (open bounds exclusive).
    public static func real(_ name: String, _ keyPath: WritableKeyPath<Subject, Double>, of defaults: Subject,
                            minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Bool = false,
                            exclusiveMaximum: Bool = false, _ summary: String) -> Setting {
        Setting(ParameterDefinition(name, .real(minimum: minimum, maximum: maximum, exclusiveMinimum: exclusiveMinimum,
                                                exclusiveMaximum: exclusiveMaximum),
                                    default: .real(defaults[keyPath: keyPath]), summary)) {
            subject, value in if let v = value.doubleValue { subject[keyPath: keyPath] = v }
        }
    }

    /// A Boolean property.
    public static func boolean(_ name: String, _ keyPath: WritableKeyPath<Subject, Bool>, of defaults: Subject,
                               _ summary: String) -> Setting {
        Setting(ParameterDefinition(name, .boolean, default: .boolean(defaults[keyPath: keyPath]), summary)) {
            subject, value in if let v = value.boolValue { subject[keyPath: keyPath] = v }
        }
    }

    /// A property of a `String`-backed enumeration, by raw value.
    public static func choice<Value: RawRepresentable & CaseIterable>(
        _ name: String, _ keyPath: WritableKeyPath<Subject, Value>, of defaults: Subject, _ summary: String
    ) -> Setting where Value.RawValue == String {
        Setting(ParameterDefinition(name, .choice(Value.allCases.map(\.rawValue)),
                                    default: .text(defaults[keyPath: keyPath].rawValue), summary)) {
            subject, value in if let text = value.stringValue, let v = Value(rawValue: text) { subject[keyPath: keyPath] = v }
        }
    }
}

// MARK: - Solvers

/// A solver in the catalog: its name, its parameters and how to make it.
public struct SolverEntry: Sendable {
    public let name: String
    /// One line for listings and help.
    public let summary: String
    public let parameters: [ParameterDefinition]
    /// Whether the solver's results carry an inverse-Jacobian estimate (what SHINE reuses).
    public let providesInverseJacobian: Bool
    private let build: @Sendable ([String: ParameterValue]) throws(UsageError) -> any FixedPointSolver

    /// An entry that configures `defaults` (whose values are the parameters' defaults) with
    /// `settings`, in their order, then validates the result.
    public init<Solver: FixedPointSolver>(name: String, summary: String, defaults: Solver,
                                          settings: [Setting<Solver>], providesInverseJacobian: Bool = false) {
        self.name = name
        self.summary = summary
        parameters = settings.map(\.definition)
        self.providesInverseJacobian = providesInverseJacobian
        let owner = "solver \(name)"
        build = { [settings] values throws(UsageError) in
            var solver = defaults
            for setting in settings {
                if let value = values[setting.definition.name] { setting.apply(&solver, value) }
            }
            do throws(UsageError) { try solver.validate() } catch { throw UsageError(owner, error.parameter, got: error.value, expected: error.expected) }
            return solver
        }
    }

    /// Every parameter's value: the given ones, validated and normalised, and the defaults.
    public func resolved(_ given: [String: ParameterValue]) throws(UsageError) -> [String: ParameterValue] {
        try resolve(given, against: parameters, owner: "solver \(name)")
    }

    /// The solver for `given` (validated against ``parameters``, defaults for the rest).
    public func makeSolver(_ given: [String: ParameterValue] = [:]) throws(UsageError) -> any FixedPointSolver {
        try build(resolved(given))
    }
}

// MARK: - Cells

/// What building a cell may need besides its parameters.
public struct CellBuildContext: Sendable {
    /// The seed of a synthetic cell (weights and inputs).
    public var seed: UInt64
    /// The folder relative paths are resolved against (the experiment file's, or the working
    /// directory); absolute paths are used as they are.
    public var baseDirectory: URL
    /// Sizes past this are refused before anything is allocated.
    public var budget: MemoryBudget
    /// Where the values came from, for messages (`--dim`, `Experiments/x.yaml line 4`).
    public var source: String

    public init(seed: UInt64, baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                budget: MemoryBudget = .current, source: String = "cell") {
        self.seed = seed
        self.baseDirectory = baseDirectory
        self.budget = budget
        self.source = source
    }

    /// `path` resolved against ``baseDirectory`` unless absolute.
    public func url(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
    }
}

/// A cell family in the catalog: its parameters, the checks across them, a memory estimate and
/// how to build the map (synthetic or from files).
public struct CellEntry: Sendable {
    public let name: String
    public let summary: String
    public let parameters: [ParameterDefinition]
    private let check: @Sendable ([String: ParameterValue], _ given: Set<String>) -> String?
    private let estimate: @Sendable ([String: ParameterValue]) -> [(String, Int?)]
    private let build: @Sendable ([String: ParameterValue], _ given: Set<String>, CellBuildContext) throws -> any FixedPointMap

    /// - Parameters:
    ///   - check: why a configuration cannot be built (checks across parameters), or nil; gets
    ///     the resolved values and the names that were given. Parameter names in the message
    ///     are written `{name}`, so the command line can show them as options (`--name`).
    ///   - memory: the largest arrays the cell allocates, as (what, bytes) from the resolved
    ///     values (bytes nil on overflow); for file-backed cells the files' own headers are
    ///     checked when they are read.
    ///   - build: the map from the resolved values, the given names and the context.
    public init(name: String, summary: String, parameters: [ParameterDefinition],
                check: @escaping @Sendable ([String: ParameterValue], Set<String>) -> String? = { _, _ in nil },
                memory: @escaping @Sendable ([String: ParameterValue]) -> [(String, Int?)] = { _ in [] },
                build: @escaping @Sendable ([String: ParameterValue], Set<String>, CellBuildContext) throws -> any FixedPointMap) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.check = check
        self.estimate = memory
        self.build = build
    }

    /// Every parameter's value: the given ones, validated and normalised, and the defaults.
    public func resolved(_ given: [String: ParameterValue]) throws(UsageError) -> [String: ParameterValue] {
        try resolve(given, against: parameters, owner: "cell \(name)")
    }

    /// Why `given` cannot be built (a check across parameters), or nil. Parameter names in
    /// the message carry `prefix` (`"--"` on the command line).
    public func problem(with given: [String: ParameterValue], prefix: String = "") throws(UsageError) -> String? {
        check(try resolved(given), Set(given.keys)).map { Self.render($0, prefix: prefix) }
    }

    /// A check's message with its `{name}` markers written as `prefix + name`.
    static func render(_ message: String, prefix: String) -> String {
        var result = "", rest = Substring(message)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open] + prefix + rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// The largest arrays the cell would allocate, as (what, bytes), before building it.
    public func memoryEstimate(_ given: [String: ParameterValue]) throws(UsageError) -> [(what: String, bytes: Int?)] {
        estimate(try resolved(given)).map { (what: $0.0, bytes: $0.1) }
    }

    /// The cell for `given`: validated, checked across parameters, its memory checked against
    /// the context's budget, then built.
    ///
    /// - Throws: ``UsageError`` for an invalid value or combination, ``ResourceError`` past the
    ///   budget, and the loaders' errors for files.
    public func makeMap(_ given: [String: ParameterValue], context: CellBuildContext) throws -> any FixedPointMap {
        let values = try resolved(given)
        if let problem = check(values, Set(given.keys)) {
            throw UsageError("cell \(name)", "parameters", got: given.keys.sorted().map { "\($0) \(given[$0]!)" }.joined(separator: ", "),
                             expected: Self.render(problem, prefix: ""))
        }
        for (what, bytes) in estimate(values) {
            try context.budget.check(bytes, for: what, source: context.source)
        }
        return try build(values, Set(given.keys), context)
    }
}

// MARK: - Gradient estimators

/// A gradient estimator in the catalog.
public struct EstimatorEntry: Sendable {
    public let name: String
    public let summary: String
    public let parameters: [ParameterDefinition]
    /// Whether it needs the forward solver's inverse-Jacobian estimate (SHINE).
    public let needsInverseJacobian: Bool
    private let build: @Sendable ([String: ParameterValue], Catalog) throws(UsageError) -> any GradientEstimator

    public init(name: String, summary: String, parameters: [ParameterDefinition], needsInverseJacobian: Bool = false,
                build: @escaping @Sendable ([String: ParameterValue], Catalog) throws(UsageError) -> any GradientEstimator) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.needsInverseJacobian = needsInverseJacobian
        self.build = build
    }

    public func resolved(_ given: [String: ParameterValue]) throws(UsageError) -> [String: ParameterValue] {
        try resolve(given, against: parameters, owner: "estimator \(name)")
    }

    /// The estimator for `given`; a backward solver named in it comes from `catalog`.
    public func makeEstimator(_ given: [String: ParameterValue] = [:], catalog: Catalog = .standard) throws(UsageError) -> any GradientEstimator {
        try build(resolved(given), catalog)
    }
}
