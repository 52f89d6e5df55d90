import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// The `gradients` and `jacobian-diagnostics` measurements: their spec sections, and the two
/// bundled experiments run in `--quick` mode through the library.
@Suite struct GradientExperimentTests {
    static let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Experiments").standardized

    func parse(_ yaml: String) throws(ExperimentError) -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: yaml, file: "Experiments/test.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    @Test func sectionsParseEveryKey() throws {
        let spec = try parse("""
            cells: [{family: tanh}]
            solvers: [broyden]
            measurements: [gradients, jacobian-diagnostics]
            gradients:
              estimators: [implicit, neumann]
              k: [3, 7]
              damping: 0.5
              backward-solvers: [lu, broyden]
              backward-tol: 1.0e-9
              backward-max-iter: 77
              shine-refine: [0, 2]
              shine-fallback: 2.5
              dense-limit: 16
              upstream-seed: 4
            jacobian-diagnostics: {probes: 5, power-iterations: 30, window: 3, power-tol: 1.0e-4, exact-limit: 8}
            """)
        let g = try #require(spec.gradients)
        #expect(g.estimators == ["implicit", "neumann"] && g.steps == [3, 7] && g.dampings == [0.5])
        #expect(g.backwardSolvers == ["lu", "broyden"] && g.backwardTolerance == 1e-9 && g.backwardMaxIterations == 77)
        #expect(g.shineRefine == [0, 2] && g.shineFallbackRatio == 2.5 && g.denseLimit == 16 && g.upstreamSeed == 4)
        // exact × 2 backward solvers, neumann × 2 k × 1 λ.
        #expect(try g.configurations().map(\.estimator.label) == ["implicit lu", "implicit broyden", "neumann k=3 λ=0.5", "neumann k=7 λ=0.5"])
        let j = try #require(spec.jacobianDiagnostics)
        #expect(j.probes == 5 && j.powerIterations == 30 && j.window == 3 && j.powerTolerance == 1e-4 && j.exactLimit == 8)
        #expect(spec.measurements == [.gradients, .jacobianDiagnostics])
        // Without the sections the defaults apply.
        let plain = try parse("cells: [{family: tanh}]\nsolvers: [broyden]\nmeasurements: [gradients]")
        #expect(plain.gradients == nil && plain.gradientOptions == GradientSpec())
    }

    @Test(arguments: [
        ("gradients: {damping: 2}", "line 3: gradients: damping is '2'; expected a number in (0, 2)"),
        ("gradients: {k: [1, 0]}", "gradients: k is '0'; expected an integer ≥ 1"),
        ("gradients: {estimators: [implicit, upg]}", "gradients: estimators is 'upg'; expected one of implicit, phantom, neumann, jfb, shine"),
        ("gradients: {backward-solvers: [gmres]}", "expected one of forward, anderson, broyden, newton-krylov, lu"),
        ("gradients: {estimators: [jfb, jfb]}", "gradients: estimators lists 'jfb' twice"),
        ("gradients: {backward-tol: 0}", "gradients: backward-tol is '0'; expected a number > 0"),
        ("gradients: {shine-fallback: -1}", "gradients: shine-fallback is '-1'"),
        ("gradients: {refine: 3}", "unknown key 'refine' in gradients; expected one of estimators, k, damping"),
        ("jacobian-diagnostics: {probes: 0}", "jacobian-diagnostics: probes is '0'; expected an integer ≥ 1"),
        ("jacobian-diagnostics: {power-iterations: 5, window: 10}", "power-iterations (5) must be at least window (10)"),
        ("measurements: [gradient]", "expected one of convergence, path-independence, gradients, jacobian-diagnostics"),
    ])
    func badSectionsAreClearErrors(section: String, expected: String) {
        do {
            _ = try parse("cells: [{family: tanh}]\nsolvers: [broyden]\n" + section)
            Issue.record("no error for \(section)")
        } catch {
            #expect(error.description.contains(expected), "got: \(error.description)")
            #expect(error.description.hasPrefix("Experiments/test.yaml line"), "got: \(error.description)")
        }
    }

    @Test func phantomGradientQuickRunProducesTablesAndPictures() throws {
        let spec = try ExperimentSpec.load(contentsOf: Self.experiments.appendingPathComponent("phantom-gradient.yaml")).quickened()
        let out = try ScratchDirectory("phantom-gradient-quick").url
        let outcome = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: Gnuplot.isAvailable).run()
        #expect(outcome.complete)
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("## Gradients") && summary.contains("Reference: implicit lu"))
        let configurations = try spec.gradientOptions.configurations().count
        let tsv = try String(contentsOf: out.appendingPathComponent("gradients/entries.tsv"), encoding: .utf8).split(separator: "\n")
        #expect(tsv.count == 1 + spec.grid.count * configurations)
        for file in ["cosine-k.dat", "cosine-k.gp", "pareto.dat", "pareto.gp"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("gradients/\(file)").path), "\(file)")
        }
        if Gnuplot.isAvailable {
            for picture in ["cosine-k.png", "pareto.png"] {
                let png = try Data(contentsOf: out.appendingPathComponent("gradients/\(picture)"))
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(picture)")
            }
        }
        // The numbers: exact estimators agree with the dense reference; JFB is phantom k = 1,
        // λ = 1; on the most contractive cell the phantom gradient at k = 20 is accurate.
        let records = ResultsWriter(spec: spec, directory: out, renderPictures: false).records()
        for record in records.values {
            let study = try #require(record.gradients)
            // The tanh cells are built to be solvable by every backward solver; on the others
            // (the residual cell with σ = 0.1 has ρ(J) near 1) a backward solve may fail, which
            // GradientEstimatorTests checks is reported.
            guard record.point.cell.family == "tanh" else { continue }
            #expect(study.referenceConverged && study.forwardConverged)
            // At the tightest adjoint tolerance (1e-10) every exact estimator converges and agrees
            // with LU; looser tolerances are the matched-accuracy sweep and are checked below.
            let tightest = spec.gradientOptions.backwardTolerances.min()
            for entry in study.entries where entry.estimator == "implicit" && (entry.backwardTolerance == nil || entry.backwardTolerance == tightest) {
                #expect(entry.backward?.converged == true, "\(entry.label)")
                #expect(entry.relativeError < 1e-7, "\(record.point.cell.label) \(entry.label): \(entry.relativeError)")
            }
            // Matched accuracy: the match is the fastest iterative exact entry at least as accurate.
            let exact = study.entries.filter { $0.estimator == "implicit" && $0.backwardSolver != "lu" }
            for entry in study.entries {
                let eligible = exact.filter { $0.relativeError <= entry.relativeError }
                guard let match = entry.matchedExact else {
                    #expect(eligible.isEmpty, "\(entry.label) has no match but \(eligible.map(\.label)) are as accurate")
                    continue
                }
                let matched = try #require(exact.first { $0.label == match })
                #expect(matched.relativeError <= entry.relativeError)
                #expect(eligible.allSatisfy { $0.seconds >= matched.seconds }, "\(entry.label)")
                // The same quotient of the same two stored doubles (JSON round trip is exact): a few u.
                #expect(abs((entry.matchedSpeedup ?? .nan) - matched.seconds / entry.seconds) <= 1e-12 * matched.seconds / entry.seconds)
            }
            let jfb = try #require(study.entries.first { $0.label == "jfb" })
            let phantom1 = try #require(study.entries.first { $0.label == "phantom k=1 λ=1" })
            #expect(jfb.cosine == phantom1.cosine)
            #expect(study.entries.contains { $0.estimator == "shine" })
        }
        let easiest = try #require(records.values.first { $0.point.cell.label.contains("ρ=0.5 ") })
        let k20 = try #require(easiest.gradients?.entries.first { $0.label == "phantom k=20 λ=1" })
        #expect(k20.cosine > 0.9999)
    }

    @Test func jacobianDiagnosticsQuickRunProducesTablesAndPictures() throws {
        let spec = try ExperimentSpec.load(contentsOf: Self.experiments.appendingPathComponent("jacobian-diagnostics.yaml")).quickened()
        let out = try ScratchDirectory("jacobian-diagnostics-quick").url
        let outcome = try ExperimentRunner(spec: spec, outputDirectory: out, renderPictures: Gnuplot.isAvailable).run()
        #expect(outcome.complete)
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("## Jacobian diagnostics"))
        let tsv = try String(contentsOf: out.appendingPathComponent("jacobian/samples.tsv"), encoding: .utf8).split(separator: "\n")
        let samples = spec.grid.filter { $0.initializationIndex == 0 }.count * 2   // quick batch: 2
        #expect(tsv.count == 1 + samples)
        if Gnuplot.isAvailable {
            for picture in ["estimates.png", "nfe.png"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("jacobian/\(picture)").path), "\(picture)")
            }
        }
        let records = ResultsWriter(spec: spec, directory: out, renderPictures: false).records()
        for record in records.values {
            let study = try #require(record.jacobian)
            let exact = try #require(study.exactSpectralRadius)
            for (estimate, truth) in zip(study.spectralRadius, exact) {
                #expect(abs(estimate - truth) <= 1e-2 * truth, "\(record.point.cell.label): \(estimate) vs \(truth)")
            }
            let exactF = try #require(study.exactFrobeniusSquared)
            // Hutchinson's estimate (1/M) Σ ‖Jᵀvₘ‖² with Gaussian vₘ has variance 2‖JJᵀ‖_F²/M
            // exactly (Var vᵀAv = 2‖A‖_F² for symmetric A), from the dense J recomputed here, not
            // from the estimator's own standard error. Bound: 5 standard deviations (the mean of
            // M = 32 probes is near Gaussian, so a fresh draw would fail with probability of
            // order 1e-6 per sample; the probes are seeded, so the result is fixed).
            let point = record.point
            let map = try Catalog.standard.cell(named: point.cell.family).makeMap(
                point.cell.assignment.dictionary, context: CellBuildContext(seed: point.cellSeed, source: "test"))
            let solver = try Catalog.standard.solver(named: point.solver.kind).makeSolver(point.solver.assignment.dictionary)
            let start = try point.initialization.makeBatch(seed: point.initializationSeed, baseDirectory: Self.experiments,
                                                           batchSize: map.batchSize, dimension: map.dimension)
            let solved = try solver.solve(map, from: start, criteria: try spec.stopping.criteria)
            let differentiable = try #require(map as? any DifferentiableMap)
            let jacobians = try differentiable.denseJacobians(at: solved.solution)
            for i in exactF.indices {
                let j = jacobians[i], d = j.rows
                var trace = 0.0, gram = 0.0
                for r in 0..<d {
                    for c in 0..<d {
                        var entry = 0.0   // (J Jᵀ)_{rc}
                        for k in 0..<d { entry += j[r, k] * j[c, k] }
                        gram += entry * entry
                        if r == c { trace += entry }
                    }
                }
                #expect(abs(trace - exactF[i]) <= 1e-10 * max(trace, 1), "the dense J is the one the run used")
                let sd = (2 * gram / Double(spec.jacobianOptions.probes)).squareRoot()
                #expect(abs(study.frobeniusSquared[i] - exactF[i]) <= 5 * sd + 1e-12, "\(point.cell.label) sample \(i)")
            }
        }
    }
}
