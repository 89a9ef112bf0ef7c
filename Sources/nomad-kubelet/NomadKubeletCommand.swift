import Agent
import ArgumentParser
import Logging
import UnixSignals

/// `nomad-kubelet`: a virtual Kubernetes node whose pods run as Nomad jobs.
@main
struct NomadKubeletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nomad-kubelet",
        abstract: "A virtual Kubernetes node whose pods run as HashiCorp Nomad jobs.",
        version: AgentVersion.current,
        subcommands: [Run.self, Translate.self, Version.self])
}

/// `nomad-kubelet run --config FILE`.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the cluster as a virtual node and run its pods in Nomad until SIGTERM or SIGINT (workloads keep running).")

    @Option(name: .long, help: "The agent's YAML configuration (see docs/configuration.md).")
    var config: String

    func run() async throws {
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.load(path: config)
        } catch {
            throw ValidationError(error.description)
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nomad-kubelet")
        let agent = try NomadKubeletAgent(configuration: configuration, logger: logger)
        try await agent.run(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// `nomad-kubelet version`.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the agent's version.")

    func run() {
        print(AgentVersion.current)
    }
}
