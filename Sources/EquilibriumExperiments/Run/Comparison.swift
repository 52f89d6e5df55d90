import Equilibrium
import Foundation

/// Solvers compared on one cell: a one-cell experiment built from names and values, run like
/// any experiment (a table, residual curves, pictures; reruns resume). What `deq compare` runs,
/// and what a program comparing its own solver with the built-in ones calls:
///
/// ```swift
/// var catalog = Catalog.standard
/// try catalog.register(solver: MySolver.catalogEntry)
/// let comparison = Comparison(cell: "tanh", cellParameters: ["dim": .integer(256), "rho": .real(0.99)],
///                             solvers: [("anderson", [:]), ("my-solver", [:])], catalog: catalog)
/// let outcome = try comparison.run(into: URL(fileURLWithPath: "out/compare"))
/// ```
public struct Comparison: Sendable {
    public var cell: String
    public var cellParameters: [String: ParameterValue]
    /// The solvers by catalog name, each with its parameters.
    public var solvers: [(name: String, parameters: [String: ParameterValue])]
    public var stopping: StoppingSpec
    /// Independent draws of a synthetic cell.
    public var repeats: Int
    public var seed: UInt64
    public var catalog: Catalog

    public init(cell: String, cellParameters: [String: ParameterValue] = [:],
                solvers: [(name: String, parameters: [String: ParameterValue])],
                stopping: StoppingSpec = StoppingSpec(), repeats: Int = 1, seed: UInt64 = 0, catalog: Catalog = .standard) {
        self.cell = cell
        self.cellParameters = cellParameters
        self.solvers = solvers
        self.stopping = stopping
        self.repeats = repeats
        self.seed = seed
        self.catalog = catalog
    }

    /// The one-cell experiment (paths made absolute against `baseDirectory`).
    public func spec(baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws(UsageError) -> ExperimentSpec {
        let entry = try catalog.cell(named: cell)
        guard !solvers.isEmpty else {
            throw UsageError("Comparison", "solvers", got: "none", expected: "one or more of \(catalog.solvers.map(\.name).joined(separator: ", "))")
        }
        try Check.atLeast(repeats, 1, "Comparison", "repeats", "independent draws of the cell")
        // The catalog's declared order keeps the label and the grid stable.
        var values = try entry.resolved(cellParameters).filter { cellParameters[$0.key] != nil }
        for definition in entry.parameters {
            if case .path = definition.kind, let path = values[definition.name]?.stringValue, !path.hasPrefix("/") {
                values[definition.name] = .text(baseDirectory.appendingPathComponent(path).standardizedFileURL.path)
            }
        }
        let cellSweep = CellSweep(family: cell, parameters: entry.parameters.compactMap { definition in
            values[definition.name].map { ParameterSweep(name: definition.name, values: [$0]) }
        })
        var seen = Set<String>()
        let sweeps = try solvers.map { (name, parameters) throws(UsageError) -> SolverSweep in
            let solver = try catalog.solver(named: name)
            guard seen.insert(name).inserted else {
                throw UsageError("Comparison", "solvers", got: "\(name) twice", expected: "each solver once")
            }
            let resolved = try solver.resolved(parameters).filter { parameters[$0.key] != nil }
            let given = solver.parameters.compactMap { d in resolved[d.name].map { (d.name, $0) } }
            let label = ([name] + given.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
            return SolverSweep(kind: name, label: label, parameters: given.map { ParameterSweep(name: $0.0, values: [$0.1]) })
        }
        return ExperimentSpec(
            name: "compare", description: "deq compare: \(solvers.map(\.name).joined(separator: ", ")) on one \(cell) cell.",
            seed: seed, repeats: repeats, cells: [cellSweep], solvers: sweeps,
            stopping: stopping, initializations: [InitializationSpec(kind: .zero)], measurements: [.convergence],
            pathIndependence: PathIndependenceSpec(), quick: QuickSpec(), baseDirectory: baseDirectory.path)
    }

    /// Runs into `folder` (resuming a previous run of the same comparison).
    public func run(into folder: URL, progress: ProgressReporter? = nil, renderPictures: Bool = true,
                    budget: MemoryBudget = .current) throws -> ExperimentRunner.Outcome {
        let runner = ExperimentRunner(spec: try spec(), outputDirectory: folder, progress: progress,
                                      renderPictures: renderPictures, catalog: catalog, budget: budget)
        return try runner.run()
    }

    /// `Results/compare-<cell>-<8 hex digits of the spec>`: the same comparison, the same folder.
    public func defaultFolder() throws -> URL {
        let encoder = JSONFormat.encoder(pretty: false)
        let data = (try? encoder.encode(try spec())) ?? Data()
        var hash: UInt32 = 2_166_136_261
        for byte in data {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return URL(fileURLWithPath: "Results/compare-\(cell)-\(String(format: "%08x", hash))")
    }
}
