import Equilibrium
import Foundation

/// Application 2 of issue 15: inpainting test digits through a trained ``DEQDecoder`` by
/// optimising its latent code, joint (JIIO) against nested, docs/MATH.md §6:
///
///     min over x ∈ ℝᵖ of  F(x) = ½‖M ⊙ (V z*(x) + c − y)‖² + (λ/2)‖x‖²,    z* = tanh(W z* + U x + b)
///
/// with the mask M of observed pixels (``Mask``); the hidden pixels are then read off
/// V z*(x) + c. Both methods get the same ``InputOptimizationProblem`` (the decoder's
/// ``TanhCell`` bound to x⁰ = 0, ``MaskedReconstructionLoss``, no constraint) and the same
/// ``InputOptimizationComparison/Settings`` (solver, criteria, gradient step α); the comparison
/// is run for every α of a small sweep, since the problem is smooth and unconstrained and a
/// step at which both converge should exist.
public enum DigitsInpainting {
    /// The pixels' range in the data (0–16); images are divided by it, to [0, 1].
    public static let pixelScale = 16.0

    /// Which pixels of an H × W image are observed (the rest are inpainted).
    public enum Mask: String, CaseIterable, Sendable, Codable {
        /// Rows 0 ..< H/2 observed, the bottom half hidden.
        case bottomHalf = "bottom-half"
        /// Columns 0 ..< W/2 observed, the right half hidden.
        case rightHalf = "right-half"

        /// 1 for an observed pixel, 0 for a hidden one, H·W entries in row-major order.
        public func observed(height: Int, width: Int) -> [Double] {
            (0..<height * width).map { k in
                switch self {
                case .bottomHalf: return k / width < height / 2 ? 1 : 0
                case .rightHalf: return k % width < width / 2 ? 1 : 0
                }
            }
        }
    }

    public struct Options: Sendable {
        public var mask: Mask
        /// λ ≥ 0 of R(x) = (λ/2)‖x‖².
        public var penalty: Double
        /// The α of each comparison (the sweep).
        public var steps: [Double]
        /// Everything else both methods share (its `step` is replaced by each of ``steps``).
        public var settings: InputOptimizationComparison.Settings

        public init(mask: Mask, penalty: Double, steps: [Double], settings: InputOptimizationComparison.Settings) {
            self.mask = mask
            self.penalty = penalty
            self.steps = steps
            self.settings = settings
        }
    }

    /// One method on one image of one decoder at one step size: the shared
    /// ``InputOptimizationComparison/Outcome`` (read through this record, e.g.
    /// `run.finalObjective`) and the inpainting's measures.
    @dynamicMemberLookup
    public struct Run: Codable, Sendable, ComparedRun {
        public var model: String
        public var image: Int
        public var label: Int
        public var step: Double
        /// Root-mean-square errors (pixel units of [0, 1]) of the decoded image at the returned
        /// x on the hidden and the observed pixels, and of the mean training image on the hidden ones.
        public var hiddenError: Double
        public var observedError: Double
        public var baselineError: Double
        /// The decoded image V z*(x) + c at the returned x, H·W values.
        public var completion: [Double]
        public var outcome: InputOptimizationComparison.Outcome
        public var comparisonKey: String { "\(model) image \(image) α \(step)" }
        public subscript<T>(dynamicMember key: KeyPath<InputOptimizationComparison.Outcome, T>) -> T { outcome[keyPath: key] }
    }

    /// Root-mean-square of (a − b) over the entries where `weight` is `selected`.
    static func rootMeanSquare(_ a: [Double], _ b: [Double], weight: [Double], selected: Double) -> Double {
        var s = 0.0, n = 0
        for k in a.indices where weight[k] == selected { s += (a[k] - b[k]) * (a[k] - b[k]); n += 1 }
        return n == 0 ? .nan : (s / Double(n)).squareRoot()
    }

    /// Runs nested then joint, for every step size, on the scaled test image `y` (1 × H·W).
    public static func compare(decoder: DEQDecoder, modelName: String, image y: Matrix, index: Int, label: Int,
                               height: Int, width: Int, mean: [Double], options o: Options) throws -> [Run] {
        let mask = o.mask.observed(height: height, width: width)
        let loss = try MaskedReconstructionLoss(decoder: decoder, target: y, mask: Matrix(rows: 1, columns: mask.count, values: mask))
        let cell = try decoder.cell(codes: Matrix(rows: 1, columns: decoder.codeDimension))
        let problem = try InputOptimizationProblem(cell: cell, loss: loss, penalty: o.penalty, constraint: .none)
        let truth = y.row(0)
        let baseline = rootMeanSquare(mean, truth, weight: mask, selected: 0)
        var runs = [Run]()
        for step in o.steps {
            var settings = o.settings
            settings.step = step
            var pair = [Run]()
            for v in try InputOptimizationComparison.run(problem, settings: settings) {
                let completion = try decoder.output(states: v.finalSolve.solution).row(0)
                pair.append(Run(model: modelName, image: index, label: label, step: step,
                                hiddenError: rootMeanSquare(completion, truth, weight: mask, selected: 0),
                                observedError: rootMeanSquare(completion, truth, weight: mask, selected: 1),
                                baselineError: baseline, completion: completion, outcome: v.outcome))
            }
            InputOptimizationComparison.markReached(&pair)
            runs += pair
        }
        return runs
    }

