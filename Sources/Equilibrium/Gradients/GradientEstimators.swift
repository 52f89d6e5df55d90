/// The gradient estimators of the catalog (``Catalog/estimators``), by name.
///
/// | name | estimator | parameters |
/// |---|---|---|
/// | `implicit` | ``ImplicitGradient`` (the exact gradient, up to its backward tolerance) | `backward-solver` (a catalog solver or `lu`), `backward-tol`, `backward-max-iter` |
/// | `phantom` | ``PhantomGradient`` unrolled | `k`, `damping` λ |
/// | `neumann` | ``PhantomGradient`` Neumann series | `k`, `damping` λ |
/// | `jfb` | ``JacobianFreeGradient`` | — |
/// | `shine` | ``SHINEGradient`` (needs the forward solver's inverse estimate: Broyden) | `refine`, `fallback` |
public enum GradientEstimators {
    /// The built-in entries.
    public static let entries: [EstimatorEntry] = [implicit, phantom(.unrolled), phantom(.neumann), jfb, shine]

    static let implicit: EstimatorEntry = {
        let criteria = ImplicitGradient.defaultCriteria
        return EstimatorEntry(
            name: "implicit", summary: "the exact gradient by the implicit function theorem: the adjoint (I − Jᵀ) y = c solved by a solver or dense LU",
            parameters: [
                ParameterDefinition("backward-solver", .name, default: .text("anderson"), "the adjoint's solver: a catalog solver or lu (dense LU, small d)"),
                ParameterDefinition("backward-tol", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false),
                                    default: .real(criteria.tolerance), "relative residual tolerance of the adjoint solve"),
                ParameterDefinition("backward-max-iter", .integer(minimum: 1, maximum: StoppingCriteria.iterationLimit),
                                    default: .integer(criteria.maxIterations), "most iterations of the adjoint solve"),
            ],
            build: { values, catalog throws(UsageError) in
                let solverName = values["backward-solver"]?.stringValue ?? "anderson"
                if solverName == "lu" { return ImplicitGradient.denseLU }
                var backward = criteria
                backward.tolerance = values["backward-tol"]?.doubleValue ?? criteria.tolerance
                backward.maxIterations = values["backward-max-iter"]?.intValue ?? criteria.maxIterations
                let solver: any FixedPointSolver
                do { solver = try catalog.solver(named: solverName).makeSolver() } catch {
                    throw UsageError("estimator implicit", "backward-solver", got: "'\(solverName)'",
                                     expected: "lu or one of \(Catalog.list(catalog.solvers.map(\.name)))")
                }
                return try ImplicitGradient(solver: solver, criteria: backward)
            })
    }()

    static func phantom(_ mode: PhantomGradient.Mode) -> EstimatorEntry {
        let defaults = PhantomGradient()
        return EstimatorEntry(
            name: mode == .unrolled ? "phantom" : "neumann",
            summary: mode == .unrolled ? "the unrolled phantom gradient: back-propagation through k damped steps from z*"
                : "the Neumann phantom gradient: λ Σ_{s<k} ((1 − λ) I + λ Jᵀ)^s c with J frozen at z*",
            parameters: [
                ParameterDefinition("k", .integer(minimum: 1, maximum: PhantomGradient.stepsLimit), default: .integer(defaults.steps),
                                    "terms (unrolled steps)"),
                ParameterDefinition("damping", .real(minimum: 0, maximum: 2, exclusiveMinimum: true, exclusiveMaximum: true),
                                    default: .real(defaults.damping), "λ of the damped steps; 1 is undamped"),
            ],
            build: { values, _ throws(UsageError) in
                try PhantomGradient(mode: mode, steps: values["k"]?.intValue ?? defaults.steps,
                                    damping: values["damping"]?.doubleValue ?? defaults.damping)
            })
    }

    static let jfb = EstimatorEntry(
        name: "jfb", summary: "the Jacobian-free gradient: (I − J)⁻¹ replaced by I", parameters: [],
        build: { _, _ throws(UsageError) in JacobianFreeGradient() })

    static let shine: EstimatorEntry = {
        let defaults = SHINEGradient()
        return EstimatorEntry(
            name: "shine", summary: "SHINE: the adjoint from the forward solver's inverse-Jacobian estimate (Broyden's)",
            parameters: [
                ParameterDefinition("refine", .integer(minimum: 0, maximum: PhantomGradient.stepsLimit), default: .integer(defaults.refineSteps),
                                    "adjoint fixed-point steps after the estimate"),
                ParameterDefinition("fallback", .real(minimum: 0, maximum: nil, exclusiveMinimum: true, exclusiveMaximum: false),
                                    default: .real(defaults.fallbackRatio), "fall back to c when ‖−Hᵀc‖ exceeds this times ‖c‖ (the paper's 1.8)"),
            ],
            needsInverseJacobian: true,
            build: { values, _ throws(UsageError) in
                try SHINEGradient(fallbackRatio: values["fallback"]?.doubleValue ?? defaults.fallbackRatio,
                                  refineSteps: values["refine"]?.intValue ?? defaults.refineSteps)
            })
    }()
}
