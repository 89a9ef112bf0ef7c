import Foundation
import NomadModels

/// One file of a configMap, secret, downwardAPI or projected volume, as the process sees it.
public struct VolumeFile: Sendable, Hashable {
    /// Path inside the volume (`key`, or an item's `path` such as `conf/app.yaml`).
    public var path: String
    /// Unix permission bits (Kubernetes' `mode`/`defaultMode`, 0644 when unset).
    public var mode: Int
    /// The content.
    public var data: Data

    /// A file.
    public init(path: String, mode: Int, data: Data) {
        self.path = path
        self.mode = mode
        self.data = data
    }
}

/// The files of one volume as mounted in one task: what the agent keeps in step with the volume's
/// sources (ConfigMap, Secret, pod labels, token) while the task runs, without restarting it.
public struct VolumeFileSet: Sendable, Hashable {
    /// The Nomad task.
    public var task: String
    /// The pod volume.
    public var volume: String
    /// The container's mount paths of the volume that follow updates (subPath mounts do not, as in Kubernetes).
    public var mountPaths: [String]
    /// Every file of the volume, sorted by path.
    public var files: [VolumeFile]
    /// Whether the files hold Secret data or tokens (delivered under the task's `secrets/` and never logged).
    public var sensitive: Bool

    /// A hash of paths, modes and contents: equal hashes, equal files.
    public var contentHash: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
        }
        for file in files {
            mix(file.path.utf8)
            mix([0])
            mix(String(file.mode, radix: 8).utf8)
            mix([0])
            mix(String(file.data.count).utf8)
            mix([0])
            mix(file.data)
        }
        return String(hash, radix: 16)
    }
}

/// How volume files get into a running task on Nomad 1.1.2, where changing a job's templates
/// replaces the allocation (`scheduler/util.go` `tasksUpdated` compares `Templates`).
///
/// At start, templates render a seed copy under the task's `local/` or `secrets/`; the volume setup
/// wrapper (see ``VolumeSetup``) lays out the mount directory the Kubernetes way, owned by the task
/// user: `<mount>/..data` → the seed, `<mount>/<name>` → `..data/<name>`. An update is written by
/// the agent through the allocation exec API: ``updateCommand(mountPath:)`` unpacks the tar archive
/// from ``archive(_:)`` (stdin) into a new `..<timestamp>` directory and swaps `..data` with a rename,
/// so readers see the old or the new set, never a mix; the process is not restarted.
public enum VolumeFileSync {
    /// The exec command that replaces the files of the volume mounted at `mountPath` with the
    /// archive read from stdin. Runs as the task user, in the task's environment.
    public static func updateCommand(mountPath: String) -> [String] {
        ["/bin/sh", "-c", updateScript, "nomad-kubelet-volume-update", mountPath]
    }

    static let updateScript = """
        set -e
        d="$NOMAD_TASK_DIR/..$1"
        [ -d "$d" ] || { echo "nomad-kubelet: volume at $1 is not set up in this task" >&2; exit 3; }
        t="..$(date -u +%Y_%m_%d_%H_%M_%S).$$"
        mkdir -- "$d/$t"
        tar -x -p -m -f - -C "$d/$t"
        ln -s -- "$t" "$d/..data_tmp"
        mv -T -f -- "$d/..data_tmp" "$d/..data" 2>/dev/null || { rm -f -- "$d/..data_tmp"; ln -s -f -n -- "$t" "$d/..data"; }
        for p in "$d/$t"/* "$d/$t"/.[!.]*; do
          [ -e "$p" ] || [ -L "$p" ] || continue
          n=$(basename -- "$p")
          [ -L "$d/$n" ] || ln -s -- "..data/$n" "$d/$n"
        done
        for l in "$d"/* "$d"/.[!.]*; do
          [ -L "$l" ] || continue
          case "$(readlink -- "$l")" in ..data/*) [ -e "$l" ] || rm -f -- "$l" ;; esac
        done
        for o in "$d"/..[0-9]*; do [ "$o" = "$d/$t" ] || rm -rf -- "$o"; done
        """

