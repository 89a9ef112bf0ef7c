import AsyncHTTPClient
import Foundation
import KubernetesModels
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Synchronization

/// A client of one Kubernetes API server.
///
/// Owns one `HTTPClient` with its own TLS configuration; call ``shutdown()`` when done. Typed
/// operations take a ``KubernetesResource`` type; the `JSONValue` variants take a
/// ``ResourceType`` for resources without a Swift type (custom resources).
///
/// Namespaces: for namespaced resources a `nil` namespace means the configuration's namespace for
/// single-object operations, and all namespaces for list and watch.
public final class KubernetesClient: Sendable {
    /// The configuration this client was built from.
    public let configuration: ClientConfiguration
    let logger: Logger
    private let httpClient: HTTPClient
    private let baseURL: String
    private let tokenReader: TokenFileReader?

    /// Creates a client; throws when the TLS material in `configuration` cannot be used.
    public init(configuration: ClientConfiguration, logger: Logger = Logger(label: "nomad-kubelet.kubernetes-client")) throws {
        self.configuration = configuration
        self.logger = logger
        var server = configuration.server
        while server.hasSuffix("/") { server.removeLast() }
        self.baseURL = server

        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.trust {
        case .system:
            break
        case .certificates(let pem, let source):
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
            } catch {
                throw KubernetesClientError.invalidConfiguration(file: source, field: nil, problem: "not a PEM certificate: \(error)")
            }
        case .insecureSkipVerify:
            tls.certificateVerification = .none
        }
        if let certificate = configuration.clientCertificate {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate.certificatePEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: certificate.privateKeyPEM, format: .pem))
            } catch {
                throw KubernetesClientError.invalidConfiguration(
                    file: configuration.source, field: "client certificate", problem: "cannot use the client certificate or key: \(error)")
            }
        }
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.connectTimeout)))
        httpConfiguration.httpVersion = .automatic
        self.httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
        if case .file(let path) = configuration.bearerToken {
            tokenReader = TokenFileReader(path: path)
        } else {
            tokenReader = nil
        }
    }

    /// Closes connections. Call once, after the last request.
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    // MARK: Requests

    /// One API request before it is sent.
    struct APIRequest: Sendable {
        var method: HTTPMethod
        var path: String
        var query: [(String, String)] = []
        var body: Data? = nil
        var contentType: String = "application/json"
        /// Safe to resend after a connection failure (the server may have applied it).
        var idempotent: Bool

        /// A GET: always safe to resend.
        static func get(_ path: String, query: [(String, String)] = []) -> APIRequest {
            APIRequest(method: .GET, path: path, query: query, idempotent: true)
        }

        var pathAndQuery: String {
            guard !query.isEmpty else { return path }
            return path + "?" + query.map { "\($0.0)=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }

        static func percentEncode(_ value: String) -> String {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+;,/?#")
            return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
        }
    }

    /// A completed non-streaming response.
    struct APIResponse: Sendable {
        var status: Int
        /// The `Content-Type` header, if any.
        var contentType: String?
        var body: Data
        var url: String
    }

    func url(for request: APIRequest) -> String { baseURL + request.pathAndQuery }

    /// Sends a request, retrying per the retry policy, and returns the successful response.
    func send(_ request: APIRequest) async throws -> APIResponse {
        try await withRetries(request) {
            let response = try await self.start(request, deadline: .now() + TimeAmount(self.configuration.requestTimeout))
            let url = self.url(for: request)
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 256 * 1024 * 1024)
            } catch {
                throw self.transportError(error, url: url)
            }
            let data = Data(buffer: body)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                throw Self.errorResponse(status: status, retryAfterHeader: response.headers.first(name: "Retry-After"), body: data, method: request.method.rawValue, url: url)
            }
            return APIResponse(status: status, contentType: response.headers.first(name: "Content-Type"), body: data, url: url)
        }
    }

    /// Runs `operation`, retrying transient failures as the policy allows.
    func withRetries<Result>(_ request: APIRequest, _ operation: () async throws -> Result) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await operation()
            } catch let error as KubernetesClientError {
                let retryable =
                    error.kind == .tooManyRequests || error.kind == .serverError
                    || (error.kind == .serverUnreachable && request.idempotent)
                guard retryable, attempt < configuration.retry.maximumRetries, !Task.isCancelled else { throw error }
                let delay = configuration.retry.delay(beforeRetry: attempt, retryAfterSeconds: error.retryAfterSeconds)
                logger.debug(
                    "retrying Kubernetes request",
                    metadata: [
                        "method": "\(request.method.rawValue)", "path": "\(request.path)", "attempt": "\(attempt + 1)",
                        "delay": "\(delay)", "error": "\(error.kind)",
                    ])
                try await configuration.retry.sleep(delay)
                attempt += 1
            }
        }
    }

    /// Sends the request head and body; the response body is left to the caller.
    func start(_ request: APIRequest, deadline: NIODeadline) async throws -> HTTPClientResponse {
        let url = self.url(for: request)
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = request.method
        httpRequest.headers.add(name: "Accept", value: "application/json")
        httpRequest.headers.add(name: "User-Agent", value: "nomad-kubelet")
        if let body = request.body {
            httpRequest.headers.add(name: "Content-Type", value: request.contentType)
            httpRequest.body = .bytes(ByteBuffer(data: body))
        }
        if let token = try currentToken() {
            httpRequest.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        do {
            return try await httpClient.execute(httpRequest, deadline: deadline, logger: logger)
        } catch {
            throw transportError(error, url: url)
        }
    }

    private func currentToken() throws -> String? {
        switch configuration.bearerToken {
        case .token(let token): return token
        case .file: return try tokenReader?.token()
        case nil: return nil
        }
    }

    /// Classifies an error thrown while talking to the server.
    func transportError(_ error: any Error, url: String) -> any Error {
        if error is CancellationError { return error }
        if let httpError = error as? HTTPClientError, httpError == .cancelled { return CancellationError() }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            let caSource: String
            switch configuration.trust {
            case .certificates(_, let source): caSource = source
            case .system: caSource = "the system trust store (the kubeconfig sets no certificate-authority)"
            case .insecureSkipVerify: caSource = "nowhere (verification is off)"
            }
            return KubernetesClientError.tlsVerificationFailed(url: url, caSource: caSource, underlying: error)
        }
        return KubernetesClientError.serverUnreachable(url: url, underlying: error)
    }

    /// Builds the error for a non-2xx response, decoding a Status body when there is one.
    static func errorResponse(status: Int, retryAfterHeader: String?, body: Data, method: String, url: String) -> KubernetesClientError {
        let decoded = try? JSONDecoder().decode(Status.self, from: body)
        let statusObject = decoded?.kind == "Status" || decoded?.code != nil ? decoded : nil
        let retryAfter = retryAfterHeader.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            ?? statusObject?.details?.retryAfterSeconds
        return .response(httpStatus: status, status: statusObject, method: method, url: url, retryAfterSeconds: retryAfter)
    }

    /// Decodes a JSON response body, naming the URL when it does not fit.
    func decode<Result: Decodable>(_ type: Result.Type, from response: APIResponse) throws -> Result {
        if let contentType = response.contentType, !contentType.lowercased().contains("json") {
            throw KubernetesClientError.malformedResponse(url: response.url, problem: "expected JSON but the content type is \(contentType)")
        }
        do {
            return try JSONDecoder().decode(Result.self, from: response.body)
        } catch {
            throw KubernetesClientError.malformedResponse(
                url: response.url, problem: "cannot decode \(Result.self) (\(response.body.count) bytes): \(error)", underlying: error)
        }
    }
}

/// Reads a bearer token file, re-reading it whenever its modification date or size changes.
final class TokenFileReader: Sendable {
    private struct Cached {
        var token: String
        var modified: Date?
        var size: Int?
    }

    let path: String
    private let cache = Mutex<Cached?>(nil)

    init(path: String) { self.path = path }

    func token() throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes?[.modificationDate] as? Date
        let size = (attributes?[.size] as? NSNumber)?.intValue
        if let cached = cache.withLock({ $0 }), cached.modified == modified, cached.size == size {
            return cached.token
        }
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubernetesClientError.invalidConfiguration(file: path, field: "tokenFile", problem: "cannot read the token file")
        }
        let token = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        cache.withLock { $0 = Cached(token: token, modified: modified, size: size) }
        return token
    }
}
