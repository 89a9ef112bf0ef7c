import Agent
import ArgumentParser
import Foundation

/// The options every subcommand that reads the configuration shares: the file, and overrides
/// (`--set key.path=value`, the dedicated flags, `NOMAD_KUBELET_<KEY_PATH>` variables).
struct ConfigurationOptions: ParsableArguments {
    /// Where the Debian package puts the configuration.
    static let defaultPath = "/etc/nomad-kubelet/config.yaml"

    @Option(name: .long, help: ArgumentHelp("The agent's YAML configuration (see docs/configuration.md).", valueName: "file"))
    var config: String = ConfigurationOptions.defaultPath

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override one key, e.g. --set nomad.address=http://nomad:4646 or --set nomad.datacenters=[dc1,dc2]; repeatable, wins over the file and the environment.",
            valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .long, help: ArgumentHelp("Same as --set node.name=NAME.", valueName: "name"))
    var nodeName: String?

    @Option(name: .long, help: ArgumentHelp("Same as --set kubernetes.kubeconfig=FILE.", valueName: "file"))
    var kubeconfig: String?

    @Option(name: .long, help: ArgumentHelp("Same as --set nomad.address=URL.", valueName: "url"))
    var nomadAddress: String?

    @Option(name: .long, help: ArgumentHelp("Same as --set logging.level=LEVEL.", valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp("Same as --set logging.format=FORMAT (text or json).", valueName: "format"))
    var logFormat: String?

    /// Every override in the order applied: dedicated flags, then `--set` in order.
    var allOverrides: [String] {
        var result: [String] = []
        if let nodeName { result.append("node.name=\(nodeName)") }
        if let kubeconfig { result.append("kubernetes.kubeconfig=\(kubeconfig)") }
        if let nomadAddress { result.append("nomad.address=\(nomadAddress)") }
        if let logLevel { result.append("logging.level=\(logLevel)") }
        if let logFormat { result.append("logging.format=\(logFormat)") }
        return result + overrides
    }

    /// Loads the configuration; on any problem prints them all to standard error and exits 2.
    func load() throws -> LoadedConfiguration {
        let loader = ConfigurationLoader(environment: ProcessInfo.processInfo.environment, overrides: allOverrides)
        do {
            return try loader.load(path: config)
        } catch {
            let heading = error.problems.count > 1 ? "nomad-kubelet: \(error.problems.count) problems in the configuration:\n" : "nomad-kubelet: "
            FileHandle.standardError.write(Data((heading + error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
