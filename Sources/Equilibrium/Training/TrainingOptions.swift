import Foundation

/// Everything that defines a training run; saved as JSON in every checkpoint so that `--resume`
/// rebuilds the same run. Defaults are CPU-small.
public struct TrainingOptions: Sendable, Equatable, Codable {
    /// The task: `parity` (prefix-sum parity) or `spirals`.
    public enum Task: String, Sendable, CaseIterable, Codable { case parity, spirals, digits }
    /// The cell: `tanh` (f = tanh(W z + U u + b)), `residual` (dense residual cell after a
    /// linear embedding), `conv` (1-D convolutional residual cell).
    public enum CellKind: String, Sendable, CaseIterable, Codable { case tanh, residual, conv }
    /// The backward pass through the fixed point, by its ``Catalog/standard`` estimator name
    /// (`shine` needs a forward solver that leaves an inverse-Jacobian estimate, `broyden`).
    /// Every estimator of the catalog trains; the named ones are the built-in estimators.
    public struct EstimatorKind: RawRepresentable, Sendable, Hashable, Codable, CaseIterable, ExpressibleByStringLiteral {
        public var rawValue: String
        /// A catalog estimator's name; nil for any other text.
        public init?(rawValue: String) {
            guard Catalog.standard.estimators.contains(where: { $0.name == rawValue }) else { return nil }
            self.rawValue = rawValue
        }
        public init(stringLiteral value: String) { rawValue = value }
        public static var allCases: [EstimatorKind] { Catalog.standard.estimators.map { EstimatorKind(stringLiteral: $0.name) } }
        public static let implicit: EstimatorKind = "implicit", phantom: EstimatorKind = "phantom", neumann: EstimatorKind = "neumann",
                          jfb: EstimatorKind = "jfb", shine: EstimatorKind = "shine"
    }
    /// The forward solver, by its ``Catalog/standard`` name, built with the catalog's defaults:
    /// a solver added to the catalog trains without a change here.
    public struct SolverKind: RawRepresentable, Sendable, Hashable, Codable, CaseIterable, ExpressibleByStringLiteral {
        public var rawValue: String
        /// A catalog solver's name; nil for any other text.
        public init?(rawValue: String) {
            guard Catalog.standard.solvers.contains(where: { $0.name == rawValue }) else { return nil }
            self.rawValue = rawValue
        }
        public init(stringLiteral value: String) { rawValue = value }
        public static var allCases: [SolverKind] { Catalog.standard.solvers.map { SolverKind(stringLiteral: $0.name) } }
        public static let anderson: SolverKind = "anderson", forward: SolverKind = "forward", broyden: SolverKind = "broyden",
                          newtonKrylov: SolverKind = "newton-krylov"
    }
    /// z₀ per sample: zero, Gaussian N(0, s²), or mixed (each sample zero or Gaussian with
    /// probability ½, Anil et al. 2022).
    public enum InitKind: String, Sendable, CaseIterable, Codable { case zero, gaussian, mixed }

    public var task: Task = .spirals
    public var cell: CellKind = .tanh
    /// C (channels of the conv cell) or d (width of a dense cell).
    public var width: Int = 32
    /// h, the inner width of a residual cell.
    public var innerWidth: Int = 32
    /// G, the norm groups of a residual cell.
    public var groups: Int = 4
    public var estimator: EstimatorKind = .implicit
    /// k of the phantom gradients.
    public var phantomSteps: Int = 5
    /// λ of the phantom gradients.
    public var phantomDamping: Double = 0.5
    public var optimizer: Optimizer = Optimizer()
    public var loss: Loss = .crossEntropy
    public var epochs: Int = 10
    public var batchSize: Int = 32
    public var seed: UInt64 = 0
    public var solver: SolverKind = .anderson
    /// The forward budget (the most iterations when budgets are random).
    public var maxIterations: Int = 30
    /// The forward tolerance (relative residual).
    public var tolerance: Double = 1e-4
    /// The backward tolerance of the implicit gradient (relative residual), at most 100 iterations.
    public var backwardTolerance: Double = 1e-6
    public var initialization: InitKind = .zero
    /// s of the Gaussian and mixed initialisations.
    public var initializationScale: Double = 1
    /// When set, each step's forward budget is uniform in minIterations ... maxIterations.
    public var randomBudgetMin: Int? = nil
    /// γ of the Jacobian penalty (0: none).
    public var jacobianWeight: Double = 0
    /// The penalty is applied every this many steps.
    public var jacobianFrequency: Int = 1
    /// Training and test examples.
    public var trainSize: Int = 600
    public var testSize: Int = 300
    /// Parity: training lengths and the test length.
    public var trainLengthMin: Int = 16
    public var trainLengthMax: Int = 32
    public var testLength: Int = 48

