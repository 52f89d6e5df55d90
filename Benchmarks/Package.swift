// swift-tools-version:6.0
import PackageDescription

// The benchmarks are a package of their own so that they stay out of the library's build.
// Build and run them in release mode: `make bench` (scripts/bench.sh) at the repository root.
let package = Package(
    name: "EquilibriumBenchmarks",
    dependencies: [
        .package(name: "Equilibrium", path: ".."),
    ],
    targets: [
        // Replaces malloc and friends in the benchmark executable to count heap allocations
        // (forwarding to glibc's own allocator); benchmark-only, never linked into the library.
        .target(name: "CAllocationCounter"),
        // The round trip of a cache line between the two cores (which placement the hypervisor
        // gave the vCPUs), printed with every run.
        .target(name: "CCoreProbe"),
        // Bare CBLAS (OpenBLAS) for the benchmarks' reference calls: Equilibrium's BLAS wrapper is
        // `package` access and not visible from this package.
        .systemLibrary(name: "CBenchBLAS", path: "Sources/CBenchBLAS"),
        .executableTarget(
            name: "deq-bench",
            dependencies: [
                .product(name: "Equilibrium", package: "Equilibrium"),
                "CAllocationCounter",
                "CBenchBLAS",
                "CCoreProbe",
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
    ]
)
