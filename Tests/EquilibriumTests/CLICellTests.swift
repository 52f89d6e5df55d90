import Foundation
import Testing
import Equilibrium

/// `deq solve` with the residual, convolutional and monotone cells.
@Suite struct CLICellTests {
    /// The returned points are fixed points of the same cell built in-process.
    func checkSolution(_ arguments: [String], cell: some FixedPointMap, kind: String) throws -> [String: Any] {
        let dir = try ScratchDirectory("CLICellTests")
        defer { dir.cleanUp() }
        let z = dir.file("Z.npy")
        let (output, json) = try DeqProcess.solveJSON(arguments + ["--tol", "1e-9", "--save-solution", z.path])
        #expect(json["converged"] as? Bool == true, "\(arguments): \(output.stdout)")
        let cellReport = try #require(json["cell"] as? [String: Any])
        #expect(cellReport["kind"] as? String == kind)
        #expect(cellReport["dim"] as? Int == cell.dimension && cellReport["batch"] as? Int == cell.batchSize)
        let report = try #require(cellReport["parameters"] as? [String: Any])
        let array = try NumPyArray.read(contentsOf: z)
        #expect(array.shape == [cell.batchSize, cell.dimension])
        let solution = Matrix(rows: cell.batchSize, columns: cell.dimension, storage: array.values)
        #expect(try maxRowRelativeError(cell(solution), solution) <= 1e-9 * (1 + 1e-6))
        return report
    }

    @Test func residualCell() throws {
        let cell = try ResidualCell.random(.init(dimension: 16, innerDimension: 32, batchSize: 3, groups: 4, seed: 2))
        let report = try checkSolution(["--cell", "residual", "--dim", "16", "--inner", "32", "--groups", "4", "--batch", "3",
                                        "--seed", "2"], cell: cell, kind: "residual")
        #expect(report["inner"] as? Int == 32 && report["groups"] as? Int == 4 && report["sigma"] as? Double == 0.01)
        #expect(report["seed"] as? Int == 2 && report["injection-scale"] as? Double == 1)
    }

    @Test func convolutionalCells() throws {
        let line = try ConvResidualCell.random(.init(channels: 8, innerChannels: 12, inputChannels: 2, shape: .line(length: 10),
                                                 batchSize: 2, groups: 4, seed: 3))
        let report = try checkSolution(["--cell", "conv1d", "--channels", "8", "--inner", "12", "--in-channels", "2",
                                        "--length", "10", "--groups", "4", "--batch", "2", "--seed", "3", "--solver", "broyden"],
                                       cell: line, kind: "conv1d")
        #expect(report["length"] as? Int == 10 && report["channels"] as? Int == 8 && report["in-channels"] as? Int == 2)
        let image = try ConvResidualCell.random(.init(channels: 8, innerChannels: 8, shape: .grid(height: 5, width: 6),
                                                  batchSize: 2, groups: 2, seed: 4))
        _ = try checkSolution(["--cell", "conv2d", "--channels", "8", "--inner", "8", "--height", "5", "--width", "6",
                               "--groups", "2", "--batch", "2", "--seed", "4", "--solver", "newton-krylov"], cell: image, kind: "conv2d")
    }

    @Test func monotoneCell() throws {
        let cell = try MonotoneCell.random(.init(dimension: 20, batchSize: 3, monotonicity: 0.1, seed: 5))
        let report = try checkSolution(["--cell", "monotone", "--dim", "20", "--batch", "3", "--monotonicity", "0.1",
                                        "--seed", "5", "--solver", "newton-krylov"], cell: cell, kind: "monotone")
        #expect(report["monotonicity"] as? Double == 0.1)
    }