    // Image tasks (`digits`, ``ImageTrainer``); optional so that older checkpoints still decode.
    /// The folder of `train-images.npy`, `train-labels.npy`, `test-images.npy`, `test-labels.npy`
    /// (nil: `Data/digits` under the working directory).
    public var dataDirectory: String? = nil
    /// p of the average pooling before the head (nil: 2).
    public var pool: Int? = nil
    /// `cosine` (nil or "cosine": lr·½(1 + cos(π t/T)) over the T steps of the run) or `constant`.
    public var schedule: String? = nil
    /// Fixed-point reuse (DEQ-flow): each training image's forward solve starts at its own fixed
    /// point of the previous epoch (nil: false).
    public var reuse: Bool? = nil
    /// Sparse fixed-point correction (DEQ-flow): the loss is also applied to this many
    /// intermediate iterates of the forward path (nil: 0), iterate j of n weighted by
    /// correctionDecay^(n+1−j) relative to the fixed point's weight 1.
    public var correctionIterates: Int? = nil
    /// γ of the correction weights (nil: 0.8, as in DEQ-flow).
    public var correctionDecay: Double? = nil
    /// s of the cell's N(0, s²) initial weights (nil: 0.01, the tutorial's).
    public var cellWeightScale: Double? = nil

    /// The stopping measure of every forward solve, `rel` (nil) or `abs`, as `deq solve --stop`.
    public var stopMeasure: String? = nil
    /// The cap on f evaluations per sample of a forward solve (nil: none), as `deq solve --max-evals`.
    public var maxEvaluations: Int? = nil
    /// Digits: data-parallel steps on this many threads (nil: 1). Each step's minibatch is split
    /// into this many contiguous groups of images, each solved and differentiated on its own
    /// thread with single-threaded BLAS (``ConcurrentGroups``), and the groups' mean losses and
    /// gradients are combined with weights nₖ/n; so is the test evaluation (``SampleParallel``).
    /// The result equals the one-thread step up to rounding (per-sample solves are independent;
    /// the gradient's sums are regrouped), not bit for bit.
    public var sampleThreads: Int? = nil

    public init() {}

    /// The criteria of a forward solve with at most `maxIterations` iterations.
    public func forwardCriteria(maxIterations: Int) throws(UsageError) -> StoppingCriteria {
        try StoppingCriteria(tolerance: tolerance, measure: stopMeasure == "abs" ? .absolute : .relative,
                             maxIterations: maxIterations, maxEvaluations: maxEvaluations, recordHistory: false)
    }

