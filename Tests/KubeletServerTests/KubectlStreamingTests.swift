import AsyncHTTPClient
import Foundation
import KubeletServer
import KubernetesModels
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// The real `kubectl exec` and `kubectl port-forward` through the API server (the Kubernetes
/// simulator's kubelet proxy, or a real cluster) to the kubelet endpoint with the streaming child
/// channel, bridged to Nomad.
@Suite(
    "Kubelet API: kubectl exec and port-forward", .timeLimit(.minutes(3)),
    .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason),
    .enabled(if: KubectlRunner.path != nil, "kubectl is not installed: run scripts/install-test-deps.sh"))
struct KubectlStreamingTests {
    private static var python: String? { ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) } }

    @Test("kubectl exec: output, stderr, exit code, stdin; kubectl port-forward: an HTTP request to the pod's port",
          .enabled(if: python != nil, "needs python3 for the pod's HTTP server"))
    func execAndPortForward() async throws {
        try await KubeletHarness.with(childChannel: KubeletServer.streaming) { harness in
            let port = try Self.freePort()
            try await harness.run("web", script: "echo 'hello from pseudo-pod' > index.html; exec \(Self.python!) -m http.server \(port) --bind 127.0.0.1")
            let kubectl = try KubectlRunner(harness)
            defer { kubectl.cleanUp() }

            let exec = try await kubectl.run(["exec", "web", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(exec.status == 3, "\(exec.stderr)")
            #expect(exec.stdout == "out\n")
            #expect(exec.stderr.contains("err\n"), "\(exec.stderr)")

            let ok = try await kubectl.run(["exec", "web", "--", "/bin/sh", "-c", "echo fine"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout == "fine\n")

            let piped = try await kubectl.run(["exec", "-i", "web", "--", "cat"], stdin: Data("typed line\n".utf8))
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout == "typed line\n")

            let local = try Self.freePort()
            let forward = try kubectl.start(["port-forward", "pod/web", "\(local):\(port)"])
            defer { forward.stop() }
            _ = try await eventually("kubectl port-forward to listen on \(local)") { forward.stdout.contains("Forwarding from 127.0.0.1:\(local)") ? true : nil }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { Task { try? await client.shutdown() } }
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(local)/index.html"), timeout: .seconds(20))
            let body = try await response.body.collect(upTo: 1 << 16)
            #expect(response.status.code == 200)
            #expect(String(buffer: body) == "hello from pseudo-pod\n")
            try await client.shutdown()
        }
    }

    private static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress?.port ?? 0
    }
}

/// Runs the real kubectl against the harness's cluster (admin credentials, the harness's namespace),
/// feeding stdin and collecting output; long-running ones (port-forward) are stopped on demand.
struct KubectlRunner {
    static let path: String? = {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories.append(NSHomeDirectory() + "/.local/bin")
        return directories.map { $0 + "/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    let directory: URL
    let kubeconfig: String
    let namespace: String

    init(_ harness: KubeletHarness) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let simulator = harness.kubernetesSimulator {
            let path = directory.appendingPathComponent("admin.kubeconfig").path
            try simulator.kubeconfig(for: .admin).write(toFile: path, atomically: true, encoding: .utf8)
            kubeconfig = path
        } else {
            kubeconfig = E2EEnvironment.realKubeconfig ?? ""
        }
        namespace = harness.namespace
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    /// A started kubectl and what it printed so far.
    final class Running: Sendable {
        let process: Process
        private let out = Mutex(Data())
        private let err = Mutex(Data())
        private let readers = DispatchGroup()

        init(_ process: Process) { self.process = process }

        func collect(_ pipe: Pipe, standardOutput: Bool) {
            readers.enter()
            Thread.detachNewThread { [self] in
                while true {
                    let data = pipe.fileHandleForReading.availableData
                    if data.isEmpty { break }
                    if standardOutput { out.withLock { $0.append(data) } } else { err.withLock { $0.append(data) } }
                }
                readers.leave()
            }
        }

        var stdout: String { out.withLock { String(decoding: $0, as: UTF8.self) } }
        var stderr: String { err.withLock { String(decoding: $0, as: UTF8.self) } }

        /// Stops kubectl and waits for its output to end.
        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            _ = readers.wait(timeout: .now() + 10)
        }
    }

    /// Starts kubectl with `arguments`, writing `stdin` (then closing it) when given.
    func start(_ arguments: [String], stdin: Data? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path ?? "/usr/bin/false")
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", directory.appendingPathComponent("cache").path, "-n", namespace] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory.path
        environment.removeValue(forKey: "KUBECONFIG")
        process.environment = environment
        let running = Running(process)
        let stdout = Pipe()
        let stderr = Pipe()
        let input = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input
        running.collect(stdout, standardOutput: true)
        running.collect(stderr, standardOutput: false)
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        return running
    }

    /// Runs kubectl to completion (killed after `timeout`).
    func run(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let running = try start(arguments, stdin: stdin)
        let deadline = ContinuousClock.now + timeout
        while running.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        running.stop()
        return (running.process.terminationStatus, running.stdout, running.stderr)
    }
}
