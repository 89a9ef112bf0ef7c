import Foundation
import KubernetesModels
import NomadModels

/// The volume setup wrapper every task with volume mounts starts through: it lays out the mount
/// paths under the task directory (symlinks to the allocation's shared directory for emptyDir, to the
/// host path for hostPath, to the PV's directory for a claim, the `..data` layout for file volumes),
/// then `exec`s the program.
///
/// A mount path `/etc/app` is the task directory's `etc/app`: with the `exec` driver that *is*
/// `/etc/app` (the task directory is the chroot); with `raw_exec` the process reaches it relative to
/// its task directory, and the environment variable ``rootVariable`` names that directory.
public enum VolumeSetup {
    /// Environment variable holding the directory that stands for the container's `/`
    /// (`${NOMAD_TASK_DIR}/..`): a mount at `/etc/app` is `$NOMAD_KUBELET_ROOT/etc/app`.
    public static let rootVariable = "NOMAD_KUBELET_ROOT"
    /// `$0` of the wrapper, so `ps` shows what it is.
    static let wrapperName = "nomad-kubelet-volumes"
    /// Directory under the allocation's, the task's `local/` or `secrets/` holding volume data.
    static let dataDirectory = "nomad-kubelet-volumes"

    /// POSIX sh, no `${`: Nomad would interpolate it in `args`.
    static let script = """
        set -e
        r="$NOMAD_TASK_DIR/.."
        fail() { echo "nomad-kubelet: $*" >&2; exit 1; }
        base() { case "$1" in alloc) echo "$NOMAD_ALLOC_DIR/nomad-kubelet-volumes" ;; local) echo "$NOMAD_TASK_DIR/nomad-kubelet-volumes" ;; *) echo "$NOMAD_SECRETS_DIR/nomad-kubelet-volumes" ;; esac; }
        link() { mkdir -p -- "$(dirname -- "$2")" || fail "cannot create the mount path $3"; if [ ! -L "$2" ]; then rmdir -- "$2" 2>/dev/null || true; ln -s -- "$1" "$2" || fail "cannot create the mount path $3"; fi; }
        inside() { p=$(readlink -f -- "$1" 2>/dev/null || readlink -f -- "$(dirname -- "$1")" 2>/dev/null || echo /nonexistent); q=$(readlink -f -- "$2" 2>/dev/null || echo "$2"); case "$p/" in "$q"/*) return 0 ;; esac; return 1; }
        while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
          case "$1" in
          L) t="$(base "$2")/$3"; [ -z "$4" ] || t="$t/$4"
             if [ "$2" = alloc ]; then mkdir -p -- "$t" && chmod 0777 -- "$(base alloc)/$3" 2>/dev/null || true; fi
             link "$t" "$r$5" "$5"; shift 5 ;;
          V) d="$r$4"; mkdir -p -- "$d" || fail "cannot create the mount path $4"
             [ -L "$d/..data" ] || ln -s -- "$(base "$2")/$3" "$d/..data"
             for p in "$d/..data"/* "$d/..data"/.[!.]*; do [ -e "$p" ] || continue; n=$(basename -- "$p"); [ -L "$d/$n" ] || ln -s -- "..data/$n" "$d/$n"; done
             shift 4 ;;
          H) inside "$3" "$4" || fail "hostPath $3 resolves outside the allowed root $4"
             case "$2" in
             DirectoryOrCreate) [ -d "$3" ] || mkdir -p -- "$3" || fail "cannot create hostPath directory $3" ;;
             FileOrCreate) [ -f "$3" ] || : >> "$3" || fail "cannot create hostPath file $3" ;;
             Directory) [ -d "$3" ] || fail "hostPath $3 is not a directory" ;;
             File) [ -f "$3" ] || fail "hostPath $3 is not a file" ;;
             Socket) [ -S "$3" ] || fail "hostPath $3 is not a socket" ;;
             CharDevice) [ -c "$3" ] || fail "hostPath $3 is not a character device" ;;
             BlockDevice) [ -b "$3" ] || fail "hostPath $3 is not a block device" ;;
             esac
             inside "$3" "$4" || fail "hostPath $3 resolves outside the allowed root $4"
             link "$3" "$r$5" "$5"; shift 5 ;;
          C) [ -d "$2" ] || fail "the volume directory $2 is missing on this Nomad client"
             t="$2"; if [ -n "$3" ]; then t="$2/$3"; [ -d "$t" ] || mkdir -p -- "$t" || fail "cannot create the subPath $3 of $2"; fi
             link "$t" "$r$4" "$4"; shift 4 ;;
          *) fail "unknown volume setup step $1" ;;
          esac
        done
        shift
        exec "$@"
        """
}

