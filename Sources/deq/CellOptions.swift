import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// The cells `deq` can build (the experiment catalog's families of the same names).
enum CellKind: String, CaseIterable, ExpressibleByArgument, Codable {
    /// f(z) = tanh(W z + U x + b).
    case tanh
    /// f(z) = A z + bᵢ.
    case affine
    /// The DEQ tutorial's residual cell, MLP form.
    case residual
    /// The residual cell with convolutions over C × L states.
    case conv1d
    /// The residual cell with 3 × 3 convolutions over C × H × W states.
    case conv2d
    /// monDEQ: relu(W z + U x + b), W = (1 − m) I − AᵀA + B − Bᵀ.
    case monotone

    /// The experiment catalog's family, whose parameter defaults the options share.
    var family: CellFamily { CellFamily(rawValue: rawValue)! }
    /// The residual cells (MLP and convolutional).
    var isResidual: Bool { [.residual, .conv1d, .conv2d].contains(self) }
    var isConvolutional: Bool { self == .conv1d || self == .conv2d }
}

/// The options that choose the cell and its inputs: a synthetic cell (`--dim`, `--rho`, …) or
/// one read from `.npy` files (`--weights`, …).
struct CellOptions: ParsableArguments {
    private static let defaults = TanhCell.Configuration()
    /// The most doubles one array may hold (2 GiB): larger sizes are refused with a message
    /// instead of failing allocation.
    static let maxElements = 1 << 28

    @Option(help: "The cell: tanh(W z + U x + b), affine A z + b, the DEQ tutorial's residual cell (residual, conv1d, conv2d) or monDEQ (monotone).")
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

    @Option(help: ArgumentHelp("Inputs x (tanh) or offsets b (affine) as a (B, p) .npy file, rows are samples; (B, C_in, L) or (B, C_in, H, W) for conv1d and conv2d.", valueName: "X.npy"),
            completion: .file(extensions: ["npy"]))
    var injection: String?

    @Option(parsing: .unconditional,
            help: "Inner width h of residual, or inner channels of conv1d and conv2d. (default: 128, 32, 64)")
    var inner: Int?

    @Option(parsing: .unconditional, help: "GroupNorm groups G of the residual cells; must divide their channel counts. (default: 8)")
    var groups: Int?

    @Option(parsing: .unconditional, help: "Standard deviation σ of the residual cells' weights. (default: 0.01)")
    var sigma: Double?

    @Option(parsing: .unconditional, help: "State channels C of conv1d and conv2d. (default: 16 and 48)")
    var channels: Int?

    @Option(name: .customLong("in-channels"), parsing: .unconditional,
            help: "Input channels C_in of the convolutional input injection. (default: 3)")
    var inChannels: Int?

    @Option(parsing: .unconditional, help: "Positions L of a conv1d state. (default: 32)")
    var length: Int?

    @Option(parsing: .unconditional, help: "Image height H of a conv2d state. (default: 32)")
    var height: Int?

    @Option(parsing: .unconditional, help: "Image width W of a conv2d state. (default: 32)")
    var width: Int?

    @Option(parsing: .unconditional, help: "Monotonicity m > 0 of the monotone cell, I − W ⪰ m I. (default: 0.05)")
    var monotonicity: Double?

    @Option(name: .customLong("weight-scale"), parsing: .unconditional,
            help: "Scale s of the monotone cell's A and B, entries N(0, s²/d). (default: 1/√3)")
    var weightScale: Double?

    @Option(name: .customLong("weights-dir"),
            help: ArgumentHelp("A directory of named .npy weights for residual, conv1d, conv2d or monotone (see docs/EXPERIMENTS.md).", valueName: "DIR"),
            completion: .directory)
    var weightsDirectory: String?

