import Foundation

/// Diagnostics of the Jacobian J = ∂f/∂z at the fixed points (REFERENCE §4): its spectral
/// radius ρ(J), which sets the forward iteration's linear rate and the difficulty of the
/// adjoint solve, and its squared Frobenius norm ‖J‖_F², the quantity Jacobian regularisation
/// penalises (Bai et al. 2021). Both estimates use only batched products with J, one GEMM per
/// product for a dense cell; ``exact(of:at:)`` forms J densely for small d and asks LAPACK.
///
/// Every function works per sample (each sample has its own J) on the whole batch at once.
public enum JacobianDiagnostics {
    // MARK: Spectral radius

    /// Options of ``spectralRadius(of:at:options:)``.
    public struct PowerIterationOptions: Sendable, Equatable {
        /// The most products with Jᵀ per sample (two per iteration). Default 200: on random tanh
        /// cells at d ≤ 128 the estimate is then within about 1 % of LAPACK's ρ(J) (tests), and
        /// it costs 200 VJPs, a few forward solves' worth.
        public var maxProducts: Int
        /// Stop a sample when two successive estimates differ by at most this, relatively.
        /// Default 1e-6. A small change is not a proof of accuracy: when the leading
        /// eigenvalues are close in modulus the iteration creeps, so the report says whether
        /// the tolerance was met, and tests compare with LAPACK.
        public var tolerance: Double
        /// The seed of the Gaussian starting vectors.
        public var seed: UInt64

        public init(maxProducts: Int = 200, tolerance: Double = 1e-6, seed: UInt64 = 0) {
            precondition(maxProducts >= 2, "power iteration needs at least 2 products, got \(maxProducts).")
            precondition(tolerance > 0, "power iteration tolerance must be positive, got \(tolerance).")
            self.maxProducts = maxProducts
            self.tolerance = tolerance
            self.seed = seed
        }
    }

    /// Per-sample estimates of ρ(J).
    public struct SpectralRadiusEstimate: Sendable, Equatable {
        public var estimates: [Double]
        /// Whether two successive estimates agreed to the tolerance.
        public var converged: [Bool]
        /// Products with Jᵀ used per sample.
        public var products: [Int]
        /// |ρ_k − ρ_{k−1}| / ρ_k at the last iteration.
        public var lastRelativeChange: [Double]
    }

    /// ρ(J(zᵢ)) for every sample by power iteration on Jᵀ (ρ(Jᵀ) = ρ(J); products uᵀJ are what
    /// gradient code has), with a two-dimensional Rayleigh–Ritz step:
    ///
    ///     x ← x / ‖x‖,  y = Jᵀx,  w = Jᵀy
    ///     Q = orth[x, y],   B = Qᵀ Jᵀ Q  (2 × 2, from x, y, w: no extra product)
    ///     ρ_k = max |λ(B)|,   x ← w
    ///
    /// Why two dimensions: J of a tanh cell is not symmetric, and a real nonsymmetric matrix's
    /// dominant eigenvalues are often a complex pair (or ±r), for which the one-vector ratio
    /// ‖Jᵀx‖/‖x‖ oscillates for ever. span{x, Jᵀx} converges to the dominant two-dimensional
    /// invariant subspace, which holds a complex pair, ±r, or a dominant real eigenvalue with
    /// the next one, and B's eigenvalues converge to theirs at the power method's rate
    /// |λ₃/λ₁| per product. When Jᵀx is parallel to x (to 1e-8), x is an eigenvector and the
    /// Rayleigh quotient is used.
    ///
    /// Cost: `maxProducts` batched VJPs at most, plus O(d) per sample and iteration.
    public static func spectralRadius<Map: DifferentiableMap>(of map: Map, at z: Matrix,
                                                              options: PowerIterationOptions = .init()) -> SpectralRadiusEstimate {
        let b = map.batchSize, d = map.dimension
        let linearization = Linearization(map: map, point: z)
        var generator = SplitMix64(seed: options.seed)
        var x = Matrix.gaussian(rows: b, columns: d, using: &generator)
        var y = Matrix(rows: b, columns: d), w = Matrix(rows: b, columns: d)
        var estimates = [Double](repeating: .nan, count: b)
        var converged = [Bool](repeating: false, count: b)
        var products = [Int](repeating: 0, count: b)
        var change = [Double](repeating: .nan, count: b)
        var used = 0
        while used + 2 <= options.maxProducts && !converged.allSatisfy({ $0 }) {
            for i in 0..<b {
                let norm = (0..<d).reduce(0.0) { $0 + x[i, $1] * x[i, $1] }.squareRoot()
                if norm > 0 && norm.isFinite {
                    for j in 0..<d { x[i, j] /= norm }
                } else {
                    // A vanished iterate (J nilpotent on it) restarts from e₁.
                    for j in 0..<d { x[i, j] = j == 0 ? 1 : 0 }
                }
            }
            linearization.transposedProduct(x, into: &y)
            linearization.transposedProduct(y, into: &w)
            used += 2
            for i in 0..<b where !converged[i] {
                products[i] = used
                let estimate = ritzRadius(x: x.row(i), y: y.row(i), w: w.row(i))
                if estimates[i].isFinite, estimate.isFinite {
                    let delta = abs(estimate - estimates[i]) / max(estimate, .leastNormalMagnitude)
                    change[i] = delta
                    if delta <= options.tolerance || estimate == 0 { converged[i] = true }
                }
                estimates[i] = estimate
            }
            swap(&x, &w)
        }
        return SpectralRadiusEstimate(estimates: estimates, converged: converged, products: products,
                                      lastRelativeChange: change)
    }

