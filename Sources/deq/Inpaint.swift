import ArgumentParser
import Equilibrium
import EquilibriumExperiments
import Foundation

/// `deq inpaint`: application 2 of input optimisation, inpainting test digits through trained
/// DEQ decoders, joint (JIIO) against nested (``DigitsInpainting``, docs/MATH.md §6).
struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inpaint test digits through trained DEQ decoders by optimising the latent code: joint (JIIO) vs nested.",
        discussion: """
            Per decoder (from deq train-decoder), test image y (scaled to [0, 1]) and step α: min over \
            the code x of ½‖M ⊙ (V z*(x) + c − y)‖² + (λ/2)‖x‖² from x = 0, by the nested method \
            (forward and adjoint Anderson solves, warm-started, then a gradient step α) and by the \
            joint one (one Anderson solve of the augmented map, the same α). Every iterate's true \
            objective is re-solved off budget (tolerance 1e-10). Writes OUTPUT/runs/*.json and *.dat \
            (per decoder and image), OUTPUT/table.md and OUTPUT/digits.dat (the first decoder's \
            completions at --picture-step, a gnuplot matrix).
            """
    )

    @Option(help: ArgumentHelp("A decoder file written by deq train-decoder (repeat for several).", valueName: "FILE"),
            completion: .file())
    var decoder: [String] = []

    @Option(help: ArgumentHelp("The image folder (test-images.npy, train-images.npy for the mean-image baseline).", valueName: "DIR"),
            completion: .directory)
    var data: String = "Data/digits"

    @Option(help: "The observed pixels; the others are inpainted.")
    var mask: DigitsInpainting.Mask = .bottomHalf

    @Option(help: ArgumentHelp("Comma-separated step sizes α > 0 of the code update (both methods; one comparison each).", valueName: "list"))
    var steps: String = "1"

    @Option(parsing: .unconditional, help: "λ ≥ 0 of the code penalty (λ/2)‖x‖².")
    var penalty: Double = 1e-3

    @Option(name: .customLong("picture-step"), parsing: .unconditional,
            help: "The α whose completions (first decoder) go into OUTPUT/digits.dat (default: the first of --steps).")
    var pictureStep: Double?

    @OptionGroup var comparison: ComparisonOptions

    @Option(help: ArgumentHelp("The results folder (created).", valueName: "DIR"), completion: .directory)
    var output: String

    func stepSizes() throws -> [Double] {
        try ComparisonOptions.list(steps, "steps", "comma-separated positive finite step sizes, e.g. --steps 0.5,1,2", { Double($0) }, { $0 > 0 && $0.isFinite })
    }

    mutating func validate() throws {
        guard !decoder.isEmpty else { throw ValidationError("--decoder: give at least one file written by deq train-decoder") }
        _ = try stepSizes()
        guard penalty >= 0, penalty.isFinite else { throw ValidationError("--penalty must be ≥ 0 and finite (λ); got \(penalty)") }
        if let pictureStep, try !stepSizes().contains(pictureStep) {
            throw ValidationError("--picture-step \(pictureStep): expected one of the --steps \(steps)")
        }
        for path in decoder where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("--decoder \(path): no such file; expected a .npz or .safetensors file written by deq train-decoder")
        }
    }

    func run() throws {
        let settings = try comparison.settings(step: 1)
        let options = DigitsInpainting.Options(mask: mask, penalty: penalty, steps: try stepSizes(), settings: settings)
        let directory = URL(fileURLWithPath: data)
        let test = try ImageDataset.load(from: directory, split: "test")
        let train = try ImageDataset.load(from: directory, split: "train")
        let scale = 1 / DigitsInpainting.pixelScale
        var mean = [Double](repeating: 0, count: train.pixels)
        for i in 0..<train.count { for j in 0..<train.pixels { mean[j] += scale * train.images[i, j] / Double(train.count) } }
        let folder = URL(fileURLWithPath: output), runsFolder = folder.appendingPathComponent("runs")
        try FileManager.default.createDirectory(at: runsFolder, withIntermediateDirectories: true)
        var all: [DigitsInpainting.Run] = []
        var truths: [[Double]] = [], shown: [(joint: DigitsInpainting.Run, nested: DigitsInpainting.Run)] = []
        let picture = try pictureStep ?? stepSizes()[0]
        for path in decoder {
            let model: DEQDecoder
            do { model = try DEQDecoder.read(from: URL(fileURLWithPath: path)).decoder } catch {
                throw ValidationError("--decoder \(path): \(error)")
            }
            guard model.outputDimension == test.pixels else {
                throw ValidationError("--decoder \(path): decodes \(model.outputDimension) pixels; expected the \(test.pixels) of the images in \(directory.path)")
            }
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            for index in try comparison.indices() {
                guard index < test.count else {
                    throw ValidationError("--images: index \(index) is outside the \(test.count) test images of \(directory.path)")
                }
                let y = scale * (try Matrix(rows: 1, columns: test.pixels, values: test.images.row(index)))
                let runs = try DigitsInpainting.compare(decoder: model, modelName: name, image: y, index: index, label: test.labels[index],
                                                        height: test.height, width: test.width, mean: mean, options: options)
                let stem = "\(name)-image\(index)"
                try JSONFormat.text(runs).write(to: runsFolder.appendingPathComponent("\(stem).json"), atomically: true, encoding: .utf8)
                for step in options.steps {
                    let pair = runs.filter { $0.step == step }
                    try InputOptimizationComparison.gnuplotData(pair)
                        .write(to: runsFolder.appendingPathComponent("\(stem)-step\(step).dat"), atomically: true, encoding: .utf8)
                }
                for r in runs {
                    print("\(name)\timage \(index)\tα \(r.step)\t\(r.method)\tconverged \(r.converged)\tf \(r.evaluations)\tF \(r.initialObjective) → \(r.finalObjective)\tto1% \(r.reached.map { "\($0.evaluations)" } ?? "—")\thidden RMSE \(r.hiddenError) (mean image \(r.baselineError))\t\(r.note)")
                }
                all += runs
                if path == decoder[0], let j = runs.first(where: { $0.outcome.method == "joint" && $0.step == picture }),
                   let n = runs.first(where: { $0.outcome.method == "nested" && $0.step == picture }) {
                    truths.append(y.row(0))
                    shown.append((j, n))
                }
            }
        }
        let mosaic = try DigitsInpainting.mosaic(truths: truths, runs: shown, mask: mask.observed(height: test.height, width: test.width),
                                                 height: test.height, width: test.width)
        var dat = "# gnuplot matrix: per image (bands, top to bottom) observed | truth | joint | nested at α = \(picture); \(DigitsInpainting.mosaicBlank) = hidden or separator\n"
        for r in 0..<mosaic.rows { dat += mosaic.row(r).map { "\($0)" }.joined(separator: " ") + "\n" }
        try dat.write(to: folder.appendingPathComponent("digits.dat"), atomically: true, encoding: .utf8)
        let table = DigitsInpainting.summary(all)
        try table.write(to: folder.appendingPathComponent("table.md"), atomically: true, encoding: .utf8)
        print(table)
    }
}
extension DigitsInpainting.Mask: ExpressibleByArgument {}
