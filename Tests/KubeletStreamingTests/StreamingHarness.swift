import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KubeletServer
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NomadClient
import NomadModels
import SPDY
import Synchronization
import TestSupport

/// A kubelet endpoint serving only the streaming channel (plus `/healthz`), on 127.0.0.1 and an
/// ephemeral port, with or without TLS.
final class KubeletTestServer: Sendable {
    let port: Int
    private let server: Task<Void, Never>

    private init(port: Int, server: Task<Void, Never>) {
        self.port = port
        self.server = server
    }

    static func start(streaming: KubeletStreaming, tls: TLSConfiguration? = nil) async throws -> KubeletTestServer {
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "kubelet-streaming-test-server")
        logger.logLevel = ProcessInfo.processInfo.environment["STREAMING_TEST_LOG"] == nil ? .critical : .trace
        let builder: HTTPServerBuilder = try tls.map { try .tls(.kubelet(streaming: streaming), tlsConfiguration: $0) } ?? .kubelet(streaming: streaming)
        let app = Application(
            router: router, server: builder,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let server = Task {
            do { try await app.runService(gracefulShutdownSignals: []) } catch { continuation.finish() }
        }
        var port = 0
        for await bound in ports { port = bound }
        guard port > 0 else {
            server.cancel()
            throw ServerDidNotStart()
        }
        return KubeletTestServer(port: port, server: server)
    }

    func shutdown() async {
        server.cancel()
        await server.value
    }
}

/// The harness's pod failed to start every time it was registered.
struct PodDidNotStart: Error, CustomStringConvertible {
    var failures: [String]
    var description: String { "the harness's pod job never ran: \(failures.joined(separator: "; "))" }
}

/// The kubelet test server could not bind.
struct ServerDidNotStart: Error, CustomStringConvertible {
    var description: String { "the kubelet test server did not start listening on 127.0.0.1" }
}

/// Admits `Bearer admin`, refuses `Bearer viewer` with 403 and anything else with 401, with the
/// kubelet's texts; or admits everyone (the TLS layer checked the client certificate).
struct TestAuthorizer: StreamingAuthorizer {
    var admitsEveryone = false

    func authorize(_ request: HTTPRequest, channel: any Channel) async -> StreamingRefusal? {
        if admitsEveryone { return nil }
        switch request.headerFields[.authorization] {
        case "Bearer admin": return nil
        case "Bearer viewer":
            return StreamingRefusal(code: 403, reason: "Forbidden", message: "Forbidden (user=viewer, verb=create, resource=nodes, subresource=proxy)")
        default:
            return StreamingRefusal(code: 401, reason: "Unauthorized", message: "Unauthorized")
        }
    }
}

/// One pod `default/web` with container `main`, running in the harness's allocation.
struct TestLocator: StreamingPodLocator {
    let allocationID: String
    let host: String

    func execTarget(namespace: String, pod: String, container: String) async throws -> ExecTarget {
        guard namespace == "default", pod == "web" else { throw StreamingRefusal(code: 404, reason: "NotFound", message: "pod does not exist") }
        guard container == "main" else { throw StreamingRefusal(code: 404, reason: "NotFound", message: "container not found (\"\(container)\")") }
        return ExecTarget(allocationID: allocationID, task: "main")
    }

    func portForwardHost(namespace: String, pod: String) async throws -> String {
        guard namespace == "default", pod == "web" else { throw StreamingRefusal(code: 404, reason: "NotFound", message: "pod does not exist") }
        return host
    }
}

/// A Nomad agent (real when `E2EEnvironment.realNomadAddress` is set, else the simulator) running
/// one raw_exec task `main` that serves HTTP on `podPort` (python3's http.server, answering
/// `index.html` = "hello from pseudo-pod"), and a kubelet endpoint bridged to it.
struct StreamingHarness {
    let nomad: NomadClient
    let simulator: NomadSimulator?
    let jobID: String
    let allocationID: String
    let podPort: Int
    let server: KubeletTestServer

