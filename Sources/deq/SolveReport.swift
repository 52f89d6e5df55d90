import Equilibrium
import EquilibriumExperiments

/// A JSON number that is `null` when not finite: JSON has no NaN or infinity, and an invalid
/// document is worse than a missing value.
struct JSONNumber: Codable, Equatable {
    var value: Double

    init(_ value: Double) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = container.decodeNil() ? .nan : try container.decode(Double.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
    }
}

/// The JSON output of `deq solve --json`: one object per solve.
///
/// Required keys: `solver`, `converged` (every sample), `nfe` (the largest over samples),
/// `wallSeconds`, `samples`. Extras: the solver's `options`, the stopping `criteria`, the
/// starting batch `init`, and the `cell`.
struct SolveReport: Codable {
    var solver: String
    var converged: Bool
    var convergedSamples: Int
    var nfe: Int
    var totalNfe: Int
    var wallSeconds: JSONNumber
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
        nfe = result.maxEvaluations
        totalNfe = result.totalEvaluations
        wallSeconds = JSONNumber(result.wallSeconds)
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
    var absResidual: JSONNumber
    var relResidual: JSONNumber
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
        absResidual = JSONNumber(report.absoluteResidual)
        relResidual = JSONNumber(report.relativeResidual)
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

/// The cell: synthetic (rho, symmetric, seed) or read from files (paths).
struct CellReport: Codable {
    var kind: CellKind
    var dim: Int
    var batch: Int
    var rho: Double?
    var symmetric: Bool?
    var seed: UInt64?
    var injectionScale: Double?
    var weights: String?
    var inputWeights: String?
    var bias: String?
    var injection: String?
    /// The residual cells: inner width or channels, GroupNorm groups, weight σ.
    var inner: Int?
    var groups: Int?
    var sigma: Double?
    /// The convolutional cells: C, C_in, and [L] or [H, W].
    var channels: Int?
    var inChannels: Int?
    var spatial: [Int]?
    /// The monotone cell: m and the scale of A and B.
    var monotonicity: Double?
    var weightScale: Double?
    /// The directory the weights came from.
    var weightsDir: String?

    init(kind: CellKind, dim: Int, batch: Int) {
        self.kind = kind
        self.dim = dim
        self.batch = batch
    }

    var summary: String {
        var parts = ["\(kind.rawValue) dim=\(dim) batch=\(batch)"]
        if let channels { parts.append("channels=\(channels)") }
        if let inner { parts.append("inner=\(inner)") }
        if let inChannels { parts.append("in-channels=\(inChannels)") }
        if let spatial { parts.append("spatial=\(spatial.map(String.init).joined(separator: "x"))") }
        if let groups { parts.append("groups=\(groups)") }
        if let sigma { parts.append("sigma=\(sigma)") }
        if let monotonicity { parts.append("monotonicity=\(monotonicity)") }
        if let weightScale { parts.append("weight-scale=\(weightScale)") }
        if let weightsDir { parts.append("weights-dir=\(weightsDir)") }
        if let rho { parts.append("rho=\(rho)") }
        if let symmetric { parts.append("symmetric=\(symmetric)") }
        if let weights { parts.append("weights=\(weights)") }
        if let inputWeights { parts.append("input-weights=\(inputWeights)") }
        if let bias { parts.append("bias=\(bias)") }
        if let injection { parts.append("injection=\(injection)") }
        if let seed { parts.append("seed=\(seed)") }
        if let injectionScale { parts.append("injection-scale=\(injectionScale)") }
        return parts.joined(separator: " ")
    }
}