/// What a pod's volumes become for one container: templates, setup steps and the file sets the agent syncs.
struct ContainerVolumes {
    var templates: [Template] = []
    var setupArguments: [String] = []
    var fileSets: [VolumeFileSet] = []

    /// `config` run through the setup wrapper, or unchanged when there is nothing to set up.
    func wrap(_ config: TaskConfig) -> TaskConfig {
        guard !setupArguments.isEmpty, let command = config.command else { return config }
        return TaskConfig(command: "/bin/sh", args: ["-c", VolumeSetup.script, VolumeSetup.wrapperName] + setupArguments + ["--", command] + (config.args ?? []))
    }
}

/// Pod volumes → per-task templates and setup steps. Pure; problems go to `report` with field paths.
struct VolumeTranslator {
    typealias Report = (String, TranslationProblem.Kind, String, String) -> Void

    /// What one pod volume is made of.
    enum Plan {
        /// Files rendered from ConfigMaps, Secrets, the downward API or tokens.
        case files([VolumeFile], sensitive: Bool)
        /// A directory of the allocation shared by the pod's tasks.
        case emptyDir
        /// A path of the Nomad client, checked against `root` when the task starts.
        case hostPath(path: String, type: String, root: String)
        /// The directory of a bound claim's PV on the Nomad client the job is pinned to.
        case claim(directory: String)
        /// Refused or left to someone else (already reported); its mounts are not reported again.
        case unavailable
    }

    /// Task-directory names Nomad owns; a mount path under them would collide.
    static let reservedTopDirectories: Set<String> = ["alloc", "local", "secrets", "tmp", "private", "dev", "proc"]
    /// Directories the `exec` driver's chroot copies from the host, owned by root.
    static let chrootSystemDirectories = ["/bin", "/etc", "/lib", "/lib32", "/lib64", "/run/resolvconf", "/sbin", "/usr"]
    static let defaultFileMode = 0o644

    let policy: TranslationPolicy
    let pod: Pod
    let inputs: TranslationContext
    let driver: String

    /// Plans every volume of the pod but those in `skipped` (claims, a token volume without a token),
    /// reporting the ones that cannot be provided.
    func plan(skipping skipped: Set<String>, report: Report) -> [String: Plan] {
        var plans: [String: Plan] = [:]
        for (index, volume) in (pod.spec?.volumes ?? []).enumerated() where !skipped.contains(volume.name) {
            let field = "spec.volumes[\(index)]"
            if !PodTranslator.isDNSLabel(volume.name) {
                report("\(field).name", .invalid, "volume name '\(volume.name.debugDescription)' is not a DNS label", "rename the volume")
                plans[volume.name] = .unavailable
                continue
            }
            if plans[volume.name] != nil {
                report("\(field).name", .invalid, "volume name '\(volume.name)' is used twice", "give every volume a unique name")
                continue
            }
            plans[volume.name] = plan(volume, field: field, report: report)
        }
        return plans
    }

    private func plan(_ volume: Volume, field: String, report: Report) -> Plan {
        if volume.emptyDir != nil { return .emptyDir }
        if let source = volume.configMap {
            var files: [VolumeFile] = []
            guard configMapFiles(source.name, items: source.items, defaultMode: source.defaultMode, optional: source.optional, field: "\(field).configMap", into: &files, report: report)
            else { return .unavailable }
            return .files(files, sensitive: false)
        }
        if let source = volume.secret {
            var files: [VolumeFile] = []
            guard secretFiles(source.secretName, items: source.items, defaultMode: source.defaultMode, optional: source.optional, field: "\(field).secret", into: &files, report: report)
            else { return .unavailable }
            return .files(files, sensitive: true)
        }
        if let source = volume.downwardAPI {
            var files: [VolumeFile] = []
            guard downwardAPIFiles(source.items ?? [], defaultMode: source.defaultMode, field: "\(field).downwardAPI", into: &files, report: report) else { return .unavailable }
            return .files(files, sensitive: false)
        }
        if let projected = volume.projected { return projectedPlan(projected, field: "\(field).projected", report: report) }
        if let hostPath = volume.hostPath { return hostPathPlan(hostPath, field: "\(field).hostPath", report: report) }
        let kind =
            volume.nfs != nil ? "nfs" : volume.csi != nil ? "csi" : volume.ephemeral != nil ? "ephemeral" : volume.image != nil ? "image" : "this volume type"
        report(
            field, .unsupported, "\(kind) volumes cannot be mounted into a host process run by Nomad ('\(volume.name)')",
            "mount the storage on the Nomad clients and use a hostPath under policy.hostPathRoots, or a persistentVolumeClaim")
        return .unavailable
    }

