import Agent
import Foundation
import Glibc
import KubernetesClient
import KubernetesModels
import NomadClient
import NomadModels
import Testing
import Synchronization
import TestCleanup
import TestSupport
import Translation

/// The shipped binary: `nomad-kubelet version`, and `run --config` stopping gracefully on SIGTERM
/// while its workloads keep running.
@Suite("nomad-kubelet command line", .awaitsCleanup, .serialized, .timeLimit(.minutes(2)))
struct CommandLineTests {
    /// The executable SwiftPM built next to the test bundle.
    static var executable: URL {
        Bundle.main.bundleURL.appendingPathComponent("nomad-kubelet")
    }

    /// Runs the binary, returning its exit status and standard output.
    static func launch(_ arguments: [String], environment: [String: String]? = nil, errors: Pipe? = nil) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        return (process, output)
    }

    static func exitStatus(of process: Process) async throws -> Int32 {
        try await eventually("nomad-kubelet (pid \(process.processIdentifier)) to exit", timeout: .seconds(30)) {
            process.isRunning ? nil : process.terminationStatus
        }
    }

    @Test("version and --version print the one version constant")
    func version() async throws {
        for arguments in [["version"], ["--version"]] {
            let (process, output) = try Self.launch(arguments)
            #expect(try await Self.exitStatus(of: process) == 0)
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == AgentVersion.current)
        }
    }

    @Test("run with an invalid configuration exits 2 listing every problem, from the file, the environment and the flags")
    func invalidConfiguration() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString.prefix(8)).yaml")
        try "node: {name: Not_Valid}\nnomad: {adress: x}\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let errors = Pipe()
        let (process, _) = try Self.launch(
            ["run", "--config", file.path, "--set", "kubeletServer.port=0"], environment: ["NOMAD_KUBELET_LOGGING_FORMAT": "xml"], errors: errors)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(try await Self.exitStatus(of: process) == 2)
        #expect(text.contains("4 problems in the configuration"))
        #expect(text.contains("\(file.path):1: node.name: \"Not_Valid\" is not a valid Node name"))
        #expect(text.contains("\(file.path):2: nomad.adress: unknown key; did you mean nomad.address?"))
        #expect(text.contains("$NOMAD_KUBELET_LOGGING_FORMAT: logging.format: unknown value \"xml\""))
        #expect(text.contains("--set: kubeletServer.port: 0 is out of range 1...65535"))
    }

    /// Writes a configuration file for the binary, pointing at the harness's servers.
    static func writeConfiguration(for harness: AgentHarness) throws -> URL {
        let config = harness.workDirectory.appendingPathComponent("agent.yaml")
        try """
            kubernetes:
              kubeconfig: \(harness.configuration.kubernetes.kubeconfig ?? "")
            node:
              name: \(harness.nodeName)
            nomad:
              address: \(harness.configuration.nomad.address)
            policy:
              defaultUser: \(harness.configuration.policy.defaultUser)
            timings:
              leaseRenewInterval: 500ms
              leaseDuration: 10s
            logging:
              level: warning

            """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    @Test("run --config joins as a Ready node telling systemd READY and WATCHDOG; SIGTERM sends STOPPING and leaves the pod's process running")
    func runAndTerminate() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let config = try Self.writeConfiguration(for: harness)
        let notifications = try NotifySocket(path: harness.workDirectory.appendingPathComponent("notify.sock").path)
        defer { notifications.close() }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notifications.path
        environment["WATCHDOG_USEC"] = "1000000"
        let (process, _) = try Self.launch(["run", "--config", config.path], environment: environment)
        defer { if process.isRunning { process.interrupt() } }
        try await notifications.waitFor("READY=1")
        try await notifications.waitFor("WATCHDOG=1")
        _ = try await harness.admin.create(harness.pod("cli", script: harness.pidScript("cli.pid", then: "sleep 300")))
        try await harness.waitForPod("cli", "Running under the command-line agent") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("cli.pid")
        process.terminate()
        try await notifications.waitFor("STOPPING=1")
        let status = try await Self.exitStatus(of: process)
        #expect(status == 0, "exit status after SIGTERM")
        #expect(processExists(pid), "workloads keep running after the agent stops")
        #expect(try await harness.jobsOfNode().allSatisfy { $0.stop != true })
    }

    @Test("killing the agent with SIGKILL mid-way and starting it again yields no duplicate job, no orphan process and the right status")
    func sigkillMidwayAndRestart() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let config = try Self.writeConfiguration(for: harness)
        let names = ["kill-0", "kill-1", "kill-2"]
        let (first, _) = try Self.launch(["run", "--config", config.path])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        for name in names {
            _ = try await harness.admin.create(harness.pod(name, script: harness.pidScript("\(name).pid", then: "sleep 300"), grace: 2))
        }
        // Mid-way: the agent has begun registering jobs for the new pods.
        try await eventually("the first agent to register a job") { try await !harness.jobsOfNode().isEmpty }
        kill(first.processIdentifier, SIGKILL)
        _ = try await Self.exitStatus(of: first)

        let (second, _) = try Self.launch(["run", "--config", config.path])
        defer { if second.isRunning { second.terminate() } }
        var pids: [Int32] = []
        for name in names {
            try await harness.waitForPod(name, "Running and Ready under the restarted agent") { $0.status?.phase == "Running" && $0.isReady }
            pids.append(try await harness.pid("\(name).pid"))
        }
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.count == names.count, "one job per pod, no duplicate")
        #expect(Set(jobs.compactMap { $0.meta?[PodJobIdentity.podMetaKey] }) == Set(names))
        for job in jobs {
            let live = try await harness.nomad.allocations(ofJob: job.id ?? "").value.filter { $0.clientStatus?.rawValue == "running" }
            #expect(live.count == 1, "exactly one running allocation of \(job.id ?? "")")
        }
        #expect(pids.allSatisfy(processExists))

        for name in names { try await harness.admin.delete(Pod.self, name: name, namespace: harness.namespace) }
        for name in names {
            try await eventually("pod \(name) to be removed") { try await harness.readPod(name) == nil }
        }
        for pid in pids {
            try await eventually("no process left of the task group \(pid)") { !processGroupExists(pid) }
        }
        second.terminate()
        #expect(try await Self.exitStatus(of: second) == 0)
    }

    @Test("logging.format json writes one JSON object per line")
    func jsonLogs() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID().uuidString.prefix(8)).yaml")
        // The kubeconfig is missing: the agent logs why and exits 1.
        try "node: {name: vk-json}\nkubernetes: {kubeconfig: /nonexistent/kubeconfig}\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let errors = Pipe()
        let (process, _) = try Self.launch(["run", "--config", file.path, "--log-format", "json"], errors: errors)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(try await Self.exitStatus(of: process) == 1)
        #expect(text.contains("/nonexistent/kubeconfig"))
        let lines = text.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["message"] is String && object?["time"] is String, "not a JSON log line: \(line)")
        }
    }
}

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket: Sendable {
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits until a datagram containing the line `message` arrives.
    func waitFor(_ message: String) async throws {
        try await eventually("\(message) on \(path)", timeout: .seconds(30)) { () -> Bool? in
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 { received.withLock { $0.append(String(decoding: buffer[..<count], as: UTF8.self)) } }
            return received.withLock { $0.contains { $0.split(separator: "\n").contains(Substring(message)) } } ? true : nil
        }
    }

    func close() {
        _ = Glibc.close(descriptor)
        unlink(path)
    }
}
