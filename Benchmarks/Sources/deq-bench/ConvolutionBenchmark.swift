import CBenchBLAS
import Equilibrium
import Foundation

/// `deq-bench convolution`: the convolutional residual cell against plain GEMM, and the four
/// solver families on the DEQ tutorial's 2-D cell.
///
/// 1. Throughput. An evaluation of the cell runs two convolutions (C → h and h → C, kernel K),
///    i.e. 4·h·C·K·S flops per sample, plus im2col copies, three GroupNorms and two relus. The
///    baseline is plain GEMM of the same shapes on preallocated operands: for each layer one
///    GEMM (C_out × C_in·K) · (C_in·K × B·S), the most favourable batching of those flops. The
///    goal is a cell throughput of at least 60 % of the baseline's (issue 13; 50 % before). Timings are the fastest of 15
///    interleaved runs (the machine is shared; the minimum is the least disturbed).
/// 2. Solvers. Evaluations to a relative residual of 1e-6 on the 2-D cell at the tutorial's
///    scale (48 channels, 64 inner, 32 × 32, batch 8, σ = 0.01) from z₀ = 0.
enum ConvolutionBenchmark {
    struct Shape {
        var label: String
        var configuration: ConvResidualCell.Configuration
    }

    static let shapes: [Shape] = [
        Shape(label: "2-D tutorial 48/64 32×32 B=8",
              configuration: .init(channels: 48, innerChannels: 64, shape: .grid(height: 32, width: 32), batchSize: 8, groups: 8)),
        Shape(label: "2-D 16/32 16×16 B=8",
              configuration: .init(channels: 16, innerChannels: 32, shape: .grid(height: 16, width: 16), batchSize: 8, groups: 8)),
        Shape(label: "1-D 64/128 L=256 B=8",
              configuration: .init(channels: 64, innerChannels: 128, shape: .line(length: 256), batchSize: 8, groups: 8)),
        Shape(label: "1-D 16/32 L=64 B=8",
              configuration: .init(channels: 16, innerChannels: 32, shape: .line(length: 64), batchSize: 8, groups: 8)),
    ]

    static func run() throws {
        print("deq-bench convolution — OpenBLAS threads: \(BenchmarkBLAS.threadCount)")
        print(MachineDescription.crossCoreLine(label: "cross-core round trip before the throughput table") + "\n")
        try throughput()
        print(MachineDescription.crossCoreLine(label: "cross-core round trip after the throughput table"))
        print()
        try solvers()
    }

