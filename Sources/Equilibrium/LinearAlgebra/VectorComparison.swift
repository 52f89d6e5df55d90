/// How close two vectors are: the measures that gradient comparisons and path-independence
/// scores share.
public enum VectorComparison {
    /// cos(a, b) = a·b / (‖a‖ ‖b‖); 1 when both are zero (or empty), 0 when exactly one is,
    /// NaN when either holds a NaN.
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "cosine: lengths \(a.count) and \(b.count) differ.")
        if a.isEmpty { return 1 }
        let na = BLAS.nrm2(a), nb = BLAS.nrm2(b)
        if na.isNaN || nb.isNaN { return .nan }
        if na == 0 && nb == 0 { return 1 }
        if na == 0 || nb == 0 { return 0 }
        return BLAS.dot(a, b) / (na * nb)
    }

    /// ‖a − reference‖₂ / ‖reference‖₂; 0 when they are equal (or empty), +∞ when only the
    /// reference is zero, NaN when either holds a NaN.
    public static func relativeError(_ a: [Double], _ reference: [Double]) -> Double {
        precondition(a.count == reference.count, "relativeError: lengths \(a.count) and \(reference.count) differ.")
        if a.isEmpty { return 0 }
        let difference = zip(a, reference).map { $0 - $1 }
        let numerator = BLAS.nrm2(difference), denominator = BLAS.nrm2(reference)
        if numerator.isNaN || denominator.isNaN { return .nan }
        if numerator == 0 { return 0 }
        return denominator > 0 ? numerator / denominator : .infinity
    }
}

extension VectorComparison {
    /// The median of the values that are not NaN: the middle one of the sorted values, or the
    /// mean of the two middle ones for an even count; NaN when every value is NaN (or none).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid])
    }
}
