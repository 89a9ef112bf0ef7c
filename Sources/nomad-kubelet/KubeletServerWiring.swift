import Agent
import Foundation
import KubeletServer
import KubernetesClient
import Logging
import Metrics
import NomadClient
import Prometheus

/// The kubelet API server of `nomad-kubelet run`, built from the `kubeletServer:` section, with its
/// own Kubernetes and Nomad clients (same settings as the agent's).
struct KubeletServerWiring {
    let server: KubeletServer
    let kubernetes: KubernetesClient
    let nomad: NomadClient

    /// The server's settings from the agent configuration.
    static func settings(_ section: AgentConfiguration.KubeletServer) -> KubeletServerConfiguration {
        let source: KubeletServerConfiguration.TLSSource =
            switch section.tls.source {
            case .files: .files
            case .csr: .csr
            case .selfSigned: .selfSigned
            }
        return KubeletServerConfiguration(
            address: section.address, port: section.port, tlsSource: source, certFile: section.tls.certFile, keyFile: section.tls.keyFile,
            clientCAFile: section.clientCAFile, anonymousAuth: section.anonymousAuth,
            authorization: section.authorization == .alwaysAllow ? .alwaysAllow : .webhook)
    }

    /// Builds the server; with `metrics.enabled`, bootstraps swift-metrics with a Prometheus
    /// registry (once per process) that `/metrics` serves.
    init(configuration: AgentConfiguration, logger: Logger) throws {
        var registry: PrometheusCollectorRegistry?
        if configuration.metrics.enabled {
            let prometheus = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
            registry = prometheus
        }
        kubernetes = try KubernetesClient(configuration: try NomadKubeletAgent.kubernetesClientConfiguration(configuration.kubernetes), logger: logger)
        nomad = try NomadClient(configuration: try NomadKubeletAgent.nomadClientConfiguration(configuration.nomad), logger: logger)
        let node = KubeletNodeIdentity(
            name: configuration.node.name, ipAddresses: [configuration.node.addresses.internalIP],
            dnsNames: [configuration.node.addresses.hostname].compactMap { $0 })
        server = try KubeletServer(
            configuration: Self.settings(configuration.kubeletServer), node: node, kubernetes: kubernetes, nomad: nomad, registry: registry,
            logger: logger)
    }

    /// Closes the server's clients (after the service group ended).
    func shutdown() async {
        try? await kubernetes.shutdown()
        try? await nomad.shutdown()
    }
}
