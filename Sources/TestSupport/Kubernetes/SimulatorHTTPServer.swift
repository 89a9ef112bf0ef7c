import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A request as the API layer sees it: decoded path and query, headers, body and the user the
/// peer's client certificate names (if it presented one the CA signed).
struct SimulatorRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var path: String
    var query: [String: String]
    var headers: HTTPHeaders
    var body: Data
    var certificateUser: UserInfo?
}

/// An answer of the API layer: a complete body, or a stream of watch lines that ends after
/// `streamTimeoutSeconds` (or when the stream ends).
struct SimulatorResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Data
    var stream: AsyncStream<WatchEvent>?
    var encodeEvent: @Sendable (WatchEvent) -> Data = { _ in Data() }
    var streamTimeoutSeconds: Int?
    /// Set for the kubelet proxy: the connection is handed over to the kubelet instead.
    var tunnel: KubeletTunnel?

    static func json(_ status: HTTPResponseStatus, _ value: some Encodable, contentType: String = "application/json") -> Self {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Cache-Control", value: "no-cache, private")
        return Self(status: status, headers: headers, body: body)
    }

    static func status(_ status: KubernetesAPIStatus) -> Self {
        var response = json(HTTPResponseStatus(statusCode: status.code), status.object)
        if let seconds = status.retryAfterSeconds { response.headers.add(name: "Retry-After", value: String(seconds)) }
        return response
    }

    static func text(_ status: HTTPResponseStatus, _ text: String) -> Self {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        return Self(status: status, headers: headers, body: Data(text.utf8))
    }
}

/// The HTTPS listener: TLS with optional client certificates, HTTP/1.1, one task per connection,
/// requests answered in order; watch responses stream chunked until they end, time out, or the
/// connection closes.
final class SimulatorHTTPServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let port: Int
    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let watchConnections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let acceptTask = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    private init(serverChannel: NIOAsyncChannel<Connection, Never>, logger: Logger) {
        self.serverChannel = serverChannel
        self.port = serverChannel.channel.localAddress?.port ?? 0
        self.logger = logger
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts accepting connections.
    static func start(
        tls: TLSConfiguration, logger: Logger, handler: @escaping @Sendable (SimulatorRequest) async -> SimulatorResponse
    ) async throws -> SimulatorHTTPServer {
        let sslContext = try NIOSSLContext(configuration: tls)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    try channel.pipeline.syncOperations.addHandler(TunnelHandler())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let server = SimulatorHTTPServer(serverChannel: channel, logger: logger)
        let task = Task<Void, Never> {
            _ = try? await channel.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            group.addTask { await server.serve(connection, handler: handler) }
                        }
                    } catch {
                        logger.debug("accept loop ended", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        server.acceptTask.withLock { $0 = task }
        return server
    }

    /// Closes every open watch connection (clients see the stream break and must re-watch).
    func dropWatchConnections() {
        let channels = watchConnections.withLock { Array($0.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Stops listening, closes every connection, and waits for the connection tasks to end.
    func shutdown() async {
        try? await serverChannel.channel.close()
        let channels = connections.withLock { Array($0.values) }
        for channel in channels { try? await channel.close() }
        let task = acceptTask.withLock { $0 }
        await task?.value
    }

    private func serve(_ connection: Connection, handler: @Sendable (SimulatorRequest) async -> SimulatorResponse) async {
        let channel = connection.channel
        let id = ObjectIdentifier(channel)
        connections.withLock { $0[id] = channel }
        defer { connections.withLock { _ = $0.removeValue(forKey: id) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                var certificateUser: UserInfo??
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                        body.clear()
                    case .body(var chunk):
                        body.writeBuffer(&chunk)
                    case .end:
                        guard let requestHead = head else { continue }
                        if certificateUser == nil { certificateUser = .some(await Self.peerUser(channel)) }
                        let request = Self.request(requestHead, body: body, user: certificateUser ?? nil)
                        let response = await handler(request)
                        try await write(response, for: requestHead, to: outbound, channel: channel)
                        if !requestHead.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func write(
        _ response: SimulatorResponse, for head: HTTPRequestHead, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel
    ) async throws {
        if let tunnel = response.tunnel {
            do {
                try await tunnel.splice(client: channel)
            } catch {
                return try await write(tunnel.failure(error), for: head, to: outbound, channel: channel)
            }
            try? await channel.closeFuture.get()
            return
        }
        var headers = response.headers
        guard let stream = response.stream else {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
            if head.method != .HEAD, !response.body.isEmpty {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
            }
            try await outbound.write(.end(nil))
            return
        }
        headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
        let id = ObjectIdentifier(channel)
        watchConnections.withLock { $0[id] = channel }
        defer { watchConnections.withLock { _ = $0.removeValue(forKey: id) } }
        // One stream that ends when the events end, the timeout passes, or the connection closes.
        let (lines, continuation) = AsyncStream<Data>.makeStream()
        let pump = Task {
            for await event in stream { continuation.yield(response.encodeEvent(event)) }
            continuation.finish()
        }
        continuation.onTermination = { _ in pump.cancel() }
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        if let seconds = response.streamTimeoutSeconds {
            channel.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { continuation.finish() }
        }
        for await line in lines {
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: line))))
        }
        try await outbound.write(.end(nil))
    }

    private static func peerUser(_ channel: any Channel) async -> UserInfo? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get(),
            let der = try? certificate.toDERBytes(),
            let subject = SimulatorPKI.subject(ofDER: der)
        else { return nil }
        return UserInfo(name: subject.user, groups: subject.groups)
    }

    private static func request(_ head: HTTPRequestHead, body: ByteBuffer, user: UserInfo?) -> SimulatorRequest {
        let components = URLComponents(string: head.uri)
        var query: [String: String] = [:]
        for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return SimulatorRequest(
            method: head.method, uri: head.uri, path: components?.path ?? head.uri, query: query, headers: head.headers,
            body: Data(body.readableBytesView), certificateUser: user)
    }
}
