import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// A test-support stand-in for a Nomad 1.1 agent in dev mode: an HTTP server on 127.0.0.1 that
/// answers like Nomad (checked against `Tests/Fixtures/recorded/nomad/`) and runs the tasks of the
/// jobs it schedules as REAL processes (raw_exec-like). Never shipped.
public final class NomadSimulator: Sendable {
    /// One simulated client node.
    public struct Node: Sendable {
        /// The node name (`${node.unique.name}`, `${attr.unique.hostname}`).
        public var name: String
        public var datacenter: String
        public var nodeClass: String
        public var pool: String
        public var cpuMHz: Int
        public var memoryMB: Int
        public var diskMB: Int
        public var drivers: [String]
        public var address: String
        public var meta: [String: String]
        /// Extra or overriding `${attr.*}` values.
        public var attributes: [String: String]
        var version: String = "1.1.2"

        /// A node with a dev agent's defaults (name `vm`, dc1, the recorded CPU/memory/disk, raw_exec/exec drivers).
        /// `meta` adds to the dev agent's `connect.*` metadata; `attributes` add to or override `${attr.*}`.
        public init(
            name: String = "vm", datacenter: String = "dc1", nodeClass: String = "", pool: String = "default",
            cpuMHz: Int = 5192, memoryMB: Int = 24105, diskMB: Int = 75247, drivers: [String] = ["raw_exec", "exec", "mock_driver"],
            address: String = "127.0.0.1", meta: [String: String] = [:], attributes: [String: String] = [:]
        ) {
            self.name = name
            self.datacenter = datacenter
            self.nodeClass = nodeClass
            self.pool = pool
            self.cpuMHz = cpuMHz
            self.memoryMB = memoryMB
            self.diskMB = diskMB
            self.drivers = drivers
            self.address = address
            self.meta = meta
            self.attributes = attributes
        }
    }

    /// An ACL token the simulator accepts in `X-Nomad-Token`.
    public struct ACLToken: Sendable {
        /// The secret sent in `X-Nomad-Token`.
        public var secretID: String
        /// A management token may do everything.
        public var management: Bool
        /// Nomad capabilities granted (`read-job`, `submit-job`, `read-logs`, `alloc-exec`,
        /// `alloc-lifecycle`, `list-jobs`) plus `node:read` and `agent:read`.
        public var capabilities: Set<String>

        /// A token; a management token ignores `capabilities`.
        public init(secretID: String, management: Bool = false, capabilities: Set<String> = []) {
            self.secretID = secretID
            self.management = management
            self.capabilities = capabilities
        }
    }

    /// How the simulator is set up.
    public struct Configuration: Sendable {
        /// The client nodes; one dev node by default.
        public var nodes: [Node] = [Node()]
        /// Accepted tokens; `nil` means ACLs are disabled.
        public var aclTokens: [ACLToken]? = nil
        /// The version `/v1/agent/self` reports.
        public var version: String = "1.1.2"
        /// Whether that version has Variables (1.4+): `/v1/var`, `/v1/vars` and `nomadVar` in templates.
        var hasVariables: Bool {
            let numbers = version.split(separator: "-").first.map { $0.split(separator: ".").map { Int($0) ?? 0 } } ?? []
            return (numbers.first ?? 0, numbers.dropFirst().first ?? 0) >= (1, 4)
        }
        /// Where allocation directories go; a fresh temporary directory when nil (removed at shutdown).
        public var dataDirectory: URL? = nil
        /// How often the event stream and followed framed logs send `{}` heartbeats.
        public var heartbeatInterval: Duration = .seconds(10)
        /// The region and datacenter the agent reports.
        public var region: String = "global"
        /// Open connections one client IP may hold (`limits.http_max_conns_per_client`, 100 by
        /// default, 0 = no limit); beyond it a new connection is closed at once, as Nomad does.
        public var httpMaxConnsPerClient: Int = 100

        /// The dev-agent defaults.
        public init() {}
    }

    /// What the agent does with incoming requests.
    public enum Availability: Sendable {
        /// Answer normally.
        case up
        /// Answer every request with 503 and Nomad's "No cluster leader" text.
        case serviceUnavailable
        /// Close the listener: connections are refused until `.up` (same port).
        case refusingConnections
    }

    let cluster: NomadCluster
    let configuration: Configuration
    private let control: Mutex<Control>
    private let ownsDataDirectory: Bool
    private let logger: Logger
    private let connections: OpenConnections

    struct Control: Sendable {
        var availability: Availability = .up
        var delay: Duration = .zero
        var server: Task<Void, Never>?
        var port: Int = 0
    }

    /// `http://127.0.0.1:PORT`.
    public var address: String { "http://127.0.0.1:\(control.withLock { $0.port })" }

    private init(configuration: Configuration, dataDirectory: URL, ownsDataDirectory: Bool) {
        var nodes = configuration.nodes
        for index in nodes.indices { nodes[index].version = configuration.version }
        var configuration = configuration
        configuration.nodes = nodes
        self.configuration = configuration
        var logger = Logger(label: "nomad-simulator")
        logger.logLevel = .warning
        self.logger = logger
        self.cluster = NomadCluster(configuration: configuration, dataDirectory: dataDirectory, logger: logger)
        self.control = Mutex(Control())
        self.connections = OpenConnections(maxPerClient: configuration.httpMaxConnsPerClient)
        self.ownsDataDirectory = ownsDataDirectory
    }

