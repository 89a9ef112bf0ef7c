import Agent
import ArgumentParser
import Foundation

/// `nomad-kubelet config template|show`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a commented configuration file, or the configuration in effect.",
        subcommands: [Template.self, Show.self])

    /// Prints every key, commented, with its default: the packaged /etc/nomad-kubelet/config.yaml.
    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a config.yaml with every key commented out at its default.")

        func run() {
            print(ConfigurationReference.template(), terminator: "")
        }
    }

    /// Prints each key's effective value after the file, the environment and the flags.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration and print every key's value in effect (file, then NOMAD_KUBELET_* variables, then flags).",
            discussion: "Exits 2 when the configuration has problems (all are listed).")

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let loaded = try options.load()
            for warning in loaded.warnings { print("# warning: \(warning)") }
            for key in AgentConfiguration.keys {
                print("\(key.path): \(key.value(in: loaded.configuration) ?? "# \(key.documentedDefault.replacingOccurrences(of: "`", with: ""))")")
            }
        }
    }
}
