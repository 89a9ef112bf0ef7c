import Agent
import Foundation
import KubeletServer
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import Testing
import TestSupport
import Synchronization
import Translation

/// One end-to-end setup: a Kubernetes API (simulator, or a real cluster with `E2EEnvironment`), a
/// Nomad agent (simulator or real), an admin client for the test's own actions, and the agent under
/// test running in-process with a node identity.
final class AgentHarness: Sendable {
    let kubernetesSimulator: KubernetesSimulator?
    let nomadSimulator: NomadSimulator?
    /// Between the agent and Nomad when started with `nomadThroughProxy`.
    let nomadProxy: TCPProxy?
    let admin: KubernetesClient
    let nomad: NomadClient
    let configuration: AgentConfiguration
    /// The provisioner's settings; volumes go under the work directory unless a client's meta says otherwise.
    let storage: VolumeControllerSettings
    let workDirectory: URL
    private let running = Mutex<Task<Void, any Error>?>(nil)
    /// The kubelet server (logs, exec) when started with `kubeletServer`, and the clients it uses;
    /// stopped and shut down at shutdown.
    private let kubeletServerTask: Task<Void, any Error>?
    private let kubeletServerClients: (kubernetes: KubernetesClient, nomad: NomadClient)?
    /// Cluster-scoped objects this harness created, deleted at shutdown (a real cluster keeps them).
    private let createdPseudoImages = Mutex<[String]>([])

    var nodeName: String { configuration.node.name }
    /// `default` on the simulator; on a real cluster a namespace of this harness's own.
    let namespace: String

