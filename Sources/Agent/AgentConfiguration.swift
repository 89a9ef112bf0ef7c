import Foundation
import KubernetesModels
import Logging

/// The agent's configuration: one YAML file (`nomad-kubelet run --config FILE`), overridden by
/// `NOMAD_KUBELET_<KEY_PATH>` environment variables and `--set key.path=value` flags.
///
/// Every section is a plain struct whose initializer holds the defaults; the key table
/// (``AgentConfiguration/keys``) reads, documents and renders every key from those same structs,
/// so docs/configuration.md and the packaged config.yaml cannot drift from them.
public struct AgentConfiguration: Sendable, Hashable {
    /// How the agent reaches the Kubernetes API server.
    public struct Kubernetes: Sendable, Hashable {
        /// Path of a kubeconfig file; `nil` with `inCluster` uses the pod's service account.
        public var kubeconfig: String?
        /// Context of the kubeconfig to use; its current context when `nil`.
        public var context: String?
        /// Use the in-cluster service account (token and CA mounted into the pod).
        public var inCluster: Bool

        /// Kubernetes settings; by default `$KUBECONFIG` or `~/.kube/config`.
        public init(kubeconfig: String? = nil, context: String? = nil, inCluster: Bool = false) {
            self.kubeconfig = kubeconfig
            self.context = context
            self.inCluster = inCluster
        }
    }

    /// Addresses the Node reports.
    public struct Addresses: Sendable, Hashable {
        /// The `InternalIP` address (the API server reaches the kubelet endpoint there).
        public var internalIP: String
        /// The `Hostname` address; the node name when `nil`.
        public var hostname: String?

        /// Addresses; by default 127.0.0.1 and the node name.
        public init(internalIP: String = "127.0.0.1", hostname: String? = nil) {
            self.internalIP = internalIP
            self.hostname = hostname
        }
    }

    /// The virtual Node.
    public struct NodeSettings: Sendable, Hashable {
        /// The Node's name (the node identity must be `system:node:<name>`); required.
        public var name: String
        /// Labels added to the standard ones.
        public var labels: [String: String]
        /// Taints set when the Node is created.
        public var taints: [Taint]
        /// Fixed capacity (`cpu`, `memory`, `ephemeral-storage`, `pods`); what is missing is
        /// computed from the Nomad client nodes.
        public var capacity: [String: Quantity]
        /// Addresses reported in the Node's status.
        public var addresses: Addresses
        /// `kubernetes.io/os` and `nodeInfo.operatingSystem`.
        public var operatingSystem: String
        /// `kubernetes.io/arch` and `nodeInfo.architecture`.
        public var architecture: String

        /// Node settings with the documented defaults.
        public init(
            name: String, labels: [String: String] = [:], taints: [Taint] = [AgentConfiguration.defaultTaint], capacity: [String: Quantity] = [:],
            addresses: Addresses = Addresses(), operatingSystem: String = "linux", architecture: String = AgentConfiguration.hostArchitecture
        ) {
            self.name = name
            self.labels = labels
            self.taints = taints
            self.capacity = capacity
            self.addresses = addresses
            self.operatingSystem = operatingSystem
            self.architecture = architecture
        }
    }

    /// TLS towards the Nomad agent.
    public struct NomadTLS: Sendable, Hashable {
        /// PEM file of the CA that signed Nomad's certificate.
        public var caFile: String?
        /// PEM client certificate presented to Nomad (with `keyFile`).
        public var certFile: String?
        /// PEM private key of `certFile`.
        public var keyFile: String?
        /// Name checked in Nomad's certificate instead of the address's host.
        public var serverName: String?
        /// Skip verifying Nomad's certificate (tests only).
        public var insecureSkipVerify: Bool

        /// TLS settings; none by default.
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.serverName = serverName
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// How the agent reaches Nomad, and which client nodes it fronts.
    public struct Nomad: Sendable, Hashable {
        /// The HTTP API address of a Nomad agent.
        public var address: String
        /// The region of the jobs; the agent's own when `nil`.
        public var region: String?
        /// The Nomad namespace of jobs whose Kubernetes namespace is not in ``namespaces``.
        public var namespace: String
        /// Kubernetes namespace → Nomad namespace for the jobs of that namespace's pods.
        public var namespaces: [String: String]
        /// A file holding the ACL token (never the token itself in the config).
        public var tokenFile: String?
        /// TLS towards Nomad.
        public var tls: NomadTLS
        /// Datacenters jobs may run in, and whose clients count for capacity.
        public var datacenters: [String]
        /// Only clients of this node pool count (Nomad 1.6+); all when `nil`.
        public var nodePool: String?
        /// Only clients of this node class count; all when `nil`.
        public var nodeClass: String?
        /// The task driver for pods that do not choose one (`raw_exec` or `exec`).
        public var driver: String
        /// The drivers pods may run with (through their RuntimeClass, or an override when
        /// `policy.allowDriverOverride` is set); must contain ``driver``.
        public var allowedDrivers: [String]

