// Runs the example's solver and cell through everything a built-in one goes through, using
// only Equilibrium's public API, and prints one line per check ("ok" or "FAIL"); the exit code
// is the number of failures. `swift run custom-solver-check [results folder]`.
import CustomSolver
import Equilibrium
import EquilibriumExperiments
import Foundation

nonisolated(unsafe) var failures = 0
func check(_ condition: Bool, _ what: String) {
    print(condition ? "ok   \(what)" : "FAIL \(what)")
    if !condition { failures += 1 }
}

/// ‖a − b‖∞ / max(1, ‖b‖∞).
func relativeGap(_ a: [Double], _ b: [Double]) -> Double {
    let gap = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return gap / max(1, b.map(abs).max() ?? 0)
}

do {
    // 1. The library's contract checks, the same the built-in solvers pass.
    let contract = try SolverConformance.check(AndersonTypeI())
    check(contract.isEmpty, "anderson-type-1 keeps the solver contract \(contract)")
    check(try SolverConformance.check(AndersonTypeI(memory: 1)).isEmpty, "anderson-type-1 m = 1 keeps the solver contract")

    // 2. It accelerates: a hard symmetric tanh cell (ρ = 0.99) to a relative residual of 1e-8.
    let hard = try TanhCell.random(.init(dimension: 128, batchSize: 2, spectralNorm: 0.99, symmetric: true,
                                         injectionScale: 0.05, seed: 3))
    let criteria = try StoppingCriteria(tolerance: 1e-8, maxIterations: 5000)
    let typeI = try AndersonTypeI(memory: 10).solve(hard, from: Matrix(rows: 2, columns: 128), criteria: criteria)
    let forward = try ForwardIteration().solve(hard, from: Matrix(rows: 2, columns: 128), criteria: criteria)
    let image = try hard(typeI.solution)
    let trueRelative = (0..<2).map { i in
        let r = zip(image.row(i), typeI.solution.row(i)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return r / image.row(i).reduce(0) { $0 + $1 * $1 }.squareRoot()
    }
    check(typeI.converged && trueRelative.allSatisfy { $0 <= 1e-8 * (1 + 1e-9) },
          "anderson-type-1 converges on tanh d = 128, ρ = 0.99 (true relative residuals \(trueRelative.map { String(format: "%.2e", $0) }))")
    check(typeI.mostEvaluations * 3 < forward.mostEvaluations,
          "anderson-type-1 needs \(typeI.mostEvaluations) evaluations, forward iteration \(forward.mostEvaluations) (≥ 3× fewer)")

    // 3. The user cell's products against central differences: J v, uᵀJ and the parameter VJPs.
    let d = 12, b = 3
    let cell = try SoftsignCell.random(dimension: d, batchSize: b, spectralNorm: 0.8, seed: 5)
    var random = SplitMix64(seed: 9)
    let z = try Matrix(rows: b, columns: d, values: random.gaussians(count: b * d))
    let v = try Matrix(rows: b, columns: d, values: random.gaussians(count: b * d))
    let u = try Matrix(rows: b, columns: d, values: random.gaussians(count: b * d))
    let h = 1e-6
    // Central differences err by h²/6 |f'''| ≤ h² (softsign's third derivative is at most 6)
    // plus rounding ε/h ≈ 2e-10 per entry; 1e-8 is a 10× margin on the sum.
    let jv = try cell.jacobianVectorProduct(at: z, vectors: v)
    let plus = try cell(try z + h * v), minus = try cell(try z - h * v)
    let difference = zip(plus.storage, minus.storage).map { ($0 - $1) / (2 * h) }
    check(relativeGap(jv.storage, difference) <= 1e-8, "softsign J·v matches central differences (gap \(relativeGap(jv.storage, difference)))")
    // uᵀ(J v) = (Jᵀ u)ᵀ v sample by sample: the VJP is the JVP's adjoint.
    let ju = try cell.vectorJacobianProduct(at: z, covectors: u)
    let left = zip(u.storage, jv.storage).map(*).reduce(0, +), right = zip(ju.storage, v.storage).map(*).reduce(0, +)
    check(abs(left - right) <= 1e-12 * max(1, abs(left)) * Double(b * d), "softsign uᵀJ is the adjoint of J·v (\(left) vs \(right))")
    let fz = try cell(z)
    let gradients = try cell.parameterGradients(at: z, image: fz, covectors: u)
    // d/dθₖ ⟨u, f(z; θ)⟩ by central differences for a few entries of W and b.
    var worst = 0.0
    for (p, k) in [(0, 0), (0, 7), (0, d * d - 1), (1, 0), (1, d - 1)] {
        func loss(_ delta: Double) throws -> Double {
            var parameters = cell.parameters
            var values = parameters[p].values
            values[k] += delta
            parameters[p] = try NamedArray(parameters[p].name, shape: parameters[p].shape, values: values)
            return zip(try cell.replacingParameters(parameters)(z).storage, u.storage).map(*).reduce(0, +)
        }
        let numeric = (try loss(h) - loss(-h)) / (2 * h)
        worst = max(worst, abs(numeric - gradients.parameters[p].values[k]) / max(1, abs(numeric)))
    }
    check(worst <= 1e-7, "softsign parameter VJPs match central differences (worst relative gap \(worst))")

    // 4. Newton–Krylov with the cell's analytic J·v.
    let nk = try NewtonKrylov(jacobianProducts: .analytic).solve(cell, from: Matrix(rows: b, columns: d),
                                                                 criteria: try StoppingCriteria(tolerance: 1e-12, maxIterations: 50))
    check(nk.converged && nk.samples.allSatisfy { $0.jacobianVectorProducts > 0 },
          "newton-krylov solves the softsign cell with its analytic J·v (\(nk.samples.map(\.jacobianVectorProducts)) products)")

    // 5. The implicit gradient through the fixed point, with anderson-type-1 as the backward
    //    solver, against central differences of L(θ) = ½‖z*(θ)‖² re-solved at θ ± h.
    let tight = try StoppingCriteria(tolerance: 1e-13, measure: .absolute, maxIterations: 2000)
    func fixedPoint(_ c: SoftsignCell) throws -> Matrix { try AndersonTypeI().solve(c, from: Matrix(rows: b, columns: d), criteria: tight).solution }
    let zStar = try fixedPoint(cell)
    let implicit = try ImplicitGradient(solver: AndersonTypeI(), criteria: tight)
    let gradient = try implicit.estimate(cell: cell, solution: zStar, upstream: zStar)
    check(gradient.converged, "the implicit gradient's backward solve with anderson-type-1 converged")
    var worstImplicit = 0.0
    for k in [0, 5, d * d - 1] {
        func loss(_ delta: Double) throws -> Double {
            var parameters = cell.parameters
            var values = parameters[0].values
            values[k] += delta
            parameters[0] = try NamedArray("W", shape: [d, d], values: values)
            return 0.5 * (try fixedPoint(try cell.replacingParameters(parameters))).storage.reduce(0) { $0 + $1 * $1 }
        }
        let numeric = (try loss(h) - loss(-h)) / (2 * h)
        worstImplicit = max(worstImplicit, abs(numeric - gradient.parameters[0].values[k]) / max(1, abs(numeric)))
    }
    // Each solve is exact to 1e-13/(1 − 0.8) in z*, so the difference quotient errs by about
    // 1e-12/h = 1e-6 at most, plus O(h²); 1e-5 leaves a 10× margin.
    check(worstImplicit <= 1e-5, "implicit gradient dL/dW matches central differences of re-solved fixed points (worst \(worstImplicit))")

    // 6. A catalog with the example's entries, used by a comparison and a named experiment.
    var catalog = Catalog.standard
    try catalog.register(solver: AndersonTypeI.catalogEntry)
    try catalog.register(cell: SoftsignCell.catalogEntry)
    let folder = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory() + "custom-solver-check-\(getpid())")
    try? FileManager.default.removeItem(at: folder)
    let comparison = Comparison(cell: "softsign", cellParameters: ["dim": .integer(64), "batch": .integer(4), "rho": .real(0.95),
                                                                       "injection-scale": .real(0.1)],
                                solvers: [("forward", [:]), ("anderson", [:]), ("anderson-type-1", ["memory": .integer(5)])],
                                repeats: 3, seed: 1, catalog: catalog)
    let compared = try comparison.run(into: folder.appendingPathComponent("compare"), renderPictures: false)
    let records = try FileManager.default.contentsOfDirectory(at: folder.appendingPathComponent("compare/points"), includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "json" }
        .map { try JSONDecoder().decode(PointRecord.self, from: Data(contentsOf: $0)) }
    let mine = records.filter { $0.solverName == "anderson-type-1" }
    check(compared.complete && records.count == 9 && mine.count == 3 && mine.allSatisfy(\.converged),
          "a comparison through the library API ran anderson-type-1 beside the built-in solvers (\(records.count) points)")

    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Experiments/softsign.yaml").standardized
    let spec = try ExperimentSpec.load(contentsOf: file, catalog: catalog)
    let experiment = try ExperimentRunner(spec: spec, outputDirectory: folder.appendingPathComponent(spec.name),
                                          renderPictures: false, catalog: catalog).run()
    check(experiment.complete && experiment.pointsRun == experiment.pointsTotal,
          "the named experiment \(file.lastPathComponent) ran \(experiment.pointsRun) points with the example's solver and cell")
    let summary = (try? String(contentsOf: folder.appendingPathComponent(spec.name).appendingPathComponent("summary.md"), encoding: .utf8)) ?? ""
    check(summary.contains("anderson-type-1") && summary.contains("softsign"), "its summary names the example's solver and cell")

    // 7. The example's mistakes are errors, not traps.
    var refused = 0
    for attempt in [{ _ = try AndersonTypeI(memory: 0) }, { _ = try AndersonTypeI(memory: 5, restartThreshold: 2) },
                    { _ = try catalog.solver(named: "anderson-type-1").makeSolver(["memory": .integer(-3)]) },
                    { _ = try SoftsignCell.random(dimension: 0, batchSize: 1, spectralNorm: 1, seed: 1) },
                    { var c = catalog; try c.register(solver: AndersonTypeI.catalogEntry) }] as [() throws -> Void] {
        do { try attempt() } catch { refused += 1 }
    }
    check(refused == 5, "5 of 5 mistakes with the example's types are thrown errors (\(refused))")
} catch {
    print("FAIL an unexpected error: \(error)")
    failures += 1
}
print(failures == 0 ? "all checks passed" : "\(failures) checks failed")
exit(Int32(failures))