    /// The shortest of `repeats` timings of each body (seconds), after one warm-up call each. The
    /// bodies run interleaved, so a busy machine (other builds on the two cores) slows them
    /// alike, and the minimum is the timing least disturbed by that load.
    static func fastest(repeats: Int, _ bodies: [() -> Void]) -> [Double] {
        for body in bodies { body() }
        var best = [Double](repeating: .infinity, count: bodies.count)
        for _ in 0..<repeats {
            for (k, body) in bodies.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                best[k] = min(best[k], Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
        }
        return best
    }

    static func throughput() throws {
        print("Throughput of one batched evaluation f(z) against plain GEMM of the same shapes (fastest of 15, interleaved)")
        print("| cell | GEMM flops | plain GEMM | GFLOP/s | f(z) | GFLOP/s | ratio | ≥ 60 % | J·v | vᵀJ |")
        print("|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|")
        for shape in shapes {
            let c = shape.configuration
            let cell = try ConvResidualCell.random(c)
            let b = c.batchSize, s = c.shape.size, k = c.shape.kernelCount
            let flops = 4.0 * Double(c.innerChannels * c.channels * k * s * b)
            // Plain GEMM: conv₁'s and conv₂'s weight matrices times column matrices of B·S columns.
            var generator = SplitMix64(seed: 1)
            let w1 = Matrix.gaussian(rows: c.innerChannels, columns: c.channels * k, using: &generator)
            let w2 = Matrix.gaussian(rows: c.channels, columns: c.innerChannels * k, using: &generator)
            let cols1 = Matrix.gaussian(rows: c.channels * k, columns: b * s, using: &generator)
            let cols2 = Matrix.gaussian(rows: c.innerChannels * k, columns: b * s, using: &generator)
            var out1 = [Double](repeating: 0, count: c.innerChannels * b * s), out2 = [Double](repeating: 0, count: c.channels * b * s)
            // The cell on the whole batch, through the solvers' pointer interface.
            let d = cell.dimension
            let z = BenchBuffer(b * d), v = BenchBuffer(b * d)
            let fz = BenchBuffer(b * d), out = BenchBuffer(b * d)
            for i in 0..<(b * d) {
                z.pointer[i] = generator.nextGaussian()
                v.pointer[i] = generator.nextGaussian()
            }
            let rows = UnsafeMutableBufferPointer<Int>.allocate(capacity: b)
            defer { rows.deallocate() }
            for i in 0..<b { rows[i] = i }
            let samples = UnsafeBufferPointer(rows)
            let workspace = cell.makeJacobianWorkspace(maxSamples: b)
            let times = fastest(repeats: 15, [
                {
                    plainGEMM(w1, cols1, into: &out1)
                    plainGEMM(w2, cols2, into: &out2)
                },
                { cell.evaluate(z.pointer, into: fz.pointer, samples: samples) },
                // Products at one point (the workspace keeps the forward intermediates), as in a
                // Newton–Krylov step.
                {
                    cell.jacobianVectorProduct(at: z.pointer, image: fz.pointer, vector: v.pointer,
                                               into: out.pointer, samples: samples, workspace: workspace)
                },
                {
                    cell.vectorJacobianProduct(at: z.pointer, image: fz.pointer, covector: v.pointer,
                                               into: out.pointer, samples: samples, workspace: workspace)
                },
            ])
            let (gemm, evaluation, jvp, vjp) = (times[0], times[1], times[2], times[3])
            let ratio = gemm / evaluation
            print("| \(shape.label) | \(String(format: "%.2e", flops)) | \(milliseconds(gemm)) | \(String(format: "%.1f", flops / gemm * 1e-9)) | \(milliseconds(evaluation)) | \(String(format: "%.1f", flops / evaluation * 1e-9)) | \(String(format: "%.0f %%", 100 * ratio)) | \(ratio >= 0.6 ? "PASS" : "MISS") | \(milliseconds(jvp)) | \(milliseconds(vjp)) |")
        }
    }

    static func solvers() throws {
        let c = shapes[0].configuration
        let cell = try ConvResidualCell.random(c)
        let criteria = try StoppingCriteria(tolerance: 1e-6, measure: .relative, maxIterations: 500)
        print("Evaluations to a relative residual of 1e-6 on the 2-D tutorial cell (\(shapes[0].label), σ = \(c.weightScale)), z₀ = 0, at most 500 iterations")
        print("| solver | converged | iterations (max) | nfe (max) | nfe (median) | J·v (max) | wall |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        let solvers: [any FixedPointSolver] = [ForwardIteration(), AndersonAcceleration(), Broyden(), NewtonKrylov()]
        for solver in solvers {
            let result = try solver.solve(cell, from: Matrix(rows: c.batchSize, columns: cell.dimension), criteria: criteria)
            let nfe = result.samples.map(\.evaluations).sorted()
            let iterations = result.samples.map(\.iterations).max() ?? 0
            let jvps = result.samples.map(\.jacobianVectorProducts).max() ?? 0
            let converged = result.samples.filter(\.converged).count
            print("| \(solver.name) | \(converged)/\(c.batchSize) | \(iterations) | \(nfe.last ?? 0) | \(nfe[nfe.count / 2]) | \(jvps) | \(String(format: "%.2f s", result.wallSeconds)) |")
        }
    }

    /// C ← A B with bare CBLAS (row-major, no transposes).
    static func plainGEMM(_ a: Matrix, _ b: Matrix, into c: inout [Double]) {
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BenchmarkBLAS.gemm(m: a.rows, n: b.columns, k: a.columns, a: pa.baseAddress!, lda: a.columns,
                                       b: pb.baseAddress!, ldb: b.columns, transposeB: false,
                                       c: pc.baseAddress!, ldc: b.columns)
                }
            }
        }
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }
}