    /// Every problem with these options, as one message naming the options; `nil` when valid.
    public func problems() -> String? {
        var p = [String]()
        if width < 1 { p.append("width must be ≥ 1, got \(width)") }
        if innerWidth < 1 { p.append("inner width must be ≥ 1, got \(innerWidth)") }
        if cell != .tanh, groups < 1 || width % groups != 0 || innerWidth % groups != 0 {
            p.append("groups (\(groups)) must divide the width (\(width)) and the inner width (\(innerWidth))")
        }
        if task == .parity && cell != .conv { p.append("the parity task needs the conv cell (one output per position)") }
        if task == .spirals && cell == .conv { p.append("the spirals task needs a dense cell (tanh or residual)") }
        if task == .digits && cell != .conv { p.append("the digits task needs the conv cell (the tutorial's convolutional DEQ)") }
        if let pool, pool < 1 { p.append("pool must be ≥ 1, got \(pool)") }
        if let schedule, schedule != "cosine" && schedule != "constant" { p.append("schedule must be cosine or constant, got \(schedule)") }
        if let k = correctionIterates, k < 0 || k > 16 { p.append("correction iterates must lie in 0 ... 16, got \(k)") }
        if let g = correctionDecay, !(g > 0 && g <= 1) { p.append("correction decay γ must lie in (0, 1], got \(g)") }
        if let s = cellWeightScale, !(s > 0 && s.isFinite) { p.append("cell weight scale must be positive, got \(s)") }
        if task != .digits, pool != nil || reuse == true || (correctionIterates ?? 0) > 0 || dataDirectory != nil {
            p.append("pool, reuse, correction iterates and the data directory apply to the digits task only")
        }
        if !Catalog.standard.solvers.contains(where: { $0.name == solver.rawValue }) {
            p.append("unknown solver \(solver.rawValue); expected one of \(Catalog.standard.solvers.map(\.name).joined(separator: ", "))")
        }
        if !Catalog.standard.estimators.contains(where: { $0.name == estimator.rawValue }) {
            p.append("unknown estimator \(estimator.rawValue); expected one of \(Catalog.standard.estimators.map(\.name).joined(separator: ", "))")
        }
        if estimator == .shine && !(Catalog.standard.solvers.first { $0.name == solver.rawValue }?.providesInverseJacobian ?? false) {
            p.append("the shine estimator needs a forward solver that leaves an inverse-Jacobian estimate (broyden), got \(solver.rawValue)")
        }
        if phantomSteps < 1 { p.append("phantom steps must be ≥ 1, got \(phantomSteps)") }
        if !(phantomDamping > 0 && phantomDamping < 2) { p.append("phantom damping λ must lie in (0, 2), got \(phantomDamping)") }
        if !(optimizer.learningRate > 0 && optimizer.learningRate.isFinite) { p.append("learning rate must be positive, got \(optimizer.learningRate)") }
        if !(optimizer.momentum >= 0 && optimizer.momentum < 1) { p.append("momentum must lie in [0, 1), got \(optimizer.momentum)") }
        if !(optimizer.beta1 >= 0 && optimizer.beta1 < 1) { p.append("Adam's β₁ must lie in [0, 1), got \(optimizer.beta1)") }
        if !(optimizer.beta2 >= 0 && optimizer.beta2 < 1) { p.append("Adam's β₂ must lie in [0, 1), got \(optimizer.beta2)") }
        if !(optimizer.epsilon > 0 && optimizer.epsilon.isFinite) { p.append("Adam's ε must be positive and finite, got \(optimizer.epsilon)") }
        if let c = optimizer.clipNorm, !(c > 0 && c.isFinite) { p.append("clip norm must be positive and finite, got \(c)") }
        if epochs < 0 { p.append("epochs must be ≥ 0, got \(epochs)") }
        if batchSize < 1 { p.append("batch size must be ≥ 1, got \(batchSize)") }
        if maxIterations < 1 || maxIterations > StoppingCriteria.iterationLimit {
            p.append("max iterations must lie in 1 ... \(StoppingCriteria.iterationLimit), got \(maxIterations)")
        }
        if let m = stopMeasure, m != "abs" && m != "rel" { p.append("the stopping measure must be abs or rel, got \(m)") }
        if let e = maxEvaluations, e < 1 { p.append("max evaluations must be ≥ 1, got \(e)") }
        if let t = sampleThreads, t < 1 || t > ConcurrentGroups.threadLimit {
            p.append("sample threads must lie in 1 ... \(ConcurrentGroups.threadLimit), got \(t)")
        }
        if task != .digits, (sampleThreads ?? 1) > 1 { p.append("sample threads apply to the digits task only, got \(sampleThreads!)") }
        if !(tolerance > 0 && tolerance.isFinite) { p.append("tolerance must be positive, got \(tolerance)") }
        if !(backwardTolerance > 0 && backwardTolerance.isFinite) { p.append("backward tolerance must be positive, got \(backwardTolerance)") }
        if !(initializationScale >= 0 && initializationScale.isFinite) { p.append("initialisation scale must be ≥ 0, got \(initializationScale)") }
        if let m = randomBudgetMin, m < 1 || m > maxIterations { p.append("the random budget's minimum must lie in 1 ... \(maxIterations), got \(m)") }
        if !(jacobianWeight >= 0 && jacobianWeight.isFinite) { p.append("Jacobian weight must be ≥ 0, got \(jacobianWeight)") }
        if jacobianFrequency < 1 { p.append("Jacobian frequency must be ≥ 1, got \(jacobianFrequency)") }
        if trainSize < 1 || testSize < 1 { p.append("train and test sizes must be ≥ 1") }
        if task == .parity && !(1 <= trainLengthMin && trainLengthMin <= trainLengthMax && testLength >= 1) {
            p.append("parity lengths need 1 ≤ min (\(trainLengthMin)) ≤ max (\(trainLengthMax)) and a test length ≥ 1")
        }
        return p.isEmpty ? nil : p.joined(separator: "; ")
    }

