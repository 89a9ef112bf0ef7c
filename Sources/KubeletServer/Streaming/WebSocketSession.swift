import Foundation
import Logging
import NIOCore
import NIOWebSocket

/// The channel numbers of the WebSocket remote-command protocols: each message starts with one.
enum RemoteCommandChannel: UInt8 {
    case stdin = 0
    case stdout = 1
    case stderr = 2
    case error = 3
    case resize = 4
    /// v5: `[255, channel]` closes that channel (the client's end of standard input).
    case close = 255
}

extension KubeletStreaming {
    /// Serves exec over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`, their base64 variants
    /// and the unversioned ones): one channel byte before each message's data (a digit before
    /// base64 text in the base64 variants), the status on channel 3, then a close frame.
    func serve(webSocket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, plan: StreamingPlan) async {
        guard case .exec(let target) = plan.target else { return }
        let logger = self.logger.with(pod: plan.request.podDescription, kind: plan.request.kind)
        let version = WebSocketChannelProtocol(rawValue: plan.subprotocol)
        let base64 = version?.isBase64 ?? false
        let request = plan.request
        let channel = webSocket.channel
        try? await webSocket.executeThenClose { inbound, outbound in
            let write: @Sendable (RemoteCommandChannel, ByteBuffer) async throws -> Void = { number, data in
                try await outbound.write(Self.frame(number, data, base64: base64))
            }
            // The kubelet's first message: empty, on the lowest channel it writes, so the client
            // knows the session is up.
            try await write(request.stdout ? .stdout : request.stderr ? .stderr : .error, ByteBuffer())
            let (stdin, stdinInput) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
            let (resize, resizeInput) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
            let status = await withTaskGroup(of: Void.self, returning: StreamStatus?.self) { group in
                group.addTask {
                    do {
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .binary, .text:
                                guard var data = Self.payload(frame, base64: base64), let number = data.readInteger(as: UInt8.self) else { continue }
                                switch RemoteCommandChannel(rawValue: number) {
                                case .stdin: stdinInput.yield(data)
                                case .resize: resizeInput.yield(data)
                                case .close where version?.supportsCloseSignal == true:
                                    if data.readInteger(as: UInt8.self) == RemoteCommandChannel.stdin.rawValue { stdinInput.finish() }
                                default: continue
                                }
                            case .ping:
                                try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                            case .connectionClose:
                                break
                            default:
                                continue
                            }
                            if frame.opcode == .connectionClose { break }
                        }
                    } catch {}
                    stdinInput.finish()
                    resizeInput.finish()
                }
                defer { group.cancelAll() }
                let io = ExecClientIO(
                    stdin: request.stdin ? stdin : nil,
                    resize: request.tty ? resize : nil,
                    writeStdout: { try await write(.stdout, $0) },
                    writeStderr: { try await write(.stderr, $0) },
                    onClientGone: { callback in channel.closeFuture.whenComplete { _ in callback() } }
                )
                return await ExecBridge.run(nomad: nomad, target: target, request: request, io: io, logger: logger)
            }
            guard let status else { return }
            let writesJSON = version?.writesStatusAsJSON ?? false
            if let text = writesJSON ? status.json : status.plainText {
                try await write(.error, ByteBuffer(string: text))
            }
            var close = ByteBuffer()
            close.write(webSocketErrorCode: .normalClosure)
            try await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: close))
        }
    }

    /// A server message on `channel`: binary `[channel] + data`, or text `digit + base64(data)`.
    static func frame(_ channel: RemoteCommandChannel, _ data: ByteBuffer, base64: Bool) -> WebSocketFrame {
        var payload = ByteBuffer()
        if base64 {
            payload.writeString(String(channel.rawValue) + Data(data.readableBytesView).base64EncodedString())
            return WebSocketFrame(fin: true, opcode: .text, data: payload)
        }
        payload.writeInteger(channel.rawValue)
        payload.writeImmutableBuffer(data)
        return WebSocketFrame(fin: true, opcode: .binary, data: payload)
    }

    /// A client message's channel byte and data, decoding the base64 variant; nil when malformed.
    static func payload(_ frame: WebSocketFrame, base64: Bool) -> ByteBuffer? {
        let data = frame.unmaskedData
        guard base64 else { return data }
        guard let text = data.getString(at: data.readerIndex, length: data.readableBytes), let digit = text.first?.wholeNumberValue,
              let decoded = Data(base64Encoded: String(text.dropFirst())) else { return nil }
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(digit))
        buffer.writeBytes(decoded)
        return buffer
    }
}
