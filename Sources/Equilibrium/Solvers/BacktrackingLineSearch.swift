/// Backtracking along a search direction Δ with an Armijo-type sufficient-decrease test, for a
/// batch of samples at once (Broyden and Newton–Krylov; internal, allocated once per solve).
///
/// Each sample tries z + s Δ with s = 1, ½, ¼, … and accepts the first trial with
///
///     ‖g(z + sΔ)‖  ≤ (1 − t s) ‖g(z)‖        (merit ‖g‖, Kelley 1995 §8.1; Newton–Krylov)
///     ‖g(z + sΔ)‖² ≤ (1 − 2t s) ‖g(z)‖²      (merit ‖g‖², Armijo; Broyden)
///
/// with t = 10⁻⁴, g = f − z. For a Newton direction the derivative of ‖g‖² along Δ is −2‖g‖²,
/// so the second test is the classic Armijo rule with constant t; both accept the same steps to
/// first order. A trial that meets the stopping tolerance is accepted whatever the test says (it
/// is the sample's converged point), and a non-finite trial is always rejected (so backtracking
/// also retreats from regions where f overflows). Halving rather than polynomial interpolation:
/// simple, and on DEQ cells the full step is accepted almost always.
///
/// Every trial is one f evaluation of the sample, counted in nfe; the samples still searching
/// are evaluated together in one batched call per round. The accepted trial becomes the iterate
/// (z, f(z)) in the context, so the caller assesses it without evaluating again.
///
/// A solver reaches it by proposing a direction (``Proposal/direction(_:lineSearch:)``); the
/// per-solve loop runs the search.
package final class BacktrackingLineSearch {

    /// t, the sufficient-decrease constant.
    static let sufficientDecrease = 1e-4

    /// Trials per search before it fails (s = 1 … 2⁻⁹).
    let maxTrials: Int
    private let dimension: Int
    private let trialZ: UnsafeMutablePointer<Double>
    private let trialF: UnsafeMutablePointer<Double>
    private let residual: UnsafeMutablePointer<Double>
    private var pending: [Int]
    private var next: [Int]
    private var stepSize: [Double]
    private var trials: [Int]

    /// The bytes a search allocates for B samples of dimension d: the trial points and their
    /// images (2 B d doubles) and one residual row (d).
    public static func workspaceBytes(batchSize b: Int, dimension d: Int) -> Int {
        (2 * b * d + d) * MemoryLayout<Double>.stride
    }

    package init(arena: BufferArena, batchSize b: Int, dimension d: Int, maxTrials: Int = 10) {
        precondition(maxTrials >= 1, "a line search needs at least one trial.")
        self.maxTrials = maxTrials
        dimension = d
        // A search writes the trial rows of its samples before it evaluates or reads them, and
        // the residual row before its norms; no other row is read, so nothing needs zeroing.
        trialZ = arena.uninitializedDoubles(b * d)
        trialF = arena.uninitializedDoubles(b * d)
        residual = arena.uninitializedDoubles(d)
        pending = []
        pending.reserveCapacity(b)
        next = []
        next.reserveCapacity(b)
        stepSize = Array(repeating: 1, count: b)
        trials = Array(repeating: 0, count: b)
    }

    /// Moves every sample in `samples` from its iterate z to an accepted z + sΔ (row s of
    /// `direction`), writing the new point and its image into the context's z and f(z).
    ///
    /// With `enabled == false` the full step is taken unconditionally (one evaluation). When a
    /// sample's search fails, `retry(s)` may write a new direction into row s and return true to
    /// search again from s = 1 (Broyden's restart); otherwise the sample is stopped as
    /// `.stagnated` (`.nonFinite` when its last trial was not finite). A sample whose budget
    /// runs out after a rejected trial is stopped as `.maxEvaluationsReached`.
    package func run<Map>(context: SolveContext<Map>, direction: UnsafePointer<Double>, samples: [Int],
                          enabled: Bool, merit: LineSearchMerit, retry: (Int) -> Bool) {
        let d = dimension, criteria = context.criteria
        guard enabled else {
            // The full step, taken unconditionally: z ← z + Δ in place and f evaluated straight
            // into the context's f(z). The same values as a trial at s = 1 (z + 1·Δ is z + Δ
            // exactly), without the trial's two row copies and its unused residual pass.
            for s in samples {
                let z = context.row(context.z, s), delta = direction + s * d
                for j in 0..<d { z[j] += delta[j] }
            }
            context.evaluate(at: context.z, into: context.fz, samples: samples)
            return
        }
        pending.removeAll(keepingCapacity: true)
        for s in samples {
            pending.append(s)
            stepSize[s] = 1
            trials[s] = 0
        }
        while !pending.isEmpty {
            for s in pending {
                let z = context.row(context.z, s), delta = direction + s * d, trial = trialZ + s * d
                let step = stepSize[s]
                for j in 0..<d { trial[j] = z[j] + step * delta[j] }
            }
            context.evaluate(at: trialZ, into: trialF, samples: pending)
            next.removeAll(keepingCapacity: true)
            for s in pending {
                let trial = trialZ + s * d, image = trialF + s * d
                let (absolute, imageNorm) = context.residualNorms(z: trial, fz: image, residual: residual)
                let finite = absolute.isFinite && imageNorm.isFinite
                let relative = StoppingCriteria.relativeResidual(absolute: absolute, imageNorm: imageNorm)
                let measure = criteria.measure == .absolute ? absolute : relative
                let current = context.absoluteResidual[s], step = stepSize[s]
                let decreased: Bool
                switch merit {
                case .norm:
                    decreased = absolute <= (1 - Self.sufficientDecrease * step) * current
                case .squaredNorm:
                    decreased = absolute * absolute <= (1 - 2 * Self.sufficientDecrease * step) * current * current
                }
                if finite && (measure <= criteria.tolerance || decreased) {
                    context.row(context.z, s).update(from: trial, count: d)
                    context.row(context.fz, s).update(from: image, count: d)
                    continue
                }
                trials[s] += 1
                if context.remainingEvaluations(s) <= 0 {
                    context.stop(sample: s, outcome: .maxEvaluationsReached)
                } else if trials[s] < maxTrials {
                    stepSize[s] = 0.5 * step
                    next.append(s)
                } else if retry(s) {
                    stepSize[s] = 1
                    trials[s] = 0
                    next.append(s)
                } else {
                    context.stop(sample: s, outcome: finite ? .stagnated : .nonFinite)
                }
            }
            swap(&pending, &next)
        }
    }
}
