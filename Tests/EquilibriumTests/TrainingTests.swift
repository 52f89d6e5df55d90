import Foundation
import Testing
import Equilibrium

/// Central finite difference of `f` along every coordinate of `x`.
private func numericGradient(_ x: [Double], step h: Double = 1e-6, _ f: ([Double]) throws -> Double) rethrows -> [Double] {
    try (0..<x.count).map { j in
        var p = x, m = x
        p[j] += h
        m[j] -= h
        return try (f(p) - f(m)) / (2 * h)
    }
}

/// A fixed point of a model's cell to near machine precision (relative residual < 1e-11; the
/// norms' rounding keeps the residual cells from 1e-14).
private func modelFixedPoint<Map: FixedPointMap>(_ map: Map) throws -> Matrix {
    let criteria = try StoppingCriteria(tolerance: 1e-13, measure: .relative, maxIterations: 2000, recordHistory: false)
    let result = try AndersonAcceleration().solve(map, from: Matrix(rows: map.batchSize, columns: map.dimension), criteria: criteria)
    #expect(result.samples.allSatisfy { $0.relativeResidual < 1e-11 }, "not tight: \(result.samples.map(\.relativeResidual)) \(result.samples.map(\.outcome)) d=\(map.dimension)")
    return result.solution
}

/// The loss of `model` on `u` through a fixed point solved to machine precision.
private func tightLoss<C: TrainableCell>(_ model: EquilibriumModel<C>, _ u: Matrix, positions: Int, targets: [Int], loss: Loss) throws -> Double {
    let bound = try model.bind(u, positions: positions)
    let z = try modelFixedPoint(bound)
    return loss.evaluate(logits: try model.logits(z, positions: positions), targets: targets).value
}

/// max over parameters of ‖g − g_fd‖ / ‖g_fd‖ for the exact implicit gradient (dense LU adjoint)
/// against a central difference of the loss along a random direction per parameter array.
private func modelGradientError<C: TrainableCell>(_ model: EquilibriumModel<C>, _ u: Matrix, positions: Int, targets: [Int],
                                                  loss: Loss) throws -> Double {
    let bound = try model.bind(u, positions: positions)
    let z = try modelFixedPoint(bound)
    let g = try model.lossAndGradient(input: u, bound: bound, solution: z, targets: targets, loss: loss,
                                  estimator: ImplicitGradient.denseLU).gradient
    var generator = SplitMix64(seed: 11)
    var worst = 0.0
    let theta = model.parameters
    for (index, p) in theta.enumerated() {
        // Directional derivative along a random unit direction v: gᵀv vs (L(θ + hv) − L(θ − hv)) / 2h.
        let v = generator.gaussians(count: p.values.count)
        let h = 1e-5
        func shifted(_ sign: Double) throws -> Double {
            var q = theta
            q[index].values = zip(p.values, v).map { $0 + sign * h * $1 }
            return try tightLoss(try model.replacingParameters(q), u, positions: positions, targets: targets, loss: loss)
        }
        let numeric = try (shifted(1) - shifted(-1)) / (2 * h)
        let analytic = zip(g[index].values, v).reduce(0) { $0 + $1.0 * $1.1 }
        worst = max(worst, abs(analytic - numeric) / max(abs(numeric), 1e-8))
    }
    return worst
}

