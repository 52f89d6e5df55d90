extension DifferentiableMap {
    /// The dense Jacobian J(zᵢ) = ∂f/∂z at every sample's point, one d × d matrix per sample,
    /// formed column by column from d batched Jacobian–vector products with the unit vectors:
    ///
    ///     column j of J(zᵢ) = J(zᵢ) eⱼ        for every sample i at once
    ///
    /// For exact references on small problems (dense LU of I − Jᵀ, LAPACK eigenvalues of J):
    /// cost d products, O(B d³) for a dense cell, and B d² doubles.
    public func denseJacobians(at z: Matrix) throws(UsageError) -> [Matrix] {
        let b = batchSize, d = dimension
        let fz = try self(z)
        var jacobians = Array(repeating: Matrix(rows: d, columns: d), count: b)
        var unit = Matrix(rows: b, columns: d)
        var column = Matrix(rows: b, columns: d)
        let all = Array(0..<b)
        let workspace = makeJacobianWorkspace(maxSamples: b)
        for j in 0..<d {
            for i in 0..<b {
                if j > 0 { unit[i, j - 1] = 0 }
                unit[i, j] = 1
            }
            z.storage.withUnsafeBufferPointer { pz in
                fz.storage.withUnsafeBufferPointer { pf in
                    unit.storage.withUnsafeBufferPointer { pv in
                        column.storage.withUnsafeMutableBufferPointer { po in
                            all.withUnsafeBufferPointer { rows in
                                jacobianVectorProduct(at: pz.baseAddress!, image: pf.baseAddress!,
                                                      vector: pv.baseAddress!, into: po.baseAddress!,
                                                      samples: rows, workspace: workspace)
                            }
                        }
                    }
                }
            }
            for i in 0..<b {
                for r in 0..<d { jacobians[i][r, j] = column[i, r] }
            }
        }
        return jacobians
    }
}
