import Foundation

/// A dense matrix of float64 numbers stored in **row-major** order.
///
/// Element (i, j) lives at `storage[i * columns + j]`. Row-major is used everywhere in this
/// toolkit because a batch of states is a matrix with one sample per row, which is NumPy's C
/// order: a `(B, d)` array from `.npy` maps onto a `Matrix(rows: B, columns: d)` without a copy
/// of the layout. Every BLAS and LAPACK call in ``BLAS`` and ``LAPACK`` passes
/// `CblasRowMajor` / `LAPACK_ROW_MAJOR` (or an explicitly transposed column-major view).
public struct Matrix: Equatable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    /// The entries in row-major order (read; write single entries through the subscript).
    public package(set) var storage: [Double]

    /// A rows × columns matrix with every entry `value` (zero by default).
    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows) × \(columns).")
        self.rows = rows
        self.columns = columns
        self.storage = [Double](repeating: value, count: rows * columns)
    }

    /// A rows × columns matrix from its entries in row-major order.
    ///
    /// - Throws: ``UsageError`` when a size is negative or `values` does not hold rows × columns entries.
    public init(rows: Int, columns: Int, values: [Double]) throws(UsageError) {
        guard rows >= 0, columns >= 0 else {
            throw UsageError("Matrix", "size", got: "\(rows) × \(columns)", expected: "non-negative rows and columns")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, values.count == count else {
            throw UsageError("Matrix", "values", got: "\(values.count) entries",
                             expected: "rows × columns = \(rows) × \(columns) entries in row-major order")
        }
        self.init(rows: rows, columns: columns, storage: values)
    }

    /// The library's own constructor for storage of a known size (a precondition, not an error).
    package init(rows: Int, columns: Int, storage: [Double]) {
        precondition(storage.count == rows * columns,
                     "Matrix storage has \(storage.count) elements, expected \(rows) × \(columns).")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// Builds a matrix from nested rows, e.g. `try Matrix([[1, 2], [3, 4]])`.
    ///
    /// - Throws: ``UsageError`` when the rows differ in length.
    public init(_ nestedRows: [[Double]]) throws(UsageError) {
        let columns = nestedRows.first?.count ?? 0
        if let ragged = nestedRows.firstIndex(where: { $0.count != columns }) {
            throw UsageError("Matrix", "row \(ragged)", got: "\(nestedRows[ragged].count) entries",
                             expected: "\(columns) entries, as in row 0 (every row the same length)")
        }
        self.init(rows: nestedRows.count, columns: columns, storage: nestedRows.flatMap { $0 })
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }

    /// A matrix of independent N(0, scale²) entries drawn in row-major order.
    public static func gaussian(rows: Int, columns: Int, scale: Double = 1,
                                using generator: inout SplitMix64) -> Matrix {
        Matrix(rows: rows, columns: columns,
               storage: generator.gaussians(count: rows * columns, scale: scale))
    }

    public var isSquare: Bool { rows == columns }
    public var count: Int { storage.count }

    public subscript(row: Int, column: Int) -> Double {
        get { storage[row * columns + column] }
        set { storage[row * columns + column] = newValue }
    }

    /// A copy of row `i` (one sample of a batch).
    public func row(_ i: Int) -> [Double] {
        Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// A copy of the contiguous rows `range` (a group of samples of a batch).
    package func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, columns: columns,
               storage: Array(storage[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    package mutating func setRow(_ i: Int, to values: [Double]) {
        precondition(values.count == columns, "Row has \(values.count) values, expected \(columns).")
        storage.replaceSubrange((i * columns)..<((i + 1) * columns), with: values)
    }

    public func transposed() -> Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows {
            for j in 0..<columns { t.storage[j * rows + i] = storage[i * columns + j] }
        }
        return t
    }

    public static func * (scale: Double, matrix: Matrix) -> Matrix {
        Matrix(rows: matrix.rows, columns: matrix.columns, storage: matrix.storage.map { scale * $0 })
    }

    public static func + (lhs: Matrix, rhs: Matrix) throws(UsageError) -> Matrix {
        try Check.shape(rhs, (lhs.rows, lhs.columns), "Matrix +", "right operand", "the left operand's shape")
        return Matrix(rows: lhs.rows, columns: lhs.columns,
                      storage: zip(lhs.storage, rhs.storage).map { $0 + $1 })
    }

    public static func - (lhs: Matrix, rhs: Matrix) throws(UsageError) -> Matrix {
        try Check.shape(rhs, (lhs.rows, lhs.columns), "Matrix −", "right operand", "the left operand's shape")
        return Matrix(rows: lhs.rows, columns: lhs.columns,
                      storage: zip(lhs.storage, rhs.storage).map { $0 - $1 })
    }

    /// The matrix product `self · other` by one GEMM.
    public func multiplied(by other: Matrix) throws(UsageError) -> Matrix {
        guard other.rows == columns else {
            throw UsageError("Matrix.multiplied(by:)", "right factor", got: "\(other.rows) × \(other.columns)",
                             expected: "\(columns) rows (the left factor is \(rows) × \(columns))")
        }
        var c = Matrix(rows: rows, columns: other.columns)
        BLAS.gemm(self, other, into: &c)
        return c
    }

    /// True when every entry is finite (no NaN, no ±∞).
    public var isFinite: Bool { storage.allSatisfy(\.isFinite) }

    /// The largest |entry|, 0 for an empty matrix.
    public var maxAbs: Double { storage.reduce(0) { max($0, abs($1)) } }

    public var description: String {
        let body = (0..<rows).map { i in
            (0..<columns).map { j in String(format: "% .6g", self[i, j]) }.joined(separator: " ")
        }
        return "Matrix(\(rows) × \(columns))\n" + body.joined(separator: "\n")
    }
}