    /// The value of hidden pixels and separators in ``mosaic(truths:runs:mask:height:width:)``.
    public static let mosaicBlank = -1.0

    /// A picture of the completions, one band of H rows per image and four panels of W columns:
    /// the observed pixels (hidden ones ``mosaicBlank``), the truth, joint's and nested's decoded
    /// images; panels and bands separated by a line of ``mosaicBlank``. Rows are printed top to
    /// bottom (gnuplot's `matrix with image` then needs `set yrange [] reverse`).
    /// - Parameter runs: per image, the (joint, nested) runs whose completions are shown.
    /// - Throws: ``UsageError`` when the runs are not one pair per truth or an image is not H·W.
    public static func mosaic(truths: [[Double]], runs: [(joint: Run, nested: Run)], mask: [Double],
                              height: Int, width: Int) throws(UsageError) -> Matrix {
        guard runs.count == truths.count else {
            throw UsageError("DigitsInpainting.mosaic", "runs", got: "\(runs.count) pairs", expected: "one per truth (\(truths.count))")
        }
        let rows = truths.count * (height + 1) - 1, columns = 4 * (width + 1) - 1
        var m = Matrix(rows: max(rows, 1), columns: columns, repeating: mosaicBlank)
        for (b, truth) in truths.enumerated() {
            let observed = zip(truth, mask).map { $1 == 1 ? $0 : mosaicBlank }
            for (panel, image) in [observed, truth, runs[b].joint.completion, runs[b].nested.completion].enumerated() {
                guard image.count == height * width else {
                    throw UsageError("DigitsInpainting.mosaic", "image \(b) panel \(panel)", got: "\(image.count) values", expected: "H·W = \(height * width)")
                }
                for r in 0..<height { for c in 0..<width { m[b * (height + 1) + r, panel * (width + 1) + c] = image[r * width + c] } }
            }
        }
        return m
    }

    /// The summary of a set of runs, markdown: the ratio table per step size, one row per run,
    /// and the inpainting errors against the mean-image baseline.
    public static func summary(_ runs: [Run]) -> String {
        var text = ""
        let steps = Set(runs.map(\.step)).sorted()
        for step in steps {
            let pairs = InputOptimizationComparison.pairs(runs.filter { $0.step == step })
            text += "**α = \(step)** (\(pairs.count) pairs)\n\n" + InputOptimizationComparison.ratioTable(pairs) + "\n"
        }
        text += "| model | image | label | α | method | converged | f evals | f + VJPs | s | F(x⁰) | F(x) | f evals to 1 % of F* | to 1 % of worse final | hidden RMSE | mean-image RMSE |\n"
        text += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for r in runs {
            text += "| \(r.model) | \(r.image) | \(r.label) | \(r.step) | \(r.method) | \(r.converged ? "yes" : "no") | \(r.evaluations) | \(r.products) | "
            text += String(format: "%.2f | %.5f | %.5f | ", r.seconds, r.initialObjective, r.finalObjective)
            text += "\(r.reached.map { "\($0.evaluations)" } ?? "not reached") | \(r.reachedCommon.map { "\($0.evaluations)" } ?? "not reached") | "
            text += String(format: "%.4f | %.4f |\n", r.hiddenError, r.baselineError)
        }
        text += "\n"
        for step in steps {
            for method in ["nested", "joint"] {
                let m = runs.filter { $0.step == step && $0.outcome.method == method }
                text += "α = \(step), \(method): converged \(m.filter(\.converged).count) of \(m.count); hidden-pixel RMSE "
                text += "\(InputOptimizationComparison.spread(m.map(\.hiddenError))) vs the mean image's "
                text += "\(InputOptimizationComparison.spread(m.map(\.baselineError))); better than the mean image on "
                text += "\(m.filter { $0.hiddenError < $0.baselineError }.count) of \(m.count).\n"
            }
        }
        return text
    }
}
