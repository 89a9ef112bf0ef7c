// swift-tools-version:6.1
// The micro-benchmarks (issue 10), a package of their own that depends on the root package by path.
// Kept out of the root Package.swift so that `swift build --build-tests`, the tests and CI's debug
// build neither resolve nor compile ordo-one/benchmark and its malloc interposer; only
// `scripts/bench.sh` builds this package (in release, in Benchmarks/.build).
// Run: `cd Benchmarks && swift package benchmark` (or `scripts/bench.sh`, which also runs the system
// benchmarks).
import PackageDescription

let package = Package(
    name: "nomad-kubelet-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency is otherwise known by its directory name (the clone's).
        .package(name: "nomad-kubelet", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        .executableTarget(
            name: "NomadKubeletBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NomadKubeletLibraries", package: "nomad-kubelet"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/NomadKubeletBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
