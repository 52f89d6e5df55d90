import ArgumentParser
import EquilibriumExperiments
import Foundation

/// `deq report`: rewrite the figures that README.md and docs quote from `Results/`.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite the results quoted in README.md and docs from Results/.",
        discussion: """
            Every block between <!-- results:NAME --> and <!-- /results:NAME --> in README.md, \
            docs/EXPERIMENTS.md and Benchmarks/README.md is regenerated from the results folder it \
            names. --check only compares and exits with status 1 when a block differs. Blocks: \
            \(ResultsReport.blockNames.joined(separator: ", ")).
            """
    )

    @Option(help: ArgumentHelp("The checkout holding README.md and Results/.", valueName: "dir"))
    var root: String = "."

    @Flag(help: "Compare only: list the blocks that differ and exit 1 if any does.")
    var check = false

    func run() throws {
        let mismatches = try ResultsReport.update(root: URL(fileURLWithPath: root), check: check)
        for mismatch in mismatches { print(mismatch.description) }
        if check && !mismatches.isEmpty { throw ExitCode(1) }
        print(mismatches.isEmpty ? "every quoted block agrees with Results/" : "\(mismatches.count) block(s) rewritten")
    }
}
