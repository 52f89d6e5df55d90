import Foundation

/// Training a ``DEQDecoder`` "while optimising over latent codes" (GLO, Bojanowski et al. 2018;
/// JIIO §5.2): one learned code xᵢ per training output yᵢ, and all of them with θ = (W, U, b, V, c)
/// by Adam on the full-batch objective (docs/MATH.md §6)
///
///     L(θ, X) = (1/N) Σᵢ ½‖V zᵢ* + c − yᵢ‖² + (λ/2)‖xᵢ‖²,      zᵢ* = tanh(W zᵢ* + U xᵢ + b)
///
/// with rᵢ = V zᵢ* + c − yᵢ (the rows of R):
///
///     ∂L/∂V = (1/N) Rᵀ Z*,   ∂L/∂c = (1/N) Σᵢ rᵢ,   ∂L/∂zᵢ* = (1/N) Vᵀ rᵢ
///     ∂L/∂(W, U, b), ∂L/∂xᵢ through the fixed point by a ``GradientEstimator`` from ∂L/∂z*
///     (``ImplicitGradient``: the exact adjoint), plus (λ/N) xᵢ for the codes.
///
/// After every step ‖W‖₂ is capped (W ← W · cap/‖W‖₂ when above the cap, one SVD of d × d): the
/// cell stays a contraction in z, so every forward solve has a unique answer (spectral
/// normalisation, Miyato et al. 2018, used here as a projection).
///
/// References: P. Bojanowski, A. Joulin, D. Lopez-Paz, A. Szlam, "Optimizing the latent space of
/// generative networks", ICML 2018. S. Gurumurthy et al., "Joint inference and input
/// optimization in equilibrium networks", NeurIPS 2021. T. Miyato et al., "Spectral
/// normalization for generative adversarial networks", ICLR 2018.
extension DEQDecoder {
    /// The forward criteria of training: relative residual 1e-8, at most 200 iterations, no history.
    public static let defaultCriteria: StoppingCriteria = {
        var criteria = StoppingCriteria()
        criteria.tolerance = 1e-8
        criteria.maxIterations = 200
        criteria.recordHistory = false
        return criteria
    }()

    /// The options of ``train(images:options:)``; defaults are the digits experiment's.
    public struct TrainingOptions: Sendable {
        /// d, p.
        public var dimension: Int
        public var codeDimension: Int
        /// Full-batch Adam steps.
        public var epochs: Int
        public var optimizer: Optimizer
        /// λ ≥ 0 of (λ/2)‖xᵢ‖² on the codes.
        public var penalty: Double
        /// ‖W‖₂ at initialisation, and the cap kept after every step, both in (0, 1).
        public var initialSpectralNorm: Double
        public var spectralNormCap: Double
        /// The codes start N(0, s²) with this s.
        public var codeScale: Double
        public var solver: any FixedPointSolver
        public var criteria: StoppingCriteria
        public var estimator: any GradientEstimator
        public var seed: UInt64

        public init(dimension: Int = 32, codeDimension: Int = 10, epochs: Int = 400,
                    optimizer: Optimizer = Optimizer(kind: .adam, learningRate: 1e-2), penalty: Double = 1e-3,
                    initialSpectralNorm: Double = 0.5, spectralNormCap: Double = 0.9, codeScale: Double = 0.1,
                    solver: any FixedPointSolver = AndersonAcceleration(),
                    criteria: StoppingCriteria = DEQDecoder.defaultCriteria,
                    estimator: any GradientEstimator = ImplicitGradient(), seed: UInt64 = 0) {
            self.dimension = dimension
            self.codeDimension = codeDimension
            self.epochs = epochs
            self.optimizer = optimizer
            self.penalty = penalty
            self.initialSpectralNorm = initialSpectralNorm
            self.spectralNormCap = spectralNormCap
            self.codeScale = codeScale
            self.solver = solver
            self.criteria = criteria
            self.estimator = estimator
            self.seed = seed
        }

