import Equilibrium
import Foundation

/// Runs an experiment's grid (or one shard of it) into a results folder.
///
/// Each grid point's result is its own file `points/<id>.json`, written atomically, so a
/// rerun skips finished points (resume) and an interrupted run never leaves a result that
/// looks complete. After the points, the summary, curves and pictures are rebuilt from every
/// point file in the folder (``ResultsWriter``), saying plainly when points are missing.
public struct ExperimentRunner {
    public var spec: ExperimentSpec
    public var outputDirectory: URL
    public var shard: Shard?
    /// Progress lines on stderr (done/total, elapsed, estimate); nil for none.
    public var progress: ProgressReporter?
    /// Render pictures with gnuplot when it is installed.
    public var renderPictures: Bool
    /// The solvers, cells and estimators the spec names (a program's own entries included).
    public var catalog: Catalog
    /// Sizes past this are refused before a cell is built.
    public var budget: MemoryBudget

    public init(spec: ExperimentSpec, outputDirectory: URL, shard: Shard? = nil,
                progress: ProgressReporter? = nil, renderPictures: Bool = true, catalog: Catalog = .standard,
                budget: MemoryBudget = .current) {
        self.spec = spec
        self.outputDirectory = outputDirectory
        self.shard = shard
        self.progress = progress
        self.renderPictures = renderPictures
        self.catalog = catalog
        self.budget = budget
    }

    public struct Outcome: Sendable {
        public var pointsRun: Int
        public var pointsSkipped: Int
        public var pointsTotal: Int
        public var complete: Bool
    }

    public var pointsDirectory: URL { outputDirectory.appendingPathComponent("points") }

    public func run() throws -> Outcome {
        let fileManager = FileManager.default
        try checkResumable()
        try preflight()
        try fileManager.createDirectory(at: pointsDirectory, withIntermediateDirectories: true)
        // Temporary files of a writer that was killed are never results.
        AtomicFile.removeStaleTemporaries(in: pointsDirectory)
        let started = Date()
        var manifest = RunManifest(spec: spec, shard: shard, started: started)
        // A resumed run keeps the provenance of the runs whose points it reuses.
        if let earlier = RunManifest.read(from: outputDirectory) {
            manifest.earlierRuns = (earlier.earlierRuns ?? []) + (earlier.provenance.map { [$0] } ?? [])
            if manifest.earlierRuns?.isEmpty == true { manifest.earlierRuns = nil }
        }
        try manifest.write(to: outputDirectory)

        let grid = spec.grid
        let mine = grid.filter { shard?.contains($0) ?? true }
        let pending = mine.filter { PointRecord.read(from: url(of: $0)) == nil }
        let baseDirectory = URL(fileURLWithPath: spec.baseDirectory)
        progress?.start(total: pending.count, skipped: mine.count - pending.count)

        // Points sharing a cell run together so the cell is built once.
        var order: [String] = []
        var byCell: [String: [GridPoint]] = [:]
        for point in pending {
            if byCell[point.cellKey] == nil { order.append(point.cellKey) }
            byCell[point.cellKey, default: []].append(point)
        }
        var done = 0
        for key in order {
            let points = byCell[key] ?? []
            guard let first = points.first else { continue }
            let context = CellBuildContext(seed: first.cellSeed, baseDirectory: baseDirectory, budget: budget,
                                           source: "\(spec.name): cell \(first.cell.label)")
            let map = try catalog.cell(named: first.cell.family).makeMap(first.cell.assignment.dictionary, context: context)
            for point in points {
                let record = try run(point, on: map, baseDirectory: baseDirectory)
                try record.write(to: url(of: point))
                done += 1
                progress?.update(done: done, label: "\(point.cell.label) · \(point.solver.label)")
            }
        }
        progress?.finish()

        let writer = ResultsWriter(spec: spec, directory: outputDirectory, renderPictures: renderPictures)
        let summary = try writer.writeAll()
        if summary.complete { manifest.ended = Date() }
        manifest.pointsPresent = summary.pointsPresent
        try manifest.write(to: outputDirectory)
        return Outcome(pointsRun: pending.count, pointsSkipped: mine.count - pending.count,
                       pointsTotal: grid.count, complete: summary.complete)
    }