    // MARK: File sources

    /// Adds the files of a ConfigMap (none for a missing optional one); `false` when it is refused.
    private func configMapFiles(
        _ name: String?, items: [KeyToPath]?, defaultMode: Int?, optional: Bool?, field: String, into files: inout [VolumeFile], report: Report
    ) -> Bool {
        guard let name, !name.isEmpty else {
            report("\(field).name", .invalid, "no ConfigMap name", "name the ConfigMap")
            return false
        }
        guard let configMap = inputs.configMaps[name] else {
            if optional == true { return true }
            report("\(field).name", .missing, "configmap \"\(name)\" not found", "create the ConfigMap, or set optional: true")
            return false
        }
        var values: [String: Data] = [:]
        for (key, value) in configMap.data ?? [:] { values[key] = Data(value.utf8) }
        for key in (configMap.binaryData ?? [:]).keys {
            guard let data = try? configMap.binaryValue(forKey: key) else {
                report("\(field).name", .invalid, "configmap \"\(name)\" key \(key) is not valid base64", "fix the ConfigMap's binaryData")
                return false
            }
            values[key] = data
        }
        return keyFiles(values, source: "configmap \"\(name)\"", items: items, defaultMode: defaultMode, optional: optional, field: field, into: &files, report: report)
    }

    private func secretFiles(
        _ name: String?, items: [KeyToPath]?, defaultMode: Int?, optional: Bool?, field: String, into files: inout [VolumeFile], report: Report
    ) -> Bool {
        let nameField = field.hasSuffix(".secret") ? "\(field).secretName" : "\(field).name"
        guard let name, !name.isEmpty else {
            report(nameField, .invalid, "no Secret name", "name the Secret")
            return false
        }
        guard let secret = inputs.secrets[name] else {
            if optional == true { return true }
            report(nameField, .missing, "secret \"\(name)\" not found", "create the Secret, or set optional: true")
            return false
        }
        return keyFiles(secret.effectiveValues, source: "secret \"\(name)\"", items: items, defaultMode: defaultMode, optional: optional, field: field, into: &files, report: report)
    }

    private func keyFiles(
        _ values: [String: Data], source: String, items: [KeyToPath]?, defaultMode: Int?, optional: Bool?, field: String, into files: inout [VolumeFile],
        report: Report
    ) -> Bool {
        guard let mode = checkedMode(defaultMode, field: "\(field).defaultMode", report: report) else { return false }
        guard let items, !items.isEmpty else {
            for key in values.keys.sorted() {
                guard checkedPath(key, field: field, what: "key", report: report) else { return false }
                files.append(VolumeFile(path: key, mode: mode, data: values[key]!))
            }
            return true
        }
        var ok = true
        for (index, item) in items.enumerated() {
            let itemField = "\(field).items[\(index)]"
            guard checkedPath(item.path, field: "\(itemField).path", what: "path", report: report),
                let itemMode = checkedMode(item.mode ?? mode, field: "\(itemField).mode", report: report)
            else {
                ok = false
                continue
            }
            guard let data = values[item.key] else {
                if optional == true { continue }
                report("\(itemField).key", .missing, "\(source) has no key \(item.key)", "add the key, fix the item, or set optional: true")
                ok = false
                continue
            }
            files.append(VolumeFile(path: item.path, mode: itemMode, data: data))
        }
        return ok
    }