        public func validate() throws(UsageError) {
            let owner = "DEQDecoder.TrainingOptions"
            try Check.atLeast(dimension, 1, owner, "dimension", "d")
            try Check.atLeast(codeDimension, 1, owner, "codeDimension", "p")
            try Check.atLeast(epochs, 1, owner, "epochs", "Adam steps")
            try Check.inRange(optimizer.learningRate, owner, "learning rate", "η", above: 0, openBelow: true)
            try Check.inRange(penalty, owner, "penalty", "λ of the codes' L2 penalty", above: 0)
            try Check.inRange(initialSpectralNorm, owner, "initialSpectralNorm", "‖W‖₂ at the start", above: 0, openBelow: true, below: 1, openAbove: true)
            try Check.inRange(spectralNormCap, owner, "spectralNormCap", "the cap on ‖W‖₂", above: 0, openBelow: true, below: 1, openAbove: true)
            try Check.inRange(codeScale, owner, "codeScale", "the codes' initial standard deviation", above: 0)
            try solver.validate()
            try criteria.validate()
            try estimator.validate()
        }
    }

    /// One epoch of ``train(images:options:)``, measured before its step.
    public struct EpochRecord: Codable, Sendable, Equatable {
        public var epoch: Int
        /// L(θ, X).
        public var loss: Double
        /// (1/N) Σᵢ ½‖ŷᵢ − yᵢ‖².
        public var reconstruction: Double
        /// Fractions of the samples whose forward and backward (adjoint) solves converged.
        public var forwardConverged: Double
        public var backwardConverged: Double
        /// Mean f evaluations per sample of the forward solve.
        public var forwardEvaluations: Double
        /// ‖W‖₂ after the step (and the cap).
        public var spectralNorm: Double
    }

    /// The value and every gradient of the objective of ``train(images:options:)``.
    public struct TrainingGradient: Sendable {
        public var loss: Double
        public var reconstruction: Double
        /// ∂L/∂W, ∂L/∂U, ∂L/∂b, ∂L/∂V, ∂L/∂c (the names and order of ``DEQDecoder/parameters``).
        public var parameters: [NamedArray]
        /// ∂L/∂X, N × p.
        public var codes: Matrix
        public var forward: SolveResult
        public var gradient: GradientResult
    }

    /// L(θ, X) = (1/N) Σᵢ ½‖V zᵢ* + c − yᵢ‖² + (λ/2)‖xᵢ‖² and its gradients at the codes X (N × p)
    /// for the outputs Y (N × q), the forward solve from `start` (zero by default).
    /// - Throws: ``UsageError`` when X is not N × p or Y not N × q.
    public func trainingGradient(outputs y: Matrix, codes x: Matrix, penalty lambda: Double, solver: any FixedPointSolver,
                                 criteria: StoppingCriteria, estimator: any GradientEstimator,
                                 start: Matrix? = nil) throws(UsageError) -> TrainingGradient {
        let n = x.rows, d = dimension, q = outputDimension
        try Check.shape(x, (x.rows, codeDimension), "DEQDecoder", "codes", "p = \(codeDimension) per row")
        try Check.shape(y, (n, q), "DEQDecoder", "outputs", "one row of q = \(q) per code")
        let cell = try cell(codes: x)
        let forward = try solver.solve(cell, from: start ?? Matrix(rows: n, columns: d), criteria: criteria)
        let z = forward.solution
        var r = try output(states: z)
        for k in 0..<r.storage.count { r.storage[k] -= y.storage[k] }
        let scale = 1 / Double(n)
        var reconstruction = 0.0, codeNorm = 0.0
        for v in r.storage { reconstruction += 0.5 * v * v }
        for v in x.storage { codeNorm += v * v }
        var upstream = Matrix(rows: n, columns: d)
        BLAS.gemm(r, readout, into: &upstream)
        for k in 0..<upstream.storage.count { upstream.storage[k] *= scale }
        let gradient = try estimator.estimate(cell: cell, forward: forward, upstream: upstream)
        var dV = Matrix(rows: q, columns: d)
        BLAS.gemm(r, z, into: &dV, transA: .transpose)
        var dc = [Double](repeating: 0, count: q)
        for i in 0..<n { for j in 0..<q { dc[j] += r.storage[i * q + j] } }
        var dX = gradient.input
        for k in 0..<dX.storage.count { dX.storage[k] += lambda * scale * x.storage[k] }
        let cellGradient = gradient.parameters
        return TrainingGradient(
            loss: scale * (reconstruction + 0.5 * lambda * codeNorm), reconstruction: scale * reconstruction,
            parameters: cellGradient + [NamedArray(name: "V", shape: [q, d], values: dV.storage.map { $0 * scale }),
                                        NamedArray(name: "c", shape: [q], values: dc.map { $0 * scale })],
            codes: dX, forward: forward, gradient: gradient)
    }

