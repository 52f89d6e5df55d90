import Equilibrium
import EquilibriumExperiments
import Foundation

/// The JSON output of `deq grad --json`.
///
/// Keys: `forward` (the forward solve), `cell`, `init`, `upstream` (where ∂L/∂z* came from),
/// `reference` (the gradient every estimator is compared with), `exactBaseline` (whose time the
/// speedups divide), `notes`, and `estimators`: one object per estimator configuration with
/// `cosine`/`relativeError` over θ, `inputCosine`/`inputRelativeError` over x, `perParameter`,
/// the counts (`vjp` per sample, `totalVjp`, `jvp`, `evaluations`, `parameterProducts`,
/// `floatsKept`), `wallSeconds`, `speedupOverExact`, `ratioToForward`, `backward` (for exact:
/// the backward solve's outcome), `fallbackSamples` (SHINE), `note`, and `saved` (its folder
/// with `--save`). Non-finite numbers are the strings "NaN", "Infinity" (``JSONFormat``).
struct GradReport: Encodable {
    struct Forward: Encodable {
        var solver: String
        var converged: Bool
        var convergedSamples: Int
        var nfe: Int
        var wallSeconds: Double
        var options: [String: ParameterValue]
        var criteria: CriteriaReport
    }

    struct Upstream: Encodable {
        var source: String
        var seed: UInt64?
        var path: String?
    }

    struct Reference: Encodable {
        var label: String
        var converged: Bool
        var wallSeconds: Double
    }

    struct Baseline: Encodable {
        var label: String
        var wallSeconds: Double
    }

    struct Parameter: Encodable {
        var name: String
        var cosine: Double
        var relativeError: Double
    }

    struct Backward: Encodable {
        var solver: String
        var converged: Bool
        var convergedSamples: Int
        var samples: Int
        var outcome: SolveOutcome
        var maxIterations: Int
        var maxRelResidual: Double
        var maxAbsResidual: Double
    }

    struct Estimator: Encodable {
        var estimator: String
        var label: String
        var k: Int?
        var damping: Double?
        var backwardSolver: String?
        var refine: Int?
        var cosine: Double
        var relativeError: Double
        var inputCosine: Double
        var inputRelativeError: Double
        var perParameter: [Parameter]
        var vjp: Int
        var totalVjp: Int
        var jvp: Int
        var evaluations: Int
        var parameterProducts: Int
        var floatsKept: Int
        var wallSeconds: Double
        var speedupOverExact: Double
        var ratioToForward: Double
        var backward: Backward?
        var fallbackSamples: Int?
        var note: String?
        var saved: String?
    }

    var forward: Forward
    var cell: CellReport
    var initialization: InitReport
    var upstream: Upstream
    var reference: Reference
    var exactBaseline: Baseline
    var notes: [String]
    var estimators: [Estimator]

    enum CodingKeys: String, CodingKey {
        case forward, cell
        case initialization = "init"
        case upstream, reference, exactBaseline, notes, estimators
    }

    init(forward result: SolveResult, study: GradientStudyRecord, options: [String: ParameterValue],
         initialization: InitReport, cell: CellReport, upstream: Upstream, saved: [String: String]) {
        forward = Forward(solver: result.solverName, converged: result.converged,
                          convergedSamples: result.samples.filter(\.converged).count, nfe: result.mostEvaluations,
                          wallSeconds: result.wallSeconds, options: options, criteria: CriteriaReport(result.criteria))
        self.cell = cell
        self.initialization = initialization
        self.upstream = upstream
        reference = Reference(label: study.reference, converged: study.referenceConverged,
                              wallSeconds: study.referenceSeconds)
        exactBaseline = Baseline(label: study.exactBaseline, wallSeconds: study.exactSeconds)
        notes = study.notes
        estimators = study.entries.map { e in
            Estimator(estimator: e.estimator, label: e.label, k: e.k, damping: e.damping, backwardSolver: e.backwardSolver,
                      refine: e.refine, cosine: e.cosine, relativeError: e.relativeError,
                      inputCosine: e.inputCosine, inputRelativeError: e.inputRelativeError,
                      perParameter: e.perParameter.map { Parameter(name: $0.name, cosine: $0.cosine,
                                                                   relativeError: $0.relativeError) },
                      vjp: e.vjp, totalVjp: e.totalVjp, jvp: e.jvp, evaluations: e.evaluations,
                      parameterProducts: e.parameterProducts, floatsKept: e.floatsKept,
                      wallSeconds: e.seconds, speedupOverExact: e.speedupOverExact,
                      ratioToForward: e.ratioToForward,
                      backward: e.backward.map { b in
                          Backward(solver: b.solver, converged: b.converged, convergedSamples: b.convergedSamples,
                                   samples: b.samples, outcome: b.outcome, maxIterations: b.maxIterations,
                                   maxRelResidual: b.maxRelResidual, maxAbsResidual: b.maxAbsResidual)
                      },
                      fallbackSamples: e.fallbackSamples, note: e.note, saved: saved[e.label])
        }
    }
}

/// The terminal table of `deq grad`.
enum GradTable {
    static func render(_ report: GradReport) -> String {
        var lines: [String] = []
        let f = report.forward
        lines.append("cell: \(report.cell.summary)")
        lines.append("forward: \(f.solver), \(f.convergedSamples)/\(report.cell.batch) samples converged, nfe \(f.nfe), \(seconds(f.wallSeconds))")
        lines.append("reference: \(report.reference.label)\(report.reference.converged ? "" : " (DID NOT CONVERGE: comparisons are against its best iterate)"); speedups against \(report.exactBaseline.label)")
        for note in report.notes { lines.append("note: \(note)") }
        lines.append("")
        let header = ["estimator", "cos θ", "rel.err θ", "cos x", "VJP", "time", "speedup", "×forward", "backward"]
        var rows: [[String]] = []
        for e in report.estimators {
            var backward = "–"
            if let b = e.backward {
                backward = b.converged ? "converged (\(b.maxIterations) it)" : "\(b.convergedSamples)/\(b.samples) converged: \(b.outcome.rawValue)"
            }
            if let fallbacks = e.fallbackSamples { backward = "fallback on \(fallbacks)/\(report.cell.batch)" }
            rows.append([e.label, fixed(e.cosine, 6), scientific(e.relativeError), fixed(e.inputCosine, 6),
                         String(e.vjp), seconds(e.wallSeconds), fixed(e.speedupOverExact, 2) + "×",
                         fixed(e.ratioToForward, 3), backward])
        }
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, text in text.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        lines.append(line(header))
        lines.append(line(widths.map { String(repeating: "-", count: $0) }))
        lines += rows.map(line)
        for e in report.estimators {
            if let b = e.backward, !b.converged {
                lines.append("")
                lines.append("\(e.label): \(b.outcome.explanation)")
            }
            if let note = e.note { lines.append("\(e.label): \(note)") }
        }
        return lines.joined(separator: "\n")
    }

    static func fixed(_ x: Double, _ digits: Int) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : "–" }
    static func scientific(_ x: Double) -> String { x.isFinite ? String(format: "%.2e", x) : "–" }
    static func seconds(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        if x < 1e-3 { return String(format: "%.0f µs", x * 1e6) }
        if x < 1 { return String(format: "%.2f ms", x * 1e3) }
        return String(format: "%.2f s", x)
    }
}
