import Foundation
import KubernetesModels
import Yams

/// The agent's configuration, read from the YAML file given to `nomad-kubelet run --config FILE`.
/// Every key is documented in docs/configuration.md; examples/agent-config.yaml sets them all.
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
        /// The Node's name (the node identity must be `system:node:<name>`).
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
        /// The port of the kubelet endpoint (`daemonEndpoints.kubeletEndpoint.Port`).
        public var kubeletPort: Int
        /// `kubernetes.io/os` and `nodeInfo.operatingSystem`.
        public var operatingSystem: String
        /// `kubernetes.io/arch` and `nodeInfo.architecture`.
        public var architecture: String

        /// Node settings with the documented defaults.
        public init(
            name: String, labels: [String: String] = [:], taints: [Taint] = [AgentConfiguration.defaultTaint], capacity: [String: Quantity] = [:],
            addresses: Addresses = Addresses(), kubeletPort: Int = 10250, operatingSystem: String = "linux",
            architecture: String = AgentConfiguration.hostArchitecture
        ) {
            self.name = name
            self.labels = labels
            self.taints = taints
            self.capacity = capacity
            self.addresses = addresses
            self.kubeletPort = kubeletPort
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
        /// The Nomad namespace jobs are registered in.
        public var namespace: String?
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
        /// The task driver for pods (`raw_exec` or `exec`).
        public var driver: String

        /// Nomad settings with the documented defaults.
        public init(
            address: String = "http://127.0.0.1:4646", region: String? = nil, namespace: String? = nil, tokenFile: String? = nil, tls: NomadTLS = NomadTLS(),
            datacenters: [String] = ["dc1"], nodePool: String? = nil, nodeClass: String? = nil, driver: String = "raw_exec"
        ) {
            self.address = address
            self.region = region
            self.namespace = namespace
            self.tokenFile = tokenFile
            self.tls = tls
            self.datacenters = datacenters
            self.nodePool = nodePool
            self.nodeClass = nodeClass
            self.driver = driver
        }
    }

    /// Intervals and graces.
    public struct Timings: Sendable, Hashable {
        /// How often the Lease is renewed.
        public var leaseRenewInterval: Duration
        /// `leaseDurationSeconds` of the Lease.
        public var leaseDuration: Duration
        /// The longest time between two NodeStatus updates (sooner on change).
        public var statusUpdateInterval: Duration
        /// How long a job of this node whose pod is gone is left before it is stopped.
        public var orphanGrace: Duration
        /// Period of the full resync of every pod (status is event-driven; this is a safety net).
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

    /// Log level names accepted in `logging.level`.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The `kubernetes` section.
    public var kubernetes: Kubernetes
    /// The `node` section.
    public var node: NodeSettings
    /// The `nomad` section.
    public var nomad: Nomad
    /// The `timings` section.
    public var timings: Timings
    /// One of ``logLevels``.
    public var logLevel: String

    /// A configuration with defaults for everything but the node name.
    public init(kubernetes: Kubernetes = Kubernetes(), node: NodeSettings, nomad: Nomad = Nomad(), timings: Timings = Timings(), logLevel: String = "info") {
        self.kubernetes = kubernetes
        self.node = node
        self.nomad = nomad
        self.timings = timings
        self.logLevel = logLevel
    }

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

    /// Reads and validates a configuration file.
    public static func load(path: String) throws(AgentError) -> AgentConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableConfiguration(file: path, reason: "\(error.localizedDescription); pass an existing file to --config")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates configuration YAML; `file` names it in errors.
    public static func parse(yaml: String, file: String = "<config>") throws(AgentError) -> AgentConfiguration {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw .unreadableConfiguration(file: file, reason: "not valid YAML: \(error)")
        }
        guard let root else { throw .invalidConfiguration(file: file, keyPath: "node.name", line: nil, problem: "the file is empty; at least node.name is required") }
        return try ConfigReader(node: root, path: "", file: file).readConfiguration()
    }
}

/// Walks the YAML tree, remembering the key path and line for error messages.
private struct ConfigReader {
    let node: Yams.Node
    let path: String
    let file: String

    func fail(_ problem: String) -> AgentError {
        .invalidConfiguration(file: file, keyPath: path.isEmpty ? "(top level)" : path, line: node.mark.map { $0.line }, problem: problem)
    }

