import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes per-sample residual histories as a gnuplot-ready text file.
///
/// The format, whitespace-separated, one line per f evaluation:
///
///     # <comment lines: what was solved, by which solver>
///     # iteration nfe seconds abs_residual rel_residual
///     # sample 0
///     0 1 1.2e-05 3.1 0.84
///     1 2 2.0e-05 1.7 0.52
///     …
///     <two blank lines>
///     # sample 1
///     …
///
/// Each sample is one gnuplot data block, so `plot 'f' index 0 using 2:4 with lines` draws
/// sample 0's absolute residual against nfe, and `plot for [i=0:B-1] 'f' index i using 2:4`
/// draws all of them. NumPy reads a block with `np.loadtxt` after splitting on the blank lines.
/// Residuals are printed with 17 significant digits (they round-trip exactly); NaN and
/// infinities as `nan`, `inf`, `-inf`, which NumPy parses and gnuplot skips as invalid.
///
/// The file is written atomically: a temporary file in the same directory, then rename(2), so a
/// reader never sees a half-written trace.
public struct ResidualTraceWriter: Sendable {
    /// The column names, in order, as written in the header.
    public static let columns = ["iteration", "nfe", "seconds", "abs_residual", "rel_residual"]

    /// Lines written as `# …` comments before the column header (solver, cell, criteria).
    public var comments: [String]

    public init(comments: [String] = []) {
        self.comments = comments
    }

    /// The text of the trace of `histories`, block i holding sample i.
    ///
    /// Cost: O(total history length) formatting, one string.
    public func text(histories: [ResidualHistory]) -> String {
        var out = ""
        for line in comments {
            // A comment must stay one line, or its continuation would become data.
            for part in line.split(separator: "\n", omittingEmptySubsequences: false) {
                out += "# \(part)\n"
            }
        }
        out += "# " + Self.columns.joined(separator: " ") + "\n"
        for (s, history) in histories.enumerated() {
            if s > 0 { out += "\n\n" }
            out += "# sample \(s)\n"
            for k in 0..<history.count {
                out += "\(history.iterations[k]) \(history.evaluations[k]) "
                out += Self.number(history.seconds[k], digits: 6) + " "
                out += Self.number(history.absolute[k], digits: 17) + " "
                out += Self.number(history.relative[k], digits: 17) + "\n"
            }
        }
        return out
    }

    /// The text of the trace of every sample of `result`.
    public func text(for result: SolveResult) -> String {
        text(histories: result.samples.map(\.history))
    }

    /// Writes the trace of `histories` to `url` atomically, replacing any existing file.
    public func write(histories: [ResidualHistory], to url: URL) throws(ResidualTraceError) {
        do {
            try AtomicFile.write(text(histories: histories), to: url)
        } catch {
            throw ResidualTraceError(file: error.path, reason: error.reason)
        }
    }

    /// Writes the trace of every sample of `result` to `url` atomically.
    public func write(_ result: SolveResult, to url: URL) throws(ResidualTraceError) {
        try write(histories: result.samples.map(\.history), to: url)
    }

    /// `%.*g` for finite values; `nan`, `inf`, `-inf` otherwise.
    private static func number(_ x: Double, digits: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return String(format: "%.\(digits)g", x)
    }
}

/// A residual trace that could not be written.
public struct ResidualTraceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path of the file.
    public var file: String
    /// What was wrong and what was expected.
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
