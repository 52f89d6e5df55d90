import ArgumentParser
import Equilibrium
import Foundation

/// `deq eval`: a trained checkpoint's accuracy on a task variant at several test-time budgets.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained checkpoint at several iteration budgets.",
        discussion: """
            The test set is generated from the checkpoint's seed (the same as in training) unless \
            --seed is given; parity strings have --length positions. Every solve starts at z₀ = 0.
            """
    )

    @Option(help: ArgumentHelp("The folder written by deq train.", valueName: "DIR"), completion: .directory)
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Parity: the test strings' length (default: the checkpoint's test length).")
    var length: Int?

    @Option(name: .customLong("test-size"), parsing: .unconditional, help: "Test examples (default: the checkpoint's).")
    var testSize: Int?

    @Option(parsing: .unconditional, help: "Seed of the test set (default: the checkpoint's).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Digits: the image folder (default: the one the checkpoint was trained on).", valueName: "DIR"), completion: .directory)
    var data: String?

    @Option(help: ArgumentHelp("Comma-separated forward iteration budgets.", valueName: "list"))
    var budgets: String?

    @Flag(help: "Also print the AA (path-independence) score on up to 16 test examples at the largest budget.")
    var alignment = false

    func parsedBudgets() throws -> [Int]? {
        guard let budgets else { return nil }
        guard !budgets.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--budgets: empty; expected a comma-separated list of integers in 1…100000, e.g. --budgets 10,20,40")
        }
        return try budgets.split(separator: ",", omittingEmptySubsequences: false).map { text in
            guard let b = Int(text.trimmingCharacters(in: .whitespaces)), (1...100_000).contains(b) else {
                throw ValidationError("--budgets: '\(text)' is not an integer in 1…100000; expected e.g. --budgets 10,20,40")
            }
            return b
        }
    }

    mutating func validate() throws {
        _ = try parsedBudgets()
        if let length, length < 1 { throw ValidationError("--length must be ≥ 1; got \(length)") }
        if let testSize, testSize < 1 { throw ValidationError("--test-size must be ≥ 1; got \(testSize)") }
    }

    func run() throws {
        let session: any TrainingSession
        do { session = try Training.resume(from: URL(fileURLWithPath: checkpoint), allowUnverified: true, dataDirectory: data) } catch let error as TrainingError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        var options = session.options
        if let length {
            guard options.task == .parity else { throw ValidationError("--length applies to the parity task; this checkpoint is \(options.task.rawValue)") }
            options.testLength = length
        }
        if let testSize { options.testSize = testSize }
        if let data {
            guard options.task == .digits else { throw ValidationError("--data applies to the digits task; this checkpoint is \(options.task.rawValue)") }
            options.dataDirectory = data
        }
        if let seed { options.seed = seed }
        do { try options.checkMemory() } catch {
            FileHandle.standardError.write(Data("error: \(error.description.replacingOccurrences(of: "--test-length", with: "--length"))\n".utf8))
            throw ExitCode(1)
        }
        let test: Dataset
        do { test = try options.loadDatasets().test } catch let error as TrainingError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        let budgets = try parsedBudgets() ?? [options.maxIterations]
        print("budget\taccuracy\texample_accuracy\tloss\tmean_nfe\tconverged")
        for budget in budgets {
            let e = try session.evaluate(test, maxIterations: budget, batchSize: 64)
            print("\(budget)\t\(fmt(e.accuracy))\t\(fmt(e.exampleAccuracy))\t\(fmt(e.loss))\t\(fmt(e.meanEvaluations))\t\(fmt(e.convergedFraction))")
        }
        if alignment {
            let a = try session.alignment(test, samples: 16, maxIterations: budgets.max()!)
            print("AA score\t\(fmt(a.score))")
        }
    }
}
