import Testing
import Equilibrium

@Suite struct ConvolutionTests {
    static let shapes: [SpatialShape] = [
        .line(length: 7), .line(length: 1), .line(length: 2),
        .grid(height: 4, width: 5), .grid(height: 1, width: 3), .grid(height: 3, width: 1), .grid(height: 2, width: 2),
    ]

    func convolution(_ shape: SpatialShape, inputs: Int = 3, outputs: Int = 4, seed: UInt64 = 1) throws -> Convolution {
        var generator = SplitMix64(seed: seed)
        return try Convolution(inputChannels: inputs, outputChannels: outputs, shape: shape,
                           weight: .gaussian(rows: outputs, columns: inputs * shape.kernelCount, using: &generator))
    }

    /// The same convolution with |W|: applied to |x| (or its adjoint to |y|) it gives each
    /// output's sum of absolute products, from which ``ErrorBound`` bounds the rounding.
    func absolute(_ conv: Convolution) throws -> Convolution {
        try Convolution(inputChannels: conv.inputChannels, outputChannels: conv.outputChannels, shape: conv.shape,
                        weight: try Matrix(rows: conv.weight.rows, columns: conv.weight.columns, values: conv.weight.storage.map(abs)))
    }

    /// |a − b| ≤ bound entry by entry, for sums of `terms` products with absolute sums `absolute`.
    func withinReordering(_ a: [Double], _ b: [Double], terms: Int, absolute: [Double]) -> Bool {
        a.indices.allSatisfy { abs(a[$0] - b[$0]) <= ErrorBound.reordered(terms: terms, absolute: absolute[$0]) }
    }

    func absoluteBatch(_ m: Matrix) throws -> Matrix { try Matrix(rows: m.rows, columns: m.columns, values: m.storage.map(abs)) }

    @Test(arguments: shapes)
    func equalsTheDirectConvolution(shape: SpatialShape) throws {
        let conv = try convolution(shape)
        let x = gaussianBatch(3, conv.inputCount, seed: 2)
        let y = try conv(x)
        let absolute = try absolute(conv)(try absoluteBatch(x))
        for i in 0..<3 {
            let expected = ReferenceCells.convolution(x.row(i), weight: conv.weight.storage, inputs: 3, outputs: 4,
                                                      extents: shape.extents)
            #expect(withinReordering(y.row(i), expected, terms: 3 * shape.kernelCount, absolute: absolute.row(i)), "\(shape) sample \(i)")
        }
    }

    @Test(arguments: shapes)
    func adjointIsTheTranspose(shape: SpatialShape) throws {
        // ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ for every sample.
        let conv = try convolution(shape, seed: 3)
        let x = gaussianBatch(2, conv.inputCount, seed: 4), y = gaussianBatch(2, conv.outputCount, seed: 5)
        let cx = try conv(x), cty = try conv.adjoint(y)
        for i in 0..<2 {
            let left = BLAS.dot(cx.row(i), y.row(i)), right = BLAS.dot(x.row(i), cty.row(i))
            // ⟨Kx, y⟩ and ⟨x, Kᵀy⟩ are the same sum of products in two orders: within 2γ_n Σ|terms|,
            // Σ|terms| = ⟨|K||x|, |y|⟩, n = C_out · C_in · 9 · spatial products (Higham Lemma 3.1).
            let absolute = BLAS.dot(try absolute(conv)(try absoluteBatch(x)).row(i), y.row(i).map(abs))
            let n = conv.outputCount * conv.inputChannels * conv.shape.kernelCount
            #expect(abs(left - right) <= ErrorBound.reordered(terms: n, absolute: absolute), "\(shape) sample \(i)")
        }
    }

