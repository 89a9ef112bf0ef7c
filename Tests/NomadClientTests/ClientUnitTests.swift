import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOWebSocket
import NomadModels
import TestCleanup
import Testing
import TestSupport

@testable import NomadClient

@Suite("Errors from recorded Nomad answers", .awaitsCleanup)
struct ErrorMappingTests {
    static func mapped(_ file: String, _ title: String, resource: String? = nil) throws -> NomadClientError {
        let exchange = try RecordedTraffic.exchange(file, titled: title)
        return NomadClientError.response(status: exchange.status, method: exchange.method, path: exchange.path, resource: resource, body: exchange.responseBody)
    }

    @Test func unknownJobIsNotFoundAndNamesTheJob() throws {
        let error = try Self.mapped("nomad/01-agent-nodes-jobs.txt", "an unknown job", resource: "job \"does-not-exist\"")
        #expect(error.kind == .notFound)
        #expect(error.statusCode == 404)
        #expect(error.serverMessage == "job not found")
        #expect(error.description.contains("does-not-exist"))
    }

    @Test func malformedJSONIsBadRequestQuotingNomad() throws {
        let error = try Self.mapped("nomad/01-agent-nodes-jobs.txt", "malformed JSON")
        #expect(error.kind == .badRequest)
        #expect(error.description.contains("unexpected EOF"))
    }

    @Test func invalidJobIsServerErrorQuotingNomad() throws {
        let error = try Self.mapped("nomad/01-agent-nodes-jobs.txt", "a job with no task groups")
        #expect(error.kind == .serverError)
        #expect(error.description.contains("Missing job task groups"))
    }

    @Test func staleEnforceIndexIsAConflict() throws {
        let error = try Self.mapped("nomad/01-agent-nodes-jobs.txt", "EnforceIndex", resource: "job \"default.web-0\"")
        #expect(error.kind == .enforceIndexConflict)
        #expect(error.description.contains("read it again"))
        #expect(error.description.contains("conflicting job modify index: 73"))
    }

    @Test func logErrors() throws {
        #expect(try Self.mapped("nomad/03-logs.txt", "an unknown task").kind == .unknownTask)
        #expect(try Self.mapped("nomad/03-logs.txt", "an invalid log type").kind == .badRequest)
        let unknownAllocation = try Self.mapped("nomad/03-logs.txt", "logs of an unknown allocation", resource: "logs of task \"web\" in allocation 0000")
        #expect(unknownAllocation.kind == .notFound)
        #expect(unknownAllocation.serverMessage == #"Unknown allocation "00000000-0000-0000-0000-000000000000""#)
    }

    @Test func purgedJobIsNotFound() throws {
        #expect(try Self.mapped("nomad/07-stats-restart-stop-deregister.txt", "the purged job").kind == .notFound)
    }

    @Test func forbiddenNamesTheToken() {
        let error = NomadClientError.response(status: 403, method: "GET", path: "/v1/jobs", resource: nil, body: "Permission denied\n")
        #expect(error.kind == .forbidden)
        #expect(error.description.contains("Permission denied"))
        #expect(error.description.contains("NOMAD_TOKEN"))
    }

    @Test(arguments: [502, 503, 504])
    func gatewayErrorsAreUnavailable(status: Int) {
        #expect(NomadClientError.response(status: status, method: "GET", path: "/v1/jobs", resource: nil, body: "").kind == .unavailable)
    }

    /// The close frames of `06-exec-websocket.txt`.
    @Test func execCloseReasons() {
        let missingBinary = NomadClientError.execFailed(
            allocationID: "d5daa190", task: "web", closeCode: 1011,
            reason: "rpc error: code = Unknown desc = failed to start command: fork/exec /no/such/binary: no such file or directory"
        )
        #expect(missingBinary.kind == .execFailed)
        #expect(missingBinary.description.contains("1011"))
        #expect(missingBinary.description.contains("/no/such/binary"))
        let unknownTask = NomadClientError.execFailed(allocationID: "d5daa190", task: "nope", closeCode: 1011, reason: "task not found")
        #expect(unknownTask.kind == .unknownTask)
        #expect(unknownTask.description.contains("nope"))
    }