    /// The flags that only some cells take, with those cells.
    private var cellSpecificFlags: [(given: Bool, flag: String, kinds: [CellKind])] {
        [
            (rho != nil, "--rho", [.tanh, .affine]),
            (symmetric, "--symmetric", [.tanh, .affine]),
            (weights != nil, "--weights", [.tanh, .affine]),
            (dim != nil, "--dim", [.tanh, .affine, .residual, .monotone]),
            (inner != nil, "--inner", [.residual, .conv1d, .conv2d]),
            (groups != nil, "--groups", [.residual, .conv1d, .conv2d]),
            (sigma != nil, "--sigma", [.residual, .conv1d, .conv2d]),
            (channels != nil, "--channels", [.conv1d, .conv2d]),
            (inChannels != nil, "--in-channels", [.conv1d, .conv2d]),
            (length != nil, "--length", [.conv1d]),
            (height != nil, "--height", [.conv2d]),
            (width != nil, "--width", [.conv2d]),
            (monotonicity != nil, "--monotonicity", [.monotone]),
            (weightScale != nil, "--weight-scale", [.monotone]),
            (weightsDirectory != nil, "--weights-dir", [.residual, .conv1d, .conv2d, .monotone]),
        ]
    }

    mutating func validate() throws {
        for (given, flag, kinds) in cellSpecificFlags where given && !kinds.contains(cell) {
            throw ValidationError("\(flag) does not apply to --cell \(cell.rawValue); it is an option of \(kinds.map(\.rawValue).joined(separator: ", "))")
        }
        if cell == .tanh || cell == .affine {
            try validateDenseCell()
        } else {
            try validateLayeredCell()
        }
    }

