import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

@Suite struct ExperimentSpecTests {
    static let base = URL(fileURLWithPath: "/tmp")

    func parse(_ yaml: String) throws(ExperimentError) -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: yaml, file: "Experiments/test.yaml", baseDirectory: Self.base)
    }

    /// The error message for `yaml`, which must fail.
    func failure(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return "(parsed without error)"
        } catch {
            return error.description
        }
    }

    @Test func parsesEveryField() throws {
        let spec = try parse("""
        name: demo
        description: A demo.
        seed: 7
        repeats: 2
        cells:
          - family: tanh
            dim: [16, 32]
            batch: 3
            rho: [0.5, 0.99]
            symmetric: true
            injection-scale: 0.05
          - family: affine
            dim: 8
        solvers:
          - forward
          - kind: anderson
            label: AA
            memory: [1, 5]
            beta: [0.5, 1.5]
            lambda: 1e-8
            delay: 2
        stopping:
          tol: 1e-9
          stop: abs
          max-iter: 500
          max-evals: 600
          divergence-factor: 1e6
        init:
          - zero
          - kind: gaussian
            scale: 2
          - kind: mixed
            probability: 0.3
        measurements: [convergence, path-independence]
        path-independence:
          budgets: [1, 10]
          exclude-non-converged: true
        quick:
          dim: 8
          batch: 2
          repeats: 1
          max-iter: 50
        """)
        #expect(spec.name == "demo" && spec.seed == 7 && spec.repeats == 2)
        #expect(spec.cellConfigurations.count == 4 + 1)
        #expect(spec.solverConfigurations.count == 1 + 4)
        #expect(spec.solverConfigurations.map(\.label).contains("AA memory=5 beta=1.5"))
        #expect(spec.initializations.map(\.kind) == [.zero, .gaussian, .mixed])
        #expect(spec.grid.count == 2 * 5 * 5 * 3)
        #expect(try spec.stopping.criteria.measure == .absolute && spec.stopping.maxEvaluations == 600)
        #expect(spec.measurements == [.convergence, .pathIndependence])
        #expect(spec.pathIndependence.budgets == [1, 10])
        #expect(spec.pathIndependence.excludeNonConverged)
        let quick = spec.quickened()
        #expect(quick.cellConfigurations.allSatisfy { ($0.assignment.dictionary["dim"]?.intValue ?? 0) <= 8 })
        #expect(quick.repeats == 1 && quick.stopping.maxIterations == 50)
    }

    @Test func gridIdsAreUniqueAndShardsPartitionTheGrid() throws {
        let spec = try parse("""
        cells: [{family: tanh, rho: [0.5, 0.9, 0.99]}]
        solvers: [forward, {kind: anderson, memory: [2, 5]}]
        init: [zero, gaussian]
        repeats: 2
        """)
        let grid = spec.grid
        #expect(Set(grid.map(\.id)).count == grid.count)
        let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
        let covered = shards.flatMap { shard in grid.filter { shard.contains($0) }.map(\.id) }
        #expect(covered.sorted() == grid.map(\.id).sorted())
        // Every solver and start of a repeat sees the same cell.
        #expect(Set(grid.filter { $0.repeatIndex == 0 }.map(\.cellSeed)).count == 1)
    }

    @Test(arguments: [
        ("cells: [{family: tanh}]\nsolvers: [andersen]",
         "Experiments/test.yaml line 2: solvers: solver is 'andersen'; expected one of forward, anderson"),
        ("cells: [{family: tanh, rho: -1}]\nsolvers: [forward]",
         "line 1: cell 'tanh': rho is '-1'; expected a number ≥ 0"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\ncolour: blue",
         "line 3: unknown key 'colour' in the experiment; expected one of name, description"),
        ("cells:\n  - family: tanh\n    dimm: 3\nsolvers: [forward]",
         "line 3: unknown key 'dimm' in cell 'tanh'; expected one of family, dim, batch, rho"),
        ("cells: [{family: conv}]\nsolvers: [forward]",
         "line 1: a cell: family is 'conv'; expected one of tanh, affine"),
        ("cells: [{family: tanh, dim: 2.5}]\nsolvers: [forward]",
         "cell 'tanh': dim is '2.5'; expected an integer in 1…16777216"),
        ("cells: [{family: tanh, dim: []}]\nsolvers: [forward]",
         "dim is an empty list"),
        ("cells: [{family: tanh}]\nsolvers:\n  - kind: anderson\n    memory: 0",
         "line 4: solver 'anderson': memory is '0'; expected an integer in 1…1000"),
        ("cells: [{family: tanh}]\nsolvers:\n  - kind: anderson\n    beta: 0",
         "solver 'anderson': beta is '0'; expected a number > 0"),
        ("cells: [{family: tanh}]\nsolvers:\n  - kind: forward\n    damping: 2",
         "solver 'forward': damping is '2'; expected a number in (0, 2)"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\nstopping: {tol: 0}",
         "line 3: stopping: tol is '0'; expected a number > 0"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\nstopping: {stop: relative}",
         "stopping: stop is 'relative'; expected one of abs, rel"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\ninit: [{kind: uniform, low: 1, high: 0}]",
         "init 'uniform': low (1) must be below high (0)"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\nmeasurements: [speed]",
         "measurements: measurement is 'speed'; expected one of convergence, path-independence"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\npath-independence: {exclude-non-converged: sometimes}",
         "path-independence: exclude-non-converged is 'sometimes'; expected true or false"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\ngradients: {backward-tol: [1.0e-2, 0]}",
         "backward-tol"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\ngradients: {timing-runs: 0}",
         "timing-runs"),
        ("solvers: [forward]",
         "the experiment declares no cells"),
        ("cells: [{family: tanh}]",
         "the experiment declares no solvers"),
        ("cells: [{family: tanh, symmetric: maybe}]\nsolvers: [forward]",
         "symmetric is 'maybe'; expected true or false"),
        ("cells: [{family: tanh}]\nsolvers: [forward]\nrepeats: 0",
         "line 3: the experiment: repeats is '0'; expected an integer ≥ 1"),
        ("cells: [{family: tanh, rho: [0.5, 0.5]}]\nsolvers: [forward]",
         "rho lists 0.5 twice"),
        ("cells: [{family: tanh}\nsolvers: [forward]",
         "Experiments/test.yaml line"),
        ("", "the file is empty"),
    ])
    func badFilesAreClearErrors(yaml: String, expected: String) {
        let message = failure(yaml)
        #expect(message.contains(expected), "got: \(message)")
        #expect(message.hasPrefix("Experiments/test.yaml"), "got: \(message)")
    }

    @Test func bundledExperimentsParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Experiments").standardized
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        #expect(files.count >= 3)
        for file in files {
            let spec = try ExperimentSpec.load(contentsOf: file)
            #expect(spec.name == file.deletingPathExtension().lastPathComponent)
            #expect(!spec.description.isEmpty)
        }
    }

    /// docs/EXPERIMENTS.md documents every family, kind and parameter the parser accepts.
    @Test func schemaDocumentationCoversEveryParameter() throws {
        let docs = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/EXPERIMENTS.md"), encoding: .utf8)
        for family in Catalog.standard.cells {
            #expect(docs.contains("`family: \(family.name)`"), "\(family.name)")
            for parameter in family.parameters { #expect(docs.contains("`\(parameter.name)`"), "\(family.name).\(parameter.name)") }
        }
        for kind in Catalog.standard.solvers {
            #expect(docs.contains("`kind: \(kind.name)`"), "\(kind.name)")
            for parameter in kind.parameters { #expect(docs.contains("`\(parameter.name)`"), "\(kind.name).\(parameter.name)") }
        }
        for key in SpecReaderKeys.topLevel { #expect(docs.contains("`\(key)`"), "\(key)") }
        for key in SpecReaderKeys.gradients + SpecReaderKeys.jacobianDiagnostics {
            #expect(docs.contains("| `\(key)` |"), "\(key) has no row in a table")
        }
        for measurement in ExperimentSpec.Measurement.allCases { #expect(docs.contains("`\(measurement.rawValue)`"), "\(measurement)") }
        for value in Catalog.standard.estimators.map(\.name) + Catalog.standard.solvers.map(\.name) + ["lu"] {
            #expect(docs.contains("`\(value)`"), "\(value)")
        }
    }
}

