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
        /// α of both methods' x-update.
        public var step: Double
        public var solver: any FixedPointSolver
        public var criteria: StoppingCriteria
        /// Nested: outer-step limit and projected-gradient tolerance.
        public var maxSteps: Int
        public var gradientTolerance: Double
        /// The criteria of the off-budget forward solves that verify each iterate's true objective.
        public var verifyCriteria: StoppingCriteria

        public init(epsilon: Double, lower: Double, upper: Double, step: Double, solver: any FixedPointSolver,
                    criteria: StoppingCriteria, maxSteps: Int, gradientTolerance: Double, verifyCriteria: StoppingCriteria) {
            self.epsilon = epsilon
            self.lower = lower
            self.upper = upper
            self.step = step
            self.solver = solver
            self.criteria = criteria
            self.maxSteps = maxSteps
            self.gradientTolerance = gradientTolerance
            self.verifyCriteria = verifyCriteria
        }

        /// The settings both methods share.
        public var comparison: InputOptimizationComparison.Settings {
            InputOptimizationComparison.Settings(step: step, solver: solver, criteria: criteria, maxSteps: maxSteps,
                                                 gradientTolerance: gradientTolerance, verifyCriteria: verifyCriteria)
        }
    }

    public typealias Point = InputOptimizationComparison.Point

    /// One method on one image of one model.
    public struct Run: Codable, Sendable, ComparedRun {
        public var model: String
        public var image: Int
        public var label: Int
        public var method: String
        public var converged: Bool
        public var note: String
        public var evaluations: Int
        public var products: Int
        public var seconds: Double
        /// F at u₀ and at the returned u, each from a verifying forward solve.
        public var initialObjective: Double
        public var finalObjective: Double
        /// Whether the verifying forward solve at the returned u converged.
        public var finalVerified: Bool
        public var correctBefore: Bool
        public var correctAfter: Bool
        /// ‖u − u₀‖_∞ of the returned image.
        public var perturbation: Double
        public var trace: [Point]
        /// The first trace point within 1 % of F* (the better final objective of the two
        /// methods on this image): F ≤ F* + 0.01·|F*|; nil when never reached.
        public var reached: Point?
        /// The first trace point within 1 % of the *worse* final objective of the two methods
        /// (F ≤ F_w + 0.01·|F_w|): the level both methods reach when they stop at different
        /// stationary points of this non-convex problem; nil when never reached.
        public var reachedCommon: Point?
        public var comparisonKey: String { "\(model) image \(image)" }
    }

    /// Runs nested then joint on image `image` (one row u₀, label y) of `model`.
    public static func compare(model: ConvClassifier, modelName: String, image u0: Matrix, index: Int, label: Int,
                               options o: Options) throws -> [Run] {
        let cell = try ClassifierImageCell(model: model, images: u0)
        let loss = try NegativeCrossEntropyLoss(model: model, labels: [label])
        let problem = try InputOptimizationProblem(cell: cell, loss: loss, penalty: 0,
                                                   constraint: .infinityBallInBox(center: u0, radius: o.epsilon, lower: o.lower, upper: o.upper))
        let results = try InputOptimizationComparison.optimize(problem, settings: o.comparison)
        let (initial, initialSolve) = try problem.objective(at: problem.initialInput, solver: o.solver, criteria: o.verifyCriteria)
        let correctBefore = try loss.correct(states: initialSolve.solution, samples: [0])[0]
        var runs = [Run]()
        for r in results {
            let trace = try InputOptimizationComparison.verifiedTrace(r, problem: problem, settings: o.comparison)
            let (final, finalSolve) = try problem.objective(at: r.inputs, solver: o.solver, criteria: o.verifyCriteria)
            var perturbation = 0.0
            for j in 0..<u0.columns { perturbation = max(perturbation, abs(r.inputs[0, j] - u0[0, j])) }
            runs.append(Run(model: modelName, image: index, label: label, method: r.method, converged: r.converged, note: r.note,
                            evaluations: r.cellEvaluations, products: r.cellEvaluations + r.vectorJacobianProducts,
                            seconds: r.wallSeconds, initialObjective: initial[0], finalObjective: final[0],
                            finalVerified: finalSolve.converged, correctBefore: correctBefore,
                            correctAfter: try loss.correct(states: finalSolve.solution, samples: [0])[0],
                            perturbation: perturbation, trace: trace, reached: nil, reachedCommon: nil))
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
            let m = runs.filter { $0.method == method }
            let flipped = m.filter { $0.correctBefore && !$0.correctAfter }.count, wasCorrect = m.filter(\.correctBefore).count
            text += "\n\(method): misclassified after the attack \(m.filter { !$0.correctAfter }.count) of \(m.count) (flipped \(flipped) of \(wasCorrect) correctly classified); converged \(m.filter(\.converged).count) of \(m.count)."
        }
        return text + "\n"
    }
}
