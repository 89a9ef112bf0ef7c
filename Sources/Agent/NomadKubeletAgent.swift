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
    /// default); `storage` configures the volume provisioner (docs/storage.md).
    public init(
        configuration: AgentConfiguration, imageResolver: ImageResolver = .standard, storage: VolumeControllerSettings = VolumeControllerSettings(),
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.logger = logger
        let kubernetesConfiguration: ClientConfiguration
        if configuration.kubernetes.inCluster {
            kubernetesConfiguration = try KubeconfigLoader.inCluster()
        } else if let path = configuration.kubernetes.kubeconfig {
            kubernetesConfiguration = try KubeconfigLoader.load(path: path, context: configuration.kubernetes.context)
        } else {
            kubernetesConfiguration = try KubeconfigLoader.loadDefault(context: configuration.kubernetes.context)
        }
        let nomadSettings = configuration.nomad
        let token = try nomadSettings.tokenFile.map { try NomadToken(contentsOfFile: $0) }
        let nomadConfiguration = NomadClientConfiguration(
            address: nomadSettings.address, region: nomadSettings.region, namespace: nomadSettings.namespace, token: token,
            tls: .init(
                caFile: nomadSettings.tls.caFile, clientCertificateFile: nomadSettings.tls.certFile, clientKeyFile: nomadSettings.tls.keyFile,
                serverName: nomadSettings.tls.serverName, insecureSkipVerify: nomadSettings.tls.insecureSkipVerify))
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
        self.nodeController = NodeController(configuration: configuration, kubernetes: kubernetes, nomad: nomadProbe, logger: logger)
        self.podController = PodController(configuration: configuration, kubernetes: kubernetes, nomad: nomad, imageResolver: imageResolver, logger: logger)
        self.volumeController = VolumeController(configuration: configuration, settings: storage, kubernetes: kubernetes, nomad: nomad, logger: logger)
    }

    /// Runs both controllers until a graceful-shutdown signal arrives or the task is cancelled,
    /// then closes the clients. Workloads keep running in Nomad.
    public func run(gracefulShutdownSignals: [UnixSignal] = []) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: nodeController, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: podController, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: volumeController, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
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
