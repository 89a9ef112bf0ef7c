import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A plain HTTP file server on 127.0.0.1 for tests that make Nomad download artifacts (PseudoImage
/// tags with a `url`): serves fixed bytes by path, 404 for anything else. Stop it with `shutdown()`.
public final class ArtifactServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String
    private let server: Task<Void, Never>

    /// Starts serving `files` (path without the leading `/` → bytes) on an ephemeral port.
    public static func start(files: [String: Data]) async throws -> ArtifactServer {
        let router = Router()
        router.get("**") { request, _ -> Response in
            let path = String(request.uri.path.dropFirst())
            guard let data = files[path] else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "nomad-kubelet.artifact-server")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger)
        let server = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                continuation.finish()
            }
        }
        var port = 0
        for await value in stream { port = value }
        guard port > 0 else {
            server.cancel()
            throw ArtifactServerError(description: "the artifact server could not listen on 127.0.0.1")
        }
        return ArtifactServer(baseURL: "http://127.0.0.1:\(port)", server: server)
    }

    private init(baseURL: String, server: Task<Void, Never>) {
        self.baseURL = baseURL
        self.server = server
    }

    /// Stops serving.
    public func shutdown() async {
        server.cancel()
        await server.value
    }

    /// `sha256:<hex>` of `data`, as a PseudoImage tag's `checksum` (and Nomad's artifact option) spells it.
    public static func sha256Checksum(_ data: Data) -> String {
        "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// `sha512:<hex>` of `data` (the digest Apache publishes for its releases).
    public static func sha512Checksum(_ data: Data) -> String {
        "sha512:" + SHA512.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// The artifact server could not start.
public struct ArtifactServerError: Error, CustomStringConvertible {
    public var description: String
}
