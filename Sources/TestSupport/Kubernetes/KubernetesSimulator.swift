import Foundation
import KubernetesModels
import Logging
import Synchronization

/// An in-process kube-apiserver for tests: HTTPS on 127.0.0.1 (ephemeral port) with a CA it
/// generates, client-certificate and bearer-token authentication, the Node authorizer and
/// NodeRestriction for node identities, a small RBAC-like policy for other users, generic storage
/// for every resource in the recorded discovery documents plus CRDs, watches with bookmarks and
/// 410s, and the discovery/OpenAPI documents kubectl needs. Minimal controllers (ReplicaSet,
/// Deployment, StatefulSet, scheduler, foreground deletion, namespace termination; see
/// `Configuration.controllers`) make it behave like a small cluster, and the kubelet proxy forwards
/// `pods/log|exec|attach|portforward` and `nodes/proxy` to the node's kubelet endpoint.
///
/// ```swift
/// let simulator = try await KubernetesSimulator.start()
/// let kubeconfig = try simulator.kubeconfig(for: .node("vk-nomad"))
/// ...
/// try await simulator.shutdown()
/// ```
public final class KubernetesSimulator: Sendable {
    /// Knobs of the simulated server.
    public struct Configuration: Sendable {
        /// How many changes the watch history keeps; watches from an older resourceVersion get 410
        /// (or a replay, per `staleWatchPolicy`).
        public var watchHistorySize = 1000
        /// How often open watches that allowed bookmarks get a BOOKMARK event.
        public var bookmarkInterval: Duration = .seconds(5)
        /// What a watch from a resourceVersion older than the history gets.
        public var staleWatchPolicy: KubernetesStore.StaleWatchPolicy = .expire
        /// Watch duration when the client gives no `timeoutSeconds`.
        public var defaultWatchTimeoutSeconds = 1800
        /// What users other than admins and nodes may do (a flattened RBAC policy).
        public var accessGrants: [AccessGrant] = []
        /// Namespaces that exist from the start.
        public var namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]
        /// The minimal controllers that run in-process (workloads, garbage collector, scheduler,
        /// namespace lifecycle); all by default.
        public var controllers = SimulatedControllers.all
        /// Where the simulator logs (requests at debug level).
        public var logger = Logger(label: "nomad-kubelet.kubernetes-simulator")

