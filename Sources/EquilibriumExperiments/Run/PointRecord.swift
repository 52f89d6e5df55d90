import Equilibrium
import Foundation

/// The result of one grid point, stored as `points/<id>.json` (written atomically).
public struct PointRecord: Sendable, Codable, Equatable {
    public struct Sample: Sendable, Codable, Equatable {
        public var outcome: SolveOutcome
        public var iterations: Int
        public var nfe: Int
        public var jvp: Int
        public var vjp: Int
        public var krylovIterations: Int?
        public var absResidual: Double
        public var relResidual: Double
        public var history: History

        public var converged: Bool { outcome == .converged }
    }

    /// A residual history in columns (one entry per evaluation).
    public struct History: Sendable, Codable, Equatable {
        public var iteration: [Int]
        public var nfe: [Int]
        public var seconds: [Double]
        public var absResidual: [Double]
        public var relResidual: [Double]
    }

    public struct Alignment: Sendable, Codable, Equatable {
        /// The AA score with the experiment's stopping criteria.
        public var score: Double
        public var perExample: [Double]
        public var convergedFraction: Double
        /// AA with the iteration budget capped: (budget, score).
        public var budgets: [Budget]
        /// Mean cosine between the default start's solution and each other start's.
        public var starts: [Start]
    }

    public struct Budget: Sendable, Codable, Equatable {
        public var budget: Int
        public var score: Double
    }

    public struct Start: Sendable, Codable, Equatable {
        public var initialization: String
        public var meanCosine: Double
        public var perExample: [Double]
    }

    public var id: String
    public var point: GridPoint
    public var solverName: String
    public var wallSeconds: Double
    public var samples: [Sample]
    public var pathIndependence: Alignment?
    /// The `gradients` measurement (default start only).
    public var gradients: GradientStudyRecord?
    /// The `jacobian-diagnostics` measurement (default start only).
    public var jacobian: JacobianStudyRecord?

    public var converged: Bool { samples.allSatisfy(\.converged) }

    init(point: GridPoint, result: SolveResult, pathIndependence: Alignment?,
         gradients: GradientStudyRecord? = nil, jacobian: JacobianStudyRecord? = nil) {
        id = point.id
        self.point = point
        solverName = result.solverName
        wallSeconds = result.wallSeconds
        samples = result.samples.map { report in
            Sample(outcome: report.outcome, iterations: report.iterations, nfe: report.evaluations,
                   jvp: report.jacobianVectorProducts, vjp: report.vectorJacobianProducts,
                   krylovIterations: report.krylovIterations,
                   absResidual: report.absoluteResidual, relResidual: report.relativeResidual,
                   history: History(iteration: report.history.iterations, nfe: report.history.evaluations,
                                    seconds: report.history.seconds, absResidual: report.history.absolute,
                                    relResidual: report.history.relative))
        }
        self.pathIndependence = pathIndependence
        self.gradients = gradients
        self.jacobian = jacobian
    }

    // MARK: Storage

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }()

    /// Reads a point file; nil when it is missing, unreadable or not a complete record.
    static func read(from url: URL) -> PointRecord? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? decoder.decode(PointRecord.self, from: data)
    }

    func write(to url: URL) throws {
        try AtomicFile.write(try Self.encoder.encode(self), to: url)
    }
}
