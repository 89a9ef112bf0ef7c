import NIOCore

/// A SPDY/3.1 session running on a channel (after the HTTP `Upgrade: SPDY/3.1` handshake), for
/// use from async code: the peer's streams arrive on `inboundStreams`, each with its headers and
/// its data as an async sequence; the caller replies, writes, half-closes or resets them. PINGs
/// from the peer are answered, flow control and GOAWAY are handled by `SPDYConnectionStateMachine`.
///
/// Server side (the kubelet): `for await stream in connection.inboundStreams { try await
/// stream.reply(); ... }`. Client side (kube-apiserver, tests): `try await connection.openStream(headers:)`.
public struct SPDYConnection: Sendable {
    /// Streams the peer opened, in order; finishes when the peer sends GOAWAY or the connection closes.
    public let inboundStreams: AsyncStream<SPDYStream>

    private let handler: NIOLoopBound<SPDYConnectionHandler>
    private let channel: any Channel

    init(handler: NIOLoopBound<SPDYConnectionHandler>, channel: any Channel, inboundStreams: AsyncStream<SPDYStream>) {
        self.handler = handler
        self.channel = channel
        self.inboundStreams = inboundStreams
    }

    /// Adds the SPDY decoder and session handler to `channel`'s pipeline (call on its event loop,
    /// after the upgrade response was written and the HTTP handlers removed) and returns the session.
    /// Reading from the socket pauses while more than `maxBufferedInboundBytes` of received data
    /// waits unread in the streams' `inbound` sequences.
    public static func configure(
        on channel: any Channel,
        role: SPDYConnectionStateMachine.Role,
        configuration: SPDYConnectionStateMachine.Configuration = .init(),
        limits: SPDYFrameParser.Limits = .init(),
        maxBufferedInboundBytes: Int = 1 << 20
    ) throws -> SPDYConnection {
        channel.eventLoop.preconditionInEventLoop()
        let (inboundStreams, continuation) = AsyncStream.makeStream(of: SPDYStream.self)
        let handler = SPDYConnectionHandler(
            role: role, configuration: configuration, maxBufferedInboundBytes: maxBufferedInboundBytes,
            eventLoop: channel.eventLoop, newStreams: continuation)
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        let connection = SPDYConnection(handler: bound, channel: channel, inboundStreams: inboundStreams)
        handler.connection = connection
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SPDYFrameDecoder(limits: limits)))
        try channel.pipeline.syncOperations.addHandler(handler)
        return connection
    }

    /// Opens a stream (SYN_STREAM with the next id of this side's parity), e.g. `["streamtype": "error"]`.
    public func openStream(headers: SPDYHeaders, fin: Bool = false) async throws -> SPDYStream {
        try await channel.eventLoop.submit { [handler] in try handler.value.openStream(headers: headers, fin: fin) }.get()
    }

    /// Sends a PING and waits for the peer's answer.
    public func ping() async throws {
        try await channel.eventLoop.flatSubmit { [handler] in handler.value.ping() }.get()
    }

    /// Sends GOAWAY: no new streams; the connection closes once the open streams have ended.
    public func goAway(status: SPDYGoAwayStatus = .ok) async {
        try? await channel.eventLoop.submit { [handler] in handler.value.goAway(status: status) }.get()
    }

    /// Closes the connection at once; open streams fail with `SPDYError.connectionClosed`.
    public func close() async {
        try? await channel.close()
    }

    /// Closes the connection after `delay` unless the returned task is cancelled first. The timer
    /// runs on the connection's event loop, so it fires however long the caller's own tasks take
    /// to be scheduled: for deadlines such as the kubelet's stream creation timeout, where a
    /// silent peer must lose its connection.
    public func scheduleClose(after delay: Duration) -> Scheduled<Void> {
        let channel = self.channel
        return channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(delay / .nanoseconds(1)))) {
            channel.close(promise: nil)
        }
    }

    /// Completes when the connection is closed.
    public func closed() async {
        try? await channel.closeFuture.get()
    }

    /// Calls `callback` once the connection is closed (at once when it already is), without
    /// waiting for it: for stopping work that a vanished peer would otherwise leave running.
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in callback() }
    }

    // MARK: stream operations, run on the event loop

    func reply(_ id: SPDYStreamID, headers: SPDYHeaders, fin: Bool) async throws {
        try await channel.eventLoop.submit { [handler] in try handler.value.reply(id, headers: headers, fin: fin) }.get()
    }

    func write(_ id: SPDYStreamID, _ data: ByteBuffer, fin: Bool) async throws {
        try await channel.eventLoop.flatSubmit { [handler] in handler.value.write(id, data, fin: fin) }.get()
    }

    func reset(_ id: SPDYStreamID, status: SPDYStreamStatus) async {
        try? await channel.eventLoop.submit { [handler] in handler.value.reset(id, status: status) }.get()
    }

    func replyHeaders(_ id: SPDYStreamID) async throws -> SPDYHeaders {
        try await channel.eventLoop.flatSubmit { [handler] in handler.value.replyHeaders(id) }.get()
    }

    func consumed(_ id: SPDYStreamID, bytes: Int) {
        channel.eventLoop.execute { [handler] in handler.value.consumed(id, bytes: bytes) }
    }
}

