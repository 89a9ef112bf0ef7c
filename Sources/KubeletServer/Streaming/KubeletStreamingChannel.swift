import HTTPTypes
import HummingbirdCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SPDY

/// A Hummingbird server child channel for the kubelet API: plain HTTP/1.1 requests go to the
/// responder (the router), while `Upgrade: SPDY/3.1` and `Upgrade: websocket` requests to
/// `/exec`, `/attach` and `/portForward` are authorized, negotiated as a real kubelet does and
/// then served by `KubeletStreaming` (exec and port-forward bridged to Nomad).
///
/// Built like Hummingbird's `HTTP1Channel` and hummingbird-websocket's `HTTP1WebSocketUpgradeChannel`;
/// use it through `HTTPServerBuilder.kubelet(streaming:)`, wrapped in `.tls(...)` for HTTPS.
public struct KubeletStreamingChannel: ServerChildChannel, HTTPChannelHandler {
    /// How the first request of a connection ended.
    public enum UpgradeResult: Sendable {
        /// Upgraded to SPDY/3.1 for this session.
        case spdy(SPDYConnection, StreamingPlan)
        /// Upgraded to WebSocket for this session.
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, StreamingPlan)
        /// Plain HTTP; with a refusal when an upgrade was asked for and refused.
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, StreamingRefusal?)
    }

    /// The channel's value: the upgrade's outcome, once known.
    public struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        /// The connection.
        public let channel: any Channel
    }

    /// Handles plain HTTP requests (streaming paths without an upgrade are answered here first).
    public let responder: HTTPChannelHandler.Responder
    private let streaming: KubeletStreaming
    private let http1: HTTP1Channel.Configuration

    /// A channel serving `responder` for plain requests and `streaming` for upgrades.
    public init(responder: @escaping HTTPChannelHandler.Responder, streaming: KubeletStreaming, configuration: HTTP1Channel.Configuration = .init()) {
        self.streaming = streaming
        self.http1 = configuration
        self.responder = Self.streamingAwareResponder(responder, streaming: streaming)
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let decision = NIOLoopBoundBox(UpgradeDecision.none, eventLoop: channel.eventLoop)
            let streaming = self.streaming
            let spdy = SPDYServerUpgrader(streaming: streaming, decision: decision)
            let webSocket = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: streaming.configuration.maxWebSocketFrameSize,
                shouldUpgrade: { channel, head in
                    streaming.decide(head, transport: .webSocket, channel: channel).map { outcome -> HTTPHeaders? in
                        decision.record(outcome)
                        guard case .upgrade(_, let headers) = outcome else { return nil }
                        return headers
                    }
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .upgrade(let plan, _) = decision.value else { throw StreamingRefusal.plainText(code: 500, "no upgrade was decided") }
                        let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                        try channel.pipeline.syncOperations.addHandler(ReplayedRequestFilter(head), position: .before(decoder))
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return UpgradeResult.webSocket(asyncChannel, plan)
                    }
                }
            )
            let http1 = self.http1
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [spdy, webSocket],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        switch decision.value {
                        case .refuse(let refusal): return .http(asyncChannel, refusal)
                        case .upgradeRequested, .upgrade:
                            return .http(asyncChannel, .plainText(code: 400, "unable to upgrade: this endpoint serves no upgrade to \"\(decision.requestedProtocols)\""))
                        case .none: return .http(asyncChannel, nil)
                        }
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(UpgradeRequestObserver(decision: decision), position: .before(upgradeHandler))
            return Value(upgradeResult: result, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .http(let asyncChannel, nil):
                await handleHTTP(asyncChannel: asyncChannel, logger: logger)
            case .http(let asyncChannel, let refusal?):
                // NIO keeps no copy of a request whose upgrade failed: answer it without reading, then close.
                logger.debug("streaming upgrade refused", metadata: ["code": "\(refusal.code)"])
                try await asyncChannel.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [.head(refusal.httpResponse), .body(ByteBuffer(string: refusal.body)), .end(nil)])
                }
            case .spdy(let connection, let plan):
                await streaming.serve(spdy: connection, plan: plan)
            case .webSocket(let asyncChannel, let plan):
                await streaming.serve(webSocket: asyncChannel, plan: plan)
            }
        } catch {
            logger.debug("connection ended before its first request was handled", metadata: ["error": "\(error)"])
            try? await value.channel.close()
        }
    }

    /// Answers exec and port-forward paths that arrive without an upgrade as the kubelet does
    /// (after authorization: 400 "missing upgrade headers"); everything else goes to `responder`.
    private static func streamingAwareResponder(_ responder: @escaping HTTPChannelHandler.Responder, streaming streamingEndpoints: KubeletStreaming) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            let target = request.head.path ?? "/"
            // /attach without an upgrade is the router's (it answers that Nomad has no attach).
            guard let streaming = StreamingRequest(target: target), streaming.kind != .attach else { return try await responder(request, writer, channel) }
            let refusal = await streamingEndpoints.refuseWithoutUpgrade(request.head, channel: channel)
            try await writer.write(response: refusal.httpResponse, body: ResponseBody(byteBuffer: ByteBuffer(string: refusal.body)))
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the kubelet's streaming upgrades (exec, attach, port-forward over SPDY/3.1 and
    /// WebSocket); wrap it in `.tls(_:tlsConfiguration:)` for the HTTPS kubelet endpoint.
    public static func kubelet(streaming: KubeletStreaming, configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in KubeletStreamingChannel(responder: responder, streaming: streaming, configuration: configuration) }
    }
}

