/// Elementwise loops of the residual cells written with explicit vectors (issue 13).
///
/// The compiler leaves two kinds of loop scalar: a loop whose output is one of its inputs (the
/// norms and masks run in place, and the runtime overlap check it vectorises behind sends an
/// in-place call to the scalar copy), and a select that keeps the loaded value
/// (`x[i] = a[i] > 0 ? x[i] : 0`), which becomes a conditional store and mispredicts half the
/// time on the as-good-as-random signs of pre-activations. These helpers do four entries at a
/// time with `SIMD4<Double>`, lane by lane the same operations in the same order as the scalar
/// expression, so the results are bitwise those of the plain loops; entry i of the output
/// depends on entry i of the inputs only, so in place is safe.

/// Entries i…i+3 of p (also the load of `BLAS.vectorDot` and `SolveContext.residualNorms`).
@inline(__always)
func load4(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
}

/// out[i] = scalar(i) for i < count, where vector(i) computes entries i…i+3 with the same
/// arithmetic lane by lane.
@inline(__always)
func fill(_ out: UnsafeMutablePointer<Double>, count: Int, vector: (Int) -> SIMD4<Double>, scalar: (Int) -> Double) {
    var i = 0
    while i + 4 <= count {
        UnsafeMutableRawPointer(out + i).storeBytes(of: vector(i), as: SIMD4<Double>.self)
        i += 4
    }
    while i < count {
        out[i] = scalar(i)
        i += 1
    }
}

/// x ⊙ relu′(a): zero where a ≤ 0 (or NaN), x elsewhere.
@inline(__always)
func mask(_ x: UnsafeMutablePointer<Double>, by a: UnsafePointer<Double>, count: Int) {
    fill(x, count: count,
         vector: { i in SIMD4<Double>().replacing(with: load4(x + i), where: load4(a + i) .> 0) },
         scalar: { i in a[i] > 0 ? x[i] : 0 })
}

/// relu in place. `x < 0 ? 0 : x` keeps NaN (a NaN compares false), so it reaches the solver's
/// checks, and keeps −0.
@inline(__always)
func relu(_ x: UnsafeMutablePointer<Double>, count: Int) {
    fill(x, count: count,
         vector: { i in let v = load4(x + i); return v.replacing(with: 0, where: v .< 0) },
         scalar: { i in x[i] < 0 ? 0 : x[i] })
}