        /// Nomad settings with the documented defaults.
        public init(
            address: String = "http://127.0.0.1:4646", region: String? = nil, namespace: String = "default", namespaces: [String: String] = [:],
            tokenFile: String? = nil, tls: NomadTLS = NomadTLS(), datacenters: [String] = ["dc1"], nodePool: String? = nil, nodeClass: String? = nil,
            driver: String = "raw_exec", allowedDrivers: [String] = AgentConfiguration.supportedDrivers
        ) {
            self.address = address
            self.region = region
            self.namespace = namespace
            self.namespaces = namespaces
            self.tokenFile = tokenFile
            self.tls = tls
            self.datacenters = datacenters
            self.nodePool = nodePool
            self.nodeClass = nodeClass
            self.driver = driver
            self.allowedDrivers = allowedDrivers
        }

        /// The Nomad namespace for the jobs of pods in `kubernetesNamespace`.
        public func nomadNamespace(forKubernetesNamespace kubernetesNamespace: String) -> String {
            namespaces[kubernetesNamespace] ?? namespace
        }
    }

    /// Where the kubelet API's serving certificate comes from.
    public enum KubeletTLSSource: String, Sendable, Hashable, CaseIterable {
        /// `certFile` and `keyFile` (e.g. issued by the cluster's CA).
        case files
        /// A CertificateSigningRequest (`kubernetes.io/kubelet-serving`) approved in the cluster.
        case csr
        /// A self-signed certificate made at start (the API server does not verify kubelets by default).
        case selfSigned
    }

    /// How requests to the kubelet API are authorized.
    public enum KubeletAuthorization: String, Sendable, Hashable, CaseIterable {
        /// A SubjectAccessReview per request, as the kubelet does (`nodes/proxy`, `nodes/log`, ...).
        case webhook
        /// Every authenticated request is allowed.
        case alwaysAllow
    }

    /// The kubelet serving certificate.
    public struct KubeletServerTLS: Sendable, Hashable {
        /// Where the certificate comes from.
        public var source: KubeletTLSSource
        /// PEM certificate (chain) when `source` is `files`.
        public var certFile: String?
        /// PEM private key when `source` is `files`.
        public var keyFile: String?