    func child(_ key: String) -> ConfigReader? {
        guard let value = node[key], value.null == nil else { return nil }
        return ConfigReader(node: value, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// Checks that the mapping has only known keys.
    func mapping(allowing keys: Set<String>) throws(AgentError) -> Self {
        guard let mapping = node.mapping else { throw fail("expected a mapping (key: value lines)") }
        for (key, _) in mapping {
            let name = key.string ?? "\(key)"
            if !keys.contains(name) {
                let prefix = path.isEmpty ? "" : "\(path)."
                throw AgentError.invalidConfiguration(
                    file: file, keyPath: prefix + name, line: key.mark.map { $0.line },
                    problem: "unknown key; known keys here are \(keys.sorted().joined(separator: ", "))")
            }
        }
        return self
    }

    func string() throws(AgentError) -> String {
        guard node.scalar != nil, let value = node.string else { throw fail("expected a text value") }
        return value
    }

    func nonEmptyString() throws(AgentError) -> String {
        let value = try string()
        if value.isEmpty { throw fail("must not be empty") }
        return value
    }

    func bool() throws(AgentError) -> Bool {
        guard let value = node.bool else { throw fail("expected true or false") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(AgentError) -> Int {
        guard let value = node.int else { throw fail("expected a whole number") }
        guard range.contains(value) else { throw fail("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func stringList() throws(AgentError) -> [String] {
        guard let sequence = node.sequence else { throw fail("expected a list") }
        var result: [String] = []
        for (index, element) in sequence.enumerated() {
            result.append(try ConfigReader(node: element, path: "\(path)[\(index)]", file: file).nonEmptyString())
        }
        return result
    }

    func stringMap() throws(AgentError) -> [(key: String, reader: ConfigReader)] {
        guard let mapping = node.mapping else { throw fail("expected a mapping (key: value lines)") }
        return mapping.map { (key: $0.key.string ?? "\($0.key)", reader: ConfigReader(node: $0.value, path: "\(path).\($0.key.string ?? "")", file: file)) }
    }

    /// A Go-style duration: `10s`, `500ms`, `1m30s`, `1h`.
    func duration() throws(AgentError) -> Duration {
        guard let text = node.string, let value = DurationText.parse(text) else {
            throw fail("expected a duration such as 500ms, 10s, 1m30s or 1h")
        }
        if value <= .zero { throw fail("must be longer than zero") }
        return value
    }

    func readConfiguration() throws(AgentError) -> AgentConfiguration {
        _ = try mapping(allowing: ["kubernetes", "node", "nomad", "timings", "logging"])
        guard let nodeReader = child("node") else {
            throw AgentError.invalidConfiguration(file: file, keyPath: "node", line: nil, problem: "the node section is required (at least node.name)")
        }
        var configuration = AgentConfiguration(node: try nodeReader.readNode())
        if let reader = child("kubernetes") { configuration.kubernetes = try reader.readKubernetes() }
        if let reader = child("nomad") { configuration.nomad = try reader.readNomad() }
        if let reader = child("timings") { configuration.timings = try reader.readTimings() }
        if let reader = try child("logging")?.mapping(allowing: ["level"]), let level = try reader.child("level")?.string() {
            guard AgentConfiguration.logLevels.contains(level) else {
                throw reader.child("level")!.fail("unknown level \"\(level)\"; use one of \(AgentConfiguration.logLevels.joined(separator: ", "))")
            }
            configuration.logLevel = level
        }
        return configuration
    }

    func readKubernetes() throws(AgentError) -> AgentConfiguration.Kubernetes {
        _ = try mapping(allowing: ["kubeconfig", "context", "inCluster"])
        var result = AgentConfiguration.Kubernetes()
        result.kubeconfig = try child("kubeconfig")?.nonEmptyString()
        result.context = try child("context")?.nonEmptyString()
        result.inCluster = try child("inCluster")?.bool() ?? false
        if result.inCluster, result.kubeconfig != nil {
            throw fail("set either kubeconfig or inCluster: true, not both")
        }
        return result
    }

    func readNode() throws(AgentError) -> AgentConfiguration.NodeSettings {
        _ = try mapping(allowing: ["name", "labels", "taints", "capacity", "addresses", "kubeletPort", "operatingSystem", "architecture"])
        guard let nameReader = child("name") else { throw fail("name is required: the Node's name (the node identity is system:node:<name>)") }
        let name = try nameReader.nonEmptyString()
        if !Self.isDNSSubdomain(name) {
            throw nameReader.fail("\"\(name)\" is not a valid Node name: use lower-case letters, digits, '-' and '.', at most 253 characters")
        }
        var result = AgentConfiguration.NodeSettings(name: name)
        if let labels = try child("labels")?.stringMap() {
            for (key, reader) in labels {
                if key.hasPrefix("node-restriction.kubernetes.io/") || key.hasPrefix("kubernetes.io/") && !["kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch"].contains(key) {
                    throw reader.fail("a node identity may not set labels under \(key.hasPrefix("node-") ? "node-restriction.kubernetes.io/" : "kubernetes.io/") (NodeRestriction refuses them); choose another prefix")
                }
                result.labels[key] = try reader.string()
            }
        }
        if let taints = child("taints") {
            guard let sequence = taints.node.sequence else { throw taints.fail("expected a list of taints (key, value, effect)") }
            result.taints = []
            for (index, element) in sequence.enumerated() {
                let reader = try ConfigReader(node: element, path: "\(taints.path)[\(index)]", file: file).mapping(allowing: ["key", "value", "effect"])
                guard let key = try reader.child("key")?.nonEmptyString() else { throw reader.fail("key is required") }
                guard let effectReader = reader.child("effect") else { throw reader.fail("effect is required (NoSchedule, PreferNoSchedule or NoExecute)") }
                let effect = try effectReader.string()
                guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) else {
                    throw effectReader.fail("unknown effect \"\(effect)\"; use NoSchedule, PreferNoSchedule or NoExecute")
                }
                result.taints.append(Taint(key: key, value: try reader.child("value")?.string(), effect: effect))
            }
        }
        if let capacity = try child("capacity")?.mapping(allowing: ["cpu", "memory", "ephemeral-storage", "pods"]) {
            for (key, reader) in try capacity.stringMap() {
                let text: String
                if let number = reader.node.int { text = String(number) } else { text = try reader.string() }
                guard let quantity = try? Quantity(text) else {
                    throw reader.fail("\"\(text)\" is not a Kubernetes quantity (examples: 16, 500m, 64Gi)")
                }
                result.capacity[key] = quantity
            }
        }
        if let addresses = try child("addresses")?.mapping(allowing: ["internalIP", "hostname"]) {
            if let reader = addresses.child("internalIP") { result.addresses.internalIP = try reader.nonEmptyString() }
            result.addresses.hostname = try addresses.child("hostname")?.nonEmptyString()
        }
        if let reader = child("kubeletPort") { result.kubeletPort = try reader.int(in: 1...65535) }
        if let reader = child("operatingSystem") { result.operatingSystem = try reader.nonEmptyString() }
        if let reader = child("architecture") { result.architecture = try reader.nonEmptyString() }
        return result
    }

    func readNomad() throws(AgentError) -> AgentConfiguration.Nomad {
        _ = try mapping(allowing: ["address", "region", "namespace", "tokenFile", "tls", "datacenters", "nodePool", "nodeClass", "driver"])
        var result = AgentConfiguration.Nomad()
        if let reader = child("address") {
            let address = try reader.nonEmptyString()
            guard let url = URL(string: address), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw reader.fail("\"\(address)\" is not an http:// or https:// URL of a Nomad agent")
            }
            result.address = address
        }
        result.region = try child("region")?.nonEmptyString()
        result.namespace = try child("namespace")?.nonEmptyString()
        result.tokenFile = try child("tokenFile")?.nonEmptyString()
        if let tls = try child("tls")?.mapping(allowing: ["caFile", "certFile", "keyFile", "serverName", "insecureSkipVerify"]) {
            result.tls.caFile = try tls.child("caFile")?.nonEmptyString()
            result.tls.certFile = try tls.child("certFile")?.nonEmptyString()
            result.tls.keyFile = try tls.child("keyFile")?.nonEmptyString()
            result.tls.serverName = try tls.child("serverName")?.nonEmptyString()
            result.tls.insecureSkipVerify = try tls.child("insecureSkipVerify")?.bool() ?? false
            if (result.tls.certFile == nil) != (result.tls.keyFile == nil) {
                throw tls.fail("certFile and keyFile go together: set both or neither")
            }
        }
        if let reader = child("datacenters") {
            result.datacenters = try reader.stringList()
            if result.datacenters.isEmpty { throw reader.fail("list at least one datacenter") }
        }
        result.nodePool = try child("nodePool")?.nonEmptyString()
        result.nodeClass = try child("nodeClass")?.nonEmptyString()
        if let reader = child("driver") {
            let driver = try reader.nonEmptyString()
            guard ["raw_exec", "exec"].contains(driver) else { throw reader.fail("unsupported driver \"\(driver)\"; use raw_exec or exec") }
            result.driver = driver
        }
        return result
    }

    func readTimings() throws(AgentError) -> AgentConfiguration.Timings {
        _ = try mapping(allowing: ["leaseRenewInterval", "leaseDuration", "statusUpdateInterval", "orphanGrace", "resyncInterval"])
        var result = AgentConfiguration.Timings()
        if let reader = child("leaseRenewInterval") { result.leaseRenewInterval = try reader.duration() }
        if let reader = child("leaseDuration") { result.leaseDuration = try reader.duration() }
        if let reader = child("statusUpdateInterval") { result.statusUpdateInterval = try reader.duration() }
        if let reader = child("orphanGrace") { result.orphanGrace = try reader.duration() }
        if let reader = child("resyncInterval") { result.resyncInterval = try reader.duration() }
        if result.leaseDuration <= result.leaseRenewInterval {
            if let reader = child("leaseDuration") {
                throw reader.fail("must be longer than timings.leaseRenewInterval, or the Lease expires between renewals")
            }
            throw (child("leaseRenewInterval") ?? self).fail("must be shorter than timings.leaseDuration (default 40s), or the Lease expires between renewals")
        }
        if result.statusUpdateInterval > .seconds(60) {
            throw (child("statusUpdateInterval") ?? self).fail("must be at most 1m: the node lifecycle controller expects a status at least every minute")
        }
        return result
    }

    static func isDNSSubdomain(_ name: String) -> Bool {
        guard name.count <= 253, let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
    }
}

/// Go-style duration text (`1h30m`, `10s`, `250ms`).
enum DurationText {
    /// Parses a duration; `nil` when the text is not one.
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.isEmpty { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let seconds: Double
            switch unit {
            case "ms": seconds = number / 1000
            case "s": seconds = number
            case "m": seconds = number * 60
            case "h": seconds = number * 3600
            default: return nil
            }
            total += .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return total
    }
}
