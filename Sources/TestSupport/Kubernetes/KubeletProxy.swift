import Foundation
import KubernetesModels
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The API server's kubelet proxy: `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward` and
/// `nodes/proxy` go to the node's kubelet endpoint (`status.addresses` InternalIP and
/// `status.daemonEndpoints.kubeletEndpoint.Port`) over TLS with the simulator's kubelet-client
/// certificate, without verifying the kubelet's serving certificate, exactly as recorded in
/// `apiserver-to-kubelet-requests.txt`. The answer, and for upgrades the whole stream after the
/// kubelet's 101, passes through byte for byte; except a pods/log answer that is not 2xx, which
/// becomes a Status as kube-apiserver's `GenericHttpResponseChecker` makes it (see
/// ``logFailureStatus(code:body:pod:)``).
final class KubeletProxy: Sendable {
    private let clientCertificate = Mutex<PEMKeyPair?>(nil)
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// The certificate the proxy presents to kubelets.
    func setClientCertificate(_ pair: PEMKeyPair) {
        clientCertificate.withLock { $0 = pair }
    }

    /// Resolves the kubelet request for a subresource call; the HTTP server connects and splices.
    func forward(_ call: APIHandler.ResourceCall, store: KubernetesStore) async throws -> SimulatorResponse {
        guard let nodeType = await store.resourceType(group: "", version: "v1", resource: "nodes") else {
            throw KubernetesAPIStatus.internalError("the simulator serves no nodes")
        }
        let name = call.name ?? ""
        let target: (node: String, path: String, query: [(String, String)], verb: String)
        switch (call.type.resource, call.subresource) {
        case ("nodes", "proxy"):
            let marker = "/nodes/\(name)/proxy"
            let rest = call.request.path.range(of: marker).map { String(call.request.path[$0.upperBound...]) } ?? ""
            let query = Self.queryItems(call.request.uri)
            target = (name, rest.isEmpty ? "/" : rest, query, call.request.method.rawValue.capitalized)
        case ("pods", let subresource?) where ["log", "exec", "attach", "portforward"].contains(subresource):
            let pod = try await store.get(call.type, namespace: call.namespace, name: name)
            guard let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty else {
                throw KubernetesAPIStatus.badRequest("pod \(name) does not have a host assigned")
            }
            let namespace = call.namespace ?? ""
            let query = Self.queryItems(call.request.uri)
            if subresource == "portforward" {
                let ports = query.filter { $0.0 == "ports" }.map { ("port", $0.1) }
                target = (node, "/portForward/\(namespace)/\(name)", ports, call.request.method.rawValue.capitalized)
                break
            }
            let container = try Self.container(of: pod, requested: query.first { $0.0 == "container" }?.1)
            if subresource == "log" {
                target = (node, "/containerLogs/\(namespace)/\(name)/\(container)", Self.logQuery(query), "Get")
            } else {
                target = (node, "/\(subresource)/\(namespace)/\(name)/\(container)", Self.streamQuery(query), call.request.method.rawValue.capitalized)
            }
        default:
            throw KubernetesAPIStatus(
                code: 503, reason: "ServiceUnavailable",
                message: "the simulator does not proxy \(call.type.resource)/\(call.subresource ?? "") (only pods log/exec/attach/portforward and nodes/proxy)")
        }
        let node = try await store.get(nodeType, namespace: nil, name: target.node)
        let addresses = node["status"]?["addresses"]?.arrayValue ?? []
        let host = (addresses.first { $0["type"] == "InternalIP" } ?? addresses.first)?["address"]?.stringValue ?? ""
        let port = node["status"]?["daemonEndpoints"]?["kubeletEndpoint"]?["Port"]?.intValue ?? 10250
        let pathAndQuery = target.path + (target.query.isEmpty ? "" : "?" + Self.encode(target.query))
        let url = "https://\(Self.hostPort(host, port))\(pathAndQuery)"
        let upgrade = call.request.headers.first(name: "Upgrade") != nil
        let request = Self.requestHead(call.request, pathAndQuery: pathAndQuery, host: Self.hostPort(host, port), upgrade: upgrade)
        guard let pair = clientCertificate.withLock({ $0 }) else { throw KubernetesAPIStatus.internalError("the kubelet client certificate is missing") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem))]
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem))
        logger.debug("proxying to kubelet", metadata: ["url": "\(url)", "upgrade": "\(upgrade)"])
        var response = SimulatorResponse.json(.ok, JSONValue.null)
        let verb = target.verb
        let webSocket = call.request.headers.first(name: "Upgrade")?.lowercased() == "websocket"
        if webSocket, ["exec", "attach"].contains(call.subresource ?? "") {
            // As a real API server (StreamTranslatorHandler): the WebSocket ends here, SPDY goes on to the kubelet.
            let translator = try await StreamTranslator.start(kubeletHost: host, kubeletPort: port, tls: tls, target: pathAndQuery, logger: logger)
            response.tunnel = KubeletTunnel(host: "127.0.0.1", port: translator, request: request, tls: nil) { error in
                .status(KubernetesAPIStatus(code: 500, reason: "", message: "error dialing backend: \(error)"))
            }
            return response
        }
        response.tunnel = KubeletTunnel(host: host, port: port, request: request, tls: tls) { error in
            let reason = Self.dialError(error, host: host, port: port)
            let message = upgrade ? "error dialing backend: \(reason)" : "\(verb) \"\(url)\": \(reason)"
            return .status(KubernetesAPIStatus(code: 500, reason: "", message: message))
        }
        if call.subresource == "log" {
            response.tunnel?.failedAnswer = { code, body in .status(Self.logFailureStatus(code: code, body: body, pod: name)) }
        }
        return response
    }

    /// What kube-apiserver answers for a pods/log call whose kubelet answered `code` (not 2xx) with
    /// `body`: `GenericHttpResponseChecker` (k8s.io/apiserver registry/generic/rest) keeps the text
    /// of a 400 as a BadRequest message and of a 500 as an InternalError's, and otherwise builds
    /// `NewGenericServerResponse` for resource `pods/log`: the reason and stock message of the code,
    /// with the text only for 403 and 415, then ` ( pods/log <pod>)` (the verb is empty).
    static func logFailureStatus(code: Int, body: String, pod: String) -> KubernetesAPIStatus {
        switch code {
        case 400:
            return KubernetesAPIStatus(code: 400, reason: "BadRequest", message: body)
        case 500:
            return KubernetesAPIStatus(code: 500, reason: "InternalError", message: "Internal error occurred: \(body)", details: ["causes": [["message": .string(body)]]])
        default:
            let (reason, message): (String, String) =
                switch code {
                case 404: ("NotFound", "the server could not find the requested resource")
                case 401: ("Unauthorized", "the server has asked for the client to provide credentials")
                case 403: ("Forbidden", body)
                case 405: ("MethodNotAllowed", "the server does not allow this method on the requested resource")
                case 406: ("NotAcceptable", body.isEmpty || body == "unknown" ? "the server was unable to respond with a content type that the client supports" : body)
                case 409: ("Conflict", "the server reported a conflict")
                case 415: ("UnsupportedMediaType", body)
                case 422: ("Invalid", "the server rejected our request due to an error in our request")
                case 429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later")
                case 503: ("ServiceUnavailable", "the server is currently unable to handle the request")
                case 504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request")
                case 500...: ("InternalError", "an error on the server (\(Self.goQuoted(body))) has prevented the request from succeeding")
                default: ("", "the server responded with the status code \(code) but did not return more information")
                }
            return KubernetesAPIStatus(
                code: code, reason: reason, message: "\(message) ( pods/log \(pod))", details: ["kind": "pods/log", "name": .string(pod)])
        }
    }

    /// Go's `%q` of a string, for the texts that quote a body.
    private static func goQuoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data()
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }

    /// The container a call names, or the only one of the pod.
    private static func container(of pod: JSONValue, requested: String?) throws -> String {
        let names = (pod["spec"]?["containers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let podName = pod["metadata"]?["name"]?.stringValue ?? ""
        if let requested, !requested.isEmpty {
            let all = names + (pod["spec"]?["initContainers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            guard all.contains(requested) else { throw KubernetesAPIStatus.badRequest("container \(requested) is not valid for pod \(podName)") }
            return requested
        }
        guard names.count == 1 else {
            throw KubernetesAPIStatus.badRequest("a container name must be specified for pod \(podName), choose one of: [\(names.joined(separator: " "))]")
        }
        return names[0]
    }

    /// `PodLogOptions` as the kubelet's `containerLogs` query takes them.
    private static func logQuery(_ query: [(String, String)]) -> [(String, String)] {
        let booleans: Set = ["follow", "previous", "timestamps"]
        let values: Set = ["tailLines", "limitBytes", "sinceSeconds", "sinceTime"]
        return query.compactMap { key, value in
            if booleans.contains(key) { return ["true", "1"].contains(value) ? (key, "true") : nil }
            return values.contains(key) ? (key, value) : nil
        }
    }

    /// `PodExecOptions`/`PodAttachOptions` renamed as the API server does: stdin→input,
    /// stdout→output, stderr→error, tty, and every `command`.
    private static func streamQuery(_ query: [(String, String)]) -> [(String, String)] {
        let renamed = ["stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"]
        return query.compactMap { key, value in
            if key == "command" { return (key, value) }
            guard let name = renamed[key] else { return nil }
            return ["true", "1"].contains(value) ? (name, "1") : nil
        }
    }

    /// The query as Go's `url.ParseQuery` reads it: `+` is a space (kubectl encodes spaces so),
    /// then percent escapes.
    private static func queryItems(_ uri: String) -> [(String, String)] {
        func decode(_ text: String) -> String {
            let spaced = text.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return (URLComponents(string: uri)?.percentEncodedQueryItems ?? []).map { (decode($0.name), decode($0.value ?? "")) }
    }

    /// Go's `url.Values.Encode`: keys sorted, values in order, query-escaped.
    private static func encode(_ items: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-_.~ ")
        func escape(_ text: String) -> String {
            (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: " ", with: "+")
        }
        return items.enumerated()
            .sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map { "\(escape($0.element.0))=\(escape($0.element.1))" }.joined(separator: "&")
    }

    private static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The request line and headers the API server sends to the kubelet.
    private static func requestHead(_ request: SimulatorRequest, pathAndQuery: String, host: String, upgrade: Bool) -> ByteBuffer {
        var lines = ["\(request.method.rawValue) \(pathAndQuery) HTTP/1.1", "Host: \(host)", "User-Agent: Go-http-client/1.1"]
        if upgrade {
            let passed: Set = ["upgrade", "connection", "x-stream-protocol-version", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol"]
            lines.append("Content-Length: \(request.body.count)")
            lines += request.headers.filter { passed.contains($0.name.lowercased()) }.map { "\($0.name): \($0.value)" }
        } else {
            if !request.body.isEmpty || request.method == .POST || request.method == .PUT {
                lines.append("Content-Length: \(request.body.count)")
            }
            if let type = request.headers.first(name: "Content-Type") { lines.append("Content-Type: \(type)") }
            lines.append("Connection: close")
        }
        var buffer = ByteBuffer(string: lines.joined(separator: "\r\n") + "\r\n\r\n")
        buffer.writeBytes(request.body)
        return buffer
    }

    /// How Go's dialer words a failed connection.
    private static func dialError(_ error: any Error, host: String, port: Int) -> String {
        let address = "dial tcp \(hostPort(host, port))"
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "\(address): connect: connection refused" }
        if case ChannelError.connectTimeout = error { return "\(address): i/o timeout" }
        return "\(address): \(error)"
    }
}

/// A connection the HTTP server hands over to the kubelet: what to send, where, and the answer when
/// the kubelet cannot be reached.
struct KubeletTunnel: Sendable {
    var host: String
    var port: Int
    var request: ByteBuffer
    /// TLS towards the kubelet; nil for the simulator's own loopback stream translator.
    var tls: TLSConfiguration?
    var failure: @Sendable (any Error) -> SimulatorResponse
    /// When set, a kubelet answer that is not 2xx is not passed through: the kubelet's status code
    /// and body (read to its end) go here, and the client gets what this returns.
    var failedAnswer: (@Sendable (_ code: Int, _ body: String) -> SimulatorResponse)?

    /// Connects to the kubelet on the client's event loop and splices the two connections: bytes
    /// from the client (after this request) go to the kubelet, the kubelet's bytes go back
    /// unchanged, and when either side closes, so does the other. Throws when the kubelet does not
    /// accept the connection (nothing has been sent to the client then).
    func splice(client: any Channel) async throws {
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let failedAnswer = self.failedAnswer
        let address = try SocketAddress(ipAddress: host, port: port)
        let kubelet = try await ClientBootstrap(group: client.eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tunnel = try client.pipeline.syncOperations.handler(type: TunnelHandler.self)
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(KubeletRelayHandler(client: tunnel, failedAnswer: failedAnswer))
                }
            }
            .connect(to: address).get()
        let request = self.request
        try await client.eventLoop.submit {
            try client.pipeline.syncOperations.handler(type: TunnelHandler.self).splice(to: kubelet)
            kubelet.writeAndFlush(request, promise: nil)
        }.get()
    }
}

/// Sits between TLS and HTTP on every simulator connection. Normally it passes bytes up to the HTTP
/// decoder; once spliced to a kubelet connection, the client's bytes go to the kubelet instead, and
/// the kubelet's bytes are written below the HTTP encoder, unchanged.
final class TunnelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var peer: (any Channel)?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return context.fireChannelRead(data) }
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        // The HTTP pipeline handler above holds back reads while its response is pending, which
        // during a splice is forever; read on our own.
        if peer != nil { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
        context.fireChannelInactive()
    }

    /// From now on the client's bytes go to `peer` (call on the event loop).
    func splice(to peer: any Channel) {
        self.peer = peer
        context?.read()
    }

    /// Writes the kubelet's bytes to the client as they are.
    func sendToClient(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Closes the client connection (the kubelet closed its side).
    func closeClient() {
        context?.close(promise: nil)
    }
}

/// The kubelet side of a splice: everything the kubelet sends goes to the client connection; with
/// `failedAnswer`, a response that is not 2xx is read whole and replaced by what it returns.
private final class KubeletRelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        /// Waiting for the response head, to decide (only with `failedAnswer`).
        case readingHead(ByteBuffer)
        /// Collecting a failed response's body.
        case collectingFailure(code: Int, head: String, body: ByteBuffer)
        /// Passing everything through.
        case passing
    }

    private let client: TunnelHandler
    private let failedAnswer: (@Sendable (Int, String) -> SimulatorResponse)?
    private var state: State

    init(client: TunnelHandler, failedAnswer: (@Sendable (Int, String) -> SimulatorResponse)?) {
        self.client = client
        self.failedAnswer = failedAnswer
        self.state = failedAnswer == nil ? .passing : .readingHead(ByteBuffer())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .passing:
            client.sendToClient(bytes)
        case .readingHead(var buffer):
            buffer.writeBuffer(&bytes)
            guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else {
                state = .readingHead(buffer)
                return
            }
            let head = buffer.getString(at: buffer.readerIndex, length: end - buffer.readerIndex) ?? ""
            let code = Int(head.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
            if (200...206).contains(code) {
                state = .passing
                client.sendToClient(buffer)
                return
            }
            buffer.moveReaderIndex(to: end)
            state = .collectingFailure(code: code, head: head.lowercased(), body: buffer)
            finishIfComplete(context: context)
        case .collectingFailure(let code, let head, var body):
            body.writeBuffer(&bytes)
            state = .collectingFailure(code: code, head: head, body: body)
            finishIfComplete(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .collectingFailure(let code, let head, let body) = state {
            answerFailure(code: code, body: Self.decodedBody(body, head: head) ?? String(buffer: body))
        }
        client.closeClient()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Answers as soon as the failed response's body is complete (the kubelet may keep the connection).
    private func finishIfComplete(context: ChannelHandlerContext) {
        guard case .collectingFailure(let code, let head, let body) = state, let text = Self.decodedBody(body, head: head) else { return }
        answerFailure(code: code, body: text)
        context.close(promise: nil)
    }

    private func answerFailure(code: Int, body: String) {
        guard let failedAnswer else { return }
        state = .passing
        let answer = failedAnswer(code, body)
        var lines = ["HTTP/1.1 \(answer.status.code) \(answer.status.reasonPhrase)"]
        lines += answer.headers.filter { $0.name.lowercased() != "content-length" }.map { "\($0.name): \($0.value)" }
        lines += ["Content-Length: \(answer.body.count)", "Connection: close"]
        var bytes = ByteBuffer(string: lines.joined(separator: "\r\n") + "\r\n\r\n")
        bytes.writeBytes(answer.body)
        client.sendToClient(bytes)
        client.closeClient()
    }

    /// The whole body of a response with `head` (lower-cased), or nil while more is to come:
    /// chunked, by Content-Length, or (neither) never complete before the connection ends.
    private static func decodedBody(_ body: ByteBuffer, head: String) -> String? {
        if head.contains("transfer-encoding: chunked") {
            var rest = body
            var text = ByteBuffer()
            while let lineEnd = rest.readableBytesView.firstRange(of: Array("\r\n".utf8))?.lowerBound {
                let sizeLine = rest.getString(at: rest.readerIndex, length: lineEnd - rest.readerIndex) ?? ""
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { return String(buffer: text) }
                rest.moveReaderIndex(to: lineEnd + 2)
                if size == 0 { return String(buffer: text) }
                guard var chunk = rest.readSlice(length: size), rest.readableBytes >= 2 else { return nil }
                text.writeBuffer(&chunk)
                rest.moveReaderIndex(forwardBy: 2)
            }
            return nil
        }
        let lengthLine = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
        guard let length = lengthLine.flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }) else { return nil }
        return body.readableBytes >= length ? body.getString(at: body.readerIndex, length: length) : nil
    }
}
