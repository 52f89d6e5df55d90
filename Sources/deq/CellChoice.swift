import ArgumentParser
import Equilibrium
import Foundation

/// A cell chosen by `--cell NAME` with its catalog options, as given on the command line.
struct CellChoice {
    let entry: CellEntry
    /// The options given (validated against the entry's parameters).
    let given: [String: ParameterValue]

    init(name: String, given: [String: ParameterValue], catalog: Catalog = .standard) throws(ValidationError) {
        do { entry = try catalog.cell(named: name) } catch {
            throw ValidationError("--cell \(name): expected \(error.expected)")
        }
        self.given = given
        do {
            if let problem = try entry.problem(with: given, prefix: "--") { throw ValidationError("--cell \(name): \(problem)") }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("--cell \(name): \(error)")
        }
    }

    var target: CatalogOptions.Target { .init(label: "the \(entry.name) cell", parameters: entry.parameters) }

    /// The seed of a synthetic cell when `--seed` is not given.
    static let defaultSeed: UInt64 = 0

    /// What a report says of the parameters: every value (given and defaults, the seed too) of
    /// a synthetic cell; only the given ones of a cell read from files, whose sizes come from
    /// the files (the report's `dim` and `batch`).
    var reported: [String: ParameterValue] {
        if given.keys.contains(where: { $0 == "weights" }) { return given }
        var values = (try? entry.resolved(given)) ?? given
        if values["seed"] == nil { values["seed"] = .integer(Int(Self.defaultSeed)) }
        return values
    }

    /// Builds the cell: relative paths from the working directory, the budget checked first.
    func makeMap(budget: MemoryBudget) throws -> any FixedPointMap {
        let context = CellBuildContext(seed: Self.defaultSeed, budget: budget, source: "--cell \(entry.name)")
        return try entry.makeMap(given, context: context)
    }

    /// The JSON report of the cell.
    func report(for map: any FixedPointMap) -> CellReport {
        CellReport(kind: entry.name, dim: map.dimension, batch: map.batchSize, parameters: reported)
    }
}

/// A solver chosen by name with its catalog options.
struct SolverChoice {
    let entry: SolverEntry
    let given: [String: ParameterValue]

    init(name: String, option: String = "--solver", catalog: Catalog = .standard) throws(ValidationError) {
        do { entry = try catalog.solver(named: name) } catch {
            throw ValidationError("\(option) \(name): expected \(error.expected)")
        }
        given = [:]
    }

    private init(entry: SolverEntry, given: [String: ParameterValue]) {
        self.entry = entry
        self.given = given
    }

    func with(_ given: [String: ParameterValue]) -> SolverChoice { SolverChoice(entry: entry, given: given) }

    var target: CatalogOptions.Target { .init(label: "the \(entry.name) solver", parameters: entry.parameters) }

    /// The solver; the values were validated when parsed, so an error here is a combination
    /// the solver itself refuses.
    func makeSolver() throws -> (solver: any FixedPointSolver, parameters: [String: ParameterValue]) {
        do {
            return (try entry.makeSolver(given), try entry.resolved(given))
        } catch {
            throw ValidationError("--solver \(entry.name): \(error)")
        }
    }
}

/// The cell of a JSON report: its catalog name, sizes and every parameter's value.
struct CellReport: Codable {
    var kind: String
    var dim: Int
    var batch: Int
    var parameters: [String: ParameterValue]

    var summary: String {
        "\(kind) dim=\(dim) batch=\(batch) " + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: " ")
    }
}

/// Live progress of a long solve on a terminal: after a second, one line on stderr every half
/// second (iteration, active samples, the worst relative residual, evaluations), cleared at the end.
final class SolveProgressLine {
    private var lastPrint = 0.0
    private var printed = false
    let enabled: Bool

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
    }

    var observer: SolveObserver? {
        guard enabled else { return nil }
        return SolveObserver { [self] progress in
            if progress.elapsedSeconds >= 1, progress.elapsedSeconds - lastPrint >= 0.5 {
                lastPrint = progress.elapsedSeconds
                printed = true
                let worst = progress.active.map { progress.relativeResiduals[$0] }.max() ?? 0
                let nfe = progress.evaluations.max() ?? 0
                let line = String(format: "\r  iteration %d, %d of %d samples active, worst relative residual %.3e, nfe %d, %.1f s",
                                  progress.iteration, progress.active.count, progress.evaluations.count, worst, nfe,
                                  progress.elapsedSeconds)
                FileHandle.standardError.write(Data(line.utf8))
            }
            return .continue
        }
    }

    func finish() {
        if printed { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