extension StreamingRefusal {
    /// The response head.
    var httpResponse: HTTPResponse {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[.contentLength] = String(body.utf8.count)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return HTTPResponse(status: .init(code: code), headerFields: fields)
    }
}

/// What the upgraders decided for the connection's first request, shared between the decision
/// (in `buildUpgradeResponse`/`shouldUpgrade`) and the pipeline switch that follows.
enum UpgradeDecision: Sendable {
    /// A plain request.
    case none
    /// The request asked for an upgrade (`Upgrade` header) that no upgrader has decided on yet.
    case upgradeRequested(String)
    case upgrade(StreamingPlan, HTTPHeaders)
    case refuse(StreamingRefusal)
}

extension NIOLoopBoundBox where Value == UpgradeDecision {
    /// Keeps an upgrader's outcome; "not mine" (`.none`) leaves the noted upgrade request in place.
    func record(_ outcome: UpgradeDecision) {
        if case .none = outcome { return }
        value = outcome
    }

    /// The protocols the request's `Upgrade` header named, for messages.
    var requestedProtocols: String {
        if case .upgradeRequested(let protocols) = value { return protocols }
        return ""
    }
}

/// Notes whether the first request asks for an upgrade. NIO's upgrade handler keeps no copy of
/// such a request when no upgrader takes it, so the plain-HTTP side must answer it without reading it.
final class UpgradeRequestObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let decision: NIOLoopBoundBox<UpgradeDecision>

    init(decision: NIOLoopBoundBox<UpgradeDecision>) { self.decision = decision }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            let protocols = head.headers["upgrade"]
            if !protocols.isEmpty { decision.value = .upgradeRequested(protocols.joined(separator: ", ")) }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

/// The upgrader for `Upgrade: SPDY/3.1` (the way kube-apiserver reaches exec and port-forward).
struct SPDYServerUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    let supportedProtocol = "SPDY/3.1"
    let requiredUpgradeHeaders: [String] = []
    let streaming: KubeletStreaming
    let decision: NIOLoopBoundBox<UpgradeDecision>

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let decision = self.decision
        return streaming.decide(upgradeRequest, transport: .spdy, channel: channel).flatMapThrowing { outcome in
            decision.record(outcome)
            switch outcome {
            case .upgrade(_, let headers):
                var response = initialResponseHeaders
                response.add(contentsOf: headers)
                return response
            case .refuse(let refusal):
                throw refusal
            case .none, .upgradeRequested:
                throw StreamingRefusal.plainText(code: 400, "not a streaming endpoint")
            }
        }
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<KubeletStreamingChannel.UpgradeResult> {
        let decision = self.decision
        let configuration = streaming.configuration
        return channel.eventLoop.makeCompletedFuture {
            guard case .upgrade(let plan, _) = decision.value else { throw StreamingRefusal.plainText(code: 500, "no upgrade was decided") }
            try channel.pipeline.syncOperations.addHandler(ReplayedRequestFilter(upgradeRequest))
            let connection = try SPDYConnection.configure(
                on: channel, role: .server, limits: .init(maxFramePayloadSize: configuration.maxSPDYFrameSize))
            return .spdy(connection, plan)
        }
    }
}
