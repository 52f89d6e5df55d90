import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq grad`: solve one cell's fixed points, then compute dL/dθ and dL/dx with one or several
/// gradient estimators and compare each with the exact gradient.
struct Grad: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Gradients through the fixed point: implicit (exact), phantom, Neumann, Jacobian-free and SHINE, compared with the exact one.",
        discussion: """
            The forward solve uses --solver (Broyden by default, whose inverse estimate SHINE \
            needs) with its options. The loss is L = Σᵢ cᵢᵀ zᵢ*, with the upstream gradient c \
            from --upstream (a (B, d) .npy file) or seeded Gaussian. The reference is the \
            dense-LU implicit gradient when d ≤ \(GradientSpec().denseLimit), else the first \
            iterative implicit estimator. A backward solve that does not converge is reported, \
            not an error, unless --strict is given.

            \(CatalogHelp.cells)

            \(CatalogHelp.solvers)
            """
    )

    @Option(help: "The cell (see deq solve --help for the list).")
    var cell: String = "tanh"

    @Option(help: "The forward fixed-point solver.")
    var solver: String = "broyden"

    @OptionGroup(title: "Forward stopping")
    var stopping: StoppingOptions

    @OptionGroup(title: "Forward starting point")
    var start: InitOptions

    @Option(help: ArgumentHelp("Comma-separated estimators: \(Catalog.standard.estimators.map(\.name).joined(separator: ", ")).", valueName: "list"))
    var estimators: String = Catalog.standard.estimators.map(\.name).joined(separator: ",")

    @Option(name: .customLong("k"), help: ArgumentHelp("Comma-separated k (terms, unrolled steps) of phantom and neumann.", valueName: "list"))
    var steps: String = "5"

    @Option(name: .customLong("damping"), help: ArgumentHelp("Comma-separated damping λ in (0, 2) of phantom and neumann.", valueName: "list"))
    var dampings: String = "1"

    @Option(name: .customLong("backward-solver"),
            help: ArgumentHelp("Comma-separated backward solvers of implicit: \((Catalog.standard.solvers.map(\.name) + ["lu"]).joined(separator: ", ")).", valueName: "list"))
    var backwardSolvers: String = "anderson"

    @Option(name: .customLong("backward-tol"), parsing: .unconditional,
            help: "Relative residual tolerance of the iterative backward solves.")
    var backwardTolerance: Double = GradientSpec().backwardTolerance

    @Option(name: .customLong("backward-max-iter"), parsing: .unconditional, help: "Most iterations of a backward solve.")
    var backwardMaxIterations: Int = GradientSpec().backwardMaxIterations

    @Option(name: .customLong("shine-refine"), parsing: .unconditional,
            help: "Adjoint fixed-point steps that refine the SHINE estimate.")
    var shineRefine: Int = 0

    @Option(name: .customLong("shine-fallback"), parsing: .unconditional,
            help: "SHINE uses the upstream gradient instead when its estimate is longer than this times it.")
    var shineFallback: Double = GradientSpec().shineFallbackRatio

    @Option(help: ArgumentHelp("The upstream gradient ∂L/∂z* as a (B, d) .npy file, rows are samples.", valueName: "C.npy"),
            completion: .file(extensions: ["npy"]))
    var upstream: String?

    @Option(name: .customLong("upstream-seed"), parsing: .unconditional,
            help: "Seed of the Gaussian upstream gradient when --upstream is not given. (default: 1)")
    var upstreamSeed: UInt64?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Write every estimator's gradients: a folder of .npy files (created if needed), or one .safetensors or .npz file.", valueName: "DIR|FILE"),
            completion: .directory)
    var save: String?

    @Flag(help: "Exit with status 3 when the forward solve or a backward solve did not converge.")
    var strict = false

    @OptionGroup(title: "Resources")
    var resources: ResourceOptions

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The cell's and the forward solver's options.", valueName: "options"))
    var catalogOptions: [String] = []

    /// The cell and forward solver with the options given.
    func choices() throws -> (cell: CellChoice, solver: SolverChoice) {
        try CatalogOptions.choices(cell: cell, solver: solver, arguments: catalogOptions)
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    mutating func validate() throws {
        let plan = try makePlan()
        let (_, solverChoice) = try choices()
        let needing = Catalog.standard.estimators.filter { $0.needsInverseJacobian && plan.estimators.contains($0.name) }.map(\.name)
        if let first = needing.first, !solverChoice.entry.providesInverseJacobian {
            throw ValidationError("--estimators \(first) needs the forward solver's inverse-Jacobian estimate: use --solver broyden (the default), or drop \(first)")
        }
        if upstream != nil && upstreamSeed != nil {
            throw ValidationError("--upstream-seed conflicts with --upstream: the upstream gradient comes from the file; drop --upstream-seed")
        }
        if let upstream, !upstream.hasSuffix(".npy") {
            throw ValidationError("--upstream \(upstream): expected a .npy file, shape (B, d), rows are samples")
        }
        if let save, ["safetensors", "npz"].contains(URL(fileURLWithPath: save).pathExtension) {
            try OutputPath.check(save, option: "--save")
        } else if let save {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: save, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError("--save \(save): this is a file; expected a folder (it is created if missing), or a .safetensors or .npz file name")
            }
            let parent = URL(fileURLWithPath: save).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--save \(save): the directory \(parent) does not exist; expected a folder in an existing directory")
            }
        }
    }

    /// The estimator plan from the list options, with messages for every invalid value.
    func makePlan() throws -> GradientSpec {
        var plan = GradientSpec()
        func distinct<T: Equatable>(_ values: [T], _ option: String) throws -> [T] {
            for (i, v) in values.enumerated() where values[..<i].contains(v) {
                throw ValidationError("\(option) lists \(v) twice; give each value once")
            }
            return values
        }
        let known = Catalog.standard.estimators.map(\.name)
        plan.estimators = try distinct(Self.list(estimators).map { name in
            guard known.contains(name) else {
                throw ValidationError("--estimators: unknown estimator '\(name)'; expected a comma-separated list of \(known.joined(separator: ", "))")
            }
            return name
        }, "--estimators")
        plan.steps = try distinct(Self.list(steps).map { text in
            guard let k = Int(text), (1...100_000).contains(k) else {
                throw ValidationError("--k: '\(text)' is not an integer in 1…100000 (the number of phantom terms); expected e.g. --k 1,5,10")
            }
            return k
        }, "--k")
        plan.dampings = try distinct(Self.list(dampings).map { text in
            guard let lambda = Double(text), lambda > 0, lambda < 2 else {
                throw ValidationError("--damping: '\(text)' is not a number in (0, 2) (the damping λ of the unrolled steps; 1 is undamped); expected e.g. --damping 0.5,1")
            }
            return lambda
        }, "--damping")
        let backward = Catalog.standard.solvers.map(\.name) + ["lu"]
        plan.backwardSolvers = try distinct(Self.list(backwardSolvers).map { name in
            guard backward.contains(name) else {
                throw ValidationError("--backward-solver: unknown solver '\(name)'; expected a comma-separated list of \(backward.joined(separator: ", "))")
            }
            return name
        }, "--backward-solver")
        guard backwardTolerance > 0, backwardTolerance.isFinite else {
            throw ValidationError("--backward-tol must be positive and finite (a relative residual such as 1e-10); got \(backwardTolerance)")
        }
        guard (1...StoppingOptions.iterationLimit).contains(backwardMaxIterations) else {
            throw ValidationError("--backward-max-iter must lie in 1…\(StoppingOptions.iterationLimit); got \(backwardMaxIterations)")
        }
        guard (0...100_000).contains(shineRefine) else {
            throw ValidationError("--shine-refine must lie in 0…100000 (adjoint steps after the SHINE estimate); got \(shineRefine)")
        }
        plan.backwardTolerance = backwardTolerance
        plan.backwardMaxIterations = backwardMaxIterations
        guard shineFallback > 0, shineFallback.isFinite else {
            throw ValidationError("--shine-fallback must be positive and finite (the SHINE paper uses 1.8); got \(shineFallback)")
        }
        plan.shineRefine = [shineRefine]
        plan.shineFallbackRatio = shineFallback
        return plan
    }

    func run() throws {
        let plan = try makePlan()
        let (cellChoice, solverChoice) = try choices()
        let budget = resources.budget
        let map = try cellChoice.makeMap(budget: budget)
        guard let cell = map as? any ParametricCell else {
            throw ValidationError("--cell \(cell): the cell has no parameter products (it is not a ParametricCell); gradients need them")
        }
        let d = map.dimension, b = map.batchSize
        let (forwardSolver, parameters) = try solverChoice.makeSolver()
        let criteria = try stopping.criteria()
        try budget.checkSolve(forwardSolver, batchSize: b, dimension: d, criteria: criteria, source: "--solver \(solver)")
        try budget.checkGradients(plan, batchSize: b, dimension: d, source: "deq grad")
        let upstreamGradient: Matrix
        if let upstream {
            upstreamGradient = try Matrix.loadBatch(contentsOf: URL(fileURLWithPath: upstream), batchSize: b, dimension: d,
                                                    array: "upstream gradient ∂L/∂z*")
        } else {
            upstreamGradient = GradientStudy.gaussianUpstream(batchSize: b, dimension: d, seed: upstreamSeed ?? 1)
        }
        let initial = try start.makeInitialization(batchSize: b, dimension: d).makeBatch(batchSize: b, dimension: d)
        let forward = try forwardSolver.solve(cell, from: initial, criteria: criteria)
        let outcome = try GradientStudy.run(cell: cell, forward: forward, upstream: upstreamGradient, spec: plan)
        var saved: [String: String] = [:]
        if let save {
            saved = try outcome.save(upstream: upstreamGradient, to: URL(fileURLWithPath: save))
        }
        let report = GradReport(forward: forward, study: outcome.record, options: parameters,
                                initialization: start.report, cell: cellChoice.report(for: map),
                                upstream: upstream.map { .init(source: "file", path: $0) }
                                    ?? .init(source: "gaussian", seed: upstreamSeed ?? 1),
                                saved: saved)
        if json {
            print(try JSONFormat.text(report))
        } else {
            print(GradTable.render(report))
        }
        let backwardFailed = outcome.record.entries.contains { $0.backward.map { !$0.converged } ?? false }
        if strict && (!forward.converged || backwardFailed || !outcome.record.referenceConverged) {
            let what = !forward.converged ? "the forward solve" : backwardFailed ? "a backward solve" : "the reference gradient's solve"
            FileHandle.standardError.write(Data("deq grad: \(what) did not converge; exit status 3 (--strict)\n".utf8))
            throw ExitCode(3)
        }
    }

}

