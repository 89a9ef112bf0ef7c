/// How a Pod and its Nomad job name each other. Every rule here is part of the on-disk contract
/// between agent releases (jobs outlive the agent), so none of them may change.
///
/// - Job ID: `<namespace>.<name>.<uid8>`, where `uid8` is the first 8 hex digits of the Pod's uid
///   (lower-cased, dashes removed). When the uid is not a UUID, `uid8` is the FNV-1a 32-bit hash of
///   the uid in hex. When `<namespace>.<name>` holds a character outside `[A-Za-z0-9._-]`, or the ID
///   would exceed ``maximumJobIDLength``, the readable part is cleaned (other characters become `-`),
///   cut to fit, and followed by `-` and 10 hex digits of the FNV-1a 64-bit hash of
///   `<namespace>/<name>`, so distinct pods never share an ID.
/// - Job Name = Job ID.
/// - Job Meta: `k8s.namespace`, `k8s.pod`, `k8s.uid`, `k8s.node` (the agent's Node name).
/// - Task group `pod`; one task per container, named as the container, except `alloc` (a name Nomad
///   reserves) which becomes `alloc_` (an underscore cannot occur in a container name).
/// - containerID: `nomad://<allocation ID>/<task name>`.
public struct PodJobIdentity: Sendable, Hashable {
    /// Job Meta key holding the Pod's namespace.
    public static let namespaceMetaKey = "k8s.namespace"
    /// Job Meta key holding the Pod's name.
    public static let podMetaKey = "k8s.pod"
    /// Job Meta key holding the Pod's uid.
    public static let uidMetaKey = "k8s.uid"
    /// Job Meta key holding the Kubernetes Node name of the agent that owns the job.
    public static let nodeMetaKey = "k8s.node"
    /// Task Meta key holding the restart count the container had before this job version
    /// (an image change starts a new allocation, whose `Restarts` start at 0).
    public static let restartCountBaseMetaKey = "k8s.restart-count-base"
    /// The one task group of every pod job.
    public static let taskGroupName = "pod"
    /// Longest job ID produced; keeps IDs readable in URLs, allocation names and logs.
    public static let maximumJobIDLength = 128

    /// The Pod's namespace.
    public var namespace: String
    /// The Pod's name.
    public var name: String
    /// The Pod's uid.
    public var uid: String
    /// The agent's Kubernetes Node name.
    public var nodeName: String

    /// An identity from its parts.
    public init(namespace: String, name: String, uid: String, nodeName: String) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.nodeName = nodeName
    }

    /// Reads the identity back from a job's Meta (a full job or a list stub with `meta=true`).
    public init(jobID: String, meta: [String: String]?) throws(TranslationError) {
        let keys = [Self.namespaceMetaKey, Self.podMetaKey, Self.uidMetaKey, Self.nodeMetaKey]
        let missing = keys.filter { (meta?[$0] ?? "").isEmpty }
        guard missing.isEmpty, let meta else { throw .jobNotFromPod(jobID: jobID, missingKeys: missing) }
        self.init(namespace: meta[Self.namespaceMetaKey]!, name: meta[Self.podMetaKey]!, uid: meta[Self.uidMetaKey]!, nodeName: meta[Self.nodeMetaKey]!)
    }

    /// The Meta written on the job.
    public var meta: [String: String] {
        [Self.namespaceMetaKey: namespace, Self.podMetaKey: name, Self.uidMetaKey: uid, Self.nodeMetaKey: nodeName]
    }

    /// The Nomad job ID (see the type's documentation for the rule).
    public var jobID: String { Self.jobID(namespace: namespace, name: name, uid: uid) }

    /// The Nomad job ID for a Pod's namespace, name and uid.
    public static func jobID(namespace: String, name: String, uid: String) -> String {
        let readable = "\(namespace).\(name)"
        let suffix = uidSuffix(uid)
        let plainFits = readable.utf8.count + 1 + suffix.count <= maximumJobIDLength
        if plainFits, readable.unicodeScalars.allSatisfy(isPlain) {
            return "\(readable).\(suffix)"
        }
        let hash = String(hex(fnv1a64(Array("\(namespace)/\(name)".utf8)), digits: 10))
        let room = maximumJobIDLength - 1 - hash.count - 1 - suffix.count
        var cleaned = ""
        for scalar in readable.unicodeScalars.prefix(room) {
            cleaned.unicodeScalars.append(isPlain(scalar) ? scalar : "-")
        }
        return "\(cleaned)-\(hash).\(suffix)"
    }

    /// The Nomad task name for a container name.
    public static func taskName(forContainer container: String) -> String {
        container == "alloc" ? "alloc_" : container
    }

    /// The container name for a Nomad task name (inverse of ``taskName(forContainer:)``).
    public static func containerName(forTask task: String) -> String {
        task == "alloc_" ? "alloc" : task
    }

    /// `nomad://<allocation>/<task>`, the containerID reported in container statuses.
    public static func containerID(allocationID: String, task: String) -> String {
        "nomad://\(allocationID)/\(task)"
    }

    private static func isPlain(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }

    private static func uidSuffix(_ uid: String) -> String {
        let hexDigits = uid.lowercased().filter { $0 != "-" }
        let isUUID = uid.count == 36 && hexDigits.count == 32 && hexDigits.allSatisfy(\.isHexDigit) && hexDigits.allSatisfy(\.isASCII)
        if isUUID { return String(hexDigits.prefix(8)) }
        return hex(UInt64(fnv1a32(Array(uid.utf8))), digits: 8)
    }

    private static func fnv1a32(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    private static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - text.count)) + text
        return String(padded.suffix(digits))
    }
}
