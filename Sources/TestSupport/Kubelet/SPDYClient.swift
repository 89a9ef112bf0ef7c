import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SPDY

/// An SPDY/3.1 client that reaches a kubelet endpoint as kube-apiserver does: an HTTP/1.1
/// `Upgrade: SPDY/3.1` request (POST for exec, as recorded), then SPDY frames on the same
/// connection with this side opening the odd streams.
public enum SPDYClient {
    /// How the upgrade request was answered.
    public enum Outcome: Sendable {
        /// 101 Switching Protocols: the SPDY session and the response headers.
        case upgraded(SPDYConnection, headers: [(name: String, value: String)])
        /// Any other answer: its status, headers and body.
        case refused(status: Int, headers: [(name: String, value: String)], body: String)

        /// The session, or an error describing the refusal.
        public func connection() throws -> SPDYConnection {
            switch self {
            case .upgraded(let connection, _): return connection
            case .refused(let status, _, let body): throw SPDYClientError(description: "the upgrade was refused with HTTP \(status): \(body)")
            }
        }

        /// The first response header named `name` (any case).
        public func header(_ name: String) -> String? {
            let headers: [(name: String, value: String)]
            switch self {
            case .upgraded(_, let all): headers = all
            case .refused(_, let all, _): headers = all
            }
            return headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    /// Connects to `host:port` (TLS when `tls` is given) and sends the upgrade request for
    /// `target` with `headers` (the client adds Host, Content-Length, Connection and Upgrade).
    /// Throws when the connection or the whole answer takes longer than `timeout`.
    public static func connect(
        host: String, port: Int, tls: TLSConfiguration?, method: String = "POST", target: String,
        headers: [(String, String)], timeout: Duration = .seconds(10)
    ) async throws -> Outcome {
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        var lines = ["\(method) \(target) HTTP/1.1", "Host: \(host):\(port)", "User-Agent: Go-http-client/1.1", "Content-Length: 0", "Connection: Upgrade", "Upgrade: SPDY/3.1"]
        lines += headers.map { "\($0.0): \($0.1)" }
        let request = ByteBuffer(string: lines.joined(separator: "\r\n") + "\r\n\r\n")
        let outcome: EventLoopFuture<Outcome> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(timeout / .milliseconds(1))))
            .connect(host: host, port: port)
            .flatMap { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                    }
                    let promise = channel.eventLoop.makePromise(of: Outcome.self)
                    try channel.pipeline.syncOperations.addHandler(
                        SPDYUpgradeRequestHandler(request: request, target: target, timeout: timeout, promise: promise))
                    return promise.futureResult
                }
            }.get()
        return try await outcome.get()
    }
}

/// A failure of the test SPDY client.
public struct SPDYClientError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// Writes the upgrade request, reads the response head and, on 101, switches the pipeline to SPDY
/// within the same read (so frames that arrive with the head are not lost).
private final class SPDYUpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let target: String
    private let timeout: Duration
    private let promise: EventLoopPromise<SPDYClient.Outcome>
    private var received = ByteBuffer()
    private var refusal: (status: Int, headers: [(name: String, value: String)], bodyStart: Int, length: Int?)?
    private var done = false
    private var deadline: Scheduled<Void>?

    init(request: ByteBuffer, target: String, timeout: Duration, promise: EventLoopPromise<SPDYClient.Outcome>) {
        self.request = request
        self.target = target
        self.timeout = timeout
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.writeAndFlush(wrapOutboundOut(request), promise: nil) }
        // A server that never finishes its answer fails the call instead of leaving the caller waiting.
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout / .nanoseconds(1)))) {
            let (handler, context) = loopBound.value
            guard !handler.done else { return }
            handler.done = true
            handler.promise.fail(SPDYClientError(description: "no complete answer to the upgrade request for \(handler.target) within \(handler.timeout)"))
            context.close(promise: nil)
        }
        promise.futureResult.whenComplete { [weak self] _ in
            guard let self else { return }
            self.deadline?.cancel()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        if let refusal {
            if let length = refusal.length, received.readableBytes - refusal.bodyStart >= length { finishRefusal(context: context) }
            return
        }
        guard let end = received.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else { return }
        let headLength = end - received.readableBytesView.startIndex
        let head = received.getString(at: received.readerIndex, length: headLength) ?? ""
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let statusLine = lines.isEmpty ? "" : lines.removeFirst()
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        guard status == 101 else {
            let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) }
            refusal = (status, headers, headLength, length)
            if let length, received.readableBytes - headLength >= length { finishRefusal(context: context) }
            return
        }
        done = true
        received.moveReaderIndex(forwardBy: headLength)
        do {
            let connection = try SPDYConnection.configure(on: context.channel, role: .client)
            promise.succeed(.upgraded(connection, headers: headers))
        } catch {
            promise.fail(error)
            context.close(promise: nil)
            return
        }
        let rest = received
        received = ByteBuffer()
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            if refusal != nil {
                finishRefusal(context: context)
            } else {
                done = true
                promise.fail(SPDYClientError(description: "the connection closed before the upgrade response arrived"))
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.close(promise: nil)
    }

    private func finishRefusal(context: ChannelHandlerContext) {
        guard !done, let refusal else { return }
        done = true
        let body = received.getString(at: received.readerIndex + refusal.bodyStart, length: received.readableBytes - refusal.bodyStart) ?? ""
        promise.succeed(.refused(status: refusal.status, headers: refusal.headers, body: body))
        context.close(promise: nil)
    }
}
