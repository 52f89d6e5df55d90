/// A fixed-point map defined by a Swift closure, for researchers' own maps: no subclassing,
/// no protocol conformance to write.
///
/// ```swift
/// // f(z) = cos(z) elementwise, for 4 samples of dimension 3.
/// let map = try ClosureMap(dimension: 3, batchSize: 4) { sample, z, fz in
///     for i in 0..<z.count { fz[i] = cos(z[i]) }
/// }
/// let result = try AndersonAcceleration().solve(map, from: Matrix(rows: 4, columns: 3))
/// ```
///
/// The per-sample form is called once per active sample per evaluation; the batched form once
/// per evaluation with the compacted batch, as ``FixedPointMap/evaluate(_:into:samples:)``.
public struct ClosureMap: FixedPointMap {
    public typealias BatchedBody = (_ z: UnsafePointer<Double>, _ fz: UnsafeMutablePointer<Double>,
                                    _ samples: UnsafeBufferPointer<Int>) -> Void
    public typealias SampleBody = (_ sample: Int, _ z: UnsafeBufferPointer<Double>,
                                   _ fz: UnsafeMutableBufferPointer<Double>) -> Void

    public let dimension: Int
    public let batchSize: Int
    private let body: BatchedBody

    /// A map evaluated one sample at a time by `body(sample, z, fz)`.
    public init(dimension: Int, batchSize: Int, perSample body: @escaping SampleBody) throws(UsageError) {
        try Check.atLeast(dimension, 1, "ClosureMap", "dimension", "d, the length of one state")
        try Check.atLeast(batchSize, 1, "ClosureMap", "batchSize", "B, the samples")
        self.dimension = dimension
        self.batchSize = batchSize
        self.body = { z, fz, samples in
            for (r, sample) in samples.enumerated() {
                body(sample, UnsafeBufferPointer(start: z + r * dimension, count: dimension),
                     UnsafeMutableBufferPointer(start: fz + r * dimension, count: dimension))
            }
        }
    }

    /// A map evaluated for a whole compacted batch at once by `body(z, fz, samples)`.
    public init(dimension: Int, batchSize: Int, batched body: @escaping BatchedBody) throws(UsageError) {
        try Check.atLeast(dimension, 1, "ClosureMap", "dimension", "d, the length of one state")
        try Check.atLeast(batchSize, 1, "ClosureMap", "batchSize", "B, the samples")
        self.dimension = dimension
        self.batchSize = batchSize
        self.body = body
    }

    public func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>,
                         samples: UnsafeBufferPointer<Int>) {
        body(z, fz, samples)
    }
}