    @Test func truncatedJSONIsMalformed() throws {
        let body = ByteBuffer(string: #"{"ID": "web", "TaskGroups": ["#)
        let error = try #require(throws: NomadClientError.self) {
            try NomadClient.decodeBody(Job.self, body, contentType: "application/json", request: "GET /v1/job/web")
        }
        #expect(error.kind == .malformedResponse)
        #expect(error.description.contains("GET /v1/job/web"))
    }

    @Test func wrongContentTypeIsMalformed() throws {
        let body = ByteBuffer(string: "<html><body>Bad gateway</body></html>")
        let error = try #require(throws: NomadClientError.self) {
            try NomadClient.decodeBody(Job.self, body, contentType: "text/html", request: "GET /v1/job/web")
        }
        #expect(error.kind == .malformedResponse)
        #expect(error.description.contains("text/html"))
    }
}

@Suite("Client configuration and requests", .awaitsCleanup)
struct ClientConfigurationTests {
    @Test func queriesCarryNamespaceAndRegionAndAreEncoded() async throws {
        let client = try NomadClient(configuration: NomadClientConfiguration(address: "http://127.0.0.1:4646/", region: "eu", namespace: "team a"))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        #expect(client.baseURL == "http://127.0.0.1:4646")
        #expect(client.target("/v1/jobs", [("filter", #"Meta["k8s.node"] == "vk""#)]) == "/v1/jobs?filter=Meta%5B%22k8s.node%22%5D%20%3D%3D%20%22vk%22&namespace=team%20a&region=eu")
        #expect(client.target("/v1/job/\(NomadClient.pathSegment("a/b c"))") == "/v1/job/a%2Fb%20c?namespace=team%20a&region=eu")
        #expect(client.target("/v1/agent/self", scoped: false) == "/v1/agent/self")
        #expect(client.blocking(NomadQueryOptions(waitIndex: 77, waitTime: .seconds(2))).map { "\($0.0)=\($0.1)" } == ["index=77", "wait=2s"])
        let endpoint = try client.webSocketEndpoint(target: "/v1/client/allocation/a/exec")
        #expect(endpoint.hostHeader == "127.0.0.1:4646")
        #expect(endpoint.tls == nil)
    }

