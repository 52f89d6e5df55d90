// swift-tools-version:6.0
import PackageDescription

// The benchmarks are a package of their own so that they stay out of the library's build.
// Build and run them in release mode: `make bench` at the repository root.
let package = Package(
    name: "EquilibriumBenchmarks",
    dependencies: [
        .package(name: "Equilibrium", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "deq-bench",
            dependencies: [.product(name: "Equilibrium", package: "Equilibrium")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
