import Foundation
import KubernetesClient
import Logging
import NomadClient
import ServiceLifecycle
import Translation
import UnixSignals

/// The whole agent: the Kubernetes and Nomad clients built from the configuration, and the node
/// and pod controllers run as one ServiceLifecycle group. Stopping it (signal or cancellation)
/// leaves every workload running in Nomad.
public final class NomadKubeletAgent: Sendable {
    /// The configuration the agent runs with.
    public let configuration: AgentConfiguration
    /// Registers the Node and keeps its Lease and status.
    public let nodeController: NodeController
    /// Runs the node's pods as Nomad jobs.
    public let podController: PodController
    /// Provisions and reclaims the volumes of the node's StorageClass.
    public let volumeController: VolumeController
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    /// A client with short timeouts and no retries, so a Nomad outage shows in the Node's status
    /// within a heartbeat or two.
    private let nomadProbe: NomadClient
    private let logger: Logger

    /// Builds the clients and controllers; throws when a file the configuration names is unusable.
    /// `imageResolver` says which container images can run (the host image and PseudoImages by
    /// default); `storage` configures the volume provisioner (docs/storage.md); `observer` hears of
    /// the Node's registration, each heartbeat and the start of shutdown.
    public init(
        configuration: AgentConfiguration, imageResolver: ImageResolver = .standard, storage: VolumeControllerSettings = VolumeControllerSettings(),
        logger: Logger, observer: (any AgentLifecycleObserver)? = nil
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let kubernetesConfiguration = try Self.kubernetesClientConfiguration(configuration.kubernetes)
        let nomadConfiguration = try Self.nomadClientConfiguration(configuration.nomad)
        var probeConfiguration = nomadConfiguration
        probeConfiguration.connectTimeout = .seconds(2)
        probeConfiguration.requestTimeout = .seconds(5)
        probeConfiguration.retry = .none
        let nomad = try NomadClient(configuration: nomadConfiguration, logger: logger)
        let nomadProbe: NomadClient
        let kubernetes: KubernetesClient
        do {
            nomadProbe = try NomadClient(configuration: probeConfiguration, logger: logger)
            kubernetes = try KubernetesClient(configuration: kubernetesConfiguration, logger: logger)
        } catch {
            Task { try? await nomad.shutdown() }
            throw error
        }
        self.nomadProbe = nomadProbe
        self.kubernetes = kubernetes
        self.nomad = nomad
        self.nodeController = NodeController(configuration: configuration, kubernetes: kubernetes, nomad: nomadProbe, logger: logger, observer: observer)
        self.podController = PodController(configuration: configuration, kubernetes: kubernetes, nomad: nomad, imageResolver: imageResolver, logger: logger)
        self.volumeController = VolumeController(configuration: configuration, settings: storage, kubernetes: kubernetes, nomad: nomad, logger: logger)
    }

    /// The Kubernetes client settings of `settings`: in-cluster, the kubeconfig named, or the default one.
    public static func kubernetesClientConfiguration(_ settings: AgentConfiguration.Kubernetes) throws -> ClientConfiguration {
        if settings.inCluster { return try KubeconfigLoader.inCluster() }
        if let path = settings.kubeconfig { return try KubeconfigLoader.load(path: path, context: settings.context) }
        return try KubeconfigLoader.loadDefault(context: settings.context)
    }

    /// The Nomad client settings of `settings`, the token read from its file.
    public static func nomadClientConfiguration(_ settings: AgentConfiguration.Nomad) throws -> NomadClientConfiguration {
        let token = try settings.tokenFile.map { try NomadToken(contentsOfFile: $0) }
        return NomadClientConfiguration(
            address: settings.address, region: settings.region, namespace: settings.namespace, token: token,
            tls: .init(
                caFile: settings.tls.caFile, clientCertificateFile: settings.tls.certFile, clientKeyFile: settings.tls.keyFile,
                serverName: settings.tls.serverName, insecureSkipVerify: settings.tls.insecureSkipVerify))
    }

    /// Runs both controllers until a graceful-shutdown signal arrives or the task is cancelled,
    /// then closes the clients. Workloads keep running in Nomad.
    /// `services` (the kubelet API server) run in the same group: they start and stop with the controllers.
    public func run(gracefulShutdownSignals: [UnixSignal] = [], alongside services: [any Service] = []) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: nodeController, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: podController, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: volumeController, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
                ] + services.map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
        logger.notice("agent starting", metadata: ["version": "\(AgentVersion.current)", "nomad": "\(configuration.nomad.address)"])
        defer { logger.notice("agent stopped; workloads keep running in Nomad") }
        do {
            try await group.run()
        } catch {
            try? await closeClients()
            throw error
        }
        try await closeClients()
    }

    private func closeClients() async throws {
        try await nomad.shutdown()
        try await nomadProbe.shutdown()
        try await kubernetes.shutdown()
    }
}

extension Service {
    /// Runs `body` until graceful shutdown cancels it; that cancellation is a normal end, not an error.
    static func untilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {
            return
        }
    }
}
