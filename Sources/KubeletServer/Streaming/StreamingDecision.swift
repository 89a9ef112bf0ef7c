import HTTPTypes
import NIOCore
import NIOHTTP1

/// How a streaming session reaches the client.
enum StreamingTransport: Sendable {
    case spdy
    case webSocket
}

/// What an accepted upgrade will serve: the request, the negotiated sub-protocol and the Nomad side.
public struct StreamingPlan: Sendable {
    /// The parsed request.
    public var request: StreamingRequest
    /// The negotiated `X-Stream-Protocol-Version` or `Sec-WebSocket-Protocol` (empty when the
    /// client offered none).
    public var subprotocol: String
    /// Where it runs.
    var target: Target

    enum Target: Sendable {
        case exec(ExecTarget)
        case portForward(host: String)
    }
}

extension KubeletStreaming {
    /// Decides on an upgrade request in the kubelet's order: authentication and authorization,
    /// method, request options, the pod and container, then the sub-protocol handshake.
    func decide(_ head: HTTPRequestHead, transport: StreamingTransport, channel: any Channel) -> EventLoopFuture<UpgradeDecision> {
        let promise = channel.eventLoop.makePromise(of: UpgradeDecision.self)
        promise.completeWithTask { await self.decision(head, transport: transport, channel: channel) }
        return promise.futureResult
    }

    func decision(_ head: HTTPRequestHead, transport: StreamingTransport, channel: any Channel) async -> UpgradeDecision {
        guard let request = StreamingRequest(target: head.uri) else { return .none }
        if let refusal = await authorizer.authorize(Self.httpRequest(head), channel: channel) { return .refuse(refusal) }
        guard head.method == .GET || head.method == .POST else {
            return .refuse(StreamingRefusal(code: 405, reason: "MethodNotAllowed", message: "\(head.method.rawValue) is not allowed on \(request.kind.rawValue); use POST (SPDY) or GET (WebSocket)"))
        }
        if let refusal = Self.validate(request) { return .refuse(refusal) }
        let target: StreamingPlan.Target
        do {
            switch request.kind {
            case .exec, .attach:
                target = .exec(try await locator.execTarget(namespace: request.namespace, pod: request.pod, container: request.container))
            case .portForward:
                target = .portForward(host: try await locator.portForwardHost(namespace: request.namespace, pod: request.pod))
            }
        } catch let refusal as StreamingRefusal {
            return .refuse(refusal)
        } catch {
            return .refuse(StreamingRefusal(code: 500, reason: "InternalError", message: "looking up pod \(request.podDescription) failed: \(error)"))
        }
        if request.kind == .attach { return .refuse(.attachUnsupported(request)) }
        switch transport {
        case .spdy:
            let supported = ProtocolNegotiation.spdyProtocols(for: request.kind)
            let offered = ProtocolNegotiation.offered(head.headers["X-Stream-Protocol-Version"])
            if offered.isEmpty {
                // Clients older than the version header speak the first protocol.
                let fallback = request.kind == .portForward ? ProtocolNegotiation.portForwardProtocol : RemoteCommandProtocol.v1.rawValue
                return .upgrade(StreamingPlan(request: request, subprotocol: fallback, target: target), HTTPHeaders())
            }
            guard let chosen = ProtocolNegotiation.negotiate(offered: offered, supported: supported) else {
                return .refuse(.plainText(
                    code: 403,
                    "unable to upgrade: unable to negotiate protocol: client supports \(Self.goList(offered)), server accepts \(Self.goList(supported))",
                    headers: ["X-Accepted-Stream-Protocol-Versions": supported.joined(separator: ", ")]))
            }
            return .upgrade(StreamingPlan(request: request, subprotocol: chosen, target: target), HTTPHeaders([("X-Stream-Protocol-Version", chosen)]))
        case .webSocket:
            guard request.kind == .exec else {
                return .refuse(StreamingRefusal(code: 400, reason: "BadRequest", message: "port-forward over WebSocket is not served by nomad-kubelet; the API server reaches it over SPDY/3.1 (portforward.k8s.io)"))
            }
            let offered = ProtocolNegotiation.offered(head.headers["Sec-WebSocket-Protocol"])
            if offered.isEmpty {
                return .upgrade(StreamingPlan(request: request, subprotocol: "", target: target), HTTPHeaders())
            }
            let supported = WebSocketChannelProtocol.allCases.map(\.rawValue)
            guard let chosen = ProtocolNegotiation.negotiate(offered: offered, supported: supported) else {
                return .refuse(.plainText(code: 400, "requested protocol(s) are not supported: \(Self.goList(offered)); supports \(Self.goList(supported))"))
            }
            return .upgrade(StreamingPlan(request: request, subprotocol: chosen, target: target), HTTPHeaders([("Sec-WebSocket-Protocol", chosen)]))
        }
    }

    /// The answer to an exec or port-forward path requested without an upgrade: after
    /// authorization, the kubelet's 400.
    func refuseWithoutUpgrade(_ head: HTTPRequest, channel: any Channel) async -> StreamingRefusal {
        if let refusal = await authorizer.authorize(head, channel: channel) { return refusal }
        // The kubelet appends the request's headers; they may carry a bearer token, so they are left out.
        return .plainText(code: 400, "unable to upgrade: missing upgrade headers in request")
    }

    /// The kubelet's checks of exec options (`remotecommand.NewOptions`).
    static func validate(_ request: StreamingRequest) -> StreamingRefusal? {
        guard request.kind == .exec else { return nil }
        if !request.stdin && !request.stdout && !request.stderr {
            return StreamingRefusal(code: 400, reason: "BadRequest", message: "you must specify at least 1 of stdin, stdout, stderr")
        }
        if request.command.isEmpty {
            return StreamingRefusal(code: 400, reason: "BadRequest", message: "you must specify at least one command for the container")
        }
        return nil
    }

    /// NIO's request head as HTTPTypes' request, for the authorizer.
    static func httpRequest(_ head: HTTPRequestHead) -> HTTPRequest {
        var fields = HTTPFields()
        for header in head.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        return HTTPRequest(method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: "https", authority: head.headers.first(name: "Host"), path: head.uri, headerFields: fields)
    }

    /// A list as Go's `%v` prints a `[]string`.
    static func goList(_ items: [String]) -> String { "[" + items.joined(separator: " ") + "]" }
}