    @Test(arguments: shapes)
    func weightGradientIsTheDerivativeOfThePairing(shape: SpatialShape) throws {
        // Σᵢ ⟨ȳᵢ, conv_W(xᵢ)⟩ is linear in W, so its derivative along δW is Σᵢ ⟨ȳᵢ, conv_δW(xᵢ)⟩.
        let conv = try convolution(shape, seed: 6)
        let x = gaussianBatch(3, conv.inputCount, seed: 7), gy = gaussianBatch(3, conv.outputCount, seed: 8)
        var gradient = [Double](repeating: 0, count: conv.weight.count)
        let scratch = ScratchBuffer(count: conv.scratchCount(samples: 3))
        x.storage.withUnsafeBufferPointer { px in
            gy.storage.withUnsafeBufferPointer { pg in
                gradient.withUnsafeMutableBufferPointer { g in
                    conv.accumulateWeightGradient(input: px.baseAddress!, outputGradient: pg.baseAddress!, count: 3,
                                                  into: g.baseAddress!, scratch: scratch.baseAddress)
                }
            }
        }
        for k in 0..<conv.weight.count {
            var unit = Matrix(rows: conv.weight.rows, columns: conv.weight.columns)
            unit.storage[k] = 1
            let expected = BLAS.dot(try conv.with(weight: unit)(x).storage, gy.storage)
            // The weight gradient entry against ⟨conv with a unit weight (x), gy⟩: one sum of s ≤ 20 · 3 products
            // per sample summed over 2 samples in two orders: 2γ_40 Σ|terms| ≈ 9e-15 Σ|terms|; 1e-12 is a wide margin.
            #expect(abs(gradient[k] - expected) <= 1e-12 * max(1, abs(expected)), "\(shape) entry \(k)")
        }
    }

    @Test(arguments: shapes)
    func col2imAddsEntryByEntryInTapOrder(shape: SpatialShape) throws {
        // col2im adds each tap's entries with one flattened add and puts back the inputs the
        // shift wraps onto; the result must be bitwise that of adding entry by entry, tap after
        // tap, into a nonzero start, with columns side by side (row stride > S).
        let conv = try convolution(shape, inputs: 2)
        let s = shape.size, k = shape.kernelCount, stride = s + 3
        let columns = gaussianBatch(1, 2 * k * stride, seed: 6).storage
        let start = gaussianBatch(1, 2 * s, seed: 7).storage
        var x = start, expected = start
        columns.withUnsafeBufferPointer { c in
            x.withUnsafeMutableBufferPointer { conv.col2im(c.baseAddress!, addingInto: $0.baseAddress!, rowStride: stride) }
        }
        let (h, w) = (shape.extents.count == 1 ? 1 : shape.extents[0], shape.extents.last!)
        let kernelHeight = k / 3
        for channel in 0..<2 {
            for kh in 0..<kernelHeight {
                for kw in 0..<3 {
                    let row = (channel * kernelHeight + kh) * 3 + kw
                    for i in 0..<h {
                        for j in 0..<w {
                            let (si, sj) = (i + kh - kernelHeight / 2, j + kw - 1)
                            guard si >= 0 && si < h && sj >= 0 && sj < w else { continue }
                            expected[channel * s + si * w + sj] += columns[row * stride + i * w + j]
                        }
                    }
                }
            }
        }
        #expect(x == expected, "\(shape)")
    }

    @Test func weightLayoutIsPyTorchs() throws {
        // W[o, c, kh, kw] at column c·9 + kh·3 + kw: a single 1 at (0, 1, 0, 2) makes y₀ the input
        // channel 1 shifted by (−1, +1) (the top-right tap).
        let shape = SpatialShape.grid(height: 3, width: 3)
        var w = Matrix(rows: 1, columns: 2 * 9)
        w[0, 1 * 9 + 0 * 3 + 2] = 1
        let conv = try Convolution(inputChannels: 2, outputChannels: 1, shape: shape, weight: w)
        let x = Matrix(rows: 1, columns: 18, storage: (0..<18).map(Double.init))
        let y = try conv(x)
        // y[i, j] = x[1, i − 1, j + 1] (0 outside): channel 1 holds 9…17.
        #expect(y.storage == [0, 0, 0, 10, 11, 0, 13, 14, 0])
        #expect(conv.weightShape == [1, 2, 3, 3])
    }

    @Test("The weight gradient is bitwise the same on 1 and 2 BLAS threads (its chunks, hence its summation order, do not follow the threads)")
    func weightGradientIndependentOfBLASThreads() throws {
        // 2-D 16/32 channels 16 × 16, the shape whose one-thread chunk for f is narrower than the wide one.
        let shape = SpatialShape.grid(height: 16, width: 16)
        let conv = try convolution(shape, inputs: 16, outputs: 32, seed: 12)
        let n = 8
        let x = gaussianBatch(n, conv.inputCount, seed: 13), gy = gaussianBatch(n, conv.outputCount, seed: 14)
        let scratch = ScratchBuffer(count: conv.scratchCount(samples: n))
        func gradient(threads: Int) -> [Double] {
            let before = BLAS.threadCount
            BLAS.setThreadCount(threads)
            defer { BLAS.setThreadCount(before) }
            var g = [Double](repeating: 0, count: conv.weight.count)
            x.storage.withUnsafeBufferPointer { px in
                gy.storage.withUnsafeBufferPointer { pg in
                    g.withUnsafeMutableBufferPointer { pw in
                        conv.accumulateWeightGradient(input: px.baseAddress!, outputGradient: pg.baseAddress!, count: n,
                                                      into: pw.baseAddress!, scratch: scratch.baseAddress)
                    }
                }
            }
            return g
        }
        let one = gradient(threads: 1), two = gradient(threads: 2)
        #expect(one.contains { $0 != 0 })
        #expect(one == two)
    }

