import Equilibrium
import Foundation

/// The `jacobian-diagnostics` measurement of one grid point: ρ(J) by power iteration and
/// ‖J‖_F² by Hutchinson at the forward fixed points, with the exact values (dense J, LAPACK)
/// when d ≤ ``JacobianDiagnosticsSpec/exactLimit``. Per sample.
public struct JacobianStudyRecord: Sendable, Codable, Equatable {
    /// Power-iteration estimates of ρ(J), per sample.
    public var spectralRadius: [Double]
    public var spectralRadiusConverged: [Bool]
    public var powerProducts: [Int]
    /// LAPACK's ρ(J), per sample (absent above the exact limit).
    public var exactSpectralRadius: [Double]?
    /// Hutchinson estimates of ‖J‖_F² and their standard errors, per sample.
    public var frobeniusSquared: [Double]
    public var frobeniusStandardError: [Double]
    /// ‖J‖_F² from the dense J, per sample (absent above the exact limit).
    public var exactFrobeniusSquared: [Double]?
    public var probes: Int
    public var powerSeconds: Double
    public var hutchinsonSeconds: Double
    public var exactSeconds: Double?
    /// Why the exact values are missing, if they are.
    public var note: String?

    /// Measures at the rows of `point` (B × d). `seed` seeds the power start and the probes.
    public static func measure<Map: DifferentiableMap>(map: Map, at point: Matrix, spec: JacobianDiagnosticsSpec,
                                                       seed: UInt64) throws(UsageError) -> JacobianStudyRecord {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) * 1e-9
        }
        var options = try spec.powerOptions
        options.seed = seed
        let power = try JacobianDiagnostics.spectralRadius(of: map, at: point, options: options)
        let powerSeconds = lap()
        let hutchinson = try JacobianDiagnostics.hutchinson(of: map, at: point, probes: spec.probes, seed: seed &+ 1)
        let hutchinsonSeconds = lap()
        var record = JacobianStudyRecord(
            spectralRadius: power.estimates, spectralRadiusConverged: power.converged, powerProducts: power.products,
            exactSpectralRadius: nil, frobeniusSquared: hutchinson.squaredNorms,
            frobeniusStandardError: hutchinson.standardErrors, exactFrobeniusSquared: nil, probes: spec.probes,
            powerSeconds: powerSeconds, hutchinsonSeconds: hutchinsonSeconds, exactSeconds: nil, note: nil)
        if map.dimension <= spec.exactLimit {
            do {
                let exact = try JacobianDiagnostics.exact(of: map, at: point)
                record.exactSpectralRadius = exact.spectralRadii
                record.exactFrobeniusSquared = exact.squaredFrobeniusNorms
                record.exactSeconds = lap()
            } catch {
                record.note = "exact values unavailable: \(error)"
            }
        } else {
            record.note = "d = \(map.dimension) is above exact-limit \(spec.exactLimit): no exact values"
        }
        return record
    }
}
