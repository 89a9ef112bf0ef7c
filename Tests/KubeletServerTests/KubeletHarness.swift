import Agent
import AsyncHTTPClient
import Foundation
import KubeletServer
import KubernetesClient
import KubernetesModels
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOSSL
import NomadClient
import NomadModels
import Prometheus
import Synchronization
import TestSupport
import Testing
import Translation

/// One end-to-end setup: a Kubernetes API (simulator, or a real cluster with `E2EEnvironment`), a
/// Nomad agent (simulator or real), the agent (node and pod controllers) and the kubelet server
/// under test, both in-process, and HTTPS clients calling the server the way the API server does.
///
/// On real servers the caller certificate is the API server's kubelet-client certificate, read from
/// `NOMAD_KUBELET_E2E_KUBELET_CLIENT_CERT`/`_KEY`, and the client CA from
/// `NOMAD_KUBELET_E2E_CLIENT_CA` (the `/work/real` cluster: `kube-pki/apiserver-kubelet-client.*`
/// and `kube-pki/ca.crt`).
final class KubeletHarness: Sendable {
    /// Who calls the kubelet endpoint.
    enum Caller: Sendable {
        /// The API server: its kubelet-client certificate.
        case apiServer
        /// No credentials at all.
        case anonymous
        /// A bearer token.
        case token(String)
        /// A client certificate and key (PEM).
        case certificate(PEMKeyPair)
    }

    let kubernetesSimulator: KubernetesSimulator?
    let nomadSimulator: NomadSimulator?
    let admin: KubernetesClient
    let nomad: NomadClient
    let server: KubeletServer
    let port: Int
    let nodeName: String
    let namespace: String
    let workDirectory: URL
    /// The kubeconfig the server and the agent use: the node's identity (`system:node:<name>`).
    let kubeconfigPath: String
    private let apiServerCertificate: PEMKeyPair
    private let tasks: Mutex<[Task<Void, any Error>]>
    private let clients: [KubernetesClient]

    /// The registry the test process bootstrapped swift-metrics with (once).
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static var realKubeletClient: PEMKeyPair? {
        let environment = ProcessInfo.processInfo.environment
        guard let certificate = environment["NOMAD_KUBELET_E2E_KUBELET_CLIENT_CERT"], let key = environment["NOMAD_KUBELET_E2E_KUBELET_CLIENT_KEY"],
            let certificatePEM = try? String(contentsOfFile: certificate, encoding: .utf8), let keyPEM = try? String(contentsOfFile: key, encoding: .utf8)
        else { return nil }
        return PEMKeyPair(certificatePEM: certificatePEM, privateKeyPEM: keyPEM)
    }

