import Foundation
import Testing
import Equilibrium

/// Every solver under test, built with its defaults and with the variants the issue names
/// (`try!`: the settings are valid, and a mistake here should stop the suite loudly).
let solverZoo: [(label: String, solver: any FixedPointSolver)] = [
    ("forward", ForwardIteration()),
    ("forward τ=0.7", try! ForwardIteration(damping: 0.7)),
    ("anderson", AndersonAcceleration()),
    ("anderson m=1", try! AndersonAcceleration(memory: 1)),
    ("anderson β=0.5", try! AndersonAcceleration(mixing: 0.5)),
    ("anderson β=1.5", try! AndersonAcceleration(mixing: 1.5)),
    ("anderson delay=3", try! AndersonAcceleration(memory: 10, delay: 3)),
    ("broyden", Broyden()),
    ("broyden line search", try! Broyden(lineSearch: true)),
    ("broyden L=3 drop-oldest", try! Broyden(memory: 3, whenMemoryFull: .dropOldest)),
    ("newton-krylov", NewtonKrylov()),
    ("newton-krylov finite differences", try! NewtonKrylov(jacobianProducts: .finiteDifference)),
    ("newton-krylov k=5 η=0.1 no line search", try! NewtonKrylov(krylovDimension: 5, forcing: .constant(0.1), lineSearch: false)),
]

/// The largest relative 2-norm error between matching rows.
func maxRowRelativeError(_ a: Matrix, _ b: Matrix) -> Double {
    (0..<a.rows).map { i in
        let diff = zip(a.row(i), b.row(i)).map { $0 - $1 }
        return BLAS.nrm2(diff) / max(BLAS.nrm2(b.row(i)), .leastNormalMagnitude)
    }.max() ?? 0
}

@Suite struct SolverTests {
    @Test(arguments: solverZoo.indices)
    func reachesLAPACKSolutionOfContractiveAffineMap(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let map = try AffineMap.random(dimension: 40, batchSize: 3, spectralNorm: 0.8, seed: 7)
        let exact = try map.exactFixedPoint()
        let criteria = try StoppingCriteria(tolerance: 1e-12, measure: .relative, maxIterations: 2000)
        let result = try solver.solve(map, from: Matrix(rows: 3, columns: 40), criteria: criteria)
        #expect(result.converged, "\(label): \(result.samples.map(\.outcome))")
        // Solved to an absolute residual 1e-10 on a contraction with ρ ≤ 0.95: ‖z − z*‖ ≤ r/(1 − ρ) ≈ 2e-9 at worst,
        // relative to ‖z*‖ = O(√d): ≤ 1e-10 holds with the observed residuals; the LU reference adds κ u ≈ 4e-15.
        #expect(maxRowRelativeError(result.solution, exact) <= 1e-10, "\(label)")
    }

    @Test(arguments: solverZoo.indices)
    func fixedPointPropertyOnTanhCell(index: Int) throws {
        let (label, solver) = solverZoo[index]
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 4, spectralNorm: 0.9, seed: 3))
        let result = try solver.solve(cell, from: Matrix(rows: 4, columns: 64),
                                  criteria: try StoppingCriteria(tolerance: 1e-10, measure: .absolute, maxIterations: 5000))
        #expect(result.converged, "\(label)")
        // Re-evaluate independently: the reported residual is the true one.
        let image = try cell(result.solution)
        for i in 0..<4 {
            let residual = BLAS.nrm2(zip(image.row(i), result.solution.row(i)).map { $0 - $1 })
            #expect(residual <= 1e-10, "\(label) sample \(i)")
            #expect(abs(residual - result.samples[i].absoluteResidual) <= (try ErrorBound.residualAgreement(cell, result.solution))[i],
                    "\(label) sample \(i)")
        }
    }
}

