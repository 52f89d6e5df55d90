import Foundation
import Testing
import Equilibrium

/// Anderson's iterates against an independent reference of the Walker–Ni step.
///
/// The solver keeps its pairs in a ring, updates the Gram matrix one row per step, reads only
/// the ring slots in use and solves the normal equations by Cholesky. The reference here keeps
/// the plain list of evaluated points (xᵢ, fᵢ) and, for every step k, takes the last
/// n = min(k, m) differences, solves min ‖g_k − ΔG γ‖ by modified Gram–Schmidt QR and forms
///
///     x_{k+1} = x_k + β g_k − (ΔX + β ΔG) γ        (Walker & Ni 2011, eq. (2.3) with mixing β)
///
/// from the solver's own x_k (recorded by the map), so errors do not accumulate. With m = 3
/// and 10+ steps the ring wraps several times, so a step that read a wrong or stale slot (or
/// missed one of the two slot runs of a wrapped ring) would be off by O(‖ΔX γ‖), far beyond the bound.
@Suite struct AndersonReferenceTests {
    /// Every point a solve evaluates, per sample, in order.
    final class Recorder {
        var points: [[(x: [Double], f: [Double])]]
        init(batchSize: Int) { points = Array(repeating: [], count: batchSize) }
    }

    struct RecordingMap: FixedPointMap {
        let base: PlainLoopTanhMap
        let recorder: Recorder
        var dimension: Int { base.dimension }
        var batchSize: Int { base.batchSize }

        func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
            base.evaluate(z, into: fz, samples: samples)
            let d = dimension
            for (r, s) in samples.enumerated() {
                recorder.points[s].append((Array(UnsafeBufferPointer(start: z + r * d, count: d)),
                                           Array(UnsafeBufferPointer(start: fz + r * d, count: d))))
            }
        }
    }

    /// γ = argmin ‖b − A γ‖ for the d × n matrix A given by its columns, by modified Gram–Schmidt
    /// with one reorthogonalisation, and κ_F(A) = ‖R‖_F ‖R⁻¹‖_F ≥ κ₂(A).
    static func leastSquares(columns: [[Double]], _ b: [Double]) -> (gamma: [Double], condition: Double) {
        let n = columns.count, d = b.count
        var q = columns
        var r = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for j in 0..<n {
            for _ in 0..<2 {
                for i in 0..<j {
                    let p = (0..<d).reduce(0.0) { $0 + q[i][$1] * q[j][$1] }
                    r[i][j] += p
                    for t in 0..<d { q[j][t] -= p * q[i][t] }
                }
            }
            let norm = BLAS.nrm2(q[j])
            r[j][j] = norm
            for t in 0..<d { q[j][t] /= norm }
        }
        let rhs = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + q[i][$1] * b[$1] } }
        var gamma = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = rhs[i]
            for j in stride(from: i + 1, to: n, by: 1) { sum -= r[i][j] * gamma[j] }
            gamma[i] = sum / r[i][i]
        }
        // R⁻¹ column by column (back substitution on the unit vectors).
        var inverseNorm2 = 0.0
        for c in 0..<n {
            var column = [Double](repeating: 0, count: n)
            for i in stride(from: c, through: 0, by: -1) {
                var sum = i == c ? 1.0 : 0.0
                for j in stride(from: i + 1, through: c, by: 1) { sum -= r[i][j] * column[j] }
                column[i] = sum / r[i][i]
            }
            inverseNorm2 += column.reduce(0) { $0 + $1 * $1 }
        }
        let norm2 = r.joined().reduce(0) { $0 + $1 * $1 }
        return (gamma, (norm2 * inverseNorm2).squareRoot())
    }

    @Test(arguments: [1.0, 0.5])
    func iteratesMatchTheWalkerNiStep(mixing beta: Double) throws {
        let d = 30, b = 2, m = 3
        var generator = SplitMix64(seed: 41)
        let gaussian = try Matrix.gaussian(rows: d, columns: d, using: &generator)
        let weight = (0.8 / (Double(d).squareRoot() * 2)) * gaussian   // ‖W‖₂ ≈ 0.8
        let injection = try Matrix.gaussian(rows: b, columns: d, using: &generator)
        let recorder = Recorder(batchSize: b)
        let map = RecordingMap(base: PlainLoopTanhMap(weight: weight, injection: injection), recorder: recorder)
        // λ = 0: the reference solves the unregularised problem; the Gram condition numbers here
        // stay far below the solver's drop threshold (checked below), so no pair is dropped.
        let solver = try AndersonAcceleration(memory: m, regularization: 0, mixing: beta)
        let result = try solver.solve(map, from: Matrix(rows: b, columns: d),
                                      criteria: try StoppingCriteria(tolerance: 1e-9, maxIterations: 200))
        let eps = Double.ulpOfOne
        for s in 0..<b {
            let points = recorder.points[s]
            #expect(result.samples[s].converged)
            #expect(points.count == result.samples[s].evaluations, "sample \(s): one recorded point per evaluation")
            var compared = 0
            for k in 1..<(points.count - 1) {
                let x = points[k].x, g = zip(points[k].f, x).map { $0 - $1 }
                let n = min(k, m)
                var dG: [[Double]] = [], dXplusBetaG: [[Double]] = []
                for i in (k - n)..<k {
                    let gi = zip(points[i].f, points[i].x).map { $0 - $1 }
                    let gNext = zip(points[i + 1].f, points[i + 1].x).map { $0 - $1 }
                    let differenceG = zip(gNext, gi).map { $0 - $1 }
                    dG.append(differenceG)
                    dXplusBetaG.append((0..<d).map { (points[i + 1].x[$0] - points[i].x[$0]) + beta * differenceG[$0] })
                }
                let (gamma, condition) = Self.leastSquares(columns: dG, g)
                // Far from the solver's drop threshold (Gram condition 1e10, i.e. κ(ΔG) 1e5).
                #expect(condition < 1e4, "sample \(s) step \(k): κ(ΔG) ≤ \(condition)")
                var reference = (0..<d).map { x[$0] + beta * g[$0] }
                var correction = 0.0
                for i in 0..<n {
                    for t in 0..<d { reference[t] -= gamma[i] * dXplusBetaG[i][t] }
                    correction += abs(gamma[i]) * BLAS.nrm2(dXplusBetaG[i])
                }
                // The solver's γ comes from the normal equations: relative error ≲ κ² ε (Higham,
                // Accuracy and Stability, §20.4), so its correction is off by ≲ κ² ε Σ|γᵢ| ‖ΔXᵢ + βΔGᵢ‖;
                // both sides round the sums in x_k + β g_k − … by ≲ (n + 2) ε per entry. Margin 10.
                let bound = 10 * (condition * condition * eps * correction
                                  + Double(n + 2) * eps * (BLAS.nrm2(x) + beta * BLAS.nrm2(g) + correction))
                let next = points[k + 1].x
                let error = BLAS.nrm2(zip(next, reference).map { $0 - $1 })
                #expect(error <= bound, "sample \(s) step \(k): ‖x_{k+1} − reference‖ = \(error), bound \(bound)")
                compared += 1
            }
            // The ring (m = 3) must have wrapped several times for the test to mean anything.
            #expect(compared >= 3 * m, "sample \(s): \(compared) steps compared")
        }
    }
}
