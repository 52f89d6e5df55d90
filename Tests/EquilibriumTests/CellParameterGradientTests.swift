import Testing
import Equilibrium

/// Cells with parameters, with the names their gradients must carry.
let parametricZoo: [(label: String, names: [String], make: @Sendable () throws -> any ParametricCell)] = [
    ("tanh, U = I, b = 0", ["W"], { try TanhCell.random(.init(dimension: 7, batchSize: 3, spectralNorm: 1.1, injectionScale: 0.8, seed: 3)) }),
    ("tanh with U", ["W", "U"], {
        var generator = SplitMix64(seed: 8)
        let w = try RandomMatrix.withSpectralNorm(0.9, dimension: 6, symmetric: false, using: &generator)
        let u = Matrix.gaussian(rows: 6, columns: 4, scale: 0.5, using: &generator)
        return try TanhCell(weight: w, inputWeight: u, input: Matrix.gaussian(rows: 3, columns: 4, using: &generator))
    }),
    ("tanh with b", ["W", "b"], {
        var generator = SplitMix64(seed: 9)
        let w = try RandomMatrix.withSpectralNorm(0.7, dimension: 5, symmetric: true, using: &generator)
        return try TanhCell(weight: w, bias: generator.gaussians(count: 5, scale: 0.4),
                        input: Matrix.gaussian(rows: 2, columns: 5, using: &generator))
    }),
    ("tanh with U and b", ["W", "U", "b"], {
        var generator = SplitMix64(seed: 10)
        let w = try RandomMatrix.withSpectralNorm(1.3, dimension: 6, symmetric: false, using: &generator)
        let u = Matrix.gaussian(rows: 6, columns: 8, scale: 0.4, using: &generator)
        return try TanhCell(weight: w, inputWeight: u, bias: generator.gaussians(count: 6, scale: 0.3),
                        input: Matrix.gaussian(rows: 3, columns: 8, using: &generator))
    }),
    ("affine", ["A"], { try AffineMap.random(dimension: 6, batchSize: 3, spectralNorm: 0.8, seed: 4) }),
]

/// L = Σᵢ uᵢᵀ f(zᵢ, xᵢ; θ) at fixed z: its gradients are exactly the parameter VJPs with covectors u.
func pairing(_ cell: some FixedPointMap, _ z: Matrix, _ u: Matrix) throws -> Double {
    BLAS.dot(try cell(z).storage, u.storage)
}

/// ‖a − b‖ / ‖b‖.
func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    GradientComparison.relativeError(a, b)
}

@Suite struct CellParameterGradientTests {
    /// Entry-by-entry central differences of L(θ) = Σ uᵢᵀ f(zᵢ; θ) for every parameter, and of
    /// L(x) for the inputs, against the analytic products: relative error ≤ 1e-6.
    func check<Cell: ParametricCell>(_ cell: Cell, names: [String]) throws {
        let b = cell.batchSize, d = cell.dimension
        let z = gaussianBatch(b, d, seed: 21, scale: 0.8)
        let u = gaussianBatch(b, d, seed: 22)
        let (gradients, inputGradient) = try cell.parameterGradients(at: z, image: try cell(z), covectors: u)
        #expect(gradients.map(\.name) == names)
        #expect(cell.parameters.map(\.name) == names)
        #expect(gradients.map(\.shape) == cell.parameters.map(\.shape))
        let h = 1e-5
        for (p, parameter) in cell.parameters.enumerated() {
            var numeric = [Double](repeating: 0, count: parameter.values.count)
            for k in parameter.values.indices {
                var plus = cell.parameters, minus = cell.parameters
                plus[p].values[k] += h
                minus[p].values[k] -= h
                numeric[k] = try (pairing(cell.replacingParameters(plus), z, u)
                              - pairing(cell.replacingParameters(minus), z, u)) / (2 * h)
            }
            let error = relativeDifference(gradients[p].values, numeric)
            #expect(error <= 1e-6, "∂L/∂\(parameter.name): relative error \(error)")
        }
        let x = cell.input
        #expect(inputGradient.rows == x.rows && inputGradient.columns == x.columns)
        var numeric = Matrix(rows: x.rows, columns: x.columns)
        for k in x.storage.indices {
            var plus = x, minus = x
            plus.storage[k] += h
            minus.storage[k] -= h
            numeric.storage[k] = try (pairing(cell.binding(input: plus), z, u) - pairing(cell.binding(input: minus), z, u)) / (2 * h)
        }
        let error = relativeDifference(inputGradient.storage, numeric.storage)
        #expect(error <= 1e-6, "∂L/∂x: relative error \(error)")
    }

    @Test(arguments: parametricZoo.indices)
    func parameterAndInputProductsMatchCentralDifferences(index: Int) throws {
        let cell = try parametricZoo[index].make()
        try check(cell, names: parametricZoo[index].names)
    }

    @Test(arguments: parametricZoo.indices)
    func replacingParametersRoundTrips(index: Int) throws {
        func roundTrip<Cell: ParametricCell>(_ cell: Cell) throws {
            var changed = cell.parameters
            for p in changed.indices { changed[p].values = changed[p].values.map { 2 * $0 + 0.5 } }
            let other = try cell.replacingParameters(changed)
            #expect(other.parameters == changed)
            #expect(other.input == cell.input)
            #expect(try other.replacingParameters(cell.parameters).parameters == cell.parameters)
        }
        try roundTrip(try parametricZoo[index].make())
    }

    /// The affine map's gradients in closed form: ∂L/∂A = Uᵀ Z, ∂L/∂bᵢ = uᵢ.
    @Test func affineGradientsAreOuterProducts() throws {
        let map = try AffineMap.random(dimension: 5, batchSize: 3, spectralNorm: 0.5, seed: 1)
        let z = gaussianBatch(3, 5, seed: 2), u = gaussianBatch(3, 5, seed: 3)
        let (gradients, input) = try map.parameterGradients(at: z, image: try map(z), covectors: u)
        let expected = try u.transposed().multiplied(by: z)
        // Uᵀ Z is a sum of B products per entry in both the library and the reference GEMM; with B ≤ 4,
        // 2γ_B Σ|terms| ≈ 9e-16 Σ|terms|, and ‖|U|ᵀ|Z|‖ ≈ 0.64 √B ‖UᵀZ‖ ≈ 1.3 ‖UᵀZ‖ for Gaussian data:
        // ≈ 1.2e-15; 1e-14 is an 8× margin.
        #expect(relativeDifference(gradients[0].values, expected.storage) < 1e-14)
        #expect(input == u)
    }
}
