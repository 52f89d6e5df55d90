import Foundation

/// Trains a ``ConvClassifier`` on an image set (``ImageDataset``; `deq train --task digits`):
/// seeded minibatches, a forward solve per step, the cross-entropy's gradient through the chosen
/// estimator, Adam with a cosine learning-rate schedule, and optionally
///
/// - the Jacobian penalty (Bai, Koltun, Kolter 2021): γ·‖Jᵀε‖²/d (Hutchinson, ``JacobianPenalty``)
///   every `jacobianFrequency` steps;
/// - fixed-point reuse (Bai et al., "Deep Equilibrium Optical Flow Estimation", CVPR 2022, §3.3):
///   each training image starts its forward solve at its own fixed point from the previous epoch
///   (kept per image in memory; the first epoch starts at zero);
/// - sparse fixed-point correction (the same paper, §3.2): the forward solve is run in n + 1
///   segments of ⌈budget/(n+1)⌉ iterations, each continuing from the previous segment's point;
///   the loss is applied to the n intermediate points z₁ … zₙ with weights γ^(n+1−j) and to the
///   fixed point with weight 1, the intermediate terms' gradients by the one-step (Jacobian-free)
///   estimator as in DEQ-flow, the final one by the chosen estimator.
///
/// The random draws of step t come from (seed, t) and the data order of epoch e from (seed, e),
/// so the parameters, Adam's moments and the counters resume a run exactly; with `reuse`, the
/// per-image warm starts are not saved, so a resumed run with reuse restarts them at zero.
public struct ImageTrainer: Sendable, TrainingSession {
    public var options: TrainingOptions
    public var model: ConvClassifier
    public var optimizerState = OptimizerState()
    public var epoch = 0
    public var log: [EpochRecord] = []
    /// The warm starts of fixed-point reuse: per training image, its last fixed point.
    var warmStarts: [Int: [Double]] = [:]

    public init(options: TrainingOptions, model: ConvClassifier) {
        self.options = options
        self.model = model
    }

    /// A fresh model for `options` and images of `shape` with `classes` classes.
    public init(options: TrainingOptions, inputChannels: Int, height: Int, width: Int, classes: Int) throws {
        let model = try ConvClassifier.random(inputChannels: inputChannels, height: height, width: width, classes: classes,
                                              channels: options.width, innerChannels: options.innerWidth, groups: options.groups,
                                              pool: options.pool ?? 2, cellScale: options.cellWeightScale ?? 0.01,
                                              seed: Dataset.mix(options.seed, 3))
        self.init(options: options, model: model)
    }

    public var checkpoint: TrainingCheckpoint {
        TrainingCheckpoint(options: options, epoch: epoch, log: log, parameters: model.parameters, optimizerState: optimizerState)
    }

    mutating func restore(_ checkpoint: TrainingCheckpoint) throws {
        try checkpoint.checkParameters(match: model.parameters)
        model = try model.replacingParameters(checkpoint.parameters)
        optimizerState = checkpoint.optimizerState
        epoch = checkpoint.epoch
        log = checkpoint.log
    }

    /// Steps per epoch for `count` training images.
    func stepsPerEpoch(_ count: Int) -> Int { (count + options.batchSize - 1) / options.batchSize }

    /// The learning rate of step t (0-based) of T = epochs · steps per epoch.
    func learningRate(step t: Int, totalSteps: Int) -> Double {
        let base = options.optimizer.learningRate
        guard options.schedule != "constant", totalSteps > 0 else { return base }
        return base * 0.5 * (1 + cos(Double.pi * Double(min(t, totalSteps)) / Double(totalSteps)))
    }

    /// The images and labels of the one group of `data`.
    static func images(_ data: Dataset) throws -> (inputs: Matrix, targets: [Int]) {
        guard data.groups.count == 1, data.groups[0].positions == 1 else {
            throw TrainingError("an image data set has one group of single-position examples; got \(data.groups.count) groups")
        }
        return (data.groups[0].inputs, data.groups[0].targets)
    }

    /// The rows `indices` of `m`, in that order.
    public static func rows(_ m: Matrix, _ indices: [Int]) -> Matrix {
        let w = m.columns
        var x = Matrix(rows: indices.count, columns: w)
        for (r, i) in indices.enumerated() {
            x.storage.replaceSubrange((r * w)..<((r + 1) * w), with: m.storage[(i * w)..<((i + 1) * w)])
        }
        return x
    }

