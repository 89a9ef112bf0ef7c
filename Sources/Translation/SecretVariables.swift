import Foundation
import NomadModels

/// Secret values delivered through a Nomad Variable (Nomad 1.4+) instead of inline in the job.
///
/// The job keeps references only: Secret-derived environment variables come from one `env`
/// template and Secret/token volume files from their seed templates, each reading the variable
/// with `nomadVar`. The variable lives at `nomad/jobs/<job ID>`, the path Nomad lets the job's own
/// tasks read without a token; its items hold base64 text (`base64Decode` in the templates), so any
/// byte survives. The agent writes the variable before registering the job and deletes it when
/// the job stops.
public struct SecretVariable: Sendable, Hashable {
    /// The variable path, `nomad/jobs/<job ID>`.
    public var path: String
    /// Item name → base64 of the value.
    public var items: [String: String]

    /// The item naming the Kubernetes node whose agent owns the variable.
    public static let nodeItem = "nomad_kubelet_node"
    /// The template that turns the variable's environment items into task environment variables.
    public static let environmentTemplatePath = "secrets/nomad-kubelet-secret.env"

    /// What every job's variable path starts with.
    public static let pathPrefix = "nomad/jobs/"

    /// The variable path a job's tasks may read.
    public static func path(jobID: String) -> String { pathPrefix + jobID }
}

extension PodTranslation {
    /// ``job`` with every Secret-derived value (environment variables whose value differs in
    /// ``redactedJob``, and the files of Secret and token volumes) replaced by a `nomadVar` reference
    /// into the returned variable; `nil` when the pod uses no Secret. Values that reach `command` or
    /// `args` through `$(VAR)` stay inline, as Nomad cannot template those.
    public func deliveringSecretsThroughVariable(nodeName: String) -> (job: Job, variable: SecretVariable?) {
        let path = SecretVariable.path(jobID: identity.jobID)
        var job = self.job
        var items: [String: String] = [:]
        let sensitiveFiles = Dictionary(
            volumeFiles.filter(\.sensitive).flatMap { set in
                set.files.map { ("\(set.task)/secrets/\(VolumeSetup.dataDirectory)/\(set.volume)/\($0.path)", $0.data) }
            }, uniquingKeysWith: { first, _ in first })
        func lookup(_ item: String, json: Bool) -> String {
            "{{ (index . \(VolumeTranslator.goQuoted(item))).Value | base64Decode\(json ? " | toJSON" : "") }}"
        }
        for groupIndex in (job.taskGroups ?? []).indices {
            for taskIndex in (job.taskGroups?[groupIndex].tasks ?? []).indices {
                guard var task = job.taskGroups?[groupIndex].tasks?[taskIndex] else { continue }
                let redacted = redactedJob.taskGroups?[safe: groupIndex]?.tasks?[safe: taskIndex]
                let taskName = task.name ?? ""
                var environmentLines: [String] = []
                for name in (task.env ?? [:]).keys.sorted() {
                    guard let value = task.env?[name], redacted?.env?[name] != value else { continue }
                    let item = "t\(taskIndex)_env_\(environmentLines.count)"
                    items[item] = Data(value.utf8).base64EncodedString()
                    environmentLines.append("\(name)=\(lookup(item, json: true))")
                    task.env?[name] = nil
                }
                var fileCount = 0
                task.templates = task.templates?.map { template in
                    guard let data = sensitiveFiles["\(taskName)/\(template.destPath ?? "")"] else { return template }
                    let item = "t\(taskIndex)_file_\(fileCount)"
                    fileCount += 1
                    items[item] = data.base64EncodedString()
                    var template = template
                    template.embeddedTmpl = "{{ with nomadVar \(VolumeTranslator.goQuoted(path)) }}\(lookup(item, json: false)){{ end }}"
                    return template
                }
                if !environmentLines.isEmpty {
                    let text = "{{ with nomadVar \(VolumeTranslator.goQuoted(path)) }}\n" + environmentLines.joined(separator: "\n") + "\n{{ end }}\n"
                    task.templates = (task.templates ?? []) + [
                        Template(destPath: SecretVariable.environmentTemplatePath, embeddedTmpl: text, changeMode: "noop", perms: "0600", envvars: true)
                    ]
                }
                job.taskGroups?[groupIndex].tasks?[taskIndex] = task
            }
        }
        guard !items.isEmpty else { return (self.job, nil) }
        items[SecretVariable.nodeItem] = Data(nodeName.utf8).base64EncodedString()
        return (job, SecretVariable(path: path, items: items))
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
