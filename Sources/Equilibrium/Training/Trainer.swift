import Foundation

/// One epoch's log line.
public struct EpochRecord: Sendable, Equatable, Codable {
    public var epoch: Int
    /// Mean training loss over the epoch's steps (the task loss, without the Jacobian penalty).
    public var loss: Double
    /// Per-position training accuracy over the epoch.
    public var accuracy: Double
    /// Per-position accuracy on the test set (zero start, the training budget).
    public var testAccuracy: Double
    /// Mean per step of the forward solve's largest per-sample nfe.
    public var forwardEvaluations: Double
    /// Mean per step of the backward pass's largest per-sample count of VJPs (products in z and
    /// parameter products).
    public var backwardProducts: Double
    /// Seconds in forward solves, in backward passes (head, estimator, embedding, penalty), and
    /// the whole epoch.
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var epochSeconds: Double
    /// Steps taken so far.
    public var steps: Int
    /// Fraction of the epoch's training samples whose forward solve converged within its budget.
    public var forwardConverged: Double
    /// Fraction of the epoch's steps whose backward (adjoint) solve converged for every sample;
    /// 1 for estimators without a solve.
    public var backwardConverged: Double
}

/// The accuracy of a model on a dataset at one test-time budget.
public struct Evaluation: Sendable, Equatable {
    public var maxIterations: Int
    /// Per-position accuracy.
    public var accuracy: Double
    /// Fraction of examples with every position right.
    public var exampleAccuracy: Double
    public var loss: Double
    /// Per example: every position right.
    public var correct: [Bool]
    /// Mean over examples of the forward nfe.
    public var meanEvaluations: Double
    /// Fraction of examples whose forward solve converged.
    public var convergedFraction: Double
}

/// Trains an ``EquilibriumModel`` (see ``TrainingOptions``): seeded minibatches, a forward solve
/// per step from a per-sample initialisation under a (possibly random) iteration budget, the
/// loss's gradient through the chosen estimator, an optional Jacobian penalty, an optimiser step.
///
/// Every random draw of step t comes from a stream seeded by (seed, t) and the data order of
/// epoch e from (seed, e), so the state to resume exactly is the parameters, the optimiser's
/// moments and the two counters (``TrainingCheckpoint``).
public struct Trainer<Cell: TrainableCell & Sendable>: Sendable {
    public var options: TrainingOptions
    public var model: EquilibriumModel<Cell>
    public var optimizerState = OptimizerState()
    /// Epochs completed.
    public var epoch = 0
    public var log: [EpochRecord] = []

    public init(options: TrainingOptions, model: EquilibriumModel<Cell>) {
        self.options = options
        self.model = model
    }

    /// The initial batch of step `step` for B samples of dimension d.
    func initialBatch(rows: Int, dimension: Int, generator: inout SplitMix64) -> Matrix {
        switch options.initialization {
        case .zero: return Matrix(rows: rows, columns: dimension)
        case .gaussian:
            return .gaussian(rows: rows, columns: dimension, scale: options.initializationScale, using: &generator)
        case .mixed:
            var z = Matrix(rows: rows, columns: dimension)
            for i in 0..<rows where generator.nextUniform() < 0.5 {
                z.setRow(i, to: generator.gaussians(count: dimension, scale: options.initializationScale))
            }
            return z
        }
    }

