import Foundation
import KubeletServer
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import TestSupport
import Testing

/// Exec over WebSocket as a direct client (or an API server passing the upgrade on) speaks it:
/// channel-byte framing, the base64 variants, the v5 close signal for stdin, the status on channel 3.
@Suite("Kubelet streaming: exec over WebSocket", .timeLimit(.minutes(1)))
struct WebSocketExecTests {
    /// What one WebSocket exec produced, by channel.
    struct Outcome {
        var protocolName: String?
        var channels: [UInt8: Data] = [:]
        var firstMessage: (channel: UInt8, length: Int)?
        var closed = false
        func text(_ channel: UInt8) -> String { String(decoding: channels[channel] ?? Data(), as: UTF8.self) }
    }

    /// Upgrades with `protocols`, sends `stdin` then (v5) the close signal, and reads until the server closes.
    static func exec(_ harness: StreamingHarness, target: String, protocols: [String], stdin: Data? = nil) async throws -> Outcome {
        var headers = HTTPHeaders([("Host", "127.0.0.1:\(harness.server.port)"), ("Authorization", "Bearer admin"), ("Content-Length", "0")])
        if !protocols.isEmpty { headers.add(name: "Sec-WebSocket-Protocol", value: protocols.joined(separator: ", ")) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        let upgrade: EventLoopFuture<(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, String?)?> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: harness.server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, String?)?>(maxFrameSize: 1 << 20) { channel, response in
                        channel.eventLoop.makeCompletedFuture {
                            (try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel), response.headers.first(name: "Sec-WebSocket-Protocol"))
                        }
                    }
                    let configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: .init(
                        upgradeRequestHead: head, upgraders: [upgrader], notUpgradingCompletionHandler: { $0.eventLoop.makeSucceededFuture(nil) }))
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
                }
            }
        guard let (webSocket, negotiated) = try await upgrade.get() else { throw WebSocketRefused() }
        let base64 = negotiated?.contains("base64") == true
        return try await webSocket.executeThenClose { inbound, outbound in
            var outcome = Outcome(protocolName: negotiated)
            func send(_ channel: UInt8, _ bytes: [UInt8]) async throws {
                var payload = ByteBuffer()
                if base64 {
                    payload.writeString(String(channel) + Data(bytes).base64EncodedString())
                } else {
                    payload.writeInteger(channel)
                    payload.writeBytes(bytes)
                }
                try await outbound.write(WebSocketFrame(fin: true, opcode: base64 ? .text : .binary, maskKey: .random(), data: payload))
            }
            if let stdin {
                try await send(0, Array(stdin))
                try await send(255, [0])  // v5: stdin is done
            }
            for try await frame in inbound {
                if frame.opcode == .connectionClose {
                    outcome.closed = true
                    break
                }
                var data = frame.unmaskedData
                var channel: UInt8
                var bytes: Data
                if base64 {
                    let text = String(buffer: data)
                    channel = UInt8(text.first?.wholeNumberValue ?? 9)
                    bytes = Data(base64Encoded: String(text.dropFirst())) ?? Data()
                } else {
                    channel = data.readInteger(as: UInt8.self) ?? 9
                    bytes = Data(data.readableBytesView)
                }
                if outcome.firstMessage == nil { outcome.firstMessage = (channel, bytes.count) }
                outcome.channels[channel, default: Data()].append(bytes)
            }
            return outcome
        }
    }

    struct WebSocketRefused: Error {}

    @Test("v5: stdout, stderr, the close signal ends stdin, the exit status on channel 3, then a close frame")
    func v5() async throws {
        try await StreamingHarness.with { harness in
            let target = StreamingHarness.execTarget(["/bin/sh", "-c", "cat; echo err >&2; exit 4"], stdin: true)
            let outcome = try await Self.exec(harness, target: target, protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"], stdin: Data("piped\n".utf8))
            #expect(outcome.protocolName == "v5.channel.k8s.io")
            // The kubelet's empty first message on stdout can arrive in the 101's segment, where NIO's
            // client upgrader may drop it; so only its channel is checked, when it is seen.
            if let first = outcome.firstMessage, first.length == 0 { #expect(first.channel == 1) }
            #expect(outcome.text(1) == "piped\n")
            #expect(outcome.text(2) == "err\n")
            #expect(outcome.text(3) == StreamStatus.exitCode(4).json)
            #expect(outcome.closed)
        }
    }

    @Test("v4.base64: text frames with a channel digit and base64 data; Success status")
    func base64() async throws {
        try await StreamingHarness.with { harness in
            let target = StreamingHarness.execTarget(["/bin/sh", "-c", "echo hello"])
            let outcome = try await Self.exec(harness, target: target, protocols: ["v4.base64.channel.k8s.io"])
            #expect(outcome.protocolName == "v4.base64.channel.k8s.io")
            #expect(outcome.text(1) == "hello\n")
            #expect(outcome.text(3) == #"{"metadata":{},"status":"Success"}"#)
        }
    }

    @Test("channel.k8s.io (pre-v4): a failure is written as plain text")
    func v1() async throws {
        try await StreamingHarness.with { harness in
            let target = StreamingHarness.execTarget(["/bin/sh", "-c", "exit 2"])
            let outcome = try await Self.exec(harness, target: target, protocols: ["channel.k8s.io"])
            #expect(outcome.protocolName == "channel.k8s.io")
            #expect(outcome.text(3) == "command terminated with non-zero exit code: exit status 2")
        }
    }
}