/// The per-sample steps that ``SolveContext/forEachActiveSample(readsPerSample:_:)`` splits over
/// the BLAS threads.
@Suite struct SolverStepThreadingTests {
    @Test("Anderson steps and Broyden updates split over two BLAS threads give bitwise the one-thread solve")
    func splitStepsMatchOneThread() throws {
        // d = 256, B = 64, m = L = 20: an Anderson step reads 64 × (3·20 + 8) × 256 ≈ 1.1 Mi doubles,
        // a Broyden update 64 × (3·20 + 16) × 256 ≈ 1.2 Mi, both past the split threshold. Symmetric
        // ρ = 0.97, tolerance 1e-10: enough iterations for Anderson's ring to wrap and Broyden to restart.
        // f is evaluated with plain loops, so that only the solvers' steps see the thread count
        // (OpenBLAS's generic Prescott GEMM is not bitwise the same on 1 and 2 threads at this shape).
        let (d, b) = (256, 64)
        #expect(b * (3 * 20 + 8) * d >= SolveContext<PlainLoopTanhMap>.parallelStepReads)
        let cell = try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: 0.97, symmetric: true, seed: 21))
        let map = PlainLoopTanhMap(weight: cell.weight, injection: cell.injection)
        let criteria = try StoppingCriteria(tolerance: 1e-10, measure: .relative, maxIterations: 300)
        let solvers: [any FixedPointSolver] = [try AndersonAcceleration(memory: 20), try Broyden(memory: 20),
                                               try Broyden(memory: 20, whenMemoryFull: .dropOldest)]
        for solver in solvers {
            func solve(threads: Int) throws -> SolveResult {
                let before = BLAS.threadCount
                BLAS.setThreadCount(threads)
                defer { BLAS.setThreadCount(before) }
                return try solver.solve(map, from: Matrix(rows: b, columns: d), criteria: criteria)
            }
            let one = try solve(threads: 1), two = try solve(threads: 2)
            #expect(one.samples.map(\.iterations).max()! > 20, "\(solver.name): the memory must fill")
            #expect(one.samples.map(\.outcome) == two.samples.map(\.outcome), "\(solver.name)")
            #expect(one.samples.map(\.evaluations) == two.samples.map(\.evaluations), "\(solver.name)")
            let differing = zip(one.solution.storage, two.solution.storage).filter { $0 != $1 }.count
            #expect(differing == 0, "\(solver.name): \(differing) entries of the solution differ")
        }
    }

    @Test("forEachActiveSample calls its body once for every active sample, split or not")
    func forEachActiveSampleVisitsEverySampleOnce() throws {
        let cell = try TanhCell.random(.init(dimension: 16, batchSize: 12, spectralNorm: 0.5, seed: 2))
        let context = try SolveContext(map: cell, initial: Matrix(rows: 12, columns: 16),
                                       criteria: try StoppingCriteria(tolerance: 1e-8))
        let before = BLAS.threadCount
        BLAS.setThreadCount(2)
        defer { BLAS.setThreadCount(before) }
        for reads in [1, SolveContext<TanhCell>.parallelStepReads] {
            let visits = UnsafeMutablePointer<Int>.allocate(capacity: 12)
            defer { visits.deallocate() }
            visits.initialize(repeating: 0, count: 12)
            context.forEachActiveSample(readsPerSample: reads) { s in visits[s] += 1 }
            #expect(Array(UnsafeBufferPointer(start: visits, count: 12)) == Array(repeating: 1, count: 12), "reads \(reads)")
        }
    }
}

/// Anderson's ΔX, ΔG and Broyden's U, V come from the workspace pool without zeroing: only rows
/// of pairs stored are ever read, and Broyden's inverse estimate copies only those (zeros
/// elsewhere). A solve on pool blocks left full of NaN must therefore be bitwise the solve on
/// any other memory, inverse estimate included.
@Suite struct UninitializedHistoryTests {
    /// Fills `blocksPerSize` free blocks of every pooled size up to 4 MiB with NaN bit patterns.
    static func dirtyThePool() {
        var bytes = WorkspacePool.smallestBlockBytes
        while bytes <= 4 << 20 {
            let blocks = (0..<WorkspacePool.blocksPerSize).map { _ in WorkspacePool.take(bytes: bytes) }
            for block in blocks {
                block.pointer.initializeMemory(as: UInt8.self, repeating: 0xFF, count: block.bytes)
                WorkspacePool.giveBack(block)
            }
            bytes *= 2
        }
    }

