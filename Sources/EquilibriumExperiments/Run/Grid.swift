import Equilibrium
import Foundation

/// One concrete configuration: a parameter list with one value each, in declared order.
public struct Assignment: Sendable, Codable, Equatable {
    public var names: [String]
    public var values: [ParameterValue]

    public var dictionary: [String: ParameterValue] { Dictionary(uniqueKeysWithValues: zip(names, values)) }

    /// `name=value` pairs, e.g. `dim=512 rho=0.999`.
    public var label: String { zip(names, values).map { "\($0)=\($1)" }.joined(separator: " ") }

    /// The Cartesian product of sweeps, the first parameter varying slowest.
    static func product(of sweeps: [ParameterSweep]) -> [Assignment] {
        var result = [Assignment(names: [], values: [])]
        for sweep in sweeps {
            result = result.flatMap { partial in
                sweep.values.map { Assignment(names: partial.names + [sweep.name], values: partial.values + [$0]) }
            }
        }
        return result
    }
}

/// A cell configuration of the grid: a family with concrete parameters.
public struct CellConfiguration: Sendable, Codable, Equatable {
    public var index: Int
    /// The cell's catalog name.
    public var family: String
    public var assignment: Assignment
    /// A compact label for tables and legends, e.g. `tanh d=512 B=8 ρ=0.999 sym s=0.05`.
    public var label: String {
        let short = ["dim": "d", "batch": "B", "rho": "ρ", "injection-scale": "s", "inner": "h", "channels": "C",
                     "in-channels": "Cin", "length": "L", "height": "H", "width": "W", "groups": "G", "sigma": "σ",
                     "monotonicity": "m", "weight-scale": "sw"]
        var parts = [family]
        for (name, value) in zip(assignment.names, assignment.values) {
            switch (name, value) {
            case ("symmetric", .boolean(let on)): if on { parts.append("sym") }
            default: parts.append("\(short[name] ?? name)=\(value)")
            }
        }
        return parts.joined(separator: " ")
    }
}

/// A solver configuration of the grid: a kind with concrete parameters and a display label.
public struct SolverConfiguration: Sendable, Codable, Equatable {
    public var index: Int
    /// The solver's catalog name.
    public var kind: String
    public var assignment: Assignment
    public var label: String
}

/// One grid point: a cell configuration × a solver configuration × a start × a repeat.
public struct GridPoint: Sendable, Codable, Equatable {
    /// Position in the full grid (shards select by it).
    public var index: Int
    public var cell: CellConfiguration
    public var solver: SolverConfiguration
    public var initializationIndex: Int
    public var initialization: InitializationSpec
    public var repeatIndex: Int
    /// The cell's seed: its `seed` parameter, else the experiment seed plus the repeat index,
    /// so every solver and start of a repeat sees the same cell.
    public var cellSeed: UInt64
    /// The seed of a random start.
    public var initializationSeed: UInt64

    /// A stable, file-safe identifier.
    public var id: String {
        String(format: "c%03d-s%03d-i%02d-r%02d", cell.index, solver.index, initializationIndex, repeatIndex)
    }

    /// Points that share a cell (same configuration and repeat) are run together.
    public var cellKey: String { String(format: "c%03d-r%02d", cell.index, repeatIndex) }
}

/// `--shard I/N`: the points whose grid index is I modulo N (I in 0..<N).
public struct Shard: Sendable, Codable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws(ExperimentError) {
        guard count >= 1, (0..<count).contains(index) else {
            throw ExperimentError(file: "--shard", line: nil,
                                  message: "\(index)/\(count) is not a shard; expected I/N with N ≥ 1 and 0 ≤ I < N")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`.
    public init(parsing text: String) throws(ExperimentError) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ExperimentError(file: "--shard", line: nil, message: "'\(text)' is not a shard; expected I/N, e.g. 0/4")
        }
        try self.init(index: i, count: n)
    }

    public func contains(_ point: GridPoint) -> Bool { point.index % count == index }

    public var description: String { "\(index)/\(count)" }
}

extension ExperimentSpec {
    /// The cell configurations, in declared order, each entry's sweep expanded.
    public var cellConfigurations: [CellConfiguration] {
        var result: [CellConfiguration] = []
        for entry in cells {
            for assignment in Assignment.product(of: entry.parameters) {
                result.append(CellConfiguration(index: result.count, family: entry.family, assignment: assignment))
            }
        }
        return result
    }

    /// The solver configurations, in declared order, each entry's sweep expanded.
    public var solverConfigurations: [SolverConfiguration] {
        var result: [SolverConfiguration] = []
        for entry in solvers {
            let assignments = Assignment.product(of: entry.parameters)
            let swept = entry.parameters.filter { $0.values.count > 1 }.map(\.name)
            for assignment in assignments {
                let sweptLabel = zip(assignment.names, assignment.values)
                    .filter { swept.contains($0.0) }.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                let base = entry.label ?? entry.kind
                let label = sweptLabel.isEmpty ? base : "\(base) \(sweptLabel)"
                result.append(SolverConfiguration(index: result.count, kind: entry.kind, assignment: assignment, label: label))
            }
        }
        return result
    }

    /// The largest grid an experiment may have: a million points is days of solves; a larger
    /// product of sweeps is a mistake, refused before anything is expanded.
    public static let maxGridPoints = 1_000_000

    /// repeats × cells × solvers × starts, nil when it overflows.
    public var gridSize: Int? {
        func configurations(_ sweeps: [[ParameterSweep]]) -> Int? {
            Size.sum(sweeps.map { entry in Size.product(entry.map(\.values.count)) })
        }
        return Size.product([repeats, configurations(cells.map(\.parameters)) ?? -1,
                             configurations(solvers.map(\.parameters)) ?? -1, initializations.count])
    }

    /// Throws when the grid has more than ``maxGridPoints`` points.
    public func checkGridSize(file: String) throws(ExperimentError) {
        guard let size = gridSize, size <= Self.maxGridPoints else {
            let shown = gridSize.map { "\($0)" } ?? "more than \(Int.max)"
            throw ExperimentError(file: file, line: nil,
                                  message: "the grid has \(shown) points (repeats × cell configurations × solver configurations × starts); expected at most \(Self.maxGridPoints)")
        }
    }

    /// The full grid: repeats × cells × solvers × starts, in that nesting.
    public var grid: [GridPoint] {
        let cellConfigurations = cellConfigurations, solverConfigurations = solverConfigurations
        var points: [GridPoint] = []
        for repeatIndex in 0..<repeats {
            for cell in cellConfigurations {
                let cellSeed = cell.assignment.dictionary["seed"]?.intValue.map(UInt64.init)
                    ?? seed &+ UInt64(repeatIndex)
                for solver in solverConfigurations {
                    for (initIndex, initialization) in initializations.enumerated() {
                        points.append(GridPoint(index: points.count, cell: cell, solver: solver,
                                                initializationIndex: initIndex, initialization: initialization,
                                                repeatIndex: repeatIndex, cellSeed: cellSeed,
                                                initializationSeed: seed &* 7919 &+ UInt64(repeatIndex * 101 + initIndex)))
                    }
                }
            }
        }
        return points
    }
}
