/// A library user's mistake: a setting out of range, a shape that does not fit, or a capability
/// asked of a map that lacks it. Thrown by every public initialiser and call that takes user
/// settings or shapes, so a mistake is a sentence, never a trap.
///
/// The message names what was wrong, the value given and what is valid:
///
///     AndersonAcceleration memory: got 0; expected an integer ≥ 1 (the number of difference pairs kept)
///     solve initial batch: got 1 × 999; expected 1 × 1000 (B × d of the map, one sample per row)
public struct UsageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Who took the setting: a type (`AndersonAcceleration`), a call (`solve`), a catalog entry.
    public var owner: String
    /// The setting or argument: `memory`, `initial batch`, `jacobianProducts`.
    public var parameter: String
    /// The value given, as the user wrote it where possible.
    public var value: String
    /// What is valid, with the meaning of the setting.
    public var expected: String

    public init(_ owner: String, _ parameter: String, got value: String, expected: String) {
        self.owner = owner
        self.parameter = parameter
        self.value = value
        self.expected = expected
    }

    /// A shape mismatch: `got` and `expected` as "rows × columns".
    public static func shape(_ owner: String, _ what: String, got: (Int, Int), expected: (Int, Int),
                             meaning: String) -> UsageError {
        UsageError(owner, what, got: "\(got.0) × \(got.1)", expected: "\(expected.0) × \(expected.1) (\(meaning))")
    }

    public var description: String {
        let who = owner.isEmpty ? parameter : "\(owner) \(parameter)"
        return "\(who): got \(value); expected \(expected)"
    }
}

/// Checks that build ``UsageError``s with uniform wording (used by every validating initialiser).
package enum Check {
    /// `value ≥ minimum`.
    package static func atLeast(_ value: Int, _ minimum: Int, _ owner: String, _ parameter: String,
                                _ meaning: String) throws(UsageError) {
        guard value >= minimum else {
            throw UsageError(owner, parameter, got: "\(value)", expected: "an integer ≥ \(minimum) (\(meaning))")
        }
    }

    /// A finite real number in an interval; `open` bounds are strict.
    package static func inRange(_ value: Double, _ owner: String, _ parameter: String, _ meaning: String,
                                above lower: Double? = nil, openBelow: Bool = false,
                                below upper: Double? = nil, openAbove: Bool = false) throws(UsageError) {
        var valid = value.isFinite
        if let lower { valid = valid && (openBelow ? value > lower : value >= lower) }
        if let upper { valid = valid && (openAbove ? value < upper : value <= upper) }
        guard !valid else { return }
        let expectation: String
        switch (lower, upper) {
        case let (lo?, hi?): expectation = "a number in \(openBelow ? "(" : "[")\(lo), \(hi)\(openAbove ? ")" : "]")"
        case let (lo?, nil): expectation = "a finite number \(openBelow ? ">" : "≥") \(lo)"
        case let (nil, hi?): expectation = "a finite number \(openAbove ? "<" : "≤") \(hi)"
        case (nil, nil): expectation = "a finite number"
        }
        throw UsageError(owner, parameter, got: "\(value)", expected: "\(expectation) (\(meaning))")
    }

    /// `value` has exactly `expected` rows and columns.
    package static func shape(_ matrix: Matrix, _ expected: (Int, Int), _ owner: String, _ what: String,
                              _ meaning: String) throws(UsageError) {
        guard matrix.rows == expected.0, matrix.columns == expected.1 else {
            throw .shape(owner, what, got: (matrix.rows, matrix.columns), expected: expected, meaning: meaning)
        }
    }
}

extension Check {
    /// Every entry is finite.
    package static func finite(_ values: [Double], _ owner: String, _ what: String) throws(UsageError) {
        guard values.allSatisfy(\.isFinite) else {
            throw UsageError(owner, what, got: "a NaN or infinite entry", expected: "finite values")
        }
    }

    /// The inputs of a cell: at least one row of `columns` finite entries.
    package static func inputs(_ x: Matrix, columns: Int, _ owner: String, _ meaning: String) throws(UsageError) {
        guard x.rows >= 1, x.columns == columns else {
            throw UsageError(owner, "inputs x", got: "\(x.rows) × \(x.columns)",
                             expected: "B × \(columns) with B ≥ 1 (\(meaning)), one sample per row")
        }
        try finite(x.storage, owner, "inputs x")
    }
}