    @Test func execCommandIsAJSONArrayInTheQuery() throws {
        // The recorded request: command=["/bin/sh", "-c", "..."] percent-encoded.
        let recorded = "%5B%22/bin/sh%22%2C%20%22-c%22%2C%20%22read%20x%3B%20echo%20got%20%24x%3B%20echo%20warn%20%3E%262%3B%20exit%207%22%5D"
        let decoded = try JSONDecoder().decode([String].self, from: Data(try #require(recorded.removingPercentEncoding).utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let ours = NomadClient.queryComponent(String(decoding: try encoder.encode(decoded), as: UTF8.self))
        #expect(try JSONDecoder().decode([String].self, from: Data(try #require(ours.removingPercentEncoding).utf8)) == decoded)
        #expect(ours.hasPrefix("%5B%22/bin/sh%22"))
    }

    @Test func badAddressIsAConfigurationError() {
        let error = #expect(throws: NomadClientError.self) { try NomadClient(configuration: NomadClientConfiguration(address: "ftp://nomad:4646")) }
        #expect(error?.kind == .configuration)
        #expect(error?.description.contains("NOMAD_ADDR") == true)
    }

    @Test func tokenIsNeverPrinted() throws {
        let configuration = NomadClientConfiguration(token: NomadToken("s3cr3t-0000"))
        #expect(!"\(configuration)".contains("s3cr3t"))
        #expect("\(String(describing: configuration.token))".contains("redacted"))
    }

    @Test func tokenFromFileIsTrimmedAndEmptyFileRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nomad-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("token")
        try "abc-123\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try NomadToken(contentsOfFile: file.path).secret == "abc-123")
        try "\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: NomadClientError.self) { try NomadToken(contentsOfFile: file.path) }
        let missing = #expect(throws: NomadClientError.self) { try NomadToken(contentsOfFile: directory.appendingPathComponent("nope").path) }
        #expect(missing?.description.contains("nope") == true)
    }

    @Test func environmentIsRead() {
        let configuration = NomadClientConfiguration.fromEnvironment([
            "NOMAD_ADDR": "https://nomad.example:4646", "NOMAD_TOKEN": "t", "NOMAD_NAMESPACE": "ns", "NOMAD_REGION": "r",
            "NOMAD_CACERT": "/ca.pem", "NOMAD_TLS_SERVER_NAME": "server.global.nomad", "NOMAD_SKIP_VERIFY": "true",
        ])
        #expect(configuration.address == "https://nomad.example:4646")
        #expect(configuration.token?.secret == "t")
        #expect(configuration.namespace == "ns")
        #expect(configuration.region == "r")
        #expect(configuration.tls.caFile == "/ca.pem")
        #expect(configuration.tls.serverName == "server.global.nomad")
        #expect(configuration.tls.insecureSkipVerify)
    }

    @Test func missingTLSFilesFailAtCreation() {
        let configuration = NomadClientConfiguration(address: "https://127.0.0.1:4646", tls: .init(caFile: "/does/not/exist.pem"))
        let error = #expect(throws: NomadClientError.self) { try NomadClient(configuration: configuration) }
        #expect(error?.kind == .configuration)
        #expect(error?.description.contains("/does/not/exist.pem") == true)
    }

    @Test func backoffDoublesUpToTheLimit() {
        let retry = NomadClientConfiguration.Retry(maxAttempts: 6, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(350))
        #expect((1...4).map { retry.backoff(afterAttempt: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(350), .milliseconds(350)])
    }

    @Test(arguments: [
        ("1.1.2", NomadVersion(1, 1, 2)), ("v1.6.0-beta.1", NomadVersion(1, 6, 0)), ("1.7.3+ent", NomadVersion(1, 7, 3)), ("0.12", NomadVersion(0, 12, 0)),
    ])
    func versionsParse(text: String, version: NomadVersion) {
        #expect(NomadVersion(text) == version)
    }

    @Test func featuresFollowTheVersion() throws {
        let old = try #require(NomadVersion("0.12.9"))
        let recorded = try #require(NomadVersion("1.1.2"))
        let current = try #require(NomadVersion("1.9.0"))
        #expect(!old.hasEventStream && recorded.hasEventStream)
        #expect(!recorded.hasFilterExpressions && current.hasFilterExpressions)
        #expect(!recorded.hasNodePools && current.hasNodePools)
        #expect(!recorded.hasJobListMeta && current.hasJobListMeta)
        #expect(NomadVersion("nonsense") == nil)
    }
}

@Suite("WebSocket frames", .awaitsCleanup)
struct WebSocketFrameTests {
    static func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(string: text))
    }

    @Test func fragmentedMessagesAreReassembled() {
        var assembler = WebSocketMessageAssembler(maxMessageSize: 64)
        #expect(assembler.receive(Self.frame(.text, #"{"stdout":"#, fin: false)) == .none)
        #expect(assembler.receive(Self.frame(.ping, "p")) == .sendPong(ByteBuffer(string: "p")))
        #expect(assembler.receive(Self.frame(.continuation, #"{"data":"#, fin: false)) == .none)
        #expect(assembler.receive(Self.frame(.continuation, #""aGk="}}"#)) == .text(#"{"stdout":{"data":"aGk="}}"#))
        #expect(assembler.receive(Self.frame(.text, "next")) == .text("next"))
    }

    @Test func protocolViolationsAreReported() {
        var assembler = WebSocketMessageAssembler(maxMessageSize: 8)
        guard case .protocolError = assembler.receive(Self.frame(.continuation, "x")) else { Issue.record("a lone continuation was accepted"); return }
        #expect(assembler.receive(Self.frame(.text, "12345", fin: false)) == .none)
        guard case .protocolError = assembler.receive(Self.frame(.continuation, "6789")) else { Issue.record("an oversized message was accepted"); return }
    }

    @Test func closeFramesCarryCodeAndReason() {
        var assembler = WebSocketMessageAssembler(maxMessageSize: 1 << 10)
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1011))
        payload.writeString("task not found")
        #expect(assembler.receive(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)) == .closed(code: 1011, reason: "task not found"))
        #expect(assembler.receive(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer())) == .closed(code: nil, reason: ""))
    }

    @Test func clientFramesAreMasked() {
        for frame in [NomadWebSocket.textFrame("{}"), NomadWebSocket.pongFrame(ByteBuffer(string: "p")), NomadWebSocket.closeFrame(code: 1000)] {
            #expect(frame.maskKey != nil)
            #expect(frame.fin)
        }
        // The payload stays plain: NIO's WebSocketFrameEncoder applies the mask key when it writes the frame.
        #expect(String(buffer: NomadWebSocket.textFrame("{}").data) == "{}")
    }
}

