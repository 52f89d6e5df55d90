import Equilibrium
import Foundation

/// One method's run in a joint-vs-nested comparison (``InputOptimizationComparison``): an
/// application's own run record (``DigitsAttack/Run``, ``DigitsInpainting/Run``) holding the
/// shared ``InputOptimizationComparison/Outcome`` beside its own measures.
public protocol ComparedRun: Sendable {
    /// The two runs of one comparison share this key (model, image, settings).
    var comparisonKey: String { get }
    var outcome: InputOptimizationComparison.Outcome { get set }
}

/// The nested-vs-joint comparison shared by the applications of issue 15 (docs/MATH.md §6): the
/// same ``InputOptimizationProblem`` to both methods with the same solver, stopping criteria
/// and step rule; each iterate's true objective F(x_k) re-solved off budget; the cost to come
/// within 1 % of the pair's better final objective; and the ratio table nested / joint.
public enum InputOptimizationComparison {
    /// The settings both methods share.
    public struct Settings: Sendable {
        /// α of both methods' x-update.
        public var step: Double
        public var solver: any FixedPointSolver
        /// Nested: its forward and adjoint solves (warm-started); joint: the augmented solve.
        public var criteria: StoppingCriteria
        /// Nested: outer-step limit and projected-gradient tolerance.
        public var maxSteps: Int
        public var gradientTolerance: Double
        /// The criteria of the off-budget forward solves that verify each iterate's true objective.
        public var verifyCriteria: StoppingCriteria

        public init(step: Double, solver: any FixedPointSolver, criteria: StoppingCriteria, maxSteps: Int,
                    gradientTolerance: Double, verifyCriteria: StoppingCriteria) {
            self.step = step
            self.solver = solver
            self.criteria = criteria
            self.maxSteps = maxSteps
            self.gradientTolerance = gradientTolerance
            self.verifyCriteria = verifyCriteria
        }
    }

    /// One trace point: cumulative f evaluations, f evaluations + VJPs (as ``Outcome/products``)
    /// and seconds, and the true objective F(x_k) re-solved (not counted).
    public struct Point: Codable, Sendable {
        public var evaluations: Int
        public var products: Int
        public var seconds: Double
        public var objective: Double
    }

    /// What every application records of one method's run.
    public struct Outcome: Codable, Sendable {
        /// `nested` or `joint`.
        public var method: String
        public var converged: Bool
        public var note: String
        /// f evaluations; f evaluations + VJPs; wall seconds (the optimiser's own, off-budget
        /// verification excluded).
        public var evaluations: Int
        public var products: Int
        public var seconds: Double
        /// F at x⁰ and at the returned x, each from a verifying forward solve.
        public var initialObjective: Double
        public var finalObjective: Double
        /// Whether the verifying forward solve at the returned x converged.
        public var finalVerified: Bool
        public var trace: [Point]
        /// The first trace point within 1 % of F* (the better final objective of the two
        /// methods): F ≤ F* + 0.01·|F*|; nil when never reached.
        public var reached: Point?
        /// The first trace point within 1 % of the *worse* final objective of the two methods
        /// (F ≤ F_w + 0.01·|F_w|): the level both methods reach when they stop at different
        /// stationary points of a non-convex problem; nil when never reached.
        public var reachedCommon: Point?
    }

    /// One method's result with its verified ``Outcome`` and the verifying solve at its final input.
    public struct Verified: Sendable {
        public var outcome: Outcome
        public var result: InputOptimizationResult
        public var finalSolve: SolveResult
    }

    /// Nested (projected gradient, warm-started inner solves) then joint on `problem`, each with
    /// its trace verified (``verifiedTrace(_:problem:settings:)``) and its initial and final
    /// true objectives (sample 0) re-solved under the verifying criteria.
    public static func run<Cell: ParametricCell>(_ problem: InputOptimizationProblem<Cell>,
                                                 settings s: Settings) throws -> [Verified] {
        let nested = try NestedInputOptimizer(forwardSolver: s.solver, forwardCriteria: s.criteria, adjointSolver: s.solver,
                                              adjointCriteria: s.criteria, stepSize: s.step, rule: .gradientDescent,
                                              maxSteps: s.maxSteps, gradientTolerance: s.gradientTolerance, warmStart: true)
        let joint = try JointInputOptimizer(solver: s.solver, criteria: s.criteria, stepSize: s.step)
        let (initial, _) = try problem.objective(at: problem.initialInput, solver: s.solver, criteria: s.verifyCriteria)
        return try [nested.optimize(problem, keepInputs: true), joint.optimize(problem, keepInputs: true)].map { r in
            let trace = try verifiedTrace(r, problem: problem, settings: s)
            let (final, finalSolve) = try problem.objective(at: r.inputs, solver: s.solver, criteria: s.verifyCriteria)
            let outcome = Outcome(method: r.method, converged: r.converged, note: r.note, evaluations: r.cellEvaluations,
                                  products: r.cellEvaluations + r.vectorJacobianProducts, seconds: r.wallSeconds,
                                  initialObjective: initial[0], finalObjective: final[0], finalVerified: finalSolve.converged,
                                  trace: trace, reached: nil, reachedCommon: nil)
            return Verified(outcome: outcome, result: r, finalSolve: finalSolve)
        }
    }

