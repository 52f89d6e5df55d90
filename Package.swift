// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Equilibrium",
    products: [
        .library(name: "Equilibrium", targets: ["Equilibrium"]),
        .library(name: "EquilibriumExperiments", targets: ["EquilibriumExperiments"]),
        .executable(name: "deq", targets: ["deq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS) and LAPACKE behind one system-library module; not API.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        // zlib (inflate, deflate, CRC-32) for .npz archives; not API.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // AVX2 kernels of the solvers' small matrix-vector products, chosen at run time; not API.
        .target(name: "CEquilibriumKernels", path: "Sources/CEquilibriumKernels"),
        .target(
            name: "Equilibrium",
            dependencies: ["COpenBLAS", "CZlib", "CEquilibriumKernels"]
        ),
        // The experiments harness: experiment files, grids, runs, results, pictures.
        .target(
            name: "EquilibriumExperiments",
            dependencies: ["Equilibrium", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "deq",
            dependencies: [
                "Equilibrium",
                "EquilibriumExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "EquilibriumTests",
            dependencies: ["Equilibrium", "EquilibriumExperiments", "deq"],
            exclude: ["Fixtures"]
        ),
    ]
)
