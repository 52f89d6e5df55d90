import Equilibrium
import Foundation

/// A named experiment: a grid of cells × solvers × initialisations × repeats, with stopping
/// criteria and the measurements to take. Declared in YAML (`docs/EXPERIMENTS.md`), parsed and
/// validated by ``ExperimentSpec/parse(yaml:file:baseDirectory:)``.
public struct ExperimentSpec: Sendable, Codable, Equatable {
    public var name: String
    public var description: String
    /// Seeds the cells (seed + repeat index) and the random initialisations.
    public var seed: UInt64
    public var repeats: Int
    public var cells: [CellSweep]
    public var solvers: [SolverSweep]
    public var stopping: StoppingSpec
    /// The starts; the first is the default one (used for the convergence table and AA).
    public var initializations: [InitializationSpec]
    public var measurements: [Measurement]
    public var pathIndependence: PathIndependenceSpec
    /// Options of the `gradients` measurement; `nil` when the file has no `gradients:` section
    /// (the defaults apply). Optional so that manifests written before it still read.
    public var gradients: GradientSpec? = nil
    /// Options of the `jacobian-diagnostics` measurement; `nil` for the defaults.
    public var jacobianDiagnostics: JacobianDiagnosticsSpec? = nil
    public var quick: QuickSpec
    /// The folder that relative paths in the file are resolved against (not serialised).
    public var baseDirectory: String

    public init(name: String, description: String, seed: UInt64, repeats: Int, cells: [CellSweep],
                solvers: [SolverSweep], stopping: StoppingSpec, initializations: [InitializationSpec],
                measurements: [Measurement], pathIndependence: PathIndependenceSpec, quick: QuickSpec,
                baseDirectory: String) {
        self.name = name
        self.description = description
        self.seed = seed
        self.repeats = repeats
        self.cells = cells
        self.solvers = solvers
        self.stopping = stopping
        self.initializations = initializations
        self.measurements = measurements
        self.pathIndependence = pathIndependence
        self.quick = quick
        self.baseDirectory = baseDirectory
    }

    public enum Measurement: String, Sendable, Codable, CaseIterable {
        /// Per cell × solver × start: converged fraction, evaluations, time, residual; curves.
        case convergence
        /// The asymptotic-alignment score and start comparison of docs/MATH.md §5.
        case pathIndependence = "path-independence"
        /// Gradient estimators at the default start's fixed point against the exact gradient.
        case gradients
        /// ρ(J) by power iteration and ‖J‖_F² by Hutchinson at the fixed point, against exact values.
        case jacobianDiagnostics = "jacobian-diagnostics"
    }

    /// The `gradients:` options in force.
    public var gradientOptions: GradientSpec { gradients ?? GradientSpec() }
    /// The `jacobian-diagnostics:` options in force.
    public var jacobianOptions: JacobianDiagnosticsSpec { jacobianDiagnostics ?? JacobianDiagnosticsSpec() }
}

/// A named parameter with one value or a list of values (a sweep).
public struct ParameterSweep: Sendable, Codable, Equatable {
    public var name: String
    public var values: [ParameterValue]

    public init(name: String, values: [ParameterValue]) {
        self.name = name
        self.values = values
    }
}

/// One `cells:` entry: a family with parameters, any of which may be swept.
public struct CellSweep: Sendable, Codable, Equatable {
    /// The cell's catalog name (``Catalog/cells``).
    public var family: String
    public var parameters: [ParameterSweep]

    public init(family: String, parameters: [ParameterSweep]) {
        self.family = family
        self.parameters = parameters
    }
}

/// One `solvers:` entry: a kind with parameters, any of which may be swept.
public struct SolverSweep: Sendable, Codable, Equatable {
    /// The solver's catalog name (``Catalog/solvers``).
    public var kind: String
    /// A display label; default: the kind and its swept values.
    public var label: String?
    public var parameters: [ParameterSweep]

    public init(kind: String, label: String?, parameters: [ParameterSweep]) {
        self.kind = kind
        self.label = label
        self.parameters = parameters
    }
}

/// The stopping criteria shared by every solve of the experiment.
public struct StoppingSpec: Sendable, Codable, Equatable {
    public var tolerance: Double = 1e-8
    public var measure: StoppingCriteria.Measure = .relative
    public var maxIterations: Int = 1000
    public var maxEvaluations: Int? = nil
    public var divergenceFactor: Double = 1e4

    public init() {}

    /// The criteria (the parser has validated every field).
    public var criteria: StoppingCriteria {
        get throws(UsageError) {
            try StoppingCriteria(tolerance: tolerance, measure: measure, maxIterations: maxIterations,
                                 maxEvaluations: maxEvaluations, divergenceFactor: divergenceFactor)
        }
    }
}

