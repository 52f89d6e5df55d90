import Equilibrium
import Foundation

/// Runs every configured gradient estimator at one fixed point and compares each with the
/// exact gradient: the `gradients` measurement of experiments and the computation of `deq grad`.
///
/// - Reference: the dense-LU implicit gradient when d ≤ ``GradientSpec/denseLimit``, else the
///   first iterative exact estimator (Anderson when none is configured). Its backward solve
///   must converge for the comparisons to mean anything; ``GradientStudyRecord/referenceConverged``
///   says whether it did.
/// - Exact baseline (for "speedup over exact"): the fastest exact estimator with an iterative
///   backward solve at the tightest backward tolerance that converged on every sample; when
///   none did, the reference. This compares estimators of *different* accuracy.
/// - Matched accuracy (for "speedup at equal error"): for every entry, the fastest iterative
///   exact estimator (any backward solver and tolerance) whose relative error against the
///   reference is at most this entry's: ``GradientEntry/matchedExact``,
///   ``GradientEntry/matchedSpeedup``, ``GradientEntry/matchedVjpRatio``. Sweep
///   `backward-tol` so that the exact gradient is offered at the approximate ones' accuracy.
/// - Times: with `timing-runs` R > 1 every configuration runs R times, interleaved (all once,
///   then all again), and its time is the median of its R runs; the numbers are the first run's
///   (the runs are deterministic).
/// - SHINE runs only with a Broyden inverse from the forward solve; otherwise it is skipped and
///   a note says so (falling back on every sample would only repeat JFB).
public enum GradientStudy {
    /// The record, the estimators' full results (in the order of the record's entries) and the
    /// reference result.
    public struct Outcome: Sendable {
        public var record: GradientStudyRecord
        public var results: [GradientResult]
        public var reference: GradientResult
    }

    /// The upstream gradient of an experiment point: ∂L/∂z* ~ N(0, I), B × d, seeded.
    public static func gaussianUpstream(batchSize: Int, dimension: Int, seed: UInt64) -> Matrix {
        var generator = SplitMix64(seed: seed)
        return .gaussian(rows: batchSize, columns: dimension, using: &generator)
    }