    @Test func chunksOfSamplesGiveThePerSampleResults() throws {
        // S = 400: three samples per GEMM, so 7 samples run as chunks of 3, 3 and 1.
        let shape = SpatialShape.grid(height: 20, width: 20)
        let conv = try convolution(shape, inputs: 2, outputs: 3, seed: 9)
        #expect(conv.samplesPerProduct(7) == 3)
        let x = gaussianBatch(7, conv.inputCount, seed: 10), gy = gaussianBatch(7, conv.outputCount, seed: 11)
        let y = try conv(x), gx = try conv.adjoint(gy)
        var gradient = [Double](repeating: 0, count: conv.weight.count), perSample = gradient
        let scratch = ScratchBuffer(count: conv.scratchCount(samples: 7))
        x.storage.withUnsafeBufferPointer { px in
            gy.storage.withUnsafeBufferPointer { pg in
                gradient.withUnsafeMutableBufferPointer { g in
                    conv.accumulateWeightGradient(input: px.baseAddress!, outputGradient: pg.baseAddress!, count: 7,
                                                  into: g.baseAddress!, scratch: scratch.baseAddress)
                }
                perSample.withUnsafeMutableBufferPointer { g in
                    for i in 0..<7 {
                        conv.accumulateWeightGradient(input: px.baseAddress! + i * conv.inputCount,
                                                      outputGradient: pg.baseAddress! + i * conv.outputCount, count: 1,
                                                      into: g.baseAddress!, scratch: scratch.baseAddress)
                    }
                }
            }
        }
        // Batched and one-sample products sum in the kernel's order for their sizes; each entry
        // agrees to the rounding of its sum (terms: C_in·k for y, C_out·k for the adjoint, 7 s for
        // the weight gradient, s the spatial size).
        let absConv = try absolute(conv)
        let absY = try absConv(try absoluteBatch(x)), absGx = try absConv.adjoint(try absoluteBatch(gy))
        var absGradient = [Double](repeating: 0, count: conv.weight.count)
        let absX = try absoluteBatch(x).storage, absGy = try absoluteBatch(gy).storage
        absX.withUnsafeBufferPointer { px in
            absGy.withUnsafeBufferPointer { pg in
                absGradient.withUnsafeMutableBufferPointer { g in
                    absConv.accumulateWeightGradient(input: px.baseAddress!, outputGradient: pg.baseAddress!, count: 7,
                                                     into: g.baseAddress!, scratch: scratch.baseAddress)
                }
            }
        }
        let k = shape.kernelCount, s = conv.outputCount / 3
        for i in 0..<7 {
            let single = Matrix(rows: 1, columns: conv.inputCount, storage: x.row(i))
            #expect(withinReordering(y.row(i), try conv(single).storage, terms: 2 * k, absolute: absY.row(i)), "sample \(i)")
            let singleGradient = Matrix(rows: 1, columns: conv.outputCount, storage: gy.row(i))
            #expect(withinReordering(gx.row(i), try conv.adjoint(singleGradient).storage, terms: 3 * k, absolute: absGx.row(i)), "sample \(i)")
        }
        #expect(withinReordering(gradient, perSample, terms: 7 * s, absolute: absGradient))
        // beta = 1 adds to the output.
        var twice = y.storage
        x.storage.withUnsafeBufferPointer { px in
            twice.withUnsafeMutableBufferPointer { py in
                conv.apply(px.baseAddress!, into: py.baseAddress!, count: 7, scratch: scratch.baseAddress, beta: 1)
            }
        }
        // y + (W x) accumulated by the kernel (perhaps fused): one more term than y itself.
        #expect(withinReordering(twice, y.storage.map { 2 * $0 }, terms: 2 * k + 1,
                                 absolute: zip(absY.storage, y.storage).map { $0 + abs($1) }))
    }
}
