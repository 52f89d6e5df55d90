import Foundation
import Testing
import Equilibrium

/// The shipped digits folder.
let digitsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Data/digits").standardized

/// The convolutional DEQ classifier (stem → norm → DEQ → norm → pool → head) and the image loader.
@Suite struct DigitsModelTests {
    /// A tiny model: 1 × 4 × 4 images, C = 4, h = 4, 2 groups, pool 2, 3 classes; the cell's
    /// weights at scale 0.05 (not the tutorial's 0.01) so that every parameter moves the loss
    /// while the solve still reaches a relative residual of 1e-11 (at 0.3 it did not).
    static func tinyModel() throws -> ConvClassifier {
        try ConvClassifier.random(inputChannels: 1, height: 4, width: 4, classes: 3, channels: 4, innerChannels: 4, groups: 2,
                                  pool: 2, cellScale: 0.05, seed: 7)
    }

    static func fixedPoint(_ cell: ConvResidualCell) throws -> Matrix {
        let criteria = try StoppingCriteria(tolerance: 1e-13, measure: .relative, maxIterations: 2000, recordHistory: false)
        let result = try AndersonAcceleration().solve(cell, from: Matrix(rows: cell.batchSize, columns: cell.dimension), criteria: criteria)
        // The reference fixed point's own solve tolerance: a tightness check of the setup, not a rounding bound.
        #expect(result.samples.allSatisfy { $0.relativeResidual < 1e-11 }, "not tight: \(result.samples.map(\.relativeResidual))")
        return result.solution
    }

    static func loss(_ model: ConvClassifier, _ u: Matrix, _ y: [Int]) throws -> Double {
        let z = try fixedPoint(model.bind(u))
        return Loss.crossEntropy.evaluate(logits: try model.logits(z), targets: y).value
    }

