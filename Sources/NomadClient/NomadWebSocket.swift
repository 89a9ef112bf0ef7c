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
    private enum Upgrade: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
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
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: endpoint.maxFrameSize) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .upgraded(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: endpoint.hostHeader)
                    headers.add(name: "Content-Length", value: "0")
                    for header in endpoint.headers { headers.add(name: header.name, value: header.value) }
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.target, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                .refused(try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel))
                            }
                        }
                    )
                    // Nomad sends a failure's close frame (`task not found`) in the same segment as the 101:
                    // the HTTP decoder must hand those bytes on to the WebSocket decoder, not drop them.
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                }
            }
        switch try await upgrade.get() {
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
