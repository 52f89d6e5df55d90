import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq train-decoder`: a DEQ decoder of the digits trained with its latent codes (GLO,
/// ``DEQDecoder/train(images:options:)``, docs/MATH.md §6), for `deq inpaint`.
struct TrainDecoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-decoder",
        abstract: "Train a DEQ decoder of the digits together with one latent code per training image.",
        discussion: """
            z* = tanh(W z* + U x + b), image = V z* + c, on the training images scaled to [0, 1]; \
            W, U, b, V, c and the codes x by full-batch Adam on the mean ½‖image − y‖² + (λ/2)‖x‖², \
            gradients through the fixed point by the implicit gradient, ‖W‖₂ capped after every \
            step. Writes OUTPUT (.npz: arrays W, U, b, V, c, codes) and OUTPUT.log.tsv.
            """
    )

    @Option(help: ArgumentHelp("The image folder (train-images.npy, train-labels.npy).", valueName: "DIR"), completion: .directory)
    var data: String = "Data/digits"

    @Option(parsing: .unconditional, help: "d, the state width.")
    var width: Int = 32

    @Option(name: .customLong("code"), parsing: .unconditional, help: "p, the latent code width.")
    var codeDimension: Int = 10

    @Option(parsing: .unconditional, help: "Full-batch Adam steps.")
    var epochs: Int = 400

    @Option(name: .customLong("lr"), parsing: .unconditional, help: "Adam's learning rate.")
    var learningRate: Double = 1e-2

    @Option(parsing: .unconditional, help: "λ ≥ 0 of the codes' penalty (λ/2)‖x‖².")
    var penalty: Double = 1e-3

    @Option(name: .customLong("spectral-cap"), parsing: .unconditional, help: "The cap on ‖W‖₂ kept after every step, in (0, 1).")
    var spectralCap: Double = 0.9

    @Option(parsing: .unconditional, help: "The random seed of the initial parameters and codes.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("The decoder file to write (.npz or .safetensors).", valueName: "FILE"), completion: .file())
    var output: String

    func trainingOptions() -> DEQDecoder.TrainingOptions {
        DEQDecoder.TrainingOptions(dimension: width, codeDimension: codeDimension, epochs: epochs,
                                   optimizer: Optimizer(kind: .adam, learningRate: learningRate), penalty: penalty,
                                   spectralNormCap: spectralCap, seed: seed)
    }

    mutating func validate() throws {
        guard width >= 1 else { throw ValidationError("--width must be ≥ 1 (d, the state width); got \(width)") }
        guard codeDimension >= 1 else { throw ValidationError("--code must be ≥ 1 (p, the code width); got \(codeDimension)") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be ≥ 1; got \(epochs)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be positive and finite; got \(learningRate)") }
        guard penalty >= 0, penalty.isFinite else { throw ValidationError("--penalty must be ≥ 0 and finite (λ); got \(penalty)") }
        guard spectralCap > 0, spectralCap < 1 else { throw ValidationError("--spectral-cap must lie in (0, 1) (a contraction); got \(spectralCap)") }
        guard ["npz", "safetensors"].contains(URL(fileURLWithPath: output).pathExtension) else {
            throw ValidationError("--output \(output): expected a .npz or .safetensors file name")
        }
    }

    func run() throws {
        let train = try ImageDataset.load(from: URL(fileURLWithPath: data), split: "train")
        let images = (1 / DigitsInpainting.pixelScale) * train.images
        let (decoder, codes, log) = try DEQDecoder.train(images: images, options: trainingOptions())
        try decoder.write(to: URL(fileURLWithPath: output), codes: codes)
        var tsv = "epoch\tloss\treconstruction\tforward_converged\tbackward_converged\tforward_nfe\tspectral_norm\n"
        for r in log {
            tsv += "\(r.epoch)\t\(r.loss)\t\(r.reconstruction)\t\(r.forwardConverged)\t\(r.backwardConverged)\t\(r.forwardEvaluations)\t\(r.spectralNorm)\n"
        }
        try tsv.write(to: URL(fileURLWithPath: output + ".log.tsv"), atomically: true, encoding: .utf8)
        let last = log[log.count - 1]
        let allForward = log.map(\.forwardConverged).min() ?? 0, allBackward = log.map(\.backwardConverged).min() ?? 0
        print("epochs \(log.count)\tloss \(last.loss)\treconstruction \(last.reconstruction)\t‖W‖₂ \(last.spectralNorm)\tworst epoch's converged fraction: forward \(allForward), backward \(allBackward)")
    }
}
