import Foundation

/// A `nomad-kubelet.io/v1alpha1` PseudoImage: a cluster-scoped catalogue entry naming a program a
/// pseudo-container can run (`image: nomad-kubelet.io/<name>:<tag>`). Defined by
/// manifests/pseudoimage-crd.yaml; docs/pseudo-containers.md explains every field.
public struct PseudoImage: KubernetesResource, Hashable {
    public static let group = "nomad-kubelet.io"
    public static let version = "v1alpha1"
    public static let kind = "PseudoImage"
    public static let plural = "pseudoimages"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PseudoImageSpec

    /// Creates a `PseudoImage`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), spec: PseudoImageSpec = PseudoImageSpec()) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
    }

    /// Decodes leniently: a missing `metadata` or `spec` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(PseudoImageSpec.self, forKey: .spec) ?? PseudoImageSpec()
    }
}

/// What a PseudoImage runs: its tags (each a source of the program) and the defaults shared by all tags.
public struct PseudoImageSpec: Codable, Sendable, Hashable {
    /// A human description, shown by `kubectl get pseudoimages -o wide`.
    public var description: String?
    /// The versions that can run; a container names one as `<name>:<tag>`.
    public var tags: [PseudoImageTag]
    /// Program and arguments used when the container sets no `command`; a relative first word is
    /// resolved against the tag's source (its host directory or unpacked artifact).
    public var command: [String]?
    /// Arguments used when the container sets neither `command` nor `args`.
    public var args: [String]?
    /// The Unix user name the program runs as (Nomad's task `user`).
    public var user: String?
    /// The numeric id of `user`, when known, so `runAsUser`/`runAsNonRoot` can be checked.
    public var uid: Int64?
    /// Nomad drivers the program may run under (`raw_exec`, `exec`); empty or absent means any.
    public var allowedDrivers: [String]?

    /// Creates a `PseudoImageSpec`.
    public init(
        description: String? = nil, tags: [PseudoImageTag] = [], command: [String]? = nil, args: [String]? = nil, user: String? = nil, uid: Int64? = nil,
        allowedDrivers: [String]? = nil
    ) {
        self.description = description
        self.tags = tags
        self.command = command
        self.args = args
        self.user = user
        self.uid = uid
        self.allowedDrivers = allowedDrivers
    }

    /// Decodes leniently: absent `tags` read as none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        tags = try container.decodeIfPresent([PseudoImageTag].self, forKey: .tags) ?? []
        command = try container.decodeIfPresent([String].self, forKey: .command)
        args = try container.decodeIfPresent([String].self, forKey: .args)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        uid = try container.decodeIfPresent(Int64.self, forKey: .uid)
        allowedDrivers = try container.decodeIfPresent([String].self, forKey: .allowedDrivers)
    }
}

/// One tag of a PseudoImage: where the program comes from, and optional per-tag defaults.
public struct PseudoImageTag: Codable, Sendable, Hashable {
    /// The tag, e.g. `16` in `nomad-kubelet.io/postgres:16`.
    public var name: String
    /// A directory on every Nomad client holding the installed program (exclusive with `url`).
    public var hostPath: String?
    /// An https URL of an archive (`.tar.gz`, `.tgz`, `.tar`, `.zip`...) or a single file that
    /// Nomad downloads and unpacks into the task directory (exclusive with `hostPath`).
    public var url: String?
    /// `sha256:<hex>` (or `sha512:`/`sha1:`/`md5:`) of the download; mandatory for `url` unless the
    /// node allows unverified artifacts.
    public var checksum: String?
    /// Replaces the image's default command for this tag.
    public var command: [String]?
    /// Replaces the image's default arguments for this tag.
    public var args: [String]?

    /// Creates a `PseudoImageTag`.
    public init(name: String, hostPath: String? = nil, url: String? = nil, checksum: String? = nil, command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.hostPath = hostPath
        self.url = url
        self.checksum = checksum
        self.command = command
        self.args = args
    }
}
