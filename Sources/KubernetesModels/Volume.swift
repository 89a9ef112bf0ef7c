import Foundation

/// A named volume of a Pod; exactly one source is set. Sources the agent cannot serve are kept as raw JSON by the
/// client.
public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var hostPath: HostPathVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?
    public var secret: SecretVolumeSource?
    public var persistentVolumeClaim: PersistentVolumeClaimVolumeSource?
    public var downwardAPI: DownwardAPIVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var csi: JSONValue?
    public var ephemeral: JSONValue?
    public var image: JSONValue?
    public var nfs: JSONValue?

    /// Creates a `Volume`.
    public init(
        name: String,
        hostPath: HostPathVolumeSource? = nil,
        emptyDir: EmptyDirVolumeSource? = nil,
        secret: SecretVolumeSource? = nil,
        persistentVolumeClaim: PersistentVolumeClaimVolumeSource? = nil,
        downwardAPI: DownwardAPIVolumeSource? = nil,
        configMap: ConfigMapVolumeSource? = nil,
        projected: ProjectedVolumeSource? = nil,
        csi: JSONValue? = nil,
        ephemeral: JSONValue? = nil,
        image: JSONValue? = nil,
        nfs: JSONValue? = nil
    ) {
        self.name = name
        self.hostPath = hostPath
        self.emptyDir = emptyDir
        self.secret = secret
        self.persistentVolumeClaim = persistentVolumeClaim
        self.downwardAPI = downwardAPI
        self.configMap = configMap
        self.projected = projected
        self.csi = csi
        self.ephemeral = ephemeral
        self.image = image
        self.nfs = nfs
    }
}

/// A file or directory of the host.
public struct HostPathVolumeSource: Codable, Sendable, Hashable {
    public var path: String
    /// `""`, `DirectoryOrCreate`, `Directory`, `FileOrCreate`, `File`, `Socket`, `CharDevice`, `BlockDevice`.
    public var type: String?

    /// Creates a `HostPathVolumeSource`.
    public init(path: String, type: String? = nil) {
        self.path = path
        self.type = type
    }
}

/// A scratch directory that lives as long as the Pod.
public struct EmptyDirVolumeSource: Codable, Sendable, Hashable {
    /// `""` (disk) or `Memory`.
    public var medium: String?
    public var sizeLimit: Quantity?

    /// Creates an `EmptyDirVolumeSource`.
    public init(medium: String? = nil, sizeLimit: Quantity? = nil) {
        self.medium = medium
        self.sizeLimit = sizeLimit
    }
}

/// A Secret's keys as files.
public struct SecretVolumeSource: Codable, Sendable, Hashable {
    public var secretName: String?
    /// Only these keys, at these paths; all keys when absent.
    public var items: [KeyToPath]?
    /// File mode bits (JSON decimal, e.g. 420 for 0644).
    public var defaultMode: Int?
    public var optional: Bool?

    /// Creates a `SecretVolumeSource`.
    public init(secretName: String? = nil, items: [KeyToPath]? = nil, defaultMode: Int? = nil, optional: Bool? = nil) {
        self.secretName = secretName
        self.items = items
        self.defaultMode = defaultMode
        self.optional = optional
    }
}

/// A ConfigMap's keys as files.
public struct ConfigMapVolumeSource: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int?
    public var optional: Bool?

    /// Creates a `ConfigMapVolumeSource`.
    public init(name: String? = nil, items: [KeyToPath]? = nil, defaultMode: Int? = nil, optional: Bool? = nil) {
        self.name = name
        self.items = items
        self.defaultMode = defaultMode
        self.optional = optional
    }
}

/// A key projected to a relative path, optionally with its own mode.
public struct KeyToPath: Codable, Sendable, Hashable {
    public var key: String
    public var path: String
    public var mode: Int?

    /// Creates a `KeyToPath`.
    public init(key: String, path: String, mode: Int? = nil) {
        self.key = key
        self.path = path
        self.mode = mode
    }
}

/// The volume bound to a PersistentVolumeClaim of the Pod's namespace.
public struct PersistentVolumeClaimVolumeSource: Codable, Sendable, Hashable {
    public var claimName: String
    public var readOnly: Bool?

