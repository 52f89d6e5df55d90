// swift-tools-version:6.0
import PackageDescription

// A package outside Equilibrium that depends on it by path, as a user's own would, and uses only
// its public API (no @testable): a solver the library lacks (Anderson type I), a cell of its own
// (softsign) with analytic Jacobian products and parameter VJPs, and a check program that runs
// them through the library's contract checks, Newton–Krylov, the implicit gradient, a comparison
// and a named experiment. The Equilibrium test suite builds and runs it (ExampleCustomSolverTests).
let package = Package(
    name: "CustomSolver",
    dependencies: [
        .package(name: "Equilibrium", path: "../.."),
    ],
    targets: [
        .target(
            name: "CustomSolver",
            dependencies: [.product(name: "Equilibrium", package: "Equilibrium")]
        ),
        .executableTarget(
            name: "custom-solver-check",
            dependencies: [
                "CustomSolver",
                .product(name: "Equilibrium", package: "Equilibrium"),
                .product(name: "EquilibriumExperiments", package: "Equilibrium"),
            ]
        ),
    ]
)