@Suite("Nomad's per-client connection limit (simulated)", .awaitsCleanup)
struct ConnectionLimitTests {
    /// A simulator allowing `limit` connections per client IP.
    static func simulator(limit: Int) async throws -> NomadSimulator {
        var configuration = NomadSimulator.Configuration()
        configuration.httpMaxConnsPerClient = limit
        return try await NomadSimulator.start(configuration)
    }

    /// `count` idle connections to `simulator`, once it has taken them all in.
    static func hold(_ count: Int, on simulator: NomadSimulator) async throws -> [any Channel] {
        let port = try #require(URL(string: simulator.address)?.port)
        var held: [any Channel] = []
        for _ in 0..<count {
            held.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get())
        }
        _ = try await eventually("the simulator to hold \(count) connection(s)") { simulator.openConnections() == count ? true : nil }
        return held
    }

    @Test("over limits.http_max_conns_per_client a new connection is closed unanswered; the error names the limit, and a freed slot is served")
    func overTheLimit() async throws {
        let simulator = try await Self.simulator(limit: 2)
        defer { DeferredCleanup.start { await simulator.shutdown() } }
        // Two idle connections from this IP hold the limit.
        let held = try await Self.hold(2, on: simulator)
        defer { for channel in held { channel.close(promise: nil) } }
        let client = try NomadClient(configuration: NomadClientConfiguration(address: simulator.address, retry: .none))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let error = try await #require(throws: NomadClientError.self) { _ = try await client.jobs() }
        #expect(error.kind == .unreachable)
        #expect(error.description.contains("limits.http_max_conns_per_client"), "\(error)")
        try await held[0].close()
        _ = try await eventually("a request to be answered once a connection closed") { try? await client.jobs() }
    }

    @Test("an exec whose connection is closed unanswered is tried again: it runs once a slot frees up")
    func execRetriesItsConnection() async throws {
        let simulator = try await Self.simulator(limit: 1)
        defer { DeferredCleanup.start { await simulator.shutdown() } }
        let setup = try NomadClient(configuration: NomadClientConfiguration(address: simulator.address))
        defer { DeferredCleanup.start { try? await setup.shutdown() } }
        let jobID = NomadTestAgent.uniqueJobID("exec-retry")
        _ = try await setup.register(NomadTestAgent.shellJob(id: jobID, script: "sleep 600"))
        let allocationID = try await eventually("the task to run") { () -> String? in
            try await setup.allocations(ofJob: jobID).value.first { $0.taskStates?["main"]?.state == .running }?.id
        }
        try await setup.shutdown()
        _ = try await eventually("the setup client's connection to close") { simulator.openConnections() == 0 ? true : nil }
        let held = try #require(try await Self.hold(1, on: simulator).first)
        defer { held.close(promise: nil) }
        let client = try NomadClient(
            configuration: NomadClientConfiguration(address: simulator.address, retry: .init(maxAttempts: 50, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let session = try client.exec(allocationID: allocationID, task: "main", command: ["/bin/echo", "through"])
        _ = try await eventually("an exec connection to be refused") { simulator.refusedConnections > 0 ? true : nil }
        try await held.close()
        var output = Data()
        for try await chunk in session.output { if case .stdout(let bytes) = chunk { output.append(contentsOf: bytes) } }
        #expect(String(decoding: output, as: UTF8.self) == "through\n")
        #expect(try await session.exitCode() == 0)
    }
}
