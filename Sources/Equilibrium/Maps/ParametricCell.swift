/// One named parameter array of a cell (W, U, b, a norm's γ, …) or its gradient.
///
/// `values` are in C (row-major) order for `shape`, exactly as in a `.npy` file of that name.
public struct NamedArray: Sendable, Equatable {
    public var name: String
    public package(set) var shape: [Int]
    public package(set) var values: [Double]

    /// An array named `name` of `shape` from its values in C order.
    ///
    /// - Throws: ``UsageError`` when an extent is negative or the values do not fill the shape.
    public init(_ name: String, shape: [Int], values: [Double]) throws(UsageError) {
        guard shape.allSatisfy({ $0 >= 0 }), let count = Size.product(shape), values.count == count else {
            throw UsageError("NamedArray \(name)", "values", got: "\(values.count) values for shape \(shape)",
                             expected: "non-negative extents whose product is the number of values")
        }
        self.init(name: name, shape: shape, values: values)
    }

    /// The library's own constructor for arrays of a known size (a precondition, not an error).
    package init(name: String, shape: [Int], values: [Double]) {
        precondition(values.count == shape.reduce(1, *),
                     "\(name) has \(values.count) values, its shape \(shape) needs \(shape.reduce(1, *)).")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

extension Check {
    /// `given` has the names, order and shapes of `current` (``ParametricCell/replacingParameters(_:)``).
    package static func parameters(_ given: [NamedArray], matching current: [NamedArray], _ owner: String) throws(UsageError) {
        guard given.map(\.name) == current.map(\.name) else {
            throw UsageError(owner, "parameters", got: "\(given.map(\.name))", expected: "\(current.map(\.name)), in this order")
        }
        for (new, old) in zip(given, current) where new.shape != old.shape || new.values.count != old.values.count {
            throw UsageError(owner, "parameter \(new.name)", got: "shape \(new.shape)", expected: "shape \(old.shape)")
        }
        for new in given where !new.values.allSatisfy(\.isFinite) {
            throw UsageError(owner, "parameter \(new.name)", got: "a NaN or infinite value", expected: "finite values")
        }
    }

    /// Each matrix is B × d of the cell (``ParametricCell/parameterGradients(at:image:covectors:)``).
    package static func batches(_ matrices: [(Matrix, String)], _ shape: (Int, Int), _ owner: String) throws(UsageError) {
        for (matrix, what) in matrices {
            try Check.shape(matrix, shape, owner, what, "B × d of the cell, one sample per row")
        }
    }
}

/// A cell f(z, x; θ) whose parameters θ and inputs x can be differentiated, besides z
/// (``DifferentiableMap``). Gradients through the fixed point (docs/MATH.md) need
///
///     dL/dθ = Σᵢ yᵢᵀ ∂f(zᵢ*, xᵢ; θ)/∂θ        dL/dxᵢ = yᵢᵀ ∂f(zᵢ*, xᵢ; θ)/∂xᵢ
///
/// for the adjoint covectors yᵢ (one per sample), which ``parameterGradients(at:image:covectors:)``
/// computes for the whole batch. Every built-in cell conforms; the parameter products are
/// checked against central finite differences in the tests, through ``parameters`` and
/// ``replacingParameters(_:)``.
public protocol ParametricCell: DifferentiableMap {
    /// The current parameters, in a fixed order with fixed names (e.g. "W", "U", "b").
    var parameters: [NamedArray] { get }

    /// The same cell, bound to the same inputs, with other parameter values (same names and
    /// shapes, same order as ``parameters``); throws otherwise.
    func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> Self

    /// The inputs x, B × p, one sample per row.
    var input: Matrix { get }

    /// The same cell bound to other inputs (any number of rows ≥ 1); throws when a row does
    /// not fit the cell's input width or holds a non-finite value.
    func binding(input: Matrix) throws(UsageError) -> Self

    /// Σᵢ uᵢᵀ ∂f/∂θ for every parameter (same names, shapes and order as ``parameters``), and
    /// uᵢᵀ ∂f/∂xᵢ for every sample (B × p), at points z (B × d) with images fz = f(z); throws
    /// when a matrix is not B × d.
    func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix)
}
