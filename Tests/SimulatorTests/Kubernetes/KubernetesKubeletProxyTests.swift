import Foundation
import KubernetesModels
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import TestSupport
import Testing

/// The kubelet proxy: `pods/log` and `pods/exec` reach a test kubelet over TLS with the simulator's
/// kubelet-client certificate, as recorded in `apiserver-to-kubelet-requests.txt`.
@Suite("Kubernetes simulator: kubelet proxy", .timeLimit(.minutes(1)))
struct KubernetesKubeletProxyTests {
    private static let logText = "hello from the kubelet\n"
    private static let logResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(logText.utf8.count)\r\n\r\n\(logText)"

    /// A simulator, a fake kubelet, a node whose kubelet endpoint it is, and a pod `web` (container
    /// `main`) on that node.
    private func withKubelet(_ mode: FakeKubelet.Mode, _ body: (KubernetesSimulator, SimulatorHTTP, FakeKubelet) async throws -> Void) async throws {
        var configuration = KubernetesSimulator.Configuration()
        configuration.accessGrants = [AccessGrant(users: ["viewer"], rules: [AccessRule(verbs: ["get"], resources: ["pods", "pods/log"])])]
        try await withSimulator(configuration) { simulator, admin in
            let kubelet = try await FakeKubelet.start(serving: simulator, mode: mode)
            defer { kubelet.shutdown() }
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", kubeletPort: kubelet.port))
            _ = try await admin.post("/api/v1/namespaces/default/pods", podManifest("web", node: "vk-nomad"))
            try await body(simulator, admin, kubelet)
        }
    }

    @Test("GET pods/log is forwarded to /containerLogs on the node's kubelet and its text comes back; exec needs create pods/exec")
    func logs() async throws {
        try await withKubelet(.respond(Self.logResponse)) { simulator, admin, kubelet in
            let answer = try await admin.get("/api/v1/namespaces/default/pods/web/log?tailLines=5&timestamps=true")
            #expect(answer.status == 200)
            #expect(String(decoding: answer.body, as: UTF8.self) == Self.logText)
            let head = try #require(kubelet.requests.first)
            #expect(head.hasPrefix("GET /containerLogs/default/web/main?tailLines=5&timestamps=true HTTP/1.1\r\n"))
            #expect(head.contains("\r\nHost: 127.0.0.1:\(kubelet.port)\r\n"))

            let viewer = try SimulatorHTTP(simulator, as: .user("viewer", groups: []))
            let allowed = try await viewer.get("/api/v1/namespaces/default/pods/web/log").status
            let forbidden = try await viewer.send(.POST, "/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true").status
            let forbiddenViaGet = try await viewer.get("/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true").status
            #expect(allowed == 200)
            #expect(forbidden == 403)
            #expect(forbiddenViaGet == 403, "a WebSocket exec (GET) needs create pods/exec too")
        }
    }

    /// What a real kube-apiserver made of a kubelet's failed pods/log answers (`kubelet CODE
    /// FRAMING: TEXT` in each title).
    static let failedLogAnswers = (try? RecordedTraffic.exchanges("kubernetes/09-pods-log-kubelet-errors.txt")) ?? []

    @Test("a kubelet's failed pods/log answer (plain text, as go-restful writes it) becomes the Status the real API server made of it",
        arguments: failedLogAnswers.indices)
    func failedLogAnswer(index: Int) async throws {
        let recorded = Self.failedLogAnswers[index]
        let match = try #require(recorded.title.wholeMatch(of: /kubelet (\d+) (chunked|Content-Length): (.*)/), "\(recorded.title)")
        let text = String(match.output.3)
        let chunked = match.output.2 == "chunked"
        let body = chunked ? "\(String(text.utf8.count, radix: 16))\r\n\(text)\r\n0\r\n\r\n" : text
        let framing = chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(text.utf8.count)"
        let response = "HTTP/1.1 \(match.output.1) Whatever\r\nContent-Type: text/plain; charset=utf-8\r\n\(framing)\r\n\r\n\(body)"
        try await withKubelet(.respond(response)) { _, admin, _ in
            let answer = try await admin.get(recorded.target)
            #expect(answer.status == recorded.status)
            #expect(answer.json == (try JSONValue(parsing: Data(recorded.responseBody.utf8))), "\(recorded.title)")
        }
    }

