import Foundation

/// A small deep-equilibrium classifier: input embedding → equilibrium cell → readout head.
///
///     x = E u + e            (optional; a cell with its own injection takes u directly)
///     z* = f(z*, x; θ)       (the cell bound to x, solved by a fixed-point solver)
///     sₚ = V z*ₚ + a         (per position p: z*ₚ is the C channels of z* at p)
///
/// The loss's gradient reaches the parameters analytically through the head (∂L/∂z*), through
/// the fixed point by a ``GradientEstimator`` (∂L/∂θ, ∂L/∂x) and analytically through the
/// embedding. Parameters are named `cell.NAME` (the cell's own names), `embedding.weight`,
/// `embedding.bias`, `head.weight`, `head.bias`.
public struct EquilibriumModel<Cell: TrainableCell>: Sendable where Cell: Sendable {
    /// The cell, bound to whatever input it was built with; ``bind(_:positions:)`` rebinds it.
    public var cell: Cell
    public var embedding: LinearLayer?
    /// V (K × C) and a.
    public var head: LinearLayer

    public init(cell: Cell, embedding: LinearLayer?, head: LinearLayer) throws(UsageError) {
        guard head.inputs == cell.channels else {
            throw UsageError("EquilibriumModel", "head", got: "\(head.inputs) inputs", expected: "the cell's \(cell.channels) channels")
        }
        if let embedding, embedding.outputs != cell.input.columns {
            throw UsageError("EquilibriumModel", "embedding", got: "\(embedding.outputs) outputs", expected: "the cell's input width \(cell.input.columns)")
        }
        self.cell = cell
        self.embedding = embedding
        self.head = head
    }

    /// K.
    public var classes: Int { head.outputs }

    /// Every parameter, in a fixed order: the cell's, the embedding's, the head's.
    public var parameters: [NamedArray] {
        var result = cell.parameters.map { NamedArray(name: "cell." + $0.name, shape: $0.shape, values: $0.values) }
        if let embedding {
            result.append(NamedArray(name: "embedding.weight", shape: [embedding.outputs, embedding.inputs],
                                     values: embedding.weight.storage))
            result.append(NamedArray(name: "embedding.bias", shape: [embedding.outputs], values: embedding.bias))
        }
        result.append(NamedArray(name: "head.weight", shape: [head.outputs, head.inputs], values: head.weight.storage))
        result.append(NamedArray(name: "head.bias", shape: [head.outputs], values: head.bias))
        return result
    }

    /// The same model with other parameter values (same names, shapes and order as ``parameters``).
    public func replacingParameters(_ new: [NamedArray]) throws(UsageError) -> EquilibriumModel {
        try Check.parameters(new, matching: parameters, "EquilibriumModel")
        let cellCount = cell.parameters.count
        let cellParameters = new[0..<cellCount].map { NamedArray(name: String($0.name.dropFirst(5)), shape: $0.shape, values: $0.values) }
        var model = self
        model.cell = try cell.replacingParameters(Array(cellParameters))
        var next = cellCount
        if let embedding {
            model.embedding = try LinearLayer(weight: Matrix(rows: embedding.outputs, columns: embedding.inputs, storage: new[next].values),
                                          bias: new[next + 1].values)
            next += 2
        }
        model.head = try LinearLayer(weight: Matrix(rows: head.outputs, columns: head.inputs, storage: new[next].values),
                                 bias: new[next + 1].values)
        return model
    }

    /// The cell's input x for task inputs u (B × width): E u + e, or u itself.
    public func cellInput(_ u: Matrix) throws(UsageError) -> Matrix {
        guard let embedding else { return u }
        return try embedding(u)
    }

    /// The cell bound to task inputs u with S = `positions`.
    public func bind(_ u: Matrix, positions: Int) throws(UsageError) -> Cell {
        try cell.binding(input: cellInput(u), positions: positions)
    }

