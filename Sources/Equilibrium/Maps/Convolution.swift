/// The positions of one channel of a convolutional state: a line of L positions (1-D) or an
/// H × W grid (2-D), stored row-major (index i·W + j).
public enum SpatialShape: Sendable, Hashable, Codable, CustomStringConvertible {
    case line(length: Int)
    case grid(height: Int, width: Int)

    /// S, the positions per channel.
    public var size: Int { height * width }
    /// 1 for a line, 2 for a grid.
    public var rank: Int {
        if case .line = self { return 1 }
        return 2
    }
    /// [L] or [H, W], the trailing dimensions of a `.npy` array of this shape.
    public var extents: [Int] {
        switch self {
        case let .line(length): return [length]
        case let .grid(height, width): return [height, width]
        }
    }
    /// K, the taps of a kernel of size 3: 3 for a line, 9 for a grid.
    public var kernelCount: Int { kernelHeight * 3 }
    /// The kernel's extents, [3] or [3, 3].
    public var kernelExtents: [Int] { rank == 1 ? [3] : [3, 3] }

    var height: Int {
        switch self {
        case .line: return 1
        case let .grid(height, _): return height
        }
    }
    var width: Int {
        switch self {
        case let .line(length): return length
        case let .grid(_, width): return width
        }
    }
    var kernelHeight: Int { rank == 1 ? 1 : 3 }

    /// `L=32` or `32×32`.
    public var description: String {
        switch self {
        case let .line(length): return "L=\(length)"
        case let .grid(height, width): return "\(height)×\(width)"
        }
    }
}

/// A convolution with kernel size 3, stride 1 and zero padding 1 (so the output has the input's
/// spatial shape), without bias, over a line (1-D) or a grid (2-D), evaluated by im2col + GEMM.
///
/// For one sample x (C_in channels × S positions, channel-major) and weights W of PyTorch's
/// layout (C_out, C_in, 3) or (C_out, C_in, 3, 3), flattened row-major to a C_out × C_in·K matrix,
///
///     y[o, p] = Σ_{c, t} W[o, c, t] · x[c, p + offset(t)]      (0 outside the input)
///     Y = W · im2col(x)                   im2col(x): C_in·K × S, row c·K + t, column p
///
/// so a convolution is one copy into the column buffer and one GEMM (C_out × C_in·K × S), the
/// GEMM running on OpenBLAS. The adjoint (the VJP with respect to the input) and the weight
/// gradient are GEMMs too:
///
///     ∂/∂x:  x̄ = col2im(Wᵀ Ȳ)            col2im adds every column entry back where it came from
///     ∂/∂W:  W̄ += Ȳ · im2col(x)ᵀ
///
/// The pointer functions process n samples (rows of row-major buffers) with caller-owned
/// scratch of ``scratchCount(samples:)`` doubles, so they never allocate. Samples are taken in
/// chunks whose columns sit side by side, one GEMM per chunk (``samplesPerProduct(_:)``): a
/// 16 × 16 image alone makes a GEMM too narrow for OpenBLAS to reach its speed. Cost per
/// sample: 2 C_out C_in K S flops in the GEMM plus C_in K S copies (and C_out S to permute a
/// chunk's output back to rows).
///
/// References: K. Chellapilla, S. Puri, P. Simard, "High performance convolutional neural
/// networks for document processing", 2006 (im2col).
public struct Convolution: Sendable, Equatable {
    /// C_in.
    public let inputChannels: Int
    /// C_out.
    public let outputChannels: Int
    /// The spatial shape of input and output.
    public let shape: SpatialShape
    /// W as a C_out × C_in·K matrix: entry (o, c·K + t), t = kh·3 + kw, is PyTorch's W[o, c, kh, kw].
    public let weight: Matrix

    public init(inputChannels: Int, outputChannels: Int, shape: SpatialShape, weight: Matrix) throws(UsageError) {
        let owner = "Convolution"
        try Check.atLeast(inputChannels, 1, owner, "inputChannels", "C_in")
        try Check.atLeast(outputChannels, 1, owner, "outputChannels", "C_out")
        guard shape.height >= 1 && shape.width >= 1 else {
            throw UsageError(owner, "shape", got: "\(shape)", expected: "at least one position")
        }
        guard weight.rows == outputChannels && weight.columns == inputChannels * shape.kernelCount else {
            throw UsageError(owner, "weight", got: "\(weight.rows) × \(weight.columns)",
                             expected: "\(outputChannels) × \(inputChannels * shape.kernelCount) (C_out × C_in·K)")
        }
        try Check.finite(weight.storage, owner, "weight")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.shape = shape
        self.weight = weight
    }