    @Test("nodes/NAME/proxy/PATH is forwarded to PATH on the node's kubelet with its query")
    func nodeProxy() async throws {
        let summary = #"{"node":{"nodeName":"vk-nomad"}}"#
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(summary.utf8.count)\r\n\r\n\(summary)"
        try await withKubelet(.respond(response)) { _, admin, kubelet in
            let answer = try await admin.get("/api/v1/nodes/vk-nomad/proxy/stats/summary?only_cpu_and_memory=true")
            #expect(answer.status == 200)
            #expect(answer.json["node"]?["nodeName"] == "vk-nomad")
            #expect(kubelet.requests.first?.hasPrefix("GET /stats/summary?only_cpu_and_memory=true HTTP/1.1\r\n") == true)
        }
    }

    @Test("kubectl logs prints what the kubelet serves", .enabled(if: Kubectl.path != nil, Kubectl.missingReason))
    func kubectlLogs() async throws {
        try await withKubelet(.respond(Self.logResponse)) { simulator, _, kubelet in
            let kubectl = try Kubectl(simulator)
            defer { kubectl.cleanUp() }
            let logs = try await kubectl.run("logs", "web", "--tail=5")
            #expect(logs.status == 0, "\(logs.stderr)")
            #expect(logs.stdout == Self.logText)
            #expect(kubelet.requests.first?.hasPrefix("GET /containerLogs/default/web/main?tailLines=5 HTTP/1.1\r\n") == true)
        }
    }

    @Test("when nothing listens on the kubelet endpoint, pods/log answers the recorded 500")
    func kubeletDown() async throws {
        try await withSimulator { simulator, admin in
            let closed = try await FakeKubelet.start(serving: simulator, mode: .respond(""))
            let port = closed.port
            closed.shutdown()
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", kubeletPort: port))
            var pod = podManifest("web-6ddb9c647c-fhn9x", node: "vk-nomad")
            pod["spec"]?["containers"] = [["name": "host", "image": "host:///bin/sh"]]
            _ = try await admin.post("/api/v1/namespaces/default/pods", pod)
            let answer = try await admin.get("/api/v1/namespaces/default/pods/web-6ddb9c647c-fhn9x/log?tailLines=5")
            let recorded = try RecordedTraffic.exchange("kubernetes/02-pods-as-node.txt", titled: "proxies `kubectl logs`")
            #expect(answer.status == recorded.status)
            // The section's body runs to its closing brace; a comment about the next exchange follows.
            let body = recorded.responseBody
            let json = try #require(body.lastIndex(of: "}").map { String(body[...$0]) })
            let expected = try JSONValue(parsing: Data(json.replacingOccurrences(of: ":10250", with: ":\(port)").utf8))
            #expect(answer.json == expected)
        }
    }

    @Test("an exec upgrade is forwarded with the renamed parameters and, after the kubelet's 101, bytes pass through both ways unchanged")
    func upgradePassthrough() async throws {
        try await withKubelet(.upgradeAndEcho) { simulator, _, kubelet in
            try await withRawConnection(to: simulator) { reader, writer in
            try await writer.write(ByteBuffer(string:
                "POST /api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&tty=true HTTP/1.1\r\n"
                    + "Host: 127.0.0.1\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: channel.k8s.io\r\n\r\n"))
            let response = try await reader.readHead()
            #expect(response.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(response)")

            let payload = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await writer.write(ByteBuffer(bytes: payload))
            let echoed = try await reader.read(count: payload.count)
            #expect(echoed == payload)
            }

            let head = try #require(kubelet.requests.first)
            #expect(head.hasPrefix("POST /exec/default/web/main?command=sh&command=-c&command=echo+hi&input=1&output=1&tty=1 HTTP/1.1\r\n"), "\(head)")
            #expect(head.contains("\r\nUpgrade: SPDY/3.1\r\n"))
            #expect(head.contains("\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: channel.k8s.io\r\n"))
        }
    }
}

