import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

extension TrainingOptions.Task: ExpressibleByArgument {}
extension TrainingOptions.CellKind: ExpressibleByArgument {}
extension TrainingOptions.EstimatorKind: ExpressibleByArgument {}
extension TrainingOptions.SolverKind: ExpressibleByArgument {}
extension TrainingOptions.InitKind: ExpressibleByArgument {}
extension Optimizer.Kind: ExpressibleByArgument {}
extension Loss: ExpressibleByArgument {}

/// `deq train`: train a small equilibrium model on a generated task, writing a checkpoint and a
/// per-epoch log; or run a bundled training experiment.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an equilibrium model (prefix parity, spirals, or the convolutional DEQ on the UCI digits), or run a training experiment.",
        discussion: """
            Writes a checkpoint after every epoch as one unit: OUTPUT/checkpoint-eEPOCH-UUID/ \
            (state.json, parameters/*.npy, optimizer/*.npy), then OUTPUT/checkpoint.json, the \
            manifest with every file's SHA-256 (--resume refuses a checkpoint that does not match \
            it); and OUTPUT/log.tsv, OUTPUT/log.gp. --task digits trains the tutorial's \
            convolutional DEQ on Data/digits (or --data DIR). --resume DIR continues the run \
            saved in DIR exactly (same seed, same trajectory) up to --epochs. --experiment NAME \
            runs Experiments/training/NAME.yaml into Results/NAME (see docs/EXPERIMENTS.md, "Training experiments").
            """
    )

    @Option(help: "The task.") var task: TrainingOptions.Task = .spirals
    @Option(help: "The equilibrium cell (parity needs conv; spirals tanh or residual).") var cell: TrainingOptions.CellKind?
    @Option(parsing: .unconditional, help: "Width d of a dense cell or channels C of the conv cell.") var width: Int?
    @Option(name: .customLong("inner-width"), parsing: .unconditional, help: "Inner width h of a residual cell.") var innerWidth: Int?
    @Option(parsing: .unconditional, help: "Norm groups of a residual cell; divides both widths.") var groups: Int?
    @Option(help: "The backward pass through the fixed point.") var estimator: TrainingOptions.EstimatorKind = .implicit
    @Option(name: .customLong("k"), parsing: .unconditional, help: "Steps k of phantom and neumann.") var steps: Int = 5
    @Option(name: .customLong("lambda"), parsing: .unconditional, help: "Damping λ in (0, 2) of phantom and neumann.") var damping: Double = 0.5
    @Option(help: "The optimiser.") var optimizer: Optimizer.Kind = .adam
    @Option(name: .customLong("lr"), parsing: .unconditional, help: "The learning rate.") var learningRate: Double = 1e-2
    @Option(parsing: .unconditional, help: "Momentum of SGD, in [0, 1).") var momentum: Double = 0
    @Option(name: .customLong("clip"), parsing: .unconditional, help: "Clip the gradient's global norm to this.") var clipNorm: Double?
    @Option(help: "The loss.") var loss: Loss = .crossEntropy
    @Option(parsing: .unconditional, help: "Total epochs (with --resume: train until this many are done).") var epochs: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Examples per minibatch.") var batchSize: Int = 32
    @Option(parsing: .unconditional, help: "Seed of the data, the initialisation and every random draw.") var seed: UInt64 = 0
    @Option(help: "The forward solver.") var solver: TrainingOptions.SolverKind = .anderson
    @Option(name: .customLong("max-iter"), parsing: .unconditional, help: "Forward iteration budget (the largest if random).") var maxIterations: Int?
    @Option(name: .customLong("tol"), parsing: .unconditional, help: "Forward residual tolerance for the measure chosen by --stop.") var tolerance: Double = 1e-4
    @Option(help: "Stop each forward solve on the absolute residual ‖f(z) − z‖ or the relative one ‖f(z) − z‖ / ‖f(z)‖ (as deq solve).") var stop: StopMeasure = .rel
    @Option(name: .customLong("max-evals"), parsing: .unconditional, help: "Most f evaluations per sample of a forward solve; no limit by default (as deq solve).") var maxEvals: Int?
    @Option(name: .customLong("init"), help: "Per-sample start z₀: zero, gaussian or mixed (half zero, half Gaussian).") var initialization: TrainingOptions.InitKind = .zero
    @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Scale of the Gaussian start.") var initializationScale: Double = 1
    @Option(name: .customLong("random-budget-min"), parsing: .unconditional, help: "Draw each step's budget uniformly from this to --max-iter.") var randomBudgetMin: Int?
    @Option(name: .customLong("jacobian-weight"), parsing: .unconditional, help: "Weight γ of the Jacobian penalty (0: none).") var jacobianWeight: Double = 0
    @Option(name: .customLong("jacobian-freq"), parsing: .unconditional, help: "Apply the Jacobian penalty every this many steps.") var jacobianFrequency: Int = 1
    @Option(name: .customLong("train-size"), parsing: .unconditional, help: "Training examples.") var trainSize: Int?
    @Option(name: .customLong("test-size"), parsing: .unconditional, help: "Test examples.") var testSize: Int?
    @Option(name: .customLong("min-length"), parsing: .unconditional, help: "Parity: shortest training string.") var minLength: Int = 16
    @Option(name: .customLong("max-length"), parsing: .unconditional, help: "Parity: longest training string.") var maxLength: Int = 32
    @Option(name: .customLong("test-length"), parsing: .unconditional, help: "Parity: length of the test strings.") var testLength: Int = 48
    @Option(help: ArgumentHelp("Digits: the folder of train-images.npy, train-labels.npy, test-images.npy, test-labels.npy (default Data/digits).", valueName: "DIR"), completion: .directory)
    var data: String?
    @Option(parsing: .unconditional, help: "Digits: side p of the average pooling before the head (divides H and W).") var pool: Int?
    @Option(help: "Digits: the learning-rate schedule, cosine or constant.") var schedule: String?
    @Flag(help: "Digits: fixed-point reuse, each training image warm-started from its previous fixed point.") var reuse = false
    @Option(name: .customLong("correction-iterates"), parsing: .unconditional, help: "Digits: sparse fixed-point correction on this many intermediate iterates (0: off).") var correctionIterates: Int?
    @Option(name: .customLong("correction-decay"), parsing: .unconditional, help: "Digits: γ of the correction weights γ^(n+1−j).") var correctionDecay: Double?
    @Option(name: .customLong("sample-threads"), parsing: .unconditional,
            help: ArgumentHelp("Digits: data-parallel steps, each minibatch split into N groups of images solved and differentiated at once, one thread and one BLAS thread each; equal to the 1-thread run up to rounding (Benchmarks/README.md, 9b).", valueName: "N"))
    var sampleThreads: Int?
    @Option(help: ArgumentHelp("Folder for the checkpoint and the log (created if needed).", valueName: "DIR"), completion: .directory)
    var output: String?

    /// How a checkpoint's arrays are stored.
    enum CheckpointFormat: String, ExpressibleByArgument, CaseIterable { case npy, safetensors }
    @Option(name: .customLong("checkpoint-format"),
            help: "Store each checkpoint's arrays as .npy files (npy) or as one arrays.safetensors (safetensors); both are verified by the manifest.")
    var checkpointFormat: CheckpointFormat = .npy
    @Option(help: ArgumentHelp("Continue the run saved in this folder (writes back into it unless --output).", valueName: "DIR"), completion: .directory)
    var resume: String?
    @Option(help: ArgumentHelp("Run the training experiment Experiments/training/NAME.yaml into Results/NAME.", valueName: "NAME"))
    var experiment: String?
    @Flag(help: "With --experiment: the quick version (seconds; for tests).") var quick = false
    @Option(name: .customLong("experiments-dir"), help: "Where training experiment files live.") var experimentsDirectory: String = "Experiments/training"
    @Option(name: .customLong("results-dir"), help: "Where experiment results go.") var resultsDirectory: String = "Results"

    /// The options these flags describe (validated in ``validate()``).
    func makeOptions() -> TrainingOptions {
        var o = TrainingOptions()
        o.task = task
        let digits = task == .digits
        o.cell = cell ?? (task == .spirals ? .tanh : .conv)
        o.width = width ?? (task == .parity || digits ? 16 : 32)
        o.innerWidth = innerWidth ?? (digits ? 32 : o.width)
        o.groups = groups ?? 4
        o.estimator = estimator
        o.phantomSteps = steps
        o.phantomDamping = damping
        o.optimizer = Optimizer(kind: optimizer, learningRate: learningRate, momentum: momentum, clipNorm: clipNorm)
        o.loss = loss
        o.epochs = epochs ?? (digits ? 15 : 10)
        o.batchSize = batchSize
        o.seed = seed
        o.solver = solver
        o.maxIterations = maxIterations ?? (task == .parity ? 40 : 30)
        o.tolerance = tolerance
        o.stopMeasure = stop == .abs ? "abs" : nil
        o.maxEvaluations = maxEvals
        o.initialization = initialization
        o.initializationScale = initializationScale
        o.randomBudgetMin = randomBudgetMin
        o.jacobianWeight = jacobianWeight
        o.jacobianFrequency = jacobianFrequency
        o.trainSize = trainSize ?? (task == .parity ? 400 : 600)
        if digits {
            o.dataDirectory = data ?? "Data/digits"
            o.pool = pool ?? 2
            o.schedule = schedule ?? "cosine"
            o.reuse = reuse ? true : nil
            o.correctionIterates = correctionIterates
            o.correctionDecay = correctionDecay
            o.sampleThreads = sampleThreads
        }
        o.testSize = testSize ?? (task == .parity ? 100 : 300)
        o.trainLengthMin = minLength
        o.trainLengthMax = maxLength
        o.testLength = testLength
        return o
    }

    mutating func validate() throws {
        if experiment != nil && (resume != nil || output != nil) {
            throw ValidationError("--experiment runs into --results-dir; drop --resume and --output")
        }
        if quick && experiment == nil { throw ValidationError("--quick applies to --experiment only") }
        if experiment == nil && resume == nil && output == nil {
            throw ValidationError("give --output DIR (a folder for the checkpoint), --resume DIR or --experiment NAME")
        }
        if resume == nil, experiment == nil, let problems = makeOptions().problems() {
            throw ValidationError(problems)
        }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be ≥ 0; got \(epochs)") }
        if task != .digits && (data != nil || pool != nil || schedule != nil || reuse || correctionIterates != nil || correctionDecay != nil
                               || sampleThreads != nil) {
            throw ValidationError("--data, --pool, --schedule, --reuse, --correction-* and --sample-threads apply to --task digits only")
        }
        if let sampleThreads, resume != nil || experiment != nil {
            throw ValidationError("--sample-threads \(sampleThreads) applies to a new run (--output); a resumed run keeps its saved setting and an experiment sets sampleThreads in its YAML")
        }
        if let output {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError("--output \(output): this is a file; expected a folder (it is created if missing)")
            }
        }
    }

    func run() throws {
        if let experiment {
            let file = URL(fileURLWithPath: experimentsDirectory).appendingPathComponent("\(experiment).yaml")
            do {
                let spec = try TrainingExperiment.load(file)
                let folder = URL(fileURLWithPath: resultsDirectory).appendingPathComponent(experiment + (quick ? "-quick" : ""))
                let summary = try TrainingExperiment.run(spec, quick: quick, into: folder) { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
                print(summary)
            } catch let error as TrainingError {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        var session: any TrainingSession
        let directory: URL
        do {
            if let resume {
                session = try Training.resume(from: URL(fileURLWithPath: resume), epochs: epochs)
                directory = URL(fileURLWithPath: output ?? resume)
            } else {
                session = try Training.session(makeOptions())
                directory = URL(fileURLWithPath: output!)
            }
        } catch let error as TrainingError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(error.description.contains("invalid") ? 64 : 1)
        }
        let train: Dataset, test: Dataset
        do { (train, test) = try session.options.loadDatasets() } catch let error as TrainingError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        print("epoch\tloss\taccuracy\ttest_accuracy\tforward_nfe\tbackward_vjps\tforward_s\tbackward_s")
        do {
            try Training.run(&session, train: train, test: test, directory: directory,
                             arrays: checkpointFormat == .safetensors ? .safetensors : .npyFiles) { r in
                print("\(r.epoch)\t\(fmt(r.loss))\t\(fmt(r.accuracy))\t\(fmt(r.testAccuracy))\t\(fmt(r.forwardEvaluations))\t\(fmt(r.backwardProducts))\t\(fmt(r.forwardSeconds))\t\(fmt(r.backwardSeconds))")
            }
        } catch let error as TrainingError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        if session.log.isEmpty {
            try session.checkpoint.write(to: directory)
        }
        // What made this checkpoint: commit, dirty tree, build, the exact command.
        try Provenance.current().write(into: directory)
        if Gnuplot.isAvailable, !session.log.isEmpty {
            try? Gnuplot.render([directory.appendingPathComponent("log.gp")], format: .png)
        }
        print("checkpoint: \(directory.path)")
    }
}

/// Four significant digits.
func fmt(_ x: Double) -> String { String(format: "%.4g", x) }
