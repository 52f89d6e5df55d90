import ArgumentParser
import Equilibrium
import Foundation

/// The cells `deq` can build.
enum CellKind: String, CaseIterable, ExpressibleByArgument, Codable {
    /// f(z) = tanh(W z + U x + b).
    case tanh
    /// f(z) = A z + bᵢ.
    case affine
}

/// The options that choose the cell and its inputs: a synthetic cell (`--dim`, `--rho`, …) or
/// one read from `.npy` files (`--weights`, …).
struct CellOptions: ParsableArguments {
    private static let defaults = TanhCell.Configuration()
    /// The most doubles one array may hold (2 GiB): larger sizes are refused with a message
    /// instead of failing allocation.
    static let maxElements = 1 << 28

    @Option(help: "The cell: tanh is tanh(W z + U x + b), affine is A z + b.")
    var cell: CellKind = .tanh

    @Option(parsing: .unconditional,
            help: "State dimension d of the synthetic cell. (default: \(defaults.dimension))")
    var dim: Int?

    @Option(parsing: .unconditional,
            help: "Number of samples B, the rows of the batch. (default: \(defaults.batchSize))")
    var batch: Int?

    @Option(parsing: .unconditional,
            help: "Spectral norm ‖W‖₂ (or ‖A‖₂) of the synthetic matrix. (default: \(defaults.spectralNorm))")
    var rho: Double?

    @Flag(help: "Draw the synthetic matrix symmetric, so that ρ = ‖W‖₂ (hard problems).")
    var symmetric = false

    @Option(name: .customLong("injection-scale"), parsing: .unconditional,
            help: "Standard deviation of the random inputs x or offsets b. (default: \(defaults.injectionScale))")
    var injectionScale: Double?

    @Option(parsing: .unconditional,
            help: "Seed of the random matrix and inputs. (default: \(defaults.seed))")
    var seed: UInt64?

    @Option(help: ArgumentHelp("W (tanh) or A (affine) as a (d, d) .npy file instead of a synthetic matrix.", valueName: "W.npy"),
            completion: .file(extensions: ["npy"]))
    var weights: String?

    @Option(name: .customLong("input-weights"),
            help: ArgumentHelp("Input weights U as a (d, p) .npy file, with --weights and --cell tanh.", valueName: "U.npy"),
            completion: .file(extensions: ["npy"]))
    var inputWeights: String?

    @Option(help: ArgumentHelp("Bias b as a (d,) .npy file, with --weights and --cell tanh.", valueName: "b.npy"),
            completion: .file(extensions: ["npy"]))
    var bias: String?

    @Option(help: ArgumentHelp("Inputs x (tanh) or offsets b (affine) as a (B, p) .npy file, rows are samples.", valueName: "X.npy"),
            completion: .file(extensions: ["npy"]))
    var injection: String?

    mutating func validate() throws {
        if let dim {
            guard dim > 0 else { throw ValidationError("--dim must be positive (the state dimension d); got \(dim)") }
            guard dim.multipliedReportingOverflow(by: dim).partialValue <= Self.maxElements, dim <= Self.maxElements else {
                throw ValidationError("--dim \(dim) needs a \(dim) × \(dim) matrix, more than \(Self.maxElements) doubles; expected a dimension of at most \(Int(Double(Self.maxElements).squareRoot()))")
            }
        }
        if let batch {
            guard batch > 0 else { throw ValidationError("--batch must be positive (the number of samples B); got \(batch)") }
            let d = dim ?? Self.defaults.dimension
            guard batch <= Self.maxElements / d else {
                throw ValidationError("--batch \(batch) with d = \(d) needs more than \(Self.maxElements) doubles per batch; expected at most \(Self.maxElements / d) samples")
            }
        }
        if let rho {
            guard rho >= 0, rho.isFinite else {
                throw ValidationError("--rho must be finite and ≥ 0 (the spectral norm of the synthetic matrix; below 1 contracts); got \(rho)")
            }
        }
        if let injectionScale {
            guard injectionScale >= 0, injectionScale.isFinite else {
                throw ValidationError("--injection-scale must be finite and ≥ 0 (a standard deviation); got \(injectionScale)")
            }
        }
        if weights == nil {
            for (given, name) in [(injection != nil, "--injection"), (inputWeights != nil, "--input-weights"), (bias != nil, "--bias")] where given {
                throw ValidationError("\(name) needs --weights: a synthetic cell draws its own inputs; pass --weights W.npy too, or drop \(name)")
            }
        } else {
            for (given, name) in [(dim != nil, "--dim"), (rho != nil, "--rho"), (symmetric, "--symmetric")] where given {
                throw ValidationError("\(name) conflicts with --weights: the matrix comes from the file; drop \(name)")
            }
            if injection != nil {
                for (given, name) in [(batch != nil, "--batch"), (injectionScale != nil, "--injection-scale"), (seed != nil, "--seed")] where given {
                    throw ValidationError("\(name) conflicts with --injection: the samples come from the file; drop \(name)")
                }
            }
        }
        if cell == .affine {
            for (given, name) in [(inputWeights != nil, "--input-weights"), (bias != nil, "--bias")] where given {
                throw ValidationError("\(name) applies to --cell tanh only; for --cell affine, --weights is A and --injection holds the offsets b (rows are samples)")
            }
        }
    }

