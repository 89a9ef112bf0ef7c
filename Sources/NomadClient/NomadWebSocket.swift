import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A minimal WebSocket client for Nomad's exec endpoint, on SwiftNIO.
///
/// It speaks like Nomad's own Go client (gorilla/websocket's Dialer): a `GET` upgrade with `Host`,
/// the WebSocket key and version, optional extra headers (`X-Nomad-Token`), and NO `Origin` header.
/// Nomad's upgrader enforces same-origin (an `Origin` whose host differs from `Host`, port included,
/// is refused with 403), so a browser-style `Origin` without the port would be refused.
enum NomadWebSocket {
    /// Where to connect and what to send in the upgrade request.
    struct Endpoint: Sendable {
        /// Host to connect to (name or IP address).
        var host: String
        /// TCP port.
        var port: Int
        /// Request target: path and query.
        var target: String
        /// TLS, for `wss://`; `nil` for `ws://`.
        var tls: TLSConfiguration?
        /// Name for SNI and certificate verification, when it differs from `host`.
        var serverName: String?
        /// Extra request headers (`X-Nomad-Token`).
        var headers: [(name: String, value: String)] = []
        /// Time allowed to establish the TCP connection.
        var connectTimeout: Duration = .seconds(5)
        /// Largest frame accepted from the server.
        var maxFrameSize: Int = 1 << 24

        /// The `Host` header: `host:port`, with brackets around an IPv6 address.
        var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The server answered the upgrade with another status than 101.
    struct Refused: Error, Sendable {
        /// The HTTP status.
        var status: Int
        /// The response body (Nomad's error text).
        var body: String
    }

    /// How the upgrade request ended.
    enum Upgrade: Sendable {
        /// 101: the pipeline speaks WebSocket frames.
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        /// Another status: the pipeline decodes the HTTP response (head, body, end).
        case refused(NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>)
    }

