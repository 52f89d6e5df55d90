/// Restarted GMRES(k) for a batch of independent linear systems A_s x_s = b_s, driven by the
/// caller one matrix–vector product at a time (reverse communication), so that the products of
/// all samples still iterating are computed together in one batched call. Internal workspace of
/// ``NewtonKrylov``, allocated once per solve.
///
/// For each sample, from x₀ = 0 with β = ‖b‖ and v₁ = b/β, step j of the Arnoldi process
/// orthogonalises w = A vⱼ against v₁ … vⱼ and appends one column to the (j + 1) × j upper
/// Hessenberg matrix H̄ⱼ with A Vⱼ = Vⱼ₊₁ H̄ⱼ. The iterate minimises the residual over the Krylov
/// space, x = Vⱼ y with y = argmin ‖β e₁ − H̄ⱼ y‖, solved incrementally by Givens rotations:
/// after the rotations Qⱼ H̄ⱼ = [Rⱼ; 0] and Qⱼ β e₁ = (γ₁ … γⱼ₊₁), so ‖b − A x‖ = |γⱼ₊₁| is
/// known at every step without forming x (Saad & Schultz 1986).
///
/// **Orthogonalisation: classical Gram–Schmidt applied twice (CGS2).** Two passes of
/// h = Vᵀw, w ← w − V h are as stable as modified Gram–Schmidt (loss of orthogonality O(ε),
/// "twice is enough", Giraud et al. 2005) but are two GEMVs per pass instead of j dot/axpy
/// pairs.
///
/// **Restarts.** After k steps the correction V_k y is added to x and, when the target is not
/// met and restarts remain, GMRES restarts from the residual r = b − A x, formed without a
/// product from r = Vₖ₊₁ Qₖᵀ (γₖ₊₁ eₖ₊₁) (the same recurrence that gives |γₖ₊₁|).
///
/// **Breakdowns.** When hⱼ₊₁,ⱼ vanishes the Krylov space is invariant and the current x is the
/// exact solution (a "lucky" breakdown): the cycle ends. When the new diagonal entry of Rⱼ
/// vanishes (|Rⱼⱼ| ≤ ``singularityTolerance`` times the size of the product's ingredients) A is
/// singular on the Krylov space, to the accuracy of the products, and when a product is not
/// finite it is unusable: the column is discarded and the cycle ends with the previous columns
/// (with none, x = 0).
///
/// Cost per step and sample: four GEMVs on the (j + 1) × d basis, O(j d); storage (k + 1) d for
/// the basis and O(k²) for H̄.
///
/// References: Y. Saad, M. H. Schultz, "GMRES: a generalized minimal residual algorithm for
/// solving nonsymmetric linear systems", SIAM J. Sci. Stat. Comput. 1986. L. Giraud, J. Langou,
/// M. Rozložník, "The loss of orthogonality in the Gram–Schmidt orthogonalization process",
/// Comput. Math. Appl. 2005. C. T. Kelley, "Iterative Methods for Linear and Nonlinear
/// Equations", SIAM 1995, §3.
final class GMRESWorkspace {
    /// What one Arnoldi step did.
    enum Step {
        /// Continue: the next vector is ready.
        case proceed
        /// |γⱼ₊₁| met the target, or the Krylov space is invariant: the cycle is complete.
        case converged
        /// k steps done without meeting the target.
        case cycleFull
        /// The product was singular on the Krylov space or not finite; the column is discarded.
        case unusable
    }

    let dimension: Int
    /// k, the Krylov dimension of one cycle.
    let restartLength: Int
    private let basis: UnsafeMutablePointer<Double>
    private let hessenberg: UnsafeMutablePointer<Double>
    private let cosines: UnsafeMutablePointer<Double>
    private let sines: UnsafeMutablePointer<Double>
    private let gammas: UnsafeMutablePointer<Double>
    /// The accumulated solution x per sample, B × d.
    let solutions: UnsafeMutablePointer<Double>
    private let column: UnsafeMutablePointer<Double>
    private let correction: UnsafeMutablePointer<Double>
    private let residual: UnsafeMutablePointer<Double>
    private var columns: [Int]
    private var targets: [Double]
    private(set) var restarts: [Int]