    private func downwardAPIFiles(_ items: [DownwardAPIVolumeFile], defaultMode: Int?, field: String, into files: inout [VolumeFile], report: Report) -> Bool {
        guard let mode = checkedMode(defaultMode, field: "\(field).defaultMode", report: report) else { return false }
        var ok = true
        for (index, item) in items.enumerated() {
            let itemField = "\(field).items[\(index)]"
            guard checkedPath(item.path, field: "\(itemField).path", what: "path", report: report),
                let itemMode = checkedMode(item.mode ?? mode, field: "\(itemField).mode", report: report)
            else {
                ok = false
                continue
            }
            if item.resourceFieldRef != nil {
                report("\(itemField).resourceFieldRef", .notYetSupported, "resource fields in downwardAPI volumes are not provided yet", "use an env var with resourceFieldRef")
                ok = false
                continue
            }
            guard let fieldPath = item.fieldRef?.fieldPath, let value = Self.downwardValue(fieldPath, of: pod) else {
                report(
                    "\(itemField).fieldRef", .invalid, "'\(item.fieldRef?.fieldPath ?? "")' is not a field a downwardAPI volume can hold",
                    "use metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations or metadata.labels['KEY']")
                ok = false
                continue
            }
            files.append(VolumeFile(path: item.path, mode: itemMode, data: Data(value.utf8)))
        }
        return ok
    }

    private func projectedPlan(_ projected: ProjectedVolumeSource, field: String, report: Report) -> Plan {
        guard let mode = checkedMode(projected.defaultMode, field: "\(field).defaultMode", report: report) else { return .unavailable }
        var files: [VolumeFile] = []
        var sensitive = false
        var ok = true
        for (index, source) in (projected.sources ?? []).enumerated() {
            let sourceField = "\(field).sources[\(index)]"
            if let configMap = source.configMap {
                ok = (configMapFiles(configMap.name, items: configMap.items, defaultMode: mode, optional: configMap.optional, field: "\(sourceField).configMap", into: &files, report: report)) && ok
            } else if let secret = source.secret {
                sensitive = true
                ok = (secretFiles(secret.name, items: secret.items, defaultMode: mode, optional: secret.optional, field: "\(sourceField).secret", into: &files, report: report)) && ok
            } else if let downward = source.downwardAPI {
                ok = downwardAPIFiles(downward.items ?? [], defaultMode: mode, field: "\(sourceField).downwardAPI", into: &files, report: report) && ok
            } else if let projection = source.serviceAccountToken {
                sensitive = true
                let tokenField = "\(sourceField).serviceAccountToken"
                guard checkedPath(projection.path, field: "\(tokenField).path", what: "path", report: report) else {
                    ok = false
                    continue
                }
                if let seconds = projection.expirationSeconds, seconds < 600 {
                    report("\(tokenField).expirationSeconds", .invalid, "\(seconds) is less than the API's minimum of 600 seconds", "ask for 600 seconds or more")
                    ok = false
                    continue
                }
                let key = ServiceAccountTokenKey(projection)
                guard let token = inputs.serviceAccountTokens[key] else {
                    report(
                        tokenField, .invalid, "no service-account token (\(key)) was obtained for the pod",
                        "let the agent request it (TokenRequest), or set automountServiceAccountToken: false")
                    ok = false
                    continue
                }
                files.append(VolumeFile(path: projection.path, mode: mode, data: Data(token.utf8)))
            } else {
                report(sourceField, .unsupported, "this projection (clusterTrustBundle, podCertificate) is not provided to host processes", "remove the source")
                ok = false
            }
        }
        var seen: Set<String> = []
        for file in files where !seen.insert(file.path).inserted {
            report(field, .invalid, "two sources project the path \(file.path)", "give every projected file its own path")
            ok = false
        }
        return ok ? .files(files, sensitive: sensitive) : .unavailable
    }

    // MARK: Host paths

    private func hostPathPlan(_ source: HostPathVolumeSource, field: String, report: Report) -> Plan {
        let type = source.type ?? ""
        let knownTypes = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"]
        if !knownTypes.contains(type) {
            report("\(field).type", .invalid, "'\(type)' is not a hostPath type", "use one of \(knownTypes.dropFirst().joined(separator: ", ")) or leave it empty")
            return .unavailable
        }
        guard let path = Self.cleanAbsolutePath(source.path) else {
            report(
                "\(field).path", .invalid, "'\(source.path.debugDescription)' is not an absolute path without '..', '${' or NUL",
                "use an absolute path on the Nomad client")
            return .unavailable
        }
        if driver != "raw_exec" {
            report(
                field, .unsupported,
                "the \(driver) driver binds host paths only as host volumes declared in the Nomad client's configuration, which the agent cannot create",
                "run the pod with the raw_exec RuntimeClass (nomad-raw-exec), or use an emptyDir")
            return .unavailable
        }
        let roots = policy.hostPathRoots.compactMap(Self.cleanAbsolutePath)
        guard let root = roots.filter({ path == $0 || $0 == "/" || path.hasPrefix($0 + "/") }).max(by: { $0.count < $1.count }) else {
            report(
                "\(field).path", .policy,
                roots.isEmpty
                    ? "hostPath volumes are not allowed on this node (policy.hostPathRoots is empty)"
                    : "\(path) is not under an allowed root (\(roots.joined(separator: ", ")))",
                "use a path under policy.hostPathRoots, or ask the node's operator to add a root")
            return .unavailable
        }
        return .hostPath(path: path, type: type, root: root)
    }

