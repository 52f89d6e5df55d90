/// Parameter and input vector–Jacobian products of the tanh cell (``ParametricCell``).
///
/// With f = tanh(W z + U x + b) and aᵢ = (1 − fᵢ²) ⊙ uᵢ for sample i (the covector pulled back
/// through tanh), stacked as the rows of A (B × d):
///
///     ∂L/∂W = Σᵢ aᵢ zᵢᵀ = Aᵀ Z        (d × d, one GEMM)
///     ∂L/∂U = Σᵢ aᵢ xᵢᵀ = Aᵀ X        (d × p, one GEMM)
///     ∂L/∂b = Σᵢ aᵢ                   (d)
///     ∂L/∂xᵢ = Uᵀ aᵢ, i.e. A U        (B × p, one GEMM; A itself when U = I)
///
/// **Names.** ``parameters`` always holds "W" (d × d); "U" (d × p) only when the cell has input
/// weights and "b" (d) only when it has a bias. A cell built without U or b has U = I and
/// b = 0 fixed, not learnable, so it reports no gradient for them (as a network without that
/// layer would); ``replacingParameters(_:)`` expects the same list back.
///
/// Cost O(B d (d + p)), about two evaluations of the cell.
extension TanhCell: ParametricCell {
    public var parameters: [NamedArray] {
        var result = [NamedArray(name: "W", shape: [weight.rows, weight.columns], values: weight.storage)]
        if let u = inputWeight {
            result.append(NamedArray(name: "U", shape: [u.rows, u.columns], values: u.storage))
        }
        if let b = bias {
            result.append(NamedArray(name: "b", shape: [b.count], values: b))
        }
        return result
    }

    public func replacingParameters(_ parameters: [NamedArray]) throws(UsageError) -> TanhCell {
        try Check.parameters(parameters, matching: self.parameters, "TanhCell")
        var w = weight, u = inputWeight, b = bias
        for array in parameters {
            switch array.name {
            case "W": w = Matrix(rows: weight.rows, columns: weight.columns, storage: array.values)
            case "U": u = Matrix(rows: array.shape[0], columns: array.shape[1], storage: array.values)
            default: b = array.values
            }
        }
        return try TanhCell(weight: w, inputWeight: u, bias: b, input: input)
    }

    public func parameterGradients(at z: Matrix, image fz: Matrix, covectors u: Matrix) throws(UsageError) -> (parameters: [NamedArray], input: Matrix) {
        let b = batchSize, d = dimension
        try Check.batches([(z, "points z"), (fz, "images f(z)"), (u, "covectors")], (b, d), "TanhCell.parameterGradients")
        // A = (1 − f²) ⊙ u.
        var a = u
        for i in 0..<a.storage.count { a.storage[i] *= 1 - fz.storage[i] * fz.storage[i] }
        var dW = Matrix(rows: d, columns: d)
        BLAS.gemm(a, z, into: &dW, transA: .transpose)
        var result = [NamedArray(name: "W", shape: [d, d], values: dW.storage)]
        let dx: Matrix
        if let uw = inputWeight {
            var dU = Matrix(rows: d, columns: uw.columns)
            BLAS.gemm(a, input, into: &dU, transA: .transpose)
            result.append(NamedArray(name: "U", shape: [d, uw.columns], values: dU.storage))
            var gx = Matrix(rows: b, columns: uw.columns)
            BLAS.gemm(a, uw, into: &gx)
            dx = gx
        } else {
            dx = a
        }
        if bias != nil {
            var db = [Double](repeating: 0, count: d)
            for i in 0..<b { for j in 0..<d { db[j] += a.storage[i * d + j] } }
            result.append(NamedArray(name: "b", shape: [d], values: db))
        }
        return (result, dx)
    }
}
