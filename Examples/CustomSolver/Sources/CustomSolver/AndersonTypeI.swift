import Equilibrium

/// Anderson acceleration of type I ("good" multisecant), a solver Equilibrium does not ship,
/// written against its public ``IterativeSolver`` extension point.
///
/// With g = f(z) − z, the last m steps sᵢ = z_{i+1} − zᵢ and residual changes yᵢ = g_{i+1} − gᵢ
/// as the columns of S and Y (d × m), type I takes the inverse-Jacobian estimate of g that
/// meets the secant conditions H Y = S, closest to H₀ = −I in the sense of Broyden's good
/// update (Fang & Saad 2009, "Two classes of multisecant methods for nonlinear acceleration",
/// Numer. Linear Algebra Appl. 16, §3; Zhang, O'Donoghue & Boyd 2020, SIAM J. Optim. 30, eq. 5):
///
///     H = −I + (S + Y)(Sᵀ Y)⁻¹ Sᵀ
///     z⁺ = z − H g = z + g − (S + Y) γ,   (Sᵀ Y) γ = Sᵀ g
///
/// Type II (the library's ``AndersonAcceleration``) instead solves the least-squares problem
/// min ‖g − Y γ‖. Type I needs only an m × m solve but no longer minimises anything, so
/// Sᵀ Y can be singular; this implementation restarts (clears the memory and takes a forward
/// step) when Gaussian elimination with partial pivoting meets a pivot below
/// `restartThreshold` × the largest |entry| of Sᵀ Y, as the restart safeguard of Zhang et al.
///
/// Cost per iteration: one f evaluation and O(m d + m³) per sample.
public struct AndersonTypeI: IterativeSolver {
    /// m ≥ 1: how many past steps the secant conditions use.
    public var memory: Int
    /// The relative pivot below which Sᵀ Y counts as singular and the memory is cleared.
    public var restartThreshold: Double

    public init() {
        memory = 5
        restartThreshold = 1e-10
    }

    public init(memory: Int, restartThreshold: Double = 1e-10) throws(UsageError) {
        self.memory = memory
        self.restartThreshold = restartThreshold
        try validate()
    }

    public var name: String { "anderson-type-1" }

    public func validate() throws(UsageError) {
        guard (1...1000).contains(memory) else {
            throw UsageError("AndersonTypeI", "memory", got: "\(memory)", expected: "an integer in 1...1000 (the number of secant pairs kept)")
        }
        guard restartThreshold > 0, restartThreshold < 1 else {
            throw UsageError("AndersonTypeI", "restartThreshold", got: "\(restartThreshold)", expected: "a number in (0, 1)")
        }
    }

    /// Per sample: S and Y (2 m d), the previous z and g (2 d); shared: Sᵀ Y and Sᵀ g (m² + m).
    public func workspaceBytes(batchSize b: Int, dimension d: Int) -> Int {
        (b * (2 * memory * d + 2 * d) + memory * memory + memory) * MemoryLayout<Double>.stride
    }

    /// The secant pairs of every sample, as ring buffers.
    public final class State {
        let d: Int, m: Int
        let steps: UnsafeMutablePointer<Double>       // S: B × m × d
        let changes: UnsafeMutablePointer<Double>     // Y: B × m × d
        let previousZ: UnsafeMutablePointer<Double>   // B × d
        let previousG: UnsafeMutablePointer<Double>   // B × d
        let gram: UnsafeMutablePointer<Double>        // Sᵀ Y, m × m
        let rhs: UnsafeMutablePointer<Double>         // Sᵀ g, then γ
        var count: [Int]                              // stored pairs per sample
        var newest: [Int]                             // ring slot of the newest pair
        var hasPrevious: [Bool]

        init<Map: FixedPointMap>(context: SolveContext<Map>, memory: Int) {
            let b = context.batchSize
            d = context.dimension
            m = memory
            steps = context.allocate(doubles: b * m * d)
            changes = context.allocate(doubles: b * m * d)
            previousZ = context.allocate(doubles: b * d)
            previousG = context.allocate(doubles: b * d)
            gram = context.allocate(doubles: m * m)
            rhs = context.allocate(doubles: m)
            count = Array(repeating: 0, count: b)
            newest = Array(repeating: -1, count: b)
            hasPrevious = Array(repeating: false, count: b)
        }

