import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import SPDY

/// kube-apiserver's `StreamTranslatorHandler` (v1.30+): a client's WebSocket exec/attach
/// (`v5.channel.k8s.io`) is served by the API server itself and carried to the kubelet over
/// SPDY/3.1, the only streaming protocol kubelets are sure to speak.
///
/// The simulator's HTTP server can only splice bytes, so each translation is a one-connection
/// loopback server: the proxy splices the client's upgrade request to it, it answers the WebSocket
/// upgrade, opens the SPDY exec to the kubelet (TLS with the kubelet-client certificate) with the
/// streams the request asks for, and moves data between the channels and the streams; the SPDY
/// error stream's Status becomes channel 3, then a close frame.
enum StreamTranslator {
    /// The only WebSocket sub-protocol the API server's translator accepts.
    static let webSocketProtocol = "v5.channel.k8s.io"
    /// What the API server offers the kubelet over SPDY.
    static let spdyProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]

    /// Starts a translator for one exec/attach request towards `kubelet` (host, port) at `target`;
    /// returns the loopback port to splice the client to.
    static func start(kubeletHost: String, kubeletPort: Int, tls: TLSConfiguration, target: String, logger: Logger) async throws -> Int {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketServerUpgrader<NIOAsyncChannel<WebSocketFrame, WebSocketFrame>?>(
                        maxFrameSize: 1 << 20,
                        shouldUpgrade: { channel, head in
                            let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
                            guard offered.contains(webSocketProtocol) else { return channel.eventLoop.makeSucceededFuture(nil) }
                            return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", webSocketProtocol)]))
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
                            }
                        })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(upgradeConfiguration: .init(upgraders: [upgrader], notUpgradingCompletionHandler: { channel in
                            channel.close(promise: nil)
                            return channel.eventLoop.makeSucceededFuture(nil)
                        })))
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        Task {
            try? await server.executeThenClose { connections in
                for try await upgrade in connections {
                    // One client per translator: stop listening, then serve it.
                    server.channel.close(promise: nil)
                    guard let webSocket = try? await upgrade.get() else { return }
                    await translate(webSocket, kubeletHost: kubeletHost, kubeletPort: kubeletPort, tls: tls, target: target, logger: logger)
                    return
                }
            }
        }
        return port
    }

    private static func translate(
        _ webSocket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, kubeletHost: String, kubeletPort: Int, tls: TLSConfiguration,
        target: String, logger: Logger
    ) async {
        let query = Dictionary((URLComponents(string: target)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let stdin = query["input"] == "1", stdout = query["output"] == "1", tty = query["tty"] == "1"
        let stderr = query["error"] == "1" && !tty
        try? await webSocket.executeThenClose { inbound, outbound in
            func send(_ channel: UInt8, _ data: ByteBuffer) async throws {
                var payload = ByteBuffer()
                payload.writeInteger(channel)
                payload.writeImmutableBuffer(data)
                try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: payload))
            }
            func close() async throws {
                var code = ByteBuffer()
                code.write(webSocketErrorCode: .normalClosure)
                try await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
            }
            let outcome: SPDYClient.Outcome
            do {
                outcome = try await SPDYClient.connect(
                    host: kubeletHost, port: kubeletPort, tls: tls, target: target, headers: spdyProtocols.map { ("X-Stream-Protocol-Version", $0) })
            } catch {
                try await send(3, ByteBuffer(string: #"{"metadata":{},"status":"Failure","message":"error dialing backend: \#(error)","reason":"InternalError","code":500}"#))
                return try await close()
            }
            guard case .upgraded(let connection, _) = outcome else {
                if case .refused(_, _, let body) = outcome { try await send(3, ByteBuffer(string: body)) }
                return try await close()
            }
            let streams = try await RemoteCommandStreams.open(on: connection, stdin: stdin, stdout: stdout, stderr: stderr, tty: tty)
            try await send(stdout ? 1 : stderr ? 2 : 3, ByteBuffer())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await frame in inbound {
                        guard frame.opcode == .binary || frame.opcode == .text else {
                            if frame.opcode == .connectionClose { return }
                            continue
                        }
                        var data = frame.unmaskedData
                        switch data.readInteger(as: UInt8.self) {
                        case 0: try await streams.stdin?.write(data)
                        case 4: try await streams.resize?.write(data)
                        case 255 where data.readInteger(as: UInt8.self) == 0: try await streams.stdin?.close()
                        default: continue
                        }
                    }
                }
                defer { group.cancelAll() }
                func copy(_ stream: SPDYStream?, to channel: UInt8) async throws {
                    guard let stream else { return }
                    for try await chunk in stream.inbound { try await send(channel, chunk) }
                }
                async let copiedOut: Void = copy(streams.stdout, to: 1)
                async let copiedErr: Void = copy(streams.stderr, to: 2)
                let status = try await streams.error.inbound.collect(upTo: 1 << 20)
                _ = try? await copiedOut
                _ = try? await copiedErr
                if status.readableBytes > 0 { try await send(3, status) }
                try await close()
            }
            await streams.shutdown()
            await connection.close()
        }
        logger.debug("stream translation ended", metadata: ["target": "\(target)"])
    }
}