    public static func run<Cell: ParametricCell>(cell: Cell, forward: SolveResult, upstream: Matrix, spec: GradientSpec,
                                                 catalog: Catalog = .standard) throws(UsageError) -> Outcome {
        let byproducts = forward.byproducts
        let d = cell.dimension
        let solution = forward.solution
        var notes: [String] = []
        if !forward.converged {
            notes.append("the forward solve (\(forward.solverName)) did not converge on every sample: the gradients are taken at its returned points, which are not fixed points, so even the exact formula is only approximate there")
        }
        var configurations = try spec.configurations(catalog: catalog)
        let needInverse = Set(catalog.estimators.filter(\.needsInverseJacobian).map(\.name))
        if byproducts.inverseJacobian == nil, configurations.contains(where: { needInverse.contains($0.kind) }) {
            configurations.removeAll { needInverse.contains($0.kind) }
            notes.append("\(needInverse.sorted().joined(separator: ", ")) skipped: it needs the forward solver's inverse-Jacobian estimate, and the forward solver (\(forward.solverName)) keeps none (Broyden does)")
        }
        func run(_ estimator: any GradientEstimator) throws(UsageError) -> GradientResult {
            try estimator.estimate(cell: cell, solution: solution, upstream: upstream, byproducts: byproducts)
        }
        // The reference first (its time is not any estimator's).
        let firstIterative = configurations.first { $0.kind == "implicit" && $0.backwardSolver != "lu" }
        let reference: GradientResult
        if d <= spec.denseLimit {
            reference = try run(ImplicitGradient.denseLU)
        } else if let firstIterative {
            reference = try run(firstIterative.estimator)
        } else {
            reference = try run(try catalog.estimator(named: "implicit").makeEstimator(spec.implicitParameters(solver: "anderson"), catalog: catalog))
        }
        if !reference.converged {
            notes.append("the reference (\(reference.label)) did not converge on every sample; comparisons are against its best iterate")
        }
        var results: [GradientResult] = []
        for configuration in configurations { results.append(try run(configuration.estimator)) }
        if spec.timingRuns > 1 {
            var times = results.map { [$0.statistics.wallSeconds] }
            for _ in 1..<spec.timingRuns {
                for (index, configuration) in configurations.enumerated() {
                    times[index].append(try run(configuration.estimator).statistics.wallSeconds)
                }
            }
            for index in results.indices { results[index].statistics.wallSeconds = Statistics.median(times[index]) }
        }
        for index in results.indices { results[index].label = configurations[index].label }
        let tightest = configurations.compactMap(\.backwardTolerance).min()
        let candidates = zip(configurations, results).filter { configuration, result in
            configuration.kind == "implicit" && configuration.backwardSolver != "lu" && result.converged
                && configuration.backwardTolerance == tightest
        }.map(\.1)
        let baseline = candidates.min { $0.statistics.wallSeconds < $1.statistics.wallSeconds } ?? reference
        let exactSeconds = baseline.statistics.wallSeconds
        var entries: [GradientEntry] = []
        for (configuration, result) in zip(configurations, results) {
            entries.append(try GradientEntry(configuration: configuration, result: result, reference: reference,
                                             exactSeconds: exactSeconds, forwardSeconds: forward.wallSeconds))
        }
        // Matched accuracy: the fastest iterative exact entry at least as accurate as each entry.
        let exact = entries.indices.filter { configurations[$0].kind == "implicit" && configurations[$0].backwardSolver != "lu" }
        for index in entries.indices {
            let target = entries[index].relativeError
            guard target.isFinite,
                  let match = exact.filter({ entries[$0].relativeError <= target }).min(by: { entries[$0].seconds < entries[$1].seconds })
            else { continue }
            entries[index].matchedExact = entries[match].label
            entries[index].matchedExactSeconds = entries[match].seconds
            entries[index].matchedSpeedup = entries[index].seconds > 0 ? entries[match].seconds / entries[index].seconds : .nan
            entries[index].matchedVjpRatio = entries[index].vjp > 0 ? Double(entries[match].vjp) / Double(entries[index].vjp) : .nan
        }
        let record = GradientStudyRecord(
            reference: reference.label, referenceConverged: reference.converged,
            referenceSeconds: reference.statistics.wallSeconds, forwardSolver: forward.solverName,
            forwardSeconds: forward.wallSeconds, forwardConverged: forward.converged,
            exactBaseline: baseline.label, exactSeconds: exactSeconds, entries: entries, notes: notes)
        return Outcome(record: record, results: results, reference: reference)
    }
}

/// The `gradients` measurement of one grid point (stored in ``PointRecord``).
public struct GradientStudyRecord: Sendable, Codable, Equatable {
    /// The reference gradient's label (`implicit lu`, or an iterative exact one for large d).
    public var reference: String
    public var referenceConverged: Bool
    public var referenceSeconds: Double
    public var forwardSolver: String
    public var forwardSeconds: Double
    public var forwardConverged: Bool
    /// The exact estimator whose time is the baseline of ``GradientEntry/speedupOverExact``.
    public var exactBaseline: String
    public var exactSeconds: Double
    public var entries: [GradientEntry]
    /// Estimators skipped and caveats, in sentences.
    public var notes: [String]
}

/// One estimator's comparison with the reference and its cost.
public struct GradientEntry: Sendable, Codable, Equatable {
    public struct ParameterComparison: Sendable, Codable, Equatable {
        public var name: String
        public var cosine: Double
        public var relativeError: Double
    }

    /// The outcome of a backward solve, summarised over the samples.
    public struct BackwardSummary: Sendable, Codable, Equatable {
        public var solver: String
        public var converged: Bool
        public var convergedSamples: Int
        public var samples: Int
        /// The first non-converged outcome, else `converged`.
        public var outcome: SolveOutcome
        public var maxIterations: Int
        public var maxRelResidual: Double
        public var maxAbsResidual: Double

        init(_ report: BackwardSolveReport) {
            solver = report.solver
            converged = report.converged
            convergedSamples = report.convergedSamples
            samples = report.outcomes.count
            outcome = report.worstOutcome
            maxIterations = report.maxIterations
            maxRelResidual = report.relativeResiduals.max() ?? .nan
            maxAbsResidual = report.absoluteResiduals.max() ?? .nan
        }
    }

