/// Where a solver gets Jacobian–vector products J v (J = ∂f/∂z at the current iterate).
///
/// - `analytic`: the map's own ``DifferentiableMap/jacobianVectorProduct(at:image:vector:into:samples:workspace:)``,
///   counted per sample in ``SampleReport/jacobianVectorProducts`` (not in nfe). Asking for it of
///   a map that does not conform to ``DifferentiableMap`` (a ``ClosureMap``) is a ``UsageError``.
/// - `finiteDifference`: the forward difference
///
///       J v ≈ (f(z + h v) − f(z)) / h,    h = √ε · max(1, ‖z‖) / ‖v‖,   ε = 2⁻⁵²
///
///   (Kelley 1995, §6.2; Knoll & Keyes 2004, §2.2). √ε balances the truncation error
///   O(h ‖f″‖) against the rounding error O(ε ‖f‖ / h), so about half the digits of J v are
///   correct; plenty for an inexact Newton direction. Each product is one f evaluation per
///   sample and is counted in nfe.
/// - `automatic` (the default): analytic when the map conforms, finite differences otherwise.
///
/// The choice is made once per solve (one dynamic cast), never per product.
public enum JacobianProducts: String, Sendable, CaseIterable, Codable {
    case automatic
    case analytic
    case finiteDifference = "finite-difference"
}

/// J_f v at a solve's current iterates (z, f(z)), analytic or by finite differences, for every
/// sample of a list at once: one batched map call per product. Made once per solve from the
/// solve's context (its buffers count in the solve's workspace); for Newton-type solvers, built
/// in or written outside the package.
public final class JacobianVectorProducts {
    /// True when the products are the map's analytic ones.
    public let isAnalytic: Bool
    /// The relative accuracy of a product: the size below which a component of J_g v =
    /// J_f v − v is indistinguishable from zero, relative to ‖J_f v‖ + ‖v‖. 1e-14 ≈ 64 ε for
    /// analytic products; 10 √ε ≈ 1.5e-7 for a forward difference, whose error is of order √ε
    /// relative (rounding ε‖f‖/h plus truncation h‖f″‖): on f(z) = z + b (J_g = 0) the
    /// difference is v plus noise of order √ε ‖b‖, and without this floor GMRES would invert
    /// the noise into a step of order ‖b‖/√ε.
    public let relativeAccuracy: Double
    private let body: (UnsafePointer<Double>, UnsafeMutablePointer<Double>, [Int]) -> Void

    /// √ε for float64, the relative step of the forward difference.
    public static var relativeStep: Double { Double.ulpOfOne.squareRoot() }

    /// The bytes a product source allocates through the context for B samples of dimension d:
    /// four compaction buffers (4 B d doubles) for analytic products, probe points and their
    /// images (2 B d) for finite differences. The map's own product workspace
    /// (``DifferentiableMap/makeJacobianWorkspace(maxSamples:)``) belongs to the map.
    public static func workspaceBytes(batchSize b: Int, dimension d: Int, analytic: Bool) -> Int {
        (analytic ? 4 : 2) * b * d * MemoryLayout<Double>.stride
    }

    /// The products for `context`'s map under `choice`.
    ///
    /// - Throws: ``UsageError`` when `choice` is `.analytic` and the map has no analytic products.
    public init<Map: FixedPointMap>(context: SolveContext<Map>, choice: JacobianProducts) throws(UsageError) {
        if choice != .finiteDifference, let differentiable = context.map as? any DifferentiableMap {
            body = Self.analytic(differentiable, context: context)
            isAnalytic = true
            relativeAccuracy = 1e-14
            return
        }
        guard choice != .analytic else {
            throw UsageError("NewtonKrylov", "jacobianProducts", got: "analytic",
                             expected: "automatic or finiteDifference for \(Map.self), which has no analytic J·v (conform it to DifferentiableMap for analytic products)")
        }
        body = Self.finiteDifference(context)
        isAnalytic = false
        relativeAccuracy = 10 * Self.relativeStep
    }

