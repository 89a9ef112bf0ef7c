import Agent
import ArgumentParser
import Foundation
import Logging

/// `nomad-kubelet check`: the connectivity and permission doctor.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration, Kubernetes (every verb the agent needs), Nomad (version, drivers), TLS files and the kubelet port.",
        discussion: "Prints one line per check, ✓ passed, ! warning, ✗ failed with the fix. Exits 1 when a check failed, 2 when the configuration has problems.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let loaded = try options.load()
        var logger = Logger(label: "nomad-kubelet-check")
        logger.logLevel = .critical
        var results = [CheckResult("configuration", .passed, options.config)]
        results += loaded.warnings.map { CheckResult("configuration", .warning, $0, fix: "unset it, or correct its name") }
        results += await AgentDoctor(configuration: loaded.configuration, logger: logger).run()
        print(Self.table(results), terminator: "")
        let failed = results.filter { $0.outcome == .failed }.count
        let warned = results.filter { $0.outcome == .warning }.count
        print("\(results.count) checks: \(results.count - failed - warned) passed, \(warned) warnings, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The results as aligned lines, the fix under each warning or failure.
    static func table(_ results: [CheckResult]) -> String {
        let width = min(results.map(\.name.count).max() ?? 0, 48)
        var text = ""
        for result in results {
            let mark = switch result.outcome {
            case .passed: "✓"
            case .warning: "!"
            case .failed: "✗"
            }
            text += "\(mark) \(result.name.padding(toLength: max(width, result.name.count), withPad: " ", startingAt: 0))  \(result.detail)\n"
            if let fix = result.fix, result.outcome != .passed { text += "  \(String(repeating: " ", count: width))  fix: \(fix)\n" }
        }
        return text
    }
}
