import ArgumentParser
import Equilibrium
import Foundation

/// The options named after catalog parameters: `--dim 512`, `--memory 20`, `--symmetric`,
/// `--no-line-search`, `--beta=1.5`. ArgumentParser leaves them unrecognised (each command
/// collects them with `@Argument(parsing: .allUnrecognized)`), and the command hands them to the
/// catalog entries it uses — the cell, the solver or solvers — so a solver or cell added to the
/// catalog gets its options here without a line of CLI code.
struct CatalogOptions {
    /// One catalog entry whose parameters may be given on the command line.
    struct Target {
        /// "the tanh cell", "the anderson solver".
        var label: String
        var parameters: [ParameterDefinition]
    }

    /// The values given, per target (in the order of the targets).
    private(set) var values: [[String: ParameterValue]]

    /// Parses `tokens` for `targets`. A name that several targets take goes to each of them
    /// (`deq compare --memory 10` sets Anderson's m and Broyden's L).
    init(_ tokens: [String], targets: [Target]) throws(ValidationError) {
        values = Array(repeating: [:], count: targets.count)
        var seen = Set<String>()
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            guard token.hasPrefix("--"), token.count > 2 else {
                throw ValidationError("unexpected argument '\(token)'; options start with --, e.g. \(Self.examples(targets))")
            }
            var body = String(token.dropFirst(2))
            var inline: String?
            if let equals = body.firstIndex(of: "=") {
                inline = String(body[body.index(after: equals)...])
                body = String(body[..<equals])
            }
            var name = body, negated = false
            let owners = { (name: String) in targets.indices.filter { t in targets[t].parameters.contains { $0.name == name } } }
            if owners(name).isEmpty, body.hasPrefix("no-"), !owners(String(body.dropFirst(3))).isEmpty {
                name = String(body.dropFirst(3))
                negated = true
            }
            let matching = owners(name)
            guard let first = matching.first else {
                throw ValidationError(Self.unknown(body, targets: targets))
            }
            guard seen.insert(name).inserted else { throw ValidationError("--\(name) is given twice; give it once") }
            let definition = targets[first].parameters.first { $0.name == name }!
            let value: ParameterValue
            if case .boolean = definition.kind {
                if let inline {
                    guard let flag = Bool(inline.lowercased()) else {
                        throw ValidationError("--\(name)=\(inline): expected true or false (or --\(name) / --no-\(name))")
                    }
                    value = .boolean(flag != negated)
                } else {
                    value = .boolean(!negated)
                }
            } else {
                guard !negated else { throw ValidationError("--no-\(name): --\(name) takes a value (\(definition.expectation)), not a negation") }
                let text: String
                if let inline {
                    text = inline
                } else {
                    guard index < tokens.count else {
                        throw ValidationError("--\(name) needs a value: \(definition.expectation) (\(definition.summary))")
                    }
                    text = tokens[index]
                    index += 1
                }
                value = try Self.parse(text, for: definition)
            }
            for t in matching { values[t][name] = value }
        }
    }

    /// The typed value of `text` for `definition`, validated, or an error naming the option.
    static func parse(_ text: String, for definition: ParameterDefinition) throws(ValidationError) -> ParameterValue {
        let raw: ParameterValue?
        switch definition.kind {
        case .integer: raw = Int(text).map { .integer($0) }
        case .real: raw = Double(text).map { .real($0) }
        case .boolean: raw = Bool(text.lowercased()).map { .boolean($0) }
        case .choice, .path, .name: raw = .text(text)
        }
        guard let raw, let valid = definition.validate(raw) else {
            throw ValidationError("--\(definition.name) \(text.isEmpty ? "''" : text): expected \(definition.expectation) (\(definition.summary))")
        }
        return valid
    }

    /// The message for an option no target takes: which catalog entries take it, if any,
    /// then what the targets take.
    static func unknown(_ name: String, targets: [Target], catalog: Catalog = .standard) -> String {
        let owners = catalog.cells.filter { $0.parameters.contains { $0.name == name } }.map { "the \($0.name) cell" }
            + catalog.solvers.filter { $0.parameters.contains { $0.name == name } }.map { "the \($0.name) solver" }
        let here = targets.map(\.label).joined(separator: " and ")
        guard !owners.isEmpty else { return "unknown option '--\(name)'; \(describe(targets))" }
        return "--\(name) does not apply to \(here); it is an option of \(owners.joined(separator: ", ")) (\(describe(targets)))"
    }

    /// What the targets take, for an unknown option.
    static func describe(_ targets: [Target]) -> String {
        targets.map { target in
            target.parameters.isEmpty ? "\(target.label) takes no options"
                : "\(target.label) takes \(target.parameters.map { "--\($0.name)" }.joined(separator: ", "))"
        }.joined(separator: "; ")
    }

    private static func examples(_ targets: [Target]) -> String {
        targets.compactMap { $0.parameters.first.map { "--\($0.name)" } }.prefix(2).joined(separator: " or ")
    }

    /// The help text listing every entry's options with their defaults and meaning.
    static func help(title: String, entries: [(name: String, summary: String, parameters: [ParameterDefinition])]) -> String {
        var lines = [title]
        for entry in entries {
            lines.append("  \(entry.name): \(entry.summary)")
            for p in entry.parameters {
                let value: String
                if case .boolean = p.kind { value = "" } else { value = " <\(p.kind.placeholder)>" }
                let shown = p.defaultValue.map { " (default: \($0))" } ?? ""
                lines.append("      --\(p.name)\(value)  \(p.summary)\(shown)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension ParameterDefinition.Kind {
    /// The value placeholder in help: `n`, `x`, `name`, `path`.
    var placeholder: String {
        switch self {
        case .integer: "n"
        case .real: "x"
        case .boolean: ""
        case let .choice(choices): choices.joined(separator: "|")
        case .path: "path"
        case .name: "name"
        }
    }
}

/// `--memory-limit`: the memory budget of the run (library default: half the physical memory).
struct ResourceOptions: ParsableArguments {
    @Option(name: .customLong("memory-limit"),
            help: ArgumentHelp("Refuse runs that would need more memory than this, e.g. 8G. (default: half the physical memory, or DEQ_MEMORY_LIMIT)", valueName: "size"))
    var memoryLimit: String?

    func validate() throws {
        if let memoryLimit {
            do { _ = try MemoryBudget.parse(memoryLimit) } catch { throw ValidationError("--memory-limit \(memoryLimit): \(error.expected)") }
            // Every check in the libraries reads the budget from the environment by default.
            setenv("DEQ_MEMORY_LIMIT", memoryLimit, 1)
        }
    }

    var budget: MemoryBudget {
        memoryLimit.flatMap { try? MemoryBudget.parse($0) }.map { MemoryBudget(limit: $0) } ?? .current
    }
}

/// The catalog's help for a command that takes a cell and solvers.
enum CatalogHelp {
    static var cells: String {
        CatalogOptions.help(title: "Cells (--cell NAME) and their options:",
                            entries: Catalog.standard.cells.map { ($0.name, $0.summary, $0.parameters) })
    }

    static var solvers: String {
        CatalogOptions.help(title: "Solvers (--solver NAME) and their options:",
                            entries: Catalog.standard.solvers.map { ($0.name, $0.summary, $0.parameters) })
    }
}

extension CatalogOptions {
    /// The cell and solver named by `--cell` and `--solver`, with the catalog options in
    /// `arguments` (`--dim 64 --memory 10 …`) parsed against both entries.
    static func choices(cell: String, solver: String, arguments: [String]) throws -> (cell: CellChoice, solver: SolverChoice) {
        let solverChoice = try SolverChoice(name: solver)
        let cellEntry = try CellChoice(name: cell, given: [:])
        let options = try CatalogOptions(arguments, targets: [cellEntry.target, solverChoice.target])
        return (try CellChoice(name: cell, given: options.values[0]), solverChoice.with(options.values[1]))
    }
}
