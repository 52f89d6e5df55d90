import Equilibrium
import Foundation

/// The human-readable output of `deq solve`: one row per sample, a summary line, and the
/// explanation of every outcome other than convergence, once.
enum SolveTable {
    static func render(_ report: SolveReport) -> String {
        let header = ["sample", "outcome", "iterations", "nfe", "abs residual", "rel residual"]
        let rows = report.samples.map { row in
            ["\(row.sample)", row.outcome.rawValue, "\(row.iterations)", "\(row.nfe)",
             residual(row.absResidual), residual(row.relResidual)]
        }
        // Text columns left-aligned, numbers right-aligned.
        let leftAligned: Set<Int> = [1]
        let widths = header.indices.map { j in ([header] + rows).map { $0[j].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.indices.map { j in
                let pad = String(repeating: " ", count: widths[j] - cells[j].count)
                return leftAligned.contains(j) ? cells[j] + pad : pad + cells[j]
            }.joined(separator: "  ")
        }
        var out = [line(header)] + rows.map(line)
        let total = report.samples.count
        out.append("\(report.solver): \(report.convergedSamples)/\(total) converged, max nfe \(report.nfe), wall \(seconds(report.wallSeconds))")
        let failed = report.samples.filter { !$0.converged }
        if !failed.isEmpty {
            let which = failed.map { "\($0.sample)" }.joined(separator: ", ")
            let noun = failed.count == 1 ? "sample" : "samples"
            out.append("\(failed.count) of \(total) samples did NOT converge (\(noun) \(which)); the rows show the best point found.")
            var explained: Set<SolveOutcome> = []
            for row in failed where explained.insert(row.outcome).inserted {
                out.append(row.outcome.explanation.prefix(1).uppercased() + row.outcome.explanation.dropFirst() + ".")
            }
        }
        return out.joined(separator: "\n")
    }

    private static func residual(_ x: Double) -> String {
        x.isFinite ? String(format: "%.3e", x) : "\(x)"
    }

    private static func seconds(_ t: Double) -> String {
        t < 1 ? String(format: "%.3g ms", t * 1e3) : String(format: "%.3f s", t)
    }
}
