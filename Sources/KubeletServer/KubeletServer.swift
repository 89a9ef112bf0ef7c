import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KubernetesClient
import KubernetesModels
import Logging
import NIOCore
import NIOSSL
import NomadClient
import Prometheus
import ServiceLifecycle
import Synchronization

/// What the streaming routes (exec, attach, port-forward) get from the server to do their work.
public struct KubeletStreamingContext: Sendable {
    /// Authenticates and authorizes upgrade requests exactly like the plain routes.
    public var authorizer: KubeletRequestAuthorizer
    /// Finds the Nomad allocation and task of a pod's container.
    public var podLocator: PodLocator
    /// The Nomad client (exec, port lookups).
    public var nomad: NomadClient
    /// The server's logger.
    public var logger: Logger
}

/// The kubelet HTTPS endpoint of the virtual node (default port 10250), run as a ServiceLifecycle
/// `Service`: `/containerLogs`, `/attach`, `/healthz`, `/pods`, `/metrics/resource`,
/// `/stats/summary` and `/metrics`, each authenticated and authorized like the kubelet's webhook
/// mode. The HTTP child channel is pluggable (``ChildChannelFactory``) so an upgrade-capable channel
/// can add exec, attach and port-forward streams; TLS wraps whatever it returns.
public final class KubeletServer: Service, Sendable {
    /// Builds the HTTP child channel of each connection (below it, TLS is added by the server).
    public typealias ChildChannelFactory = @Sendable (
        _ responder: @escaping HTTPChannelHandler.Responder, _ context: KubeletStreamingContext
    ) throws -> any ServerChildChannel

    /// Plain HTTP/1.1, no upgrades (the default is ``streaming``, which adds exec and port-forward).
    public static let http1: ChildChannelFactory = { responder, _ in HTTP1Channel(responder: responder) }

    /// The settings the server runs with.
    public let configuration: KubeletServerConfiguration
    /// The node served.
    public let node: KubeletNodeIdentity
    /// Authentication and authorization of every request.
    public let authorizer: KubeletRequestAuthorizer
    /// Pod → Nomad allocation and task.
    public let podLocator: PodLocator
    /// The serving certificate (and its renewal).
    public let certificate: ServingCertificate
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let usage: ResourceUsageCollector
    private let registry: PrometheusCollectorRegistry?
    private let childChannel: ChildChannelFactory
    private let logger: Logger
    private let listening = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    /// A server for `node`, using the agent's clients. `registry` is the Prometheus registry the
    /// executable bootstrapped swift-metrics with (served on `/metrics`; 404 without one).
    /// Throws when the TLS settings cannot be used.
    public init(
        configuration: KubeletServerConfiguration, node: KubeletNodeIdentity, kubernetes: KubernetesClient, nomad: NomadClient,
        registry: PrometheusCollectorRegistry? = nil, childChannel: @escaping ChildChannelFactory = KubeletServer.streaming, logger: Logger
    ) throws(KubeletServerError) {
        self.configuration = configuration
        self.node = node
        self.kubernetes = kubernetes
        self.nomad = nomad
        self.registry = registry
        self.childChannel = childChannel
        self.logger = logger
        self.authorizer = KubeletRequestAuthorizer(configuration: configuration, nodeName: node.name, kubernetes: kubernetes, logger: logger)
        self.podLocator = PodLocator(nodeName: node.name, kubernetes: kubernetes, nomad: nomad, logger: logger)
        self.certificate = try ServingCertificate(configuration: configuration, node: node, kubernetes: kubernetes, logger: logger)
        self.usage = ResourceUsageCollector(nodeName: node.name, locator: podLocator, nomad: nomad, logger: logger)
    }

    /// The context handed to the child channel factory.
    public var streamingContext: KubeletStreamingContext {
        KubeletStreamingContext(authorizer: authorizer, podLocator: podLocator, nomad: nomad, logger: logger)
    }