/// A tiny kubelet endpoint: TLS with a certificate of the simulator's CA that requires a client
/// certificate from that CA (so the proxy must present its kubelet-client certificate), records each
/// request head, then answers with a canned response and closes, or answers 101 and echoes every byte.
final class FakeKubelet: Sendable {
    enum Mode: Sendable {
        case respond(String)
        case upgradeAndEcho
    }

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let port: Int
    private let channel: NIOAsyncChannel<Connection, Never>
    private let heads = Mutex<[String]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// The request heads received so far.
    var requests: [String] { heads.withLock { $0 } }

    private init(channel: NIOAsyncChannel<Connection, Never>) {
        self.channel = channel
        self.port = channel.channel.localAddress?.port ?? 0
    }

    static func start(serving simulator: KubernetesSimulator, mode: Mode) async throws -> FakeKubelet {
        let pair = try simulator.clientCertificate(for: .node("vk-nomad"))
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(simulator.caCertificatePEM.utf8)))
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let kubelet = FakeKubelet(channel: channel)
        let task = Task {
            _ = try? await channel.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            group.addTask { await kubelet.serve(connection, mode: mode) }
                        }
                    } catch {}
                }
            }
        }
        kubelet.task.withLock { $0 = task }
        return kubelet
    }

    private func serve(_ connection: Connection, mode: Mode) async {
        try? await connection.executeThenClose { inbound, outbound in
            var pending = ByteBuffer()
            var upgraded = false
            for try await var chunk in inbound {
                if upgraded {
                    try await outbound.write(chunk)
                    continue
                }
                pending.writeBuffer(&chunk)
                let bytes = Array(pending.readableBytesView)
                guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                heads.withLock { $0.append(String(decoding: bytes[..<end.upperBound], as: UTF8.self)) }
                switch mode {
                case .respond(let response):
                    try await outbound.write(ByteBuffer(string: response))
                    return
                case .upgradeAndEcho:
                    try await outbound.write(
                        ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"))
                    upgraded = true
                    if end.upperBound < bytes.count { try await outbound.write(ByteBuffer(bytes: bytes[end.upperBound...])) }
                }
            }
        }
    }

    /// Stops listening (open connections end with their peers).
    func shutdown() {
        channel.channel.close(promise: nil)
        task.withLock { $0?.cancel() }
    }
}

/// Reads a byte stream: an HTTP head, then exact byte counts.
struct ByteReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending: [UInt8] = []

    private mutating func fill() async throws {
        guard let chunk = try await iterator.next() else { throw WaitTimedOut(what: "more bytes (the connection closed)") }
        pending += Array(chunk.readableBytesView)
    }

    /// Everything up to and including the blank line that ends an HTTP head.
    mutating func readHead() async throws -> String {
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.upperBound], as: UTF8.self)
                pending.removeFirst(end.upperBound)
                return head
            }
            try await fill()
        }
    }

    /// Exactly `count` bytes.
    mutating func read(count: Int) async throws -> [UInt8] {
        while pending.count < count { try await fill() }
        defer { pending.removeFirst(count) }
        return Array(pending.prefix(count))
    }
}

/// A raw TLS connection to the simulator as the admin (client certificate), for byte-level tests.
func withRawConnection(
    to simulator: KubernetesSimulator,
    _ body: (inout ByteReader, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Void
) async throws {
    let pair = try simulator.clientCertificate(for: .admin)
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(simulator.caCertificatePEM.utf8)))
    tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem))]
    tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem))
    let context = try NIOSSLContext(configuration: tls)
    let port = try #require(URL(string: simulator.url)?.port)
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    try await channel.executeThenClose { inbound, outbound in
        var reader = ByteReader(iterator: inbound.makeAsyncIterator())
        try await body(&reader, outbound)
    }
}
