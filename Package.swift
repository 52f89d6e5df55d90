// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Equilibrium",
    products: [
        .library(name: "Equilibrium", targets: ["Equilibrium"]),
        .executable(name: "deq", targets: ["deq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS) and LAPACKE behind one system-library module; not API.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(
            name: "Equilibrium",
            dependencies: ["COpenBLAS"]
        ),
        .executableTarget(
            name: "deq",
            dependencies: [
                "Equilibrium",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "EquilibriumTests",
            dependencies: ["Equilibrium", "deq"],
            exclude: ["Fixtures"]
        ),
    ]
)
