/// Where a solver gets Jacobian–vector products J v (J = ∂f/∂z at the current iterate).
///
/// - `analytic`: the map's own ``DifferentiableMap/jacobianVectorProduct(at:image:vector:into:samples:workspace:)``,
///   counted per sample in ``SampleReport/jacobianVectorProducts`` (not in nfe). Requires a map
///   conforming to ``DifferentiableMap`` (a precondition: asking for it on a closure map is a
///   programming error).
/// - `finiteDifference`: the forward difference
///
///       J v ≈ (f(z + h v) − f(z)) / h,    h = √ε · max(1, ‖z‖) / ‖v‖,   ε = 2⁻⁵²
///
///   (REFERENCE §3; Kelley 1995, §6.2; Knoll & Keyes 2004, §2.2). √ε balances the truncation
///   error O(h ‖f″‖) against the rounding error O(ε ‖f‖ / h), so about half the digits of J v
///   are correct; plenty for an inexact Newton direction. Each product is one f evaluation per
///   sample and is counted in nfe.
/// - `automatic` (the default): analytic when the map conforms, finite differences otherwise.
///
/// The choice is made once per solve (one dynamic cast), never per product.
public enum JacobianProducts: String, Sendable, CaseIterable, Codable {
    case automatic
    case analytic
    case finiteDifference = "finite-difference"
}

/// The source of J_f v inside a solve: analytic or finite differences, both on the context's
/// current iterate (z, f(z)). Internal; the solver is generic over it, so the choice costs
/// nothing per product.
protocol JacobianVectorProductSource<Map> {
    associatedtype Map: FixedPointMap

    /// Row s of `out` ← J_f(z_s) v_s for every s in `samples`, where v and out are B × d buffers
    /// indexed by sample (row s is sample s) and z_s, f(z_s) are the context's current rows.
    /// Counts the work in the context (jvp or nfe).
    func multiply(_ v: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>,
                  samples: [Int], context: SolveContext<Map>)

    /// True when each product costs an f evaluation (so it needs evaluation budget).
    var consumesEvaluations: Bool { get }

    /// The relative accuracy of a product, as the size below which a component of J_g v =
    /// J_f v − v is indistinguishable from zero (relative to ‖J_f v‖ + ‖v‖).
    var relativeAccuracy: Double { get }
}

/// Analytic J v from a ``DifferentiableMap``: one batched call per product on the compacted rows.
final class AnalyticJacobianProducts<Map: DifferentiableMap>: JacobianVectorProductSource {
    private let workspace: Map.JacobianWorkspace
    private let dimension: Int
    private let batchSize: Int
    private let compactZ: UnsafeMutablePointer<Double>
    private let compactF: UnsafeMutablePointer<Double>
    private let compactV: UnsafeMutablePointer<Double>
    private let compactOut: UnsafeMutablePointer<Double>

    init(map: Map) {
        batchSize = map.batchSize
        dimension = map.dimension
        workspace = map.makeJacobianWorkspace(maxSamples: map.batchSize)
        let n = max(1, batchSize * dimension)
        compactZ = .allocate(capacity: n)
        compactF = .allocate(capacity: n)
        compactV = .allocate(capacity: n)
        compactOut = .allocate(capacity: n)
        for p in [compactZ, compactF, compactV, compactOut] { p.initialize(repeating: 0, count: n) }
    }

    deinit {
        for p in [compactZ, compactF, compactV, compactOut] { p.deallocate() }
    }

    var consumesEvaluations: Bool { false }

    /// Exact up to rounding: 1e-14 ≈ 64 ε.
    var relativeAccuracy: Double { 1e-14 }

    func multiply(_ v: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>,
                  samples: [Int], context: SolveContext<Map>) {
        guard !samples.isEmpty else { return }
        let d = dimension
        samples.withUnsafeBufferPointer { rows in
            if rows.count == batchSize {
                context.map.jacobianVectorProduct(at: context.z, image: context.fz, vector: v, into: out,
                                                  samples: rows, workspace: workspace)
            } else {
                for (r, s) in rows.enumerated() {
                    (compactZ + r * d).update(from: context.z + s * d, count: d)
                    (compactF + r * d).update(from: context.fz + s * d, count: d)
                    (compactV + r * d).update(from: v + s * d, count: d)
                }
                context.map.jacobianVectorProduct(at: compactZ, image: compactF, vector: compactV,
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
final class FiniteDifferenceJacobianProducts<Map: FixedPointMap>: JacobianVectorProductSource {
    /// √ε for float64.
    static var relativeStep: Double { Double.ulpOfOne.squareRoot() }

    private let dimension: Int
    private let probes: UnsafeMutablePointer<Double>
    private let images: UnsafeMutablePointer<Double>
    private var steps: [Double]
    private var probed: [Int]

    init(batchSize: Int, dimension: Int) {
        self.dimension = dimension
        let n = max(1, batchSize * dimension)
        probes = .allocate(capacity: n)
        images = .allocate(capacity: n)
        probes.initialize(repeating: 0, count: n)
        images.initialize(repeating: 0, count: n)
        steps = Array(repeating: 0, count: batchSize)
        probed = []
        probed.reserveCapacity(batchSize)
    }

    deinit {
        probes.deallocate()
        images.deallocate()
    }

    var consumesEvaluations: Bool { true }

    /// 10 √ε ≈ 1.5e-7: a forward difference with h ∝ √ε carries an error of order √ε relative
    /// (rounding ε‖f‖/h plus truncation h‖f″‖), so smaller components of J_g v are noise. On
    /// f(z) = z + b (J_g = 0) the difference is v plus noise of order √ε ‖b‖, and without this
    /// floor GMRES would invert the noise into a step of order ‖b‖/√ε.
    var relativeAccuracy: Double { 10 * Self.relativeStep }

    func multiply(_ v: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>,
                  samples: [Int], context: SolveContext<Map>) {
        let d = dimension
        probed.removeAll(keepingCapacity: true)
        for s in samples {
            let vRow = v + s * d, zRow = context.z + s * d
            let vNorm = BLAS.nrm2(count: d, vRow)
            guard vNorm > 0, vNorm.isFinite else {
                // J·0 = 0 needs no probe; a non-finite v gives a non-finite product.
                (out + s * d).update(repeating: vNorm == 0 ? 0 : .nan, count: d)
                continue
            }
            let h = Self.relativeStep * max(1, BLAS.nrm2(count: d, zRow)) / vNorm
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