    // MARK: Mounts

    /// The templates, setup steps and file sets of one container's `volumeMounts` (those of `skipped`
    /// volumes are someone else's); `user` is the task's Unix user.
    func mounts(
        of container: Container, task: String, user: String?, skipping skipped: Set<String>, plans: [String: Plan],
        report: (String, TranslationProblem.Kind, String, String) -> Void
    ) -> ContainerVolumes {
        var result = ContainerVolumes()
        var seededVolumes: Set<String> = []
        var seenPaths: Set<String> = []
        var fileSetIndex: [String: Int] = [:]
        for (index, mount) in (container.volumeMounts ?? []).enumerated() where !skipped.contains(mount.name) {
            let field = ".volumeMounts[\(index)]"
            guard let plan = plans[mount.name] else {
                report("\(field).name", .invalid, "no volume named '\(mount.name)'", "add the volume to spec.volumes or fix the name")
                continue
            }
            guard let mountPath = Self.cleanAbsolutePath(mount.mountPath), mountPath != "/" else {
                report(
                    "\(field).mountPath", .invalid, "'\(mount.mountPath.debugDescription)' is not an absolute path (other than /) without '..', '${' or NUL",
                    "use an absolute path")
                continue
            }
            if !seenPaths.insert(mountPath).inserted {
                report("\(field).mountPath", .invalid, "\(mountPath) is mounted twice", "mount each path once")
                continue
            }
            if mount.subPathExpr != nil {
                report("\(field).subPathExpr", .notYetSupported, "subPathExpr is not expanded yet", "use subPath")
                continue
            }
            var subPath = mount.subPath ?? ""
            if !subPath.isEmpty {
                guard let cleaned = Self.cleanRelativePath(subPath) else {
                    report("\(field).subPath", .invalid, "'\(subPath.debugDescription)' is not a relative path without '..'", "use a path inside the volume")
                    continue
                }
                subPath = cleaned
            }
            let top = String(mountPath.dropFirst().prefix { $0 != "/" })
            if case .emptyDir = plan, mountPath == "/tmp" {
                // Every task has a writable /tmp of its own (exec) or the host's (raw_exec).
                continue
            }
            if case .unavailable = plan { continue }
            if Self.reservedTopDirectories.contains(top) {
                report(
                    "\(field).mountPath", .unsupported, "\(mountPath) collides with Nomad's task directory '\(top)'",
                    "mount the volume elsewhere (e.g. /data/\(mount.name))")
                continue
            }
            if driver == "exec", user != "root", Self.chrootSystemDirectories.contains(where: { mountPath == $0 || mountPath.hasPrefix($0 + "/") }) {
                report(
                    "\(field).mountPath", .unsupported,
                    "with the exec driver \(mountPath) lies in a root-owned copy of the host's system directories, where the task user cannot create the mount",
                    "mount the volume outside \(Self.chrootSystemDirectories.joined(separator: ", "))")
                continue
            }
            switch plan {
            case .emptyDir:
                result.setupArguments += ["L", "alloc", mount.name, subPath, mountPath]
            case .hostPath(let path, let type, let root):
                if !subPath.isEmpty {
                    report("\(field).subPath", .notYetSupported, "subPath of a hostPath volume is not supported yet", "point the hostPath at the sub-directory")
                    continue
                }
                result.setupArguments += ["H", type, path, root, mountPath]
            case .claim(let directory):
                result.setupArguments += ["C", directory, subPath, mountPath]
            case .files(let files, let sensitive):
                let kind = sensitive ? "secrets" : "local"
                if !seededVolumes.contains(mount.name) {
                    seededVolumes.insert(mount.name)
                    for file in files {
                        result.templates.append(
                            Template(
                                destPath: "\(kind)/\(VolumeSetup.dataDirectory)/\(mount.name)/\(file.path)", embeddedTmpl: Self.templateText(file.data),
                                changeMode: "noop", perms: String(format: "%04o", file.mode)))
                    }
                }
                if !subPath.isEmpty {
                    result.setupArguments += ["L", kind, mount.name, subPath, mountPath]
                    continue
                }
                // The names come from the seed directory at start, so the job does not depend on the keys.
                result.setupArguments += ["V", kind, mount.name, mountPath]
                if let existing = fileSetIndex[mount.name] {
                    result.fileSets[existing].mountPaths.append(mountPath)
                } else {
                    fileSetIndex[mount.name] = result.fileSets.count
                    result.fileSets.append(
                        VolumeFileSet(task: task, volume: mount.name, mountPaths: [mountPath], files: files.sorted { $0.path < $1.path }, sensitive: sensitive))
                }
            case .unavailable:
                continue
            }
        }
        return result
    }