    /// Starts a simulator on an ephemeral port of 127.0.0.1.
    public static func start(_ configuration: Configuration = .init()) async throws -> NomadSimulator {
        let directory =
            configuration.dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("nomad-sim-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let simulator = NomadSimulator(
            configuration: configuration, dataDirectory: directory, ownsDataDirectory: configuration.dataDirectory == nil)
        try await simulator.listen(port: 0)
        return simulator
    }

    private func listen(port: Int) async throws {
        let routes = NomadRoutes(simulator: self)
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.add(middleware: FaultMiddleware(simulator: self))
        routes.register(on: router)
        routes.registerExecRefusals(on: router)
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        wsRouter.add(middleware: FaultMiddleware(simulator: self))
        routes.registerWebSocket(on: wsRouter)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        // Hummingbird reports cancelled connections at shutdown as errors; they are expected here.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let app = Application(
            router: router,
            server: SameOriginWebSocketChannel.builder(webSocketRouter: wsRouter, connections: connections),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: serverLogger
        )
        let server = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                continuation.finish()
            }
        }
        var bound = 0
        for await value in stream { bound = value }
        guard bound > 0 else {
            server.cancel()
            throw NomadSimulatorError.cannotListen(port: port)
        }
        control.withLock {
            $0.server = server
            $0.port = bound
        }
    }

    private func closeListener() async {
        let server = control.withLock { control -> Task<Void, Never>? in
            defer { control.server = nil }
            return control.server
        }
        server?.cancel()
        connections.closeAll()
        await server?.value
    }

    /// Switches between answering, answering 503, and refusing connections.
    public func setAvailability(_ availability: Availability) async {
        let previous = control.withLock { control -> Availability in
            defer { control.availability = availability }
            return control.availability
        }
        if case .refusingConnections = availability, !(previous == .refusingConnections) {
            await closeListener()
        } else if case .refusingConnections = previous, !(availability == .refusingConnections) {
            let port = control.withLock { $0.port }
            for _ in 0..<50 {
                if (try? await listen(port: port)) != nil { return }
                try? await Task.sleep(for: .milliseconds(100))
            }
            logger.error("could not reopen the listener", metadata: ["port": "\(port)"])
        }
    }

    /// Takes a client node down (its allocations become lost, their processes are killed) or up.
    public func setNodeDown(_ nodeName: String, _ down: Bool) async {
        await cluster.setNodeDown(nodeName, down)
    }

    /// Delays every answer by `delay`.
    public func setResponseDelay(_ delay: Duration) async {
        control.withLock { $0.delay = delay }
    }

    /// Stops every task, kills every process the simulator started and closes the server.
    public func shutdown() async {
        await cluster.shutdown()
        await closeListener()
        if ownsDataDirectory { try? FileManager.default.removeItem(at: cluster.dataDirectory) }
    }

    /// The HTTP connections the agent holds open for client IP `address` (what its connection limit counts).
    public func openConnections(from address: String = "127.0.0.1") -> Int { connections.count(from: address) }

    /// The connections closed unanswered so far for being over `httpMaxConnsPerClient`.
    public var refusedConnections: Int { connections.refused }

    var availability: Availability { control.withLock { $0.availability } }
    var responseDelay: Duration { control.withLock { $0.delay } }
}

extension NomadSimulator.Availability: Equatable {}

/// Errors of the Nomad simulator.
public struct NomadSimulatorError: Error, CustomStringConvertible {
    private enum Code: Sendable {
        case cannotListen(Int)
    }

    private let code: Code

    /// The HTTP listener could not bind 127.0.0.1 on the port.
    static func cannotListen(port: Int) -> NomadSimulatorError { .init(code: .cannotListen(port)) }

    public var description: String {
        switch code {
        case .cannotListen(let port):
            return "the Nomad simulator could not listen on 127.0.0.1:\(port); check that the port is free"
        }
    }
}

/// Applies the configured faults (503, slow answers) and ACLs before a route runs.
struct FaultMiddleware: RouterMiddleware {
    typealias Context = BasicWebSocketRequestContext
    let simulator: NomadSimulator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let delay = simulator.responseDelay
        if delay > .zero { try await Task.sleep(for: delay) }
        if simulator.availability == .serviceUnavailable {
            return NomadRoutes.text("No cluster leader", status: .serviceUnavailable)
        }
        if let tokens = simulator.configuration.aclTokens {
            let secret = request.headers[.init("X-Nomad-Token")!] ?? ""
            let capability = NomadRoutes.capability(for: request)
            if let capability {
                guard let token = tokens.first(where: { $0.secretID == secret }) else {
                    return NomadRoutes.text(secret.isEmpty ? "Permission denied" : "ACL token not found", status: .forbidden)
                }
                if !token.management && !token.capabilities.contains(capability) {
                    return NomadRoutes.text("Permission denied", status: .forbidden)
                }
            }
        }
        return try await next(request, context)
    }
}
