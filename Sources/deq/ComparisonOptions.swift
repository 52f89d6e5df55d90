import ArgumentParser
import Equilibrium
import EquilibriumExperiments

/// The options `deq attack` and `deq inpaint` share: the test images and the solves' and the
/// nested method's limits of ``InputOptimizationComparison/Settings`` (Anderson for every solve;
/// the true objectives re-solved to 1e-10).
struct ComparisonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated test-image indices.", valueName: "list"))
    var images: String = "0,1,2"

    @Option(parsing: .unconditional, help: "Residual tolerance (relative) of the inner solves and the augmented solve.")
    var tol: Double = 1e-6

    @Option(name: .customLong("max-iter"), parsing: .unconditional, help: "Most iterations per solve (inner or augmented).")
    var maxIter: Int = 3000

    @Option(name: .customLong("max-steps"), parsing: .unconditional, help: "Most outer steps of the nested method.")
    var maxSteps: Int = 300

    @Option(name: .customLong("gradient-tol"), parsing: .unconditional, help: "Nested: stop at this projected-gradient norm.")
    var gradientTol: Double = 1e-5

    /// The comma-separated values of `text` for option `name`, each checked by `valid`.
    static func list<T>(_ text: String, _ name: String, _ expected: String, _ parse: (String) -> T?, _ valid: (T) -> Bool) throws -> [T] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { parse($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0.map(valid) ?? false }) else {
            throw ValidationError("--\(name) \(text): expected \(expected)")
        }
        return parts.map { $0! }
    }

    func indices() throws -> [Int] {
        try Self.list(images, "images", "comma-separated non-negative integers, e.g. --images 0,1,2", { Int($0) }, { $0 >= 0 })
    }

    func validate() throws {
        _ = try indices()
        guard tol > 0, tol.isFinite else { throw ValidationError("--tol must be positive and finite; got \(tol)") }
        guard maxIter >= 1 else { throw ValidationError("--max-iter must be ≥ 1; got \(maxIter)") }
        guard maxSteps >= 1 else { throw ValidationError("--max-steps must be ≥ 1; got \(maxSteps)") }
        guard gradientTol > 0, gradientTol.isFinite else { throw ValidationError("--gradient-tol must be positive and finite; got \(gradientTol)") }
    }

    /// The shared settings with step α.
    func settings(step: Double) throws -> InputOptimizationComparison.Settings {
        let criteria = try StoppingCriteria(tolerance: tol, measure: .relative, maxIterations: maxIter, recordHistory: false)
        let verify = try StoppingCriteria(tolerance: 1e-10, measure: .relative, maxIterations: 10_000, recordHistory: false)
        return InputOptimizationComparison.Settings(step: step, solver: AndersonAcceleration(), criteria: criteria, maxSteps: maxSteps,
                                                    gradientTolerance: gradientTol, verifyCriteria: verify)
    }
}
