import Foundation
import Testing
import Equilibrium
import EquilibriumExperiments

/// `deq train-decoder` and `deq inpaint` as a user runs them: a short real run on the bundled
/// digits, and mistakes reported as sentences naming the option, the value and what was expected.
@Suite struct CLIInpaintTests {
    @Test func trainDecoderThenInpaintWritesRunsAndATable() throws {
        let scratch = try ScratchDirectory("deq-inpaint")
        defer { scratch.cleanUp() }
        let decoder = scratch.file("seed-0.npz").path
        let train = try DeqProcess.run(["train-decoder", "--data", digitsDirectory.path, "--width", "8", "--code", "3",
                                        "--epochs", "3", "--seed", "0", "--output", decoder])
        #expect(train.status == 0, "stderr: \(train.stderr)")
        #expect(train.stdout.contains("epochs 3"))
        let (model, codes) = try DEQDecoder.read(from: URL(fileURLWithPath: decoder))
        #expect(model.dimension == 8 && model.codeDimension == 3 && model.outputDimension == 64)
        #expect(codes?.rows == 1437)
        let log = try String(contentsOfFile: decoder + ".log.tsv", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 4)

        let out = scratch.file("out").path
        let inpaint = try DeqProcess.run(["inpaint", "--decoder", decoder, "--data", digitsDirectory.path, "--images", "0",
                                          "--steps", "0.1", "--max-steps", "20", "--max-iter", "100", "--output", out])
        #expect(inpaint.status == 0, "stderr: \(inpaint.stderr)")
        #expect(inpaint.stdout.contains("seed-0\timage 0\tα 0.1\tnested"))
        #expect(inpaint.stdout.contains("seed-0\timage 0\tα 0.1\tjoint"))
        for file in ["table.md", "runs/seed-0-image0.json", "runs/seed-0-image0-step0.1.dat"] {
            #expect(FileManager.default.fileExists(atPath: scratch.file("out/\(file)").path), "\(file) missing")
        }
        let table = try String(contentsOfFile: out + "/table.md", encoding: .utf8)
        #expect(table.contains("| 1 % of F* (better final) | f evaluations |"))
        #expect(table.contains("hidden-pixel RMSE"))
    }

    @Test(arguments: [
        (["inpaint", "--decoder", "/nonexistent/d.npz", "--output", "/tmp/deq-never"],
         "--decoder /nonexistent/d.npz: no such file; expected a .npz or .safetensors file written by deq train-decoder"),
        (["inpaint", "--decoder", "/tmp", "--mask", "top-left", "--output", "/tmp/deq-never"], "top-left"),
        (["inpaint", "--decoder", "/tmp", "--steps", "0.1,0", "--output", "/tmp/deq-never"],
         "--steps 0.1,0: expected comma-separated positive finite step sizes"),
        (["inpaint", "--decoder", "/tmp", "--images", "1,x", "--output", "/tmp/deq-never"],
         "--images 1,x: expected comma-separated non-negative integers"),
        (["train-decoder", "--spectral-cap", "1.5", "--output", "/tmp/deq-never.npz"], "--spectral-cap must lie in (0, 1)"),
        (["train-decoder", "--output", "/tmp/deq-never.txt"], "--output /tmp/deq-never.txt: expected a .npz or .safetensors file name"),
    ])
    func mistakesAreSentences(arguments: [String], message: String) throws {
        let result = try DeqProcess.run(arguments)
        #expect(result.status == 64, "stdout: \(result.stdout)")
        #expect(result.exitedNormally)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }

    @Test func anImageIndexOutsideTheTestSetIsAnError() throws {
        let scratch = try ScratchDirectory("deq-inpaint-index")
        defer { scratch.cleanUp() }
        let decoder = try DEQDecoder.random(dimension: 4, codeDimension: 2, outputMean: Array(repeating: 0.3, count: 64),
                                            spectralNorm: 0.5, seed: 1)
        let file = scratch.file("d.npz")
        try decoder.write(to: file)
        let result = try DeqProcess.run(["inpaint", "--decoder", file.path, "--data", digitsDirectory.path, "--images", "360",
                                         "--output", scratch.file("out").path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--images: index 360 is outside the 360 test images"), "stderr: \(result.stderr)")
    }
}