    /// C_in·S, the numbers of one input sample.
    public var inputCount: Int { inputChannels * shape.size }
    /// C_out·S, the numbers of one output sample.
    public var outputCount: Int { outputChannels * shape.size }
    /// Samples per GEMM when n are processed: enough for about 1024 GEMM columns (chunk·S), where
    /// OpenBLAS runs near its peak on two cores, and one sample when S alone is that wide (then
    /// the GEMM writes the sample's output in place and nothing is permuted). On one BLAS thread,
    /// no more than keep the column buffer (C_in·K × chunk·S doubles) within ``columnBudget``
    /// bytes: im2col writes it and the GEMM reads it back (col2im reads the adjoint's), and past
    /// the L2 cache both go through L3, which costs more than the narrower GEMM (issue 13: 2-D,
    /// 16/32 channels, 16 × 16, one sample per GEMM instead of four takes 5–7 % off f and J·v and
    /// 10 % off vᵀJ; with two threads the wide GEMM is worth more). OpenBLAS computes every
    /// output column the same way whatever the GEMM's width, so the results (measured bitwise)
    /// do not depend on the chunk.
    public func samplesPerProduct(_ n: Int) -> Int {
        let wide = widestChunk(n)
        guard BLAS.threadCount == 1 else { return wide }
        let perSample = inputChannels * shape.kernelCount * shape.size * MemoryLayout<Double>.stride
        return max(1, min(wide, Convolution.columnBudget / perSample))
    }

    /// The chunk of about 1024 columns, an upper bound of ``samplesPerProduct(_:)`` whatever the
    /// BLAS threads (the scratch is sized by it, so a change of threads never overruns it).
    private func widestChunk(_ n: Int) -> Int { max(1, min(n, (1024 + shape.size - 1) / shape.size)) }

    /// 512 KiB, half the L2 cache of one core of the machine issue 13 measured on (a Zen 4 EPYC, 1 MiB).
    public static let columnBudget = 512 * 1024

    /// The doubles of scratch the batched functions need for n samples: the column buffer
    /// (C_in·K × chunk·S) and a channel-major output block (C_out × chunk·S).
    public func scratchCount(samples n: Int) -> Int {
        widestChunk(n) * shape.size * (inputChannels * shape.kernelCount + outputChannels)
    }

    /// PyTorch's weight shape, (C_out, C_in, 3) or (C_out, C_in, 3, 3).
    public var weightShape: [Int] { [outputChannels, inputChannels] + shape.kernelExtents }

    /// The same convolution with other weights.
    public func with(weight: Matrix) throws(UsageError) -> Convolution {
        try Convolution(inputChannels: inputChannels, outputChannels: outputChannels, shape: shape, weight: weight)
    }

    // MARK: im2col and col2im (one sample)

    /// Writes im2col(x) of one sample: row c·K + kh·3 + kw, column i·W + j holds
    /// x[c, i + kh − 1, j + kw − 1] (kh = 1 for a line), 0 outside the input. Rows are
    /// `rowStride` ≥ S doubles apart (a chunk of samples side by side).
    public func im2col(_ x: UnsafePointer<Double>, into columns: UnsafeMutablePointer<Double>, rowStride: Int? = nil) {
        let stride = rowStride ?? shape.size
        let h = shape.height, w = shape.width, kernelHeight = shape.kernelHeight, s = shape.size
        let padding = kernelHeight / 2
        for c in 0..<inputChannels {
            let channel = x + c * s
            for kh in 0..<kernelHeight {
                let dh = kh - padding
                // Output rows whose source row i + dh exists; the others read the padding.
                let firstRow = max(0, -dh), endRow = min(h, h - dh)
                for kw in 0..<3 {
                    let dw = kw - 1
                    let row = columns + ((c * kernelHeight + kh) * 3 + kw) * stride
                    if firstRow > 0 { row.update(repeating: 0, count: firstRow * w) }
                    if endRow < h { (row + endRow * w).update(repeating: 0, count: (h - endRow) * w) }
                    guard endRow > firstRow else { continue }
                    // Flattened, the valid rows are one shifted copy: output p reads input p + dh·W + dw.
                    // The shift by dw wraps one column across row ends; those entries are the
                    // padding and are zeroed after the copy. The copy skips its first (dw < 0) or
                    // last (dw > 0) element, which would read outside the channel.
                    let start = firstRow * w, count = (endRow - firstRow) * w
                    let source = channel + start + dh * w + dw
                    switch dw {
                    case -1: (row + start + 1).update(from: source + 1, count: count - 1)
                    case 1: (row + start).update(from: source, count: count - 1)
                    default: (row + start).update(from: source, count: count)
                    }
                    if dw != 0 {
                        let wrapped = dw < 0 ? 0 : w - 1
                        for i in firstRow..<endRow { row[i * w + wrapped] = 0 }
                    }
                }
            }
        }
    }