    /// The tanh and affine cells' options.
    private func validateDenseCell() throws {
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

    /// The residual, convolutional and monotone cells' options.
    private func validateLayeredCell() throws {
        for (given, name) in [(inputWeights != nil, "--input-weights"), (bias != nil, "--bias")] where given {
            throw ValidationError("\(name) applies to --cell tanh only; --cell \(cell.rawValue) reads every weight from --weights-dir")
        }
        let positive: [(Int?, String, String)] = [
            (dim, "--dim", "the state dimension d"), (inner, "--inner", "the inner width or channels"),
            (groups, "--groups", "the GroupNorm groups"), (channels, "--channels", "the state channels C"),
            (inChannels, "--in-channels", "the input channels"), (length, "--length", "the positions L"),
            (height, "--height", "the image height"), (width, "--width", "the image width"),
            (batch, "--batch", "the number of samples B"),
        ]
        for case let (value?, flag, meaning) in positive where value < 1 {
            throw ValidationError("\(flag) must be positive (\(meaning)); got \(value)")
        }
        for case let (value?, flag, meaning) in [(sigma, "--sigma", "a standard deviation"), (injectionScale, "--injection-scale", "a standard deviation"),
                                                  (weightScale, "--weight-scale", "a scale")] where !(value >= 0 && value.isFinite) {
            throw ValidationError("\(flag) must be finite and ≥ 0 (\(meaning)); got \(value)")
        }
        if let monotonicity, !(monotonicity > 0 && monotonicity.isFinite) {
            throw ValidationError("--monotonicity must be positive and finite (m in I − W ⪰ m I); got \(monotonicity)")
        }
        if weightsDirectory == nil {
            if injection != nil {
                throw ValidationError("--injection needs --weights-dir: a synthetic cell draws its own inputs; pass --weights-dir DIR too, or drop --injection")
            }
            let values = cell.family.resolved(catalogValues)
            if cell.isResidual, let g = values["groups"]?.intValue {
                let counts = (cell == .residual ? ["dim", "inner"] : ["channels", "inner"]).map { ($0, values[$0]?.intValue ?? 1) }
                if counts.contains(where: { $0.1 % g != 0 }) {
                    let shown = counts.map { "--\($0.0) \($0.1)" }.joined(separator: " and ")
                    throw ValidationError("--groups \(g) must divide the channel counts (\(shown)); expected a common divisor")
                }
            }
            try checkSizes(values)
        } else {
            let sizes: [(Bool, String)] = [(dim != nil, "--dim"), (inner != nil, "--inner"), (channels != nil, "--channels"),
                                           (inChannels != nil, "--in-channels"), (sigma != nil, "--sigma"),
                                           (weightScale != nil, "--weight-scale")]
            for (given, name) in sizes where given {
                throw ValidationError("\(name) conflicts with --weights-dir: the weights come from the files; drop \(name)")
            }
            if injection != nil {
                for (given, name) in [(batch != nil, "--batch"), (injectionScale != nil, "--injection-scale"), (seed != nil, "--seed")] where given {
                    throw ValidationError("\(name) conflicts with --injection: the samples come from the file; drop \(name)")
                }
            }
        }
    }

    /// Refuses synthetic cells whose arrays would exceed ``maxElements``.
    private func checkSizes(_ values: [String: ParameterValue]) throws {
        func integer(_ name: String) -> Int { values[name]?.intValue ?? 1 }
        let b = batch ?? Self.defaults.batchSize
        var arrays: [(String, [Int])] = []
        switch cell {
        case .residual:
            let d = integer("dim"), h = integer("inner")
            arrays = [("W₁ (h × d)", [h, d]), ("the inner activations (B × h)", [b, h]), ("the batch (B × d)", [b, d])]
        case .conv1d, .conv2d:
            let c = integer("channels"), h = integer("inner"), cin = integer("in-channels")
            let k = cell == .conv1d ? 3 : 9
            let s = cell == .conv1d ? integer("length") : integer("height") * integer("width")
            let widest = max(c, h, cin)
            arrays = [("conv₁ (h × C·K)", [h, c, k]), ("the im2col columns (C·K × S)", [widest, k, s]),
                      ("the inner activations (B × h·S)", [b, h, s]), ("the inputs (B × C_in·S)", [b, cin, s]),
                      ("the batch (B × C·S)", [b, c, s])]
        case .monotone:
            let d = integer("dim")
            arrays = [("W (d × d)", [d, d]), ("the batch (B × d)", [b, d])]
        case .tanh, .affine:
            break
        }
        for (name, extents) in arrays {
            var count = 1, overflow = false
            for extent in extents {
                let (product, o) = count.multipliedReportingOverflow(by: extent)
                count = product
                overflow = overflow || o
            }
            guard !overflow, count <= Self.maxElements else {
                throw ValidationError("--cell \(cell.rawValue) with these sizes needs \(name) of more than \(Self.maxElements) doubles; expected smaller sizes or --batch")
            }
        }
    }

    /// The given options of a residual, convolutional or monotone cell by catalog parameter
    /// name; the batch and input scale default as for every cell of `deq` (the seed is passed
    /// to the catalog separately).
    private var catalogValues: [String: ParameterValue] {
        var values: [String: ParameterValue] = [
            "batch": .integer(batch ?? Self.defaults.batchSize),
            "injection-scale": .real(injectionScale ?? Self.defaults.injectionScale),
        ]
        let integers: [(String, Int?)] = [("dim", dim), ("inner", inner), ("groups", groups), ("channels", channels),
                                          ("in-channels", inChannels), ("length", length), ("height", height), ("width", width)]
        for case let (name, value?) in integers { values[name] = .integer(value) }
        let reals: [(String, Double?)] = [("sigma", sigma), ("monotonicity", monotonicity), ("weight-scale", weightScale)]
        for case let (name, value?) in reals { values[name] = .real(value) }
        if let weightsDirectory { values["weights-dir"] = .text(weightsDirectory) }
        if let injection { values["injection"] = .text(injection) }
        // Only the parameters the family has (e.g. no "dim" for conv2d).
        let names = Set(cell.family.parameters.map(\.name))
        return values.filter { names.contains($0.key) }
    }

    /// The cell these options describe, built or loaded by the library.
    func makeCell() throws -> LoadedCell {
        switch cell {
        case .tanh, .affine: return try makeDenseCell()
        case .residual, .conv1d, .conv2d, .monotone: return try makeLayeredCell()
        }
    }

    /// The residual, convolutional and monotone cells come from the experiment catalog, with the
    /// parameter names of experiment files; relative paths are relative to the working directory.
    private func makeLayeredCell() throws -> LoadedCell {
        let map = try cell.family.makeMap(catalogValues, seed: seed ?? Self.defaults.seed,
                                          baseDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        switch map {
        case let cell as ResidualCell: return .residual(cell)
        case let cell as ConvResidualCell: return .convResidual(cell)
        case let cell as MonotoneCell: return .monotone(cell)
        default: preconditionFailure("the catalog built a \(type(of: map)) for --cell \(cell.rawValue)")
        }
    }

    private func makeDenseCell() throws -> LoadedCell {
        let d = dim ?? Self.defaults.dimension
        let b = batch ?? Self.defaults.batchSize
        let spectralNorm = rho ?? Self.defaults.spectralNorm
        let scale = injectionScale ?? Self.defaults.injectionScale
        let seed = seed ?? Self.defaults.seed
        guard let weights else {
            if cell == .tanh {
                return .tanh(try TanhCell.random(.init(dimension: d, batchSize: b, spectralNorm: spectralNorm,
                                                       symmetric: symmetric, injectionScale: scale, seed: seed)))
            }
            // The generator draws bᵢ ~ N(0, I); the scale makes them N(0, s² I) like x.
            let map = try AffineMap.random(dimension: d, batchSize: b, spectralNorm: spectralNorm,
                                           symmetric: symmetric, seed: seed)
            return .affine(scale == 1 ? map : AffineMap(matrix: map.matrix, offsets: scale * map.offsets))
        }
        let source: InjectionSource = injection.map { .file(Self.url($0)) }
            ?? .gaussian(batchSize: b, scale: scale, seed: seed)
        if cell == .tanh {
            return .tanh(try TanhCell.load(weights: Self.url(weights), inputWeights: inputWeights.map(Self.url),
                                           bias: bias.map(Self.url), injection: source))
        }
        return .affine(try AffineMap.load(matrix: Self.url(weights), offsets: source))
    }

    /// What the JSON report says about the cell.
    func report(for loaded: LoadedCell) -> CellReport {
        var report = CellReport(kind: cell, dim: loaded.dimension, batch: loaded.batchSize)
        switch loaded {
        case let .residual(map):
            report.inner = map.innerDimension
            report.groups = map.groups
        case let .convResidual(map):
            report.channels = map.channels
            report.inner = map.innerChannels
            report.inChannels = map.inputChannels
            report.spatial = map.shape.extents
            report.groups = map.groups
        case let .monotone(map):
            report.monotonicity = map.monotonicity
        case .tanh, .affine:
            break
        }
        if cell != .tanh && cell != .affine {
            if let weightsDirectory {
                report.weightsDir = weightsDirectory
                report.injection = injection
            } else if cell == .monotone {
                report.weightScale = weightScale ?? cell.family.resolved([:])["weight-scale"]?.doubleValue
            } else {
                report.sigma = sigma ?? cell.family.resolved([:])["sigma"]?.doubleValue
            }
        } else if weights == nil {
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
    case residual(ResidualCell)
    case convResidual(ConvResidualCell)
    case monotone(MonotoneCell)

    /// The map, for what does not depend on its type.
    var map: any FixedPointMap {
        switch self {
        case let .tanh(cell): cell
        case let .affine(map): map
        case let .residual(cell): cell
        case let .convResidual(cell): cell
        case let .monotone(cell): cell
        }
    }

    var dimension: Int { map.dimension }
    var batchSize: Int { map.batchSize }

    /// Solves with the concrete map type, so the solver's hot path stays generic.
    func solve(with solver: any FixedPointSolver, from initial: Matrix, criteria: StoppingCriteria) -> SolveResult {
        switch self {
        case let .tanh(cell): solver.solve(cell, from: initial, criteria: criteria)
        case let .affine(map): solver.solve(map, from: initial, criteria: criteria)
        case let .residual(cell): solver.solve(cell, from: initial, criteria: criteria)
        case let .convResidual(cell): solver.solve(cell, from: initial, criteria: criteria)
        case let .monotone(cell): solver.solve(cell, from: initial, criteria: criteria)
        }
    }
}
