import AsyncHTTPClient
import Foundation
import KubernetesModels
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NomadClient
import Translation

/// One running container, as probes and hooks reach it.
struct ContainerEndpoint: Sendable {
    /// The Nomad allocation running the pod.
    var allocationID: String
    /// The container's task in it.
    var task: String
    /// The pod IP: the Nomad client's address (probes' default host).
    var podIP: String
    /// The container as declared (named ports).
    var container: Container
}

/// What running one handler gave.
struct HandlerResult: Sendable, Hashable {
    /// Whether the handler succeeded.
    var success: Bool
    /// On failure, what the kubelet would print (`HTTP probe failed with statuscode: 500`,
    /// a command's output, `dial tcp 10.0.0.1:80: connect: connection refused`).
    var message: String
}

/// Runs probe and lifecycle-hook handlers against a pseudo-container the way the kubelet's probers
/// do: `exec` inside the task through Nomad's alloc exec, `httpGet` to the pod IP (the Nomad
/// client's address) without following redirects (2xx and 3xx succeed; HTTPS is not verified),
/// `tcpSocket` as a plain connect, `sleep` on the agent, each bounded by a timeout.
final class HandlerRunner: Sendable {
    private let nomad: NomadClient
    private let http: HTTPClient

    /// The `User-Agent` of HTTP probes, like the kubelet's `kube-probe/<major.minor>`.
    static let userAgent = "kube-probe/" + AgentVersion.kubernetesCompatibility.split(separator: ".").prefix(2).joined(separator: ".")

    init(nomad: NomadClient) {
        self.nomad = nomad
        self.http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(certificateVerification: .none, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10))))
    }

    /// Closes the HTTP client.
    func shutdown() async {
        try? await http.shutdown()
    }

    /// Runs a probe's handler once within `timeout` seconds.
    func probe(_ probe: Probe, endpoint: ContainerEndpoint, timeout: TimeInterval) async -> HandlerResult {
        if let exec = probe.exec { return await runExec(exec.command ?? [], endpoint: endpoint, timeout: timeout, forHook: false) }
        if let action = probe.httpGet { return await runHTTPGet(action, endpoint: endpoint, timeout: timeout) }
        if let action = probe.tcpSocket { return await runTCP(action, endpoint: endpoint, timeout: timeout) }
        if let action = probe.grpc { return await GRPCHealthCheck.check(host: endpoint.podIP, port: action.port, service: action.service ?? "", timeout: timeout) }
        return HandlerResult(success: false, message: "the probe has no handler")
    }

    /// Runs a lifecycle hook's handler within `timeout` seconds.
    func hook(_ handler: LifecycleHandler, endpoint: ContainerEndpoint, timeout: TimeInterval) async -> HandlerResult {
        if let exec = handler.exec { return await runExec(exec.command ?? [], endpoint: endpoint, timeout: timeout, forHook: true) }
        if let action = handler.httpGet { return await runHTTPGet(action, endpoint: endpoint, timeout: timeout) }
        if let sleep = handler.sleep {
            let seconds = min(TimeInterval(max(0, sleep.seconds)), timeout)
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            return HandlerResult(success: true, message: "")
        }
        return HandlerResult(success: false, message: "the hook has no handler the agent runs")
    }

    // MARK: Handlers

    private func runExec(_ command: [String], endpoint: ContainerEndpoint, timeout: TimeInterval, forHook: Bool) async -> HandlerResult {
        let nomad = self.nomad
        let outcome = await Self.withTimeout(timeout) {
            try await nomad.execute(allocationID: endpoint.allocationID, task: endpoint.task, command: command)
        }
        switch outcome {
        case .finished(.success(let result)):
            let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
            if result.exitCode == 0 { return HandlerResult(success: true, message: output) }
            return HandlerResult(success: false, message: forHook ? "command '\(command.joined(separator: " "))' exited with \(result.exitCode): \(output)" : output)
        case .finished(.failure(let error)):
            return HandlerResult(success: false, message: "exec of '\(command.joined(separator: " "))' failed: \(error)")
        case .timedOut:
            return HandlerResult(success: false, message: "command \(command.joined(separator: " ").debugDescription) timed out")
        }
    }

    private func runHTTPGet(_ action: HTTPGetAction, endpoint: ContainerEndpoint, timeout: TimeInterval) async -> HandlerResult {
        guard let port = ProbeTarget.port(action.port, in: endpoint.container) else {
            return HandlerResult(success: false, message: "port \(action.port) is not a port of container \(endpoint.container.name)")
        }
        let scheme = (action.scheme ?? "HTTP").lowercased()
        let host = action.host.flatMap { $0.isEmpty ? nil : $0 } ?? endpoint.podIP
        var path = action.path ?? "/"
        if !path.hasPrefix("/") { path = "/" + path }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let url = "\(scheme)://\(hostPart):\(port)\(path)"
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: "Accept", value: "*/*")
        request.headers.add(name: "Connection", value: "close")
        for header in action.httpHeaders ?? [] {
            request.headers.replaceOrAdd(name: header.name, value: header.value)
        }
        let http = self.http
        let prepared = request
        let outcome = await Self.withTimeout(timeout) { () async throws -> Int in
            let response = try await http.execute(prepared, timeout: .milliseconds(Int64(timeout * 1000)))
            for try await _ in response.body {}
            return Int(response.status.code)
        }
        switch outcome {
        case .finished(.success(let code)):
            if (200..<400).contains(code) { return HandlerResult(success: true, message: "") }
            return HandlerResult(success: false, message: "HTTP probe failed with statuscode: \(code)")
        case .finished(.failure(let error)):
            return HandlerResult(success: false, message: "Get \"\(url)\": \(error)")
        case .timedOut:
            return HandlerResult(success: false, message: "Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        }
    }

    private func runTCP(_ action: TCPSocketAction, endpoint: ContainerEndpoint, timeout: TimeInterval) async -> HandlerResult {
        guard let port = ProbeTarget.port(action.port, in: endpoint.container) else {
            return HandlerResult(success: false, message: "port \(action.port) is not a port of container \(endpoint.container.name)")
        }
        let host = action.host.flatMap { $0.isEmpty ? nil : $0 } ?? endpoint.podIP
        let outcome = await Self.withTimeout(timeout) {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(timeout * 1000)))
                .connect(host: host, port: port).get()
            try? await channel.close()
        }
        switch outcome {
        case .finished(.success):
            return HandlerResult(success: true, message: "")
        case .finished(.failure(let error)):
            return HandlerResult(success: false, message: "dial tcp \(host):\(port): \(Self.connectError(error))")
        case .timedOut:
            return HandlerResult(success: false, message: "dial tcp \(host):\(port): i/o timeout")
        }
    }

    /// Go's words for a failed connect.
    static func connectError(_ error: any Error) -> String {
        if let error = error as? ChannelError, case .connectTimeout = error { return "i/o timeout" }
        let text = "\(error)"
        if text.contains("refused") { return "connect: connection refused" }
        return "connect: \(text)"
    }

    // MARK: Timeouts

    enum TimedOutcome<Value: Sendable>: Sendable {
        case finished(Result<Value, any Error>)
        case timedOut
    }

    /// Runs `body`, cancelling it after `seconds`.
    static func withTimeout<Value: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> Value) async -> TimedOutcome<Value> {
        await withTaskGroup(of: TimedOutcome<Value>?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await body()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    return .timedOut
                } catch {
                    return nil
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .timedOut
        }
    }
}