    static let podAnswer = "hello from pseudo-pod\n"
    static var python: String? { ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) } }

    static func with(
        tls: TLSConfiguration? = nil, admitsEveryone: Bool = false, configuration: StreamingConfiguration = .init(),
        _ body: (StreamingHarness) async throws -> Void
    ) async throws {
        var simulator: NomadSimulator?
        let nomad: NomadClient
        if let address = E2EEnvironment.realNomadAddress {
            var clientConfiguration = NomadClientConfiguration.fromEnvironment()
            clientConfiguration.address = address
            nomad = try NomadClient(configuration: clientConfiguration)
        } else {
            let started = try await NomadSimulator.start()
            simulator = started
            nomad = try NomadClient(configuration: NomadClientConfiguration(address: started.address))
        }
        var jobID = ""
        var server: KubeletTestServer?
        do {
            let pod = try await startPod(nomad: nomad) { jobID = $0 }
            let (allocationID, podPort) = (pod.allocationID, pod.port)
            var logger = Logger(label: "kubelet-streaming-test")
            logger.logLevel = ProcessInfo.processInfo.environment["STREAMING_TEST_LOG"] == nil ? .critical : .trace
            let streaming = KubeletStreaming(
                authorizer: TestAuthorizer(admitsEveryone: admitsEveryone), locator: TestLocator(allocationID: allocationID, host: "127.0.0.1"),
                nomad: nomad, configuration: configuration, logger: logger)
            server = try await KubeletTestServer.start(streaming: streaming, tls: tls)
            try await body(StreamingHarness(nomad: nomad, simulator: simulator, jobID: jobID, allocationID: allocationID, podPort: podPort, server: server!))
        } catch {
            await Self.cleanUp(server: server, nomad: nomad, simulator: simulator, jobID: jobID)
            throw error
        }
        await Self.cleanUp(server: server, nomad: nomad, simulator: simulator, jobID: jobID)
    }

    /// Registers the pod's job with a free port and waits, on Nomad's blocking queries, until its
    /// allocation runs. Between `freePort()` and the task's bind another process (a parallel test,
    /// any outgoing connection) may take the port, and the task fails: then the job is purged and
    /// registered again, under a new ID with another port, up to three times. `registered` learns
    /// each job ID, so the caller cleans up the last one whatever happens.
    private static func startPod(nomad: NomadClient, registered: (String) -> Void) async throws -> (allocationID: String, port: Int) {
        var failures: [String] = []
        for _ in 1...3 {
            let jobID = "kubelet-streams-\(UUID().uuidString.prefix(8).lowercased())"
            let port = try freePort()
            let script = python.map { "echo 'hello from pseudo-pod' > index.html; exec \($0) -m http.server \(port) --bind 127.0.0.1" } ?? "exec sleep 3600"
            registered(jobID)
            _ = try await nomad.register(Self.job(id: jobID, script: script))
            let deadline = ContinuousClock.now + .seconds(60)
            var index: UInt64 = 0
            var ended: String?
            while ended == nil, ContinuousClock.now < deadline {
                let answer = try await nomad.allocations(ofJob: jobID, options: NomadQueryOptions(waitIndex: index, waitTime: .seconds(5)))
                if let id = answer.value.first(where: { $0.clientStatus == .running })?.id { return (id, port) }
                if let failed = answer.value.first(where: { [.failed, .lost, .complete].contains($0.clientStatus) }) {
                    ended = "\(jobID) on port \(port): allocation \(failed.clientStatus?.rawValue ?? "?") (\(failed.clientDescription ?? ""))"
                }
                index = max(answer.index, index)
            }
            guard let ended else { throw PodDidNotStart(failures: failures + ["\(jobID) on port \(port): no running allocation within 60 s"]) }
            failures.append(ended)
            _ = try? await nomad.deregister(jobID: jobID, purge: true)
        }
        throw PodDidNotStart(failures: failures)
    }

    private static func cleanUp(server: KubeletTestServer?, nomad: NomadClient, simulator: NomadSimulator?, jobID: String) async {
        await server?.shutdown()
        _ = try? await nomad.deregister(jobID: jobID, purge: true)
        try? await nomad.shutdown()
        await simulator?.shutdown()
    }

    private static func job(id: String, script: String) -> Job {
        let task = NomadTask(
            name: "main", driver: "raw_exec", config: TaskConfig(command: "/bin/sh", args: ["-c", script]),
            resources: Resources(cpu: 100, memoryMB: 64), killTimeout: .seconds(2), killSignal: "SIGTERM",
            logConfig: LogConfig(maxFiles: 2, maxFileSizeMB: 1))
        let group = TaskGroup(
            name: "pod", count: 1, tasks: [task],
            restartPolicy: RestartPolicy(attempts: 0, interval: .seconds(120), delay: .seconds(1), mode: .fail),
            reschedulePolicy: ReschedulePolicy(attempts: 0, unlimited: false), ephemeralDisk: EphemeralDisk(sizeMB: 50))
        return Job(id: id, name: id, type: .service, datacenters: ["dc1"], meta: ["k8s.node": "kubelet-streams-tests"], taskGroups: [group])
    }

    /// An exec request target for pod default/web, container main.
    static func execTarget(_ command: [String], stdin: Bool = false, stdout: Bool = true, stderr: Bool = true, tty: Bool = false, kind: String = "exec") -> String {
        var query = command.map { "command=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
        if stderr { query.append("error=1") }
        if stdin { query.append("input=1") }
        if stdout { query.append("output=1") }
        if tty { query.append("tty=1") }
        return "/\(kind)/default/web/main?" + query.joined(separator: "&")
    }

    /// The protocols kube-apiserver v1.36 offers for exec, in its order (recorded).
    static let recordedExecProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]

    /// Upgrades a connection to the harness's kubelet as kube-apiserver does.
    func upgrade(
        _ target: String, protocols: [String] = StreamingHarness.recordedExecProtocols, token: String? = "admin",
        tls: TLSConfiguration? = nil, method: String = "POST"
    ) async throws -> SPDYClient.Outcome {
        var headers = protocols.map { ("X-Stream-Protocol-Version", $0) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await SPDYClient.connect(host: "127.0.0.1", port: server.port, tls: tls, method: method, target: target, headers: headers)
    }

    /// Runs one non-interactive exec over SPDY and collects everything.
    func exec(_ command: [String], stdin: Data? = nil, stderr: Bool = true) async throws -> RemoteCommandStreams.Result {
        let connection = try await upgrade(Self.execTarget(command, stdin: stdin != nil, stderr: stderr)).connection()
        let streams = try await RemoteCommandStreams.open(on: connection, stdin: stdin != nil, stdout: true, stderr: stderr, tty: false)
        if let stdin, let stream = streams.stdin {
            try await stream.write(ByteBuffer(bytes: stdin))
            try await stream.close()
        }
        let result = try await streams.collect()
        await streams.shutdown()
        await connection.closed()
        return result
    }
}

/// A TCP port nothing listens on right now (bound and released).
func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    defer { try? channel.close().wait() }
    return channel.localAddress?.port ?? 0
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func canConnect(port: Int) async -> Bool {
    guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get() else { return false }
    try? await channel.close()
    return true
}