/// One SPDY stream of an `SPDYConnection`: kube-apiserver opens one per exec channel
/// (`streamtype` error, stdin, stdout, stderr, resize) and per port-forward request (`streamtype`
/// error or data, with `port` and `requestid`).
public struct SPDYStream: Sendable {
    /// The stream's id.
    public let id: SPDYStreamID
    /// The headers of its SYN_STREAM (the peer's, or the ones this side opened it with).
    public let headers: SPDYHeaders
    /// The data the peer sends, chunk by chunk; ends at the peer's FIN, throws `SPDYError.streamReset`
    /// on a reset and `SPDYError.connectionClosed` when the connection goes. Reading it is what
    /// lets the peer send more (WINDOW_UPDATE is sent as data is consumed).
    public let inbound: SPDYInboundData

    private let connection: SPDYConnection

    init(id: SPDYStreamID, headers: SPDYHeaders, inbound: SPDYInboundData, connection: SPDYConnection) {
        self.id = id
        self.headers = headers
        self.inbound = inbound
        self.connection = connection
    }

    /// Accepts a stream the peer opened (SYN_REPLY); required before writing to it.
    public func reply(headers: SPDYHeaders = SPDYHeaders(), fin: Bool = false) async throws {
        try await connection.reply(id, headers: headers, fin: fin)
    }

    /// Waits for the peer's SYN_REPLY to a stream this side opened and returns its headers.
    public func replyHeaders() async throws -> SPDYHeaders {
        try await connection.replyHeaders(id)
    }

    /// Writes data; returns once flow control let all of it go to the channel.
    public func write(_ data: ByteBuffer) async throws {
        try await connection.write(id, data, fin: false)
    }

    /// Half-closes this side (FIN), after any data still queued.
    public func close() async throws {
        try await connection.write(id, ByteBuffer(), fin: true)
    }

    /// Aborts the stream (RST_STREAM).
    public func reset(status: SPDYStreamStatus = .cancel) async {
        await connection.reset(id, status: status)
    }
}

/// The data a peer sends on one stream, as an async sequence of chunks.
public struct SPDYInboundData: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let chunks: AsyncThrowingStream<ByteBuffer, any Error>
    private let consumed: @Sendable (Int) -> Void

    init(chunks: AsyncThrowingStream<ByteBuffer, any Error>, consumed: @escaping @Sendable (Int) -> Void) {
        self.chunks = chunks
        self.consumed = consumed
    }

    /// Iterates the chunks, reporting each as consumed so the peer's window reopens.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let consumed: @Sendable (Int) -> Void

        public mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            consumed(chunk.readableBytes)
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: chunks.makeAsyncIterator(), consumed: consumed)
    }

    /// Everything the peer sends until its FIN, up to `maxBytes` (throws beyond that).
    public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await chunk in self {
            guard all.readableBytes + chunk.readableBytes <= maxBytes else {
                throw SPDYError.invalidStreamState("the peer sent more than \(maxBytes) bytes on a stream read with collect(upTo:)")
            }
            all.writeImmutableBuffer(chunk)
        }
        return all
    }
}