    public var estimator: String
    public var label: String
    public var k: Int?
    /// λ of the phantom estimators.
    public var damping: Double?
    public var backwardSolver: String?
    public var refine: Int?
    /// cos(dL/dθ, reference) over all parameters concatenated.
    public var cosine: Double
    /// ‖dL/dθ − reference‖ / ‖reference‖.
    public var relativeError: Double
    public var inputCosine: Double
    public var inputRelativeError: Double
    public var perParameter: [ParameterComparison]
    /// VJPs per sample (the largest over samples), over all samples, and JVPs per sample.
    public var vjp: Int
    public var totalVjp: Int
    public var jvp: Int
    public var evaluations: Int
    public var parameterProducts: Int
    public var floatsKept: Int
    /// The backward pass's wall time.
    public var seconds: Double
    /// The exact baseline's time divided by this one (> 1: faster than exact).
    public var speedupOverExact: Double
    /// This time divided by the forward solve's.
    public var ratioToForward: Double
    public var backward: BackwardSummary?
    public var fallbackSamples: Int?
    public var note: String?
    /// The adjoint tolerance of an iterative `implicit` entry.
    public var backwardTolerance: Double?
    /// The fastest iterative exact entry of the same point whose relative error is at most this
    /// entry's (nil when none is that accurate), its time, and that time / this entry's time.
    public var matchedExact: String?
    public var matchedExactSeconds: Double?
    public var matchedSpeedup: Double?
    /// The matched exact entry's VJPs per sample / this entry's.
    public var matchedVjpRatio: Double?

    init(configuration: GradientSpec.Configuration, result: GradientResult, reference: GradientResult,
         exactSeconds: Double, forwardSeconds: Double) throws(UsageError) {
        let comparison = try GradientComparison(result, reference: reference)
        estimator = result.estimator
        label = result.label
        k = configuration.steps
        damping = configuration.damping
        backwardSolver = configuration.backwardSolver
        backwardTolerance = configuration.backwardTolerance
        refine = configuration.refine
        cosine = comparison.parameterCosine
        relativeError = comparison.parameterRelativeError
        inputCosine = comparison.inputCosine
        inputRelativeError = comparison.inputRelativeError
        perParameter = comparison.perParameter.map { .init(name: $0.name, cosine: $0.cosine, relativeError: $0.relativeError) }
        let statistics = result.statistics
        vjp = statistics.vectorJacobianProducts
        totalVjp = statistics.totalVectorJacobianProducts
        jvp = statistics.jacobianVectorProducts
        evaluations = statistics.evaluations
        parameterProducts = statistics.parameterProducts
        floatsKept = statistics.floatsKept
        seconds = statistics.wallSeconds
        speedupOverExact = statistics.wallSeconds > 0 ? exactSeconds / statistics.wallSeconds : .nan
        ratioToForward = forwardSeconds > 0 ? statistics.wallSeconds / forwardSeconds : .nan
        backward = statistics.backward.map(BackwardSummary.init)
        fallbackSamples = statistics.fallbackSamples
        note = statistics.note
    }
}

extension MemoryBudget {
    /// Checks the memory of a gradient study before it starts: the dense-LU reference forms
    /// B Jacobians of d² (when d ≤ the dense limit), the unrolled phantom gradient keeps 3kBd
    /// doubles for its largest k, and every estimator a few B × d matrices.
    public func checkGradients(_ spec: GradientSpec, batchSize b: Int, dimension d: Int, source: String) throws(ResourceError) {
        let dense = d <= spec.denseLimit ? Size.doubles(b, d, d + 4) : 0
        let unrolled = spec.estimators.contains("phantom") ? Size.doubles(3, spec.steps.max() ?? 1, b, d) : 0
        try check(Size.sum([dense, unrolled, Size.doubles(16, b, d)]),
                  for: "the gradient study of \(b) samples of dimension \(d) (dense reference, unrolled states, covectors)",
                  source: source)
    }
}
