import Foundation

/// One concrete value of an experiment parameter (a cell's `rho`, a solver's `memory`, …).
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case integer(Int)
    case real(Double)
    case boolean(Bool)
    case text(String)

    public var description: String {
        switch self {
        case let .integer(v): return String(v)
        case let .real(v): return formatCompact(v)
        case let .boolean(v): return v ? "true" : "false"
        case let .text(v): return v
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .integer(v): return Double(v)
        case let .real(v): return v
        default: return nil
        }
    }

    public var intValue: Int? {
        if case let .integer(v) = self { return v }
        return nil
    }

    public var boolValue: Bool? {
        if case let .boolean(v) = self { return v }
        return nil
    }

    public var stringValue: String? {
        if case let .text(v) = self { return v }
        return nil
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let b = try? container.decode(Bool.self) { self = .boolean(b) }
        else if let i = try? container.decode(Int.self) { self = .integer(i) }
        else if let d = try? container.decode(Double.self) { self = .real(d) }
        else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .integer(v): try container.encode(v)
        case let .real(v): try container.encode(v)
        case let .boolean(v): try container.encode(v)
        case let .text(v): try container.encode(v)
        }
    }
}

/// A short, exact-enough rendering of a number for labels and tables (`0.999`, `1e-08`).
func formatCompact(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    let magnitude = abs(value)
    if magnitude >= 1e-3 && magnitude < 1e6 {
        var s = String(format: "%.6f", value)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
    return String(format: "%.3g", value)
}

/// The declared type and range of one parameter, used to validate experiment files and to
/// document them (`docs/EXPERIMENTS.md`).
public struct ParameterDefinition: Sendable {
    public enum Kind: Sendable {
        /// An integer in `minimum...`.
        case integer(minimum: Int)
        /// A finite real number with optional bounds; `exclusiveMinimum` makes the lower bound strict.
        case real(minimum: Double?, maximum: Double?, exclusiveMinimum: Bool, exclusiveMaximum: Bool)
        case boolean
        case choice([String])
        /// A path to a file, relative to the experiment file's folder.
        case path
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: ParameterValue?
    public var summary: String

    public init(_ name: String, _ kind: Kind, default defaultValue: ParameterValue?, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// What a valid value looks like, for error messages.
    public var expectation: String {
        switch kind {
        case let .integer(minimum): return "an integer ≥ \(minimum)"
        case let .real(minimum, maximum, exclusiveMinimum, exclusiveMaximum):
            switch (minimum, maximum) {
            case let (lo?, hi?):
                return "a number in \(exclusiveMinimum ? "(" : "[")\(formatCompact(lo)), \(formatCompact(hi))\(exclusiveMaximum ? ")" : "]")"
            case let (lo?, nil): return "a number \(exclusiveMinimum ? ">" : "≥") \(formatCompact(lo))"
            case let (nil, hi?): return "a number \(exclusiveMaximum ? "<" : "≤") \(formatCompact(hi))"
            case (nil, nil): return "a finite number"
            }
        case .boolean: return "true or false"
        case let .choice(choices): return "one of \(choices.joined(separator: ", "))"
        case .path: return "a file path (relative to the experiment file)"
        }
    }

    /// Checks a value; returns it normalised (an integer where a real is expected becomes real)
    /// or nil when invalid.
    public func validate(_ value: ParameterValue) -> ParameterValue? {
        switch (kind, value) {
        case let (.integer(minimum), .integer(v)):
            return v >= minimum ? value : nil
        case let (.real(minimum, maximum, exclusiveMinimum, exclusiveMaximum), _):
            guard let v = value.doubleValue, v.isFinite else { return nil }
            if let lo = minimum, exclusiveMinimum ? v <= lo : v < lo { return nil }
            if let hi = maximum, exclusiveMaximum ? v >= hi : v > hi { return nil }
            return .real(v)
        case (.boolean, .boolean):
            return value
        case let (.choice(choices), .text(v)):
            return choices.contains(v) ? value : nil
        case (.path, .text(let v)):
            return v.isEmpty ? nil : value
        default:
            return nil
        }
    }
}