    /// The true objective F of sample 0 along `result`'s trace (entries picked by
    /// ``verified(_:)``), NaN where the verifying solve did not converge.
    public static func verifiedTrace<Cell: ParametricCell>(_ result: InputOptimizationResult, problem: InputOptimizationProblem<Cell>,
                                                           settings s: Settings) throws -> [Point] {
        var trace = [Point]()
        for (k, entry) in result.trace.enumerated() where verified(k) || k == result.trace.count - 1 {
            // The joint trace holds the x-block of the solver's iterate, which Anderson's
            // extrapolation may carry outside C: the true objective is taken at Proj_C(x), the
            // feasible input that iterate stands for (nested iterates are already feasible).
            guard let x = entry.inputs else { continue }
            let f = try problem.objective(at: problem.project(x), solver: s.solver, criteria: s.verifyCriteria)
            trace.append(Point(evaluations: entry.cellEvaluations, products: entry.cellEvaluations + entry.vectorJacobianProducts,
                               seconds: entry.seconds, objective: f.forward.converged ? f.values[0] : .nan))
        }
        return trace
    }

    /// Whether trace entry k (0-based) is re-solved for its true objective: every entry up to
    /// 100, every 10th up to 1000, every 100th after, and the last (the cost of verifying thousands of
    /// augmented iterates). The first entry found within 1 % is then at most 10 % (beyond 100
    /// entries; 1 % beyond 1000) later than the true first one: an upper bound on a method's
    /// cost, never an underestimate.
    static func verified(_ k: Int) -> Bool {
        k < 100 || (k < 1000 && k % 10 == 0) || k % 100 == 0
    }

    /// Sets ``ComparedRun/reached`` and ``ComparedRun/reachedCommon`` of the runs of one
    /// comparison: the first point with F ≤ F* + 0.01·|F*| for F* the better verified final
    /// objective, and likewise for the worse one (the level both methods reach when they stop
    /// at different stationary points of a non-convex problem); nil when never reached.
    public static func markReached<Run: ComparedRun>(_ runs: inout [Run]) {
        let finals = runs.map(\.outcome).filter(\.finalVerified).map(\.finalObjective)
        let best = finals.min() ?? .nan, worst = finals.max() ?? .nan
        let threshold = best + 0.01 * abs(best), common = worst + 0.01 * abs(worst)
        for k in runs.indices {
            runs[k].outcome.reached = runs[k].outcome.trace.first { $0.objective <= threshold }
            runs[k].outcome.reachedCommon = runs[k].outcome.trace.first { $0.objective <= common }
        }
    }

    /// The (nested, joint) pairs of `runs` by ``ComparedRun/comparisonKey``, in order.
    public static func pairs<Run: ComparedRun>(_ runs: [Run]) -> [(nested: Run, joint: Run)] {
        runs.filter { $0.outcome.method == "nested" }.compactMap { n in
            runs.first { $0.outcome.method == "joint" && $0.comparisonKey == n.comparisonKey }.map { (n, $0) }
        }
    }

    /// The ratios nested / joint of f evaluations, of f evaluations + VJPs and of wall time to
    /// reach each level, over the pairs where both methods reach it: median [min, max], n, and
    /// how many are ≥ 3 (the claim of issue 15). Markdown.
    public static func ratioTable<Run: ComparedRun>(_ pairs: [(nested: Run, joint: Run)]) -> String {
        var text = "| level | measure (nested / joint) | median [min, max] | n | ratio ≥ 3 |\n|---|---|---|---|---|\n"
        for (level, pick) in [("1 % of F* (better final)", { (r: Run) in r.outcome.reached }), ("1 % of the worse final", { (r: Run) in r.outcome.reachedCommon })] {
            let both = pairs.filter { pick($0.nested) != nil && pick($0.joint) != nil }
            func ratios(_ key: (Point) -> Double) -> [Double] { both.map { key(pick($0.nested)!) / key(pick($0.joint)!) } }
            for (name, r) in [("f evaluations", ratios { Double($0.evaluations) }), ("f evaluations + VJPs", ratios { Double($0.products) }),
                              ("wall time", ratios(\.seconds))] {
                text += "| \(level) | \(name) | \(spread(r)) | \(r.count) of \(pairs.count) | \(r.filter { $0 >= 3 }.count) |\n"
            }
        }
        return text
    }

    /// median [min, max] of `values` ("—" when empty).
    public static func spread(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "—" }
        let v = values.sorted()
        func f(_ x: Double) -> String { String(format: "%.3g", x) }
        return "\(f(VectorComparison.median(v))) [\(f(v[0])), \(f(v[v.count - 1]))]"
    }

    /// The gnuplot data of one comparison: one index block per method, columns f_evals
    /// f_plus_vjps seconds true_objective.
    public static func gnuplotData<Run: ComparedRun>(_ runs: [Run]) -> String {
        var dat = "# one index block per method (nested, joint): f_evals f_plus_vjps seconds true_objective\n"
        for r in runs.map(\.outcome) {
            dat += "# \(r.method)\n"
            for p in r.trace { dat += "\(p.evaluations) \(p.products) \(p.seconds) \(p.objective)\n" }
            dat += "\n\n"
        }
        return dat
    }
}
