import Agent
import Foundation
import KubernetesClient
import Logging
import TestCleanup
import Testing
import TestSupport
import Yams

/// The manifests and the doctor agree with the code: the service-account ClusterRole grants exactly
/// the permissions `check` asks for, and `check` passes against the simulators.
@Suite("Packaging and check", .awaitsCleanup, .timeLimit(.minutes(2)))
struct PackagingTests {
    @Test("manifests/rbac-serviceaccount.yaml grants exactly the permissions the agent needs")
    func serviceAccountRole() throws {
        let text = try String(contentsOf: AgentConfigurationTests.repository.appendingPathComponent("manifests/rbac-serviceaccount.yaml"), encoding: .utf8)
        var granted: Set<String> = []
        for document in try Yams.load_all(yaml: text) {
            guard let object = document as? [String: Any], object["kind"] as? String == "ClusterRole" else { continue }
            for rule in object["rules"] as? [[String: Any]] ?? [] {
                for group in rule["apiGroups"] as? [String] ?? [] {
                    for resource in rule["resources"] as? [String] ?? [] {
                        for verb in rule["verbs"] as? [String] ?? [] { granted.insert("\(verb) \(group.isEmpty ? "" : "\(group)/")\(resource)") }
                    }
                }
            }
        }
        let needed = Set(AgentPermissions.required(nodeName: "vk", configuration: .defaults).map(\.description))
        #expect(granted == needed)
    }

    @Test("check passes against the simulators with a node identity")
    func doctorPasses() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        var configuration = harness.configuration
        configuration.kubeletServer.address = "127.0.0.1"
        configuration.kubeletServer.port = try freePort()
        let results = await AgentDoctor(configuration: configuration, logger: .init(label: "check")).run()
        let failed = results.filter { $0.outcome == .failed }
        #expect(failed == [], "failed checks")
        for name in ["kubernetes", "permissions", "nomad", "nomad clients", "driver raw_exec"] {
            #expect(results.contains { $0.name == name && $0.outcome == .passed }, "\(name) passed")
        }
    }

    @Test("check warns about a pod whose grace period exceeds Nomad's default max_kill_timeout")
    func graceWarning() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        _ = try await harness.admin.create(harness.pod("slow-stop", script: "sleep 300", grace: 120))
        var configuration = harness.configuration
        configuration.kubeletServer.address = "127.0.0.1"
        configuration.kubeletServer.port = try freePort()
        let results = await AgentDoctor(configuration: configuration, logger: .init(label: "check")).run()
        let warning = try #require(results.first { $0.name == "grace \(harness.namespace)/slow-stop" })
        #expect(warning.outcome == .warning && warning.detail.contains("120 s") && warning.fix?.contains("max_kill_timeout") == true)
    }

    @Test("check fails with a fix when Nomad is unreachable or the kubelet port is taken")
    func doctorFails() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        var configuration = harness.configuration
        configuration.nomad.address = "http://127.0.0.1:1"
        configuration.kubeletServer.address = "127.0.0.1"
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(listener, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        configuration.kubeletServer.port = Int(UInt16(bigEndian: address.sin_port))
        let results = await AgentDoctor(configuration: configuration, logger: .init(label: "check")).run()
        let nomad = try #require(results.first { $0.name == "nomad" })
        #expect(nomad.outcome == .failed && nomad.detail.hasPrefix("cannot reach http://127.0.0.1:1") && nomad.fix?.contains("nomad.address") == true)
        let port = try #require(results.first { $0.name.hasPrefix("kubelet port") })
        #expect(port.outcome == .failed && port.fix?.contains("kubeletServer.port") == true)
        #expect(results.contains { $0.name == "permissions" && $0.outcome == .passed })
    }

    private func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
