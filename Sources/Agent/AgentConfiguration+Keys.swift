import Foundation
import KubernetesModels
import Logging
import Yams

extension ConfigurationKey {
    typealias Path<T> = any WritableKeyPath<AgentConfiguration, T> & Sendable

    static func text(
        _ path: String, _ keyPath: Path<String>, default defaultDescription: String? = nil, example: String? = nil, _ summary: String,
        check: @escaping @Sendable (String, ConfigValue) throws(ConfigurationProblem) -> Void = { (_: String, _: ConfigValue) throws(ConfigurationProblem) in }
    ) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "string", default: defaultDescription, example: example, summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in
                let text = try value.nonEmptyText()
                try check(text, value)
                return text
            }, show: { YAMLFlow.text($0) })
    }

    static func optionalText(_ path: String, _ keyPath: Path<String?>, default defaultDescription: String? = nil, example: String? = nil, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "string", default: defaultDescription, example: example, summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.nonEmptyText() }, show: { $0.map(YAMLFlow.text) })
    }

    static func file(_ path: String, _ keyPath: Path<String?>, default defaultDescription: String? = nil, example: String, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "file path", default: defaultDescription, example: example, summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.nonEmptyText() }, show: { $0.map(YAMLFlow.text) })
    }

    static func bool(_ path: String, _ keyPath: Path<Bool>, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "boolean", summary, parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.bool() }, show: { "\($0)" })
    }

    static func port(_ path: String, _ keyPath: Path<Int>, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "integer (1-65535)", summary, parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.int(in: 1...65535) },
            show: { "\($0)" })
    }

    static func duration(_ path: String, _ keyPath: Path<Duration>, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "duration", summary, parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.duration() },
            show: { YAMLFlow.duration($0) })
    }

    static func choice<T: RawRepresentable & CaseIterable & Sendable>(_ path: String, _ keyPath: Path<T>, _ summary: String) -> ConfigurationKey
    where T.RawValue == String {
        ConfigurationKey(
            path, keyPath, type: T.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "), summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.choice(T.self) }, show: { $0.rawValue })
    }

    static func textList(
        _ path: String, _ keyPath: Path<[String]>, example: String? = nil, _ summary: String,
        check: @escaping @Sendable ([String], ConfigValue) throws(ConfigurationProblem) -> [String] = { (list: [String], _: ConfigValue) throws(ConfigurationProblem) in list }
    ) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "list of strings", example: example, summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try check(try value.textList(), value) }, show: { YAMLFlow.list($0) })
    }

    static func textMap(_ path: String, _ keyPath: Path<[String: String]>, example: String, _ summary: String) -> ConfigurationKey {
        ConfigurationKey(
            path, keyPath, type: "map of strings", example: example, summary,
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.textMap() }, show: { $0.isEmpty ? nil : YAMLFlow.map($0) })
    }
}

extension AgentConfiguration {
    /// Keys that moved: old path → new path (an old one in a file is an error that says where it went).
    static let movedKeys = ["node.kubeletPort": "kubeletServer.port"]

    /// The reserved environment variables of the test suite, never read as configuration.
    static func isReservedEnvironmentVariable(_ name: String) -> Bool {
        name == "NOMAD_KUBELET_E2E" || name.hasPrefix("NOMAD_KUBELET_E2E_")
    }

