import AsyncHTTPClient
import Foundation
import KubernetesClient
import KubernetesModels
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Testing
import TestSupport

/// The API server a conformance test talks to: the real cluster of `E2EEnvironment.realKubeconfig`
/// (node identity from `NOMAD_KUBELET_E2E_NODE_KUBECONFIG`), else a fresh ``KubernetesSimulator``.
/// Requests are raw, so tests see status codes and bodies exactly as sent.
struct ConformanceServer {
    /// The environment variable naming a kubeconfig of a node identity on the real cluster.
    static let nodeKubeconfigVariable = "NOMAD_KUBELET_E2E_NODE_KUBECONFIG"

    /// Whether node-identity tests can run: always on the simulator, on a real cluster only with a node kubeconfig.
    static var hasNodeIdentity: Bool {
        E2EEnvironment.realKubeconfig == nil || ProcessInfo.processInfo.environment[nodeKubeconfigVariable] != nil
    }

    let simulator: KubernetesSimulator?
    let admin: RawKubernetesHTTP
    /// Unique per test: the prefix of every object name it creates.
    let runID = "conf-" + UUID().uuidString.prefix(8).lowercased()

    /// Runs `body` against a started server and always stops the simulator.
    static func with(_ body: (ConformanceServer) async throws -> Void) async throws {
        if let path = E2EEnvironment.realKubeconfig {
            try await body(ConformanceServer(simulator: nil, admin: try RawKubernetesHTTP(configuration: KubeconfigLoader.load(path: path))))
            return
        }
        var configuration = KubernetesSimulator.Configuration()
        configuration.bookmarkInterval = .milliseconds(200)
        let simulator = try await KubernetesSimulator.start(configuration)
        do {
            let admin = try RawKubernetesHTTP(configuration: KubeconfigLoader.parse(yaml: simulator.kubeconfig(for: .admin), path: "simulator-admin"))
            try await body(ConformanceServer(simulator: simulator, admin: admin))
        } catch {
            try await simulator.shutdown()
            throw error
        }
        try await simulator.shutdown()
    }

    /// A node identity and its name: `system:node:<runID>-node` on the simulator, the node of
    /// `NOMAD_KUBELET_E2E_NODE_KUBECONFIG` on a real cluster (its name from a SelfSubjectReview).
    func nodeIdentity() async throws -> (client: RawKubernetesHTTP, name: String) {
        if let simulator {
            let name = "\(runID)-node"
            let yaml = try simulator.kubeconfig(for: .node(name))
            return (try RawKubernetesHTTP(configuration: KubeconfigLoader.parse(yaml: yaml, path: "simulator-node")), name)
        }
        let path = try #require(ProcessInfo.processInfo.environment[Self.nodeKubeconfigVariable], "set \(Self.nodeKubeconfigVariable)")
        let client = try RawKubernetesHTTP(configuration: KubeconfigLoader.load(path: path))
        let review = try await client.send(
            .POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body: ["apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"])
        let user = try #require(review.json["status"]?["userInfo"]?["username"]?.stringValue)
        let name = try #require(user.hasPrefix("system:node:") ? String(user.dropFirst("system:node:".count)) : nil, "\(path) is not a node identity: \(user)")
        return (client, name)
    }

    /// The admin's configuration with a bearer token nobody issued and no client certificate.
    func unknownTokenClient() throws -> RawKubernetesHTTP {
        var configuration = admin.configuration
        configuration.clientCertificate = nil
        configuration.bearerToken = .token("conformance-unknown-token")
        return try RawKubernetesHTTP(configuration: configuration)
    }
}

/// A raw HTTP view of an API server: status code and JSON body as sent, TLS and credentials from a kubeconfig.
struct RawKubernetesHTTP: Sendable {
    struct Answer: Sendable {
        var code: Int
        var json: JSONValue
    }

    let configuration: ClientConfiguration
    private let tls: TLSConfiguration

    init(configuration: ClientConfiguration) throws {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.trust {
        case .system: break
        case .certificates(let pem, _): tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
        case .insecureSkipVerify: tls.certificateVerification = .none
        }
        if let certificate = configuration.clientCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate.certificatePEM).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: certificate.privateKeyPEM, format: .pem))
        }
        self.tls = tls
    }

    /// Sends one request; the body is JSON (`contentType` says which patch flavour, if any).
    func send(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, contentType: String = "application/json", timeout: TimeAmount = .seconds(30)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: configuration.server + path)
        request.method = method
        request.tlsConfiguration = tls
        request.headers.add(name: "Accept", value: "application/json")
        if case .token(let token) = configuration.bearerToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(data: try body.serialized()))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(buffer: bytes)
        let json = data.isEmpty ? JSONValue.null : ((try? JSONValue(parsing: data)) ?? .string(String(decoding: data, as: UTF8.self)))
        return Answer(code: Int(response.status.code), json: json)
    }

    /// Runs a watch until the server ends it (pass `timeoutSeconds` in `path`) or `done` holds for the
    /// events so far; the HTTP status and every event line.
    func watch(
        _ path: String, until done: ([JSONValue]) -> Bool = { _ in false }, whileWatching: () async throws -> Void = {}
    ) async throws -> (code: Int, events: [JSONValue]) {
        var request = HTTPClientRequest(url: configuration.server + path)
        request.tlsConfiguration = tls
        if case .token(let token) = configuration.bearerToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        try await whileWatching()
        var events: [JSONValue] = []
        var pending = Data()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                if !line.isEmpty { events.append(try JSONValue(parsing: Data(line))) }
            }
            if done(events) { break }
        }
        return (Int(response.status.code), events)
    }
}
