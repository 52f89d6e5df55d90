import Foundation

/// A first-order optimiser's options: Adam (with bias correction) or SGD (with optional heavy-ball
/// momentum), and an optional clip of the gradient's global norm.
///
///     Adam:  m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
///            θ ← θ − η m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
///     SGD:   m ← μ m + g,   θ ← θ − η m          (μ = 0: plain SGD)
///
/// Defaults η = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 are Kingma & Ba's. State is per named
/// parameter (``OptimizerState``), so a checkpoint stores it as arrays. O(|θ|) per step.
///
/// References: D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
public struct Optimizer: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case adam, sgd
    }

    public var kind: Kind
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// μ for SGD.
    public var momentum: Double
    /// When set, the gradient is scaled so its global norm is at most this.
    public var clipNorm: Double?

    public init(kind: Kind = .adam, learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, momentum: Double = 0, clipNorm: Double? = nil) {
        self.kind = kind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.momentum = momentum
        self.clipNorm = clipNorm
    }

    /// One step: the updated parameters (same names and order), advancing `state`.
    public func step(_ parameters: [NamedArray], gradient: [NamedArray], state: inout OptimizerState) -> [NamedArray] {
        precondition(parameters.map(\.name) == gradient.map(\.name), "the gradient's names differ from the parameters'.")
        state.step += 1
        var clip = 1.0
        if let clipNorm {
            let norm = gradient.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1 * $1 } }.squareRoot()
            if norm > clipNorm { clip = clipNorm / norm }
        }
        let t = Double(state.step)
        return zip(parameters, gradient).map { p, g in
            var theta = p.values
            var m = state.first[p.name] ?? [Double](repeating: 0, count: theta.count)
            switch kind {
            case .adam:
                var v = state.second[p.name] ?? [Double](repeating: 0, count: theta.count)
                let c1 = 1 - Foundation.pow(beta1, t), c2 = 1 - Foundation.pow(beta2, t)
                for j in theta.indices {
                    let gj = g.values[j] * clip
                    m[j] = beta1 * m[j] + (1 - beta1) * gj
                    v[j] = beta2 * v[j] + (1 - beta2) * gj * gj
                    theta[j] -= learningRate * (m[j] / c1) / ((v[j] / c2).squareRoot() + epsilon)
                }
                state.second[p.name] = v
            case .sgd:
                for j in theta.indices {
                    m[j] = momentum * m[j] + g.values[j] * clip
                    theta[j] -= learningRate * m[j]
                }
            }
            state.first[p.name] = m
            return NamedArray(name: p.name, shape: p.shape, values: theta)
        }
    }
}

/// An optimiser's running state: the step count t and the moments per parameter name (Adam's m
/// and v; SGD's momentum buffer in `first`).
public struct OptimizerState: Sendable, Equatable {
    public var step: Int = 0
    public var first: [String: [Double]] = [:]
    public var second: [String: [Double]] = [:]

    public init(step: Int = 0, first: [String: [Double]] = [:], second: [String: [Double]] = [:]) {
        self.step = step
        self.first = first
        self.second = second
    }
}

extension Optimizer {
    /// ``step(_:gradient:state:)``, refusing a result with a non-finite parameter: training stops
    /// with a sentence and the caller's last checkpoint (epoch `epoch`) stays the valid one.
    /// `advice` ends the sentence (what to try).
    func finiteStep(_ parameters: [NamedArray], gradient: [NamedArray], state: inout OptimizerState,
                    epoch: Int, advice: String) throws -> [NamedArray] {
        let updated = step(parameters, gradient: gradient, state: &state)
        if let bad = updated.first(where: { !$0.values.allSatisfy(\.isFinite) }) {
            throw TrainingError("epoch \(epoch + 1), step \(state.step): the optimiser step made \(bad.name) non-finite; training stopped and the last checkpoint (epoch \(epoch)) was kept; expected finite parameters (\(advice))")
        }
        return updated
    }
}

extension TrainingCheckpoint {
    /// Throws unless the checkpoint's parameters have `current`'s names and shapes, in order.
    func checkParameters(match current: [NamedArray]) throws {
        let names = current.map(\.name)
        guard parameters.map(\.name) == names, parameters.map(\.shape) == current.map(\.shape) else {
            throw TrainingError("the checkpoint's parameters \(parameters.map(\.name)) do not match the model's \(names)")
        }
    }
}