    /// Whether this run can build a harness: always on simulators; on a real cluster only with the
    /// kubelet-client certificate and client CA named.
    static var available: Bool {
        E2EEnvironment.realKubeconfig == nil
            || (realKubeletClient != nil && ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLIENT_CA"] != nil)
    }

    static let unavailableReason: Comment =
        "a real cluster needs NOMAD_KUBELET_E2E_KUBELET_CLIENT_CERT/_KEY (the API server's kubelet-client pair) and NOMAD_KUBELET_E2E_CLIENT_CA"

    /// Starts everything: servers, the kubelet server (port picked by the system) and, unless
    /// `agent` is false, the agent advertising that port in the Node's daemon endpoints.
    static func start(
        agent: Bool = true, accessGrants: [AccessGrant] = [], childChannel: @escaping KubeletServer.ChildChannelFactory = KubeletServer.http1,
        configure: (inout KubeletServerConfiguration) -> Void = { _ in }
    ) async throws -> KubeletHarness {
        _ = registry
        let unique = UUID().uuidString.prefix(8).lowercased()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kubelet-test-\(unique)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var nodeName = "vk-kubelet"
        var namespace = "default"
        let kubernetesSimulator: KubernetesSimulator?
        let admin: KubernetesClient
        let kubeconfigPath: String
        let clientCAPath: String
        let apiServerCertificate: PEMKeyPair
        if let real = E2EEnvironment.realKubeconfig {
            kubernetesSimulator = nil
            nodeName = "vk-kubelet-\(unique)"
            namespace = "kubelet-e2e-\(unique)"
            // The server and the agent act as the node (system:node:<name>), as a kubelet does: the
            // serving certificate's CSR must come from the node for the signer and the test to accept it.
            kubeconfigPath = work.appendingPathComponent("node.kubeconfig").path
            admin = try await RealNodeIdentity.prepareCluster(kubeconfig: real, nodeName: nodeName, namespace: namespace, nodeKubeconfigPath: kubeconfigPath)
            clientCAPath = ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLIENT_CA"] ?? ""
            apiServerCertificate = try #require(realKubeletClient)
        } else {
            var configuration = KubernetesSimulator.Configuration()
            configuration.accessGrants = accessGrants
            let simulator = try await KubernetesSimulator.start(configuration)
            kubernetesSimulator = simulator
            kubeconfigPath = work.appendingPathComponent("node.kubeconfig").path
            try simulator.kubeconfig(for: .node(nodeName)).write(toFile: kubeconfigPath, atomically: true, encoding: .utf8)
            admin = try KubernetesClient(configuration: try KubeconfigLoader.parse(yaml: try simulator.kubeconfig(for: .admin), path: "admin.kubeconfig"))
            clientCAPath = work.appendingPathComponent("client-ca.crt").path
            try simulator.caCertificatePEM.write(toFile: clientCAPath, atomically: true, encoding: .utf8)
            apiServerCertificate = simulator.kubeletClientCertificate
        }
        let nomadSimulator: NomadSimulator?
        let nomadAddress: String
        if let real = E2EEnvironment.realNomadAddress {
            nomadSimulator = nil
            nomadAddress = real
        } else {
            let simulator = try await NomadSimulator.start()
            nomadSimulator = simulator
            nomadAddress = simulator.address
        }
        var logger = Logger(label: "kubelet-under-test")
        logger.logLevel = .warning
        let nodeKubernetes = try KubernetesClient(configuration: try KubeconfigLoader.load(path: kubeconfigPath), logger: logger)
        let nomad = try NomadClient(configuration: NomadClientConfiguration(address: nomadAddress), logger: logger)
        var configuration = KubeletServerConfiguration(address: "127.0.0.1", port: 0, tlsSource: .selfSigned, clientCAFile: clientCAPath)
        configure(&configuration)
        let server = try KubeletServer(
            configuration: configuration, node: KubeletNodeIdentity(name: nodeName, ipAddresses: ["127.0.0.1"]), kubernetes: nodeKubernetes,
            nomad: nomad, registry: registry, childChannel: childChannel, logger: logger)
        var tasks = [Task { try await server.run() }]
        let port = await server.listeningPort()
        if agent {
            var kubeletServer = AgentConfiguration.KubeletServer()
            kubeletServer.port = port
            let agentConfiguration = AgentConfiguration(
                kubernetes: .init(kubeconfig: kubeconfigPath),
                // A real API server dials the Hostname address first (its default --kubelet-preferred-address-types).
                node: .init(name: nodeName, addresses: .init(internalIP: "127.0.0.1", hostname: "localhost")),
                nomad: .init(address: nomadAddress),
                kubeletServer: kubeletServer,
                // Tasks run as the test's own user, as in AgentHarness.
                policy: .init(defaultUser: ProcessInfo.processInfo.userName),
                timings: .init(
                    leaseRenewInterval: .milliseconds(500), leaseDuration: .seconds(10), statusUpdateInterval: .seconds(5), orphanGrace: .seconds(2),
                    resyncInterval: .seconds(3600)),
                logging: .init(level: .warning))
            let agent = try NomadKubeletAgent(configuration: agentConfiguration, logger: logger)
            tasks.append(Task { try await agent.run() })
        }
        return KubeletHarness(
            kubernetesSimulator: kubernetesSimulator, nomadSimulator: nomadSimulator, admin: admin, nomad: nomad, server: server, port: port,
            nodeName: nodeName, namespace: namespace, workDirectory: work, kubeconfigPath: kubeconfigPath, apiServerCertificate: apiServerCertificate,
            tasks: tasks, clients: [nodeKubernetes])
    }

    private init(
        kubernetesSimulator: KubernetesSimulator?, nomadSimulator: NomadSimulator?, admin: KubernetesClient, nomad: NomadClient, server: KubeletServer,
        port: Int, nodeName: String, namespace: String, workDirectory: URL, kubeconfigPath: String, apiServerCertificate: PEMKeyPair,
        tasks: [Task<Void, any Error>], clients: [KubernetesClient]
    ) {
        self.kubernetesSimulator = kubernetesSimulator
        self.nomadSimulator = nomadSimulator
        self.admin = admin
        self.nomad = nomad
        self.server = server
        self.port = port
        self.nodeName = nodeName
        self.namespace = namespace
        self.workDirectory = workDirectory
        self.kubeconfigPath = kubeconfigPath
        self.apiServerCertificate = apiServerCertificate
        self.tasks = Mutex(tasks)
        self.clients = clients
    }

    /// Runs `body` with a started harness and always shuts it down.
    static func with(
        agent: Bool = true, accessGrants: [AccessGrant] = [], childChannel: @escaping KubeletServer.ChildChannelFactory = KubeletServer.http1,
        configure: (inout KubeletServerConfiguration) -> Void = { _ in }, _ body: (KubeletHarness) async throws -> Void
    ) async throws {
        let harness = try await start(agent: agent, accessGrants: accessGrants, childChannel: childChannel, configure: configure)
        do {
            try await body(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
    }

    /// Stops the agent and the server, deletes what the test created and stops both servers.
    func shutdown() async {
        let running = tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { _ = await task.result }
        if kubernetesSimulator == nil {
            for pod in (try? await admin.list(Pod.self, namespace: namespace).items) ?? [] {
                _ = try? await admin.delete(Pod.self, name: pod.metadata.name ?? "", namespace: namespace, options: DeleteOptions(gracePeriodSeconds: 0))
            }
            _ = try? await admin.delete(Namespace.self, name: namespace)
            _ = try? await admin.delete(Node.self, name: nodeName)
        }
        if nomadSimulator == nil {
            for job in (try? await nomad.jobs(meta: [PodJobIdentity.nodeMetaKey: nodeName])) ?? [] {
                _ = try? await nomad.deregister(jobID: job.id ?? "", purge: true)
            }
        }
        for client in clients { try? await client.shutdown() }
        try? await admin.shutdown()
        try? await nomad.shutdown()
        try? await kubernetesSimulator?.shutdown()
        await nomadSimulator?.shutdown()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    // MARK: Pods

    /// A pod bound to the node running `script` with /bin/sh.
    func pod(_ name: String, script: String, restartPolicy: String = "Always") -> Pod {
        Pod(
            metadata: ObjectMeta(name: name, namespace: namespace),
            spec: PodSpec(
                containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh", "-c", script])],
                restartPolicy: restartPolicy, terminationGracePeriodSeconds: 2, nodeName: nodeName,
                tolerations: [Toleration(key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule")]))
    }

    /// Creates the pod and waits until its container runs (and, with `restarts`, restarted that often).
    @discardableResult
    func run(_ name: String, script: String, restarts: Int = 0) async throws -> Pod {
        _ = try await admin.create(pod(name, script: script), namespace: namespace)
        return try await eventually("pod \(name) to run its container (restarted at least \(restarts) times)", timeout: .seconds(60)) {
            guard let pod = try? await admin.get(Pod.self, name: name, namespace: namespace),
                let status = pod.status?.containerStatuses?.first(where: { $0.name == "main" }),
                status.restartCount >= restarts, restarts > 0 || status.state?.running != nil
            else { return nil }
            return pod
        }
    }

    // MARK: Calling the kubelet endpoint

    /// An HTTPS client as `caller`; it does not verify the serving certificate, as the API server does not.
    func client(_ caller: Caller, trusting roots: [NIOSSLCertificate]? = nil) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let roots {
            tls.trustRoots = .certificates(roots)
        } else {
            tls.certificateVerification = .none
        }
        let pair: PEMKeyPair?
        switch caller {
        case .apiServer: pair = apiServerCertificate
        case .certificate(let certificate): pair = certificate
        case .anonymous, .token: pair = nil
        }
        if let pair {
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A finished GET: status and body.
    func get(_ pathAndQuery: String, as caller: Caller = .apiServer, method: HTTPMethod = .GET) async throws -> (status: Int, body: String) {
        let client = try client(caller)
        do {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(pathAndQuery)")
            request.method = method
            if case .token(let token) = caller { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 16 << 20)
            try await client.shutdown()
            return (Int(response.status.code), String(buffer: body))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The meta/v1 Status of an error answer.
    static func status(_ body: String) throws -> Status {
        try JSONDecoder().decode(Status.self, from: Data(body.utf8))
    }
}
