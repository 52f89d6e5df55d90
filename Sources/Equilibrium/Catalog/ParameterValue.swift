import Foundation

/// One concrete value of a catalog parameter (a cell's `rho`, a solver's `memory`, …), as an
/// experiment file, a command line or a manifest gives it.
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

    /// Values compare by meaning: a whole real and the integer of the same value are equal
    /// (`rho: 3.0` and `rho: 3`, as JSON writes 3.0), so a spec read back from a manifest equals
    /// the one that wrote it.
    public static func == (lhs: ParameterValue, rhs: ParameterValue) -> Bool {
        switch (lhs, rhs) {
        case let (.integer(a), .integer(b)): return a == b
        case let (.real(a), .real(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.integer(a), .real(b)), let (.real(b), .integer(a)): return Double(a) == b
        case let (.boolean(a), .boolean(b)): return a == b
        case let (.text(a), .text(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .integer(v): hasher.combine(Double(v))
        case let .real(v): hasher.combine(v)
        case let .boolean(v): hasher.combine(v)
        case let .text(v): hasher.combine(v)
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
public func formatCompact(_ value: Double) -> String {
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

/// The declared type, range, default and meaning of one catalog parameter: what validates an
/// experiment file's or a command line's value, and what documents it (`docs/EXPERIMENTS.md`,
/// `deq solve --help`).
public struct ParameterDefinition: Sendable {
    public enum Kind: Sendable {
        /// An integer in `minimum...` (and `...maximum` when given).
        case integer(minimum: Int, maximum: Int? = nil)
        /// A finite real number with optional bounds; `exclusiveMinimum` makes the lower bound strict.
        case real(minimum: Double?, maximum: Double?, exclusiveMinimum: Bool, exclusiveMaximum: Bool)
        case boolean
        case choice([String])
        /// A path to a file, relative to the experiment file's folder.
        case path
        /// A name (of a catalog entry, such as a backward solver), any non-empty text.
        case name
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
        case let .integer(minimum, maximum?): return "an integer in \(minimum)…\(maximum)"
        case let .integer(minimum, nil): return "an integer ≥ \(minimum)"
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
        case .name: return "a name"
        case .path: return "a file path (relative to the experiment file, or to the working directory on the command line)"
        }
    }

    /// Checks a value; returns it normalised (an integer where a real is expected becomes real)
    /// or nil when invalid.
    public func validate(_ value: ParameterValue) -> ParameterValue? {
        switch (kind, value) {
        case let (.integer(minimum, maximum), .integer(v)):
            return v >= minimum && v <= (maximum ?? .max) ? value : nil
        case let (.real(minimum, maximum, exclusiveMinimum, exclusiveMaximum), _):
            guard let v = value.doubleValue, v.isFinite else { return nil }
            if let lo = minimum, exclusiveMinimum ? v <= lo : v < lo { return nil }
            if let hi = maximum, exclusiveMaximum ? v >= hi : v > hi { return nil }
            return .real(v)
        case (.boolean, .boolean):
            return value
        case let (.choice(choices), .text(v)):
            return choices.contains(v) ? value : nil
        case (.path, .text(let v)), (.name, .text(let v)):
            return v.isEmpty ? nil : value
        default:
            return nil
        }
    }
}
