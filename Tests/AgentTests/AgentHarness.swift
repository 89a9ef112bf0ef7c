import Agent
import Foundation
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
    let admin: KubernetesClient
    let nomad: NomadClient
    let configuration: AgentConfiguration
    let workDirectory: URL
    private let running = Mutex<Task<Void, any Error>?>(nil)

    var nodeName: String { configuration.node.name }
    /// `default` on the simulator; on a real cluster a namespace of this harness's own.
    let namespace: String

    /// Starts both servers and writes the agent's node-identity kubeconfig; the agent is not started.
    /// On a real cluster the node name gets a unique suffix and the pods a namespace of their own, so
    /// tests never meet each other's (or an earlier run's) objects.
    static func start(
        nodeName requestedNodeName: String = "vk-test", kubernetesConfiguration: KubernetesSimulator.Configuration = .init()
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
            kubeconfigPath = real
            admin = try KubernetesClient(configuration: try KubeconfigLoader.load(path: real))
            nodeName = "\(requestedNodeName)-\(unique)"
            namespace = "agent-e2e-\(unique)"
            _ = try await admin.create(Namespace(metadata: ObjectMeta(name: namespace)))
        } else {
            let simulator = try await KubernetesSimulator.start(kubernetesConfiguration)
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
            let simulator = try await NomadSimulator.start()
            nomadSimulator = simulator
            nomadAddress = simulator.address
        }
        let configuration = AgentConfiguration(
            kubernetes: .init(kubeconfig: kubeconfigPath),
            node: .init(name: nodeName),
            nomad: .init(address: nomadAddress),
            timings: .init(
                leaseRenewInterval: .milliseconds(500), leaseDuration: .seconds(10), statusUpdateInterval: .seconds(5), orphanGrace: .seconds(2),
                resyncInterval: .seconds(3600)),
            logLevel: "info")
        return AgentHarness(
            kubernetesSimulator: kubernetesSimulator, nomadSimulator: nomadSimulator, admin: admin,
            nomad: try NomadClient(configuration: NomadClientConfiguration(address: nomadAddress)), configuration: configuration,
            namespace: namespace, workDirectory: work)
    }

    private init(
        kubernetesSimulator: KubernetesSimulator?, nomadSimulator: NomadSimulator?, admin: KubernetesClient, nomad: NomadClient,
        configuration: AgentConfiguration, namespace: String, workDirectory: URL
    ) {
        self.namespace = namespace
        self.kubernetesSimulator = kubernetesSimulator
        self.nomadSimulator = nomadSimulator
        self.admin = admin
        self.nomad = nomad
        self.configuration = configuration
        self.workDirectory = workDirectory
    }

    /// Starts an agent in-process (a fresh one each time, as a restarted process would be).
    func startAgent() throws {
        var logger = Logger(label: "agent-under-test")
        logger.logLevel = .warning
        let agent = try NomadKubeletAgent(configuration: configuration, logger: logger)
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
        try? await kubernetesSimulator?.shutdown()
        await nomadSimulator?.shutdown()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    // MARK: Pods

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
    /// `$$$$` because the kubelet's `$(VAR)` expansion of command and args turns `$$` into `$`.
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
        try await eventually("pod \(name): \(what)", timeout: timeout) {
            guard let pod = try await readPod(name), condition(pod) else { return nil }
            return pod
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
