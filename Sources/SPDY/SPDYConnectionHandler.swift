import NIOCore

/// Runs `SPDYConnectionStateMachine` on a channel: frames from `SPDYFrameDecoder` go in, the
/// actions come out as encoded frames and as events on the `SPDYConnection`'s async streams.
/// Created by `SPDYConnection.configure(on:role:)`; everything here runs on the channel's event loop.
///
/// Backpressure: received data waits in each stream's async sequence until read. Because the
/// peer may ignore flow control (Kubernetes does), the handler also stops reading from the socket
/// while more than `maxBufferedInboundBytes` of open streams' data is unread.
final class SPDYConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = SPDYFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct StreamContext {
        var inbound: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        var reply: EventLoopPromise<SPDYHeaders>?
        var replyHeaders: SPDYHeaders?
        var drainWaiters: [EventLoopPromise<Void>] = []
        /// Bytes delivered to the inbound sequence and not yet read from it.
        var unreadBytes = 0
    }

    private var stateMachine: SPDYConnectionStateMachine
    private var encoder = SPDYFrameEncoder()
    private var context: ChannelHandlerContext?
    private var streams: [SPDYStreamID: StreamContext] = [:]
    private var pings: [UInt32: EventLoopPromise<Void>] = [:]
    private let newStreams: AsyncStream<SPDYStream>.Continuation
    private let eventLoop: any EventLoop
    private let maxBufferedInboundBytes: Int
    private var unreadBytes = 0
    private var readHeld = false
    /// Set by `SPDYConnection.configure`; dropped when the channel goes, breaking the reference cycle.
    var connection: SPDYConnection?

    init(
        role: SPDYConnectionStateMachine.Role,
        configuration: SPDYConnectionStateMachine.Configuration,
        maxBufferedInboundBytes: Int,
        eventLoop: any EventLoop,
        newStreams: AsyncStream<SPDYStream>.Continuation
    ) {
        stateMachine = SPDYConnectionStateMachine(role: role, configuration: configuration)
        self.maxBufferedInboundBytes = maxBufferedInboundBytes
        self.eventLoop = eventLoop
        self.newStreams = newStreams
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        perform(stateMachine.start())
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failEverything(SPDYError.connectionClosed("the SPDY handler was removed from the channel"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(stateMachine.receive(unwrapInboundIn(data)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error from SPDYFrameDecoder: tell the peer (GOAWAY PROTOCOL_ERROR) before closing.
        // Anything else (TLS, I/O) means the transport is gone: just close.
        if let spdyError = error as? SPDYError { perform(stateMachine.parseFailed(spdyError)) }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if unreadBytes > maxBufferedInboundBytes {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        failEverything(Self.closedError)
        context.fireChannelInactive()
    }

    // MARK: requests from SPDYConnection / SPDYStream

    func openStream(headers: SPDYHeaders, fin: Bool) throws -> SPDYStream {
        guard let connection, context != nil else { throw SPDYError.connectionClosed("cannot open a stream: the SPDY connection is closed") }
        let (id, actions) = try stateMachine.openStream(headers: headers, fin: fin)
        let stream = makeStream(id, headers: headers, connection: connection)
        streams[id]?.reply = eventLoop.makePromise()
        perform(actions)
        return stream
    }

    func reply(_ id: SPDYStreamID, headers: SPDYHeaders, fin: Bool) throws {
        guard context != nil else { throw Self.closedError }
        perform(try stateMachine.reply(to: id, headers: headers, fin: fin))
    }

    func replyHeaders(_ id: SPDYStreamID) -> EventLoopFuture<SPDYHeaders> {
        if let headers = streams[id]?.replyHeaders { return eventLoop.makeSucceededFuture(headers) }
        guard let reply = streams[id]?.reply else {
            return eventLoop.makeFailedFuture(SPDYError.invalidStreamState("stream \(id) is not a stream this side opened and still open"))
        }
        return reply.futureResult
    }

    func write(_ id: SPDYStreamID, _ data: ByteBuffer, fin: Bool) -> EventLoopFuture<Void> {
        guard context != nil else { return eventLoop.makeFailedFuture(Self.closedError) }
        do {
            perform(try stateMachine.sendData(on: id, data, fin: fin))
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        guard stateMachine.pendingOutboundBytes(on: id) > 0, streams[id] != nil else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        streams[id]?.drainWaiters.append(promise)
        return promise.futureResult
    }

    func reset(_ id: SPDYStreamID, status: SPDYStreamStatus) {
        perform(stateMachine.resetStream(id, status: status))
        finishStream(id, error: SPDYError.streamReset(id, status: status))
    }

    func ping() -> EventLoopFuture<Void> {
        guard context != nil else { return eventLoop.makeFailedFuture(Self.closedError) }
        let (id, actions) = stateMachine.ping()
        let promise = eventLoop.makePromise(of: Void.self)
        pings[id] = promise
        perform(actions)
        return promise.futureResult
    }

    func goAway(status: SPDYGoAwayStatus) {
        perform(stateMachine.goAway(status: status))
    }

    func consumed(_ id: SPDYStreamID, bytes: Int) {
        // Bytes of streams that already ended were uncounted when they ended.
        if streams[id] != nil {
            streams[id]?.unreadBytes -= bytes
            unreadBytes -= bytes
        }
        perform(stateMachine.dataConsumed(on: id, bytes: bytes))
        if readHeld && unreadBytes <= maxBufferedInboundBytes, let context {
            readHeld = false
            context.read()
        }
    }

    // MARK: executing actions

    private func perform(_ actions: [SPDYConnectionStateMachine.Action]) {
        guard let context else { return }
        var wrote = false
        var closeConnection = false
        for action in actions {
            switch action {
            case .write(let frame):
                var buffer = context.channel.allocator.buffer(capacity: 64)
                do {
                    try encoder.encode(frame, into: &buffer)
                } catch {
                    // Only a header block beyond 16 MiB gets here; the session cannot continue.
                    closeConnection = true
                    break
                }
                context.write(wrapOutboundOut(buffer), promise: nil)
                wrote = true
            case .streamOpened(let id, let headers, let fin, _):
                guard let connection else { break }
                let stream = makeStream(id, headers: headers, connection: connection)
                if fin { streams[id]?.inbound.finish() }
                newStreams.yield(stream)
            case .streamReplied(let id, let headers, let fin):
                streams[id]?.replyHeaders = headers
                streams[id]?.reply?.succeed(headers)
                streams[id]?.reply = nil
                if fin { streams[id]?.inbound.finish() }
            case .headersReceived(let id, _, let fin):
                if fin { streams[id]?.inbound.finish() }
            case .dataReceived(let id, let data, let fin):
                if data.readableBytes > 0, streams[id] != nil {
                    streams[id]?.inbound.yield(data)
                    streams[id]?.unreadBytes += data.readableBytes
                    unreadBytes += data.readableBytes
                }
                if fin { streams[id]?.inbound.finish() }
            case .streamReset(let id, let status):
                finishStream(id, error: SPDYError.streamReset(id, status: status))
            case .streamClosed(let id):
                finishStream(id, error: nil)
            case .pingAnswered(let id):
                pings.removeValue(forKey: id)?.succeed()
            case .goAwayReceived:
                newStreams.finish()
            case .closeConnection:
                closeConnection = true
            }
        }
        for (id, stream) in streams where !stream.drainWaiters.isEmpty && stateMachine.pendingOutboundBytes(on: id) == 0 {
            streams[id]?.drainWaiters = []
            stream.drainWaiters.forEach { $0.succeed() }
        }
        if wrote { context.flush() }
        if closeConnection || stateMachine.isIdleAfterGoAway { context.close(promise: nil) }
    }

    private func makeStream(_ id: SPDYStreamID, headers: SPDYHeaders, connection: SPDYConnection) -> SPDYStream {
        let (chunks, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        streams[id] = StreamContext(inbound: continuation)
        let inbound = SPDYInboundData(chunks: chunks) { bytes in connection.consumed(id, bytes: bytes) }
        return SPDYStream(id: id, headers: headers, inbound: inbound, connection: connection)
    }

    private func finishStream(_ id: SPDYStreamID, error: SPDYError?) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        unreadBytes -= stream.unreadBytes
        stream.inbound.finish(throwing: error)
        let failure = error ?? SPDYError.invalidStreamState("stream \(id) ended before its data could be sent")
        stream.reply?.fail(failure)
        if stream.drainWaiters.isEmpty { return }
        // A stream closed normally has written everything; a reset one dropped its queue.
        stream.drainWaiters.forEach { error == nil ? $0.succeed() : $0.fail(failure) }
    }

    private func failEverything(_ error: SPDYError) {
        for id in Array(streams.keys) { finishStream(id, error: error) }
        for promise in pings.values { promise.fail(error) }
        pings.removeAll()
        newStreams.finish()
        connection = nil
    }

    private static let closedError = SPDYError.connectionClosed("the SPDY connection is closed")
}