    /// |Rⱼⱼ| below this times the size of A vⱼ's ingredients marks A as singular on the
    /// Krylov space: about 64 ε for exact products, more for noisy (finite-difference) ones.
    let singularityTolerance: Double
    /// hⱼ₊₁,ⱼ below this times ‖A vⱼ‖ is a lucky breakdown.
    static let breakdownTolerance = 1e-14

    init<Map>(context: SolveContext<Map>, restartLength k: Int, singularityTolerance: Double = 1e-14) {
        precondition(k >= 1, "GMRES needs a Krylov dimension of at least 1.")
        let b = context.batchSize, d = context.dimension
        dimension = d
        self.singularityTolerance = singularityTolerance
        restartLength = k
        basis = context.allocate(doubles: b * (k + 1) * d)
        hessenberg = context.allocate(doubles: b * (k + 1) * k)
        cosines = context.allocate(doubles: b * k)
        sines = context.allocate(doubles: b * k)
        gammas = context.allocate(doubles: b * (k + 1))
        solutions = context.allocate(doubles: b * d)
        column = context.allocate(doubles: k + 1)
        correction = context.allocate(doubles: k + 1)
        residual = context.allocate(doubles: d)
        columns = Array(repeating: 0, count: b)
        targets = Array(repeating: 0, count: b)
        restarts = Array(repeating: 0, count: b)
    }


    @inline(__always)
    private func basisVector(_ s: Int, _ j: Int) -> UnsafeMutablePointer<Double> {
        basis + (s * (restartLength + 1) + j) * dimension
    }

    /// x_s for sample `s` (valid after ``finishCycle(sample:)``).
    @inline(__always)
    func solution(_ s: Int) -> UnsafeMutablePointer<Double> { solutions + s * dimension }

    /// The vector whose product A v the next ``extend(sample:product:scale:)`` expects.
    @inline(__always)
    func nextVector(_ s: Int) -> UnsafePointer<Double> { UnsafePointer(basisVector(s, columns[s])) }

    /// The current residual estimate ‖b − A x‖ = |γⱼ₊₁|.
    func residualEstimate(_ s: Int) -> Double { abs(gammas[s * (restartLength + 1) + columns[s]]) }

    /// Starts solving A x = b for sample `s` from x = 0, to ‖b − A x‖ ≤ `target`. Returns false
    /// when b = 0 (then x = 0 is exact and no product is needed).
    func begin(sample s: Int, rightHandSide b: UnsafePointer<Double>, target: Double) -> Bool {
        let d = dimension
        solution(s).update(repeating: 0, count: d)
        restarts[s] = 0
        targets[s] = target
        return startCycle(sample: s, from: b)
    }

    private func startCycle(sample s: Int, from r: UnsafePointer<Double>) -> Bool {
        let d = dimension, k = restartLength
        columns[s] = 0
        let beta = BLAS.norm(count: d, r)
        let gamma = gammas + s * (k + 1)
        gamma[0] = beta
        guard beta > 0, beta.isFinite else { return false }
        let v = basisVector(s, 0), inverse = 1 / beta
        for i in 0..<d { v[i] = r[i] * inverse }
        return true
    }

