import Equilibrium
import Foundation

/// Application 1 of issue 15: an untargeted adversarial perturbation of a trained
/// ``ConvClassifier``, joint (JIIO) against nested, docs/MATH.md §6:
///
///     min over u ∈ C of  F(u) = −CE(s(z*(u)), y),    z* = f(z*, x(u)),
///     C = {‖u − u₀‖_∞ ≤ ε} ∩ [lower, upper]ᵖ          (the ℓ∞ ball inside the pixel range)
///
/// Both methods get the same ``InputOptimizationProblem`` (``ClassifierImageCell``,
/// ``NegativeCrossEntropyLoss``, ``InputConstraint/infinityBallInBox(center:radius:lower:upper:)``),
/// the same solver and stopping criteria (nested: its forward and adjoint solves, warm-started;
/// joint: the augmented solve) and the same step rule (projected gradient, step α).
public enum DigitsAttack {
    public struct Options: Sendable {
        public var epsilon: Double
        public var lower: Double
        public var upper: Double
        /// The step α, solver, criteria and limits both methods share.
        public var comparison: InputOptimizationComparison.Settings

        public init(epsilon: Double, lower: Double, upper: Double, comparison: InputOptimizationComparison.Settings) {
            self.epsilon = epsilon
            self.lower = lower
            self.upper = upper
            self.comparison = comparison
        }
    }

    public typealias Point = InputOptimizationComparison.Point

    /// One method on one image of one model: the shared ``InputOptimizationComparison/Outcome``
    /// (its fields read through this record, e.g. `run.finalObjective`) and the attack's measures.
    @dynamicMemberLookup
    public struct Run: Codable, Sendable, ComparedRun {
        public var model: String
        public var image: Int
        public var label: Int
        public var correctBefore: Bool
        public var correctAfter: Bool
        /// ‖u − u₀‖_∞ of the returned image.
        public var perturbation: Double
        public var outcome: InputOptimizationComparison.Outcome
        public var comparisonKey: String { "\(model) image \(image)" }
        public subscript<T>(dynamicMember key: KeyPath<InputOptimizationComparison.Outcome, T>) -> T { outcome[keyPath: key] }
    }

    /// Runs nested then joint on image `image` (one row u₀, label y) of `model`.
    public static func compare(model: ConvClassifier, modelName: String, image u0: Matrix, index: Int, label: Int,
                               options o: Options) throws -> [Run] {
        let cell = try ClassifierImageCell(model: model, images: u0)
        let loss = try NegativeCrossEntropyLoss(model: model, labels: [label])
        let problem = try InputOptimizationProblem(cell: cell, loss: loss, penalty: 0,
                                                   constraint: .infinityBallInBox(center: u0, radius: o.epsilon, lower: o.lower, upper: o.upper))
        let s = o.comparison
        let (_, start) = try problem.objective(at: problem.initialInput, solver: s.solver, criteria: s.verifyCriteria)
        let correctBefore = try loss.correct(states: start.solution, samples: [0])[0]
        var runs = [Run]()
        for v in try InputOptimizationComparison.run(problem, settings: s) {
            var perturbation = 0.0
            for j in 0..<u0.columns { perturbation = max(perturbation, abs(v.result.inputs[0, j] - u0[0, j])) }
            runs.append(Run(model: modelName, image: index, label: label, correctBefore: correctBefore,
                            correctAfter: try loss.correct(states: v.finalSolve.solution, samples: [0])[0],
                            perturbation: perturbation, outcome: v.outcome))
        }
        InputOptimizationComparison.markReached(&runs)
        return runs
    }

    /// The summary table of a set of runs (pairs nested/joint per model and image), markdown.
    public static func summary(_ runs: [Run]) -> String {
        let pairs = InputOptimizationComparison.pairs(runs)
        var text = InputOptimizationComparison.ratioTable(pairs)
        text += "\n"
        text += "| model | image | label | method | converged | f evals | f + VJPs | s | F(u₀) | F(u) | f evals to 1 % of F* | to 1 % of worse final | correct before → after | ‖u − u₀‖_∞ |\n"
        text += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for (n, j) in pairs {
            for r in [n, j] {
                text += "| \(r.model) | \(r.image) | \(r.label) | \(r.method) | \(r.converged ? "yes" : "no") | \(r.evaluations) | \(r.products) | "
                text += String(format: "%.2f | %.4f | %.4f | ", r.seconds, r.initialObjective, r.finalObjective)
                text += "\(r.reached.map { "\($0.evaluations)" } ?? "not reached") | \(r.reachedCommon.map { "\($0.evaluations)" } ?? "not reached") | "
                text += "\(r.correctBefore) → \(r.correctAfter) | "
                text += String(format: "%.3g |\n", r.perturbation)
            }
        }
        for method in ["nested", "joint"] {
            let m = runs.filter { $0.outcome.method == method }
            let flipped = m.filter { $0.correctBefore && !$0.correctAfter }.count, wasCorrect = m.filter(\.correctBefore).count
            text += "\n\(method): misclassified after the attack \(m.filter { !$0.correctAfter }.count) of \(m.count) (flipped \(flipped) of \(wasCorrect) correctly classified); converged \(m.filter(\.converged).count) of \(m.count)."
        }
        return text + "\n"
    }
}
