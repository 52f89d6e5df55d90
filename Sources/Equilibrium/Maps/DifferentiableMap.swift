/// A fixed-point map with analytic, batched Jacobian products with respect to the state z.
///
/// With J = ∂f/∂z at z (d × d, one Jacobian per sample), a conforming map computes
///
///     J v     (Jacobian–vector product, JVP: the directional derivative of f along v)
///     Jᵀ u    (vector–Jacobian product, VJP: the row vector uᵀJ, written as a column)
///
/// for every row of a *compacted* batch, exactly as ``FixedPointMap/evaluate(_:into:samples:)``:
/// row r of every buffer belongs to sample `samples[r]`. Both products take the point z **and
/// its image f(z)**, which the solver already holds, so a cell whose derivative is a function
/// of its output (tanh: 1 − f²) never re-evaluates itself.
///
/// **Workspace.** Products that need intermediate memory get it from a workspace the map makes
/// and the caller owns: a solver calls ``makeJacobianWorkspace(maxSamples:)`` once per solve and
/// passes the same workspace to every product, so no product allocates. A map that needs none
/// uses `Void`.
///
/// Newton–Krylov uses J v (through J_g v = J v − v for g = f − z); gradients through the fixed
/// point (docs/MATH.md §4) use uᵀJ. Products with respect to parameters θ are a separate concern and
/// do not belong to this protocol. Maps without analytic products (``ClosureMap``) are handled
/// by solvers with finite differences (see ``JacobianProducts``), every probe counted in nfe.
public protocol DifferentiableMap: FixedPointMap {
    /// Scratch memory the products may use, sized for a number of samples.
    associatedtype JacobianWorkspace

    /// A workspace large enough for products on up to `maxSamples` rows at once.
    func makeJacobianWorkspace(maxSamples: Int) -> JacobianWorkspace

    /// Writes J(zᵣ) vᵣ into row r of `out` for every row r.
    ///
    /// - Parameters:
    ///   - z: `samples.count × dimension` points, row-major.
    ///   - fz: their images f(zᵣ), same shape (as computed by ``FixedPointMap/evaluate(_:into:samples:)``).
    ///   - v: the vectors, same shape.
    ///   - out: the products, same shape; never aliases the inputs.
    ///   - samples: the sample index of each row, strictly increasing, each in `0..<batchSize`.
    ///   - workspace: from ``makeJacobianWorkspace(maxSamples:)`` with `maxSamples ≥ samples.count`.
    func jacobianVectorProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: JacobianWorkspace)

    /// Writes J(zᵣ)ᵀ uᵣ (the row vector uᵣᵀ J(zᵣ)) into row r of `out` for every row r.
    /// Parameters as in ``jacobianVectorProduct(at:image:vector:into:samples:workspace:)``.
    func vectorJacobianProduct(at z: UnsafePointer<Double>, image fz: UnsafePointer<Double>,
                               covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                               samples: UnsafeBufferPointer<Int>, workspace: JacobianWorkspace)
}

extension DifferentiableMap {
    /// J(zᵢ) vᵢ for every sample i (one row each), as a new matrix. For set-up and tests; solvers
    /// call the pointer form on preallocated buffers.
    public func jacobianVectorProduct(at z: Matrix, vectors v: Matrix) throws(UsageError) -> Matrix {
        try wholeBatchProduct(z, v, transposed: false)
    }

    /// J(zᵢ)ᵀ uᵢ (the row vectors uᵢᵀ J(zᵢ)) for every sample i, as a new matrix. For set-up
    /// and tests.
    public func vectorJacobianProduct(at z: Matrix, covectors u: Matrix) throws(UsageError) -> Matrix {
        try wholeBatchProduct(z, u, transposed: true)
    }

    private func wholeBatchProduct(_ z: Matrix, _ v: Matrix, transposed: Bool) throws(UsageError) -> Matrix {
        try Check.shape(v, (batchSize, dimension), "\(Self.self)", transposed ? "covectors" : "vectors",
                        "B × d of the map, one sample per row")
        let fz = try self(z)
        var out = Matrix(rows: batchSize, columns: dimension)
        let all = Array(0..<batchSize)
        let workspace = makeJacobianWorkspace(maxSamples: batchSize)
        z.storage.withUnsafeBufferPointer { pz in
            fz.storage.withUnsafeBufferPointer { pf in
                v.storage.withUnsafeBufferPointer { pv in
                    out.storage.withUnsafeMutableBufferPointer { po in
                        all.withUnsafeBufferPointer { rows in
                            if transposed {
                                vectorJacobianProduct(at: pz.baseAddress!, image: pf.baseAddress!,
                                                      covector: pv.baseAddress!, into: po.baseAddress!,
                                                      samples: rows, workspace: workspace)
                            } else {
                                jacobianVectorProduct(at: pz.baseAddress!, image: pf.baseAddress!,
                                                      vector: pv.baseAddress!, into: po.baseAddress!,
                                                      samples: rows, workspace: workspace)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
