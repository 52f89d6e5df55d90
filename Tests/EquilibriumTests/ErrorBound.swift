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

extension ErrorBound {
    /// Per sample, how far a reported residual ‖f(z) − z‖₂ and one recomputed from the whole
    /// batch may differ: f's entries are tanh(W z + U x + b), sums of d + p + 1 terms whose
    /// rounding depends on the kernel and the row count; tanh is 1-Lipschitz, so
    /// |Δ‖r‖| ≤ ‖Δf‖₂ ≤ ‖(reordered bound of each entry)‖₂, plus the rounding of the norms.
    static func residualAgreement(_ cell: TanhCell, _ z: Matrix) throws -> [Double] {
        let d = cell.dimension
        let absW = try Matrix(rows: d, columns: d, values: cell.weight.storage.map(abs))
        let absZ = try Matrix(rows: z.rows, columns: d, values: z.storage.map(abs))
        var injection = try Matrix(rows: z.rows, columns: d, values: Array(repeating: 0, count: z.rows * d))
        var terms = d + 1
        if let u = cell.inputWeight {
            let absU = try Matrix(rows: u.rows, columns: u.columns, values: u.storage.map(abs))
            let absX = try Matrix(rows: cell.input.rows, columns: cell.input.columns, values: cell.input.storage.map(abs))
            injection = try absX.multiplied(by: absU.transposed())
            terms += u.columns
        } else {
            injection = try Matrix(rows: z.rows, columns: d, values: cell.input.storage.map(abs))
        }
        let absolute = try absZ.multiplied(by: absW.transposed())
        let bias = cell.bias ?? Array(repeating: 0, count: d)
        let image = try cell(z)
        return (0..<z.rows).map { s in
            let entries = (0..<d).map { i in reordered(terms: terms, absolute: absolute[s, i] + injection[s, i] + abs(bias[i])) }
            let residual = norm(zip(image.row(s), z.row(s)).map { $0 - $1 })
            return norm(entries) + 4 * Double(d) * unitRoundoff * residual
        }
    }
}