        /// A self-signed certificate by default.
        public init(source: KubeletTLSSource = .selfSigned, certFile: String? = nil, keyFile: String? = nil) {
            self.source = source
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// The kubelet HTTPS API (logs, exec, port-forward, metrics) the API server calls.
    public struct KubeletServer: Sendable, Hashable {
        /// The address to listen on.
        public var address: String
        /// The port to listen on, also the Node's `daemonEndpoints.kubeletEndpoint.Port`.
        public var port: Int
        /// The serving certificate.
        public var tls: KubeletServerTLS
        /// CA bundle that verifies client certificates (the API server's `--kubelet-client-certificate`).
        public var clientCAFile: String?
        /// Let requests without credentials in (as `system:anonymous`).
        public var anonymousAuth: Bool
        /// How authenticated requests are authorized.
        public var authorization: KubeletAuthorization

        /// Kubelet API settings with the documented defaults.
        public init(
            address: String = "0.0.0.0", port: Int = 10250, tls: KubeletServerTLS = KubeletServerTLS(), clientCAFile: String? = nil,
            anonymousAuth: Bool = false, authorization: KubeletAuthorization = .webhook
        ) {
            self.address = address
            self.port = port
            self.tls = tls
            self.clientCAFile = clientCAFile
            self.anonymousAuth = anonymousAuth
            self.authorization = authorization
        }
    }

    /// What pods on this node may do on the Nomad clients.
    public struct Policy: Sendable, Hashable {
        /// Host directories under which `hostPath` volumes are allowed; none when empty.
        public var hostPathRoots: [String]
        /// Allow `securityContext.privileged` (tasks as root).
        public var allowPrivileged: Bool
        /// Allow artifacts (downloads) without a checksum.
        public var allowUnverifiedArtifacts: Bool
        /// Let a pod choose its driver (among `nomad.allowedDrivers`) by annotation.
        public var allowDriverOverride: Bool
        /// The Unix user tasks run as when the pod names none.
        public var defaultUser: String

        /// The restrictive defaults.
        public init(
            hostPathRoots: [String] = [], allowPrivileged: Bool = false, allowUnverifiedArtifacts: Bool = false, allowDriverOverride: Bool = false,
            defaultUser: String = "nobody"
        ) {
            self.hostPathRoots = hostPathRoots
            self.allowPrivileged = allowPrivileged
            self.allowUnverifiedArtifacts = allowUnverifiedArtifacts
            self.allowDriverOverride = allowDriverOverride
            self.defaultUser = defaultUser
        }
    }

    /// Local persistent volumes on the Nomad clients.
    public struct Storage: Sendable, Hashable {
        /// The StorageClass whose claims this node provisions.
        public var storageClassName: String
        /// Directory on the Nomad clients holding the volumes.
        public var rootDirectory: String

        /// Storage settings with the documented defaults.
        public init(storageClassName: String = "nomad-local", rootDirectory: String = "/var/lib/nomad-kubelet/volumes") {
            self.storageClassName = storageClassName
            self.rootDirectory = rootDirectory
        }
    }

    /// Intervals of the node and pod controllers.
    public struct Timings: Sendable, Hashable {
        /// How often the Node's Lease is renewed.
        public var leaseRenewInterval: Duration
        /// The Lease's `leaseDurationSeconds`.
        public var leaseDuration: Duration
        /// Longest time between two NodeStatus updates (changes go out at once).
        public var statusUpdateInterval: Duration
        /// How long a job whose pod is gone may live before it is stopped.
        public var orphanGrace: Duration
        /// Full reconcile of every pod (status is event-driven; this is a safety net).
        public var resyncInterval: Duration

        /// The documented default timings.
        public init(
            leaseRenewInterval: Duration = .seconds(10), leaseDuration: Duration = .seconds(40), statusUpdateInterval: Duration = .seconds(60),
            orphanGrace: Duration = .seconds(300), resyncInterval: Duration = .seconds(600)
        ) {
            self.leaseRenewInterval = leaseRenewInterval
            self.leaseDuration = leaseDuration
            self.statusUpdateInterval = statusUpdateInterval
            self.orphanGrace = orphanGrace
            self.resyncInterval = resyncInterval
        }
    }

    /// The agent's log output (standard error, collected by journald under systemd).
    public enum LogFormat: String, Sendable, Hashable, CaseIterable {
        /// One human-readable line per message.
        case text
        /// One JSON object per line.
        case json
    }

    /// Logging settings.
    public struct Logging: Sendable, Hashable {
        /// The lowest level written.
        public var level: Logger.Level
        /// Text or JSON lines.
        public var format: LogFormat

        /// Info-level text by default.
        public init(level: Logger.Level = .info, format: LogFormat = .text) {
            self.level = level
            self.format = format
        }
    }

    /// Prometheus metrics on the kubelet API (`/metrics`).
    public struct Metrics: Sendable, Hashable {
        /// Serve `/metrics`.
        public var enabled: Bool

        /// Enabled by default.
        public init(enabled: Bool = true) {
            self.enabled = enabled
        }
    }

    /// The drivers pseudo-containers can run with.
    public static let supportedDrivers = ["raw_exec", "exec"]

    /// The `kubernetes` section.
    public var kubernetes: Kubernetes
    /// The `node` section.
    public var node: NodeSettings
    /// The `nomad` section.
    public var nomad: Nomad
    /// The `kubeletServer` section.
    public var kubeletServer: KubeletServer
    /// The `policy` section.
    public var policy: Policy
    /// The `storage` section.
    public var storage: Storage
    /// The `timings` section.
    public var timings: Timings
    /// The `logging` section.
    public var logging: Logging
    /// The `metrics` section.
    public var metrics: Metrics

    /// A configuration with the documented defaults for everything but the node name.
    public init(
        kubernetes: Kubernetes = Kubernetes(), node: NodeSettings, nomad: Nomad = Nomad(), kubeletServer: KubeletServer = KubeletServer(),
        policy: Policy = Policy(), storage: Storage = Storage(), timings: Timings = Timings(), logging: Logging = Logging(), metrics: Metrics = Metrics()
    ) {
        self.kubernetes = kubernetes
        self.node = node
        self.nomad = nomad
        self.kubeletServer = kubeletServer
        self.policy = policy
        self.storage = storage
        self.timings = timings
        self.logging = logging
        self.metrics = metrics
    }

    /// Every default, with an empty node name (the one required key).
    public static let defaults = AgentConfiguration(node: NodeSettings(name: ""))

    /// The taint every virtual node carries unless the config says otherwise.
    public static let defaultTaint = Taint(key: "virtual-kubelet.io/provider", value: "nomad", effect: "NoSchedule")

    /// The architecture of this host, in Kubernetes' spelling.
    public static var hostArchitecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "amd64"
        #endif
    }
}
