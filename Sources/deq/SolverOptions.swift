import ArgumentParser
import Equilibrium
import EquilibriumExperiments

extension SolverKind: ExpressibleByArgument {}

/// The forcing-term choices of `--forcing`.
enum ForcingChoice: String, CaseIterable, ExpressibleByArgument {
    case ew, constant
}

/// The J·v choices of `--jvp`.
enum JVPChoice: String, CaseIterable, ExpressibleByArgument {
    case analytic, fd
}

/// The hyperparameter flags of every solver. Which solver takes which flag, the defaults and
/// the construction come from the library's solver catalog (``SolverKind``), the same one the
/// experiment files use; a flag given to a solver that does not take it is refused.
struct SolverHyperparameters: ParsableArguments {
    private static let forward = ForwardIteration()
    private static let anderson = AndersonAcceleration()
    private static let broyden = Broyden()
    private static let newtonKrylov = NewtonKrylov()

    @Option(parsing: .unconditional,
            help: "Forward damping τ in (0, 2), where 1 is the plain step. (default: \(forward.damping))")
    var damping: Double?

    @Option(parsing: .unconditional,
            help: "Anderson memory m or Broyden memory L. (default: \(anderson.memory) and \(broyden.memory))")
    var memory: Int?

    @Option(parsing: .unconditional,
            help: "Anderson regularisation λ ≥ 0, relative to the Gram matrix. (default: \(anderson.regularization))")
    var lambda: Double?

    @Option(parsing: .unconditional,
            help: "Anderson mixing β > 0, where β < 1 damps and β > 1 overprojects. (default: \(anderson.mixing))")
    var beta: Double?

    @Option(parsing: .unconditional,
            help: "Plain forward steps before Anderson mixing starts. (default: \(anderson.delay))")
    var delay: Int?

    @Flag(name: .customLong("line-search"), inversion: .prefixedNo,
          help: "Backtracking line search for Broyden and Newton–Krylov. (default: off and on)")
    var lineSearch: Bool?

    @Option(name: .customLong("krylov-dim"), parsing: .unconditional,
            help: "Newton–Krylov GMRES restart length k. (default: \(newtonKrylov.krylovDimension))")
    var krylovDimension: Int?

    @Option(help: "Newton–Krylov forcing terms: Eisenstat–Walker (ew) or a constant η. (default: ew)")
    var forcing: ForcingChoice?

    @Option(parsing: .unconditional,
            help: "Newton–Krylov η: the maximum for ew, the fixed value for constant, in [0, 1). (default: 0.9)")
    var eta: Double?

    @Option(help: "Newton–Krylov J·v: the cell's analytic product or finite differences. (default: analytic)")
    var jvp: JVPChoice?

    /// The flags given, by catalog parameter name.
    var values: [String: ParameterValue] {
        var result: [String: ParameterValue] = [:]
        if let damping { result["damping"] = .real(damping) }
        if let memory { result["memory"] = .integer(memory) }
        if let lambda { result["lambda"] = .real(lambda) }
        if let beta { result["beta"] = .real(beta) }
        if let delay { result["delay"] = .integer(delay) }
        if let lineSearch { result["line-search"] = .boolean(lineSearch) }
        if let krylovDimension { result["krylov-dim"] = .integer(krylovDimension) }
        if let forcing { result["forcing"] = .text(forcing.rawValue) }
        if let eta { result["eta"] = .real(eta) }
        if let jvp { result["jvp"] = .text(jvp.rawValue) }
        return result
    }

    static func flag(_ name: String) -> String { "--\(name)" }

    /// Range checks with messages that say what the value means.
    mutating func validate() throws {
        if let damping, !(damping > 0 && damping < 2) {
            throw ValidationError("--damping must lie in (0, 2) (τ = 1 is the plain step, τ < 1 damps); got \(damping)")
        }
        if let memory, memory < 1 {
            throw ValidationError("--memory must be at least 1 (the number of past steps Anderson mixes or Broyden keeps); got \(memory)")
        }
        if let memory, memory > 1000 {
            throw ValidationError("--memory \(memory) is beyond any useful memory and its O(m³) solves; expected at most 1000 (typically 3 to 20)")
        }
        if let lambda, !(lambda >= 0 && lambda.isFinite) {
            throw ValidationError("--lambda must be finite and ≥ 0 (a regularisation relative to the Gram matrix, e.g. 1e-10); got \(lambda)")
        }
        if let beta, !(beta > 0 && beta.isFinite) {
            throw ValidationError("--beta must be positive (β < 1 damps, β > 1 overprojects); got \(beta)")
        }
        if let delay, delay < 0 {
            throw ValidationError("--delay must be ≥ 0 (the plain forward steps before mixing); got \(delay)")
        }
        if let krylovDimension, !(1...10_000).contains(krylovDimension) {
            throw ValidationError("--krylov-dim must lie in 1…10000 (the GMRES restart length, typically 20 to 40); got \(krylovDimension)")
        }
        if let eta, !(eta >= 0 && eta < 1) {
            throw ValidationError("--eta must lie in [0, 1) (the relative accuracy of each inner GMRES solve); got \(eta)")
        }
    }

    /// Refuses flags that none of `kinds` takes.
    func check(appliesTo kinds: [SolverKind], option: String) throws {
        for name in values.keys.sorted() {
            guard !kinds.contains(where: { kind in kind.parameters.contains { $0.name == name } }) else { continue }
            let owners = SolverKind.allCases.filter { kind in kind.parameters.contains { $0.name == name } }.map(\.rawValue)
            let chosen = kinds.map(\.rawValue).joined(separator: ",")
            throw ValidationError("--\(name) does not apply to \(option) \(chosen); it is an option of \(owners.joined(separator: ", "))")
        }
    }

    /// The given values that `kind` takes.
    func values(for kind: SolverKind) -> [String: ParameterValue] {
        values.filter { name, _ in kind.parameters.contains { $0.name == name } }
    }
}

/// `--solver` and its hyperparameters.
struct SolverOptions: ParsableArguments {
    @Option(help: "The fixed-point solver.")
    var solver: SolverKind = .anderson

    @OptionGroup var hyperparameters: SolverHyperparameters

    mutating func validate() throws {
        try hyperparameters.check(appliesTo: [solver], option: "--solver")
    }

    /// Doubles of solver workspace per sample of dimension d.
    func workspacePerSample(dimension d: Int) -> Int {
        solver.workspacePerSample(dimension: d, hyperparameters.values(for: solver))
    }

    /// The solver and every hyperparameter's value (given or default) for the report. Call
    /// after ``validate()``: the values are in range.
    func makeSolver() -> (solver: any FixedPointSolver, parameters: [String: ParameterValue]) {
        let given = hyperparameters.values(for: solver)
        return (solver.makeSolver(given), solver.resolved(given))
    }
}