    /// The port the server listens on, once it does (the configured one, or the one picked for 0).
    public func listeningPort() async -> Int {
        await withCheckedContinuation { continuation in
            let port = listening.withLock { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    /// Serves until graceful shutdown (or cancellation); keeps the serving certificate fresh meanwhile.
    public func run() async throws {
        let certificate = self.certificate
        let streaming = streamingContext
        let factory = childChannel
        let server = HTTPServerBuilder { responder in
            try Self.withTLS(try factory(responder, streaming), certificate: certificate)
        }
        let app = Application(
            router: makeRouter(),
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(configuration.address, port: configuration.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("kubelet API listening", metadata: ["port": "\(port)", "node": "\(node.name)"])
                let waiters = self.listening.withLock { state in
                    state.port = port
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: port) }
            },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await certificate.maintain() }
            defer { group.cancelAll() }
            try await app.run()
        }
    }

    private static func withTLS<Base: ServerChildChannel>(_ base: Base, certificate: ServingCertificate) -> any ServerChildChannel {
        ReloadingTLSChannel(base: base, certificate: certificate)
    }

    // MARK: Routes

    func makeRouter() -> Router<KubeletRequestContext> {
        let router = Router(context: KubeletRequestContext.self)
        router.add(middleware: KubeletAPIMiddleware(authorizer: authorizer, logger: logger))
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        router.get("/pods") { [self] _, _ in try await pods() }
        let logs = ContainerLogs(locator: podLocator, nomad: nomad, logger: logger)
        router.get("/containerLogs/:namespace/:pod/:container") { request, context in
            await logs.respond(
                namespace: context.parameters.get("namespace") ?? "", pod: context.parameters.get("pod") ?? "",
                container: context.parameters.get("container") ?? "", query: request.uri.queryParameters.map { (String($0.key), String($0.value)) }, channel: context.channel)
        }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/attach/:namespace/:pod/:container", method: method) { [podLocator] _, context in
                try await Self.attach(
                    podLocator, namespace: context.parameters.get("namespace") ?? "", pod: context.parameters.get("pod") ?? "",
                    container: context.parameters.get("container") ?? "")
            }
        }
        router.get("/metrics/resource") { [usage] _, _ in
            let snapshot = await usage.collect()
            return Response(
                status: .ok, headers: [.contentType: ResourceMetricsFormatter.contentType],
                body: .init(byteBuffer: ByteBuffer(string: ResourceMetricsFormatter.format(snapshot))))
        }
        router.get("/stats/summary") { [usage, node] _, _ in
            let snapshot = await usage.collect()
            return try Self.json(StatsSummaryBuilder.summary(snapshot, nodeName: node.name))
        }
        router.get("/metrics") { [self] _, _ in try await agentMetrics() }
        return router
    }

    /// `/attach`: the pod and container must exist here (404 otherwise); then the Status explaining
    /// that Nomad offers no attach.
    public static func attach(_ locator: PodLocator, namespace: String, pod: String, container: String) async throws(KubeletServerError) -> Response {
        _ = try await locator.locate(namespace: namespace, pod: pod, container: container)
        throw .attachUnsupported(namespace: namespace, pod: pod, container: container)
    }

    private func pods() async throws -> Response {
        let list: ResourceList<Pod>
        do {
            list = try await kubernetes.list(Pod.self, options: ListOptions(fieldSelector: "spec.nodeName=\(node.name)"))
        } catch {
            KubeletServerMetrics.recordBackendError(.kubernetes)
            throw KubeletServerError.serviceUnavailable("cannot list the pods of node \(node.name) from the API server: \(error)")
        }
        var body = ResourceList<Pod>(items: list.items)
        body.apiVersion = "v1"
        body.kind = "PodList"
        KubeletServerMetrics.recordPodsManaged(list.items.count)
        return try Self.json(body)
    }

    private func agentMetrics() async throws -> Response {
        guard let registry else { throw KubeletServerError.notFound("this agent does not export its own metrics (metrics.enabled is false)") }
        if let jobs = try? await podLocator.podJobs() { KubeletServerMetrics.recordPodsManaged(jobs.count) }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The request context of kubelet routes: the connection (for its TLS peer certificate and to
/// notice a client that went away) and the authenticated user.
public struct KubeletRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    public let channel: any Channel
    /// The caller, once the middleware authenticated it.
    public var user: KubeletUser?

    /// A context for a request on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Authenticates and authorizes every request, counts it, and turns ``KubeletServerError``s into
/// meta/v1 Status answers.
struct KubeletAPIMiddleware: RouterMiddleware {
    typealias Context = KubeletRequestContext
    let authorizer: KubeletRequestAuthorizer
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let response: Response
        do {
            context.user = try await authorizer.authorize(
                method: request.method.rawValue, path: request.uri.path, authorization: request.headers[.authorization], channel: context.channel)
            response = try await next(request, context)
        } catch let error as KubeletServerError {
            response = Self.statusResponse(error)
        } catch let error as HTTPError {
            response = Self.statusResponse(
                error.status == .notFound ? KubeletServerError.notFound("404 page not found: \(request.uri.path)") : .badRequest(error.body ?? "\(error)"),
                status: error.status)
        } catch {
            logger.error("kubelet API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = Self.statusResponse(.internalError("\(error)"))
        }
        let route = context.endpointPath ?? "unmatched"
        KubeletServerMetrics.recordRequest(method: request.method.rawValue, route: route, code: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    static func statusResponse(_ error: KubeletServerError, status: HTTPResponse.Status? = nil) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(error.apiStatus)) ?? Data()
        return Response(
            status: status ?? HTTPResponse.Status(code: error.httpStatus), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// TLS below any HTTP child channel, with the serving certificate current when the connection
/// arrives (so a renewed or reloaded certificate applies to new connections at once).
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let certificate: ServingCertificate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificate.sslContext))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