    @Test("The whole network's implicit gradient matches central differences (stem, norms, cell, head)")
    func wholeNetworkGradient() throws {
        let model = try Self.tinyModel()
        var generator = SplitMix64(seed: 3)
        let u = Matrix.gaussian(rows: 2, columns: 16, using: &generator)
        let y = [2, 0]
        let bound = try model.bind(u)
        let z = try Self.fixedPoint(bound)
        let g = try model.lossAndGradient(images: u, bound: bound, solution: z, targets: y, estimator: ImplicitGradient.denseLU).gradient
        let theta = model.parameters
        #expect(g.map(\.name) == theta.map(\.name))
        for (index, p) in theta.enumerated() {
            // gᵀv against (L(θ + hv) − L(θ − hv)) / 2h along a random direction v per array. With
            // h = 1e-5 the truncation error is O(h²·L‴) ≈ 1e-10 and the fixed points' residual
            // (< 1e-11 relative) adds ≈ 1e-11/h = 1e-6 relative at most: 1e-5 leaves a 10× margin.
            let v = generator.gaussians(count: p.values.count)
            let h = 1e-5
            func shifted(_ sign: Double) throws -> Double {
                var q = theta
                q[index].values = zip(p.values, v).map { $0 + sign * h * $1 }
                return try Self.loss(model.replacingParameters(q), u, y)
            }
            let numeric = try (shifted(1) - shifted(-1)) / (2 * h)
            let analytic = zip(g[index].values, v).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(analytic - numeric) <= 1e-5 * max(abs(numeric), 1e-6), "\(p.name): analytic \(analytic), numeric \(numeric)")
        }
    }

    @Test("Pooling and its adjoint are adjoint: ⟨pool(n), g⟩ = ⟨n, poolᵀ(g)⟩")
    func poolingAdjoint() throws {
        let model = try Self.tinyModel()
        var generator = SplitMix64(seed: 9)
        let n = Matrix.gaussian(rows: 3, columns: 4 * 16, using: &generator)
        let g = Matrix.gaussian(rows: 3, columns: model.features, using: &generator)
        let left = zip(model.pooled(n).storage, g.storage).reduce(0) { $0 + $1.0 * $1.1 }
        let right = zip(n.storage, model.pooledAdjoint(g).storage).reduce(0) { $0 + $1.0 * $1.1 }
        // Two sums of 3·64 products of O(1) terms: rounding ≤ 200·ε·Σ|terms| ≈ 1e-11.
        #expect(abs(left - right) < 1e-11 * max(1, abs(left)))
    }

    @Test("The shipped digits: 1437 / 360 images of 1 × 8 × 8, 10 classes, stratified")
    func shippedDigits() throws {
        let (train, test) = try ImageDataset.loadSplits(from: digitsDirectory)
        #expect(train.count == 1437 && test.count == 360)
        #expect(train.channels == 1 && train.height == 8 && train.width == 8 && train.classes == 10)
        #expect(train.images.storage.allSatisfy { $0 >= 0 && $0 <= 16 && $0 == $0.rounded() })
        for c in 0..<10 {
            let share = Double(test.labels.filter { $0 == c }.count) / Double(train.labels.filter { $0 == c }.count + test.labels.filter { $0 == c }.count)
            // 20 % of each class, ± one image of the ~180 per class.
            #expect(abs(share - 0.2) < 1.0 / 170, "class \(c): test share \(share)")
        }
    }

    @Test("Bad image files are errors naming the file and the problem")
    func badImageFiles() throws {
        let scratch = try ScratchDirectory("deq-images")
        defer { scratch.cleanUp() }
        let dir = scratch.url
        func expectError(_ text: String) {
            #expect { _ = try ImageDataset.load(from: dir, split: "train") } throws: { "\($0)".contains(text) }
        }
        expectError("train-images.npy: not found")
        try NumPyArray(shape: [2, 3], checking: [1, 2, 3, 4, 5, 6]).write(to: dir.appendingPathComponent("train-images.npy"))
        try NumPyArray(shape: [2], checking: [0, 1]).write(to: dir.appendingPathComponent("train-labels.npy"))
        expectError("train-images.npy: shape [2, 3]; expected N × C × H × W")
        try NumPyArray(shape: [2, 1, 2, 2], checking: [Double](repeating: 1, count: 8)).write(to: dir.appendingPathComponent("train-images.npy"))
        try NumPyArray(shape: [3], checking: [0, 1, 1]).write(to: dir.appendingPathComponent("train-labels.npy"))
        expectError("train-labels.npy: shape [3]; expected [2]")
        try NumPyArray(shape: [2], checking: [0, 1.5]).write(to: dir.appendingPathComponent("train-labels.npy"))
        expectError("train-labels.npy: label 1.5 at index 1")
        try NumPyArray(shape: [2], checking: [0, 4]).write(to: dir.appendingPathComponent("train-labels.npy"))
        #expect { _ = try ImageDataset.load(from: dir, split: "train", classes: 3) } throws: { "\($0)".contains("label 4 at index 1; expected a class in 0 … 2") }
        try NumPyArray(shape: [2, 1, 2, 2], checking: [1, 1, 1, .nan, 1, 1, 1, 1]).write(to: dir.appendingPathComponent("train-images.npy"))
        expectError("train-images.npy: value nan at flat index 3")
        try NumPyArray(shape: [2, 2, 2], checking: [Double](repeating: 1, count: 8)).write(to: dir.appendingPathComponent("train-images.npy"))
        #expect(try ImageDataset.load(from: dir, split: "train").channels == 1)
    }

    @Test("A short digits run on a subset learns: test accuracy far above chance, and resumes exactly")
    func shortRunLearns() throws {
        var options = Self.digitsOptions(width: 8)
        options.epochs = 2
        options.batchSize = 32
        options.maxIterations = 12
        options.optimizer = Optimizer(learningRate: 1e-2)
        options.dataDirectory = digitsDirectory.path
        options.pool = 2
        let (train, test) = try Self.digitsSubset(320)
        let straight = try Self.train(options, train, test, directory: nil)
        // Chance is 10 %; two epochs on 320 images reach well above 50 % (observed ≈ 80 %).
        #expect(straight.log.last!.testAccuracy > 0.5, "\(straight.log.map(\.testAccuracy))")
        #expect(straight.log.last!.loss < straight.log.first!.loss)
        let scratch = try ScratchDirectory("deq-digits-resume")
        defer { scratch.cleanUp() }
        // One epoch of the same 2-epoch run (the cosine schedule spans both), saved, then resumed.
        var first = try Training.session(options)
        _ = try first.trainEpoch(train: train, test: test)
        try first.checkpoint.write(to: scratch.url)
        var resumed = try Training.resume(from: scratch.url)
        #expect(resumed.epoch == 1)
        try Training.run(&resumed, train: train, test: test, directory: scratch.url)
        #expect(resumed.checkpoint.parameters == straight.checkpoint.parameters)
        #expect(resumed.checkpoint.optimizerState == straight.checkpoint.optimizerState)
    }

    @Test("Fixed-point reuse starts each image at its previous fixed point")
    func reuseWarmStartsEachImage() throws {
        var options = Self.digitsOptions(width: 4)
        options.epochs = 2
        options.batchSize = 16
        options.maxIterations = 40
        options.tolerance = 1e-4
        // Adam moves every parameter by about the learning rate per step: 1e-12 leaves each
        // fixed point where it was to ≈ 1e-10, far inside the tolerance 1e-4.
        options.optimizer = Optimizer(learningRate: 1e-12)
        options.dataDirectory = digitsDirectory.path
        options.schedule = "constant"
        let (train, test) = try Self.digitsSubset(48)
        var cold = options
        cold.reuse = nil
        var warm = options
        warm.reuse = true
        let a = try Self.train(cold, train, test, directory: nil).log
        let b = try Self.train(warm, train, test, directory: nil).log
        // Epoch 1 is identical (no warm starts yet); in epoch 2 every warm start already meets
        // the tolerance: one evaluation per image.
        #expect(a[0].forwardEvaluations == b[0].forwardEvaluations)
        #expect(a[1].forwardEvaluations > 2)
        #expect(b[1].forwardEvaluations == 1, "\(b.map(\.forwardEvaluations))")
    }

    @Test("Data-parallel steps (sampleThreads 2) take the one-thread step's gradient up to rounding, with the same counts")
    func dataParallelStepMatchesOneThread() throws {
        var options = Self.digitsOptions(width: 4)
        options.epochs = 1
        options.batchSize = 48
        options.maxIterations = 30
        options.tolerance = 1e-6
        // One plain SGD step with learning rate 1 from the same start: p₁ = p₀ − g, so p₀ − p₁ is
        // the step's gradient itself.
        options.optimizer = Optimizer(kind: .sgd, learningRate: 1)
        options.schedule = "constant"
        options.dataDirectory = digitsDirectory.path
        let (train, test) = try Self.digitsSubset(48)
        let start = try Training.session(options).checkpoint.parameters.flatMap(\.values)
        func gradient(threads: Int?) throws -> (g: [Double], record: EpochRecord) {
            var o = options
            o.sampleThreads = threads
            let session = try Self.train(o, train, test, directory: nil)
            return (zip(start, session.checkpoint.parameters.flatMap(\.values)).map { $0 - $1 }, session.log[0])
        }
        let one = try gradient(threads: nil), two = try gradient(threads: 2), three = try gradient(threads: 3)
        let norm = sqrt(one.g.reduce(0) { $0 + $1 * $1 })
        #expect(norm > 1e-3, "the step's gradient vanished: \(norm)")
        for other in [two, three] {
            // Same per-image evaluation and backward counts: the groups' solves took the batch's decisions.
            #expect(other.record.forwardEvaluations == one.record.forwardEvaluations)
            #expect(other.record.backwardProducts == one.record.backwardProducts)
            #expect(other.record.forwardConverged == one.record.forwardConverged)
            // Bound: with the same iterations, the groups' fixed points and adjoints differ from the
            // batch's by rounding (GEMMs over fewer rows, sums regrouped), amplified by at most the
            // solves' 1/(1 − ρ) ≲ 10² and the network's conditioning; ε·10⁷ = 2e-9 of ‖g‖ covers
            // d = 256 entries per sum with a 10³ margin (observed ≈ 1e-15).
            let difference = sqrt(zip(one.g, other.g).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
            #expect(difference <= 1e7 * Double.ulpOfOne * norm, "‖Δg‖ = \(difference), ‖g‖ = \(norm)")
            #expect(abs(other.record.loss - one.record.loss) <= 1e7 * Double.ulpOfOne * abs(one.record.loss))
        }
    }

    @Test("Bad sample-thread counts are refused with the value and the range")
    func badSampleThreads() throws {
        var options = Self.digitsOptions(width: 4)
        for bad in [0, -1, 257] {
            options.sampleThreads = bad
            let problems = options.problems() ?? ""
            #expect(problems.contains("sample threads must lie in 1 ... 256, got \(bad)"), "\(problems)")
        }
        var dense = TrainingOptions()
        dense.sampleThreads = 2
        #expect(dense.problems()?.contains("sample threads apply to the digits task only") == true)
        dense.sampleThreads = 1
        #expect(dense.problems() == nil)
    }

    /// The digits task on the conv cell with C = h = `width` channels in 2 groups.
    static func digitsOptions(width: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.task = .digits
        options.cell = .conv
        options.width = width
        options.innerWidth = width
        options.groups = 2
        return options
    }

    /// The first n shipped training images as one dataset, and the shipped test split.
    static func digitsSubset(_ n: Int) throws -> (train: Dataset, test: Dataset) {
        let (full, test) = try ImageDataset.loadSplits(from: digitsDirectory)
        let subset = Array(0..<n)
        let train = Dataset(groups: [.init(positions: 1, inputs: ImageTrainer.rows(full.images, subset), targets: subset.map { full.labels[$0] })],
                            inputChannels: 64, classes: 10)
        return (train, test.dataset)
    }

    static func train(_ options: TrainingOptions, _ train: Dataset, _ test: Dataset, directory: URL?) throws -> any TrainingSession {
        var session = try Training.session(options)
        try Training.run(&session, train: train, test: test, directory: directory)
        return session
    }
}
