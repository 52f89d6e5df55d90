/// A LAPACK routine reported failure through its `info` argument.
///
/// LAPACK's convention: `info < 0` means argument `-info` was illegal (a bug in the caller);
/// `info > 0` is a numerical failure whose meaning depends on the routine (a zero pivot in an LU
/// factorisation, a non-positive-definite leading minor in a Cholesky factorisation, an
/// iteration that did not converge in an SVD or eigensolver).
public struct LinearAlgebraError: Error, Equatable, CustomStringConvertible, Sendable {
    public var routine: String
    public var info: Int
    public var reason: String

    public var description: String { "LAPACK \(routine) failed (info = \(info)): \(reason)" }

    static func check(_ info: Int32, routine: String, numericalFailure: String) throws(LinearAlgebraError) {
        if info == 0 { return }
        if info < 0 {
            throw LinearAlgebraError(routine: routine, info: Int(info),
                                     reason: "argument \(-info) had an illegal value")
        }
        throw LinearAlgebraError(routine: routine, info: Int(info), reason: numericalFailure)
    }
}
