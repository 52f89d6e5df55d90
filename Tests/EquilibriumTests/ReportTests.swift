import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// The figures quoted in README.md and docs are the ones `Results/` gives (`deq report`).
@Suite struct ReportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every quoted block equals what the committed results give; a figure edited by hand, or
    /// results rerun without `deq report`, fails here.
    @Test func quotedBlocksAgreeWithResults() throws {
        let mismatches = try ResultsReport.update(root: Self.root, check: true)
        #expect(mismatches.isEmpty, "\(mismatches.map { "\($0)\n--- quoted:\n\($0.quoted)\n--- Results/ gives:\n\($0.generated)" }.joined(separator: "\n"))")
        // The README quotes these blocks (deleting one is not a way to pass).
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for name in ResultsReport.blockNames {
            #expect(readme.contains("<!-- results:\(name) -->") && readme.contains("<!-- /results:\(name) -->"), "\(name)")
        }
    }

    /// A block whose figure differs from the results is reported, and `update` rewrites it.
    @Test func aChangedFigureIsCaughtAndRewritten() throws {
        let scratch = try ScratchDirectory("report")
        defer { scratch.cleanUp() }
        try FileManager.default.createSymbolicLink(at: scratch.file("Results"), withDestinationURL: Self.root.appendingPathComponent("Results"))
        let generated = try ResultsReport.generate("path-independence", resultsRoot: Self.root.appendingPathComponent("Results"))
        let digit = try #require(generated.firstIndex { $0.isNumber && $0 != "0" })
        var tampered = generated
        tampered.replaceSubrange(digit...digit, with: generated[digit] == "9" ? "8" : "9")
        let text = "# x\n\n<!-- results:path-independence -->\n\(tampered)<!-- /results:path-independence -->\nafter\n"
        try text.write(to: scratch.file("README.md"), atomically: true, encoding: .utf8)
        let found = try ResultsReport.update(root: scratch.url, check: true)
        #expect(found.map(\.block) == ["path-independence"])
        #expect(try String(contentsOf: scratch.file("README.md"), encoding: .utf8) == text, "check does not write")
        _ = try ResultsReport.update(root: scratch.url, check: false)
        #expect(try ResultsReport.update(root: scratch.url, check: true).isEmpty)
        let rewritten = try String(contentsOf: scratch.file("README.md"), encoding: .utf8)
        #expect(rewritten.hasPrefix("# x\n\n<!-- results:path-independence -->\n") && rewritten.hasSuffix("<!-- /results:path-independence -->\nafter\n"))
        #expect(rewritten.contains(generated.trimmingCharacters(in: .newlines)))

        try "<!-- results:no-such-block -->\n<!-- /results:no-such-block -->\n".write(to: scratch.file("README.md"), atomically: true, encoding: .utf8)
        #expect { try ResultsReport.update(root: scratch.url, check: true) } throws: { "\($0)".contains("unknown block 'results:no-such-block'") }
        try "<!-- results:path-independence -->\n".write(to: scratch.file("README.md"), atomically: true, encoding: .utf8)
        #expect { try ResultsReport.update(root: scratch.url, check: true) } throws: { "\($0)".contains("no end marker") }
    }
}