    @Test func weightsDirectory() throws {
        let dir = try ScratchDirectory("CLICellTests")
        defer { dir.cleanUp() }
        let weights = dir.file("weights")
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
        let cell = try ConvResidualCell.random(.init(channels: 4, innerChannels: 8, inputChannels: 1, shape: .line(length: 9),
                                                 batchSize: 3, groups: 2, seed: 6))
        for p in cell.parameters {
            try NumPyArray(shape: p.shape, values: p.values).write(to: weights.appendingPathComponent("\(p.name).npy"))
        }
        let x = try dir.npy("X.npy", shape: [3, 1, 9], cell.input.storage)
        let report = try checkSolution(["--cell", "conv1d", "--weights", weights.path, "--injection", x.path, "--groups", "2"],
                                       cell: cell, kind: "conv1d")
        // Sizes come from the files: only the given options are reported, d = C·L from the files.
        #expect(report["weights"] as? String == weights.path && report["length"] == nil && report["groups"] as? Int == 2)

        // A missing array: the error names the file and the shape it should have.
        try FileManager.default.removeItem(at: weights.appendingPathComponent("norm3.weight.npy"))
        let output = try DeqProcess.run(["solve", "--cell", "conv1d", "--weights", weights.path, "--injection", x.path, "--groups", "2"])
        #expect(output.exitedNormally && output.status != 0)
        #expect(output.stderr.contains(weights.appendingPathComponent("norm3.weight.npy").path), "\(output.stderr)")
        #expect(output.stderr.contains("no such file; expected a .npy array of shape (4,) = (C,)"), "\(output.stderr)")
    }

    @Test(arguments: [
        CLISolveTests.BadInput(arguments: ["--cell", "residual", "--rho", "0.5"], expected: ["--rho does not apply to the residual cell", "the tanh cell, the affine cell"]),
        CLISolveTests.BadInput(arguments: ["--groups", "2"], expected: ["--groups does not apply to the tanh cell", "the residual cell, the conv1d cell, the conv2d cell"]),
        CLISolveTests.BadInput(arguments: ["--cell", "conv2d", "--length", "8"], expected: ["--length does not apply to the conv2d cell", "the conv1d cell"]),
        CLISolveTests.BadInput(arguments: ["--cell", "conv2d", "--groups", "5"], expected: ["--groups 5 does not divide --channels 48; expected a divisor of --channels 48 and --inner 64"]),
        CLISolveTests.BadInput(arguments: ["--cell", "residual", "--inner", "0"], expected: ["--inner 0: expected an integer in 1…"]),
        CLISolveTests.BadInput(arguments: ["--cell", "residual", "--sigma", "-1"], expected: ["--sigma -1: expected a number ≥ 0"]),
        CLISolveTests.BadInput(arguments: ["--cell", "monotone", "--monotonicity", "0"], expected: ["--monotonicity 0: expected a number > 0"]),
        CLISolveTests.BadInput(arguments: ["--cell", "monotone", "--injection", "x.npy"], expected: ["--injection needs --weights"]),
        CLISolveTests.BadInput(arguments: ["--cell", "residual", "--weights", "w", "--dim", "4"], expected: ["--dim conflicts with --weights"]),
        CLISolveTests.BadInput(arguments: ["--cell", "monotone", "--weights", "/nonexistent/w"],
                               expected: ["/nonexistent/w: no such file or directory; expected a directory of NAME.npy files, or a .npy, .npz or .safetensors file"]),
        CLISolveTests.BadInput(arguments: ["--cell", "conv2d", "--height", "100000", "--width", "100000"], expected: ["the im2col columns", "more than the memory limit"]),
        CLISolveTests.BadInput(arguments: ["--cell", "conv2d", "--height", "9223372036854775807"], expected: ["--height 9223372036854775807: expected an integer in 1…16777216"]),
    ])
    func badInputIsAClearError(input: CLISolveTests.BadInput) throws {
        let output = try DeqProcess.run(["solve"] + input.arguments)
        #expect(output.exitedNormally, "deq crashed: \(output.stderr)")
        #expect(output.status != 0)
        for text in input.expected {
            #expect(output.stderr.contains(text), "stderr lacks '\(text)': \(output.stderr)")
        }
    }

    @Test func helpListsTheCellOptions() throws {
        let output = try DeqProcess.run(["solve", "--help"])
        for option in ["--inner", "--groups", "--sigma", "--channels", "--in-channels", "--length", "--height", "--width",
                       "--monotonicity", "--weight-scale", "--weights"] {
            #expect(output.stdout.contains("  \(option) "), "help lacks \(option)")
        }
        let words = output.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for entry in Catalog.standard.cells { #expect(words.contains("\(entry.name): "), "\(entry.name)") }
        #expect(words.contains("Cells (--cell NAME) and their options:"))
    }
}
