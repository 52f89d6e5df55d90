import Equilibrium
import Foundation

/// Issue 13, part 6: both cores on one batch solve. For tanh d = 2048 (B = 8, ‖W‖₂ = 0.9,
/// forward and Anderson m = 5, tol 1e-8) and the DEQ tutorial's 2-D convolutional cell (48/64
/// channels, 32 × 32, B = 8, σ = 0.01, Anderson m = 5, tol 1e-6, at most 100 iterations):
///
/// - 1 thread: the whole batch, OpenBLAS on one thread;
/// - BLAS × 2: the whole batch, OpenBLAS on two threads (the library's default on this machine);
/// - samples × 2: the batch split into two halves (each a binding of half the inputs), solved
///   concurrently on two threads, OpenBLAS on one thread each. Samples share nothing but the
///   batched f calls, so each half's per-sample results are those of the whole batch up to
///   the rounding of a GEMM over fewer rows (nfe are printed for both).
///
/// Rounds interleave the three; medians over `repeats` rounds (default 3, 1 with `--quick`)
/// after a warm-up. Goal: the faster two-thread variant ≥ 1.7× the one-thread time.
enum ThreadsBenchmark {
    static func run(_ options: BenchmarkOptions) throws {
        printSection("Both cores: batch solves on 1 and 2 threads (issue 13)")
        let startThreads = BenchmarkBLAS.threadCount
        defer { BenchmarkBLAS.setThreadCount(startThreads) }
        let rounds = options.quick ? 1 : min(options.repeats, 3)
        var table = TextTable(header: ["case", "nfe (max) 1 / BLAS×2 / samples×2", "1 thread s", "BLAS×2 s", "speed-up",
                                       "samples×2 s", "speed-up", "≥ 1.7×"], leftColumns: 2)
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
        print("\(rounds) rounds after a warm-up, interleaved; medians. BLAS threads at start: \(startThreads)")
        print(MachineDescription.loadLine(label: "load average at end"))
    }

    static func measure<Map: FixedPointMap & Rebindable & Sendable>(_ table: inout TextTable, _ label: String, _ map: Map,
                                                          _ solver: some FixedPointSolver & Sendable, _ criteria: StoppingCriteria,
                                                          rounds: Int) throws {
        let b = map.batchSize, half = b / 2
        let inputs = map.boundInput
        let first = try map.rebound(Matrix(rows: half, columns: inputs.columns,
                                           values: Array(inputs.storage[0..<(half * inputs.columns)])))
        let second = try map.rebound(Matrix(rows: b - half, columns: inputs.columns,
                                            values: Array(inputs.storage[(half * inputs.columns)...])))
        let z0 = Matrix(rows: b, columns: map.dimension)
        let z1 = Matrix(rows: half, columns: map.dimension), z2 = Matrix(rows: b - half, columns: map.dimension)
        var single: [Double] = [], blas: [Double] = [], split: [Double] = []
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
            BenchmarkBLAS.setThreadCount(1)
            let results = HalfResults()
            start = monotonicSeconds()
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let result = try? solver.solve(k == 0 ? first : second, from: k == 0 ? z1 : z2, criteria: criteria)
                results.set(k, result)
            }
            if round > 0 { split.append(monotonicSeconds() - start) }
            nfe = [r1.mostEvaluations, r2.mostEvaluations, results.mostEvaluations]
        }
        let t1 = median(single), t2 = median(blas), t3 = median(split)
        let best = max(t1 / t2, t1 / t3)
        table.add([label, nfe.map(String.init).joined(separator: " / "), fixed(t1, 3), fixed(t2, 3), fixed(t1 / t2, 2) + "×",
                   fixed(t3, 3), fixed(t1 / t3, 2) + "×", best >= 1.7 ? "PASS" : "MISS"])
    }

    final class HalfResults: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [SolveResult?] = [nil, nil]
        func set(_ k: Int, _ result: SolveResult?) { lock.lock(); results[k] = result; lock.unlock() }
        var mostEvaluations: Int { results.map { $0?.mostEvaluations ?? -1 }.max() ?? -1 }
    }
}

/// A cell that can be bound to another batch of inputs (for splitting a batch across threads).
protocol Rebindable {
    var boundInput: Matrix { get }
    func rebound(_ input: Matrix) throws -> Self
}

extension TanhCell: Rebindable {
    var boundInput: Matrix { input }
    func rebound(_ input: Matrix) throws -> TanhCell { try binding(input: input) }
}

extension ConvResidualCell: Rebindable {
    var boundInput: Matrix { input }
    func rebound(_ input: Matrix) throws -> ConvResidualCell { try binding(input: input) }
}