        func s(_ sample: Int, _ slot: Int) -> UnsafeMutablePointer<Double> { steps + (sample * m + slot) * d }
        func y(_ sample: Int, _ slot: Int) -> UnsafeMutablePointer<Double> { changes + (sample * m + slot) * d }
    }

    public func makeState<Map: FixedPointMap>(for context: SolveContext<Map>) -> State {
        State(context: context, memory: memory)
    }

    public func step<Map: FixedPointMap>(_ state: inout State, _ context: SolveContext<Map>) -> Proposal {
        let d = context.dimension
        for sample in context.active {
            let z = context.row(context.z, sample), g = context.row(context.g, sample)
            let lastZ = state.previousZ + sample * d, lastG = state.previousG + sample * d
            if state.hasPrevious[sample] {
                // The newest secant pair: s = z − z_prev, y = g − g_prev.
                let slot = (state.newest[sample] + 1) % state.m
                let s = state.s(sample, slot), y = state.y(sample, slot)
                for j in 0..<d {
                    s[j] = z[j] - lastZ[j]
                    y[j] = g[j] - lastG[j]
                }
                state.newest[sample] = slot
                state.count[sample] = min(state.count[sample] + 1, state.m)
            }
            lastZ.update(from: z, count: d)
            lastG.update(from: g, count: d)
            state.hasPrevious[sample] = true

            let n = state.count[sample]
            let slots = (0..<n).map { (state.newest[sample] - $0 + state.m) % state.m }
            if n > 0 {
                for (r, a) in slots.enumerated() {
                    state.rhs[r] = dot(state.s(sample, a), g, d)
                    for (c, b) in slots.enumerated() { state.gram[r * n + c] = dot(state.s(sample, a), state.y(sample, b), d) }
                }
                if solveInPlace(state.gram, state.rhs, n) {
                    // z⁺ = z + g − Σ γᵢ (sᵢ + yᵢ).
                    for (r, a) in slots.enumerated() {
                        let gamma = state.rhs[r], s = state.s(sample, a), y = state.y(sample, a)
                        for j in 0..<d { z[j] -= gamma * (s[j] + y[j]) }
                    }
                } else {
                    state.count[sample] = 0
                }
            }
            for j in 0..<d { z[j] += g[j] }
        }
        return .iterate
    }

    private func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
        var sum = 0.0
        for j in 0..<n { sum += a[j] * b[j] }
        return sum
    }

    /// Solves A x = b (n × n, row-major) by Gaussian elimination with partial pivoting,
    /// overwriting b with x; false when a pivot is below `restartThreshold` × max |Aᵢⱼ| or not finite.
    private func solveInPlace(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ n: Int) -> Bool {
        var scale = 0.0
        for i in 0..<(n * n) { scale = max(scale, abs(a[i])) }
        guard scale > 0, scale.isFinite else { return false }
        for k in 0..<n {
            var pivot = k
            for i in (k + 1)..<max(k + 1, n) where abs(a[i * n + k]) > abs(a[pivot * n + k]) { pivot = i }
            guard abs(a[pivot * n + k]) > restartThreshold * scale else { return false }
            if pivot != k {
                for j in 0..<n { a.swapAt(k * n + j, pivot * n + j) }
                b.swapAt(k, pivot)
            }
            for i in (k + 1)..<max(k + 1, n) {
                let factor = a[i * n + k] / a[k * n + k]
                for j in k..<n { a[i * n + j] -= factor * a[k * n + j] }
                b[i] -= factor * b[k]
            }
        }
        for k in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[k]
            for j in (k + 1)..<max(k + 1, n) { sum -= a[k * n + j] * b[j] }
            b[k] = sum / a[k * n + k]
        }
        return (0..<n).allSatisfy { b[$0].isFinite }
    }
}

private extension UnsafeMutablePointer where Pointee == Double {
    func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}

extension AndersonTypeI {
    /// `anderson-type-1` in a catalog: `memory`, `restart-threshold`.
    public static let catalogEntry = SolverEntry(
        name: "anderson-type-1", summary: "Anderson acceleration of type I (Fang & Saad 2009), from Examples/CustomSolver",
        defaults: AndersonTypeI(),
        settings: [
            .integer("memory", \.memory, of: AndersonTypeI(), minimum: 1, maximum: 1000, "m, secant pairs kept"),
            .real("restart-threshold", \.restartThreshold, of: AndersonTypeI(), minimum: 0, maximum: 1,
                  exclusiveMinimum: true, exclusiveMaximum: true, "relative pivot of Sᵀ Y below which the memory is cleared"),
        ])
}