    /// Connects and upgrades. Throws ``Refused`` for a non-101 answer, or the connection error.
    static func connect(_ endpoint: Endpoint) async throws -> NIOAsyncChannel<WebSocketFrame, WebSocketFrame> {
        let sslContext = try endpoint.tls.map { try NIOSSLContext(configuration: $0) }
        let sniName: String? = endpoint.serverName ?? (Self.isIPAddress(endpoint.host) ? nil : endpoint.host)
        let upgrade: EventLoopFuture<Upgrade> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(endpoint.connectTimeout / .milliseconds(1))))
            // Nomad closes the socket right after a failure's close frame: with half-closure the channel
            // stays open until the frame reader has the frame, then ends at the input-closed event.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: sniName))
                    }
                    return try Self.configureUpgrade(channel: channel, endpoint: endpoint)
                }
            }
        return try await Self.upgraded(try await upgrade.get())
    }

    /// Adds the upgrade handlers to `channel` (on its event loop); the future tells how the upgrade ended.
    ///
    /// The upgrade is done by hand rather than with NIO's typed upgrade handler: that one removes the HTTP
    /// decoder and installs the WebSocket handlers asynchronously, buffering what arrives meanwhile, while
    /// the input-closed and inactive events pass it unbuffered. When Nomad sends the 101, a close frame and
    /// its FIN together, the frame stream could end before the buffered close frame reached it.
    /// ``WebSocketUpgradeHandler`` switches the pipeline within the read that completes the 101's head.
    /// `requestKey` is the `Sec-WebSocket-Key` (random unless a test fixes it).
    static func configureUpgrade(
        channel: any Channel, endpoint: Endpoint, requestKey: String = NIOWebSocketClientUpgrader.randomRequestKey()
    ) throws -> EventLoopFuture<Upgrade> {
        let promise = channel.eventLoop.makePromise(of: Upgrade.self)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "Content-Length", value: "0")
        for header in endpoint.headers { headers.add(name: header.name, value: header.value) }
        let encoder = HTTPRequestEncoder()
        try channel.pipeline.syncOperations.addHandler(encoder)
        try channel.pipeline.syncOperations.addHandler(
            WebSocketUpgradeHandler(
                target: endpoint.target, headers: headers, requestKey: requestKey, maxFrameSize: endpoint.maxFrameSize,
                requestEncoder: encoder, promise: promise
            )
        )
        return promise.futureResult
    }

    /// The WebSocket channel of an upgrade, or ``Refused`` with the status and body of another answer.
    static func upgraded(_ upgrade: Upgrade) async throws -> NIOAsyncChannel<WebSocketFrame, WebSocketFrame> {
        switch upgrade {
        case .upgraded(let channel):
            return channel
        case .refused(let channel):
            throw try await channel.executeThenClose { inbound, _ in
                var status = 0
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head): status = Int(head.status.code)
                    case .body(var bytes) where body.readableBytes < 64 << 10: body.writeBuffer(&bytes)
                    case .body: continue
                    case .end: return Refused(status: status, body: String(buffer: body))
                    }
                }
                return Refused(status: status, body: String(buffer: body))
            }
        }
    }

    /// A text frame as a client must send it: masked with a fresh random key (RFC 6455 §5.3).
    static func textFrame(_ text: String) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text))
    }

    /// A masked pong answering a ping's payload.
    static func pongFrame(_ payload: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: payload)
    }

    /// A masked close frame with `code` (and no reason).
    static func closeFrame(code: UInt16) -> WebSocketFrame {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        return WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Turns received WebSocket frames into messages and control actions: the socket-free half of
/// ``NomadWebSocket``. Reassembles fragmented messages, answers pings, and reports the close.
struct WebSocketMessageAssembler {
    /// What to do after one frame.
    enum Action: Equatable {
        /// Nothing yet (a fragment, or a pong).
        case none
        /// A complete text message.
        case text(String)
        /// A complete binary message.
        case binary(ByteBuffer)
        /// Send this pong.
        case sendPong(ByteBuffer)
        /// The server closed: its status code (`nil` when the close frame has none) and reason.
        case closed(code: Int?, reason: String)
        /// The server broke the protocol; close the connection.
        case protocolError(String)
    }

    /// Largest reassembled message accepted.
    let maxMessageSize: Int
    private var fragmentOpcode: WebSocketOpcode?
    private var fragments = ByteBuffer()

    /// An assembler accepting messages up to `maxMessageSize` bytes.
    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    /// Takes one frame in arrival order.
    mutating func receive(_ frame: WebSocketFrame) -> Action {
        var payload = frame.unmaskedData
        switch frame.opcode {
        case .text, .binary:
            guard fragmentOpcode == nil else { return .protocolError("a new message began before the fragmented one ended") }
            if frame.fin { return Self.message(frame.opcode, payload) }
            guard payload.readableBytes <= maxMessageSize else { return .protocolError("a message exceeds \(maxMessageSize) bytes") }
            fragmentOpcode = frame.opcode
            fragments = payload
            return .none
        case .continuation:
            guard let opcode = fragmentOpcode else { return .protocolError("a continuation frame arrived outside a fragmented message") }
            guard fragments.readableBytes + payload.readableBytes <= maxMessageSize else { return .protocolError("a message exceeds \(maxMessageSize) bytes") }
            fragments.writeBuffer(&payload)
            guard frame.fin else { return .none }
            defer {
                fragmentOpcode = nil
                fragments = ByteBuffer()
            }
            return Self.message(opcode, fragments)
        case .ping:
            return .sendPong(payload)
        case .pong:
            return .none
        case .connectionClose:
            guard let code = payload.readInteger(as: UInt16.self) else { return .closed(code: nil, reason: "") }
            return .closed(code: Int(code), reason: payload.readString(length: payload.readableBytes) ?? "")
        default:
            return .protocolError("unknown opcode \(frame.opcode)")
        }
    }

    private static func message(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> Action {
        opcode == .text ? .text(String(buffer: payload)) : .binary(payload)
    }
}
