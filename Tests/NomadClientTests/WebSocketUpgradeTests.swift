import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing

@testable import NomadClient

/// The exec WebSocket's upgrade over a real loopback socket: a one-shot server sends what Nomad 1.1.2
/// sends (the 101, or a refusal, and for a failed exec the close frame) in one write and then closes.
/// (These tests once ran on NIOAsyncTestingChannel, where the upgrade's futures never completed; a
/// socket exercises the same read-then-EOF ordering without that harness.)
@Suite("WebSocket upgrade", .timeLimit(.minutes(1)))
struct WebSocketUpgradeTests {
    /// RFC 6455 §1.3's sample key and the accept value a server derives from it.
    static let requestKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let acceptValue = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// Accepts one connection, records the request head, answers `response` in one write and closes.
    private final class OneShotServer: Sendable {
        let channel: any Channel
        private let recorded: Recorded

        /// The request head the client sent.
        final class Recorded: Sendable {
            let text = Mutex("")
        }

        init(response: ByteBuffer) async throws {
            let recorded = Recorded()
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(Responder(response: response) { text in recorded.text.withLock { $0 = text } })
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            self.recorded = recorded
        }

        var requestText: String { recorded.text.withLock { $0 } }
        var port: Int { channel.localAddress?.port ?? 0 }

        private final class Responder: ChannelInboundHandler {
            typealias InboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer
            let response: ByteBuffer
            let record: @Sendable (String) -> Void
            var received = ByteBuffer()
            init(response: ByteBuffer, record: @escaping @Sendable (String) -> Void) {
                self.response = response
                self.record = record
            }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                var bytes = unwrapInboundIn(data)
                received.writeBuffer(&bytes)
                guard received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) != nil else { return }
                record(String(buffer: received))
                context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    /// Connects to `server` and runs the client's upgrade with the fixed key.
    private static func upgrade(_ server: OneShotServer) async throws -> EventLoopFuture<NomadWebSocket.Upgrade> {
        let endpoint = NomadWebSocket.Endpoint(host: "127.0.0.1", port: server.port, target: "/v1/client/allocation/a1/exec?task=main")
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NomadWebSocket.configureUpgrade(channel: channel, endpoint: endpoint, requestKey: requestKey)
                }
            }
    }

    private static let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(acceptValue)\r\n\r\n"

    @Test func requestCarriesTheUpgradeHeadersAndNoOrigin() async throws {
        let server = try await OneShotServer(response: ByteBuffer(string: Self.switching))
        defer { server.channel.close(promise: nil) }
        let webSocket = try await NomadWebSocket.upgraded(try await Self.upgrade(server).get())
        try? await webSocket.executeThenClose { _, _ in }
        let request = server.requestText
        #expect(request.hasPrefix("GET /v1/client/allocation/a1/exec?task=main HTTP/1.1\r\n"))
        for header in ["Host: 127.0.0.1:\(server.port)", "Connection: upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: \(Self.requestKey)", "Sec-WebSocket-Version: 13"] {
            #expect(request.contains("\r\n\(header)\r\n"), "\(header) in \(request)")
        }
        #expect(!request.lowercased().contains("origin:"))
    }

    @Test(arguments: [
        (1011, "failed to start command /no/such/binary: no such file or directory"),
        (1008, #"Unknown allocation "00000000-0000-0000-0000-000000000000""#),
    ])
    func closeFrameInTheSameReadAsThe101ReachesTheCaller(code: Int, reason: String) async throws {
        var bytes = ByteBuffer(string: Self.switching)
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(code))
        payload.writeString(reason)
        bytes.writeBytes([0x88, UInt8(payload.readableBytes)])  // FIN + close, unmasked (server to client)
        bytes.writeBuffer(&payload)
        let server = try await OneShotServer(response: bytes)
        defer { server.channel.close(promise: nil) }
        let webSocket = try await NomadWebSocket.upgraded(try await Self.upgrade(server).get())
        let actions = try await webSocket.executeThenClose { inbound, _ in
            var assembler = WebSocketMessageAssembler(maxMessageSize: 1 << 20)
            var actions: [WebSocketMessageAssembler.Action] = []
            for try await frame in inbound { actions.append(assembler.receive(frame)) }
            return actions
        }
        #expect(actions == [.closed(code: code, reason: reason)])
    }

    @Test func aRefusalKeepsItsStatusAndBody() async throws {
        let response = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n\r\nPermission denied"
        let server = try await OneShotServer(response: ByteBuffer(string: response))
        defer { server.channel.close(promise: nil) }
        let upgrade = try await Self.upgrade(server)
        let refused = await #expect(throws: NomadWebSocket.Refused.self) {
            _ = try await NomadWebSocket.upgraded(try await upgrade.get())
        }
        #expect(refused?.status == 403)
        #expect(refused?.body == "Permission denied")
    }

    @Test func a101WithAWrongAcceptValueIsRejected() async throws {
        let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"
        let server = try await OneShotServer(response: ByteBuffer(string: response))
        defer { server.channel.close(promise: nil) }
        let upgrade = try await Self.upgrade(server)
        let error = await #expect(throws: NomadClientError.self) { _ = try await upgrade.get() }
        #expect(error?.description.contains("Sec-WebSocket-Accept") == true)
    }
}
