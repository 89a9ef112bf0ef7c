import Agent
import Foundation
import KubernetesClient
import KubernetesModels
import NomadClient
import NomadModels
import Testing
import TestSupport
import Translation

/// The shipped binary: `nomad-kubelet version`, and `run --config` stopping gracefully on SIGTERM
/// while its workloads keep running.
@Suite("nomad-kubelet command line", .serialized, .timeLimit(.minutes(2)))
struct CommandLineTests {
    /// The executable SwiftPM built next to the test bundle.
    static var executable: URL {
        Bundle.main.bundleURL.appendingPathComponent("nomad-kubelet")
    }

    /// Runs the binary, returning its exit status and standard output.
    static func launch(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
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

    @Test("run with an invalid configuration exits non-zero")
    func invalidConfiguration() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString.prefix(8)).yaml")
        try "node: {name: Not_Valid}\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (process, _) = try Self.launch(["run", "--config", file.path])
        #expect(try await Self.exitStatus(of: process) != 0)
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
            timings:
              leaseRenewInterval: 500ms
              leaseDuration: 10s
            logging:
              level: warning

            """.write(to: config, atomically: true, encoding: .utf8)
        return config
    }

    @Test("run --config joins as a Ready node, and SIGTERM stops it gracefully leaving the pod's process running")
    func runAndTerminate() async throws {
        let harness = try await AgentHarness.start()
        defer { Task { await harness.shutdown() } }
        let config = try Self.writeConfiguration(for: harness)
        let (process, _) = try Self.launch(["run", "--config", config.path])
        defer { if process.isRunning { process.interrupt() } }
        _ = try await harness.admin.create(harness.pod("cli", script: harness.pidScript("cli.pid", then: "sleep 300")))
        try await harness.waitForPod("cli", "Running under the command-line agent") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("cli.pid")
        process.terminate()
        let status = try await Self.exitStatus(of: process)
        #expect(status == 0, "exit status after SIGTERM")
        #expect(processExists(pid), "workloads keep running after the agent stops")
        #expect(try await harness.jobsOfNode().allSatisfy { $0.stop != true })
    }

    @Test("killing the agent with SIGKILL mid-way and starting it again yields no duplicate job, no orphan process and the right status")
    func sigkillMidwayAndRestart() async throws {
        let harness = try await AgentHarness.start()
        defer { Task { await harness.shutdown() } }
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
}
