import NIOCore
import NIOHTTP1

/// Drops a copy of the upgrade request that NIO's HTTP decoder can hand to the upgraded protocol.
///
/// When the upgrade decision completes asynchronously (authorization is a network call), NIO
/// 2.101's `HTTPRequestDecoder`, removed with the `.forwardBytes` strategy that
/// `configureUpgradableHTTPServerPipeline` hard-codes, sometimes forwards the whole request it
/// already parsed as "left-over bytes". The SPDY or WebSocket decoder would read `POST /exec/...`
/// as a frame and fail the session. No client sends protocol bytes before it has read the 101 (Go's
/// SPDY and WebSocket dialers wait for it), so a copy of the request line at the very start of the
/// upgraded stream can only be that replay: this handler drops it, through the blank line that ends
/// the head, and then leaves the pipeline.
final class ReplayedRequestFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let requestLine: [UInt8]
    private var buffered = ByteBuffer()
    private var skippingHead = false

    /// A filter for the replay of `head`.
    init(_ head: HTTPRequestHead) {
        requestLine = Array("\(head.method.rawValue) \(head.uri) HTTP/".utf8)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffered.writeBuffer(&bytes)
        if !skippingHead {
            let prefix = buffered.readableBytesView.prefix(requestLine.count)
            guard prefix.elementsEqual(requestLine.prefix(prefix.count)) else { return pass(context: context) }
            guard prefix.count == requestLine.count else { return }  // wait for enough bytes to decide
            skippingHead = true
        }
        guard let end = buffered.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else { return }
        buffered.moveReaderIndex(to: end)
        pass(context: context)
    }

    private func pass(context: ChannelHandlerContext) {
        let rest = buffered
        buffered = ByteBuffer()
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
