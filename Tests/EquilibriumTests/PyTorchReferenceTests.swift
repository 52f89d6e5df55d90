import Foundation
import Testing
import Equilibrium

/// deq's cells against PyTorch autograd in float64, on the fixtures `scripts/pytorch_check.py`
/// writes (a PyTorch `state_dict` per cell, saved with safetensors, and the reference arrays).
///
/// Compared, each as max |a − b| / max |b| over the array: f(z, x), J·v, vᵀJ, the parameter and
/// input VJPs uᵀ∂f/∂θ and uᵀ∂f/∂x at a random point, and the implicit gradient at PyTorch's fixed
/// point z* (deq's dense-LU backward solve against PyTorch's `torch.linalg.solve`).
///
/// Bound, 1e-12: every quantity is a few BLAS-level sums of at most n = 144 products (conv:
/// 16 inner channels × 9 taps) and a GroupNorm, each backward stable with error ≲ n·u·‖·‖ ≈ 3e-14
/// relative to the operands' magnitude (u = 1.1e-16); GroupNorm divides by σ of a group
/// (≥ 0.1 here) and the implicit gradient multiplies by κ(I − J) ≤ 1/(1 − ρ) ≈ 40 (ρ(J(z*)) =
/// 0.97 for the conv cell, the script prints it). Both sides round independently, so the
/// difference is at most twice that: ~1e-13, under the bound with a margin of ten.
/// The iterative backward solve (Anderson to a relative residual of 1e-13) is held to 1e-10
/// (its residual times κ).
///
/// `EQUILIBRIUM_PYTORCH_FIXTURES` points the test at freshly written fixtures (the script sets it).
@Suite struct PyTorchReferenceTests {
    static let folder: URL = ProcessInfo.processInfo.environment["EQUILIBRIUM_PYTORCH_FIXTURES"].map(URL.init(fileURLWithPath:))
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pytorch")
    static let bound = 1e-12

    static func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "\(a.count) against \(b.count) values")
        let scale = b.map(abs).max() ?? 0
        let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        return scale == 0 ? difference : difference / scale
    }

    /// Compares and prints one line per quantity (the script's table).
    static func expectClose(_ cell: String, _ what: String, _ ours: [Double], _ theirs: [Double], bound: Double = bound,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let difference = relativeDifference(ours, theirs)
        print("pytorch-check \(cell) \(what): max relative difference \(String(format: "%.2e", difference))")
        #expect(difference <= bound, "\(cell) \(what): \(difference) > \(bound)", sourceLocation: sourceLocation)
    }

    static func batch(_ store: ArrayStore, _ key: String, rows: Int) throws -> Matrix {
        let a = try store.array(key)
        return Matrix(rows: rows, columns: a.values.count / rows, storage: a.values)
    }

    /// Every comparison for one cell; `names` maps our parameter names to the PyTorch keys.
    static func compare<Cell: ParametricCell>(_ label: String, _ cell: Cell, reference ref: ArrayStore,
                                              names: [(parameter: String, keys: [String])]) throws {
        let b = cell.batchSize
        let z = try batch(ref, "z", rows: b), v = try batch(ref, "v", rows: b), u = try batch(ref, "covector", rows: b)
        let fz = try cell(z)
        expectClose(label, "f(z, x)", fz.storage, try ref.array("f").values)
        expectClose(label, "J·v", try cell.jacobianVectorProduct(at: z, vectors: v).storage, try ref.array("jvp").values)
        expectClose(label, "vᵀJ", try cell.vectorJacobianProduct(at: z, covectors: u).storage, try ref.array("vjp").values)
        let products = try cell.parameterGradients(at: z, image: fz, covectors: u)
        func key(_ parameter: String, _ kind: String) -> String? {
            StateDictNames.keys(parameter, in: names).map { "\(kind).\($0)" }.first(where: ref.contains)
        }
        var compared = 0
        for p in products.parameters {
            guard let k = key(p.name, "vjp") else { continue }   // the identity injection has no PyTorch counterpart
            expectClose(label, "uᵀ∂f/∂\(p.name)", p.values, try ref.array(k).values)
            compared += 1
        }
        #expect(compared >= 3, "\(label): only \(compared) parameters matched PyTorch's keys")
        expectClose(label, "uᵀ∂f/∂x", products.input.storage, try ref.array("vjp.x").values)

        // The implicit gradient at PyTorch's fixed point.
        let zstar = try batch(ref, "zstar", rows: b), c = try batch(ref, "upstream", rows: b)
        expectClose(label, "f(z*) against z*", try cell(zstar).storage, zstar.storage)
        for (backward, name, tolerance) in [
            (ImplicitGradient.denseLU, "implicit (LU)", bound),
            (try ImplicitGradient(solver: try AndersonAcceleration(memory: 10),
                              criteria: try StoppingCriteria(tolerance: 1e-13, measure: .relative, maxIterations: 2000)), "implicit (Anderson)", 1e-10),
        ] {
            let gradient = try backward.estimate(cell: cell, solution: zstar, upstream: c)
            #expect(gradient.converged, "\(label) \(name): backward solve did not converge")
            for p in gradient.parameters {
                guard let k = key(p.name, "grad") else { continue }
                expectClose(label, "\(name) dL/d\(p.name)", p.values, try ref.array(k).values, bound: tolerance)
            }
            expectClose(label, "\(name) dL/dx", gradient.input.storage, try ref.array("grad.x").values, bound: tolerance)
        }
    }

    @Test func tutorialResNetLayerMatchesPyTorch() throws {
        let ref = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("conv-reference.npz"))
        let weights = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("conv-model.safetensors"), prefix: "deq.f.")
        let groups = Int(try ref.array("groups").values[0])
        // The injection is one key of the reference archive: FILE.npz:KEY.
        let x = URL(fileURLWithPath: Self.folder.appendingPathComponent("conv-reference.npz").path + ":x")
        let cell = try ConvResidualCell.load(weights: weights, rank: 2, groups: groups, shape: nil, injection: .file(x))
        #expect(cell.shape == .grid(height: 5, width: 7) && cell.inputChannels == cell.channels)
        try Self.compare("conv", cell, reference: ref, names: StateDictNames.convResidual)
    }

    @Test func tanhCellMatchesPyTorch() throws {
        let ref = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("tanh-reference.npz"))
        let weights = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("tanh-model.safetensors"))
        let x = URL(fileURLWithPath: Self.folder.appendingPathComponent("tanh-reference.npz").path + ":x")
        let cell = try TanhCell.load(weights: weights, injection: .file(x))
        #expect(cell.inputWeight != nil && cell.bias != nil)
        try Self.compare("tanh", cell, reference: ref, names: StateDictNames.tanh)
    }

    @Test func monotoneCellMatchesPyTorch() throws {
        let ref = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("monotone-reference.safetensors"))
        let weights = try ArrayStore(contentsOf: Self.folder.appendingPathComponent("monotone-model.safetensors"))
        let x = URL(fileURLWithPath: Self.folder.appendingPathComponent("monotone-reference.safetensors").path + ":x")
        let m = try ref.array("monotonicity").values[0]
        let cell = try MonotoneCell.load(weights: weights, monotonicity: m, injection: .file(x))
        try Self.compare("monotone", cell, reference: ref, names: StateDictNames.monotone)
    }
}