    @Test func broydenInverseOutlivesItsSolve() throws {
        // A Broyden result's BroydenInverse keeps the solve's own U and V blocks (no copy), which go
        // back to the workspace pool only when the estimate is dropped. While it is alive, later
        // solves of the same shape take other blocks, and blocks that the pool hands out dirty (0xFF,
        // a NaN) must not be its own: its product with a probe stays bit for bit what it was.
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 3, spectralNorm: 0.6, seed: 5))
        let criteria = try StoppingCriteria(tolerance: 1e-10, measure: .relative, maxIterations: 300)
        let solver = try Broyden(memory: 20)
        let kept = try solver.solve(cell, from: Matrix(rows: 3, columns: 64), criteria: criteria)
        let inverse = try #require(kept.byproducts.inverseJacobian as? BroydenInverse)
        #expect(inverse.pairCounts.allSatisfy { $0 > 0 }, "the estimate must hold pairs for the test to mean anything")
        let probe = Matrix(rows: 3, columns: 64, storage: (0..<192).map { Double($0 % 7) - 3 })
        let image = try inverse.product(probe)
        #expect(image.storage.allSatisfy { $0.isFinite })
        for _ in 0..<3 {
            Self.dirtyThePool()
            let later = try solver.solve(cell, from: Matrix(rows: 3, columns: 64), criteria: criteria)
            #expect(later.converged)
        }
        let again = try inverse.product(probe)
        #expect(again.storage.map(\.bitPattern) == image.storage.map(\.bitPattern))
    }

    @Test(arguments: ["anderson", "broyden", "broyden drop-oldest"])
    func historyOnDirtyMemoryChangesNothing(solverName: String) throws {
        // d = 64, B = 3, m = L = 20, ‖W‖ = 0.6, tolerance 1e-10: fewer iterations than the memory
        // holds, so rows of the history blocks are never written in the solve.
        let cell = try TanhCell.random(.init(dimension: 64, batchSize: 3, spectralNorm: 0.6, seed: 5))
        let criteria = try StoppingCriteria(tolerance: 1e-10, measure: .relative, maxIterations: 300)
        let solver: any FixedPointSolver = switch solverName {
        case "anderson": try AndersonAcceleration(memory: 20)
        case "broyden": try Broyden(memory: 20)
        default: try Broyden(memory: 20, whenMemoryFull: .dropOldest)
        }
        let clean = try solver.solve(cell, from: Matrix(rows: 3, columns: 64), criteria: criteria)
        Self.dirtyThePool()
        let dirty = try solver.solve(cell, from: Matrix(rows: 3, columns: 64), criteria: criteria)
        #expect(clean.converged && dirty.converged)
        #expect(clean.samples.allSatisfy { $0.iterations < 20 }, "the memory must not fill")
        #expect(clean.samples.map(\.evaluations) == dirty.samples.map(\.evaluations))
        #expect(clean.solution.storage.map(\.bitPattern) == dirty.solution.storage.map(\.bitPattern))
        #expect(dirty.solution.storage.allSatisfy { $0.isFinite })
        if solverName.hasPrefix("broyden") {
            let a = try #require(clean.byproducts.inverseJacobian as? BroydenInverse)
            let b = try #require(dirty.byproducts.inverseJacobian as? BroydenInverse)
            // Equatable compares the pairs in use bit for bit (the estimate keeps the solve's blocks,
            // whose rows beyond those pairs hold whatever the dirty pool left there and are never
            // read); the product below would turn such a row into a NaN if one were read.
            let equal = a == b  // (a Bool, so that a failure does not print both estimates)
            #expect(equal, "the inverse estimates of the clean and the dirty solve differ")
            let probe = Matrix(rows: 3, columns: 64, storage: (0..<192).map { Double($0 % 7) - 3 })
            let image = try b.product(probe)
            #expect(image.storage.allSatisfy { $0.isFinite })
        }
    }
}

/// f(z) = tanh(W z + c) row by row with plain loops (no BLAS, so no thread count).
struct PlainLoopTanhMap: FixedPointMap {
    let weight: Matrix
    let injection: Matrix
    var dimension: Int { weight.rows }
    var batchSize: Int { injection.rows }

    func evaluate(_ z: UnsafePointer<Double>, into fz: UnsafeMutablePointer<Double>, samples: UnsafeBufferPointer<Int>) {
        let d = dimension
        weight.storage.withUnsafeBufferPointer { w in
            injection.storage.withUnsafeBufferPointer { c in
                for (r, s) in samples.enumerated() {
                    for i in 0..<d {
                        var sum = c[s * d + i]
                        for j in 0..<d { sum += w[i * d + j] * z[r * d + j] }
                        fz[r * d + i] = tanh(sum)
                    }
                }
            }
        }
    }
}
