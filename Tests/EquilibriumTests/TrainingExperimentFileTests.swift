import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// Training experiment files go through the same guarded reader as solver experiments
/// (``YAMLDocument``): alias bombs, invalid UTF-8 and a zero-epoch run are refused at parse time
/// with the file and, where one exists, the line (issue 10, defects 5 and 10).
@Suite struct TrainingExperimentFileTests {
    static let valid = """
        kind: phantom-training
        description: test
        base: {task: spirals, cell: tanh, width: 4, trainSize: 8, testSize: 4, epochs: 2}
        quick:
          trainSize: 8
          epochs: 1
        runs:
          - {label: exact, estimator: implicit}
          - {label: jfb, estimator: jfb}

        """

    func load(_ text: Data) throws -> TrainingExperiment {
        let scratch = try ScratchDirectory("deq-training-yaml")
        defer { scratch.cleanUp() }
        let file = scratch.file("t.yaml")
        try text.write(to: file)
        return try TrainingExperiment.load(file)
    }

    @Test func aValidFileParses() throws {
        let spec = try load(Data(Self.valid.utf8))
        #expect(spec.runs.count == 2 && spec.runs[0].quickOptions.epochs == 1)
    }

    @Test func zeroEpochsInQuickIsRefusedWithTheLine() throws {
        let text = Self.valid.replacingOccurrences(of: "  epochs: 1", with: "  epochs: 0")
        #expect { _ = try load(Data(text.utf8)) } throws: { error in
            "\(error)".contains("t.yaml line 6: runs[0] (exact) with quick: epochs must be ≥ 1 in an experiment, got 0")
        }
    }

    @Test func anAliasBombIsRefusedQuickly() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        text += "kind: phantom-training\nruns: [*a9]\n"
        #expect { _ = try load(Data(text.utf8)) } throws: { "\($0)".contains("more than 100000 YAML nodes") }
    }

    @Test func invalidUTF8NamesTheLine() throws {
        var data = Data(Self.valid.utf8)
        let secondLine = try #require(data.firstIndex(of: 0x0A)) + 1
        data.insert(0xFF, at: secondLine + 3)
        #expect { _ = try load(data) } throws: { "\($0)".contains("t.yaml line 2: the file is not valid UTF-8 (byte 0xFF") }
    }
}