    /// Whether each product costs an f evaluation (so it needs evaluation budget).
    public var consumesEvaluations: Bool { !isAnalytic }

    /// Row s of `out` ← J_f(z_s) v_s for every s in `samples` (v and out are B × d buffers with
    /// one row per sample), at the context's current z and f(z). Analytic products are counted in
    /// ``SolveContext/jacobianVectorProducts``, finite-difference probes in the evaluations.
    public func multiply(_ v: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, samples: [Int]) {
        guard !samples.isEmpty else { return }
        body(v, out, samples)
    }

    /// Analytic J v from a ``DifferentiableMap``: one batched call per product on the compacted rows.
    private static func analytic<M: DifferentiableMap, Map>(_ map: M, context: SolveContext<Map>)
        -> (UnsafePointer<Double>, UnsafeMutablePointer<Double>, [Int]) -> Void {
        let b = context.batchSize, d = context.dimension
        let workspace = map.makeJacobianWorkspace(maxSamples: b)
        let compactZ = context.allocate(doubles: b * d), compactF = context.allocate(doubles: b * d)
        let compactV = context.allocate(doubles: b * d), compactOut = context.allocate(doubles: b * d)
        return { [unowned context] v, out, samples in
            samples.withUnsafeBufferPointer { rows in
                if rows.count == b {
                    map.jacobianVectorProduct(at: context.z, image: context.fz, vector: v, into: out,
                                              samples: rows, workspace: workspace)
                } else {
                    for (r, s) in rows.enumerated() {
                        (compactZ + r * d).update(from: context.z + s * d, count: d)
                        (compactF + r * d).update(from: context.fz + s * d, count: d)
                        (compactV + r * d).update(from: v + s * d, count: d)
                    }
                    map.jacobianVectorProduct(at: compactZ, image: compactF, vector: compactV,
                                              into: compactOut, samples: rows, workspace: workspace)
                    for (r, s) in rows.enumerated() {
                        (out + s * d).update(from: compactOut + r * d, count: d)
                    }
                }
            }
            for s in samples { context.jacobianVectorProducts[s] += 1 }
        }
    }

    /// J v by the forward difference (f(z + h v) − f(z)) / h, h = √ε max(1, ‖z‖)/‖v‖: one batched
    /// evaluation per product, counted in nfe by the context.
    private static func finiteDifference<Map>(_ context: SolveContext<Map>)
        -> (UnsafePointer<Double>, UnsafeMutablePointer<Double>, [Int]) -> Void {
        let b = context.batchSize, d = context.dimension
        let probes = context.allocate(doubles: b * d), images = context.allocate(doubles: b * d)
        var steps = [Double](repeating: 0, count: b)
        var probed: [Int] = []
        probed.reserveCapacity(b)
        return { [unowned context] v, out, samples in
            probed.removeAll(keepingCapacity: true)
            for s in samples {
                let vRow = v + s * d, zRow = context.z + s * d
                let vNorm = BLAS.norm(count: d, vRow)
                guard vNorm > 0, vNorm.isFinite else {
                    // J·0 = 0 needs no probe; a non-finite v gives a non-finite product.
                    (out + s * d).update(repeating: vNorm == 0 ? 0 : .nan, count: d)
                    continue
                }
                let h = relativeStep * max(1, BLAS.norm(count: d, zRow)) / vNorm
                steps[s] = h
                let probe = probes + s * d
                for j in 0..<d { probe[j] = zRow[j] + h * vRow[j] }
                probed.append(s)
            }
            context.evaluate(at: probes, into: images, samples: probed)
            for s in probed {
                let inverse = 1 / steps[s]
                let image = images + s * d, fRow = context.fz + s * d, outRow = out + s * d
                for j in 0..<d { outRow[j] = (image[j] - fRow[j]) * inverse }
            }
        }
    }
}