/// One start: zero, Gaussian, uniform, mixed (Bernoulli-masked Gaussian), or a `.npy` file.
public struct InitializationSpec: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case zero, gaussian, uniform, mixed, file
    }

    public var kind: Kind
    public var scale: Double = 1
    public var low: Double = -1
    public var high: Double = 1
    public var probability: Double = 0.5
    public var path: String? = nil

    public init(kind: Kind) {
        self.kind = kind
    }

    public var label: String {
        switch kind {
        case .zero: return "zero"
        case .gaussian: return "gaussian(\(formatCompact(scale)))"
        case .uniform: return "uniform(\(formatCompact(low)),\(formatCompact(high)))"
        case .mixed: return "mixed(\(formatCompact(probability)),\(formatCompact(scale)))"
        case .file: return "file(\(path ?? ""))"
        }
    }

    /// The B × d initial batch of one grid point; random starts are seeded by `seed`, a file
    /// start is read (and checked against B × d) relative to `baseDirectory`.
    public func makeBatch(seed: UInt64, baseDirectory: URL, batchSize: Int, dimension: Int) throws -> Matrix {
        let file = path.map { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : baseDirectory.appendingPathComponent($0) }
        let initialization: Initialization
        switch kind {
        case .zero: initialization = .zero
        case .gaussian: initialization = .gaussian(scale: scale, seed: seed)
        case .uniform: initialization = .uniform(low: low, high: high, seed: seed)
        case .mixed: initialization = .mixed(probability: probability, scale: scale, seed: seed)
        case .file:
            initialization = try Initialization.load(contentsOf: file ?? baseDirectory,
                                                     batchSize: batchSize, dimension: dimension)
        }
        return try initialization.makeBatch(batchSize: batchSize, dimension: dimension)
    }
}

/// Options of the path-independence measurement.
public struct PathIndependenceSpec: Sendable, Codable, Equatable {
    /// Iteration budgets at which the AA score is also computed (AA against budget).
    public var budgets: [Int] = [5, 10, 20, 50, 100, 200]
    /// Tables and pictures average only the pairs whose re-solve converged (the pairs that
    /// did not are always counted and flagged); default false: all pairs, as the authors.
    public var excludeNonConverged: Bool = false

    public init() {}

    // Files written before `excludeNonConverged` existed decode with its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        budgets = try container.decodeIfPresent([Int].self, forKey: .budgets) ?? [5, 10, 20, 50, 100, 200]
        excludeNonConverged = try container.decodeIfPresent(Bool.self, forKey: .excludeNonConverged) ?? false
    }
}

/// What `--quick` changes: caps that make every grid point small and fast.
public struct QuickSpec: Sendable, Codable, Equatable {
    /// Caps `dim`.
    public var maxDimension: Int = 32
    /// Caps `batch`.
    public var maxBatch: Int = 4
    /// Caps `inner` (the residual cells' inner width or channels).
    public var maxInner: Int = 32
    /// Caps `channels` and `in-channels` (the convolutional cells).
    public var maxChannels: Int = 16
    /// Caps `length`, `height` and `width` (the convolutional cells).
    public var maxSpatial: Int = 8
    public var repeats: Int = 1
    public var maxIterations: Int = 2000

    public init() {}

    // Files written before the convolutional caps existed decode with their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = QuickSpec()
        maxDimension = try container.decodeIfPresent(Int.self, forKey: .maxDimension) ?? defaults.maxDimension
        maxBatch = try container.decodeIfPresent(Int.self, forKey: .maxBatch) ?? defaults.maxBatch
        maxInner = try container.decodeIfPresent(Int.self, forKey: .maxInner) ?? defaults.maxInner
        maxChannels = try container.decodeIfPresent(Int.self, forKey: .maxChannels) ?? defaults.maxChannels
        maxSpatial = try container.decodeIfPresent(Int.self, forKey: .maxSpatial) ?? defaults.maxSpatial
        repeats = try container.decodeIfPresent(Int.self, forKey: .repeats) ?? defaults.repeats
        maxIterations = try container.decodeIfPresent(Int.self, forKey: .maxIterations) ?? defaults.maxIterations
    }
}

/// A mistake in an experiment file or its data, located by file and line.
public struct ExperimentError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file) line \(line): \(message)" }
        return "\(file): \(message)"
    }
}

extension ExperimentSpec {
    /// The spec as `--quick` runs it: dimensions, batches, channels, spatial sizes, repeats and
    /// iteration limits capped.
    public func quickened() -> ExperimentSpec {
        var copy = self
        copy.repeats = min(repeats, quick.repeats)
        copy.stopping.maxIterations = min(stopping.maxIterations, quick.maxIterations)
        copy.pathIndependence.budgets = pathIndependence.budgets.filter { $0 <= copy.stopping.maxIterations }
        func cap(_ sweep: ParameterSweep, _ limit: Int) -> ParameterSweep {
            var seen: [ParameterValue] = []
            for value in sweep.values {
                let capped = value.intValue.map { ParameterValue.integer(min($0, limit)) } ?? value
                if !seen.contains(capped) { seen.append(capped) }
            }
            return ParameterSweep(name: sweep.name, values: seen)
        }
        copy.cells = cells.map { cell in
            var cell = cell
            cell.parameters = cell.parameters.map { sweep in
                switch sweep.name {
                case "dim": return cap(sweep, quick.maxDimension)
                case "batch": return cap(sweep, quick.maxBatch)
                case "inner": return cap(sweep, quick.maxInner)
                case "channels", "in-channels": return cap(sweep, quick.maxChannels)
                case "length", "height", "width": return cap(sweep, quick.maxSpatial)
                default: return sweep
                }
            }
            return cell
        }
        return copy
    }
}
