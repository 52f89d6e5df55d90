import ArgumentParser
import Equilibrium
import Foundation

/// `--stop abs|rel`, the residual measure of ``StoppingCriteria``.
enum StopMeasure: String, CaseIterable, ExpressibleByArgument {
    case abs, rel

    init(_ measure: StoppingCriteria.Measure) {
        switch measure {
        case .absolute: self = .abs
        case .relative: self = .rel
        }
    }

    var measure: StoppingCriteria.Measure {
        switch self {
        case .abs: .absolute
        case .rel: .relative
        }
    }
}

/// The options that decide when a sample stops. Defaults are the library's.
struct StoppingOptions: ParsableArguments {
    private static let defaults = StoppingCriteria()
    static let iterationLimit = StoppingCriteria.iterationLimit

    @Option(parsing: .unconditional, help: "Residual tolerance for the measure chosen by --stop.")
    var tol: Double = defaults.tolerance

    @Option(help: "Stop on the absolute residual ‖f(z) − z‖ or the relative one ‖f(z) − z‖ / ‖f(z)‖.")
    var stop: StopMeasure = StopMeasure(defaults.measure)

    @Option(name: .customLong("max-iter"), parsing: .unconditional, help: "Most solver iterations per sample.")
    var maxIter: Int = defaults.maxIterations

    @Option(name: .customLong("max-evals"), parsing: .unconditional,
            help: "Most f evaluations per sample; no limit by default.")
    var maxEvals: Int?

    mutating func validate() throws {
        guard tol > 0, tol.isFinite else {
            throw ValidationError("--tol must be positive and finite (a residual tolerance such as 1e-8); got \(tol)")
        }
        guard maxIter >= 0 else {
            throw ValidationError("--max-iter must be ≥ 0 (0 only evaluates the starting point); got \(maxIter)")
        }
        // Far beyond any useful solve; also keeps the library's history sizing (maxIter + 1)
        // away from integer overflow.
        guard maxIter <= Self.iterationLimit else {
            throw ValidationError("--max-iter must be at most \(Self.iterationLimit); got \(maxIter)")
        }
        if let maxEvals, maxEvals < 1 {
            throw ValidationError("--max-evals must be at least 1 (the starting point costs one evaluation); got \(maxEvals)")
        }
    }

    /// The criteria, recording residual histories when `history` (for `--trace`). Call after ``validate()``.
    func criteria(history: Bool = true) throws -> StoppingCriteria {
        try StoppingCriteria(tolerance: tol, measure: stop.measure, maxIterations: maxIter,
                             maxEvaluations: maxEvals, recordHistory: history)
    }
}

/// `--init`: one of the named initialisations or a path to an array file (`.npy`, or a `.npz` or
/// `.safetensors` holding one array or naming it as `FILE:KEY`).
enum InitChoice: Equatable, ExpressibleByArgument {
    case zero, gaussian, uniform, mixed
    case file(String)

    static let names: [String] = ["zero", "gaussian", "uniform", "mixed"]

    init?(argument: String) {
        switch argument {
        case "zero": self = .zero
        case "gaussian": self = .gaussian
        case "uniform": self = .uniform
        case "mixed": self = .mixed
        default:
            // FILE:KEY picks one array of a .npz or .safetensors file.
            let path = [".npz:", ".safetensors:"].contains(where: { argument.contains($0) })
                ? String(argument[..<argument.lastIndex(of: ":")!]) : argument
            guard [".npy", ".npz", ".safetensors"].contains(where: { path.hasSuffix($0) }) else { return nil }
            self = .file(argument)
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .zero: "zero"
        case .gaussian: "gaussian"
        case .uniform: "uniform"
        case .mixed: "mixed"
        case let .file(path): path
        }
    }

    /// Named in help; an array file is the fifth choice.
    static var allValueStrings: [String] { names + ["PATH.npy", "PATH.safetensors:KEY"] }
}

/// The options that choose the starting batch z₀.
struct InitOptions: ParsableArguments {
    /// The Bernoulli probability of `--init mixed` (Anil et al. 2022 mask half the entries).
    static let mixedProbability = 0.5

    @Option(name: .customLong("init"),
            help: "Starting batch z₀: zero, gaussian, uniform, mixed (half the entries Gaussian) or a (B, d) array file (.npy, or .npz/.safetensors with one array or FILE:KEY).",
            completion: .file(extensions: ["npy", "npz", "safetensors"]))
    var initialization: InitChoice = .zero

    @Option(name: .customLong("init-scale"), parsing: .unconditional,
            help: "Standard deviation (gaussian, mixed) or half-width (uniform) of z₀. (default: 1)")
    var initScale: Double?

    @Option(name: .customLong("init-seed"), parsing: .unconditional,
            help: "Seed of the random z₀, apart from the cell's seed. (default: 1)")
    var initSeed: UInt64?

    mutating func validate() throws {
        let isRandom = [.gaussian, .uniform, .mixed].contains(initialization)
        if !isRandom {
            for (given, name) in [(initScale != nil, "--init-scale"), (initSeed != nil, "--init-seed")] where given {
                throw ValidationError("\(name) applies to --init gaussian, uniform or mixed; got --init \(initialization.defaultValueDescription)")
            }
        }
        if let initScale, !(initScale > 0 && initScale.isFinite) {
            throw ValidationError("--init-scale must be positive and finite; got \(initScale)")
        }
    }

    /// The initialisation for a cell of `batchSize` samples of dimension `dimension`; reads
    /// the `.npy` file for `--init PATH.npy` (its header checked before its data).
    func makeInitialization(batchSize: Int, dimension: Int) throws -> Initialization {
        let scale = initScale ?? 1, seed = initSeed ?? 1
        switch initialization {
        case .zero: return .zero
        case .gaussian: return .gaussian(scale: scale, seed: seed)
        case .uniform: return .uniform(low: -scale, high: scale, seed: seed)
        case .mixed: return .mixed(probability: Self.mixedProbability, scale: scale, seed: seed)
        case let .file(path):
            return try .load(contentsOf: URL(fileURLWithPath: path), batchSize: batchSize, dimension: dimension)
        }
    }

    /// What the JSON report says about z₀.
    var report: InitReport {
        switch initialization {
        case .zero: InitReport(kind: "zero")
        case .gaussian: InitReport(kind: "gaussian", scale: initScale ?? 1, seed: initSeed ?? 1)
        case .uniform: InitReport(kind: "uniform", scale: initScale ?? 1, seed: initSeed ?? 1)
        case .mixed: InitReport(kind: "mixed", scale: initScale ?? 1, seed: initSeed ?? 1,
                                probability: Self.mixedProbability)
        case let .file(path): InitReport(kind: "file", path: path)
        }
    }
}
