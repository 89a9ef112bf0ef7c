import Agent
import Foundation
import KubernetesClient
import KubernetesModels
import NIOCore
import NIOPosix
import NomadModels
import TestCleanup
import Testing
import TestSupport
import Translation

/// Init containers, probes, hooks and deadlines, end to end: the processes themselves record what
/// happened (files in the harness's work directory), the pod's status and Events tell the rest.
/// Against the simulators, or real servers with `NOMAD_KUBELET_E2E=1`.
@Suite("Pod runtime end to end: init containers, probes, hooks, deadline", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct PodRuntimeEndToEndTests {
    static func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func shell(_ name: String, _ script: String, restartPolicy: String? = nil) -> Container {
        Container(name: name, image: ImageResolver.hostImage, command: ["/bin/sh", "-c", script], restartPolicy: restartPolicy)
    }

    /// A free TCP port on the loopback (bound once by the OS, then released).
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 0
        try channel.close().wait()
        return port
    }

    func reasons(_ harness: AgentHarness, uid: String?) async throws -> [Event] {
        try await harness.admin.listAll(Event.self, namespace: harness.namespace).items.filter { $0.involvedObject.uid == uid }
    }

    @Test("init containers run one after another, a sidecar starts before the next and keeps running; Init:N/M progress is visible")
    func initContainersRunInOrder() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let log = harness.workDirectory.appendingPathComponent("order.log").path
        let gate = harness.workDirectory.appendingPathComponent("gate").path
        var pod = harness.pod("ordered", script: "echo main >> \(log); exec sleep 300", grace: 2)
        pod.spec?.initContainers = [
            Self.shell("first", "while [ ! -e \(gate) ]; do sleep 0.1; done; echo first >> \(log)"),
            Self.shell("proxy", "echo proxy >> \(log); exec sleep 300", restartPolicy: "Always"),
            Self.shell("second", "echo second >> \(log)"),
        ]
        _ = try await harness.admin.create(pod)
        // While `first` waits for the gate, the others wait too: kubectl prints Init:0/3.
        let initializing = try await harness.waitForPod("ordered", "first init container running, the rest waiting") { pod in
            let statuses = pod.status?.initContainerStatuses ?? []
            return statuses.count == 3 && statuses[0].state?.running != nil && statuses[1].state?.waiting?.reason == "PodInitializing"
                && statuses[2].state?.waiting?.reason == "PodInitializing"
        }
        #expect(initializing.status?.phase == "Pending")
        #expect(initializing.mainStatus?.state?.waiting?.reason == "PodInitializing")
        #expect(Self.lines(URL(fileURLWithPath: log)).isEmpty)
        FileManager.default.createFile(atPath: gate, contents: Data())
        let running = try await harness.waitForPod("ordered", "Running with every init container done") { pod in
            pod.status?.phase == "Running" && pod.mainStatus?.state?.running != nil
                && pod.status?.initContainerStatuses?[2].state?.terminated?.reason == "Completed"
        }
        try await eventually("the main container to write its line") { Self.lines(URL(fileURLWithPath: log)).count == 4 ? true : nil }
        // `second` starts once `proxy` has started, but, as with a kubelet (a sidecar without a
        // startupProbe counts as started when its process is), nothing orders proxy's first line
        // before second's: only first-before-both and main-last are guaranteed.
        let order = Self.lines(URL(fileURLWithPath: log))
        #expect(order.first == "first" && order.last == "main")
        #expect(Set(order.dropFirst().dropLast()) == ["proxy", "second"])
        let statuses = try #require(running.status?.initContainerStatuses)
        #expect(statuses.map(\.name) == ["first", "proxy", "second"])
        #expect(statuses[0].state?.terminated?.exitCode == 0)
        #expect(statuses[1].state?.running != nil && statuses[1].started == true && statuses[1].ready)
        #expect(running.status?.conditions?.first { $0.type == "Initialized" }?.status == "True")
    }

    @Test("readiness follows an HTTP endpoint both ways: 200 → Ready, 500 → not Ready with an Unhealthy event")
    func readinessFlipsReady() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let port = try Self.freePort()
        let healthy = harness.workDirectory.appendingPathComponent("healthy").path
        FileManager.default.createFile(atPath: healthy, contents: Data())
        let server = """
            import http.server, os, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200 if os.path.exists(sys.argv[2]) and self.path == "/ready" else 500)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            http.server.HTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
            """
        var pod = harness.pod("web", script: "", grace: 2)
        pod.spec?.containers[0].command = ["/usr/bin/python3", "-c", server, String(port), healthy]
        pod.spec?.containers[0].ports = [ContainerPort(name: "http", containerPort: port)]
        pod.spec?.containers[0].readinessProbe = Probe(httpGet: HTTPGetAction(path: "/ready", port: "http"), periodSeconds: 1, failureThreshold: 1)
        let created = try await harness.admin.create(pod)
        try await harness.waitForPod("web", "Ready") { $0.isReady && $0.mainStatus?.ready == true }
        try FileManager.default.removeItem(atPath: healthy)
        let unready = try await harness.waitForPod("web", "not Ready (ContainersNotReady) once the endpoint answers 500") {
            !$0.isReady && $0.status?.conditions?.first { $0.type == "ContainersReady" }?.reason == "ContainersNotReady"
        }
        #expect(unready.status?.phase == "Running")
        #expect(unready.mainStatus?.ready == false)
        try await eventually("an Unhealthy event quoting the status code") {
            try await reasons(harness, uid: created.metadata.uid).contains {
                $0.reason == "Unhealthy" && $0.message == "Readiness probe failed: HTTP probe failed with statuscode: 500"
            } ? true : nil
        }
        FileManager.default.createFile(atPath: healthy, contents: Data())
        try await harness.waitForPod("web", "Ready again") { $0.isReady }
    }

    @Test("a failing liveness probe (exec through Nomad) restarts the process and counts a restart")
    func livenessRestarts() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let alive = harness.workDirectory.appendingPathComponent("alive").path
        FileManager.default.createFile(atPath: alive, contents: Data())
        var pod = harness.pod("lively", script: harness.pidScript("lively.pid", then: "sleep 300"), grace: 2)
        pod.spec?.containers[0].livenessProbe = Probe(exec: ExecAction(command: ["/bin/sh", "-c", "test -e \(alive)"]), periodSeconds: 1, failureThreshold: 2)
        let created = try await harness.admin.create(pod)
        try await harness.waitForPod("lively", "Running") { $0.status?.phase == "Running" && $0.mainStatus?.state?.running != nil }
        let firstPID = try await harness.pid("lively.pid")
        try FileManager.default.removeItem(atPath: alive)
        let restarted = try await harness.waitForPod("lively", "restartCount 1 after the liveness failure") { ($0.mainStatus?.restartCount ?? 0) >= 1 }
        FileManager.default.createFile(atPath: alive, contents: Data())
        #expect(restarted.status?.phase == "Running")
        try await eventually("the first process to be gone") { processExists(firstPID) ? nil : true }
        let events = try await reasons(harness, uid: created.metadata.uid)
        #expect(events.contains { $0.reason == "Unhealthy" && ($0.message ?? "").hasPrefix("Liveness probe failed:") })
        #expect(events.contains { $0.reason == "Killing" && $0.message == "Container main failed liveness probe, will be restarted" })
        try await harness.waitForPod("lively", "Running again") { $0.mainStatus?.state?.running != nil }
    }

    @Test("on deletion the preStop hook runs before the process gets SIGTERM")
    func preStopBeforeSIGTERM() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let log = harness.workDirectory.appendingPathComponent("stop.log").path
        let script = "trap 'echo TERM >> \(log); exit 0' TERM; echo started >> \(log); while true; do sleep 0.1; done"
        var pod = harness.pod("graceful", script: script, grace: 10)
        pod.spec?.containers[0].lifecycle = Lifecycle(preStop: LifecycleHandler(exec: ExecAction(command: ["/bin/sh", "-c", "echo prestop >> \(log)"])))
        _ = try await harness.admin.create(pod)
        try await harness.waitForPod("graceful", "Running") { $0.status?.phase == "Running" && $0.mainStatus?.state?.running != nil }
        try await eventually("the process to start") { Self.lines(URL(fileURLWithPath: log)) == ["started"] ? true : nil }
        try await harness.admin.delete(Pod.self, name: "graceful", namespace: harness.namespace)
        try await eventually("pod graceful to be removed") { try await harness.readPod("graceful") == nil ? true : nil }
        #expect(Self.lines(URL(fileURLWithPath: log)) == ["started", "prestop", "TERM"])
    }

    @Test("past activeDeadlineSeconds the pod fails with DeadlineExceeded and its process is stopped")
    func activeDeadlineFailsThePod() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        var pod = harness.pod("deadline", script: harness.pidScript("deadline.pid", then: "sleep 300"), restartPolicy: "Never", grace: 2)
        pod.spec?.activeDeadlineSeconds = 3
        let created = try await harness.admin.create(pod)
        try await harness.waitForPod("deadline", "Running") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("deadline.pid")
        let failed = try await harness.waitForPod("deadline", "Failed for the deadline") { $0.status?.phase == "Failed" }
        #expect(failed.status?.reason == "DeadlineExceeded")
        #expect(failed.status?.message == "Pod was active on the node longer than the specified deadline")
        try await eventually("the process to be stopped") { processExists(pid) ? nil : true }
        #expect(try await reasons(harness, uid: created.metadata.uid).contains { $0.reason == "DeadlineExceeded" })
        // It stays failed: the job is not registered again.
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.allSatisfy { $0.stop == true })
    }
}