        /// The defaults: 1000 changes of history, bookmarks every 5 s, 410 for stale watches, no grants.
        public init() {}
    }

    /// Who a kubeconfig or token authenticates as.
    public enum Identity: Sendable, Hashable {
        /// `kubernetes-admin` in `system:masters`: may do anything.
        case admin
        /// `system:node:NAME` in `system:nodes`: the Node authorizer and NodeRestriction apply.
        case node(String)
        /// `system:serviceaccount:NAMESPACE:NAME`.
        case serviceAccount(namespace: String, name: String)
        /// Any user with groups; what it may do comes from `Configuration.accessGrants`.
        case user(String, groups: [String])

        /// The user the API server sees.
        public var userInfo: UserInfo {
            switch self {
            case .admin: UserInfo(name: "kubernetes-admin", groups: ["system:masters"])
            case .node(let name): UserInfo(name: "system:node:\(name)", groups: ["system:nodes"])
            case .serviceAccount(let namespace, let name):
                UserInfo(name: "system:serviceaccount:\(namespace):\(name)", groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)"])
            case .user(let name, let groups): UserInfo(name: name, groups: groups)
            }
        }
    }

    /// How a kubeconfig authenticates.
    public enum CredentialKind: Sendable {
        /// A client certificate signed by the simulator's CA (CN = user, O = groups).
        case clientCertificate
        /// A bearer token from `token(for:)`.
        case bearerToken
    }

    /// The base URL, `https://127.0.0.1:PORT`.
    public let url: String
    /// The CA that signed the serving certificate and every client certificate (PEM).
    public var caCertificatePEM: String { pki.caCertificatePEM }
    /// The storage, for seeding objects and for in-process controllers.
    public let store: KubernetesStore
    /// The client certificate the API server presents to kubelets (CN kube-apiserver-kubelet-client,
    /// O system:masters), signed by the simulator CA, so a kubelet under test can trust it.
    public let kubeletClientCertificate: PEMKeyPair

    private let pki: SimulatorPKI
    private let server: SimulatorHTTPServer
    private let handler: APIHandler
    private let tokens: TokenRegistry
    private let bookmarkTask: Task<Void, Never>
    private let controllers: ClusterControllers

    /// The recorded discovery and OpenAPI documents bundled with TestSupport.
    static var resourceDirectory: URL? { Bundle.module.url(forResource: "kubectl", withExtension: nil) }

    private init(
        url: String, store: KubernetesStore, pki: SimulatorPKI, server: SimulatorHTTPServer, handler: APIHandler,
        tokens: TokenRegistry, bookmarkTask: Task<Void, Never>, kubeletClientCertificate: PEMKeyPair, controllers: ClusterControllers
    ) {
        self.controllers = controllers
        self.url = url
        self.store = store
        self.pki = pki
        self.server = server
        self.handler = handler
        self.tokens = tokens
        self.bookmarkTask = bookmarkTask
        self.kubeletClientCertificate = kubeletClientCertificate
    }

    /// Starts a simulator on 127.0.0.1 with an ephemeral port, the default namespaces (each with its
    /// `default` ServiceAccount and `kube-root-ca.crt` ConfigMap) and nothing else.
    public static func start(_ configuration: Configuration = .init()) async throws -> KubernetesSimulator {
        guard let directory = resourceDirectory else {
            throw KubernetesAPIStatus.internalError("TestSupport's kubectl resource folder is missing from the bundle; rebuild the package")
        }
        let core = try JSONValue(parsing: Data(contentsOf: directory.appendingPathComponent("discovery-v2-api.json")))
        let groups = try JSONValue(parsing: Data(contentsOf: directory.appendingPathComponent("discovery-v2-apis.json")))
        let store = KubernetesStore(
            registry: ResourceRegistry(core: core, groups: groups), historyLimit: configuration.watchHistorySize,
            staleWatchPolicy: configuration.staleWatchPolicy)
        let pki = try SimulatorPKI()
        try await seed(store, namespaces: configuration.namespaces, caPEM: pki.caCertificatePEM)
        let tokens = TokenRegistry()
        let handler = APIHandler(store: store, configuration: configuration, tokens: tokens, pki: pki, logger: configuration.logger)
        let server = try await SimulatorHTTPServer.start(tls: try pki.serverTLSConfiguration(), logger: configuration.logger) {
            await handler.handle($0)
        }
        let interval = configuration.bookmarkInterval
        let bookmarkTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await store.sendBookmarks()
            }
        }
        let kubeletClient = try pki.issue(commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], server: false)
        handler.kubeletProxy.setClientCertificate(kubeletClient)
        let controllers = await ClusterControllers.start(
            store: store, enabled: configuration.controllers, logger: configuration.logger)
        configuration.logger.debug("kubernetes simulator started", metadata: ["port": "\(server.port)"])
        return KubernetesSimulator(
            url: "https://127.0.0.1:\(server.port)", store: store, pki: pki, server: server, handler: handler, tokens: tokens,
            bookmarkTask: bookmarkTask, kubeletClientCertificate: kubeletClient, controllers: controllers)
    }

    private static func seed(_ store: KubernetesStore, namespaces: [String], caPEM: String) async throws {
        guard let namespaceType = await store.resourceType(group: "", version: "v1", resource: "namespaces") else {
            throw KubernetesAPIStatus.internalError("the recorded discovery documents lack namespaces")
        }
        for namespace in namespaces {
            try await store.create(namespaceType, namespace: nil, object: ["metadata": ["name": .string(namespace)]])
            try await ServiceAccountAdmission.populate(namespace: namespace, store: store, caPEM: caPEM)
        }
    }

    /// A client certificate and key for an identity, signed by the simulator CA.
    public func clientCertificate(for identity: Identity) throws -> PEMKeyPair {
        let user = identity.userInfo
        return try pki.issue(commonName: user.name, organizations: user.groups.filter { $0 != "system:authenticated" }, server: false)
    }

    /// A kubeconfig (YAML, everything inline) for an identity, with a client certificate or a token.
    public func kubeconfig(for identity: Identity, credential: CredentialKind = .clientCertificate) throws -> String {
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        let userLines: String
        switch credential {
        case .clientCertificate:
            let pair = try clientCertificate(for: identity)
            userLines = """
                    client-certificate-data: \(base64(pair.certificatePEM))
                    client-key-data: \(base64(pair.privateKeyPEM))
                """
        case .bearerToken:
            userLines = "        token: \(token(for: identity))"
        }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: simulator
              cluster:
                server: \(url)
                certificate-authority-data: \(base64(caCertificatePEM))
            users:
            - name: simulator-user
              user:
            \(userLines)
            contexts:
            - name: simulator
              context:
                cluster: simulator
                user: simulator-user
                namespace: default
            current-context: simulator

            """
    }

    /// A bearer token for an identity (the same token every time for the same identity).
    public func token(for identity: Identity) -> String {
        tokens.token(for: identity.userInfo)
    }

    /// Forgets the watch history: watches from any earlier resourceVersion answer 410 Expired (or
    /// replay nothing, per `staleWatchPolicy`).
    public func compactHistory() async {
        await store.compactHistory()
    }

    /// Closes every connection that carries a watch; clients must re-watch.
    public func dropWatchConnections() async {
        server.dropWatchConnections()
    }

    /// The next `count` requests fail with `status` (a Status body, and `Retry-After` when given).
    public func injectFailures(count: Int, status: Int, retryAfterSeconds: Int?) async {
        handler.injectFailures(count: count, status: status, retryAfterSeconds: retryAfterSeconds)
    }

    /// The next `count` updates (PUT) of the object at API path `path` (e.g.
    /// `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1`) answer 409 Conflict,
    /// as when another writer got there first.
    public func injectUpdateConflicts(count: Int, path: String) async {
        handler.injectUpdateConflicts(count: count, path: path)
    }

    /// How many of the injected conflicts at `path` have not been served yet.
    public func remainingUpdateConflicts(path: String) async -> Int {
        handler.remainingUpdateConflicts(path: path)
    }

    /// Stops listening, ends every watch and closes every connection.
    public func shutdown() async throws {
        bookmarkTask.cancel()
        await controllers.stop()
        await store.finishAllWatches()
        await server.shutdown()
    }
}

/// The bearer tokens the simulator issued, and whom they authenticate.
final class TokenRegistry: Sendable {
    private let tokens = Mutex<[String: UserInfo]>([:])

    /// The token of a user, issued on first use.
    func token(for user: UserInfo) -> String {
        tokens.withLock { tokens in
            if let existing = tokens.first(where: { $0.value == user })?.key { return existing }
            let token = "sim-" + (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            tokens[token] = user
            return token
        }
    }

    /// Records a token issued elsewhere (a TokenRequest) for a user.
    func register(_ token: String, as user: UserInfo) {
        tokens.withLock { $0[token] = user }
    }

    /// The user a token authenticates, or `nil` for an unknown token.
    func user(forToken token: String) -> UserInfo? {
        tokens.withLock { $0[token] }
    }
}
