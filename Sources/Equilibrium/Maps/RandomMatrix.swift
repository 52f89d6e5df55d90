/// Random square matrices with an exactly prescribed spectral norm, the building block of the
/// synthetic cells.
public enum RandomMatrix {
    /// A d × d Gaussian matrix rescaled so that ‖W‖₂ = ρ exactly (to LAPACK precision).
    ///
    /// With `symmetric`, W = (G + Gᵀ)/2 rescaled so that max |λᵢ(W)| = ρ; for a symmetric matrix
    /// the spectral norm equals the spectral radius, so ρ(W) = ‖W‖₂ = ρ. The norm comes from an
    /// SVD (`dgesdd`) or a symmetric eigensolve (`dsyevd`), not from a bound.
    ///
    /// Entries are drawn in row-major order from `generator`, so one seed gives one matrix on
    /// every machine (up to the last bits of the LAPACK norm).
    public static func withSpectralNorm(_ rho: Double, dimension d: Int, symmetric: Bool,
                                        using generator: inout SplitMix64) throws -> Matrix {
        try Check.atLeast(d, 1, "RandomMatrix", "dimension", "d")
        try Check.inRange(rho, "RandomMatrix", "spectral norm", "‖W‖₂", above: 0)
        var g = Matrix.gaussian(rows: d, columns: d, using: &generator)
        if symmetric {
            for i in 0..<d {
                for j in (i + 1)..<d {
                    let mean = 0.5 * (g[i, j] + g[j, i])
                    g[i, j] = mean
                    g[j, i] = mean
                }
            }
        }
        let norm: Double
        if symmetric {
            let values = try LAPACK.symmetricEigen(g).values
            norm = max(abs(values.first ?? 0), abs(values.last ?? 0))
        } else {
            norm = try LAPACK.spectralNorm(g)
        }
        return norm > 0 ? (rho / norm) * g : g
    }
}
