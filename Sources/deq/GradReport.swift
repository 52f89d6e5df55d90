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
/// with `--save`). Non-finite numbers are `null`.
struct GradReport: Encodable {
    struct Forward: Encodable {
        var solver: String
        var converged: Bool
        var convergedSamples: Int
        var nfe: Int
        var wallSeconds: JSONNumber
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
        var wallSeconds: JSONNumber
    }

    struct Baseline: Encodable {
        var label: String
        var wallSeconds: JSONNumber
    }

    struct Parameter: Encodable {
        var name: String
        var cosine: JSONNumber
        var relativeError: JSONNumber
    }

    struct Backward: Encodable {
        var solver: String
        var converged: Bool
        var convergedSamples: Int
        var samples: Int
        var outcome: SolveOutcome
        var maxIterations: Int
        var maxRelResidual: JSONNumber
        var maxAbsResidual: JSONNumber
    }

    struct Estimator: Encodable {
        var estimator: String
        var label: String
        var k: Int?
        var lambda: Double?
        var backwardSolver: String?
        var refine: Int?
        var cosine: JSONNumber
        var relativeError: JSONNumber
        var inputCosine: JSONNumber
        var inputRelativeError: JSONNumber
        var perParameter: [Parameter]
        var vjp: Int
        var totalVjp: Int
        var jvp: Int
        var evaluations: Int
        var parameterProducts: Int
        var floatsKept: Int
        var wallSeconds: JSONNumber
        var speedupOverExact: JSONNumber
        var ratioToForward: JSONNumber
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
                          convergedSamples: result.samples.filter(\.converged).count, nfe: result.maxEvaluations,
                          wallSeconds: JSONNumber(result.wallSeconds), options: options, criteria: CriteriaReport(result.criteria))
        self.cell = cell
        self.initialization = initialization
        self.upstream = upstream
        reference = Reference(label: study.reference, converged: study.referenceConverged,
                              wallSeconds: JSONNumber(study.referenceSeconds))
        exactBaseline = Baseline(label: study.exactBaseline, wallSeconds: JSONNumber(study.exactSeconds))
        notes = study.notes
        estimators = study.entries.map { e in
            Estimator(estimator: e.estimator, label: e.label, k: e.k, lambda: e.lambda, backwardSolver: e.backwardSolver,
                      refine: e.refine, cosine: JSONNumber(e.cosine), relativeError: JSONNumber(e.relativeError),
                      inputCosine: JSONNumber(e.inputCosine), inputRelativeError: JSONNumber(e.inputRelativeError),
                      perParameter: e.perParameter.map { Parameter(name: $0.name, cosine: JSONNumber($0.cosine),
                                                                   relativeError: JSONNumber($0.relativeError)) },
                      vjp: e.vjp, totalVjp: e.totalVjp, jvp: e.jvp, evaluations: e.evaluations,
                      parameterProducts: e.parameterProducts, floatsKept: e.floatsKept,
                      wallSeconds: JSONNumber(e.seconds), speedupOverExact: JSONNumber(e.speedupOverExact),
                      ratioToForward: JSONNumber(e.ratioToForward),
                      backward: e.backward.map { b in
                          Backward(solver: b.solver, converged: b.converged, convergedSamples: b.convergedSamples,
                                   samples: b.samples, outcome: b.outcome, maxIterations: b.maxIterations,
                                   maxRelResidual: JSONNumber(b.maxRelResidual), maxAbsResidual: JSONNumber(b.maxAbsResidual))
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
        lines.append("forward: \(f.solver), \(f.convergedSamples)/\(report.cell.batch) samples converged, nfe \(f.nfe), \(seconds(f.wallSeconds.value))")
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
            rows.append([e.label, fixed(e.cosine.value, 6), scientific(e.relativeError.value), fixed(e.inputCosine.value, 6),
                         String(e.vjp), seconds(e.wallSeconds.value), fixed(e.speedupOverExact.value, 2) + "×",
                         fixed(e.ratioToForward.value, 3), backward])
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