    /// The rows (sample i, position p) of channel vectors: P[i·S + p, c] = z[i, c·S + p].
    public static func positionFeatures(_ z: Matrix, positions s: Int) -> Matrix {
        let c = z.columns / s
        var p = Matrix(rows: z.rows * s, columns: c)
        for i in 0..<z.rows { for ch in 0..<c { for q in 0..<s { p.storage[(i * s + q) * c + ch] = z.storage[i * c * s + ch * s + q] } } }
        return p
    }

    /// The inverse layout of ``positionFeatures(_:positions:)``.
    static func stateLayout(_ p: Matrix, positions s: Int) -> Matrix {
        let c = p.columns, b = p.rows / s
        var z = Matrix(rows: b, columns: c * s)
        for i in 0..<b { for ch in 0..<c { for q in 0..<s { z.storage[i * c * s + ch * s + q] = p.storage[(i * s + q) * c + ch] } } }
        return z
    }

    /// The logits, one row per (sample, position), B·S × K.
    public func logits(_ z: Matrix, positions: Int) throws(UsageError) -> Matrix {
        try head(Self.positionFeatures(z, positions: positions))
    }

    /// Solves for the fixed points of the cell bound to u, from the rows of `initial`.
    public func solve(_ u: Matrix, positions: Int, solver: any FixedPointSolver, initial: Matrix,
                      criteria: StoppingCriteria) throws(UsageError) -> (cell: Cell, result: SolveResult) {
        let bound = try bind(u, positions: positions)
        return (bound, try solver.solve(bound, from: initial, criteria: criteria))
    }

    /// The loss at the fixed points `solution` of `bound` (the cell bound to u) and its gradient
    /// with respect to every parameter (``parameters``' order), the backward pass through the
    /// fixed point by `estimator`.
    public func lossAndGradient(input u: Matrix, bound: Cell, solution: Matrix, targets: [Int], loss: Loss,
                                estimator: any GradientEstimator, byproducts: SolverByproducts = SolverByproducts()) throws(UsageError)
        -> (loss: Double, correct: [Bool], gradient: [NamedArray], backward: GradientResult) {
        let s = bound.positions
        let features = Self.positionFeatures(solution, positions: s)
        let (value, g, correct) = loss.evaluate(logits: try head(features), targets: targets)
        let headGradient = try head.gradients(input: features, upstream: g)
        let upstream = Self.stateLayout(headGradient.input, positions: s)
        let backward = try estimator.estimate(cell: bound, solution: solution, upstream: upstream, byproducts: byproducts)
        let gradient = try combine(cell: backward.parameters, input: backward.input, taskInput: u,
                               head: (headGradient.weight, headGradient.bias))
        return (value, correct, gradient, backward)
    }

    /// Assembles a gradient in ``parameters``' order from the cell's parameter gradient, the
    /// cell-input gradient (pushed through the embedding) and the head's.
    func combine(cell gradients: [NamedArray], input gx: Matrix, taskInput u: Matrix,
                 head: (weight: Matrix, bias: [Double])?) throws(UsageError) -> [NamedArray] {
        var result = gradients.map { NamedArray(name: "cell." + $0.name, shape: $0.shape, values: $0.values) }
        if let embedding {
            let e = try embedding.gradients(input: u, upstream: gx)
            result.append(NamedArray(name: "embedding.weight", shape: [embedding.outputs, embedding.inputs], values: e.weight.storage))
            result.append(NamedArray(name: "embedding.bias", shape: [embedding.outputs], values: e.bias))
        }
        let hw = head?.weight.storage ?? [Double](repeating: 0, count: self.head.weight.count)
        let hb = head?.bias ?? [Double](repeating: 0, count: self.head.outputs)
        result.append(NamedArray(name: "head.weight", shape: [self.head.outputs, self.head.inputs], values: hw))
        result.append(NamedArray(name: "head.bias", shape: [self.head.outputs], values: hb))
        return result
    }
}
