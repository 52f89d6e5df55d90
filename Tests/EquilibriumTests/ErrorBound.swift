import Foundation
import Equilibrium

/// The rounding-error bounds the suite's tolerances come from, so that a tolerance holds on
/// every BLAS kernel (Prescott's generic one included) instead of the one a test was written on.
///
/// With unit roundoff u = 2⁻⁵³ and γₙ = n u / (1 − n u), a computed sum of n products errs by at
/// most γₙ Σ |xᵢ yᵢ| in any order of summation (Higham, "Accuracy and Stability of Numerical
/// Algorithms", 2nd ed., SIAM 2002, Lemma 3.1 and eq. 3.5); a kernel with fused multiply-adds
/// meets the same bound. Two computations of the same sums in different orders (another kernel,
/// another blocking for another row count, a compacted batch, a triple loop) therefore differ by
/// at most 2 γₙ Σ |xᵢ yᵢ| entry by entry. Each check multiplies the bound by a stated `margin`
/// (default 4) for the few further roundings around the sum (an added bias, a tanh).
enum ErrorBound {
    static let unitRoundoff = 0x1p-53

    /// γₙ = n u / (1 − n u).
    static func gamma(_ n: Int) -> Double {
        let nu = Double(n) * unitRoundoff
        return nu / (1 - nu)
    }

    /// Entry by entry: the largest |a − b| two computations of sums of `terms` products may
    /// differ by, given each entry's sum of absolute products `absolute` (Σ |xᵢ yᵢ|).
    static func reordered(terms: Int, absolute: Double, margin: Double = 4) -> Double {
        margin * (2 * gamma(terms) * absolute + unitRoundoff)
    }

    /// ‖a − b‖₂ / ‖b‖₂ for two computations of the vector of sums whose absolute products have
    /// the norm `absoluteNorm` (‖ |A| |x| ‖₂) and whose exact value has the norm `norm`.
    static func relativeReordered(terms: Int, absoluteNorm: Double, norm: Double, margin: Double = 4) -> Double {
        margin * (2 * gamma(terms) * absoluteNorm / max(norm, .leastNormalMagnitude) + unitRoundoff)
    }

    /// |A| |B| for matrices: the absolute products whose sums bound a product's rounding.
    static func absoluteProduct(_ a: Matrix, _ b: Matrix) throws -> Matrix {
        let absA = try Matrix(rows: a.rows, columns: a.columns, values: a.storage.map(abs))
        let absB = try Matrix(rows: b.rows, columns: b.columns, values: b.storage.map(abs))
        return try absA.multiplied(by: absB)
    }

    static func norm(_ values: [Double]) -> Double { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
