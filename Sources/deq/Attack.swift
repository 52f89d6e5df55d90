import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq attack`: the adversarial application of input optimisation on trained digits models,
/// joint (JIIO) against nested (``DigitsAttack``, docs/MATH.md §6).
struct Attack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Adversarially perturb test digits through a trained classifier: joint (JIIO) vs nested.",
        discussion: """
            Per checkpoint and test image u₀ with label y: min over u of −CE(s(z*(u)), y) within \
            ‖u − u₀‖_∞ ≤ ε and the pixel range [--lower, --upper], by the nested method (forward and \
            adjoint Anderson solves, warm-started, then a projected gradient step α) and by the joint \
            one (one Anderson solve of the augmented map, the same α). Every iterate's true objective \
            is re-solved off budget (tolerance 1e-10) for the traces. Writes OUTPUT/runs/*.json and \
            *.dat (per model and image) and OUTPUT/table.md.
            """
    )

    @Option(help: ArgumentHelp("A folder written by deq train --task digits (repeat for several models).", valueName: "DIR"),
            completion: .directory)
    var checkpoint: [String] = []

    @Option(help: ArgumentHelp("The image folder (default: the one each checkpoint was trained on).", valueName: "DIR"), completion: .directory)
    var data: String?

    @Option(parsing: .unconditional, help: "ε > 0, the ℓ∞ radius around each image (pixel units).")
    var epsilon: Double = 2

    @Option(parsing: .unconditional, help: "Lower end of the pixel range.")
    var lower: Double = 0

    @Option(parsing: .unconditional, help: "Upper end of the pixel range.")
    var upper: Double = 16

    @Option(parsing: .unconditional, help: "α > 0, the step on the image (both methods).")
    var step: Double = 1

    @OptionGroup var comparison: ComparisonOptions

    @Option(help: ArgumentHelp("The results folder (created).", valueName: "DIR"), completion: .directory)
    var output: String

    mutating func validate() throws {
        guard !checkpoint.isEmpty else { throw ValidationError("--checkpoint: give at least one folder written by deq train --task digits") }
        guard epsilon > 0, epsilon.isFinite else { throw ValidationError("--epsilon must be positive and finite (the ℓ∞ radius); got \(epsilon)") }
        guard lower.isFinite, upper.isFinite, lower < upper else {
            throw ValidationError("--lower \(lower) --upper \(upper): expected finite bounds with lower < upper")
        }
        guard step > 0, step.isFinite else { throw ValidationError("--step must be positive and finite (α of the image update); got \(step)") }
    }

    func run() throws {
        let options = DigitsAttack.Options(epsilon: epsilon, lower: lower, upper: upper, comparison: try comparison.settings(step: step))
        let folder = URL(fileURLWithPath: output), runsFolder = folder.appendingPathComponent("runs")
        try FileManager.default.createDirectory(at: runsFolder, withIntermediateDirectories: true)
        var all: [DigitsAttack.Run] = []
        for path in checkpoint {
            let session: any TrainingSession
            do { session = try Training.resume(from: URL(fileURLWithPath: path), allowUnverified: true, dataDirectory: data) } catch let error as TrainingError {
                throw ValidationError("--checkpoint \(path): \(error.description)")
            }
            guard let trainer = session as? ImageTrainer else {
                throw ValidationError("--checkpoint \(path): a \(session.options.task.rawValue) checkpoint; expected one of the digits task")
            }
            let directory = trainer.options.imageDirectory
            let test = try ImageDataset.load(from: directory, split: "test", classes: trainer.model.classes)
            let name = URL(fileURLWithPath: path).lastPathComponent
            for index in try comparison.indices() {
                guard index < test.count else {
                    throw ValidationError("--images: index \(index) is outside the \(test.count) test images of \(directory.path)")
                }
                let u0 = try Matrix(rows: 1, columns: test.pixels, values: test.images.row(index))
                if let bad = u0.storage.first(where: { $0 < lower || $0 > upper }) {
                    throw ValidationError("--lower \(lower) --upper \(upper): test image \(index) has pixel \(bad) outside the range")
                }
                let runs = try DigitsAttack.compare(model: trainer.model, modelName: name, image: u0, index: index,
                                                    label: test.labels[index], options: options)
                let stem = "\(name)-image\(index)"
                try JSONFormat.text(runs).write(to: runsFolder.appendingPathComponent("\(stem).json"), atomically: true, encoding: .utf8)
                let dat = InputOptimizationComparison.gnuplotData(runs)
                try dat.write(to: runsFolder.appendingPathComponent("\(stem).dat"), atomically: true, encoding: .utf8)
                for r in runs {
                    print("\(name)\timage \(index)\t\(r.method)\tconverged \(r.converged)\tf \(r.evaluations)\tF \(r.initialObjective) → \(r.finalObjective)\tto1% \(r.reached.map { "\($0.evaluations)" } ?? "—")\t\(r.note)")
                }
                all += runs
            }
        }
        let table = DigitsAttack.summary(all)
        try table.write(to: folder.appendingPathComponent("table.md"), atomically: true, encoding: .utf8)
        print(table)
    }
}
