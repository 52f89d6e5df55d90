import Equilibrium
import EquilibriumExperiments

/// The JSON output of `deq solve --json`: one object per solve.
///
/// Required keys: `solver`, `converged` (every sample), `nfe` (the largest over samples),
/// `wallSeconds`, `samples`. Extras: the solver's `options`, the stopping `criteria`, the
/// starting batch `init`, and the `cell`. Non-finite numbers are the strings "NaN", "Infinity"
/// (``JSONFormat``).
struct SolveReport: Codable {
    var solver: String
    var converged: Bool
    var convergedSamples: Int
    var nfe: Int
    var totalNfe: Int
    var wallSeconds: Double
    var options: [String: ParameterValue]
    var criteria: CriteriaReport
    var initialization: InitReport
    var cell: CellReport
    var samples: [SampleRow]

    enum CodingKeys: String, CodingKey {
        case solver, converged, convergedSamples, nfe, totalNfe, wallSeconds, options, criteria
        case initialization = "init"
        case cell, samples
    }

    init(result: SolveResult, options: [String: ParameterValue], initialization: InitReport, cell: CellReport) {
        solver = result.solverName
        converged = result.converged
        convergedSamples = result.samples.filter(\.converged).count
        nfe = result.mostEvaluations
        totalNfe = result.totalEvaluations
        wallSeconds = result.wallSeconds
        self.options = options
        criteria = CriteriaReport(result.criteria)
        self.initialization = initialization
        self.cell = cell
        samples = result.samples.enumerated().map { SampleRow(index: $0.offset, $0.element) }
    }
}

/// One sample's statistics.
struct SampleRow: Codable {
    var sample: Int
    var converged: Bool
    var outcome: SolveOutcome
    var iterations: Int
    var nfe: Int
    var absResidual: Double
    var relResidual: Double
    /// Newton–Krylov's inner GMRES iterations (absent for other solvers).
    var krylovIterations: Int?
    /// Analytic Jacobian–vector and vector–Jacobian products (absent when none were used).
    var jvp: Int?
    var vjp: Int?

    init(index: Int, _ report: SampleReport) {
        sample = index
        converged = report.converged
        outcome = report.outcome
        iterations = report.iterations
        nfe = report.evaluations
        absResidual = report.absoluteResidual
        relResidual = report.relativeResidual
        krylovIterations = report.krylovIterations
        jvp = report.jacobianVectorProducts > 0 || report.krylovIterations != nil ? report.jacobianVectorProducts : nil
        vjp = report.vectorJacobianProducts > 0 ? report.vectorJacobianProducts : nil
    }
}

extension Dictionary where Key == String, Value == ParameterValue {
    /// `name=value` pairs sorted by name, for comment lines.
    var summary: String {
        keys.sorted().map { "\($0)=\(self[$0]!)" }.joined(separator: " ")
    }
}

/// The stopping criteria.
struct CriteriaReport: Codable {
    var tol: Double
    var stop: String
    var maxIter: Int
    var maxEvals: Int?
    var divergenceFactor: Double

    init(_ criteria: StoppingCriteria) {
        tol = criteria.tolerance
        stop = criteria.measure.rawValue
        maxIter = criteria.maxIterations
        maxEvals = criteria.maxEvaluations
        divergenceFactor = criteria.divergenceFactor
    }

    var summary: String {
        "tol=\(tol) stop=\(stop) max-iter=\(maxIter)" + (maxEvals.map { " max-evals=\($0)" } ?? "")
    }
}

/// The starting batch z₀.
struct InitReport: Codable {
    /// zero, gaussian, uniform, mixed or file.
    var kind: String
    var scale: Double?
    var seed: UInt64?
    var probability: Double?
    var path: String?

    var summary: String {
        var parts = [kind]
        if let scale { parts.append("scale=\(scale)") }
        if let seed { parts.append("seed=\(seed)") }
        if let probability { parts.append("probability=\(probability)") }
        if let path { parts.append(path) }
        return parts.joined(separator: " ")
    }
}
