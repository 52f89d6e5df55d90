import Foundation

/// A classification loss on logits, one row per (sample, position), averaged over the rows.
///
///     cross-entropy:  ℓ = (1/N) Σₙ [log Σₖ exp(sₙₖ) − s_{n,yₙ}],        ∂ℓ/∂sₙₖ = (softmax(sₙ)ₖ − [k = yₙ]) / N
///     mean squared:   ℓ = (1/N) Σₙ Σₖ (sₙₖ − [k = yₙ])²,              ∂ℓ/∂sₙₖ = 2 (sₙₖ − [k = yₙ]) / N
///
/// The softmax subtracts the row maximum first, so large logits do not overflow. O(N K).
public enum Loss: String, Sendable, CaseIterable, Codable {
    case crossEntropy = "cross-entropy"
    case meanSquaredError = "mse"

    /// The value of the loss, its gradient with respect to the logits (N × K), and for each row
    /// whether its arg-max is the target (the first maximum on ties).
    public func evaluate(logits: Matrix, targets: [Int]) -> (value: Double, gradient: Matrix, correct: [Bool]) {
        let n = logits.rows, k = logits.columns
        precondition(targets.count == n, "\(targets.count) targets for \(n) rows of logits.")
        precondition(targets.allSatisfy { (0..<k).contains($0) }, "a target lies outside 0..<\(k).")
        var gradient = Matrix(rows: n, columns: k)
        var correct = [Bool](repeating: false, count: n)
        var total = 0.0
        let scale = 1 / Double(max(n, 1))
        for row in 0..<n {
            let s = Array(logits.storage[(row * k)..<((row + 1) * k)])
            let y = targets[row]
            var best = 0
            for j in 1..<k where s[j] > s[best] { best = j }
            correct[row] = best == y
            switch self {
            case .crossEntropy:
                let m = s[best]
                let exps = s.map { Foundation.exp($0 - m) }
                let sum = exps.reduce(0, +)
                total += Foundation.log(sum) + m - s[y]
                for j in 0..<k { gradient.storage[row * k + j] = (exps[j] / sum - (j == y ? 1 : 0)) * scale }
            case .meanSquaredError:
                for j in 0..<k {
                    let e = s[j] - (j == y ? 1 : 0)
                    total += e * e
                    gradient.storage[row * k + j] = 2 * e * scale
                }
            }
        }
        return (total * scale, gradient, correct)
    }
}
