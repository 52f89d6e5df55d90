import Foundation
import Testing
import Equilibrium

/// A library user's mistakes are thrown ``UsageError``s with a sentence naming the parameter,
/// the value given and what is valid — never a trap. The suite runs in a release build
/// (`swift test -c release`), where a trap would lose its message; each case below would have
/// ended the whole test process if it trapped.
@Suite struct UsageMistakeTests {
    /// A mistake: what is tried, and words the message must contain (the parameter and the value).
    struct Mistake: Sendable, CustomStringConvertible {
        let label: String
        let mentions: [String]
        let attempt: @Sendable () throws -> Void
        var description: String { label }
    }

    static let tanh = try! TanhCell.random(.init(dimension: 6, batchSize: 2, spectralNorm: 0.5, seed: 1))
    static func closure() throws -> ClosureMap {
        try ClosureMap(dimension: 4, batchSize: 1, perSample: { _, z, fz in for j in 0..<4 { fz[j] = 0.5 * z[j] } })
    }

    static let mistakes: [Mistake] = [
        // Solvers
        Mistake(label: "Anderson memory 0", mentions: ["memory", "0"]) { _ = try AndersonAcceleration(memory: 0) },
        Mistake(label: "Anderson mixing 0", mentions: ["mixing", "0"]) { _ = try AndersonAcceleration(mixing: 0) },
        Mistake(label: "Anderson negative regularisation", mentions: ["regularization", "-1"]) { _ = try AndersonAcceleration(regularization: -1) },
        Mistake(label: "Anderson negative delay", mentions: ["delay", "-2"]) { _ = try AndersonAcceleration(delay: -2) },
        Mistake(label: "Anderson NaN condition cap", mentions: ["maxConditionNumber", "nan"]) { _ = try AndersonAcceleration(maxConditionNumber: .nan) },
        Mistake(label: "forward damping 2", mentions: ["damping", "2"]) { _ = try ForwardIteration(damping: 2) },
        Mistake(label: "forward damping NaN", mentions: ["damping", "nan"]) { _ = try ForwardIteration(damping: .nan) },
        Mistake(label: "Broyden memory 0", mentions: ["memory", "0"]) { _ = try Broyden(memory: 0) },
        Mistake(label: "Broyden denominator tolerance −1", mentions: ["denominatorTolerance", "-1"]) { _ = try Broyden(denominatorTolerance: -1) },
        Mistake(label: "Newton–Krylov Krylov dimension 0", mentions: ["krylovDimension", "0"]) { _ = try NewtonKrylov(krylovDimension: 0) },
        Mistake(label: "Newton–Krylov forcing η = 1", mentions: ["η", "1"]) { _ = try NewtonKrylov(forcing: .constant(1)) },
        Mistake(label: "Newton–Krylov negative restarts", mentions: ["maxRestarts", "-1"]) { _ = try NewtonKrylov(maxRestarts: -1) },
        Mistake(label: "a hyperparameter changed after construction", mentions: ["memory", "-4"]) {
            var solver = AndersonAcceleration()
            solver.memory = -4
            _ = try solver.solve(tanh, from: Matrix(rows: 2, columns: 6))
        },
        // Stopping criteria
        Mistake(label: "tolerance 0", mentions: ["tolerance", "0"]) { _ = try StoppingCriteria(tolerance: 0) },
        Mistake(label: "tolerance NaN", mentions: ["tolerance", "nan"]) { _ = try StoppingCriteria(tolerance: .nan) },
        Mistake(label: "max iterations −1", mentions: ["maxIterations", "-1"]) { _ = try StoppingCriteria(maxIterations: -1) },
        Mistake(label: "max evaluations 0", mentions: ["maxEvaluations", "0"]) { _ = try StoppingCriteria(maxEvaluations: 0) },
        Mistake(label: "divergence factor 1", mentions: ["divergenceFactor", "1"]) { _ = try StoppingCriteria(divergenceFactor: 1) },
        // Starts and solves
        Mistake(label: "a 1 × 5 start for a 1 × 4 map", mentions: ["1 × 5", "1 × 4"]) { _ = try ForwardIteration().solve(try closure(), from: Matrix(rows: 1, columns: 5)) },
        Mistake(label: "a NaN start", mentions: ["NaN"]) {
            _ = try ForwardIteration().solve(try closure(), from: try Matrix(rows: 1, columns: 4, values: [0, .nan, 0, 0]))
        },
        Mistake(label: "an explicit start of the wrong shape", mentions: ["2 × 4", "2 × 5"]) {
            _ = try Initialization.explicit(Matrix(rows: 2, columns: 4)).makeBatch(batchSize: 2, dimension: 5)
        },
        Mistake(label: "a Gaussian start of negative scale", mentions: ["scale", "-1"]) {
            _ = try Initialization.gaussian(scale: -1, seed: 0).makeBatch(batchSize: 1, dimension: 3)
        },
        Mistake(label: "a uniform start with low > high", mentions: ["3", "1"]) {
            _ = try Initialization.uniform(low: 3, high: 1, seed: 0).makeBatch(batchSize: 1, dimension: 3)
        },
        Mistake(label: "a mixed start with probability 2", mentions: ["probability", "2"]) {
            _ = try Initialization.mixed(probability: 2, scale: 1, seed: 0).makeBatch(batchSize: 1, dimension: 3)
        },
        Mistake(label: "analytic J·v of a closure map", mentions: ["analytic"]) {
            _ = try NewtonKrylov(jacobianProducts: .analytic).solve(try closure(), from: Matrix(rows: 1, columns: 4))
        },
        // Matrices and arrays
        Mistake(label: "a 2 × 3 matrix from 2 values", mentions: ["2", "2 × 3"]) { _ = try Matrix(rows: 2, columns: 3, values: [1, 2]) },
        Mistake(label: "ragged nested rows", mentions: ["row"]) { _ = try Matrix([[1, 2], [3]]) },
        Mistake(label: "adding 2 × 2 and 2 × 3", mentions: ["2 × 3", "2 × 2"]) { _ = try Matrix(rows: 2, columns: 2) + Matrix(rows: 2, columns: 3) },
        Mistake(label: "a 2 × 3 times a 2 × 3 product", mentions: ["2 × 3"]) { _ = try Matrix(rows: 2, columns: 3).multiplied(by: Matrix(rows: 2, columns: 3)) },
        Mistake(label: "a named array whose values do not fill its shape", mentions: ["1 values", "[2, 2]"]) { _ = try NamedArray("W", shape: [2, 2], values: [1]) },
        // Maps and cells
        Mistake(label: "a closure map of dimension 0", mentions: ["dimension", "0"]) {
            _ = try ClosureMap(dimension: 0, batchSize: 1, perSample: { _, _, _ in })
        },
        Mistake(label: "a tanh cell of dimension 0", mentions: ["dimension", "0"]) { _ = try TanhCell.random(.init(dimension: 0)) },
        Mistake(label: "a tanh cell of negative spectral norm", mentions: ["spectralNorm", "-1"]) { _ = try TanhCell.random(.init(spectralNorm: -1)) },
        Mistake(label: "a tanh cell with a non-square W", mentions: ["W", "2 × 3"]) {
            _ = try TanhCell(weight: Matrix(rows: 2, columns: 3), input: Matrix(rows: 1, columns: 2))
        },
        Mistake(label: "binding inputs of the wrong width", mentions: ["input", "5"]) { _ = try tanh.binding(input: Matrix(rows: 2, columns: 5)) },
        Mistake(label: "replacing parameters with other names", mentions: ["parameters", "V"]) {
            _ = try tanh.replacingParameters([try NamedArray("V", shape: [6, 6], values: Array(repeating: 0, count: 36))])
        },
        Mistake(label: "parameter gradients of a wrong-sized batch", mentions: ["3 × 6", "2 × 6"]) {
            _ = try tanh.parameterGradients(at: Matrix(rows: 3, columns: 6), image: Matrix(rows: 3, columns: 6), covectors: Matrix(rows: 3, columns: 6))
        },
        Mistake(label: "J·v of wrong-sized vectors", mentions: ["vectors", "2 × 7"]) {
            _ = try tanh.jacobianVectorProduct(at: Matrix(rows: 2, columns: 6), vectors: Matrix(rows: 2, columns: 7))
        },
        Mistake(label: "an affine map of NaN spectral norm", mentions: ["spectralNorm", "nan"]) {
            _ = try AffineMap.random(dimension: 4, batchSize: 1, spectralNorm: .nan)
        },
        Mistake(label: "a monotone cell with negative monotonicity", mentions: ["monotonicity", "-0.5"]) {
            _ = try MonotoneCell.random(.init(monotonicity: -0.5))
        },
        Mistake(label: "a residual cell whose groups do not divide d", mentions: ["groups", "5"]) {
            _ = try ResidualCell.random(.init(dimension: 64, groups: 5))
        },
        Mistake(label: "a convolutional cell with 0 channels", mentions: ["channels", "0"]) {
            _ = try ConvResidualCell.random(.init(channels: 0))
        },
        // Gradients
        Mistake(label: "phantom gradient with 0 steps", mentions: ["steps", "0"]) { _ = try PhantomGradient(steps: 0) },
        Mistake(label: "phantom gradient with damping 0", mentions: ["damping", "0"]) { _ = try PhantomGradient(damping: 0) },
        Mistake(label: "SHINE with fallback ratio 0", mentions: ["fallbackRatio", "0"]) { _ = try SHINEGradient(fallbackRatio: 0) },
        Mistake(label: "an upstream gradient of the wrong shape", mentions: ["upstream", "2 × 5"]) {
            _ = try ImplicitGradient().estimate(cell: tanh, solution: Matrix(rows: 2, columns: 6), upstream: Matrix(rows: 2, columns: 5))
        },
        // The catalog
        Mistake(label: "a misspelt solver name", mentions: ["andersen", "anderson"]) { _ = try Catalog.standard.solver(named: "andersen") },
        Mistake(label: "a catalog setting out of range", mentions: ["memory", "0"]) {
            _ = try Catalog.standard.solver(named: "anderson").makeSolver(["memory": .integer(0)])
        },
        Mistake(label: "an unknown catalog setting", mentions: ["memroy"]) {
            _ = try Catalog.standard.solver(named: "anderson").makeSolver(["memroy": .integer(3)])
        },
        Mistake(label: "a cell of dimension 0 from the catalog", mentions: ["dim", "0"]) {
            _ = try Catalog.standard.cell(named: "tanh").makeMap(["dim": .integer(0)], context: CellBuildContext(seed: 1))
        },
        Mistake(label: "registering a solver name twice", mentions: ["anderson"]) {
            var catalog = Catalog.standard
            try catalog.register(solver: AndersonAcceleration.catalogEntry)
        },
        Mistake(label: "an unknown estimator", mentions: ["exact", "implicit"]) { _ = try Catalog.standard.estimator(named: "exact") },
    ]

