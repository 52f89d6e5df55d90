import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// The DEQ decoder and the masked inpainting loss (docs/MATH.md §6): the loss against a triple
/// loop and its gradient against central differences (exact for a quadratic, up to rounding);
/// the decoder's whole training gradient (W, U, b, V, c and the codes) against central
/// differences of the objective through re-solved fixed points; training's contract (loss down,
/// ‖W‖₂ capped); the array file round trip; inpainting by both methods on a tiny decoder.
@Suite struct DEQDecoderTests {
    /// d = 4, p = 2, q = 5 with ‖W‖₂ = 0.5, so f is a 0.5-contraction in z (tanh is 1-Lipschitz).
    static func decoder(seed: UInt64 = 11) throws -> DEQDecoder {
        var g = SplitMix64(seed: seed)
        var decoder = try DEQDecoder.random(dimension: 4, codeDimension: 2, outputMean: g.uniforms(count: 5, low: 0, high: 1),
                                            spectralNorm: 0.5, seed: seed)
        decoder.bias = g.uniforms(count: 4, low: -0.3, high: 0.3)
        return decoder
    }

    /// A solve of the 0.5-contraction to an absolute residual 1e-14: the error in z* is
    /// ≤ 1e-14 / (1 − 0.5) = 2e-14 per sample.
    static let tight = try! StoppingCriteria(tolerance: 1e-14, measure: .absolute, maxIterations: 500, recordHistory: false)

    @Test func maskedLossMatchesATripleLoopAndItsGradientCentralDifferences() throws {
        let decoder = try Self.decoder()
        var g = SplitMix64(seed: 5)
        let b = 3, d = 4, q = 5
        let z = try Matrix(rows: b, columns: d, values: g.uniforms(count: b * d, low: -0.9, high: 0.9))
        let y = try Matrix(rows: b, columns: q, values: g.uniforms(count: b * q, low: 0, high: 1))
        var maskValues = g.uniforms(count: b * q, low: 0, high: 1).map { $0 < 0.5 ? 0.0 : 1.0 }
        maskValues[1] = 0.25   // a fractional weight enters squared
        let mask = try Matrix(rows: b, columns: q, values: maskValues)
        let loss = try MaskedReconstructionLoss(decoder: decoder, target: y, mask: mask)
        let samples = [0, 1, 2]
        let values = try loss.values(states: z, samples: samples)
        let gradient = try loss.gradients(states: z, samples: samples)
        let h = 1e-3
        for i in 0..<b {
            // The reference ℓᵢ and the sum of absolute terms S bounding the rounding of any
            // computation of it: each residual is a sum of d + 2 terms.
            func reference(_ zi: [Double]) -> (value: Double, absolute: Double) {
                var s = 0.0, a = 0.0
                for j in 0..<q {
                    var r = decoder.readoutBias[j] - y[i, j], abs1 = Swift.abs(decoder.readoutBias[j]) + Swift.abs(y[i, j])
                    for k in 0..<d { r += decoder.readout[j, k] * zi[k]; abs1 += Swift.abs(decoder.readout[j, k] * zi[k]) }
                    s += 0.5 * mask[i, j] * mask[i, j] * r * r
                    a += 0.5 * mask[i, j] * mask[i, j] * abs1 * abs1
                }
                return (s, a)
            }
            let exact = reference(z.row(i))
            // Two computations of sums of d + 2 terms, squared and summed over q: ≤ γ_{2(d+2)+q} S each.
            let valueBound = ErrorBound.reordered(terms: 2 * (d + 2) + q, absolute: exact.absolute)
            #expect(Swift.abs(values[i] - exact.value) <= valueBound, "ℓ_\(i): \(values[i]) vs \(exact.value)")
            for k in 0..<d {
                var plus = z.row(i), minus = z.row(i)
                plus[k] += h
                minus[k] -= h
                let fp = reference(plus), fm = reference(minus)
                // ℓ is quadratic in z: the central difference is exact in exact arithmetic; the
                // rounding of the two values (each ≤ the bound above) divided by 2h, plus that
                // of the gradient's own sums (≤ γ_{d+q} times its absolute terms, below 1e-14).
                let fd = (fp.value - fm.value) / (2 * h)
                let bound = (ErrorBound.reordered(terms: 2 * (d + 2) + q, absolute: max(fp.absolute, fm.absolute)) / h) + 1e-14
                #expect(Swift.abs(gradient[i, k] - fd) <= bound, "∂ℓ_\(i)/∂z_\(k): \(gradient[i, k]) vs \(fd), bound \(bound)")
            }
        }
    }