    // MARK: Helpers

    /// The text of a pod field for a downwardAPI file, as the kubelet writes it; `nil` for fields volumes cannot hold.
    static func downwardValue(_ fieldPath: String, of pod: Pod) -> String? {
        let metadata = pod.metadata
        switch fieldPath {
        case "metadata.name": return metadata.name ?? ""
        case "metadata.namespace": return metadata.namespace ?? ""
        case "metadata.uid": return metadata.uid ?? ""
        case "metadata.labels": return formatMap(metadata.labels ?? [:])
        case "metadata.annotations": return formatMap(metadata.annotations ?? [:])
        default:
            for (prefix, map) in [("metadata.labels['", metadata.labels), ("metadata.annotations['", metadata.annotations)]
            where fieldPath.hasPrefix(prefix) && fieldPath.hasSuffix("']") {
                let key = String(fieldPath.dropFirst(prefix.count).dropLast(2))
                return map?[key] ?? ""
            }
            return nil
        }
    }

    /// The kubelet's `fieldpath.FormatMap`: `key="value"` lines (Go `%q`), sorted, no final newline.
    static func formatMap(_ map: [String: String]) -> String {
        map.keys.sorted().map { "\($0)=\(goQuoted(map[$0]!))" }.joined(separator: "\n")
    }

    /// Go's `%q` / `strconv.Quote` for the characters Kubernetes values hold.
    static func goQuoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{0B}": result += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += String(format: "\\x%02x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// Template text that renders to exactly `data`: the text itself when consul-template would copy
    /// it unchanged (UTF-8 without `{{`), else one Go string literal action with every byte escaped
    /// as needed (Nomad refuses an empty template, so an empty file is `{{ "" }}` too).
    static func templateText(_ data: Data) -> String {
        if !data.isEmpty, let text = String(data: data, encoding: .utf8), !text.contains("{{") { return text }
        var literal = "{{ \""
        for byte in data {
            switch byte {
            case UInt8(ascii: "\""): literal += "\\\""
            case UInt8(ascii: "\\"): literal += "\\\\"
            case UInt8(ascii: "\n"): literal += "\\n"
            case 0x20..<0x7F: literal.unicodeScalars.append(Unicode.Scalar(byte))
            default: literal += String(format: "\\x%02x", byte)
            }
        }
        return literal + "\" }}"
    }

    /// `path` made canonical (`//` and `/./` folded, no trailing `/`) when absolute and free of `..`,
    /// `${` (Nomad interpolation) and NUL; else `nil`.
    static func cleanAbsolutePath(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.contains("\0"), !path.contains("${") else { return nil }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else { return nil }
        return "/" + components.joined(separator: "/")
    }

    /// `path` canonical when relative, non-empty and free of `..` components, `${` and NUL; else `nil`.
    static func cleanRelativePath(_ path: String) -> String? {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0"), !path.contains("${") else { return nil }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.isEmpty, !components.contains("..") else { return nil }
        return components.joined(separator: "/")
    }

    private func checkedPath(_ path: String, field: String, what: String, report: Report) -> Bool {
        guard let cleaned = Self.cleanRelativePath(path), cleaned == path, !path.hasPrefix("..") else {
            report(field, .invalid, "\(what) '\(path.debugDescription)' must be a relative path without '..', '${' or NUL, not starting with '..'", "fix the \(what)")
            return false
        }
        return true
    }

    private func checkedMode(_ mode: Int?, field: String, report: Report) -> Int? {
        guard let mode else { return Self.defaultFileMode }
        guard (0...0o777).contains(mode) else {
            report(field, .invalid, "\(mode) is not a file mode (0 to 0777, i.e. 0 to 511 in JSON)", "use a mode like 0644 (420)")
            return nil
        }
        return mode
    }
}
