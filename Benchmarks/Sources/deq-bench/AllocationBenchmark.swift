import CAllocationCounter
import Equilibrium
import Foundation

/// Benchmark 1b: a solve's heap allocations must not grow with the iteration count (STYLE.md).
///
/// The benchmark executable replaces malloc and friends with counting wrappers around glibc's
/// allocator (`CAllocationCounter`), so every allocation of the process is counted: Swift
/// runtime, Foundation, OpenBLAS. The same solve runs with maxIterations 50, 500 and 5000 on a
/// cell whose tolerance is out of reach (absolute 1e-300), history off; the allocation calls
/// and bytes during the solve must be the same for every cap.
enum AllocationBenchmark {
    static func run(_ options: BenchmarkOptions) throws {
        printSection("1b. Heap allocations per solve against the iteration count")
        print("""
        malloc/calloc/realloc/memalign calls of the whole process during one solve (counted by an
        interposed allocator). Cell d=64 B=4, symmetric ‖W‖₂ = 0.999, injection 0.05; tolerance 1e-300
        absolute (unreachable), so every sample runs to the cap; history recording off. Goal: the same
        calls and bytes for every cap. The last rows (history on) are for information: the history arrays are
        reserved once per solve for min(maxIterations + 1, 4096) + 1 entries, so they grow with the cap
        (not per iteration).
        """)
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 4, spectralNorm: 0.999, symmetric: true,
                                             injectionScale: 0.05, seed: 5))
        let z0 = Matrix(rows: cell.batchSize, columns: cell.dimension)
        let caps = options.quick ? [50, 500] : [50, 500, 5000]
        var table = TextTable(header: ["solver", "history", "max iter", "iterations", "outcomes",
                                       "alloc calls", "alloc bytes", "verdict"], leftColumns: 2)
        var allPass = true
        var counterActive = false
        for solver in [BenchmarkSolver.forward, .anderson(memory: 5), .anderson(memory: 20)] {
            for history in [false, true] {
                var counts: [[UInt64]] = []
                var rows: [[String]] = []
                for cap in caps {
                    let criteria = try StoppingCriteria(tolerance: 1e-300, measure: .absolute, maxIterations: cap,
                                                    recordHistory: history)
                    _ = solver.solve(cell, from: z0, criteria: criteria)  // warm-up (lazy runtime state)
                    let calls0 = allocation_counter_calls(), bytes0 = allocation_counter_bytes()
                    let result = solver.solve(cell, from: z0, criteria: criteria)
                    let calls = allocation_counter_calls() - calls0, bytes = allocation_counter_bytes() - bytes0
                    withExtendedLifetime(result) {}
                    if calls > 0 { counterActive = true }
                    counts.append([calls, bytes])
                    let iterations = result.samples.map(\.iterations).max() ?? 0
                    let outcomes = Dictionary(grouping: result.samples, by: \.outcome)
                        .map { "\($0.key.rawValue)×\($0.value.count)" }.sorted().joined(separator: " ")
                    rows.append([solver.description, history ? "on" : "off", "\(cap)", "\(iterations)", outcomes,
                                 "\(calls)", "\(bytes)"])
                }
                let same = Set(counts).count == 1
                let verdict = history ? (same ? "(info) constant" : "(info) grows with the cap") : (same ? "PASS" : "MISS")
                if !history && !same { allPass = false }
                for row in rows { table.add(row + [verdict]) }
            }
        }
        print("")
        print(table.render())
        print("")
        if !counterActive {
            print("allocation counter INACTIVE (no allocation seen): the interposed malloc is not in use; no verdict")
        } else {
            print(allPass ? "allocation goal (history off: allocations independent of the iteration count): PASS"
                          : "allocation goal MISSED: allocations grow with the iteration count (see rows marked MISS)")
        }
    }
}
