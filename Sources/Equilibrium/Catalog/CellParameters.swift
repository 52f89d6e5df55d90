import Foundation

/// Parameter definitions and helpers shared by the built-in cells' catalog entries.
enum CellParameters {
    static let nonNegative = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: false, exclusiveMaximum: false)
    static let positive = ParameterDefinition.Kind.real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false)
    /// The largest extent of one axis accepted (2²⁴): larger sizes overflow any product long
    /// before they could be allocated; the memory budget decides below that.
    static let extentLimit = 1 << 24
    static func size(_ name: String, default value: Int, _ summary: String) -> ParameterDefinition {
        ParameterDefinition(name, .integer(minimum: 1, maximum: extentLimit), default: .integer(value), summary)
    }

    static func batch(_ value: Int) -> ParameterDefinition { size("batch", default: value, "number of samples B") }
    static let seed = ParameterDefinition("seed", .integer(minimum: 0), default: nil,
                                          "seed of the cell; default: the experiment seed plus the repeat index")
    static func injectionScale(_ value: Double) -> ParameterDefinition {
        ParameterDefinition("injection-scale", nonNegative, default: .real(value), "standard deviation s of the inputs")
    }

    /// The integer value of `name` (validated and filled in by ``resolve``).
    static func integer(_ values: [String: ParameterValue], _ name: String) -> Int { values[name]?.intValue ?? 0 }
    static func real(_ values: [String: ParameterValue], _ name: String) -> Double { values[name]?.doubleValue ?? .nan }
    static func flag(_ values: [String: ParameterValue], _ name: String) -> Bool { values[name]?.boolValue ?? false }
    static func path(_ values: [String: ParameterValue], _ name: String, _ context: CellBuildContext) -> URL? {
        values[name]?.stringValue.map(context.url)
    }

    /// The seed: the entry's own `seed` when given, else the context's.
    static func seed(_ values: [String: ParameterValue], _ context: CellBuildContext) -> UInt64 {
        values["seed"]?.intValue.map { UInt64($0) } ?? context.seed
    }

    /// `prefix`: the key prefix of a submodule inside an archive of weights.
    static let prefix = ParameterDefinition("prefix", .name, default: nil,
                                            "the key prefix of the cell's arrays inside the weights file (e.g. deq.f.), with weights")

    /// The weights archive of `values` (a directory of .npy, an .npz or a .safetensors) with
    /// its prefix.
    static func store(_ values: [String: ParameterValue], _ context: CellBuildContext) throws -> ArrayStore? {
        guard let url = path(values, "weights", context) else { return nil }
        return try ArrayStore(contentsOf: url, prefix: values["prefix"]?.stringValue ?? "")
    }

    /// Bytes of `extents` float64 values.
    static func bytes(_ extents: Int...) -> Int? { Size.product(extents + [MemoryLayout<Double>.stride]) }

    /// `given` names that conflict with `owner` being given, as a message.
    static func conflicts(_ names: [String], with owner: String, in given: Set<String>, because reason: String) -> String? {
        for name in names where given.contains(name) {
            return "{\(name)} conflicts with {\(owner)}: \(reason); drop {\(name)}"
        }
        return nil
    }
}
