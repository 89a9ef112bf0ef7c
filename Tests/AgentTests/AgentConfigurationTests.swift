import Agent
import Foundation
import KubernetesModels
import Logging
import Testing

@Suite("Agent configuration")
struct AgentConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The problems `yaml` has, as printed.
    static func problems(_ yaml: String, environment: [String: String] = [:], overrides: [String] = []) -> [String] {
        do {
            _ = try ConfigurationLoader(environment: environment, overrides: overrides).parse(yaml: yaml, file: "agent.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test("a minimal file gets the documented defaults")
    func minimalDefaults() throws {
        let configuration = try AgentConfiguration.parse(yaml: "node:\n  name: vk-nomad\n")
        #expect(configuration.node.name == "vk-nomad")
        #expect(configuration.node.taints == [AgentConfiguration.defaultTaint])
        #expect(configuration.kubeletServer.port == 10250)
        #expect(configuration.kubeletServer.address == "0.0.0.0")
        #expect(configuration.kubeletServer.tls.source == .selfSigned)
        #expect(configuration.kubeletServer.authorization == .webhook)
        #expect(configuration.kubeletServer.anonymousAuth == false)
        #expect(configuration.nomad.address == "http://127.0.0.1:4646")
        #expect(configuration.nomad.namespace == "default")
        #expect(configuration.nomad.driver == "raw_exec")
        #expect(configuration.nomad.allowedDrivers == ["raw_exec", "exec"])
        #expect(configuration.policy == AgentConfiguration.Policy(hostPathRoots: [], allowPrivileged: false, defaultUser: "nobody"))
        #expect(configuration.storage.storageClassName == "nomad-local")
        #expect(configuration.storage.rootDirectory == "/var/lib/nomad-kubelet/volumes")
        #expect(configuration.timings.leaseRenewInterval == .seconds(10))
        #expect(configuration.timings.statusUpdateInterval == .seconds(60))
        #expect(configuration.logging.level == .info)
        #expect(configuration.logging.format == .text)
        #expect(configuration.metrics.enabled)
    }

    @Test("the shipped example parses with every key set")
    func shippedExample() throws {
        let configuration = try AgentConfiguration.load(path: Self.repository.appendingPathComponent("examples/agent-config.yaml").path)
        #expect(configuration.node.name == "vk-nomad")
        #expect(configuration.node.labels["topology.example.com/site"] == "gateway-1")
        #expect(configuration.node.capacity["pods"]?.value == 110)
        #expect(configuration.nomad.datacenters == ["dc1", "dc2"])
        #expect(configuration.nomad.namespaces == ["databases": "storage"])
        #expect(configuration.nomad.nomadNamespace(forKubernetesNamespace: "databases") == "storage")
        #expect(configuration.nomad.nomadNamespace(forKubernetesNamespace: "web") == "default")
        #expect(configuration.kubeletServer.tls.source == .files)
        #expect(configuration.kubeletServer.clientCAFile == "/etc/kubernetes/pki/ca.crt")
        #expect(configuration.policy.hostPathRoots == ["/srv/data"])
        #expect(configuration.timings.orphanGrace == .seconds(300))
        #expect(configuration.timings.resyncInterval == .seconds(3600))
        #expect(configuration.logging.format == .json)
        #expect(configuration.metrics.enabled)
    }

    @Test("the example sets every key of the table")
    func exampleSetsEveryKey() throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("examples/agent-config.yaml"), encoding: .utf8)
        let configuration = try AgentConfiguration.parse(yaml: text)
        let unset = AgentConfiguration.keys.filter { $0.value(in: configuration) == nil }.map(\.path)
        #expect(unset == [], "examples/agent-config.yaml leaves these keys unset")
    }

    @Test("the packaged template parses, and needs only node.name")
    func template() throws {
        let template = ConfigurationReference.template()
        #expect(Self.problems(template).count == 1)
        #expect(Self.problems(template).first?.contains("node.name: required") == true)
        let configuration = try AgentConfiguration.parse(yaml: template.replacingOccurrences(of: "# name: vk-nomad", with: "name: vk-nomad"))
        #expect(configuration == AgentConfiguration(node: .init(name: "vk-nomad")))
        for key in AgentConfiguration.keys {
            let name = key.path.split(separator: ".").last ?? ""
            #expect(template.contains("# \(name):"), "the template shows \(key.path)")
        }
    }

    @Test("durations are read Go-style", arguments: [("10s", Duration.seconds(10)), ("1m30s", .seconds(90)), ("250ms", .milliseconds(250)), ("1h", .seconds(3600))])
    func durations(text: String, expected: Duration) throws {
        let configuration = try AgentConfiguration.parse(yaml: "node: {name: a}\ntimings:\n  orphanGrace: \(text)\n")
        #expect(configuration.timings.orphanGrace == expected)
    }

    @Test("each kind of problem is reported with its location, key path and what to do", arguments: [
        // Unknown keys, with a suggestion.
        ("node: {name: a, lables: {}}\n", "agent.yaml:1: node.lables: unknown key; did you mean node.labels?"),
        ("node:\n  name: a\n  kubeletPort: 10250\n", "agent.yaml:3: node.kubeletPort: unknown key: it moved to kubeletServer.port; write it there"),
        ("node: {name: a}\naddress: x\n", "agent.yaml:2: address: unknown key here; did you mean nomad.address or kubeletServer.address?"),
        ("node: {name: a}\nnomda: {}\n", "agent.yaml:2: nomda: unknown key; did you mean nomad?"),
        ("node: {name: a}\nnomad: {tls: {bogusSetting: 1}}\n", "agent.yaml:2: nomad.tls.bogusSetting: unknown key; known keys here are caFile, certFile, insecureSkipVerify, keyFile, serverName"),
        // Wrong shapes and types.
        ("- a\n", "agent.yaml:1: (top level): expected a mapping (key: value lines)"),
        ("node: {name: a}\nnomad: [x]\n", "agent.yaml:2: nomad: expected a mapping (key: value lines)"),
        ("node: {name: [a]}\n", "agent.yaml:1: node.name: expected a text value"),
        ("node: {name: a}\nmetrics: {enabled: maybe}\n", "agent.yaml:2: metrics.enabled: expected true or false"),
        ("node: {name: a}\nkubeletServer: {port: high}\n", "agent.yaml:2: kubeletServer.port: expected a whole number"),
        ("node: {name: a}\nkubeletServer: {port: 70000}\n", "agent.yaml:2: kubeletServer.port: 70000 is out of range 1...65535"),
        ("node: {name: a}\nnomad: {datacenters: dc1}\n", "agent.yaml:2: nomad.datacenters: expected a list ([a, b] or one \"- item\" per line)"),
        ("node: {name: a}\nnomad: {datacenters: []}\n", "agent.yaml:2: nomad.datacenters: list at least one datacenter"),
        ("node: {name: a, labels: [x]}\n", "agent.yaml:1: node.labels: expected a mapping (key: value lines, or {key: value})"),
        ("node: {name: a}\ntimings: {orphanGrace: soon}\n", "agent.yaml:2: timings.orphanGrace: expected a duration such as 500ms, 10s, 1m30s or 1h"),
        ("node: {name: a}\ntimings: {orphanGrace: 0s}\n", "agent.yaml:2: timings.orphanGrace: must be longer than zero"),
        ("node: {name: ''}\n", "agent.yaml:1: node.name: must not be empty"),
        // Values.
        ("node: {name: Bad_Name}\n", "agent.yaml:1: node.name: \"Bad_Name\" is not a valid Node name: use lower-case letters, digits, '-' and '.', at most 253 characters"),
        ("node: {name: a, labels: {node-restriction.kubernetes.io/pool: x}}\n",
         "agent.yaml:1: node.labels.node-restriction.kubernetes.io/pool: a node identity may not set labels under node-restriction.kubernetes.io/ (NodeRestriction refuses them); choose another prefix"),
        ("node: {name: a, taints: [{key: k, effect: Sometimes}]}\n", "agent.yaml:1: node.taints[0].effect: unknown effect \"Sometimes\"; use NoSchedule, PreferNoSchedule or NoExecute"),
        ("node: {name: a, taints: [{key: k}]}\n", "agent.yaml:1: node.taints[0]: effect is required (NoSchedule, PreferNoSchedule or NoExecute)"),
        ("node: {name: a, capacity: {cpu: lots}}\n", "agent.yaml:1: node.capacity.cpu: \"lots\" is not a Kubernetes quantity (examples: 16, 500m, 64Gi)"),
        ("node: {name: a, capacity: {gpu: 1}}\n", "agent.yaml:1: node.capacity.gpu: unknown resource; use cpu, memory, ephemeral-storage or pods"),
        ("node: {name: a}\nnomad: {address: 'ftp://x'}\n", "agent.yaml:2: nomad.address: \"ftp://x\" is not an http:// or https:// URL of a Nomad agent"),
        ("node: {name: a}\nnomad: {driver: docker}\n", "agent.yaml:2: nomad.driver: unsupported driver \"docker\"; use raw_exec or exec"),
        ("node: {name: a}\nnomad: {allowedDrivers: [exec, java]}\n", "agent.yaml:2: nomad.allowedDrivers[1]: unsupported driver \"java\"; pseudo-containers run with raw_exec or exec"),
        ("node: {name: a}\nkubeletServer: {address: localhost}\n", "agent.yaml:2: kubeletServer.address: \"localhost\" is not an IPv4 or IPv6 address (use 0.0.0.0 or :: for all)"),
        ("node: {name: a}\nkubeletServer: {authorization: none}\n", "agent.yaml:2: kubeletServer.authorization: unknown value \"none\"; use one of webhook, alwaysAllow"),
        ("node: {name: a}\nlogging: {level: loud}\n", "agent.yaml:2: logging.level: unknown value \"loud\"; use one of trace, debug, info, notice, warning, error, critical"),
        ("node: {name: a}\nlogging: {format: xml}\n", "agent.yaml:2: logging.format: unknown value \"xml\"; use one of text, json"),
        ("node: {name: a}\npolicy: {hostPathRoots: [data]}\n", "agent.yaml:2: policy.hostPathRoots[0]: \"data\" is not an absolute path; write it from /"),
        ("node: {name: a}\nstorage: {rootDirectory: volumes}\n", "agent.yaml:2: storage.rootDirectory: \"volumes\" is not an absolute path; write it from /"),
        // Rules across keys.
        ("nomad: {}\n", "agent.yaml: node.name: required: the Node's name (the node identity is system:node:<name>); set it in the file, with NOMAD_KUBELET_NODE_NAME or with --node-name"),
        ("node: {name: a}\nkubernetes: {kubeconfig: /k, inCluster: true}\n", "agent.yaml:2: kubernetes.inCluster: set either kubernetes.kubeconfig or kubernetes.inCluster: true, not both"),
        ("node: {name: a}\nnomad: {tls: {certFile: /c}}\n", "agent.yaml:2: nomad.tls.certFile: certFile and keyFile go together: set both or neither"),
        ("node: {name: a}\nnomad: {driver: exec, allowedDrivers: [raw_exec]}\n",
         "agent.yaml:2: nomad.driver: \"exec\" is not in nomad.allowedDrivers (raw_exec); add it there or choose one of those"),
        ("node: {name: a}\nkubeletServer: {tls: {source: files, keyFile: /k}}\n", "agent.yaml: kubeletServer.tls.certFile: required when kubeletServer.tls.source is files"),
        ("node: {name: a}\nkubeletServer: {tls: {certFile: /c}}\n",
         "agent.yaml:2: kubeletServer.tls.certFile: only used with kubeletServer.tls.source: files (it is selfSigned); set source: files or remove the file"),
        ("node: {name: a}\ntimings: {leaseRenewInterval: 50s}\n", "agent.yaml:2: timings.leaseRenewInterval: must be shorter than timings.leaseDuration (default 40s), or the Lease expires between renewals"),
        ("node: {name: a}\ntimings: {leaseDuration: 5s}\n", "agent.yaml:2: timings.leaseDuration: must be longer than timings.leaseRenewInterval, or the Lease expires between renewals"),
        ("node: {name: a}\ntimings: {statusUpdateInterval: 5m}\n", "agent.yaml:2: timings.statusUpdateInterval: must be at most 1m: the node lifecycle controller expects a status at least every minute"),
    ])
    func problem(yaml: String, expected: String) {
        #expect(Self.problems(yaml) == [expected])
    }

    @Test("every problem is reported at once, in file order, and the error lists them one per line")
    func allProblemsAtOnce() {
        let yaml = "node:\n  name: Bad_Name\n  lables: {}\nnomad:\n  driver: docker\nlogging: {level: loud}\n"
        #expect {
            _ = try AgentConfiguration.parse(yaml: yaml, file: "agent.yaml")
        } throws: { error in
            guard let error = error as? AgentError, error.kind == .invalidConfiguration else { return false }
            return error.problems.map(\.keyPath) == ["node.name", "node.lables", "nomad.driver", "logging.level"]
                && error.description.split(separator: "\n").count == 4
        }
    }

    @Test("an unreadable file and invalid YAML are reported with the file")
    func unreadable() {
        #expect {
            _ = try AgentConfiguration.load(path: "/nonexistent/agent.yaml")
        } throws: { error in
            (error as? AgentError)?.kind == .unreadableConfiguration && "\(error)".hasPrefix("cannot read the configuration /nonexistent/agent.yaml:")
                && "\(error)".hasSuffix("pass an existing file to --config")
        }
        #expect {
            _ = try AgentConfiguration.parse(yaml: "node: {name: a\n", file: "agent.yaml")
        } throws: { error in
            (error as? AgentError)?.kind == .unreadableConfiguration && "\(error)".hasPrefix("cannot read the configuration agent.yaml: not valid YAML:")
        }
    }

    @Test("environment variables override the file; their problems name the variable")
    func environmentOverrides() throws {
        let environment = [
            "NOMAD_KUBELET_NOMAD_ADDRESS": "https://nomad.example:4646",
            "NOMAD_KUBELET_NOMAD_DATACENTERS": "[dc2, dc3]",
            "NOMAD_KUBELET_NODE_ADDRESSES_INTERNAL_IP": "10.1.2.3",
            "NOMAD_KUBELET_KUBELET_SERVER_CLIENT_CA_FILE": "/etc/ca.pem",
            "NOMAD_KUBELET_TIMINGS_ORPHAN_GRACE": "1m",
            "NOMAD_KUBELET_E2E": "1",
            "NOMAD_KUBELET_E2E_NODE_KUBECONFIG": "/x",
            "NOMAD_KUBELET_NOMAD_ADRESS": "x",
            "OTHER": "ignored",
        ]
        let loaded = try ConfigurationLoader(environment: environment).parse(yaml: "node: {name: a}\nnomad: {address: 'http://x:1'}\n")
        #expect(loaded.configuration.nomad.address == "https://nomad.example:4646")
        #expect(loaded.configuration.nomad.datacenters == ["dc2", "dc3"])
        #expect(loaded.configuration.node.addresses.internalIP == "10.1.2.3")
        #expect(loaded.configuration.kubeletServer.clientCAFile == "/etc/ca.pem")
        #expect(loaded.configuration.timings.orphanGrace == .seconds(60))
        #expect(loaded.warnings == ["ignoring the environment variable NOMAD_KUBELET_NOMAD_ADRESS: no configuration key has that name; did you mean NOMAD_KUBELET_NOMAD_ADDRESS?"])
        #expect(Self.problems("node: {name: a}\n", environment: ["NOMAD_KUBELET_KUBELET_SERVER_PORT": "0"]) == [
            "$NOMAD_KUBELET_KUBELET_SERVER_PORT: kubeletServer.port: 0 is out of range 1...65535"
        ])
    }

    @Test("every key has a distinct environment variable in upper snake case")
    func environmentNames() {
        let names = AgentConfiguration.keys.map(\.environmentVariable)
        #expect(Set(names).count == names.count)
        let byPath = Dictionary(uniqueKeysWithValues: AgentConfiguration.keys.map { ($0.path, $0.environmentVariable) })
        #expect(byPath["nomad.address"] == "NOMAD_KUBELET_NOMAD_ADDRESS")
        #expect(byPath["nomad.tls.insecureSkipVerify"] == "NOMAD_KUBELET_NOMAD_TLS_INSECURE_SKIP_VERIFY")
        #expect(byPath["kubeletServer.clientCAFile"] == "NOMAD_KUBELET_KUBELET_SERVER_CLIENT_CA_FILE")
        #expect(byPath["node.addresses.internalIP"] == "NOMAD_KUBELET_NODE_ADDRESSES_INTERNAL_IP")
        #expect(!names.contains { $0 == "NOMAD_KUBELET_E2E" || $0.hasPrefix("NOMAD_KUBELET_E2E_") })
    }

    @Test("--set overrides win over the environment and the file")
    func flagOverrides() throws {
        let loaded = try ConfigurationLoader(
            environment: ["NOMAD_KUBELET_NODE_NAME": "from-env"], overrides: ["node.name=from-flag", "nomad.namespaces={web: frontend}", "policy.allowPrivileged=true"]
        ).parse(yaml: "node: {name: from-file}\n")
        #expect(loaded.configuration.node.name == "from-flag")
        #expect(loaded.configuration.nomad.namespaces == ["web": "frontend"])
        #expect(loaded.configuration.policy.allowPrivileged)
        #expect(Self.problems("node: {name: a}\n", overrides: ["nomad.adress=x", "nomad.address", "nomd.driver=exec"]) == [
            "--set: nomad.adress: unknown key; did you mean nomad.address?",
            "--set: nomad.address: expected key.path=value (e.g. --set nomad.address=http://nomad:4646)",
            "--set: nomd.driver: unknown key: there is no section nomd; did you mean nomad?",
        ])
    }
}