    /// One epoch over `train`; appends and returns its record (test accuracy on `test`).
    @discardableResult
    public mutating func trainEpoch(train: Dataset, test: Dataset) throws -> EpochRecord {
        let start = DispatchTime.now().uptimeNanoseconds
        let estimator = try options.gradientEstimator
        let solver = try options.forwardSolver
        var lossSum = 0.0, correct = 0, total = 0, nfe = 0.0, vjps = 0.0, forward = 0.0, backward = 0.0
        var samples = 0, forwardConverged = 0, backwardConverged = 0
        let batches = train.batches(size: options.batchSize, seed: options.seed, epoch: epoch)
        for batch in batches {
            var generator = SplitMix64(seed: Dataset.mix(options.seed, UInt64(optimizerState.step) &+ 0xB00F))
            var budget = options.maxIterations
            if let low = options.randomBudgetMin {
                budget = low + Int(generator.next() % UInt64(options.maxIterations - low + 1))
            }
            let criteria = try options.forwardCriteria(maxIterations: budget)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let bound = try model.bind(batch.inputs, positions: batch.positions)
            let z0 = initialBatch(rows: bound.batchSize, dimension: bound.dimension, generator: &generator)
            // The result carries the solver's by-products (Broyden's inverse, for SHINE).
            let result = try solver.solve(bound, from: z0, criteria: criteria)
            let t1 = DispatchTime.now().uptimeNanoseconds
            var step = try model.lossAndGradient(input: batch.inputs, bound: bound, solution: result.solution,
                                             targets: batch.targets, loss: options.loss, estimator: estimator,
                                             byproducts: result.byproducts)
            guard step.loss.isFinite, step.gradient.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
                throw TrainingError("epoch \(epoch + 1), step \(optimizerState.step + 1): the training \(step.loss.isFinite ? "gradient has a non-finite entry" : "loss is \(step.loss)"); training stopped and the last checkpoint (epoch \(epoch)) was kept; expected a finite loss (try a smaller learning rate, gradient clipping or a larger forward budget)")
            }
            var products = step.backward.statistics.vectorJacobianProducts + step.backward.statistics.parameterProducts
            if options.jacobianWeight > 0 && optimizerState.step % options.jacobianFrequency == 0 {
                let probes = Matrix.gaussian(rows: bound.batchSize, columns: bound.dimension, using: &generator)
                let penalty = try JacobianPenalty.estimate(cell: bound, at: result.solution, probes: probes)
                let g = try model.combine(cell: penalty.parameters, input: penalty.input, taskInput: batch.inputs, head: nil)
                step.gradient = zip(step.gradient, g).map { a, b in
                    NamedArray(name: a.name, shape: a.shape, values: zip(a.values, b.values).map { $0 + options.jacobianWeight * $1 })
                }
                products += 3
            }
            let updated = try options.optimizer.finiteStep(model.parameters, gradient: step.gradient, state: &optimizerState,
                                                           epoch: epoch, advice: "try a smaller learning rate or gradient clipping")
            model = try model.replacingParameters(updated)
            let t2 = DispatchTime.now().uptimeNanoseconds
            forward += Double(t1 - t0) * 1e-9
            backward += Double(t2 - t1) * 1e-9
            lossSum += step.loss
            correct += step.correct.filter { $0 }.count
            total += step.correct.count
            nfe += Double(result.mostEvaluations)
            samples += result.samples.count
            forwardConverged += result.samples.filter(\.converged).count
            if step.backward.converged { backwardConverged += 1 }
            vjps += Double(products)
        }
        let steps = Double(max(batches.count, 1))
        epoch += 1
        let testAccuracy = try evaluate(test, maxIterations: options.maxIterations).accuracy
        let record = EpochRecord(epoch: epoch, loss: lossSum / steps, accuracy: Double(correct) / Double(max(total, 1)),
                                 testAccuracy: testAccuracy, forwardEvaluations: nfe / steps, backwardProducts: vjps / steps,
                                 forwardSeconds: forward, backwardSeconds: backward,
                                 epochSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9,
                                 steps: optimizerState.step,
                                 forwardConverged: Double(forwardConverged) / Double(max(samples, 1)),
                                 backwardConverged: Double(backwardConverged) / steps)
        log.append(record)
        return record
    }

    /// The model's accuracy on `data` from z₀ = 0 with at most `maxIterations` forward iterations.
    public func evaluate(_ data: Dataset, maxIterations: Int, batchSize: Int = 64) throws -> Evaluation {
        let solver = try options.forwardSolver
        let criteria = try options.forwardCriteria(maxIterations: maxIterations)
        var right = 0, positions = 0, lossSum = 0.0, rows = 0, nfe = 0.0, converged = 0
        var correct = [Bool]()
        for batch in data.orderedBatches(size: batchSize) {
            let bound = try model.bind(batch.inputs, positions: batch.positions)
            let result = try solver.solve(bound, from: Matrix(rows: bound.batchSize, columns: bound.dimension), criteria: criteria)
            let (value, _, hits) = options.loss.evaluate(logits: try model.logits(result.solution, positions: batch.positions),
                                                       targets: batch.targets)
            lossSum += value * Double(hits.count)
            rows += hits.count
            right += hits.filter { $0 }.count
            positions += hits.count
            for i in 0..<bound.batchSize {
                correct.append(hits[(i * batch.positions)..<((i + 1) * batch.positions)].allSatisfy { $0 })
                nfe += Double(result.samples[i].evaluations)
                if result.samples[i].converged { converged += 1 }
            }
        }
        let n = Double(max(correct.count, 1))
        return Evaluation(maxIterations: maxIterations, accuracy: Double(right) / Double(max(positions, 1)),
                          exampleAccuracy: Double(correct.filter { $0 }.count) / n, loss: lossSum / Double(max(rows, 1)),
                          correct: correct, meanEvaluations: nfe / n, convergedFraction: Double(converged) / n)
    }

    /// The AA score of the model on the first `samples` examples of `data`'s first group
    /// (``PathIndependence/alignment(of:solver:reference:criteria:)``), with each example's
    /// correctness at the same budget.
    public func alignment(_ data: Dataset, samples: Int, maxIterations: Int) throws -> (score: Double, perExample: [Double], correct: [Bool]) {
        let group = data.groups[0]
        let batch = group.batch(Array(0..<min(samples, group.count)))
        let bound = try model.bind(batch.inputs, positions: batch.positions)
        let solver = try options.forwardSolver
        let criteria = try options.forwardCriteria(maxIterations: maxIterations)
        let reference = try solver.solve(bound, from: Matrix(rows: bound.batchSize, columns: bound.dimension), criteria: criteria)
        let hits = options.loss.evaluate(logits: try model.logits(reference.solution, positions: batch.positions), targets: batch.targets).correct
        let correct = (0..<bound.batchSize).map { i in hits[(i * batch.positions)..<((i + 1) * batch.positions)].allSatisfy { $0 } }
        let a = try PathIndependence.alignment(of: bound, solver: solver, reference: reference.solution, criteria: criteria)
        return (a.score, a.perExample, correct)
    }

    /// ``JacobianAtFixedPoints`` of the cell at the fixed points of the first `samples` examples of
    /// `data`'s first group.
    public func jacobianAtFixedPoints(_ data: Dataset, samples: Int, maxIterations: Int, probes: Int = 16) throws -> JacobianAtFixedPoints {
        let group = data.groups[0]
        let batch = group.batch(Array(0..<min(samples, group.count)))
        let bound = try model.bind(batch.inputs, positions: batch.positions)
        return try JacobianAtFixedPoints(of: bound, solver: try options.forwardSolver,
                                         criteria: try options.forwardCriteria(maxIterations: maxIterations), probes: probes)
    }
}

