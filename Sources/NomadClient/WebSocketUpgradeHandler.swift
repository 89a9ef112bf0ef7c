import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Sends the WebSocket upgrade request and, on the read that completes the response head, switches the
/// pipeline synchronously: no byte and no end-of-input can slip past between HTTP and WebSocket.
///
/// On 101 (with a valid `Sec-WebSocket-Accept`) it removes the request encoder and itself, installs the
/// WebSocket frame encoder and decoder and the `NIOAsyncChannel` wrapper, and hands the bytes that came
/// after the head (Nomad's close frame, for a failed exec) to the frame decoder. On another status it
/// installs an HTTP response decoder and the HTTP `NIOAsyncChannel` wrapper and hands it the whole
/// response, so the caller reads the status and Nomad's error text.
final class WebSocketUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = HTTPClientRequestPart

    /// Longest response head accepted.
    private static let maxHeadSize = 64 << 10

    private let requestHead: HTTPRequestHead
    private let upgrader: NIOTypedWebSocketClientUpgrader<Void>
    private let maxFrameSize: Int
    private let requestEncoder: HTTPRequestEncoder
    private let promise: EventLoopPromise<NomadWebSocket.Upgrade>
    private var received = ByteBuffer()
    private var requestSent = false
    private var finished = false

    /// A handler that sends `GET target` with `headers` (plus the upgrade headers) once the channel is active.
    init(
        target: String, headers: HTTPHeaders, requestKey: String, maxFrameSize: Int,
        requestEncoder: HTTPRequestEncoder, promise: EventLoopPromise<NomadWebSocket.Upgrade>
    ) {
        // Used only for its upgrade headers and its check of `Sec-WebSocket-Accept`.
        let upgrader = NIOTypedWebSocketClientUpgrader<Void>(requestKey: requestKey, maxFrameSize: maxFrameSize) { channel, _ in
            channel.eventLoop.makeSucceededVoidFuture()
        }
        var headers = headers
        headers.add(name: "Connection", value: "upgrade")
        headers.add(name: "Upgrade", value: upgrader.supportedProtocol)
        upgrader.addCustom(upgradeRequestHeaders: &headers)
        self.requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        self.upgrader = upgrader
        self.maxFrameSize = maxFrameSize
        self.requestEncoder = requestEncoder
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return context.fireChannelRead(data) }
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        guard let headEnd = received.readableBytesView.firstRange(of: Self.headTerminator)?.upperBound else {
            if received.readableBytes > Self.maxHeadSize {
                fail(context: context, NomadClientError.malformedResponse(request: "WebSocket upgrade of \(requestHead.uri)", reason: "the response head exceeds \(Self.maxHeadSize) bytes"))
            }
            return
        }
        let headLength = headEnd - received.readableBytesView.startIndex
        guard let head = Self.parseHead(received.getString(at: received.readerIndex, length: headLength) ?? "") else {
            return fail(context: context, NomadClientError.malformedResponse(request: "WebSocket upgrade of \(requestHead.uri)", reason: "the response head is not HTTP/1.1"))
        }
        finished = true
        do {
            if head.status == .switchingProtocols {
                guard upgrader.shouldAllowUpgrade(upgradeResponse: head) else {
                    throw NomadClientError.malformedResponse(request: "WebSocket upgrade of \(requestHead.uri)", reason: "the 101 answer lacks a valid Sec-WebSocket-Accept")
                }
                received.moveReaderIndex(forwardBy: headLength)
                let pipeline = context.pipeline.syncOperations
                pipeline.removeHandler(requestEncoder, promise: nil)
                try pipeline.addHandler(WebSocketFrameEncoder())
                try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
                try pipeline.addHandler(WebSocketProtocolErrorHandler(isServer: false))
                promise.succeed(.upgraded(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: context.channel)))
            } else {
                let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
                decoder.write(data: .head(requestHead))  // the decoder pairs each response with its request
                try context.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                promise.succeed(.refused(try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: context.channel)))
            }
        } catch {
            // `finished` is already set, so `fail` would ignore it: fail the upgrade here.
            promise.fail(error)
            context.close(promise: nil)
            return
        }
        let rest = received
        received = ByteBuffer()
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !finished, case ChannelEvent.inputClosed = event {
            fail(context: context, ChannelError.eof)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { fail(context: context, ChannelError.eof) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished { fail(context: context, error) }
        context.fireErrorCaught(error)
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !requestSent else { return }
        requestSent = true
        context.write(wrapOutboundOut(.head(requestHead)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        guard !finished else { return }
        finished = true
        promise.fail(error)
        context.close(promise: nil)
    }

    private static let headTerminator: [UInt8] = Array("\r\n\r\n".utf8)

    /// The status line and headers of an HTTP/1.x response head, or `nil` when it is not one.
    private static func parseHead(_ text: String) -> HTTPResponseHead? {
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let statusLine = lines.popFirst() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...999).contains(code) else { return nil }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let version: HTTPVersion = parts[0] == "HTTP/1.0" ? .http1_0 : .http1_1
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code), headers: headers)
    }
}
