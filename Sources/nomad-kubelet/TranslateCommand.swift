import Agent
import ArgumentParser
import Foundation
import KubernetesModels
import NomadModels
import KubernetesClient
import Translation

/// `nomad-kubelet translate -f FILE... [--config FILE]`: the no-cluster dry run. Prints the Nomad
/// job the agent would register for each pod (Secret values redacted), or the problems with their
/// field paths and exit code 2.
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Print the Nomad jobs the agent would register for the pods in manifest files (Secret values redacted).",
        discussion: """
            Reads multi-document YAML or JSON with Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and \
            CronJobs (their pod templates), plus the ConfigMaps, Secrets, PseudoImages and RuntimeClasses they reference. \
            Prints one {"Job": ...} document per pod, as Nomad's /v1/jobs takes it. Exit code 2 when a pod cannot be \
            translated (the problems, with field paths, go to standard error), 1 when a file cannot be read.
            """)

    /// Exit code for pods that cannot be translated.
    static let untranslatableExitCode: Int32 = 2

    @Option(name: [.customShort("f"), .customLong("filename")], parsing: .upToNextOption, help: "Manifest files (YAML or JSON); '-' reads standard input.")
    var files: [String]

    @Option(name: .long, help: "The agent's YAML configuration, for its translation settings (see docs/configuration.md).")
    var config: String?

    func run() throws {
        let configuration: AgentConfiguration
        if let config {
            do {
                configuration = try AgentConfiguration.load(path: config)
            } catch {
                throw ValidationError(error.description)
            }
        } else {
            configuration = AgentConfiguration(node: .init(name: "nomad-kubelet"))
        }
        let policy = configuration.translationPolicy
        var documents: [(source: String, document: JSONValue)] = []
        for file in files {
            let text: String
            do {
                let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
                text = String(decoding: data, as: UTF8.self)
            } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            do {
                documents += try ManifestYAML.documents(text).enumerated().map { ("\(file)#\($0.offset + 1)", $0.element) }
            } catch {
                throw ValidationError("\(file) is not valid YAML or JSON: \(error)")
            }
        }
        let manifests = ManifestSet(documents: documents, nodeName: policy.nodeName)
        let output = TranslateOutput.render(manifests, translator: PodTranslator(policy: policy), volumeRoot: configuration.storage.rootDirectory)
        for line in output.diagnostics { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        FileHandle.standardOutput.write(Data(output.jobs.utf8))
        if output.failed { throw ExitCode(Self.untranslatableExitCode) }
    }
}

/// What `translate` prints: the jobs (standard output) and the diagnostics (standard error).
enum TranslateOutput {
    static func render(_ manifests: ManifestSet, translator: PodTranslator, volumeRoot: String) -> (jobs: String, diagnostics: [String], failed: Bool) {
        var jobs = ""
        var diagnostics: [String] = manifests.errors.map { "error: \($0)" }
        var failed = !manifests.errors.isEmpty
        for ignored in manifests.ignored { diagnostics.append("note: ignored \(ignored)") }
        if manifests.workloads.isEmpty, manifests.errors.isEmpty {
            diagnostics.append("error: no Pod or pod template found in the files")
            failed = true
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        for translated in manifests.translations(with: translator, volumeRoot: volumeRoot) {
            let workload = translated.workload
            for (volume, claim) in translated.assumedClaims.sorted(by: { $0.key < $1.key }) {
                diagnostics.append(
                    "note: \(workload.source): volume \(volume) is assumed provisioned by nomad-kubelet as \(claim.placement.path) on the Nomad client it picks (\(ManifestSet.provisionedClientPlaceholder) in the job)")
            }
            do {
                let translation = try translated.result.get()
                for warning in translation.warnings {
                    diagnostics.append("warning: \(workload.source): \(workload.documentPath(warning.field)): \(warning.reason)")
                }
                let body = try encoder.encode(["Job": translation.redactedJob])
                jobs += String(decoding: body, as: UTF8.self) + "\n"
            } catch let error as TranslationError {
                failed = true
                let waiting = error.isTransient ? " (the agent would keep it Pending until they exist)" : ""
                diagnostics.append("error: \(workload.source) cannot run as a Nomad job\(waiting):")
                for problem in error.problems {
                    diagnostics.append("  \(workload.documentPath(problem.field)) [\(problem.kind.rawValue)]: \(problem.reason) (fix: \(problem.fix))")
                }
            } catch {
                failed = true
                diagnostics.append("error: \(workload.source): \(error)")
            }
        }
        return (jobs, diagnostics, failed)
    }
}
