import Foundation
import Testing
import Equilibrium

@Suite struct ResidualTraceWriterTests {
    private static func history(_ absolute: [Double]) -> ResidualHistory {
        var h = ResidualHistory()
        for (k, a) in absolute.enumerated() {
            h.iterations.append(k)
            h.evaluations.append(k + 1)
            h.seconds.append(1e-3 * Double(k))
            h.absolute.append(a)
            h.relative.append(a / 2)
        }
        return h
    }

    @Test func blocksCommentsAndColumns() {
        let writer = ResidualTraceWriter(comments: ["solver: test", "two\nlines"])
        let text = writer.text(histories: [Self.history([1, 0.5]), Self.history([2, 1, 0.1])])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(4)) == ["# solver: test", "# two", "# lines",
                                           "# iteration nfe seconds abs_residual rel_residual"])
        let blocks = text.components(separatedBy: "\n\n\n")
        #expect(blocks.count == 2)
        #expect(blocks[1].hasPrefix("# sample 1\n"))
        let rows = blocks[1].split(separator: "\n").dropFirst().map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(rows.map(\.count) == [5, 5, 5])
        #expect(rows.map { $0[3] } == [2, 1, 0.1], "17 significant digits round-trip exactly")
        #expect(rows.map { $0[1] } == [1, 2, 3])
        #expect(text.hasSuffix("\n") && !text.hasSuffix("\n\n"))
    }

    @Test func nonFiniteValuesAreWrittenAsNumPyReadsThem() {
        let text = ResidualTraceWriter().text(histories: [Self.history([.nan, .infinity, -.infinity])])
        let data = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(data.map { $0.split(separator: " ")[3] } == ["nan", "inf", "-inf"])
    }

    @Test func writesAtomicallyAndReplaces() throws {
        let dir = try ScratchDirectory("ResidualTraceWriterTests")
        defer { dir.cleanUp() }
        let url = dir.file("trace.dat")
        try Data("old".utf8).write(to: url)
        let writer = ResidualTraceWriter(comments: ["x"])
        let histories = [Self.history([3, 2, 1])]
        try writer.write(histories: histories, to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == writer.text(histories: histories))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["trace.dat"], "no temporary file left")
    }

    @Test func unwritableDestinationNamesTheFile() {
        let url = URL(fileURLWithPath: "/nonexistent-directory/trace.dat")
        do {
            try ResidualTraceWriter().write(histories: [], to: url)
            Issue.record("expected a ResidualTraceError")
        } catch {
            #expect(error.file == url.path)
            #expect(error.description.hasPrefix(url.path))
        }
    }
}
