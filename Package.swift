// swift-tools-version:6.1
import PackageDescription

/// Every target builds in the Swift 6 language mode (strict concurrency).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "nomad-kubelet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nomad-kubelet", targets: ["nomad-kubelet"]),
        // For Benchmarks/ (a separate package that depends on this one by path): the libraries the
        // micro-benchmarks measure. Not a supported API for other packages.
        // scripts/bench.sh builds the simulators in release through Benchmarks/; never packaged.
        .executable(name: "nomad-kubelet-sandbox", targets: ["nomad-kubelet-sandbox"]),
        .library(name: "NomadKubeletLibraries", targets: ["KubernetesModels", "NomadModels", "Translation", "SPDY", "KubernetesClient", "NomadClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    ],
    targets: [
        // Pure Codable models: no I/O, no networking imports.
        .target(name: "KubernetesModels", dependencies: ["Timestamps"], swiftSettings: swiftSettings),
        .target(name: "NomadModels", dependencies: ["Timestamps"], swiftSettings: swiftSettings),
        // RFC 3339 parsing both model modules share.
        .target(name: "Timestamps", swiftSettings: swiftSettings),

        // Thin I/O clients.
        .target(
            name: "KubernetesClient",
            dependencies: [
                "KubernetesModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "NomadClient",
            dependencies: [
                "NomadModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // SPDY/3.1 protocol layer for the kubelet API's exec and port-forward: framing, zlib header
        // compression, stream state. No sockets; KubeletServer and TestSupport run it on their channels.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "SPDY",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Pure translation: Pod -> Nomad job, Nomad state -> PodStatus. Models only.
        .target(name: "Translation", dependencies: ["KubernetesModels", "NomadModels"], swiftSettings: swiftSettings),

        // Controllers that connect the clients.
        .target(
            name: "Agent",
            dependencies: [
                "KubernetesClient", "NomadClient", "Translation",
                // Probes and lifecycle hooks: httpGet, tcpSocket and the gRPC health check.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubeletServer",
            dependencies: [
                "KubernetesClient", "NomadClient", "Translation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // Streaming (exec, attach, port-forward): SPDY/3.1 and WebSocket upgrades.
                "SPDY",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "nomad-kubelet",
            dependencies: [
                "Agent", "KubeletServer", "KubernetesClient", "Translation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Development sandbox: the simulators on loopback for scripts/sandbox.sh. Never packaged.
        .executableTarget(
            name: "nomad-kubelet-sandbox",
            dependencies: ["TestSupport", "KubernetesModels", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // Test support: simulators of the Kubernetes API and of Nomad. Never linked into the shipped binary.
        // Process primitives for the Nomad simulator's executor (new session, pty, task user).
        .target(name: "CNomadSimShims"),
        .target(
            name: "TestSupport",
            dependencies: [
                "KubernetesModels", "KubernetesClient", "NomadModels", "CNomadSimShims", "SPDY",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/kubectl")],
            swiftSettings: swiftSettings
        ),

        // Swift Testing traits of the test targets (apart from TestSupport, which the sandbox links).
        .target(name: "TestCleanup", swiftSettings: swiftSettings),

        .testTarget(name: "KubernetesModelsTests", dependencies: ["KubernetesModels", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "NomadModelsTests", dependencies: ["NomadModels", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KubernetesClientTests", dependencies: ["KubernetesClient", "KubernetesModels", "TestSupport", "TestCleanup"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                // KubeletServer: the service examples' stories use kubectl logs and exec.
                "Agent", "KubeletServer", "TestSupport", "TestCleanup", .product(name: "Yams", package: "Yams"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TranslationTests",
            dependencies: ["Translation", "TestSupport", "NomadClient", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NomadClientTests",
            dependencies: [
                "NomadClient", "TestSupport", "TestCleanup", .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeletServerTests",
            dependencies: [
                "KubeletServer", "TestSupport", "TestCleanup", "KubernetesClient", "KubernetesModels", "NomadClient", "NomadModels", "Translation", "Agent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SPDYTests",
            dependencies: [
                "SPDY", "CZlib", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeletStreamingTests",
            dependencies: [
                "KubeletServer", "SPDY", "TestSupport", "NomadClient", "NomadModels", "KubernetesModels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: [
                "TestSupport", "TestCleanup", "KubernetesModels", "KubernetesClient", "NomadClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
