import Equilibrium
import Foundation

// `deq-bench NAME` runs a named benchmark; without a name, the Anderson memory sweep below.
let namedBenchmarks: [String: () throws -> Void] = [
    "backward": BackwardBenchmark.run,
    "convolution": ConvolutionBenchmark.run,
]
if let name = CommandLine.arguments.dropFirst().first {
    guard let benchmark = namedBenchmarks[name] else {
        print("unknown benchmark '\(name)'; expected one of \(namedBenchmarks.keys.sorted().joined(separator: ", "))")
        exit(64)
    }
    try benchmark()
    exit(0)
}

for rho in [0.99, 0.999] {
    let cell = try TanhCell.random(.init(dimension: 512, batchSize: 8, spectralNorm: rho, symmetric: true, injectionScale: 0.05, seed: 1))
    let criteria = StoppingCriteria(tolerance: 1e-8, measure: .relative, maxIterations: 100_000)
    var solvers: [any FixedPointSolver] = [ForwardIteration()]
    for m in [5, 10, 20, 40] { solvers.append(AndersonAcceleration(memory: m)) }
    for solver in solvers {
        let r = solver.solve(cell, from: Matrix(rows: 8, columns: 512), criteria: criteria)
        print(rho, solver.name, (solver as? AndersonAcceleration)?.memory ?? 0, r.converged, r.maxEvaluations, r.samples.map(\.evaluations), String(format: "%.3f s", r.wallSeconds))
    }
}