    /// The adjoint of ``im2col(_:into:rowStride:)``: adds every entry of `columns` into the input
    /// position it was copied from (entries that came from the padding are dropped).
    public func col2im(_ columns: UnsafePointer<Double>, addingInto x: UnsafeMutablePointer<Double>, rowStride: Int? = nil) {
        let stride = rowStride ?? shape.size
        let h = shape.height, w = shape.width, s = shape.size, kernelHeight = shape.kernelHeight
        let padding = kernelHeight / 2
        // The inputs a shift by dw wraps onto (one per valid row), saved and put back around the
        // add; at most H of them.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: h) { saved in
            for c in 0..<inputChannels {
                let channel = x + c * s
                for kh in 0..<kernelHeight {
                    let dh = kh - padding
                    let firstRow = max(0, -dh), endRow = min(h, h - dh)
                    guard endRow > firstRow else { continue }
                    for kw in 0..<3 {
                        let dw = kw - 1
                        let row = columns + ((c * kernelHeight + kh) * 3 + kw) * stride
                        // As in im2col, the valid rows are one flattened shift: entry p goes to input
                        // p + dh·W + dw. Entries of the first (dw < 0) or last (dw > 0) column came
                        // from the padding; the add puts them on the last or first column of the
                        // neighbouring input row, which no entry of this tap reaches otherwise, so
                        // those inputs are saved before and restored after (the same sums, in the
                        // same order, as row by row; one long add instead of H short ones).
                        let start = firstRow * w, count = (endRow - firstRow) * w
                        let destination = channel + start + dh * w + dw
                        switch dw {
                        case -1:
                            for (k, i) in (firstRow + 1..<endRow).enumerated() { saved[k] = channel[(i + dh) * w - 1] }
                            add(row + start + 1, into: destination + 1, count: count - 1)
                            for (k, i) in (firstRow + 1..<endRow).enumerated() { channel[(i + dh) * w - 1] = saved[k] }
                        case 1:
                            for (k, i) in (firstRow..<endRow - 1).enumerated() { saved[k] = channel[(i + dh + 1) * w] }
                            add(row + start, into: destination, count: count - 1)
                            for (k, i) in (firstRow..<endRow - 1).enumerated() { channel[(i + dh + 1) * w] = saved[k] }
                        default:
                            add(row + start, into: destination, count: count)
                        }
                    }
                }
            }
        }
    }

    // MARK: Batched products (n samples)

    /// Runs `body(first, count)` over chunks of `chunk` samples (default ``samplesPerProduct(_:)``).
    private func forEachChunk(_ n: Int, chunk: Int? = nil, _ body: (Int, Int) -> Void) {
        let chunk = chunk ?? samplesPerProduct(n)
        var first = 0
        while first < n {
            let count = min(chunk, n - first)
            body(first, count)
            first += count
        }
    }

    /// y = conv(x) for n samples (x: n × C_in·S, y: n × C_out·S); `beta = 1` adds to y.
    /// `scratch` holds ``scratchCount(samples:)`` doubles.
    public func apply(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count n: Int,
                      scratch: UnsafeMutablePointer<Double>, beta: Double = 0) {
        let s = shape.size, k = inputChannels * shape.kernelCount
        weight.storage.withUnsafeBufferPointer { w in
            forEachChunk(n) { first, count in
                let width = count * s
                let columns = scratch, block = scratch + k * width
                for j in 0..<count { im2col(x + (first + j) * inputCount, into: columns + j * s, rowStride: width) }
                if count == 1 {
                    BLAS.gemm(.none, .none, m: outputChannels, n: s, k: k, alpha: 1, a: w.baseAddress!, lda: k,
                              b: columns, ldb: s, beta: beta, c: y + first * outputCount, ldc: s)
                    return
                }
                // One GEMM for the chunk, C_out × chunk·S (channel-major), then back to rows.
                BLAS.gemm(.none, .none, m: outputChannels, n: width, k: k, alpha: 1, a: w.baseAddress!, lda: k,
                          b: columns, ldb: width, beta: 0, c: block, ldc: width)
                for j in 0..<count {
                    for o in 0..<outputChannels {
                        let source = block + o * width + j * s, target = y + (first + j) * outputCount + o * s
                        if beta == 0 {
                            target.update(from: source, count: s)
                        } else {
                            for p in 0..<s { target[p] = beta * target[p] + source[p] }
                        }
                    }
                }
            }
        }
    }

    /// Copies the rows ȳ of a chunk into a channel-major block C_out × chunk·S.
    private func gatherChannels(_ gy: UnsafePointer<Double>, count: Int, into block: UnsafeMutablePointer<Double>) {
        let s = shape.size, width = count * s
        for j in 0..<count {
            for o in 0..<outputChannels {
                (block + o * width + j * s).update(from: gy + j * outputCount + o * s, count: s)
            }
        }
    }

    /// x̄ = convᵀ(ȳ), the input gradient, for n samples (ȳ: n × C_out·S, x̄: n × C_in·S,
    /// overwritten). `scratch` holds ``scratchCount(samples:)`` doubles.
    public func applyAdjoint(_ gy: UnsafePointer<Double>, into gx: UnsafeMutablePointer<Double>, count n: Int,
                             scratch: UnsafeMutablePointer<Double>) {
        let s = shape.size, k = inputChannels * shape.kernelCount
        weight.storage.withUnsafeBufferPointer { w in
            forEachChunk(n) { first, count in
                let width = count * s
                let columns = scratch, block = scratch + k * width
                let source: UnsafePointer<Double>
                if count == 1 {
                    source = gy + first * outputCount
                } else {
                    gatherChannels(gy + first * outputCount, count: count, into: block)
                    source = UnsafePointer(block)
                }
                BLAS.gemm(.transpose, .none, m: k, n: width, k: outputChannels, alpha: 1, a: w.baseAddress!, lda: k,
                          b: source, ldb: width, beta: 0, c: columns, ldc: width)
                for j in 0..<count {
                    let out = gx + (first + j) * inputCount
                    out.update(repeating: 0, count: inputCount)
                    col2im(columns + j * s, addingInto: out, rowStride: width)
                }
            }
        }
    }

    /// W̄ += Σᵣ ȳᵣ · im2col(xᵣ)ᵀ over n samples (`weightGradient`: C_out × C_in·K, row-major).
    /// `scratch` holds ``scratchCount(samples:)`` doubles.
    public func accumulateWeightGradient(input x: UnsafePointer<Double>, outputGradient gy: UnsafePointer<Double>,
                                         count n: Int, into weightGradient: UnsafeMutablePointer<Double>,
                                         scratch: UnsafeMutablePointer<Double>) {
        let s = shape.size, k = inputChannels * shape.kernelCount
        // The widest chunk whatever the BLAS threads: the chunks' GEMMs sum over their columns into
        // one ∂W, so the chunk sets the summation order, and ∂W must not depend on the thread count.
        forEachChunk(n, chunk: widestChunk(n)) { first, count in
            let width = count * s
            let columns = scratch, block = scratch + k * width
            for j in 0..<count { im2col(x + (first + j) * inputCount, into: columns + j * s, rowStride: width) }
            let source: UnsafePointer<Double>
            if count == 1 {
                source = gy + first * outputCount
            } else {
                gatherChannels(gy + first * outputCount, count: count, into: block)
                source = UnsafePointer(block)
            }
            BLAS.gemm(.none, .transpose, m: outputChannels, n: k, k: width, alpha: 1, a: source, lda: width,
                      b: columns, ldb: width, beta: 1, c: weightGradient, ldc: k)
        }
    }

    // MARK: Matrix API (set-up and tests)

    /// conv(x) for every row of `x` (rows are samples, C_in·S columns), as a new matrix.
    public func callAsFunction(_ x: Matrix) throws(UsageError) -> Matrix {
        guard x.columns == inputCount else {
            throw UsageError("Convolution", "input", got: "\(x.columns) columns", expected: "C_in·S = \(inputCount) columns, one sample per row")
        }
        var y = Matrix(rows: x.rows, columns: outputCount)
        let scratch = ScratchBuffer(count: scratchCount(samples: x.rows))
        x.storage.withUnsafeBufferPointer { px in
            y.storage.withUnsafeMutableBufferPointer { py in
                apply(px.baseAddress!, into: py.baseAddress!, count: x.rows, scratch: scratch.baseAddress)
            }
        }
        return y
    }

    /// convᵀ(ȳ) for every row of `gy` (rows are samples, C_out·S columns), as a new matrix.
    public func adjoint(_ gy: Matrix) throws(UsageError) -> Matrix {
        guard gy.columns == outputCount else {
            throw UsageError("Convolution", "output gradient", got: "\(gy.columns) columns", expected: "C_out·S = \(outputCount) columns")
        }
        var gx = Matrix(rows: gy.rows, columns: inputCount)
        let scratch = ScratchBuffer(count: scratchCount(samples: gy.rows))
        gy.storage.withUnsafeBufferPointer { pg in
            gx.storage.withUnsafeMutableBufferPointer { px in
                applyAdjoint(pg.baseAddress!, into: px.baseAddress!, count: gy.rows, scratch: scratch.baseAddress)
            }
        }
        return gx
    }
}

/// y += x over n entries.
@inline(__always)
private func add(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count n: Int) {
    for i in 0..<n { y[i] += x[i] }
}
