import Agent
import ArgumentParser

/// `nomad-kubelet`: a virtual Kubernetes node whose pods run as Nomad jobs.
@main
struct NomadKubeletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nomad-kubelet",
        abstract: "A virtual Kubernetes node whose pods run as HashiCorp Nomad jobs.",
        version: AgentVersion.current,
        subcommands: [
            RunCommand.self,
            CheckCommand.self,
            ConfigCommand.self,
            TranslateCommand.self,
            VersionCommand.self,
        ])
}

/// `nomad-kubelet version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the agent's version.")

    func run() {
        print(AgentVersion.current)
    }
}