    /// Creates a `PersistentVolumeClaimVolumeSource`.
    public init(claimName: String, readOnly: Bool? = nil) {
        self.claimName = claimName
        self.readOnly = readOnly
    }
}

/// Pod fields and container resources as files.
public struct DownwardAPIVolumeSource: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?
    public var defaultMode: Int?

    /// Creates a `DownwardAPIVolumeSource`.
    public init(items: [DownwardAPIVolumeFile]? = nil, defaultMode: Int? = nil) {
        self.items = items
        self.defaultMode = defaultMode
    }
}

/// One downward API file: a Pod field or a container resource.
public struct DownwardAPIVolumeFile: Codable, Sendable, Hashable {
    public var path: String
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int?

    /// Creates a `DownwardAPIVolumeFile`.
    public init(
        path: String,
        fieldRef: ObjectFieldSelector? = nil,
        resourceFieldRef: ResourceFieldSelector? = nil,
        mode: Int? = nil
    ) {
        self.path = path
        self.fieldRef = fieldRef
        self.resourceFieldRef = resourceFieldRef
        self.mode = mode
    }
}

/// Several sources projected into one directory (e.g. the automatic `kube-api-access-*` volume).
public struct ProjectedVolumeSource: Codable, Sendable, Hashable {
    public var sources: [VolumeProjection]?
    public var defaultMode: Int?

    /// Creates a `ProjectedVolumeSource`.
    public init(sources: [VolumeProjection]? = nil, defaultMode: Int? = nil) {
        self.sources = sources
        self.defaultMode = defaultMode
    }
}

/// One source of a projected volume; exactly one field is set.
public struct VolumeProjection: Codable, Sendable, Hashable {
    public var secret: SecretProjection?
    public var downwardAPI: DownwardAPIProjection?
    public var configMap: ConfigMapProjection?
    public var serviceAccountToken: ServiceAccountTokenProjection?
    public var clusterTrustBundle: JSONValue?
    public var podCertificate: JSONValue?

    /// Creates a `VolumeProjection`.
    public init(
        secret: SecretProjection? = nil,
        downwardAPI: DownwardAPIProjection? = nil,
        configMap: ConfigMapProjection? = nil,
        serviceAccountToken: ServiceAccountTokenProjection? = nil,
        clusterTrustBundle: JSONValue? = nil,
        podCertificate: JSONValue? = nil
    ) {
        self.secret = secret
        self.downwardAPI = downwardAPI
        self.configMap = configMap
        self.serviceAccountToken = serviceAccountToken
        self.clusterTrustBundle = clusterTrustBundle
        self.podCertificate = podCertificate
    }
}

/// A Secret's keys in a projected volume.
public struct SecretProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?

    /// Creates a `SecretProjection`.
    public init(name: String? = nil, items: [KeyToPath]? = nil, optional: Bool? = nil) {
        self.name = name
        self.items = items
        self.optional = optional
    }
}

/// A ConfigMap's keys in a projected volume.
public struct ConfigMapProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?

    /// Creates a `ConfigMapProjection`.
    public init(name: String? = nil, items: [KeyToPath]? = nil, optional: Bool? = nil) {
        self.name = name
        self.items = items
        self.optional = optional
    }
}

/// Downward API files in a projected volume.
public struct DownwardAPIProjection: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?

    /// Creates a `DownwardAPIProjection`.
    public init(items: [DownwardAPIVolumeFile]? = nil) {
        self.items = items
    }
}

/// A bound service account token the kubelet requests (TokenRequest) and refreshes.
public struct ServiceAccountTokenProjection: Codable, Sendable, Hashable {
    /// Defaults to the API server's audience.
    public var audience: String?
    /// Default 3600; the server adds 7 seconds (3607) to spot stale tokens.
    public var expirationSeconds: Int64?
    public var path: String

    /// Creates a `ServiceAccountTokenProjection`.
    public init(audience: String? = nil, expirationSeconds: Int64? = nil, path: String) {
        self.audience = audience
        self.expirationSeconds = expirationSeconds
        self.path = path
    }
}