    /// Refuses, before any point runs, a grid too large or a cell configuration whose arrays
    /// would not fit in the memory budget.
    func preflight() throws {
        try spec.checkGridSize(file: spec.name)
        for configuration in spec.cellConfigurations {
            let entry = try catalog.cell(named: configuration.family)
            for (what, bytes) in try entry.memoryEstimate(configuration.assignment.dictionary) {
                try budget.check(bytes, for: what, source: "\(spec.name): cell \(configuration.label)")
            }
        }
    }

    /// A folder that already holds results must hold results of this very spec (then the run
    /// resumes); mixing two specs' points would give tables that describe neither.
    func checkResumable() throws {
        guard FileManager.default.fileExists(atPath: outputDirectory.appendingPathComponent("manifest.json").path) else { return }
        var existing = try ResultsFolder.spec(in: outputDirectory)
        var mine = spec
        existing.baseDirectory = ""
        mine.baseDirectory = ""
        guard existing == mine else {
            throw ExperimentError(file: outputDirectory.appendingPathComponent("manifest.json").path, line: nil,
                                  message: "this results folder holds a run of a different spec (seed, grid or options differ); choose another --out folder or delete this one")
        }
    }

    func url(of point: GridPoint) -> URL {
        pointsDirectory.appendingPathComponent("\(point.id).json")
    }

    func run(_ point: GridPoint, on map: any FixedPointMap, baseDirectory: URL) throws -> PointRecord {
        let solver = try catalog.solver(named: point.solver.kind).makeSolver(point.solver.assignment.dictionary)
        let criteria = try spec.stopping.criteria
        let start = try point.initialization.makeBatch(seed: point.initializationSeed, baseDirectory: baseDirectory,
                                                       batchSize: map.batchSize, dimension: map.dimension)
        let isDefaultStart = point.initializationIndex == 0
        let wantsGradients = spec.measurements.contains(.gradients) && isDefaultStart
        try budget.checkSolve(solver, batchSize: map.batchSize, dimension: map.dimension, criteria: criteria,
                              source: "\(spec.name): \(point.cell.label) · \(point.solver.label)")
        let result = try solver.solve(map, from: start, criteria: criteria)
        var alignment: PointRecord.Alignment?
        if spec.measurements.contains(.pathIndependence), isDefaultStart {
            alignment = try measurePathIndependence(map: map, solver: solver, reference: result, start: start,
                                                    point: point, baseDirectory: baseDirectory)
        }
        var gradients: GradientStudyRecord?
        if wantsGradients, let cell = map as? any ParametricCell {
            gradients = try measureGradients(cell: cell, forward: result, point: point)
        }
        var jacobian: JacobianStudyRecord?
        if spec.measurements.contains(.jacobianDiagnostics), isDefaultStart, let differentiable = map as? any DifferentiableMap {
            jacobian = try JacobianStudyRecord.measure(map: differentiable, at: result.solution, spec: spec.jacobianOptions,
                                                   seed: point.cellSeed)
        }
        return PointRecord(point: point, result: result, pathIndependence: alignment, gradients: gradients, jacobian: jacobian)
    }

    /// The gradient estimators at the default start's fixed point, with a seeded Gaussian
    /// upstream gradient (seed: `gradients.upstream-seed` plus the cell's seed).
    func measureGradients<Cell: ParametricCell>(cell: Cell, forward: SolveResult, point: GridPoint) throws -> GradientStudyRecord {
        let options = spec.gradientOptions
        let upstream = GradientStudy.gaussianUpstream(batchSize: cell.batchSize, dimension: cell.dimension,
                                                      seed: options.upstreamSeed &+ point.cellSeed)
        return try GradientStudy.run(cell: cell, forward: forward, upstream: upstream, spec: options, catalog: catalog).record
    }

