import ArgumentParser
import Equilibrium
import Foundation

/// The `deq` command: deep-equilibrium fixed-point solvers from the command line.
///
/// The executable parses and prints; every computation and file format lives in the
/// `Equilibrium` library. Each subcommand is one file (`Solve.swift`, …); the option groups
/// shared between subcommands live in their own files (`CellOptions.swift`,
/// `SolverOptions.swift`, `StoppingOptions.swift`) so later subcommands reuse them.
@main
struct Deq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deq",
        abstract: "Solve deep-equilibrium fixed points z = f(z) and study the solvers.",
        discussion: """
            Exit status: 0 when the command ran (a solve that did not converge is a result, \
            stated in the output), 1 for a file that cannot be read or written, 64 for invalid \
            options, 3 with --strict when a sample did not converge.
            """,
        subcommands: [Solve.self, Compare.self, OptimizeInput.self, Attack.self, TrainDecoder.self, Inpaint.self, Grad.self, Train.self, Eval.self, Run.self, List.self, Plot.self, Merge.self, Report.self]
    )

    /// Parses and runs the subcommand; a file-system failure is printed as a sentence naming
    /// the path and the reason (exit status 1), never as Foundation's raw error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if let failure = FileSystemError(error) { exit(withError: failure) }
            exit(withError: error)
        }
    }
}