    /// Trains a decoder and its codes on the outputs `images` (N × q): the random start of
    /// ``random(dimension:codeDimension:outputMean:spectralNorm:seed:)`` (c = the mean image),
    /// codes N(0, s²) from the next draws of the same seed, then `epochs` full-batch Adam steps
    /// on (θ, X) with the ‖W‖₂ cap. Forward solves are warm-started from the previous epoch's z*.
    /// - Throws: ``UsageError`` for invalid options or images that are not finite;
    ///   ``TrainingError`` when a step produces a non-finite parameter or code.
    public static func train(images y: Matrix, options o: TrainingOptions) throws -> (decoder: DEQDecoder, codes: Matrix, log: [EpochRecord]) {
        try o.validate()
        try Check.finite(y.storage, "DEQDecoder.train", "images")
        let n = y.rows, q = y.columns
        var mean = [Double](repeating: 0, count: q)
        for i in 0..<n { for j in 0..<q { mean[j] += y.storage[i * q + j] / Double(n) } }
        var decoder = try random(dimension: o.dimension, codeDimension: o.codeDimension, outputMean: mean,
                                 spectralNorm: o.initialSpectralNorm, seed: o.seed)
        var generator = SplitMix64(seed: o.seed ^ 0x9E37_79B9_7F4A_7C15)
        var codes = Matrix.gaussian(rows: n, columns: o.codeDimension, scale: o.codeScale, using: &generator)
        var state = OptimizerState()
        var log = [EpochRecord]()
        var start: Matrix? = nil
        for epoch in 1...o.epochs {
            let g = try decoder.trainingGradient(outputs: y, codes: codes, penalty: o.penalty, solver: o.solver,
                                                 criteria: o.criteria, estimator: o.estimator, start: start)
            start = g.forward.solution
            let current = decoder.parameters + [NamedArray(name: "codes", shape: [n, o.codeDimension], values: codes.storage)]
            let gradient = g.parameters + [NamedArray(name: "codes", shape: [n, o.codeDimension], values: g.codes.storage)]
            let next = o.optimizer.step(current, gradient: gradient, state: &state)
            guard next.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
                throw TrainingError("DEQDecoder.train: Adam step \(epoch) made a parameter or code non-finite; expected finite values (lower the learning rate)")
            }
            decoder = try DEQDecoder(parameters: Array(next.dropLast()))
            codes = try Matrix(rows: n, columns: o.codeDimension, values: next.last!.values)
            let norm: Double
            do { norm = try LAPACK.spectralNorm(decoder.weight) } catch {
                throw TrainingError("DEQDecoder.train: the SVD of W failed at epoch \(epoch) (\(error)); lower the learning rate")
            }
            if norm > o.spectralNormCap {
                for k in 0..<decoder.weight.storage.count { decoder.weight.storage[k] *= o.spectralNormCap / norm }
            }
            let backward = g.gradient.statistics.backward
            log.append(EpochRecord(epoch: epoch, loss: g.loss, reconstruction: g.reconstruction,
                                   forwardConverged: Double(g.forward.convergedCount) / Double(n),
                                   backwardConverged: backward.map { Double($0.convergedSamples) / Double(n) } ?? 1,
                                   forwardEvaluations: Double(g.forward.totalEvaluations) / Double(n),
                                   spectralNorm: min(norm, o.spectralNormCap)))
        }
        return (decoder, codes, log)
    }
}
