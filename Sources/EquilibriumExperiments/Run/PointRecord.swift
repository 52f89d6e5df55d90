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

        public var converged: Bool { outcome == .converged }
    }

    /// A residual history in columns (one entry per iterate).
    public struct History: Sendable, Codable, Equatable {
        public var iteration: [Int]
        public var nfe: [Int]
        public var seconds: [Double]
        public var absResidual: [Double]
        public var relResidual: [Double]
    }

    public struct Alignment: Sendable, Codable, Equatable {
        /// The AA score with the experiment's stopping criteria, over all B² pairs (the
        /// authors' definition, ``PathIndependence``).
        public var score: Double
        public var perExample: [Double]
        /// Fraction of the B² re-solves that converged.
        public var convergedFraction: Double
        /// AA over the pairs i ≠ j (nil in records written before it was kept).
        public var offDiagonalScore: Double?
        /// Every pair's cosine and outcome (nil in older records).
        public var pairs: Pairs?
        /// AA with the iteration budget capped: (budget, score).
        public var budgets: [Budget]
        /// Mean cosine between the default start's solution and each other start's.
        public var starts: [Start]

        init(_ alignment: PathIndependence.Alignment, budgets: [Budget], starts: [Start]) {
            score = alignment.score
            perExample = alignment.perExample
            convergedFraction = alignment.convergedFraction
            offDiagonalScore = alignment.offDiagonalScore
            pairs = Pairs(alignment)
            self.budgets = budgets
            self.starts = starts
        }
    }

    /// The B × B pair matrices of an AA measurement, row-major: [i·B + j] is input i re-solved
    /// from input j's fixed point.
    public struct Pairs: Sendable, Codable, Equatable {
        public var batchSize: Int
        public var cosines: [Double]
        public var converged: [Bool]

        init(_ alignment: PathIndependence.Alignment) {
            batchSize = alignment.batchSize
            cosines = alignment.pairCosines
            converged = alignment.pairConverged
        }

        public var alignment: PathIndependence.Alignment {
            .init(batchSize: batchSize, pairCosines: cosines, pairConverged: converged)
        }
    }

    public struct Budget: Sendable, Codable, Equatable {
        public var budget: Int
        public var score: Double
        public var offDiagonalScore: Double?
        public var convergedFraction: Double?
        public var pairs: Pairs?

        init(budget: Int, _ alignment: PathIndependence.Alignment) {
            self.budget = budget
            score = alignment.score
            offDiagonalScore = alignment.offDiagonalScore
            convergedFraction = alignment.convergedFraction
            pairs = Pairs(alignment)
        }
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
    /// The residual history of the slowest sample (most f evaluations), the one that sets the
    /// batch's cost and the one the curves show; at most ``maxCurvePoints`` entries.
    public var curve: Curve?
    public var pathIndependence: Alignment?
    /// The `gradients` measurement (default start only).
    public var gradients: GradientStudyRecord?
    /// The `jacobian-diagnostics` measurement (default start only).
    public var jacobian: JacobianStudyRecord?

    /// A sample's residual history, thinned for storage.
    public struct Curve: Sendable, Codable, Equatable {
        public var sample: Int
        /// Entries in the full history; when more than ``PointRecord/maxCurvePoints``, every
        /// `stride`-th entry is kept, and always the first and the last.
        public var length: Int
        public var stride: Int
        public var history: History
    }

    /// Histories longer than this are thinned in point files (the curves need no more).
    public static let maxCurvePoints = 2000

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
                   absResidual: report.absoluteResidual, relResidual: report.relativeResidual)
        }
        curve = result.samples.indices.max { result.samples[$0].evaluations < result.samples[$1].evaluations }
            .map { Self.curve(of: result.samples[$0].history, sample: $0) }
        self.pathIndependence = pathIndependence
        self.gradients = gradients
        self.jacobian = jacobian
    }

    static func curve(of history: ResidualHistory, sample: Int) -> Curve {
        let n = history.count
        let stride = max(1, (n + maxCurvePoints - 1) / maxCurvePoints)
        var kept = Array(Swift.stride(from: 0, to: n, by: stride))
        if let last = kept.last, last != n - 1 { kept.append(n - 1) }
        return Curve(sample: sample, length: n, stride: stride,
                     history: History(iteration: kept.map { history.iterations[$0] }, nfe: kept.map { history.evaluations[$0] },
                                      seconds: kept.map { history.seconds[$0] }, absResidual: kept.map { history.absolute[$0] },
                                      relResidual: kept.map { history.relative[$0] }))
    }

    // MARK: Storage

    static let encoder = JSONFormat.encoder(pretty: false)
    static let decoder = JSONFormat.decoder()

    /// Reads a point file; nil when it is missing, unreadable or not a complete record.
    static func read(from url: URL) -> PointRecord? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? decoder.decode(PointRecord.self, from: data)
    }

    func write(to url: URL) throws {
        try AtomicFile.write(try Self.encoder.encode(self), to: url)
    }
}
