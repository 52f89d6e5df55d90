import Foundation

/// Diagnostics of the Jacobian J = ∂f/∂z at the fixed points (docs/MATH.md §4): its spectral
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
        /// The most products with Jᵀ per sample. Default 200: 20 windows of 10, a few forward
        /// solves' worth of VJPs; on the random tanh cells of the tests (d ≤ 64) the estimate is
        /// then within 1e-2 (usually 1e-6) of LAPACK's ρ(J).
        public var maxProducts: Int
        /// m ≥ 2, the Krylov window: the estimate is the largest Ritz value of the m-dimensional
        /// Krylov space of the current power iterate. Default 10; see
        /// ``JacobianDiagnostics/spectralRadius(of:at:options:)`` for why more than one vector.
        public var window: Int
        /// Stop a sample when two successive window estimates differ by at most this,
        /// relatively. Default 1e-6. A small change is not a proof of accuracy when several
        /// eigenvalues crowd the top of the spectrum, so the report says whether it was met and
        /// the tests compare with LAPACK.
        public var tolerance: Double
        /// The seed of the Gaussian starting vectors.
        public var seed: UInt64

        /// 200 products, window 10, tolerance 1e-6, seed 0.
        public init() {
            maxProducts = 200
            window = 10
            tolerance = 1e-6
            seed = 0
        }

        public init(maxProducts: Int = 200, window: Int = 10, tolerance: Double = 1e-6, seed: UInt64 = 0) throws(UsageError) {
            self.maxProducts = maxProducts
            self.window = window
            self.tolerance = tolerance
            self.seed = seed
            try validate()
        }

        public func validate() throws(UsageError) {
            let owner = "PowerIterationOptions"
            try Check.atLeast(window, 2, owner, "window", "the Krylov window m")
            try Check.atLeast(maxProducts, window, owner, "maxProducts", "at least one window of \(window) products")
            try Check.inRange(tolerance, owner, "tolerance", "the relative change that stops a sample", above: 0, openBelow: true)
        }
    }

    /// Per-sample estimates of ρ(J).
    public struct SpectralRadiusEstimate: Sendable, Equatable {
        public var estimates: [Double]
        /// Whether two successive window estimates agreed to the tolerance (or the Krylov space
        /// became invariant, which makes the estimate exact).
        public var converged: [Bool]
        /// Products with Jᵀ used per sample.
        public var products: [Int]
        /// |ρ_c − ρ_{c−1}| / ρ_c at the last window (NaN after a single window).
        public var lastRelativeChange: [Double]
    }

    /// ρ(J(zᵢ)) for every sample by power iteration on Jᵀ (ρ(Jᵀ) = ρ(J); products uᵀJ are what
    /// gradient code has), with a Rayleigh–Ritz estimate over a window of m products:
    ///
    ///     window c:  Arnoldi from x:  Jᵀ V_m = V_{m+1} H̄_m     (m VJPs, Gram–Schmidt twice)
    ///                ρ_c = max |λ(H_m)|                         (LAPACK dgeev, m × m)
    ///                x ← (Jᵀ)^m x / ‖·‖ = V_{m+1} t / ‖t‖         (the power iterate, no extra product)
    ///
    /// Why not the plain ratio ‖Jᵀx‖/‖x‖: J of a tanh cell is not symmetric, and a real
    /// nonsymmetric matrix's dominant eigenvalues are often a complex pair, ±r, or several of
    /// nearly equal modulus (random matrices crowd the edge of their spectral disk: a pair at
    /// 0.4456 and a real −0.4437 in the tests). The plain ratio then oscillates or creeps at the
    /// rate |λ₂/λ₁| ≈ 0.996 per product. The Krylov window resolves up to m crowded eigenvalues
    /// at once; the power restarts filter the start vector towards them. m = 2 is the
    /// two-vector (span{x, Jᵀx}) form that handles a single complex pair.
    ///
    /// An invariant Krylov space (Arnoldi breakdown, ‖h_{j+1,j}‖ ≤ 1e-12 ‖Jᵀv_j‖) gives exact
    /// Ritz values and stops the sample. Cost: `maxProducts` batched VJPs at most, plus
    /// O(m² d + m³) per sample and window; B (m + 1) d doubles.
    public static func spectralRadius<Map: DifferentiableMap>(of map: Map, at z: Matrix,
                                                              options: PowerIterationOptions = .init()) throws(UsageError) -> SpectralRadiusEstimate {
        try options.validate()
        try Check.shape(z, (map.batchSize, map.dimension), "JacobianDiagnostics.spectralRadius", "points", "B × d of the map")
        let b = map.batchSize, d = map.dimension, m = options.window
        let linearization = try Linearization(map: map, point: z)
        var generator = SplitMix64(seed: options.seed)
        var x = Matrix.gaussian(rows: b, columns: d, using: &generator)
        // basis[j] holds v_j of every sample (B × d).
        var basis = Array(repeating: Matrix(rows: b, columns: d), count: m + 1)
        var product = Matrix(rows: b, columns: d)
        var estimates = [Double](repeating: .nan, count: b)
        var converged = [Bool](repeating: false, count: b)
        var products = [Int](repeating: 0, count: b)
        var change = [Double](repeating: .nan, count: b)
        var used = 0
        while used + m <= options.maxProducts && !converged.allSatisfy({ $0 }) {
            var hessenberg = Array(repeating: [Double](repeating: 0, count: (m + 1) * m), count: b)  // row-major (m+1) × m
            var size = [Int](repeating: m, count: b)       // Krylov dimension reached (< m on breakdown)
            for i in 0..<b {
                var norm = 0.0
                for k in 0..<d { norm += x[i, k] * x[i, k] }
                norm = norm.squareRoot()
                if !(norm > 0 && norm.isFinite) {
                    // A vanished or non-finite iterate restarts from a fresh Gaussian vector.
                    let fresh = generator.gaussians(count: d)
                    norm = BLAS.nrm2(fresh)
                    x.setRow(i, to: fresh)
                }
                for k in 0..<d { basis[0][i, k] = x[i, k] / norm }
            }
            for j in 0..<m {
                linearization.transposedProduct(basis[j], into: &product)
                used += 1
                for i in 0..<b where !converged[i] && size[i] == m {
                    var w = product.row(i)
                    let scale = BLAS.nrm2(w)
                    guard scale.isFinite else { size[i] = j; continue }
                    // Modified Gram–Schmidt, twice (one pass loses orthogonality when Jᵀv is nearly in the span).
                    for _ in 0..<2 {
                        for l in 0...j {
                            var h = 0.0
                            for k in 0..<d { h += basis[l][i, k] * w[k] }
                            hessenberg[i][l * m + j] += h
                            for k in 0..<d { w[k] -= h * basis[l][i, k] }
                        }
                    }
                    let h = BLAS.nrm2(w)
                    hessenberg[i][(j + 1) * m + j] = h
                    if h <= 1e-12 * scale {
                        size[i] = j + 1                    // invariant subspace: exact Ritz values
                    } else {
                        for k in 0..<d { basis[j + 1][i, k] = w[k] / h }
                    }
                }
            }
            for i in 0..<b where !converged[i] {
                products[i] = used
                let k = size[i]
                guard k > 0 else { estimates[i] = .nan; converged[i] = true; continue }
                var square = Matrix(rows: k, columns: k)
                for r in 0..<k { for c in 0..<k { square[r, c] = hessenberg[i][r * m + c] } }
                let estimate = (try? LAPACK.spectralRadius(square)) ?? .nan
                if estimates[i].isFinite, estimate.isFinite {
                    let delta = abs(estimate - estimates[i]) / max(estimate, .leastNormalMagnitude)
                    change[i] = delta
                    if delta <= options.tolerance { converged[i] = true }
                }
                if k < m || estimate == 0 { converged[i] = true }
                estimates[i] = estimate
                // The power iterate (Jᵀ)^m v₀ = V_{m+1} t with t₀ = e₀, t_{j+1} = H̄ t_j.
                var t = [Double](repeating: 0, count: m + 1)
                t[0] = 1
                for j in 0..<m {
                    var next = [Double](repeating: 0, count: m + 1)
                    for r in 0...(j + 1) {
                        for c in 0...j { next[r] += hessenberg[i][r * m + c] * t[c] }
                    }
                    t = next
                }
                var power = [Double](repeating: 0, count: d)
                for l in 0...m where t[l] != 0 {
                    for k in 0..<d { power[k] += t[l] * basis[l][i, k] }
                }
                x.setRow(i, to: power)
            }
        }
        return SpectralRadiusEstimate(estimates: estimates, converged: converged, products: products,
                                      lastRelativeChange: change)
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
                                                          seed: UInt64 = 0) throws(UsageError) -> FrobeniusEstimate {
        try Check.atLeast(probes, 1, "JacobianDiagnostics.hutchinson", "probes", "M, the Gaussian probes")
        try Check.shape(z, (map.batchSize, map.dimension), "JacobianDiagnostics.hutchinson", "points", "B × d of the map")
        let b = map.batchSize, d = map.dimension
        let linearization = try Linearization(map: map, point: z)
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
    public static func exact<Map: DifferentiableMap>(of map: Map, at z: Matrix) throws -> Exact {
        let jacobians = try map.denseJacobians(at: z)
        var radii: [Double] = [], frobenius: [Double] = [], fourth: [Double] = []
        for j in jacobians {
            radii.append(try LAPACK.spectralRadius(j))
            frobenius.append(j.storage.reduce(0) { $0 + $1 * $1 })
            let jjt = try j.multiplied(by: j.transposed())
            fourth.append(jjt.storage.reduce(0) { $0 + $1 * $1 })
        }
        return Exact(spectralRadii: radii, squaredFrobeniusNorms: frobenius, fourthPowerSums: fourth)
    }
}