/// The cell's Jacobian J = ∂f/∂z at the fixed points a trained model reaches from z₀ = 0: per
/// sample, the spectral radius ρ(J) (Arnoldi power iteration on Jᵀ,
/// ``JacobianDiagnostics/spectralRadius(of:at:options:)``) and ‖J‖_F²/d (Hutchinson,
/// ``JacobianDiagnostics/hutchinson(of:at:probes:seed:)``), the two quantities the Jacobian
/// penalty (Bai, Koltun, Kolter, "Stabilizing Equilibrium Models by Jacobian Regularization",
/// ICML 2021) is meant to keep small; and whether each sample's solve converged (at a point that
/// is not a fixed point, J describes that point only, and the implicit gradient does not apply).
public struct JacobianAtFixedPoints: Sendable, Equatable {
    public var spectralRadius: [Double]
    public var frobeniusSquaredPerDimension: [Double]
    public var converged: [Bool]

    /// Solves `map` from zero with `solver` and `criteria`, then measures J at the solution.
    public init<Map: DifferentiableMap>(of map: Map, solver: any FixedPointSolver, criteria: StoppingCriteria, probes: Int = 16) throws {
        let result = try solver.solve(map, from: Matrix(rows: map.batchSize, columns: map.dimension), criteria: criteria)
        spectralRadius = try JacobianDiagnostics.spectralRadius(of: map, at: result.solution).estimates
        frobeniusSquaredPerDimension = try JacobianDiagnostics.hutchinson(of: map, at: result.solution, probes: probes)
            .squaredNorms.map { $0 / Double(map.dimension) }
        converged = result.samples.map(\.converged)
    }

    /// The medians over the samples, and the converged fraction.
    public var summary: (spectralRadius: Double, frobeniusSquaredPerDimension: Double, convergedFraction: Double) {
        (VectorComparison.median(spectralRadius), VectorComparison.median(frobeniusSquaredPerDimension),
                Double(converged.filter { $0 }.count) / Double(max(converged.count, 1)))
    }
}
