import Agent
import Foundation
import KubernetesClient
import KubernetesModels
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

    @Test("run --config joins as a Ready node, and SIGTERM stops it gracefully leaving the pod's process running")
    func runAndTerminate() async throws {
        let harness = try await AgentHarness.start()
        defer { Task { await harness.shutdown() } }
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
}
