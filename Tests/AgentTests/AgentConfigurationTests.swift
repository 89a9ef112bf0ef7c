import Agent
import Foundation
import KubernetesModels
import Testing

@Suite("Agent configuration")
struct AgentConfigurationTests {
    @Test("a minimal file gets the documented defaults")
    func minimalDefaults() throws {
        let configuration = try AgentConfiguration.parse(yaml: "node:\n  name: vk-nomad\n")
        #expect(configuration.node.name == "vk-nomad")
        #expect(configuration.node.taints == [AgentConfiguration.defaultTaint])
        #expect(configuration.node.kubeletPort == 10250)
        #expect(configuration.nomad.address == "http://127.0.0.1:4646")
        #expect(configuration.nomad.driver == "raw_exec")
        #expect(configuration.timings.leaseRenewInterval == .seconds(10))
        #expect(configuration.timings.statusUpdateInterval == .seconds(60))
        #expect(configuration.logLevel == "info")
    }

    @Test("the shipped example parses with every key set")
    func shippedExample() throws {
        let path = #filePath.replacingOccurrences(of: "Tests/AgentTests/AgentConfigurationTests.swift", with: "examples/agent-config.yaml")
        let configuration = try AgentConfiguration.load(path: path)
        #expect(configuration.node.name == "vk-nomad")
        #expect(configuration.node.labels["topology.example.com/site"] == "gateway-1")
        #expect(configuration.node.capacity["pods"]?.value == 110)
        #expect(configuration.nomad.datacenters == ["dc1", "dc2"])
        #expect(configuration.timings.orphanGrace == .seconds(300))
        #expect(configuration.timings.resyncInterval == .seconds(3600))
        #expect(configuration.logLevel == "info")
    }

    @Test("durations are read Go-style", arguments: [("10s", Duration.seconds(10)), ("1m30s", .seconds(90)), ("250ms", .milliseconds(250)), ("1h", .seconds(3600))])
    func durations(text: String, expected: Duration) throws {
        let configuration = try AgentConfiguration.parse(yaml: "node: {name: a}\ntimings:\n  orphanGrace: \(text)\n")
        #expect(configuration.timings.orphanGrace == expected)
    }

    @Test(
        "invalid values are refused naming the key path",
        arguments: [
            ("nomad: {}\n", "node"),
            ("node: {name: Bad_Name}\n", "node.name"),
            ("node: {name: a, lables: {}}\n", "node.lables"),
            ("node: {name: a, taints: [{key: k, effect: Sometimes}]}\n", "node.taints[0].effect"),
            ("node: {name: a, kubeletPort: 70000}\n", "node.kubeletPort"),
            ("node: {name: a, capacity: {cpu: lots}}\n", "node.capacity.cpu"),
            ("node: {name: a, labels: {node-restriction.kubernetes.io/pool: x}}\n", "node.labels.node-restriction.kubernetes.io/pool"),
            ("node: {name: a}\nnomad: {address: 'ftp://x'}\n", "nomad.address"),
            ("node: {name: a}\nnomad: {driver: docker}\n", "nomad.driver"),
            ("node: {name: a}\nnomad: {tls: {certFile: /c}}\n", "nomad.tls"),
            ("node: {name: a}\ntimings: {leaseRenewInterval: soon}\n", "timings.leaseRenewInterval"),
            ("node: {name: a}\ntimings: {leaseRenewInterval: 50s}\n", "timings.leaseRenewInterval"),
            ("node: {name: a}\ntimings: {leaseDuration: 5s}\n", "timings.leaseDuration"),
            ("node: {name: a}\ntimings: {statusUpdateInterval: 5m}\n", "timings.statusUpdateInterval"),
            ("node: {name: a}\nlogging: {level: loud}\n", "logging.level"),
            ("node: {name: a}\nkubernetes: {kubeconfig: /k, inCluster: true}\n", "kubernetes"),
        ])
    func invalid(yaml: String, keyPath: String) {
        #expect {
            _ = try AgentConfiguration.parse(yaml: yaml, file: "agent.yaml")
        } throws: { error in
            guard let error = error as? AgentError else { return false }
            return error.kind == .invalidConfiguration && error.keyPath == keyPath && error.description.contains("agent.yaml") && error.description.contains(keyPath)
        }
    }

    @Test("a missing file is reported with its path")
    func missingFile() {
        #expect {
            _ = try AgentConfiguration.load(path: "/nonexistent/agent.yaml")
        } throws: { error in
            (error as? AgentError)?.kind == .unreadableConfiguration && "\(error)".contains("/nonexistent/agent.yaml")
        }
    }
}
