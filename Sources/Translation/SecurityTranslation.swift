import KubernetesModels

/// The Unix user a task runs as and the security settings checked against it. Nomad's task `user` is
/// a name, so the user comes from the ``PodTranslator/userAnnotation`` annotation, else the
/// PseudoImage, else ``TranslationPolicy/taskUser``; numeric `runAsUser` is compared with the
/// user's id when that is known (root is 0; a PseudoImage may state its user's `uid`).
struct TaskSecurity {
    var user: String?
    var problems: [TranslationProblem] = []
    var warnings: [TranslationProblem] = []

    /// Settings that restrict a process further than Nomad can: accepted, not enforced, with a warning.
    static let unenforcedRestrictions = ["readOnlyRootFilesystem", "capabilities.drop", "seccompProfile", "appArmorProfile", "seLinuxOptions", "procMount"]

    init(pod: Pod, container: Container, field: String, image: ImageResolution, policy: TranslationPolicy) {
        let annotated = pod.metadata.annotations?[PodTranslator.userAnnotation].flatMap { $0.isEmpty ? nil : $0 }
        user = annotated ?? image.user ?? policy.taskUser
        let uid: Int64? =
            user == "root" ? 0 : (annotated == nil && image.user != nil && image.user == user ? image.uid : nil)
        if let annotated {
            if annotated.contains("\0") || annotated.contains("\n") || annotated.count > 256 {
                report("metadata.annotations['\(PodTranslator.userAnnotation)']", .invalid, "'\(annotated.debugDescription)' is not a user name", "name a Unix user of the Nomad clients")
            } else if annotated == "root" || annotated == "0", !policy.allowPrivileged {
                report(
                    "metadata.annotations['\(PodTranslator.userAnnotation)']", .policy, "running as root is privileged and this node does not allow privileged pods",
                    "run as an unprivileged user, or set policy.allowPrivileged on the node")
            }
        }

        let podContext = pod.spec?.securityContext
        let containerContext = container.securityContext
        let runAsUser = containerContext?.runAsUser ?? podContext?.runAsUser
        let runAsUserField = containerContext?.runAsUser != nil ? "\(field).securityContext.runAsUser" : "spec.securityContext.runAsUser"
        let runAsNonRoot = containerContext?.runAsNonRoot ?? podContext?.runAsNonRoot
        let runAsNonRootField = containerContext?.runAsNonRoot != nil ? "\(field).securityContext.runAsNonRoot" : "spec.securityContext.runAsNonRoot"
        if let runAsUser {
            if let uid, uid != runAsUser {
                report(
                    runAsUserField, .unsupported, "the task runs as '\(user ?? "")' (uid \(uid)), not uid \(runAsUser); Nomad can only run a task as a named user",
                    "remove runAsUser, or set it to \(uid), or run as another user with the \(PodTranslator.userAnnotation) annotation")
            } else if uid == nil {
                warnings.append(
                    TranslationProblem(
                        field: runAsUserField, kind: .unsupported,
                        reason: "runAsUser \(runAsUser) cannot be checked: the task runs as '\(user ?? "the Nomad client's user")', whose uid is not known here",
                        fix: "state the user's uid in the PseudoImage (spec.uid), or remove runAsUser"))
            }
        }
        if runAsNonRoot == true {
            if user == nil {
                report(
                    runAsNonRootField, .policy, "tasks on this node run as the Nomad client's user, usually root",
                    "set policy.defaultUser on the node, a user in the PseudoImage, or the \(PodTranslator.userAnnotation) annotation")
            } else if uid == 0 || runAsUser == 0 {
                report(runAsNonRootField, .invalid, "the task would run as root", "run as an unprivileged user or remove runAsNonRoot")
            }
        }
        if let group = containerContext?.runAsGroup ?? podContext?.runAsGroup {
            let groupField = containerContext?.runAsGroup != nil ? "\(field).securityContext.runAsGroup" : "spec.securityContext.runAsGroup"
            report(groupField, .unsupported, "Nomad runs a task with its user's own groups, so group \(group) cannot be set", "remove runAsGroup")
        }
        if !policy.allowPrivileged {
            if containerContext?.privileged == true {
                report("\(field).securityContext.privileged", .policy, "this node does not allow privileged pods", "remove privileged, or set policy.allowPrivileged on the node")
            }
            if let added = containerContext?.capabilities?.add, !added.isEmpty {
                report(
                    "\(field).securityContext.capabilities.add", .policy, "adding capabilities (\(added.joined(separator: ", "))) is privileged and this node does not allow it",
                    "remove the capabilities, or set policy.allowPrivileged on the node")
            }
            if containerContext?.allowPrivilegeEscalation == true {
                report(
                    "\(field).securityContext.allowPrivilegeEscalation", .policy, "privilege escalation is not allowed on this node",
                    "remove allowPrivilegeEscalation, or set policy.allowPrivileged on the node")
            }
        }
        var unenforced: [String] = []
        if containerContext?.readOnlyRootFilesystem == true { unenforced.append("readOnlyRootFilesystem") }
        if !(containerContext?.capabilities?.drop ?? []).isEmpty { unenforced.append("capabilities.drop") }
        if containerContext?.seccompProfile != nil || podContext?.seccompProfile != nil { unenforced.append("seccompProfile") }
        if containerContext?.appArmorProfile != nil || podContext?.appArmorProfile != nil { unenforced.append("appArmorProfile") }
        if containerContext?.seLinuxOptions != nil || podContext?.seLinuxOptions != nil { unenforced.append("seLinuxOptions") }
        if !unenforced.isEmpty {
            warnings.append(
                TranslationProblem(
                    field: "\(field).securityContext", kind: .unsupported,
                    reason: "\(unenforced.joined(separator: ", ")) restrict a container further than a host process run by Nomad can be; not enforced",
                    fix: "rely on the task user's permissions, or use the exec driver (RuntimeClass nomad-exec) for isolation",
                    eventReason: "SecurityContextNotEnforced"))
        }
    }

    private mutating func report(_ field: String, _ kind: TranslationProblem.Kind, _ reason: String, _ fix: String) {
        problems.append(TranslationProblem(field: field, kind: kind, reason: reason, fix: fix))
    }
}
