/// One named parameter array of a cell (W, U, b, a norm's γ, …) or its gradient.
///
/// `values` are in C (row-major) order for `shape`, exactly as in a `.npy` file of that name.
public struct NamedArray: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Double]

    public init(name: String, shape: [Int], values: [Double]) {
        precondition(values.count == shape.reduce(1, *),
                     "\(name) has \(values.count) values, its shape \(shape) needs \(shape.reduce(1, *)).")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// A cell f(z, x; θ) whose parameters θ and inputs x can be differentiated, besides z
/// (``DifferentiableMap``). Gradients through the fixed point (REFERENCE §4) need
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
    /// shapes, same order as ``parameters``).
    func replacingParameters(_ parameters: [NamedArray]) -> Self

    /// The inputs x, B × p, one sample per row.
    var input: Matrix { get }

    /// The same cell bound to other inputs (any number of rows).
    func binding(input: Matrix) -> Self

    /// Σᵢ uᵢᵀ ∂f/∂θ for every parameter (same names, shapes and order as ``parameters``), and
    /// uᵢᵀ ∂f/∂xᵢ for every sample (B × p), at points z (B × d) with images fz = f(z).
    func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) -> (parameters: [NamedArray], input: Matrix)
}