    /// Every configuration key, in documentation order: the single source of the parser, the
    /// environment variables, docs/configuration.md and the packaged config.yaml.
    public static let keys: [ConfigurationKey] = [
        // kubernetes
        .file(
            "kubernetes.kubeconfig", \.kubernetes.kubeconfig, default: "`$KUBECONFIG`, then `~/.kube/config`", example: "/etc/nomad-kubelet/kubeconfig",
            "Kubeconfig to use. Give the agent a node identity: a client certificate for `system:node:<node.name>` in group `system:nodes`."),
        .optionalText("kubernetes.context", \.kubernetes.context, default: "current context", "Context of the kubeconfig."),
        .bool("kubernetes.inCluster", \.kubernetes.inCluster, "Use the service account mounted into the pod instead of a kubeconfig. Not together with `kubeconfig`."),

        // node
        .text(
            "node.name", \.node.name, default: "(required)", example: "vk-nomad", "Name of the virtual Node (a DNS subdomain).",
            check: { (name: String, value: ConfigValue) throws(ConfigurationProblem) in
                if !isDNSSubdomain(name) {
                    throw value.problem("\"\(name)\" is not a valid Node name: use lower-case letters, digits, '-' and '.', at most 253 characters")
                }
            }),
        ConfigurationKey(
            "node.labels", \.node.labels, type: "map of strings", example: "{topology.example.com/site: gateway-1}",
            "Labels added to `type=virtual-kubelet`, `kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch`. NodeRestriction refuses most under `kubernetes.io/` and all under `node-restriction.kubernetes.io/`.",
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in
                var labels: [String: String] = [:]
                for (key, entry) in try value.map() {
                    let standard = ["kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch"].contains(key)
                    if key.hasPrefix("node-restriction.kubernetes.io/") || key.hasPrefix("kubernetes.io/") && !standard {
                        let prefix = key.hasPrefix("node-") ? "node-restriction.kubernetes.io/" : "kubernetes.io/"
                        throw entry.problem("a node identity may not set labels under \(prefix) (NodeRestriction refuses them); choose another prefix")
                    }
                    labels[key] = try entry.text()
                }
                return labels
            }, show: { $0.isEmpty ? nil : YAMLFlow.map($0) }),
        ConfigurationKey(
            "node.taints", \.node.taints, type: "list of taints",
            "Taints set when the Node is created (`key`, `value`, `effect`: `NoSchedule`, `PreferNoSchedule`, `NoExecute`). A node identity may not change taints later; edit them as an admin.",
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in
                var taints: [Taint] = []
                for element in try value.list() {
                    var key: String?
                    var taintValue: String?
                    var effect: String?
                    for (name, field) in try element.map() {
                        switch name {
                        case "key": key = try field.nonEmptyText()
                        case "value": taintValue = try field.text()
                        case "effect":
                            let text = try field.text()
                            guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(text) else {
                                throw field.problem("unknown effect \"\(text)\"; use NoSchedule, PreferNoSchedule or NoExecute")
                            }
                            effect = text
                        default: throw field.problem("unknown key; a taint has key, value and effect")
                        }
                    }
                    guard let key else { throw element.problem("key is required") }
                    guard let effect else { throw element.problem("effect is required (NoSchedule, PreferNoSchedule or NoExecute)") }
                    taints.append(Taint(key: key, value: taintValue, effect: effect))
                }
                return taints
            },
            show: { taints in
                "[" + taints.map { taint in
                    "{key: \(YAMLFlow.text(taint.key))" + (taint.value.map { ", value: \(YAMLFlow.text($0))" } ?? "") + ", effect: \(taint.effect)}"
                }.joined(separator: ", ") + "]"
            }),
        ConfigurationKey(
            "node.capacity", \.node.capacity, type: "map of quantities", default: "computed", example: "{pods: 110}",
            "Fixed `cpu`, `memory`, `ephemeral-storage`, `pods`. Keys left out are computed from the eligible, ready Nomad clients (see the `nomad.*` filters); `pods` defaults to 110 per client.",
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in
                var capacity: [String: Quantity] = [:]
                for (key, entry) in try value.map() {
                    guard ["cpu", "memory", "ephemeral-storage", "pods"].contains(key) else {
                        throw entry.problem("unknown resource; use cpu, memory, ephemeral-storage or pods")
                    }
                    let text: String
                    if let number = entry.node.int { text = String(number) } else { text = try entry.text() }
                    guard let quantity = try? Quantity(text) else { throw entry.problem("\"\(text)\" is not a Kubernetes quantity (examples: 16, 500m, 64Gi)") }
                    capacity[key] = quantity
                }
                return capacity
            }, show: { $0.isEmpty ? nil : YAMLFlow.map($0.mapValues { $0.description }) }),
        .text(
            "node.addresses.internalIP", \.node.addresses.internalIP,
            "The `InternalIP` address; the API server reaches the kubelet endpoint (logs, exec) there."),
        .optionalText("node.addresses.hostname", \.node.addresses.hostname, default: "`node.name`", "The `Hostname` address."),
        .text("node.operatingSystem", \.node.operatingSystem, "`kubernetes.io/os` and `nodeInfo.operatingSystem`."),
        .text(
            "node.architecture", \.node.architecture, default: "this host's",
            "`kubernetes.io/arch` and `nodeInfo.architecture` (`amd64`, `arm64`)."),

        // nomad
        .text(
            "nomad.address", \.nomad.address, "HTTP API of a Nomad agent (`http://` or `https://`).",
            check: { (address: String, value: ConfigValue) throws(ConfigurationProblem) in
                guard let url = URL(string: address), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                    throw value.problem("\"\(address)\" is not an http:// or https:// URL of a Nomad agent")
                }
            }),
        .optionalText("nomad.region", \.nomad.region, default: "agent's region", example: "global", "Region of the jobs."),
        .text("nomad.namespace", \.nomad.namespace, "Nomad namespace of the jobs of pods whose Kubernetes namespace is not in `nomad.namespaces`."),
        .textMap(
            "nomad.namespaces", \.nomad.namespaces, example: "{databases: storage}",
            "Kubernetes namespace → Nomad namespace for the jobs of that namespace's pods. Not honoured yet: all jobs go to `nomad.namespace` (a warning is logged at start)."),
        .file(
            "nomad.tokenFile", \.nomad.tokenFile, example: "/etc/nomad-kubelet/nomad-token",
            "File holding the ACL token (see docs/install.md for the policy). The token never goes in this file and is never logged."),
        .file("nomad.tls.caFile", \.nomad.tls.caFile, example: "/etc/nomad-kubelet/nomad-ca.pem", "PEM CA bundle that verifies Nomad's certificate."),
        .file("nomad.tls.certFile", \.nomad.tls.certFile, example: "/etc/nomad-kubelet/nomad-client.pem", "PEM client certificate for Nomad's mTLS; with `keyFile`."),
        .file("nomad.tls.keyFile", \.nomad.tls.keyFile, example: "/etc/nomad-kubelet/nomad-client-key.pem", "PEM private key of `certFile`."),
        .optionalText(
            "nomad.tls.serverName", \.nomad.tls.serverName, default: "from the address", example: "server.global.nomad",
            "Name checked in Nomad's certificate (Nomad's own are issued for `server.<region>.nomad`)."),
        .bool("nomad.tls.insecureSkipVerify", \.nomad.tls.insecureSkipVerify, "Do not verify Nomad's certificate (tests only)."),
        .textList(
            "nomad.datacenters", \.nomad.datacenters, "Datacenters jobs may run in; only clients there count for capacity.",
            check: { (list: [String], value: ConfigValue) throws(ConfigurationProblem) in
                if list.isEmpty { throw value.problem("list at least one datacenter") }
                return list
            }),
        .optionalText("nomad.nodePool", \.nomad.nodePool, default: "all", example: "gateways", "Only clients of this node pool count (Nomad 1.6+)."),
        .optionalText("nomad.nodeClass", \.nomad.nodeClass, default: "all", example: "edge", "Only clients of this node class count."),
        .text(
            "nomad.driver", \.nomad.driver, "Task driver of pods that choose none: `raw_exec` or `exec`; must be in `nomad.allowedDrivers`.",
            check: { (driver: String, value: ConfigValue) throws(ConfigurationProblem) in
                guard supportedDrivers.contains(driver) else {
                    throw value.problem("unsupported driver \"\(driver)\"; use \(supportedDrivers.joined(separator: " or "))")
                }
            }),
        .textList(
            "nomad.allowedDrivers", \.nomad.allowedDrivers,
            "Drivers pods may run with (through their RuntimeClass, or an annotation when `policy.allowDriverOverride` is set).",
            check: { (list: [String], value: ConfigValue) throws(ConfigurationProblem) in
                for (index, driver) in list.enumerated() where !supportedDrivers.contains(driver) {
                    throw value.child("[\(index)]", value.node).problem(
                        "unsupported driver \"\(driver)\"; pseudo-containers run with \(supportedDrivers.joined(separator: " or "))")
                }
                if list.isEmpty { throw value.problem("allow at least one driver") }
                return list
            }),

        // kubeletServer
        .text(
            "kubeletServer.address", \.kubeletServer.address, "Address the kubelet API listens on.",
            check: { (address: String, value: ConfigValue) throws(ConfigurationProblem) in
                if !isIPAddress(address) { throw value.problem("\"\(address)\" is not an IPv4 or IPv6 address (use 0.0.0.0 or :: for all)") }
            }),
        .port(
            "kubeletServer.port", \.kubeletServer.port,
            "Port of the kubelet API, also the Node's `daemonEndpoints.kubeletEndpoint.Port` (the API server connects there for logs and exec)."),
        .choice(
            "kubeletServer.tls.source", \.kubeletServer.tls.source,
            "Serving certificate: `files` (`certFile`/`keyFile`), `csr` (a `kubernetes.io/kubelet-serving` CSR approved in the cluster) or `selfSigned` (the API server does not verify kubelets unless started with `--kubelet-certificate-authority`)."),
        .file("kubeletServer.tls.certFile", \.kubeletServer.tls.certFile, example: "/etc/nomad-kubelet/kubelet.pem", "PEM serving certificate (chain) when `source` is `files`."),
        .file("kubeletServer.tls.keyFile", \.kubeletServer.tls.keyFile, example: "/etc/nomad-kubelet/kubelet-key.pem", "PEM private key when `source` is `files`."),
        .file(
            "kubeletServer.clientCAFile", \.kubeletServer.clientCAFile, example: "/etc/kubernetes/pki/ca.crt",
            "CA bundle that verifies client certificates, such as the API server's `--kubelet-client-certificate`. Without it only bearer tokens authenticate (TokenReview)."),
        .bool("kubeletServer.anonymousAuth", \.kubeletServer.anonymousAuth, "Let requests without credentials in as `system:anonymous`."),
        .choice(
            "kubeletServer.authorization", \.kubeletServer.authorization,
            "`webhook`: a SubjectAccessReview per request, as a kubelet does (`nodes/proxy`, `nodes/log`, ...); `alwaysAllow`: every authenticated request."),

        // policy
        .textList(
            "policy.hostPathRoots", \.policy.hostPathRoots, example: "[/srv/data]", "Directories under which pods may mount `hostPath` volumes; none when empty.",
            check: { (list: [String], value: ConfigValue) throws(ConfigurationProblem) in
                for (index, root) in list.enumerated() where !root.hasPrefix("/") {
                    throw value.child("[\(index)]", value.node).problem("\"\(root)\" is not an absolute path; write it from /")
                }
                return list
            }),
        .bool("policy.allowPrivileged", \.policy.allowPrivileged, "Allow `securityContext.privileged` pods (their tasks run as root)."),
        .bool("policy.allowUnverifiedArtifacts", \.policy.allowUnverifiedArtifacts, "Allow artifacts (downloads) without a checksum."),
        .bool(
            "policy.allowDriverOverride", \.policy.allowDriverOverride, "Let a pod choose its driver (among `nomad.allowedDrivers`) by annotation."),
        .text("policy.defaultUser", \.policy.defaultUser, "Unix user tasks run as when the pod sets no `runAsUser`."),

        // storage
        .text("storage.storageClassName", \.storage.storageClassName, "StorageClass whose claims this node provisions as local volumes."),
        .text(
            "storage.rootDirectory", \.storage.rootDirectory, "Directory on the Nomad clients that holds the volumes.",
            check: { (path: String, value: ConfigValue) throws(ConfigurationProblem) in
                if !path.hasPrefix("/") { throw value.problem("\"\(path)\" is not an absolute path; write it from /") }
            }),

        // timings
        .duration("timings.leaseRenewInterval", \.timings.leaseRenewInterval, "How often the Node's Lease in `kube-node-lease` is renewed."),
        .duration("timings.leaseDuration", \.timings.leaseDuration, "`leaseDurationSeconds`; must exceed the renew interval."),
        .duration(
            "timings.statusUpdateInterval", \.timings.statusUpdateInterval,
            "Longest time between two NodeStatus updates (at most `1m`); changes are reported at once."),
        .duration("timings.orphanGrace", \.timings.orphanGrace, "A job of this node whose pod no longer exists is stopped after this grace (logged)."),
        .duration("timings.resyncInterval", \.timings.resyncInterval, "Full reconcile of every pod. Status is event-driven from Nomad; this is a safety net."),

        // logging
        ConfigurationKey(
            "logging.level", \.logging.level, type: Logger.Level.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "), "Lowest level logged.",
            parse: { (value: ConfigValue) throws(ConfigurationProblem) in try value.choice(Logger.Level.self) }, show: { $0.rawValue }),
        .choice("logging.format", \.logging.format, "`text` lines or one JSON object per line (on standard error; journald under systemd)."),

        // metrics
        .bool("metrics.enabled", \.metrics.enabled, "Serve Prometheus metrics at `/metrics` on the kubelet API."),
    ]

    /// The sections in documentation order.
    public static var sections: [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }

    static let keysByPath: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })
    static let keysByEnvironmentVariable: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.environmentVariable, $0) })
    /// Every path that holds other keys (`nomad`, `nomad.tls`).
    static let sectionPaths: Set<String> = Set(
        keys.flatMap { key in
            let parts = key.path.split(separator: ".")
            return (1..<parts.count).map { parts.prefix($0).joined(separator: ".") }
        })

    static func isDNSSubdomain(_ name: String) -> Bool {
        guard name.count <= 253, let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