    /// max |λ| of the 2 × 2 projection of A onto span{x, y}, with ‖x‖ = 1, y = A x, w = A y.
    static func ritzRadius(x: [Double], y: [Double], w: [Double]) -> Double {
        let d = x.count
        let alpha = BLAS.dot(x, y)                       // q₁ᵀ A q₁
        var r = y
        for j in 0..<d { r[j] -= alpha * x[j] }
        let beta = BLAS.nrm2(r)
        let yNorm = BLAS.nrm2(y)
        guard yNorm.isFinite else { return .nan }
        if beta <= 1e-8 * yNorm { return abs(alpha) }   // x is (numerically) an eigenvector
        // q₂ = r / β; A q₁ = y, A q₂ = (w − α y) / β.
        var aq2 = w
        for j in 0..<d { aq2[j] = (aq2[j] - alpha * y[j]) / beta }
        let b11 = alpha
        let b21 = beta                                   // q₂ᵀ y = rᵀy/β = β
        let b12 = BLAS.dot(x, aq2)
        let b22 = BLAS.dot(r, aq2) / beta
        let trace = b11 + b22, det = b11 * b22 - b12 * b21
        let discriminant = trace * trace / 4 - det
        if discriminant < 0 { return det.squareRoot() }  // a complex pair, |λ|² = det
        let root = discriminant.squareRoot()
        return max(abs(trace / 2 + root), abs(trace / 2 - root))
    }

    // MARK: Frobenius norm

    /// Per-sample Hutchinson estimates of ‖J‖_F².
    public struct FrobeniusEstimate: Sendable, Equatable {
        /// (1/M) Σₘ ‖Jᵀεₘ‖², per sample.
        public var squaredNorms: [Double]
        /// The standard error of each mean, s/√M from the M probe values (0 when M = 1).
        public var standardErrors: [Double]
        public var probes: Int
    }

    /// ‖J(zᵢ)‖_F² for every sample by Hutchinson's estimator with M Gaussian probes:
    ///
    ///     ‖J‖_F² = tr(J Jᵀ) = E ‖Jᵀε‖²,   ε ~ N(0, I)
    ///
    /// unbiased, with variance 2 ‖J Jᵀ‖_F² / M = 2 Σ σᵢ⁴ / M (σᵢ the singular values of J), so
    /// the relative standard deviation is at most √(2/M) and smaller when the spectrum is
    /// spread. Probes are drawn per sample from one SplitMix64 stream seeded by `seed`.
    /// Cost: M batched VJPs.
    ///
    /// Reference: M. F. Hutchinson, "A stochastic estimator of the trace of the influence
    /// matrix for Laplacian smoothing splines", 1989; S. Bai, V. Koltun, J. Z. Kolter,
    /// "Stabilizing Equilibrium Models by Jacobian Regularization", ICML 2021.
    public static func hutchinson<Map: DifferentiableMap>(of map: Map, at z: Matrix, probes: Int,
                                                          seed: UInt64 = 0) -> FrobeniusEstimate {
        precondition(probes >= 1, "Hutchinson needs at least one probe, got \(probes).")
        let b = map.batchSize, d = map.dimension
        let linearization = Linearization(map: map, point: z)
        var generator = SplitMix64(seed: seed)
        var product = Matrix(rows: b, columns: d)
        var sums = [Double](repeating: 0, count: b), squares = [Double](repeating: 0, count: b)
        for _ in 0..<probes {
            let probe = Matrix.gaussian(rows: b, columns: d, using: &generator)
            linearization.transposedProduct(probe, into: &product)
            for i in 0..<b {
                var value = 0.0
                for j in 0..<d { value += product[i, j] * product[i, j] }
                sums[i] += value
                squares[i] += value * value
            }
        }
        let m = Double(probes)
        let means = sums.map { $0 / m }
        let errors = (0..<b).map { i -> Double in
            guard probes > 1 else { return 0 }
            let variance = max(0, (squares[i] - m * means[i] * means[i]) / (m - 1))
            return (variance / m).squareRoot()
        }
        return FrobeniusEstimate(squaredNorms: means, standardErrors: errors, probes: probes)
    }

    // MARK: Exact references

    /// Exact per-sample values from the dense Jacobians.
    public struct Exact: Sendable, Equatable {
        /// ρ(J(zᵢ)) from LAPACK's eigenvalues (`dgeev`).
        public var spectralRadii: [Double]
        /// ‖J(zᵢ)‖_F².
        public var squaredFrobeniusNorms: [Double]
        /// Σ σ⁴ = ‖J Jᵀ‖_F², which sets Hutchinson's variance 2 Σ σ⁴ / M.
        public var fourthPowerSums: [Double]
    }

    /// Forms every J(zᵢ) by d Jacobian–vector products (``DifferentiableMap/denseJacobians(at:)``)
    /// and computes ρ with LAPACK and ‖J‖_F² directly. O(B d³); for small d.
    public static func exact<Map: DifferentiableMap>(of map: Map, at z: Matrix) throws(LinearAlgebraError) -> Exact {
        let jacobians = map.denseJacobians(at: z)
        var radii: [Double] = [], frobenius: [Double] = [], fourth: [Double] = []
        for j in jacobians {
            radii.append(try LAPACK.spectralRadius(j))
            frobenius.append(j.storage.reduce(0) { $0 + $1 * $1 })
            let jjt = j.multiplied(by: j.transposed())
            fourth.append(jjt.storage.reduce(0) { $0 + $1 * $1 })
        }
        return Exact(spectralRadii: radii, squaredFrobeniusNorms: frobenius, fourthPowerSums: fourth)
    }
}
