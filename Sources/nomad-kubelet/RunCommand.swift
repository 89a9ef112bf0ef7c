import Agent
import ArgumentParser
import Foundation
import Logging
import UnixSignals

/// `nomad-kubelet run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Join the cluster as a virtual node and run its pods in Nomad until SIGTERM or SIGINT (workloads keep running).",
        discussion: "Exits 2 when the configuration has problems (all are listed).")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let loaded = try options.load()
        let configuration = loaded.configuration
        LogOutput.bootstrap(configuration.logging)
        let logger = Logger(label: "nomad-kubelet")
        for warning in loaded.warnings { logger.warning("\(warning)") }
        if !configuration.nomad.namespaces.isEmpty {
            logger.warning(
                "nomad.namespaces is not honoured yet: the jobs of every Kubernetes namespace go to nomad.namespace",
                metadata: ["nomad.namespace": "\(configuration.nomad.namespace)"])
        }
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment, leaseRenewInterval: configuration.timings.leaseRenewInterval)
        do {
            let agent = try NomadKubeletAgent(
                configuration: configuration, storage: configuration.volumeControllerSettings, logger: logger, observer: notifier)
            let kubelet = try KubeletServerWiring(configuration: configuration, logger: logger)
            do {
                try await agent.run(gracefulShutdownSignals: [.sigterm, .sigint], alongside: [kubelet.server])
            } catch {
                await kubelet.shutdown()
                throw error
            }
            await kubelet.shutdown()
        } catch {
            // In the log (journald, JSON) rather than only on the terminal.
            logger.critical("agent failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