    /// The cell these options describe, built or loaded by the library.
    func makeCell() throws -> LoadedCell {
        let d = dim ?? Self.defaults.dimension
        let b = batch ?? Self.defaults.batchSize
        let spectralNorm = rho ?? Self.defaults.spectralNorm
        let scale = injectionScale ?? Self.defaults.injectionScale
        let seed = seed ?? Self.defaults.seed
        guard let weights else {
            switch cell {
            case .tanh:
                return .tanh(try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: spectralNorm,
                                                       symmetric: symmetric, injectionScale: scale, seed: seed)))
            case .affine:
                // The generator draws bᵢ ~ N(0, I); the scale makes them N(0, s² I) like x.
                let map = try AffineMap.random(dimension: d, batchSize: b, spectralNorm: spectralNorm,
                                               symmetric: symmetric, seed: seed)
                return .affine(scale == 1 ? map : AffineMap(matrix: map.matrix, offsets: scale * map.offsets))
            }
        }
        let source: InjectionSource = injection.map { .file(Self.url($0)) }
            ?? .gaussian(batchSize: b, scale: scale, seed: seed)
        switch cell {
        case .tanh:
            return .tanh(try TanhCell.load(weights: Self.url(weights), inputWeights: inputWeights.map(Self.url),
                                           bias: bias.map(Self.url), injection: source))
        case .affine:
            return .affine(try AffineMap.load(matrix: Self.url(weights), offsets: source))
        }
    }

    /// What the JSON report says about the cell.
    func report(for loaded: LoadedCell) -> CellReport {
        var report = CellReport(kind: cell, dim: loaded.dimension, batch: loaded.batchSize)
        if weights == nil {
            report.rho = rho ?? Self.defaults.spectralNorm
            report.symmetric = symmetric
        } else {
            report.weights = weights
            report.inputWeights = inputWeights
            report.bias = bias
            report.injection = injection
        }
        if injection == nil {
            report.seed = seed ?? Self.defaults.seed
            report.injectionScale = injectionScale ?? Self.defaults.injectionScale
        }
        return report
    }

    static func url(_ path: String) -> URL { URL(fileURLWithPath: path) }
}

/// A cell bound to its inputs, of one of the kinds `deq` builds.
enum LoadedCell {
    case tanh(TanhCell)
    case affine(AffineMap)

    var dimension: Int {
        switch self {
        case let .tanh(cell): cell.dimension
        case let .affine(map): map.dimension
        }
    }

    var batchSize: Int {
        switch self {
        case let .tanh(cell): cell.batchSize
        case let .affine(map): map.batchSize
        }
    }

    /// Solves with the concrete map type, so the solver's hot path stays generic.
    func solve(with solver: any FixedPointSolver, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult {
        switch self {
        case let .tanh(cell): solver.solve(cell, from: initial, criteria: criteria)
        case let .affine(map): solver.solve(map, from: initial, criteria: criteria)
        }
    }
}