    @Test func trainingGradientMatchesCentralDifferencesThroughTheFixedPoint() throws {
        let decoder = try Self.decoder()
        var g = SplitMix64(seed: 7)
        let n = 3, p = 2, lambda = 0.3
        let x = try Matrix(rows: n, columns: p, values: g.uniforms(count: n * p, low: -1, high: 1))
        let y = try Matrix(rows: n, columns: 5, values: g.uniforms(count: n * 5, low: 0, high: 1))
        let solver = ForwardIteration()
        func loss(_ d: DEQDecoder, _ x: Matrix) throws -> Double {
            try d.trainingGradient(outputs: y, codes: x, penalty: lambda, solver: solver, criteria: Self.tight,
                                   estimator: JacobianFreeGradient()).loss
        }
        let exact = try decoder.trainingGradient(outputs: y, codes: x, penalty: lambda, solver: solver, criteria: Self.tight,
                                                 estimator: ImplicitGradient.denseLU)
        #expect(exact.forward.converged)
        #expect(exact.parameters.map(\.name) == ["W", "U", "b", "V", "c"])
        // The library's default (Anderson on the adjoint map to 1e-10 relative) agrees with the
        // dense LU to that tolerance times ‖(I − Jᵀ)⁻¹‖ ≤ 2 and the O(1) products: 1e-8.
        let iterative = try decoder.trainingGradient(outputs: y, codes: x, penalty: lambda, solver: solver, criteria: Self.tight,
                                                     estimator: ImplicitGradient())
        for (a, b) in zip(exact.parameters.flatMap(\.values) + exact.codes.storage, iterative.parameters.flatMap(\.values) + iterative.codes.storage) {
            #expect(Swift.abs(a - b) <= 1e-8)
        }
        // Central differences with h = 1e-5: truncation h²/6 · |L'''| (third derivatives of
        // tanh ≤ 2, amplified by (1 − ρ)⁻³ = 8 and O(1) weights: |L'''| ≤ 100, so ≤ 2e-9);
        // each objective's fixed-point error ≤ 2e-14 times ‖∂L/∂z‖ ≤ 2 gives ≤ 2 · 4e-14 / 2h = 4e-9;
        // rounding of L ~ 1e-16 / h = 1e-11. Bound 1e-8 (margin ≥ 1.6 over the sum).
        let h = 1e-5, bound = 1e-8
        let base = decoder.parameters
        for (a, array) in base.enumerated() {
            for k in 0..<array.values.count {
                var plus = base, minus = base
                plus[a].values[k] += h
                minus[a].values[k] -= h
                let fd = (try loss(DEQDecoder(parameters: plus), x) - loss(DEQDecoder(parameters: minus), x)) / (2 * h)
                let analytic = exact.parameters[a].values[k]
                #expect(Swift.abs(analytic - fd) <= bound, "∂L/∂\(array.name)[\(k)]: \(analytic) vs \(fd)")
            }
        }
        for k in 0..<x.storage.count {
            var plus = x, minus = x
            plus.storage[k] += h
            minus.storage[k] -= h
            let fd = (try loss(decoder, plus) - loss(decoder, minus)) / (2 * h)
            #expect(Swift.abs(exact.codes.storage[k] - fd) <= bound, "∂L/∂x[\(k)]: \(exact.codes.storage[k]) vs \(fd)")
        }
    }