    /// The gradient estimator these options name.
    public var gradientEstimator: any GradientEstimator {
        get throws {
        switch estimator {
        case .implicit:
            try ImplicitGradient(solver: AndersonAcceleration(),
                                 criteria: StoppingCriteria(tolerance: backwardTolerance, maxIterations: 100, recordHistory: false))
        case .phantom: try PhantomGradient(mode: .unrolled, steps: phantomSteps, damping: phantomDamping)
        case .neumann: try PhantomGradient(mode: .neumann, steps: phantomSteps, damping: phantomDamping)
        case .jfb: JacobianFreeGradient()
        case .shine: SHINEGradient()
        default: try Catalog.standard.estimator(named: estimator.rawValue).makeEstimator()
        }
        }
    }

    /// The forward solver these options name.
    public var forwardSolver: any FixedPointSolver {
        get throws(UsageError) { try Catalog.standard.solver(named: solver.rawValue).makeSolver() }
    }

    /// The estimator with its options, for tables.
    public var estimatorLabel: String {
        switch estimator {
        case .implicit: "implicit"
        case .phantom: "phantom k=\(phantomSteps) λ=\(phantomDamping)"
        case .neumann: "neumann k=\(phantomSteps) λ=\(phantomDamping)"
        default: estimator.rawValue
        }
    }

    /// The training and test sets: generated (seeded by `seed`; the test set from another
    /// stream) or, for `digits`, read from ``dataDirectory`` (``ImageDataset``).
    public func loadDatasets() throws -> (train: Dataset, test: Dataset) {
        guard task == .digits else { return datasets() }
        let (train, test) = try ImageDataset.loadSplits(from: imageDirectory)
        return (train.dataset, test.dataset)
    }

    /// ``dataDirectory`` or `Data/digits`.
    public var imageDirectory: URL {
        URL(fileURLWithPath: dataDirectory ?? "Data/digits")
    }

    /// The generated training and test sets (seeded by `seed`; the test set from another
    /// stream); for `digits` the same as ``loadDatasets()``, empty when the files cannot be read.
    public func datasets() -> (train: Dataset, test: Dataset) {
        switch task {
        case .digits:
            return (try? loadDatasets()) ?? (Dataset(groups: [], inputChannels: 1, classes: 2), Dataset(groups: [], inputChannels: 1, classes: 2))
        case .parity:
            return (PrefixParity.dataset(count: trainSize, lengths: trainLengthMin...trainLengthMax, seed: Dataset.mix(seed, 1)),
                    PrefixParity.dataset(count: testSize, lengths: testLength...testLength, seed: Dataset.mix(seed, 2)))
        case .spirals:
            return (Spirals.dataset(count: trainSize, seed: Dataset.mix(seed, 1)), Spirals.dataset(count: testSize, seed: Dataset.mix(seed, 2)))
        }
    }
}