    /// Starts both servers and writes the agent's node-identity kubeconfig; the agent is not started.
    /// On a real cluster the node name gets a unique suffix and the pods a namespace of their own, so
    /// tests never meet each other's (or an earlier run's) objects.
    /// With `nomadThroughProxy` the agent reaches Nomad through a ``TCPProxy`` (``nomadProxy``) that
    /// a test can take down, simulator or real Nomad alike; the harness's own client goes direct.
    /// `nomadNodes` (simulator only) replaces the single dev client, given the work directory;
    /// `grants` are what the simulated cluster grants beyond the node identity, given the node name;
    /// `kubernetesConfiguration` configures the Kubernetes simulator otherwise, `nomadVersion` the
    /// version the Nomad simulator reports (a real Nomad reports its own).
    /// With `kubeletServer` the agent's kubelet API (with exec/port-forward streaming) runs too and the
    /// Node advertises it, so `kubectl logs` and `kubectl exec` work; on a real cluster that needs
    /// ``kubeletServerAvailable``.
    static func start(
        nodeName requestedNodeName: String = "vk-test", leaseRenewInterval: Duration = .milliseconds(500), nomadThroughProxy: Bool = false,
        nomadNodes: (@Sendable (URL) -> [NomadSimulator.Node])? = nil, grants: @Sendable (String) -> [AccessGrant] = { _ in [] },
        kubernetesConfiguration: KubernetesSimulator.Configuration = .init(), nomadVersion: String? = nil, kubeletServer: Bool = false
    ) async throws -> AgentHarness {
        let unique = UUID().uuidString.prefix(8).lowercased()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("agent-test-\(unique)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let kubeconfigPath: String
        let kubernetesSimulator: KubernetesSimulator?
        let admin: KubernetesClient
        var nodeName = requestedNodeName
        var namespace = "default"
        if let real = E2EEnvironment.realKubeconfig {
            kubernetesSimulator = nil
            nodeName = "\(requestedNodeName)-\(unique)"
            namespace = "agent-e2e-\(unique)"
            kubeconfigPath = work.appendingPathComponent("node.kubeconfig").path
            admin = try await RealNodeIdentity.prepareCluster(kubeconfig: real, nodeName: nodeName, namespace: namespace, nodeKubeconfigPath: kubeconfigPath)
        } else {
            var simulatorConfiguration = kubernetesConfiguration
            simulatorConfiguration.accessGrants += grants(nodeName)
            let simulator = try await KubernetesSimulator.start(simulatorConfiguration)
            kubernetesSimulator = simulator
            kubeconfigPath = work.appendingPathComponent("node.kubeconfig").path
            try simulator.kubeconfig(for: .node(nodeName)).write(toFile: kubeconfigPath, atomically: true, encoding: .utf8)
            admin = try KubernetesClient(configuration: try KubeconfigLoader.parse(yaml: try simulator.kubeconfig(for: .admin), path: "admin.kubeconfig"))
        }
        let nomadSimulator: NomadSimulator?
        let nomadAddress: String
        if let real = E2EEnvironment.realNomadAddress {
            nomadSimulator = nil
            nomadAddress = real
        } else {
            var simulatorConfiguration = NomadSimulator.Configuration()
            if let nomadNodes { simulatorConfiguration.nodes = nomadNodes(work) }
            if let nomadVersion { simulatorConfiguration.version = nomadVersion }
            let simulator = try await NomadSimulator.start(simulatorConfiguration)
            nomadSimulator = simulator
            nomadAddress = simulator.address
        }
        var agentNomadAddress = nomadAddress
        var nomadProxy: TCPProxy?
        if nomadThroughProxy, let url = URL(string: nomadAddress), let host = url.host, let port = url.port {
            let proxy = try await TCPProxy.start(upstreamHost: host, upstreamPort: port)
            nomadProxy = proxy
            agentNomadAddress = "http://\(proxy.hostAndPort)"
        }
        var kubeletServerTask: Task<Void, any Error>?
        var kubeletServerClients: (kubernetes: KubernetesClient, nomad: NomadClient)?
        var kubeletServerSection = AgentConfiguration.KubeletServer()
        var addresses = AgentConfiguration.Addresses()
        if kubeletServer {
            let clientCAPath: String
            if let simulator = kubernetesSimulator {
                clientCAPath = work.appendingPathComponent("client-ca.crt").path
                try simulator.caCertificatePEM.write(toFile: clientCAPath, atomically: true, encoding: .utf8)
            } else {
                clientCAPath = ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLIENT_CA"] ?? ""
            }
            var logger = Logger(label: "kubelet-server-under-test")
            logger.logLevel = .warning
            let clients = (
                kubernetes: try KubernetesClient(configuration: try KubeconfigLoader.load(path: kubeconfigPath), logger: logger),
                nomad: try NomadClient(configuration: NomadClientConfiguration(address: nomadAddress), logger: logger)
            )
            kubeletServerClients = clients
            let server = try KubeletServer(
                configuration: KubeletServerConfiguration(address: "127.0.0.1", port: 0, tlsSource: .selfSigned, clientCAFile: clientCAPath),
                node: KubeletNodeIdentity(name: nodeName, ipAddresses: ["127.0.0.1"]), kubernetes: clients.kubernetes, nomad: clients.nomad, logger: logger)
            kubeletServerTask = Task { try await server.run() }
            kubeletServerSection.port = await server.listeningPort()
            // A real API server dials the Hostname address first (its default --kubelet-preferred-address-types).
            addresses = .init(internalIP: "127.0.0.1", hostname: "localhost")
        }
        let configuration = AgentConfiguration(
            kubernetes: .init(kubeconfig: kubeconfigPath),
            node: .init(name: nodeName, addresses: addresses),
            nomad: .init(address: agentNomadAddress),
            kubeletServer: kubeletServerSection,
            // Tasks run as the test's own user, so they can write into the test's directories.
            policy: .init(defaultUser: ProcessInfo.processInfo.userName),
            timings: .init(
                leaseRenewInterval: leaseRenewInterval, leaseDuration: max(.seconds(10), leaseRenewInterval * 2), statusUpdateInterval: .seconds(5), orphanGrace: .seconds(2),
                resyncInterval: .seconds(3600)))
        return AgentHarness(
            kubernetesSimulator: kubernetesSimulator, nomadSimulator: nomadSimulator, nomadProxy: nomadProxy, admin: admin,
            nomad: try NomadClient(configuration: NomadClientConfiguration(address: nomadAddress)), configuration: configuration,
            storage: VolumeControllerSettings(rootDirectory: work.appendingPathComponent("volumes").path, retryInterval: .seconds(1)),
            namespace: namespace, workDirectory: work, kubeletServerTask: kubeletServerTask,
            kubeletServerClients: kubeletServerClients)
    }

    /// Whether a harness with `kubeletServer` can run here: always on the simulator; on a real
    /// cluster only with the client CA the API server's kubelet-client certificate is signed by.
    static var kubeletServerAvailable: Bool {
        E2EEnvironment.realKubeconfig == nil || ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLIENT_CA"] != nil
    }

    private init(
        kubernetesSimulator: KubernetesSimulator?, nomadSimulator: NomadSimulator?, nomadProxy: TCPProxy?, admin: KubernetesClient, nomad: NomadClient,
        configuration: AgentConfiguration, storage: VolumeControllerSettings, namespace: String, workDirectory: URL, kubeletServerTask: Task<Void, any Error>?,
        kubeletServerClients: (kubernetes: KubernetesClient, nomad: NomadClient)?
    ) {
        self.kubeletServerTask = kubeletServerTask
        self.kubeletServerClients = kubeletServerClients
        self.storage = storage
        self.nomadProxy = nomadProxy
        self.namespace = namespace
        self.kubernetesSimulator = kubernetesSimulator
        self.nomadSimulator = nomadSimulator
        self.admin = admin
        self.nomad = nomad
        self.configuration = configuration
        self.workDirectory = workDirectory
    }

    /// `base` plus this harness's unique suffix, for cluster-scoped objects (a reused real cluster
    /// may hold an earlier run's under the plain name).
    func uniqueName(_ base: String) -> String {
        "\(base)-\(workDirectory.lastPathComponent.split(separator: "-").last ?? "")"
    }

    /// Creates a PseudoImage (name it with ``uniqueName(_:)`` where the test may), deleted again at
    /// shutdown; one an earlier run left on a reused cluster is replaced.
    func createPseudoImage(_ name: String, spec: PseudoImageSpec) async throws {
        createdPseudoImages.withLock { $0.append(name) }
        do {
            _ = try await admin.create(PseudoImage(metadata: ObjectMeta(name: name), spec: spec))
        } catch let error as KubernetesClientError where error.kind == .alreadyExists {
            var current = try await admin.get(PseudoImage.self, name: name)
            current.spec = spec
            _ = try await admin.update(current)
        }
    }

    /// A second image the agent under test runs like the host image, so a test can change a
    /// container's image (the only container field Kubernetes lets change).
    static let secondImage = "nomad-kubelet.io/host-v2"

    /// Starts an agent in-process (a fresh one each time, as a restarted process would be).
    func startAgent() throws {
        var logger = Logger(label: "agent-under-test")
        logger.logLevel = .warning
        let resolver = ImageResolver { image, context, policy in
            ImageResolver.standard.resolve(image == Self.secondImage ? ImageResolver.hostImage : image, context: context, policy: policy)
        }
        let agent = try NomadKubeletAgent(configuration: configuration, imageResolver: resolver, storage: storage, logger: logger)
        running.withLock { $0 = Task { try await agent.run() } }
    }

    /// Stops the agent abruptly (its task is cancelled; nothing is cleaned up, as with SIGKILL).
    func stopAgent() async {
        let task = running.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        _ = await task?.result
    }

    /// Stops the agent, deletes what the test created and stops both servers.
    func shutdown() async {
        await stopAgent()
        kubeletServerTask?.cancel()
        _ = await kubeletServerTask?.result
        try? await kubeletServerClients?.kubernetes.shutdown()
        try? await kubeletServerClients?.nomad.shutdown()
        for name in createdPseudoImages.withLock({ $0 }) { _ = try? await admin.delete(PseudoImage.self, name: name) }
        if kubernetesSimulator == nil {
            // A real cluster outlives the test: remove the pods (no kubelet will), the namespace and the node.
            for pod in (try? await admin.list(Pod.self, namespace: namespace).items) ?? [] {
                _ = try? await admin.delete(Pod.self, name: pod.metadata.name ?? "", namespace: namespace, options: DeleteOptions(gracePeriodSeconds: 0))
            }
            _ = try? await admin.delete(Namespace.self, name: namespace)
            _ = try? await admin.delete(Node.self, name: nodeName)
        }
        if nomadSimulator == nil {
            for job in (try? await jobsOfNode()) ?? [] { _ = try? await nomad.deregister(jobID: job.id ?? "", purge: true) }
        }
        try? await admin.shutdown()
        try? await nomad.shutdown()
        await nomadProxy?.shutdown()
        try? await kubernetesSimulator?.shutdown()
        await nomadSimulator?.shutdown()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    // MARK: Pods

    /// Required node affinity to this harness's node by name (`metadata.name`, as DaemonSets pin
    /// pods): RuntimeClass scheduling admits every virtual node, and a real cluster may hold other
    /// tests' nodes, which must not take this test's pods or their claims.
    var nodeAffinity: JSONValue {
        ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
            ["matchFields": [["key": "metadata.name", "operator": "In", "values": [.string(nodeName)]]]]
        ]]]]
    }

    /// A pod bound to the agent's node running `script` with /bin/sh on the Nomad client.
    func pod(_ name: String, script: String, restartPolicy: String = "Always", grace: Int64 = 5) -> Pod {
        Pod(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: ["app": name]),
            spec: PodSpec(
                containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh", "-c", script])],
                restartPolicy: restartPolicy, terminationGracePeriodSeconds: grace, nodeName: nodeName,
                tolerations: [Toleration(key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule")]))
    }

    /// A shell line that writes the shell's PID to a file of the work directory, then runs `then`.
    /// `$$$$` because Kubernetes expands `$$` in a container's command to `$` (as the kubelet does).
    func pidScript(_ file: String, then command: String) -> String {
        "echo $$$$ > \(workDirectory.appendingPathComponent(file).path); exec \(command)"
    }

    /// The PID the container wrote, once it exists.
    func pid(_ file: String) async throws -> Int32 {
        try await eventually("the container to write its PID to \(file)") {
            (try? String(contentsOfFile: workDirectory.appendingPathComponent(file).path, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    func readPod(_ name: String) async throws -> Pod? {
        do {
            return try await admin.get(Pod.self, name: name, namespace: namespace)
        } catch let error as KubernetesClientError where error.kind == .notFound {
            return nil
        }
    }

    /// Waits until the pod's status satisfies `condition`, naming `what` on timeout.
    @discardableResult
    func waitForPod(_ name: String, _ what: String, timeout: Duration = .seconds(45), _ condition: @Sendable (Pod) -> Bool) async throws -> Pod {
        do {
            return try await eventually("pod \(name): \(what)", timeout: timeout) {
                guard let pod = try await readPod(name), condition(pod) else { return nil }
                return pod
            }
        } catch let timedOut as WaitTimedOut {
            // Say what the pod looked like instead, so a failure explains itself.
            let last = (try? await readPod(name)?.status).flatMap { $0 }.flatMap { try? JSONValue(encoding: $0) }
            Issue.record("last status of pod \(name): \(last.map { String(describing: $0) } ?? "none")")
            throw timedOut
        }
    }

    /// Jobs this node's agent registered (by Meta), stopped or not.
    func jobsOfNode() async throws -> [Job] {
        try await nomad.jobs(meta: [PodJobIdentity.nodeMetaKey: nodeName])
    }
}

extension Pod {
    var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    var mainStatus: ContainerStatus? { status?.containerStatuses?.first { $0.name == "main" } }
}
