import AsyncHTTPClient
import Foundation
import KubernetesModels
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import TestSupport

/// A raw HTTP client for the simulator, authenticated as one identity (client certificate, bearer
/// token, or nothing), so tests see status codes and bodies exactly as they go on the wire.
/// Every request (and every watch) uses an HTTPClient of its own that is shut down when the answer
/// is complete, so there is nothing to clean up.
struct SimulatorHTTP {
    let simulator: KubernetesSimulator
    let tls: TLSConfiguration
    let bearerToken: String?

    /// The answer to a request.
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var json: JSONValue { (try? JSONValue(parsing: body)) ?? .null }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    enum Credential { case certificate, token, none }

    init(_ simulator: KubernetesSimulator, as identity: KubernetesSimulator.Identity = .admin, credential: Credential = .certificate) throws {
        self.simulator = simulator
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(simulator.caCertificatePEM.utf8), format: .pem)])
        if credential == .certificate {
            let pair = try simulator.clientCertificate(for: identity)
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem))
        }
        bearerToken = credential == .token ? simulator.token(for: identity) : nil
        self.tls = tls
    }

    private func makeClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, body: JSONValue?, contentType: String, accept: String?) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: simulator.url + path)
        request.method = method
        if let bearerToken { request.headers.add(name: "Authorization", value: "Bearer \(bearerToken)") }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(data: try body.serialized()))
        }
        return request
    }

    /// Sends one request and collects the whole answer.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, contentType: String = "application/json", accept: String? = nil
    ) async throws -> Response {
        let client = makeClient()
        let bytes: ByteBuffer
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                try makeRequest(method, path, body: body, contentType: contentType, accept: accept), timeout: .seconds(30))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return Response(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: bytes))
    }

    func get(_ path: String) async throws -> Response { try await send(.GET, path) }
    func post(_ path: String, _ body: JSONValue) async throws -> Response { try await send(.POST, path, body: body) }
    func put(_ path: String, _ body: JSONValue) async throws -> Response { try await send(.PUT, path, body: body) }
    func delete(_ path: String, _ body: JSONValue? = nil) async throws -> Response { try await send(.DELETE, path, body: body) }
    func patch(_ path: String, _ body: JSONValue, type: String = "application/strategic-merge-patch+json") async throws -> Response {
        try await send(.PATCH, path, body: body, contentType: type)
    }

    /// A watch: the status code and the events as they arrive (the stream ends with the response).
    func watch(_ path: String, accept: String? = nil) async throws -> (status: Int, events: AsyncThrowingStream<JSONValue, any Error>) {
        let client = makeClient()
        let response: HTTPClientResponse
        do {
            response = try await client.execute(try makeRequest(.GET, path, body: nil, contentType: "", accept: accept), timeout: .seconds(120))
        } catch {
            try? await client.shutdown()
            throw error
        }
        let (events, continuation) = AsyncThrowingStream<JSONValue, any Error>.makeStream()
        let body = response.body
        let task = Task {
            var pending = Data()
            do {
                for try await chunk in body {
                    pending.append(contentsOf: chunk.readableBytesView)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending[pending.startIndex..<newline]
                        pending = Data(pending[pending.index(after: newline)...])
                        if !line.isEmpty { continuation.yield(try JSONValue(parsing: Data(line))) }
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
            try? await client.shutdown()
        }
        continuation.onTermination = { _ in task.cancel() }
        return (Int(response.status.code), events)
    }
}

/// Starts a simulator, runs the body, and shuts everything down even when the body throws.
func withSimulator<T>(
    _ configuration: KubernetesSimulator.Configuration = .init(),
    _ body: (KubernetesSimulator, SimulatorHTTP) async throws -> T
) async throws -> T {
    let simulator = try await KubernetesSimulator.start(configuration)
    let admin = try SimulatorHTTP(simulator)
    do {
        let result = try await body(simulator, admin)
        try await simulator.shutdown()
        return result
    } catch {
        try? await simulator.shutdown()
        throw error
    }
}

/// A minimal pod, optionally bound to a node.
func podManifest(_ name: String, node: String? = nil, labels: [String: String] = [:]) -> JSONValue {
    var spec: [String: JSONValue] = ["containers": [["name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]]]]
    if let node { spec["nodeName"] = .string(node) }
    return [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSONValue.string))],
        "spec": .object(spec),
    ]
}