    /// AA with the full criteria, AA against the iteration budget, and the other starts'
    /// agreement with the default start.
    func measurePathIndependence(map: any FixedPointMap, solver: any FixedPointSolver, reference: SolveResult,
                                 start: Matrix, point: GridPoint, baseDirectory: URL) throws -> PointRecord.Alignment {
        var quiet = try spec.stopping.criteria
        quiet.recordHistory = false
        let full = try PathIndependence.alignment(of: map, solver: solver, reference: reference.solution, criteria: quiet)
        var budgets: [PointRecord.Budget] = []
        for budget in spec.pathIndependence.budgets {
            var capped = quiet
            capped.maxIterations = budget
            let atBudget = try solver.solve(map, from: start, criteria: capped)
            let alignment = try PathIndependence.alignment(of: map, solver: solver, reference: atBudget.solution, criteria: capped)
            budgets.append(.init(budget: budget, alignment))
        }
        var starts: [PointRecord.Start] = []
        for (index, other) in spec.initializations.enumerated() where index > 0 {
            let seed = spec.grid.first { $0.initializationIndex == index && $0.repeatIndex == point.repeatIndex }?
                .initializationSeed ?? UInt64(index)
            let z0 = try other.makeBatch(seed: seed, baseDirectory: baseDirectory,
                                         batchSize: map.batchSize, dimension: map.dimension)
            let solved = try solver.solve(map, from: z0, criteria: quiet)
            let cosines = try PathIndependence.rowCosines(reference.solution, solved.solution)
            starts.append(.init(initialization: other.label, meanCosine: cosines.reduce(0, +) / Double(cosines.count),
                                perExample: cosines))
        }
        return .init(full, budgets: budgets, starts: starts)
    }
}

/// `manifest.json`: what was run, with what, where and when, and from which code
/// (``Provenance``: commit, dirty flag, build configuration, exact command).
struct RunManifest: Codable {
    var experiment: String
    var spec: ExperimentSpec
    var seed: UInt64
    var shard: String?
    var toolkitVersion: String
    var gitRevision: String?
    var blasThreads: Int
    var machine: MachineDescription
    var started: Date
    var ended: Date?
    var pointsTotal: Int
    var pointsPresent: Int?
    /// The process that wrote this manifest (`deq run`, or `deq merge` for a merged folder).
    var provenance: Provenance?
    /// Earlier runs into the same folder whose points a resumed run kept.
    var earlierRuns: [Provenance]?
    /// For a merged folder: each shard folder's manifest provenance (and its earlier runs).
    var sources: [SourceProvenance]?

    struct SourceProvenance: Codable {
        var folder: String
        var shard: String?
        var provenance: Provenance?
        var earlierRuns: [Provenance]?
    }

    init(spec: ExperimentSpec, shard: Shard?, started: Date) {
        experiment = spec.name
        self.spec = spec
        seed = spec.seed
        self.shard = shard?.description
        toolkitVersion = EquilibriumVersion.string
        let provenance = Provenance.current()
        gitRevision = provenance.gitCommit
        blasThreads = BLAS.threadCount
        machine = MachineDescription.current()
        self.started = started
        pointsTotal = spec.grid.count
        self.provenance = provenance
    }

    /// The manifest in `directory`; nil when absent or not one of this toolkit's.
    static func read(from directory: URL) -> RunManifest? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")) else { return nil }
        return try? JSONFormat.decoder().decode(RunManifest.self, from: data)
    }

    func write(to directory: URL) throws {
        try AtomicFile.write(try JSONFormat.encoder().encode(self), to: directory.appendingPathComponent("manifest.json"))
    }
}