    @Test func trainingLowersTheLossAndKeepsTheSpectralNormCapped() throws {
        var g = SplitMix64(seed: 3)
        let images = try Matrix(rows: 20, columns: 6, values: g.uniforms(count: 120, low: 0, high: 1))
        let options = DEQDecoder.TrainingOptions(dimension: 5, codeDimension: 2, epochs: 60,
                                                 optimizer: Optimizer(kind: .adam, learningRate: 0.05),
                                                 initialSpectralNorm: 0.8, spectralNormCap: 0.85, seed: 1)
        let (decoder, codes, log) = try DEQDecoder.train(images: images, options: options)
        #expect(log.count == 60)
        #expect(codes.rows == 20 && codes.columns == 2)
        #expect(log.last!.loss < 0.8 * log.first!.loss, "loss \(log.first!.loss) → \(log.last!.loss)")
        #expect(log.allSatisfy { $0.forwardConverged == 1 && $0.backwardConverged == 1 })
        // The cap is applied by a rescaling whose SVD is backward stable: ‖W‖₂ ≤ cap (1 + 1e-12).
        let norm = try LAPACK.spectralNorm(decoder.weight)
        #expect(norm <= 0.85 * (1 + 1e-12), "‖W‖₂ = \(norm)")
    }

    @Test func decoderFileRoundTripsAndBadArraysAreUsageErrors() throws {
        let decoder = try Self.decoder()
        let scratch = try ScratchDirectory("deq-decoder")
        defer { scratch.cleanUp() }
        let codes = try Matrix(rows: 3, columns: 2, values: [1, 2, 3, 4, 5, 6])
        let url = scratch.file("decoder.npz")
        try decoder.write(to: url, codes: codes)
        let (read, readCodes) = try DEQDecoder.read(from: url)
        #expect(read == decoder)
        #expect(readCodes == codes)
        var arrays = decoder.parameters
        arrays[3] = try NamedArray("V", shape: [5, 3], values: Array(repeating: 0, count: 15))
        #expect(throws: UsageError.self) { try DEQDecoder(parameters: arrays) }
        #expect(throws: UsageError.self) {
            try MaskedReconstructionLoss(decoder: decoder, target: Matrix(rows: 1, columns: 5), mask: Matrix(rows: 1, columns: 5, repeating: 2))
        }
    }

    @Test func bothMethodsInpaintTheSameTinyProblemToTheSameObjective() throws {
        let decoder = try Self.decoder()
        let truth = try decoder.decode(codes: Matrix(rows: 1, columns: 2, values: [0.7, -0.4]), criteria: Self.tight).outputs
        let criteria = try StoppingCriteria(tolerance: 1e-11, measure: .absolute, maxIterations: 5000, recordHistory: false)
        let settings = InputOptimizationComparison.Settings(step: 0.5, solver: AndersonAcceleration(), criteria: criteria, maxSteps: 20_000,
                                                            gradientTolerance: 1e-9, verifyCriteria: Self.tight)
        let options = DigitsInpainting.Options(mask: .bottomHalf, penalty: 1e-3, steps: [0.5], settings: settings)
        // The 5 outputs as a 5 × 1 image: the bottom-half mask observes rows 0 and 1 (5 / 2 = 2)
        // and hides rows 2, 3, 4.
        let runs = try DigitsInpainting.compare(decoder: decoder, modelName: "tiny", image: truth, index: 0, label: 0,
                                                height: 5, width: 1, mean: decoder.readoutBias, options: options)
        #expect(runs.map(\.method) == ["nested", "joint"])
        for r in runs {
            #expect(r.converged, "\(r.method): \(r.note)")
            #expect(r.finalVerified)
            #expect(r.reached != nil, "\(r.method) never came within 1 % of F*")
            #expect(r.finalObjective < r.initialObjective)
            #expect(r.trace.last!.evaluations <= r.evaluations)
        }
        // Both stop where ‖∇F‖ ≤ 1e-9 (nested) or the augmented residual ≤ 1e-11 (joint); with
        // F ≥ 0 and a curvature O(1), the objectives at two such points of one basin differ by
        // ≤ ‖∇F‖² ‖H⁻¹‖ ≪ 1e-12; bound 1e-10.
        #expect(Swift.abs(runs[0].finalObjective - runs[1].finalObjective) <= 1e-10)
        #expect(DigitsInpainting.Mask.bottomHalf.observed(height: 8, width: 8).reduce(0, +) == 32)
        #expect(DigitsInpainting.Mask.rightHalf.observed(height: 8, width: 8)[3] == 1)
        #expect(DigitsInpainting.Mask.rightHalf.observed(height: 8, width: 8)[4] == 0)
    }
}
