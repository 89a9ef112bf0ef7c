// A development-only sandbox: hosts the test-support simulators of the Kubernetes API and of Nomad
// on loopback so `scripts/sandbox.sh` can run the real agent and the real kubectl against them.
// Never packaged: the .deb ships only `nomad-kubelet`.
import Dispatch
import Foundation
import KubernetesModels
import Logging
import TestSupport

/// The sandbox's command line: `nomad-kubelet-sandbox --state-dir DIR [--node-name NAME]
/// [--timeline FILE] [--nomad-cpu-mhz N] [--nomad-memory-mb N]`.
struct SandboxArguments {
    static let usage = "usage: nomad-kubelet-sandbox --state-dir DIR [--node-name NAME] [--timeline FILE] [--nomad-cpu-mhz N] [--nomad-memory-mb N]"
    var stateDirectory: URL
    var nodeName = "vk-sandbox"
    /// Where to append one JSON line per change of a Pod or Node in the Kubernetes simulator, with
    /// the simulator's wall-clock time in milliseconds (scripts/bench.sh measures latencies from it).
    var timeline: URL?
    /// The simulated Nomad client's size (the benchmarks hold 1,000 pods on it).
    var nomadCPUMHz: Int?
    var nomadMemoryMB: Int?

    init(_ arguments: [String]) throws {
        var stateDirectory: String?
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--state-dir": stateDirectory = iterator.next()
            case "--node-name": nodeName = iterator.next() ?? nodeName
            case "--timeline": timeline = iterator.next().map { URL(fileURLWithPath: $0) }
            case "--nomad-cpu-mhz": nomadCPUMHz = try Self.number(argument, iterator.next())
            case "--nomad-memory-mb": nomadMemoryMB = try Self.number(argument, iterator.next())
            default: throw SandboxError("unknown argument \(argument); \(Self.usage)")
            }
        }
        guard let stateDirectory else { throw SandboxError("--state-dir DIR is required") }
        self.stateDirectory = URL(fileURLWithPath: stateDirectory)
    }

    private static func number(_ option: String, _ value: String?) throws -> Int {
        guard let value, let number = Int(value), number > 0 else { throw SandboxError("\(option) needs a positive integer; \(usage)") }
        return number
    }
}

/// Appends one JSON line per Pod or Node change in `store` to `file`:
/// `{"t": <ms since 1970>, "type": "ADDED|MODIFIED|DELETED", "kind": "pods|nodes", "namespace", "name",
/// "phase", "ready", "deleting"}`. `t` is taken when the store hands the change to subscribers,
/// right after the write, so it is the simulator's own time of the write.
func recordTimeline(of store: KubernetesStore, to file: URL) async throws {
    FileManager.default.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    defer { try? handle.close() }
    for await event in await store.subscribe() where ["pods", "nodes"].contains(event.resource.resource) {
        let time = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let object = event.object
        let conditions = object["status"]?["conditions"]?.arrayValue ?? []
        let ready = conditions.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue
        let line = JSONValue.object([
            "t": .number(Double(time)), "type": .string(event.kind.rawValue), "kind": .string(event.resource.resource),
            "namespace": object["metadata"]?["namespace"] ?? .null, "name": object["metadata"]?["name"] ?? .null,
            "phase": object["status"]?["phase"] ?? .null, "ready": ready.map(JSONValue.string) ?? .null,
            "deleting": .bool(object["metadata"]?["deletionTimestamp"] != nil),
        ])
        handle.write(try JSONEncoder().encode(line) + Data("\n".utf8))
    }
}

/// A usage or start-up error, printed as it is.
struct SandboxError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for SIGINT or SIGTERM.
func waitForTerminationSignal() async {
    let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
    var sources: [any DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { continuation.yield(number) }
        source.resume()
        sources.append(source)
    }
    for await _ in signals { break }
    sources.forEach { $0.cancel() }
}

/// The agent configuration the sandbox hands to `nomad-kubelet run`.
func agentConfiguration(nodeName: String, kubeconfig: URL, nomadAddress: String, kubeletPort: Int, clientCA: URL) -> String {
    """
    # Written by nomad-kubelet-sandbox: the agent against the local simulators.
    kubernetes:
      kubeconfig: \(kubeconfig.path)
    node:
      name: \(nodeName)
      addresses:
        internalIP: 127.0.0.1
        hostname: \(nodeName)
    nomad:
      address: \(nomadAddress)
    kubeletServer:
      address: 127.0.0.1
      port: \(kubeletPort)
      clientCAFile: \(clientCA.path)   # the simulator's CA, which signed its kubelet-client certificate
    policy:
      defaultUser: \(ProcessInfo.processInfo.userName)   # the sandbox's tasks run as you
    timings:
      leaseRenewInterval: 10s
      statusUpdateInterval: 1m
    logging:
      level: info

    """
}

do {
    let arguments = try SandboxArguments(CommandLine.arguments)
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    let files = FileManager.default
    try files.createDirectory(at: arguments.stateDirectory, withIntermediateDirectories: true)

    var kubernetesConfiguration = KubernetesSimulator.Configuration()
    kubernetesConfiguration.logger.logLevel = .warning
    let kubernetes = try await KubernetesSimulator.start(kubernetesConfiguration)
    var nomadConfiguration = NomadSimulator.Configuration()
    nomadConfiguration.dataDirectory = arguments.stateDirectory.appendingPathComponent("nomad-data")
    if let cpu = arguments.nomadCPUMHz { nomadConfiguration.nodes[0].cpuMHz = cpu }
    if let memory = arguments.nomadMemoryMB { nomadConfiguration.nodes[0].memoryMB = memory }
    let nomad = try await NomadSimulator.start(nomadConfiguration)

    let timeline = arguments.timeline.map { file in Task { try await recordTimeline(of: kubernetes.store, to: file) } }
    let admin = arguments.stateDirectory.appendingPathComponent("admin.kubeconfig")
    let node = arguments.stateDirectory.appendingPathComponent("node.kubeconfig")
    try kubernetes.kubeconfig(for: .admin).write(to: admin, atomically: true, encoding: .utf8)
    try kubernetes.kubeconfig(for: .node(arguments.nodeName)).write(to: node, atomically: true, encoding: .utf8)
    let clientCA = arguments.stateDirectory.appendingPathComponent("cluster-ca.crt")
    try kubernetes.caCertificatePEM.write(to: clientCA, atomically: true, encoding: .utf8)
    let kubeletPort = ProcessInfo.processInfo.environment["SANDBOX_KUBELET_PORT"].flatMap(Int.init) ?? 10250
    try agentConfiguration(nodeName: arguments.nodeName, kubeconfig: node, nomadAddress: nomad.address, kubeletPort: kubeletPort, clientCA: clientCA)
        .write(to: arguments.stateDirectory.appendingPathComponent("agent.yaml"), atomically: true, encoding: .utf8)
    try nomad.address.write(to: arguments.stateDirectory.appendingPathComponent("nomad-address"), atomically: true, encoding: .utf8)
    try "".write(to: arguments.stateDirectory.appendingPathComponent("ready"), atomically: true, encoding: .utf8)
    print("sandbox: Kubernetes API simulator at \(kubernetes.url), Nomad simulator at \(nomad.address)")

    await waitForTerminationSignal()
    print("sandbox: stopping the simulators (every task process they started is killed)")
    await nomad.shutdown()
    try await kubernetes.shutdown()
    timeline?.cancel()
} catch {
    FileHandle.standardError.write(Data("nomad-kubelet-sandbox: \(error)\n".utf8))
    exit(1)
}