    /// One Arnoldi step of sample `s` given `product` = A vⱼ (overwritten). `scale` measures the
    /// ingredients of the product (for A = J − I: ‖J vⱼ‖ + ‖vⱼ‖), against which a vanishing
    /// |Rⱼⱼ| is judged.
    func extend(sample s: Int, product w: UnsafeMutablePointer<Double>, scale: Double) -> Step {
        let d = dimension, k = restartLength, j = columns[s]
        let productNorm = BLAS.norm(count: d, w)
        guard productNorm.isFinite, scale.isFinite else { return .unusable }
        // CGS2: two passes of h = V w, w ← w − Vᵀ h over the j + 1 basis vectors.
        let block = UnsafePointer(basisVector(s, 0))
        BLAS.gemv(.none, m: j + 1, n: d, alpha: 1, a: block, lda: d, x: w, beta: 0, y: column)
        BLAS.gemv(.transpose, m: j + 1, n: d, alpha: -1, a: block, lda: d, x: column, beta: 1, y: w)
        BLAS.gemv(.none, m: j + 1, n: d, alpha: 1, a: block, lda: d, x: w, beta: 0, y: correction)
        BLAS.gemv(.transpose, m: j + 1, n: d, alpha: -1, a: block, lda: d, x: correction, beta: 1, y: w)
        for i in 0...j { column[i] += correction[i] }
        let next = BLAS.norm(count: d, w)
        column[j + 1] = next
        // Apply the previous rotations to the new column, then annihilate h_{j+1,j}.
        let cs = cosines + s * k, sn = sines + s * k, gamma = gammas + s * (k + 1)
        for i in 0..<j {
            let a = column[i], b = column[i + 1]
            column[i] = cs[i] * a + sn[i] * b
            column[i + 1] = -sn[i] * a + cs[i] * b
        }
        let a = column[j], b = column[j + 1]
        let rho = (a * a + b * b).squareRoot()
        guard rho > singularityTolerance * scale else { return .unusable }
        cs[j] = a / rho
        sn[j] = b / rho
        column[j] = rho
        column[j + 1] = 0
        gamma[j + 1] = -sn[j] * gamma[j]
        gamma[j] = cs[j] * gamma[j]
        let h = hessenberg + s * (k + 1) * k + j * (k + 1)
        h.update(from: column, count: j + 1)
        columns[s] = j + 1
        if abs(gamma[j + 1]) <= targets[s] { return .converged }
        // Lucky breakdown: w lies (to rounding) in the span of the basis.
        if next <= Self.breakdownTolerance * productNorm || next == 0 { return .converged }
        let v = basisVector(s, j + 1), inverse = 1 / next
        for i in 0..<d { v[i] = w[i] * inverse }
        return j + 1 == k ? .cycleFull : .proceed
    }

    /// Adds the cycle's correction Vⱼ y (Rⱼ y = γ₁…ⱼ by back substitution) to x_s. Returns
    /// true when sample `s` should restart (target not met and `maxRestarts` not used up); the
    /// next cycle then starts from the residual of the updated x.
    func finishCycle(sample s: Int, maxRestarts: Int, reachedLength: Bool) -> Bool {
        let d = dimension, k = restartLength, n = columns[s]
        guard n > 0 else { return false }
        let h = hessenberg + s * (k + 1) * k, gamma = gammas + s * (k + 1)
        // Back substitution R y = γ (R column-major with leading dimension k + 1).
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = gamma[i]
            for l in (i + 1)..<n { sum -= h[l * (k + 1) + i] * correction[l] }
            correction[i] = sum / h[i * (k + 1) + i]
        }
        BLAS.gemv(.transpose, m: n, n: d, alpha: 1, a: basisVector(s, 0), lda: d, x: correction,
                  beta: 1, y: solution(s))
        let estimate = abs(gamma[n])
        guard reachedLength, estimate > targets[s], restarts[s] < maxRestarts else { return false }
        // r = Vₙ₊₁ Qᵀ (γₙ₊₁ eₙ₊₁): undo the rotations on the last unit vector.
        for i in 0...n { column[i] = 0 }
        column[n] = gamma[n]
        let cs = cosines + s * k, sn = sines + s * k
        for i in stride(from: n - 1, through: 0, by: -1) {
            let a = column[i], b = column[i + 1]
            column[i] = cs[i] * a - sn[i] * b
            column[i + 1] = sn[i] * a + cs[i] * b
        }
        BLAS.gemv(.transpose, m: n + 1, n: d, alpha: 1, a: basisVector(s, 0), lda: d, x: column,
                  beta: 0, y: residual)
        restarts[s] += 1
        return startCycle(sample: s, from: residual)
    }
}