    /// A POSIX ustar archive of `files` (regular files with their modes, parent directories 0755),
    /// or `nil` when a path is too long for ustar (255 bytes).
    public static func archive(_ files: [VolumeFile]) -> Data? {
        var archive = Data()
        var directories: Set<String> = []
        for file in files {
            var parents: [String] = []
            var components = file.path.split(separator: "/").map(String.init)
            components.removeLast()
            var prefix = ""
            for component in components {
                prefix = prefix.isEmpty ? component : "\(prefix)/\(component)"
                if directories.insert(prefix).inserted { parents.append(prefix) }
            }
            for directory in parents {
                guard let header = ustarHeader(path: directory + "/", mode: 0o755, size: 0, type: "5") else { return nil }
                archive.append(header)
            }
            guard let header = ustarHeader(path: file.path, mode: file.mode, size: file.data.count, type: "0") else { return nil }
            archive.append(header)
            archive.append(file.data)
            let padding = (512 - file.data.count % 512) % 512
            archive.append(Data(count: padding))
        }
        archive.append(Data(count: 1024))
        return archive
    }

    private static func ustarHeader(path: String, mode: Int, size: Int, type: Character) -> Data? {
        let bytes = Array(path.utf8)
        var name = bytes
        var prefix: [UInt8] = []
        if bytes.count > 100 {
            // Split at a '/' so that the prefix is at most 155 bytes and the name at most 100.
            guard let split = bytes.indices.last(where: { bytes[$0] == UInt8(ascii: "/") && $0 <= 155 && bytes.count - $0 - 1 <= 100 }) else { return nil }
            prefix = Array(bytes[..<split])
            name = Array(bytes[(split + 1)...])
        }
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ field: [UInt8], at offset: Int) {
            for (index, byte) in field.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(mode & 0o7777, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        put(Array(String(type).utf8), at: 156)
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(prefix, at: 345)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(Array((String(repeating: "0", count: max(0, 6 - String(checksum, radix: 8).count)) + String(checksum, radix: 8)).utf8) + [0, UInt8(ascii: " ")], at: 148)
        return Data(header)
    }
}

extension PodTranslation {
    /// ``redactedJob`` without its volume file templates: equal for two translations that differ
    /// only in ConfigMap/Secret/token/label content (even in which keys exist), which the agent writes
    /// into running tasks instead of re-registering (a template change would replace the allocation).
    /// What the agent hashes to detect spec changes.
    public var jobIgnoringVolumeContent: NomadModels.Job { VolumeSetup.mappingVolumeTemplates(redactedJob) { _ in nil } }
}

extension VolumeSetup {
    /// Whether a template renders a volume file (rather than being the job author's own).
    static func isVolumeTemplate(_ template: Template) -> Bool {
        let destination = template.destPath ?? ""
        return ["local/", "secrets/"].contains { destination.hasPrefix("\($0)\(dataDirectory)/") }
    }

    /// `job` with the embedded text of every volume template replaced by what `replacement` maps it
    /// to (`nil` removes the template).
    static func mappingVolumeTemplates(_ job: NomadModels.Job, _ replacement: (Template) -> String?) -> NomadModels.Job {
        var job = job
        for groupIndex in (job.taskGroups ?? []).indices {
            for taskIndex in (job.taskGroups?[groupIndex].tasks ?? []).indices {
                guard let templates = job.taskGroups?[groupIndex].tasks?[taskIndex].templates else { continue }
                let mapped = templates.compactMap { template -> Template? in
                    guard isVolumeTemplate(template) else { return template }
                    guard let text = replacement(template) else { return nil }
                    var template = template
                    template.embeddedTmpl = text
                    return template
                }
                job.taskGroups?[groupIndex].tasks?[taskIndex].templates = mapped.isEmpty ? nil : mapped
            }
        }
        return job
    }
}
