import Equilibrium
import Foundation

/// Issue 13, part 6: both cores on one batch solve. For tanh d = 2048 (B = 8, ‖W‖₂ = 0.9,
/// forward and Anderson m = 5, tol 1e-8) and the DEQ tutorial's 2-D convolutional cell (48/64
/// channels, 32 × 32, B = 8, σ = 0.01, Anderson m = 5, tol 1e-6, at most 100 iterations):
///
/// - 1 thread: the whole batch, OpenBLAS on one thread;
/// - BLAS × 2: the whole batch, OpenBLAS on two threads (the library's default on this machine;
///   the tanh cell's elementwise pass follows the BLAS threads, `RowParallelism`);
/// - samples × 2: the library's ``SampleParallel`` with 2 threads: the batch as two groups of
///   4 samples solved concurrently, OpenBLAS on one thread each. Samples share nothing but the
///   batched f calls, so each group's per-sample results are those of the whole batch up to
///   the rounding of a GEMM over fewer rows (nfe are printed for all three).
///
/// Rounds interleave the three; medians over `repeats` rounds (default 7, 1 with `--quick`)
/// after a warm-up. Goal: the faster two-thread variant ≥ 1.7× the one-thread time; the
/// faster one is the library's recommendation for that cell, printed below the table.
enum ThreadsBenchmark {
    static func run(_ options: BenchmarkOptions) throws {
        printSection("Both cores: batch solves on 1 and 2 threads (issue 13)")
        print(MachineDescription.crossCoreLine(label: "cross-core round trip at start"))
        let startThreads = BenchmarkBLAS.threadCount
        defer { BenchmarkBLAS.setThreadCount(startThreads) }
        let rounds = options.quick ? 1 : min(options.repeats, 7)
        var table = TextTable(header: ["case", "nfe (max) 1 / BLAS×2 / samples×2", "1 thread s", "BLAS×2 s", "speed-up",
                                       "samples×2 s", "speed-up", "≥ 1.7×", "faster"], leftColumns: 2)
        let tanh = try TanhCell.random(.init(dimension: 2048, batchSize: 8, spectralNorm: 0.9, seed: 21))
        let tight = try StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 1000, recordHistory: false)
        try measure(&table, "tanh d=2048 B=8 forward", tanh, ForwardIteration(), tight, rounds: rounds)
        try measure(&table, "tanh d=2048 B=8 anderson m=5", tanh, AndersonAcceleration(memory: 5), tight, rounds: rounds)
        if !options.quick {
            let conv = try ConvResidualCell.random(.init(channels: 48, innerChannels: 64, shape: .grid(height: 32, width: 32),
                                                         batchSize: 8, groups: 8))
            let loose = try StoppingCriteria(tolerance: 1e-6, measure: .relative, maxIterations: 100, recordHistory: false)
            try measure(&table, "conv 2-D 48/64 32×32 B=8 anderson m=5", conv, AndersonAcceleration(memory: 5), loose, rounds: rounds)
        }
        print(table.render())
        print("")
        let (d, b, ceilingRounds) = (tanh.dimension, tanh.batchSize, max(rounds, 3))
        let ceiling = try bareProductSpeedUp(weight: tanh.weight, rows: b, rounds: ceilingRounds)
        print("ceiling of the dense cell: its product Z Wᵀ (\(b) × \(d) by \(d) × \(d), the W of \((d * d * 8) >> 20) MiB read from memory on every")
        print("call) alone, medians of \(ceilingRounds) interleaved rounds of \(productCallsPerRound) calls, 1 and 2 BLAS threads:")
        print("  as the cell runs it (AffineMap's f, Z Wᵀ + 0 through the library's BLAS.gemm): \(fixed(ceiling.library.one * 1e3, 3)) ms and \(fixed(ceiling.library.two * 1e3, 3)) ms, \(fixed(ceiling.library.one / ceiling.library.two, 2))×")
        print("  OpenBLAS's cblas_dgemm:                                                  \(fixed(ceiling.openBLAS.one * 1e3, 3)) ms and \(fixed(ceiling.openBLAS.two * 1e3, 3)) ms, \(fixed(ceiling.openBLAS.one / ceiling.openBLAS.two, 2))×")
        print("a solve of this cell is nfe such products and a few per cent of other work, so the first speed-up is about the most")
        print("the second core can give it")
        print("\(rounds) rounds after a warm-up, interleaved; medians. BLAS threads at start: \(startThreads)")
        print("\"faster\": the two-thread variant to use for that cell (BLAS threading is the default; SampleParallel wraps a solver)")
        print(MachineDescription.crossCoreLine(label: "cross-core round trip at end"))
        print(MachineDescription.loadLine(label: "load average at end"))
    }

    /// Product calls timed together in one round of ``bareProductSpeedUp(weight:rows:rounds:)``: the
    /// forward solve's nfe on this cell.
    static let productCallsPerRound = 17

    /// Seconds per call of the tanh cell's product Z Wᵀ (B × d by d × d) on 1 and on 2 BLAS threads,
    /// interleaved, medians over rounds of ``productCallsPerRound`` calls: once as the library runs it
    /// (``AffineMap`` with A = W and zero offsets: its f is the cell's `BLAS.gemm` call plus a copy of
    /// the zero offsets) and once through OpenBLAS's `cblas_dgemm`.
    static func bareProductSpeedUp(weight: Matrix, rows b: Int, rounds: Int) throws
        -> (library: (one: Double, two: Double), openBLAS: (one: Double, two: Double)) {
        let d = weight.rows
        let map = try AffineMap(matrix: weight, offsets: Matrix(rows: b, columns: d))
        let w = BenchBuffer(d * d), z = BenchBuffer(b * d), fz = BenchBuffer(b * d)
        w.pointer.update(from: weight.storage, count: d * d)
        var generator = SplitMix64(seed: 5)
        for i in 0..<(b * d) { z.pointer[i] = generator.nextGaussian() }
        let samples = Array(0..<b)
        let variants: [() -> Void] = [
            { samples.withUnsafeBufferPointer { map.evaluate(z.pointer, into: fz.pointer, samples: $0) } },
            { BenchmarkBLAS.gemm(m: b, n: d, k: d, a: z.pointer, lda: d, b: w.pointer, ldb: d, transposeB: true, c: fz.pointer, ldc: d) },
        ]
        var seconds = [[Double]](repeating: [], count: 4)
        for round in 0...rounds {
            for (v, call) in variants.enumerated() {
                for threads in [1, 2] {
                    BenchmarkBLAS.setThreadCount(threads)
                    let start = monotonicSeconds()
                    for _ in 0..<productCallsPerRound { call() }
                    if round > 0 { seconds[2 * v + threads - 1].append((monotonicSeconds() - start) / Double(productCallsPerRound)) }
                }
            }
        }
        let m = seconds.map(median)
        return ((m[0], m[1]), (m[2], m[3]))
    }

    static func measure<Map: ThreadSafeMap>(_ table: inout TextTable, _ label: String, _ map: Map,
                                            _ solver: some FixedPointSolver, _ criteria: StoppingCriteria,
                                            rounds: Int) throws {
        let z0 = Matrix(rows: map.batchSize, columns: map.dimension)
        let split = try SampleParallel(solver, threads: 2)
        var single: [Double] = [], blas: [Double] = [], groups: [Double] = []
        var nfe = [0, 0, 0]
        for round in 0...rounds {
            BenchmarkBLAS.setThreadCount(1)
            var start = monotonicSeconds()
            let r1 = try solver.solve(map, from: z0, criteria: criteria)
            if round > 0 { single.append(monotonicSeconds() - start) }
            BenchmarkBLAS.setThreadCount(2)
            start = monotonicSeconds()
            let r2 = try solver.solve(map, from: z0, criteria: criteria)
            if round > 0 { blas.append(monotonicSeconds() - start) }
            start = monotonicSeconds()
            let r3 = try split.solve(map, from: z0, criteria: criteria)
            if round > 0 { groups.append(monotonicSeconds() - start) }
            nfe = [r1.mostEvaluations, r2.mostEvaluations, r3.mostEvaluations]
        }
        let t1 = median(single), t2 = median(blas), t3 = median(groups)
        let best = max(t1 / t2, t1 / t3)
        table.add([label, nfe.map(String.init).joined(separator: " / "), fixed(t1, 3), fixed(t2, 3), fixed(t1 / t2, 2) + "×",
                   fixed(t3, 3), fixed(t1 / t3, 2) + "×", best >= 1.7 ? "PASS" : "MISS", t2 <= t3 ? "BLAS×2" : "samples×2"])
    }
}
