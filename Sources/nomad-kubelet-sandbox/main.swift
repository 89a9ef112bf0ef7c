// A development-only sandbox: hosts the test-support simulators of the Kubernetes API and of Nomad
// on loopback so `scripts/sandbox.sh` can run the real agent and the real kubectl against them.
// Never packaged: the .deb ships only `nomad-kubelet`.
import Dispatch
import Foundation
import Logging
import TestSupport

/// The sandbox's command line: `nomad-kubelet-sandbox --state-dir DIR [--node-name NAME]`.
struct SandboxArguments {
    var stateDirectory: URL
    var nodeName = "vk-sandbox"

    init(_ arguments: [String]) throws {
        var stateDirectory: String?
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--state-dir": stateDirectory = iterator.next()
            case "--node-name": nodeName = iterator.next() ?? nodeName
            default: throw SandboxError("unknown argument \(argument); usage: nomad-kubelet-sandbox --state-dir DIR [--node-name NAME]")
            }
        }
        guard let stateDirectory else { throw SandboxError("--state-dir DIR is required") }
        self.stateDirectory = URL(fileURLWithPath: stateDirectory)
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
    let nomad = try await NomadSimulator.start(nomadConfiguration)

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
} catch {
    FileHandle.standardError.write(Data("nomad-kubelet-sandbox: \(error)\n".utf8))
    exit(1)
}
