/// The adjoint equation of a fixed point as a fixed-point map:
///
///     h(y) = J(z*)ᵀ y + c,       fixed point  y = (I − J(z*)ᵀ)⁻¹ c
///
/// with J = ∂f/∂z frozen at the forward fixed points z* and c = ∂L/∂z*, one row per sample.
/// Being a ``FixedPointMap`` over the batch, it is solved by any ``FixedPointSolver`` with its
/// own ``StoppingCriteria``, per sample and with compaction, exactly as a forward problem. It is
/// linear, and a ``DifferentiableMap``: its Jacobian is J(z*)ᵀ everywhere, so
///
///     (∂h/∂y) v = J(z*)ᵀ v        one VJP of the cell
///     uᵀ (∂h/∂y) = (J(z*) u)ᵀ      one JVP of the cell
///
/// and Newton–Krylov runs on it with analytic products. Each evaluation of h and each of its
/// JVPs is one vector–Jacobian product of the cell (counted in the solve's nfe and jvp).
///
/// The images f(z*) are computed once at construction (the tanh cell's Jacobian depends on
/// them). Evaluation reuses one internal buffer set: the map is not safe to evaluate from
/// several threads at once (no solver does).
public struct AdjointMap<Cell: DifferentiableMap>: DifferentiableMap {
    public let cell: Cell
    private let storage: AdjointBuffers<Cell>

    public var dimension: Int { cell.dimension }
    public var batchSize: Int { cell.batchSize }

    /// The adjoint map at the fixed points `point` (B × d) with upstream gradient `upstream`
    /// (B × d); `image` = f(point) when the caller has it, else it is evaluated here.
    public init(cell: Cell, point: Matrix, image: Matrix? = nil, upstream: Matrix) throws(UsageError) {
        let b = cell.batchSize, d = cell.dimension
        try Check.shape(point, (b, d), "AdjointMap", "fixed points z*", "B × d of the cell")
        try Check.shape(upstream, (b, d), "AdjointMap", "upstream gradient c", "B × d of the cell")
        if let image { try Check.shape(image, (b, d), "AdjointMap", "image f(z*)", "B × d of the cell") }
        self.cell = cell
        let evaluated: Matrix
        if let image { evaluated = image } else { evaluated = try cell(point) }
        storage = AdjointBuffers(cell: cell, point: point, image: evaluated, upstream: upstream)
    }

    public func evaluate(_ y: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        storage.transposedProduct(y, into: out, samples: samples, workspace: storage.evaluationWorkspace)
        let d = dimension
        for (r, s) in samples.enumerated() {
            BLAS.axpy(count: d, alpha: 1, x: storage.upstream + s * d, y: out + r * d)
        }
    }

    public func makeJacobianWorkspace(maxSamples: Int) -> AdjointWorkspace<Cell> {
        AdjointWorkspace(cell: cell, maxSamples: maxSamples)
    }

    public func jacobianVectorProduct(at y: UnsafePointer<Double>, image hy: UnsafePointer<Double>,
                                      vector v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: AdjointWorkspace<Cell>) {
        storage.transposedProduct(v, into: out, samples: samples, workspace: workspace)
    }

    public func vectorJacobianProduct(at y: UnsafePointer<Double>, image hy: UnsafePointer<Double>,
                                      covector u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                                      samples: UnsafeBufferPointer<Int>, workspace: AdjointWorkspace<Cell>) {
        storage.product(u, into: out, samples: samples, workspace: workspace)
    }
}

/// Scratch memory of the adjoint map's products: the cell's own workspace and the compacted
/// rows of z* and f(z*) for a partial batch.
public final class AdjointWorkspace<Cell: DifferentiableMap> {
    let cellWorkspace: Cell.JacobianWorkspace
    let compactZ: UnsafeMutablePointer<Double>
    let compactF: UnsafeMutablePointer<Double>

    init(cell: Cell, maxSamples: Int) {
        cellWorkspace = cell.makeJacobianWorkspace(maxSamples: maxSamples)
        let n = max(1, maxSamples * cell.dimension)
        compactZ = .allocate(capacity: n)
        compactF = .allocate(capacity: n)
        compactZ.initialize(repeating: 0, count: n)
        compactF.initialize(repeating: 0, count: n)
    }

    deinit {
        compactZ.deallocate()
        compactF.deallocate()
    }
}

/// z*, f(z*) and c of an ``AdjointMap``, copied once, and the workspace of its evaluations.
final class AdjointBuffers<Cell: DifferentiableMap> {
    let cell: Cell
    let batchSize: Int
    let dimension: Int
    let point: UnsafeMutablePointer<Double>
    let image: UnsafeMutablePointer<Double>
    let upstream: UnsafeMutablePointer<Double>
    let evaluationWorkspace: AdjointWorkspace<Cell>

    init(cell: Cell, point: Matrix, image: Matrix, upstream: Matrix) {
        self.cell = cell
        batchSize = cell.batchSize
        dimension = cell.dimension
        let n = max(1, batchSize * dimension)
        self.point = .allocate(capacity: n)
        self.image = .allocate(capacity: n)
        self.upstream = .allocate(capacity: n)
        for (buffer, matrix) in [(self.point, point), (self.image, image), (self.upstream, upstream)] {
            buffer.initialize(repeating: 0, count: n)
            matrix.storage.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: matrix.count) }
        }
        evaluationWorkspace = AdjointWorkspace(cell: cell, maxSamples: batchSize)
    }

    deinit {
        point.deallocate()
        image.deallocate()
        upstream.deallocate()
    }

    /// The rows of z* and f(z*) for `samples`: the stored batch itself when every sample is
    /// included, else compacted copies in `workspace`.
    private func linearisationPoint(_ samples: UnsafeBufferPointer<Int>, _ workspace: AdjointWorkspace<Cell>)
        -> (z: UnsafePointer<Double>, fz: UnsafePointer<Double>) {
        if samples.count == batchSize { return (UnsafePointer(point), UnsafePointer(image)) }
        let d = dimension
        for (r, s) in samples.enumerated() {
            (workspace.compactZ + r * d).update(from: point + s * d, count: d)
            (workspace.compactF + r * d).update(from: image + s * d, count: d)
        }
        return (UnsafePointer(workspace.compactZ), UnsafePointer(workspace.compactF))
    }

    /// Rows J(zₛ*)ᵀ uᵣ.
    func transposedProduct(_ u: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                           samples: UnsafeBufferPointer<Int>, workspace: AdjointWorkspace<Cell>) {
        guard samples.count > 0 else { return }
        let (z, fz) = linearisationPoint(samples, workspace)
        cell.vectorJacobianProduct(at: z, image: fz, covector: u, into: out, samples: samples,
                                   workspace: workspace.cellWorkspace)
    }

    /// Rows J(zₛ*) vᵣ.
    func product(_ v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                 samples: UnsafeBufferPointer<Int>, workspace: AdjointWorkspace<Cell>) {
        guard samples.count > 0 else { return }
        let (z, fz) = linearisationPoint(samples, workspace)
        cell.jacobianVectorProduct(at: z, image: fz, vector: v, into: out, samples: samples,
                                   workspace: workspace.cellWorkspace)
    }
}