    @discardableResult
    public mutating func trainEpoch(train: Dataset, test: Dataset) throws -> EpochRecord {
        let start = DispatchTime.now().uptimeNanoseconds
        let (inputs, targets) = try Self.images(train)
        let estimator = try options.gradientEstimator
        let solver = try options.forwardSolver
        let n = inputs.rows, b = options.batchSize
        let totalSteps = options.epochs * stepsPerEpoch(n)
        var order = Array(0..<n)
        var shuffler = SplitMix64(seed: Dataset.mix(options.seed, UInt64(epoch) &+ 0x5EED))
        Dataset.shuffle(&order, using: &shuffler)
        var lossSum = 0.0, correct = 0, nfe = 0.0, vjps = 0.0, forward = 0.0, backward = 0.0
        var forwardConverged = 0, backwardConverged = 0, steps = 0
        let threads = options.sampleThreads ?? 1
        for first in stride(from: 0, to: n, by: b) {
            let indices = Array(order[first..<min(first + b, n)])
            var generator = SplitMix64(seed: Dataset.mix(options.seed, UInt64(optimizerState.step) &+ 0xB00F))
            let u = Self.rows(inputs, indices), y = indices.map { targets[$0] }
            let t0 = DispatchTime.now().uptimeNanoseconds
            var z0 = Matrix(rows: indices.count, columns: model.cell.dimension)
            if options.reuse == true {
                for (r, i) in indices.enumerated() { if let w = warmStarts[i] { z0.setRow(r, to: w) } }
            }
            let penalised = options.jacobianWeight > 0 && optimizerState.step % options.jacobianFrequency == 0
            let probes = penalised ? Matrix.gaussian(rows: indices.count, columns: model.cell.dimension, using: &generator) : nil
            // The step's groups of rows, one thread each (one group: the whole minibatch here).
            let groups = ConcurrentGroups.ranges(count: indices.count, groups: threads)
            let model = self.model, options = self.options, starts = z0
            let parts = try ConcurrentGroups.map(groups.count) { k in
                let rows = groups[k]
                return try Self.groupStep(model: model, options: options, images: u.rows(rows), targets: Array(y[rows]),
                                          start: starts.rows(rows), probes: probes?.rows(rows), solver: solver, estimator: estimator)
            }
            let step = Self.combine(parts, sizes: groups.map(\.count))
            guard step.loss.isFinite, step.gradient.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
                throw TrainingError("epoch \(epoch + 1), step \(optimizerState.step + 1): the training \(step.loss.isFinite ? "gradient has a non-finite entry" : "loss is \(step.loss)"); training stopped and the last checkpoint (epoch \(epoch)) was kept; expected a finite loss (try a smaller learning rate or a larger forward budget)")
            }
            if options.reuse == true {
                for (r, i) in indices.enumerated() { warmStarts[i] = step.solution.row(r) }
            }
            var optimizer = options.optimizer
            optimizer.learningRate = learningRate(step: optimizerState.step, totalSteps: totalSteps)
            let updated = try optimizer.finiteStep(model.parameters, gradient: step.gradient, state: &optimizerState,
                                                   epoch: epoch, advice: "try a smaller learning rate")
            self.model = try model.replacingParameters(updated)
            let t2 = DispatchTime.now().uptimeNanoseconds
            // Forward: the groups' binding and solves (the slowest group's); backward: the rest of the step.
            forward += step.forwardSeconds
            backward += Double(t2 - t0) * 1e-9 - step.forwardSeconds
            lossSum += step.loss
            correct += step.correct.filter { $0 }.count
            nfe += Double(step.evaluations.reduce(0, +)) / Double(indices.count)
            forwardConverged += step.forwardConverged
            if step.backwardConverged { backwardConverged += 1 }
            vjps += Double(step.products)
            steps += 1
        }
        let s = Double(max(steps, 1))
        epoch += 1
        let testAccuracy = try evaluate(test, maxIterations: options.maxIterations).accuracy
        let record = EpochRecord(epoch: epoch, loss: lossSum / s, accuracy: Double(correct) / Double(max(n, 1)),
                                 testAccuracy: testAccuracy, forwardEvaluations: nfe / s, backwardProducts: vjps / s,
                                 forwardSeconds: forward, backwardSeconds: backward,
                                 epochSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9,
                                 steps: optimizerState.step, forwardConverged: Double(forwardConverged) / Double(max(n, 1)),
                                 backwardConverged: Double(backwardConverged) / s)
        log.append(record)
        return record
    }

    /// What one group of rows of a minibatch contributes to a training step; with one group, the
    /// whole step but the parameter update.
    struct GroupStep {
        /// The group's mean cross-entropy at its fixed points.
        var loss: Double
        var correct: [Bool]
        /// The gradient of the group's mean objective: the loss at the fixed point, plus the
        /// correction terms and the Jacobian penalty when they are on.
        var gradient: [NamedArray]
        /// The fixed points (the last segment's with corrections), one row per image.
        var solution: Matrix
        /// Forward evaluations per image over all segments.
        var evaluations: [Int]
        var forwardConverged: Int
        var backwardConverged: Bool
        /// Backward products of the step (VJPs and parameter products: the estimator's, the
        /// correction terms', the penalty's 3).
        var products: Int
        /// Seconds of the forward solve(s).
        var forwardSeconds: Double
    }

    /// The forward solve(s), loss and gradient of the images u (targets y) from the starts z₀,
    /// with the Jacobian penalty on `probes` when given: everything of a step for these rows.
    ///
    /// - Sparse fixed-point correction: the forward solve runs in n + 1 segments of
    ///   ⌈budget/(n+1)⌉ iterations; iterate j's loss gradient (by the one-step estimator) enters
    ///   with weight γ^(n+1−j).
    /// - The penalty adds γ_J ∂R/∂θ (``JacobianPenalty``, its R a mean over the group's rows).
    static func groupStep(model: ConvClassifier, options: TrainingOptions, images u: Matrix, targets y: [Int], start z0: Matrix,
                          probes: Matrix?, solver: any FixedPointSolver, estimator: any GradientEstimator) throws -> GroupStep {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let corrections = options.correctionIterates ?? 0, decay = options.correctionDecay ?? 0.8
        let bound = try model.bind(u)
        // The forward solve, in corrections + 1 segments when the correction loss is on.
        var intermediates = [Matrix]()
        var result: SolveResult
        var evaluations = [Int](repeating: 0, count: u.rows)
        if corrections > 0 {
            let segment = (options.maxIterations + corrections) / (corrections + 1)
            var z = z0
            var last: SolveResult? = nil
            for j in 0...corrections {
                let budget = j == corrections ? max(1, options.maxIterations - segment * corrections) : segment
                let r = try solver.solve(bound, from: z, criteria: options.forwardCriteria(maxIterations: budget))
                for i in 0..<u.rows { evaluations[i] += r.samples[i].evaluations }
                z = r.solution
                if j < corrections { intermediates.append(z) }
                last = r
            }
            result = last!
        } else {
            result = try solver.solve(bound, from: z0, criteria: options.forwardCriteria(maxIterations: options.maxIterations))
            evaluations = result.samples.map(\.evaluations)
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let step = try model.lossAndGradient(images: u, bound: bound, solution: result.solution, targets: y,
                                             estimator: estimator, byproducts: result.byproducts)
        var gradient = step.gradient
        var products = step.backward.statistics.vectorJacobianProducts + step.backward.statistics.parameterProducts
        func add(_ extra: [NamedArray], _ weight: Double) {
            gradient = zip(gradient, extra).map { a, e in
                NamedArray(name: a.name, shape: a.shape, values: zip(a.values, e.values).map { $0 + weight * $1 })
            }
        }
        let jfb = JacobianFreeGradient()
        for (j, z) in intermediates.enumerated() {
            let weight = pow(decay, Double(corrections - j))
            let extra = try model.lossAndGradient(images: u, bound: bound, solution: z, targets: y, estimator: jfb)
            add(extra.gradient, weight)
            products += extra.backward.statistics.vectorJacobianProducts + extra.backward.statistics.parameterProducts
        }
        if let probes {
            let penalty = try JacobianPenalty.estimate(cell: bound, at: result.solution, probes: probes)
            add(try model.assemble(images: u, cell: penalty.parameters, input: penalty.input, readout: nil), options.jacobianWeight)
            products += 3
        }
        return GroupStep(loss: step.loss, correct: step.correct, gradient: gradient, solution: result.solution,
                         evaluations: evaluations, forwardConverged: result.samples.filter(\.converged).count,
                         backwardConverged: step.backward.converged, products: products,
                         forwardSeconds: Double(t1 - t0) * 1e-9)
    }

    /// The groups' contributions as one step of the whole minibatch: every objective is a mean
    /// over rows, so the step's loss and gradient are the groups' weighted by nₖ/n; rows are
    /// concatenated in order; products (per-sample maxima, as the estimators count them) take the
    /// groups' maximum. One group is returned as it is, bit for bit.
    static func combine(_ parts: [GroupStep], sizes: [Int]) -> GroupStep {
        guard parts.count > 1 else { return parts[0] }
        let n = Double(sizes.reduce(0, +))
        var step = parts[0]
        let w0 = Double(sizes[0]) / n
        step.loss = w0 * parts[0].loss
        step.gradient = parts[0].gradient.map { NamedArray(name: $0.name, shape: $0.shape, values: $0.values.map { w0 * $0 }) }
        var storage = parts[0].solution.storage
        for (part, size) in zip(parts, sizes).dropFirst() {
            let w = Double(size) / n
            step.loss += w * part.loss
            step.gradient = zip(step.gradient, part.gradient).map { a, e in
                NamedArray(name: a.name, shape: a.shape, values: zip(a.values, e.values).map { $0 + w * $1 })
            }
            step.correct += part.correct
            storage += part.solution.storage
            step.evaluations += part.evaluations
            step.forwardConverged += part.forwardConverged
            step.backwardConverged = step.backwardConverged && part.backwardConverged
            step.products = max(step.products, part.products)
            step.forwardSeconds = max(step.forwardSeconds, part.forwardSeconds)
        }
        step.solution = Matrix(rows: parts[0].solution.rows + parts.dropFirst().reduce(0) { $0 + $1.solution.rows },
                               columns: parts[0].solution.columns, storage: storage)
        return step
    }

    /// The options' forward solver for test evaluations: as ``SampleParallel`` groups with
    /// ``TrainingOptions/sampleThreads`` > 1.
    var testSolver: any FixedPointSolver {
        get throws(UsageError) {
            let solver = try options.forwardSolver, threads = options.sampleThreads ?? 1
            guard threads > 1 else { return solver }
            func parallel<S: FixedPointSolver>(_ s: S) throws(UsageError) -> any FixedPointSolver { try SampleParallel(s, threads: threads) }
            return try parallel(solver)
        }
    }

    /// Accuracy on `data` from z₀ = 0 with at most `maxIterations` iterations of the options' solver.
    public func evaluate(_ data: Dataset, maxIterations: Int, batchSize: Int = 64) throws -> Evaluation {
        try evaluate(data, solver: try testSolver,
                     criteria: options.forwardCriteria(maxIterations: maxIterations),
                     batchSize: batchSize)
    }

    /// Accuracy on `data` from z₀ = 0 with `solver` and `criteria`. `meanEvaluations` is the
    /// mean of the per-image forward evaluations.
    public func evaluate(_ data: Dataset, solver: any FixedPointSolver, criteria: StoppingCriteria, batchSize: Int = 64) throws -> Evaluation {
        let (inputs, targets) = try Self.images(data)
        var right = 0, lossSum = 0.0, nfe = 0.0, converged = 0
        var correct = [Bool]()
        for first in stride(from: 0, to: inputs.rows, by: batchSize) {
            let indices = Array(first..<min(first + batchSize, inputs.rows))
            let bound = try model.bind(Self.rows(inputs, indices))
            let result = try solver.solve(bound, from: Matrix(rows: indices.count, columns: bound.dimension), criteria: criteria)
            let (value, _, hits) = Loss.crossEntropy.evaluate(logits: try model.logits(result.solution), targets: indices.map { targets[$0] })
            lossSum += value * Double(indices.count)
            right += hits.filter { $0 }.count
            correct += hits
            nfe += Double(result.samples.map(\.evaluations).reduce(0, +))
            converged += result.samples.filter(\.converged).count
        }
        let n = Double(max(inputs.rows, 1))
        return Evaluation(maxIterations: criteria.maxIterations, accuracy: Double(right) / n, exampleAccuracy: Double(right) / n,
                          loss: lossSum / n, correct: correct, meanEvaluations: nfe / n, convergedFraction: Double(converged) / n)
    }

    public func alignment(_ data: Dataset, samples: Int, maxIterations: Int) throws -> (score: Double, perExample: [Double], correct: [Bool]) {
        let (inputs, targets) = try Self.images(data)
        let indices = Array(0..<min(samples, inputs.rows))
        let bound = try model.bind(Self.rows(inputs, indices))
        let solver = try options.forwardSolver
        let criteria = try options.forwardCriteria(maxIterations: maxIterations)
        let reference = try solver.solve(bound, from: Matrix(rows: indices.count, columns: bound.dimension), criteria: criteria)
        let hits = Loss.crossEntropy.evaluate(logits: try model.logits(reference.solution), targets: indices.map { targets[$0] }).correct
        let a = try PathIndependence.alignment(of: bound, solver: solver, reference: reference.solution, criteria: criteria)
        return (a.score, a.perExample, hits)
    }
    /// ``JacobianAtFixedPoints`` of the cell at the fixed points of the first `samples` images of `data`.
    public func jacobianAtFixedPoints(_ data: Dataset, samples: Int, maxIterations: Int, probes: Int = 16) throws -> JacobianAtFixedPoints {
        let (inputs, _) = try Self.images(data)
        let bound = try model.bind(Self.rows(inputs, Array(0..<min(samples, inputs.rows))))
        return try JacobianAtFixedPoints(of: bound, solver: try options.forwardSolver,
                                         criteria: try options.forwardCriteria(maxIterations: maxIterations), probes: probes)
    }
}