    @Test(arguments: mistakes)
    func aMistakeIsAThrownSentence(mistake: Mistake) {
        do {
            try mistake.attempt()
            Issue.record("\(mistake.label) was accepted")
        } catch {
            let message = "\(error)"
            for word in mistake.mentions {
                #expect(message.contains(word), "\(mistake.label): “\(message)” does not mention \(word)")
            }
            #expect(message.contains("expected") || message.contains("valid") || message.contains("one of"),
                    "\(mistake.label): “\(message)” does not say what is valid")
        }
    }

    /// The edges the docs call valid work (issue 10: `--eta 0` used to trap): η = 0 asks GMRES
    /// for an exact Newton step, and zero iterations only evaluate the start's residual.
    @Test func documentedEdgesWork() throws {
        let exactNewton = try NewtonKrylov(forcing: .constant(0)).solve(Self.tanh, from: Matrix(rows: 2, columns: 6),
                                                                        criteria: try StoppingCriteria(tolerance: 1e-12))
        #expect(exactNewton.converged)
        let none = try ForwardIteration().solve(Self.tanh, from: Matrix(rows: 2, columns: 6),
                                                criteria: try StoppingCriteria(maxIterations: 0))
        #expect(none.samples.allSatisfy { $0.outcome == .maxIterationsReached && $0.evaluations == 1 && $0.iterations == 0 })
    }

    @Test func atLeastThirtyMistakesAreTried() {
        #expect(Self.mistakes.count >= 30)
    }
}