@Suite("Training")
struct TrainingTests {
    @Test("Loss gradients match central differences", arguments: Loss.allCases)
    func lossGradient(loss: Loss) {
        var generator = SplitMix64(seed: 1)
        let logits = Matrix.gaussian(rows: 4, columns: 3, using: &generator)
        let targets = [0, 2, 1, 2]
        let analytic = loss.evaluate(logits: logits, targets: targets).gradient.storage
        let numeric = numericGradient(logits.storage) { loss.evaluate(logits: Matrix(rows: 4, columns: 3, storage: $0), targets: targets).value }
        for (a, n) in zip(analytic, numeric) { #expect(abs(a - n) < 1e-8) }
    }

    @Test("Cross-entropy of huge logits stays finite")
    func stableSoftmax() throws {
        let r = Loss.crossEntropy.evaluate(logits: try Matrix([[1000, -1000]]), targets: [1])
        #expect(r.value.isFinite && abs(r.value - 2000) < 1e-9)
    }

    @Test("Linear layer gradients match central differences")
    func linearLayer() throws {
        var generator = SplitMix64(seed: 2)
        let layer = try LinearLayer(weight: .gaussian(rows: 3, columns: 4, using: &generator), bias: [0.1, -0.2, 0.3])
        let x = Matrix.gaussian(rows: 5, columns: 4, using: &generator)
        let c = Matrix.gaussian(rows: 5, columns: 3, using: &generator)
        func value(_ l: LinearLayer, _ x: Matrix) throws -> Double { zip(try l(x).storage, c.storage).reduce(0) { $0 + $1.0 * $1.1 } }
        let g = try layer.gradients(input: x, upstream: c)
        let gw = try numericGradient(layer.weight.storage) { try value(LinearLayer(weight: Matrix(rows: 3, columns: 4, storage: $0), bias: layer.bias), x) }
        let gb = try numericGradient(layer.bias) { try value(LinearLayer(weight: layer.weight, bias: $0), x) }
        let gx = try numericGradient(x.storage) { try value(layer, Matrix(rows: 5, columns: 4, storage: $0)) }
        for (a, n) in zip(g.weight.storage + g.bias + g.input.storage, gw + gb + gx) { #expect(abs(a - n) < 1e-8) }
    }

    @Test("The whole model's exact gradient matches a finite difference through the solve (tanh, residual, conv)")
    func modelGradient() throws {
        var options = TrainingOptions()
        options.width = 8
        options.innerWidth = 4
        options.groups = 2
        var generator = SplitMix64(seed: 5)
        let u = Matrix.gaussian(rows: 3, columns: 2, using: &generator)
        let tanh = try ModelFactory.tanh(options, inputs: 2, classes: 3)
        #expect(try modelGradientError(tanh, u, positions: 1, targets: [0, 1, 2], loss: .crossEntropy) < 1e-5)
        let residual = try ModelFactory.residual(options, inputs: 2, classes: 3)
        #expect(try modelGradientError(residual, u, positions: 1, targets: [2, 1, 0], loss: .meanSquaredError) < 1e-5)
        options.width = 4
        let conv = try ModelFactory.conv(options, inputs: 1, classes: 2)
        let bits = Matrix(rows: 2, columns: 5, storage: [1, -1, -1, 1, 1, -1, 1, 1, -1, 1])
        #expect(try modelGradientError(conv, bits, positions: 5, targets: [1, 0, 1, 1, 1, 0, 0, 1, 0, 0], loss: .crossEntropy) < 1e-5)
    }

    @Test("Adam and SGD minimise a quadratic", arguments: [Optimizer.Kind.adam, .sgd])
    func optimizerQuadratic(kind: Optimizer.Kind) {
        // f(θ) = ½ Σ aⱼ (θⱼ − cⱼ)², minimum at c.
        let a = [1.0, 4.0, 0.5], c = [1.0, -2.0, 3.0]
        let optimizer = Optimizer(kind: kind, learningRate: kind == .adam ? 0.05 : 0.1, momentum: kind == .sgd ? 0.5 : 0)
        var theta = [NamedArray(name: "θ", shape: [3], values: [0, 0, 0])]
        var state = OptimizerState()
        for _ in 0..<2000 {
            let g = (0..<3).map { a[$0] * (theta[0].values[$0] - c[$0]) }
            theta = optimizer.step(theta, gradient: [NamedArray(name: "θ", shape: [3], values: g)], state: &state)
        }
        for j in 0..<3 { #expect(abs(theta[0].values[j] - c[j]) < 1e-3) }
        #expect(state.step == 2000)
    }

    @Test("The data order is seeded: reproducible, a permutation, different across epochs")
    func dataOrder() {
        let data = PrefixParity.dataset(count: 50, lengths: 3...5, seed: 4)
        #expect(data.count == 50)
        let a = data.batches(size: 8, seed: 9, epoch: 0), b = data.batches(size: 8, seed: 9, epoch: 0)
        let c = data.batches(size: 8, seed: 9, epoch: 1)
        #expect(a == b)
        #expect(a != c)
        #expect(a.reduce(0) { $0 + $1.inputs.rows } == 50)
        for batch in a {
            // Every target is the prefix parity of its input bits.
            for i in 0..<batch.inputs.rows {
                var parity = 0
                for p in 0..<batch.positions {
                    parity ^= batch.inputs[i, p] > 0 ? 1 : 0
                    #expect(batch.targets[i * batch.positions + p] == parity)
                }
            }
        }
    }

    @Test("Training a small spirals model lowers the loss", arguments: TrainingOptions.EstimatorKind.allCases)
    func spiralsTraining(estimator: TrainingOptions.EstimatorKind) throws {
        var options = TrainingOptions()
        options.estimator = estimator
        // SHINE reuses the forward Broyden's inverse estimate.
        if estimator == .shine { options.solver = .broyden }
        options.trainSize = 96
        options.testSize = 30
        options.width = 16
        options.epochs = 4
        options.optimizer.learningRate = 0.02
        let (train, test) = options.datasets()
        var session = try Training.session(options)
        try Training.run(&session, train: train, test: test, directory: nil)
        #expect(session.log.count == 4)
        #expect(session.log.last!.loss < session.log.first!.loss)
        #expect(session.log.allSatisfy { $0.forwardEvaluations > 0 && $0.backwardProducts > 0 })
    }

    @Test("Resuming from a checkpoint equals training straight through, bit for bit")
    func resume() throws {
        var options = TrainingOptions()
        options.task = .parity
        options.cell = .conv
        options.width = 4
        options.innerWidth = 4
        options.groups = 2
        options.trainSize = 24
        options.testSize = 4
        options.trainLengthMin = 4
        options.trainLengthMax = 6
        options.testLength = 8
        options.maxIterations = 8
        options.randomBudgetMin = 3
        options.initialization = .mixed
        options.jacobianWeight = 0.1
        options.jacobianFrequency = 2
        options.batchSize = 8
        options.epochs = 4
        let (train, test) = options.datasets()
        var straight = try Training.session(options)
        try Training.run(&straight, train: train, test: test, directory: nil)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deq-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var half = options
        half.epochs = 2
        var first = try Training.session(half)
        try Training.run(&first, train: train, test: test, directory: directory)
        var second = try Training.resume(from: directory, epochs: 4)
        #expect(second.epoch == 2)
        try Training.run(&second, train: train, test: test, directory: directory)
        let a = straight.checkpoint, b = second.checkpoint
        #expect(a.parameters == b.parameters)
        #expect(a.optimizerState == b.optimizerState)
        #expect(a.log.map(\.loss) == b.log.map(\.loss))
        // And the files on disk hold the same state.
        let reread = try TrainingCheckpoint.read(from: directory)
        #expect(reread.parameters == a.parameters && reread.optimizerState == a.optimizerState && reread.epoch == 4)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("log.tsv").path))
    }

    @Test("A bad checkpoint directory is a clear error")
    func badCheckpoint() {
        let missing = URL(fileURLWithPath: "/nonexistent/deq-checkpoint")
        #expect(throws: TrainingError.self) { _ = try Training.resume(from: missing) }
        var options = TrainingOptions()
        options.task = .parity
        #expect(throws: TrainingError.self) { _ = try Training.session(options) }
    }

    @Test("The Jacobian penalty's gradient matches a finite difference of the penalty (z fixed)")
    func jacobianPenalty() throws {
        var generator = SplitMix64(seed: 8)
        let d = 5, b = 3
        let cell = try TanhCell(weight: .gaussian(rows: d, columns: d, scale: 0.3, using: &generator),
                            inputWeight: .gaussian(rows: d, columns: 2, using: &generator), bias: generator.gaussians(count: d),
                            input: .gaussian(rows: b, columns: 2, using: &generator))
        let z = Matrix.gaussian(rows: b, columns: d, scale: 0.5, using: &generator)
        let eps = Matrix.gaussian(rows: b, columns: d, using: &generator)
        func penalty(_ c: TanhCell) throws -> Double {
            // R = 1/(B d) Σ ‖Jᵢᵀ εᵢ‖² with dense Jacobians at the fixed z.
            var total = 0.0
            for i in 0..<b {
                let fz = try c(z).row(i)
                let s = fz.map { 1 - $0 * $0 }
                for k in 0..<d {
                    var w = 0.0
                    for r in 0..<d { w += eps[i, r] * s[r] * c.weight[r, k] }
                    total += w * w
                }
            }
            return total / Double(b * d)
        }
        let estimate = try JacobianPenalty.estimate(cell: cell, at: z, probes: eps)
        // The Hutchinson estimate with the same probes as the reference: the same sums of ‖εᵀJ‖² (d ≤ 16
        // terms each, ≤ 100 in all) in another order: 2γ₁₀₀ · value ≈ 2e-14 · value with value ≤ 10; 1e-12 is a
        // 5× margin.
        #expect(try abs(estimate.value - penalty(cell)) < 1e-12)
        let theta = cell.parameters
        for (index, p) in theta.enumerated() {
            let numeric = try numericGradient(p.values, step: 1e-6) { values in
                var q = theta
                q[index].values = values
                return try penalty(cell.replacingParameters(q))
            }
            let error = GradientComparison.relativeError(estimate.parameters[index].values, numeric)
            #expect(error < 1e-6, "\(p.name): relative error \(error)")
        }
        let numericInput = try numericGradient(cell.input.storage, step: 1e-6) { try penalty(cell.binding(input: Matrix(rows: b, columns: 2, storage: $0))) }
        #expect(GradientComparison.relativeError(estimate.input.storage, numericInput) < 1e-6)
    }

    @Test("SHINE needs the Broyden forward solver")
    func shineNeedsBroyden() {
        var options = TrainingOptions()
        options.estimator = .shine
        #expect(options.problems()?.contains("the shine estimator needs a forward solver that leaves an inverse-Jacobian estimate") == true)
        options.solver = .broyden
        #expect(options.problems() == nil)
    }
}

