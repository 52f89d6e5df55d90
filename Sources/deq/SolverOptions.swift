import ArgumentParser
import Equilibrium

/// The solvers `deq` can run. To add one: a case here, its hyperparameter flags in
/// ``hyperparameters``, and its construction in ``SolverOptions/makeSolver()``.
enum SolverKind: String, CaseIterable, ExpressibleByArgument, Codable {
    case forward
    case anderson

    /// The hyperparameter options that apply to this solver; the others are refused.
    var hyperparameters: Set<SolverOptions.Hyperparameter> {
        switch self {
        case .forward: [.damping]
        case .anderson: [.memory, .lambda, .beta, .delay]
        }
    }
}

/// The options that choose the solver and its hyperparameters. Defaults are the library's.
struct SolverOptions: ParsableArguments {
    /// The hyperparameter options, by their flag names.
    enum Hyperparameter: String, CaseIterable {
        case damping, memory, lambda, beta, delay
    }

    private static let forward = ForwardIteration()
    private static let anderson = AndersonAcceleration()

    @Option(help: "The fixed-point solver.")
    var solver: SolverKind = .anderson

    @Option(parsing: .unconditional,
            help: "Forward damping τ in (0, 2), where 1 is the plain step. (default: \(forward.damping))")
    var damping: Double?

    @Option(parsing: .unconditional,
            help: "Anderson memory m, the number of past steps mixed. (default: \(anderson.memory))")
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

    /// The hyperparameters given on the command line.
    private var given: [Hyperparameter] {
        let flags: [(Bool, Hyperparameter)] = [
            (damping != nil, .damping), (memory != nil, .memory), (lambda != nil, .lambda),
            (beta != nil, .beta), (delay != nil, .delay),
        ]
        return flags.filter(\.0).map(\.1)
    }

    mutating func validate() throws {
        for option in given where !solver.hyperparameters.contains(option) {
            let owners = SolverKind.allCases.filter { $0.hyperparameters.contains(option) }.map(\.rawValue)
            throw ValidationError("--\(option.rawValue) does not apply to --solver \(solver.rawValue); it is an option of \(owners.joined(separator: ", "))")
        }
        if let damping, !(damping > 0 && damping < 2) {
            throw ValidationError("--damping must lie in (0, 2) (τ = 1 is the plain step, τ < 1 damps); got \(damping)")
        }
        if let memory, memory < 1 {
            throw ValidationError("--memory must be at least 1 (the number of past steps Anderson mixes); got \(memory)")
        }
        if let memory, memory > 1000 {
            throw ValidationError("--memory \(memory) is beyond any useful Anderson memory and its O(m³) solves; expected at most 1000 (typically 3 to 20)")
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
    }

    /// Doubles of solver workspace per sample of dimension d, to refuse sizes that cannot be
    /// allocated before trying.
    func workspacePerSample(dimension d: Int) -> Int {
        switch solver {
        case .forward: 0
        case .anderson: 2 * (memory ?? Self.anderson.memory) * d
        }
    }

    /// The solver with the library's defaults overridden by the options given, and the
    /// hyperparameters for the report. Call after ``validate()``: the values are in range.
    func makeSolver() -> (solver: any FixedPointSolver, parameters: SolverParameters) {
        switch solver {
        case .forward:
            var s = Self.forward
            if let damping { s.damping = damping }
            return (s, SolverParameters(damping: s.damping))
        case .anderson:
            var s = Self.anderson
            if let memory { s.memory = memory }
            if let lambda { s.regularization = lambda }
            if let beta { s.mixing = beta }
            if let delay { s.delay = delay }
            return (s, SolverParameters(memory: s.memory, lambda: s.regularization, beta: s.mixing,
                                        delay: s.delay, maxConditionNumber: s.maxConditionNumber))
        }
    }
}
