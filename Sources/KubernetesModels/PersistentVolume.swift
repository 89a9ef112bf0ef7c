import Foundation

/// A core/v1 PersistentVolumeClaim: a Pod's request for storage.
public struct PersistentVolumeClaim: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "PersistentVolumeClaim"
    public static let plural = "persistentvolumeclaims"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeClaimSpec?
    public var status: PersistentVolumeClaimStatus?

    /// Creates a `PersistentVolumeClaim`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        spec: PersistentVolumeClaimSpec? = nil,
        status: PersistentVolumeClaimStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(PersistentVolumeClaimSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(PersistentVolumeClaimStatus.self, forKey: .status)
    }
}

/// What storage a claim asks for.
public struct PersistentVolumeClaimSpec: Codable, Sendable, Hashable {
    /// `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany`, `ReadWriteOncePod`.
    public var accessModes: [String]?
    public var selector: LabelSelector?
    /// `requests.storage` is the size asked for.
    public var resources: VolumeResourceRequirements?
    /// The bound PersistentVolume.
    public var volumeName: String?
    public var storageClassName: String?
    /// `Filesystem` (default) or `Block`.
    public var volumeMode: String?
    public var dataSource: TypedLocalObjectReference?
    public var dataSourceRef: TypedObjectReference?
    public var volumeAttributesClassName: String?

    /// Creates a `PersistentVolumeClaimSpec`.
    public init(
        accessModes: [String]? = nil,
        selector: LabelSelector? = nil,
        resources: VolumeResourceRequirements? = nil,
        volumeName: String? = nil,
        storageClassName: String? = nil,
        volumeMode: String? = nil,
        dataSource: TypedLocalObjectReference? = nil,
        dataSourceRef: TypedObjectReference? = nil,
        volumeAttributesClassName: String? = nil
    ) {
        self.accessModes = accessModes
        self.selector = selector
        self.resources = resources
        self.volumeName = volumeName
        self.storageClassName = storageClassName
        self.volumeMode = volumeMode
        self.dataSource = dataSource
        self.dataSourceRef = dataSourceRef
        self.volumeAttributesClassName = volumeAttributesClassName
    }
}

/// Storage requests and limits of a claim.
public struct VolumeResourceRequirements: Codable, Sendable, Hashable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?

    /// Creates a `VolumeResourceRequirements`.
    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

/// A typed reference to an object in the same namespace.
public struct TypedLocalObjectReference: Codable, Sendable, Hashable {
    public var apiGroup: String?
    public var kind: String
    public var name: String

    /// Creates a `TypedLocalObjectReference`.
    public init(apiGroup: String? = nil, kind: String, name: String) {
        self.apiGroup = apiGroup
        self.kind = kind
        self.name = name
    }
}

/// A typed reference to an object, possibly in another namespace.
public struct TypedObjectReference: Codable, Sendable, Hashable {
    public var apiGroup: String?
    public var kind: String
    public var name: String
    public var namespace: String?

    /// Creates a `TypedObjectReference`.
    public init(apiGroup: String? = nil, kind: String, name: String, namespace: String? = nil) {
        self.apiGroup = apiGroup
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }
}

/// The state of a claim: `Pending`, `Bound` or `Lost`.
public struct PersistentVolumeClaimStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var accessModes: [String]?
    public var capacity: [String: Quantity]?
    public var conditions: [PersistentVolumeClaimCondition]?
    public var allocatedResources: [String: Quantity]?
    public var allocatedResourceStatuses: [String: String]?
    public var currentVolumeAttributesClassName: String?

    /// Creates a `PersistentVolumeClaimStatus`.
    public init(
        phase: String? = nil,
        accessModes: [String]? = nil,
        capacity: [String: Quantity]? = nil,
        conditions: [PersistentVolumeClaimCondition]? = nil,
        allocatedResources: [String: Quantity]? = nil,
        allocatedResourceStatuses: [String: String]? = nil,
        currentVolumeAttributesClassName: String? = nil
    ) {
        self.phase = phase
        self.accessModes = accessModes
        self.capacity = capacity
        self.conditions = conditions
        self.allocatedResources = allocatedResources
        self.allocatedResourceStatuses = allocatedResourceStatuses
        self.currentVolumeAttributesClassName = currentVolumeAttributesClassName
    }
}

/// One condition of a claim, e.g. `Resizing`.
public struct PersistentVolumeClaimCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastProbeTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    /// Creates a `PersistentVolumeClaimCondition`.
    public init(
        type: String,
        status: String,
        lastProbeTime: Time? = nil,
        lastTransitionTime: Time? = nil,
        reason: String? = nil,
        message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastProbeTime = lastProbeTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// Selects objects by labels: all `matchLabels` and all `matchExpressions` must match.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    /// Creates a `LabelSelector`.
    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }
}

/// One label expression: `In`, `NotIn`, `Exists` or `DoesNotExist`.
public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: String
    public var values: [String]?

    /// Creates a `LabelSelectorRequirement`.
    public init(key: String, `operator`: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}

/// A core/v1 PersistentVolume: a piece of storage a claim binds to.
public struct PersistentVolume: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "PersistentVolume"
    public static let plural = "persistentvolumes"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeSpec?
    public var status: PersistentVolumeStatus?

    /// Creates a `PersistentVolume`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), spec: PersistentVolumeSpec? = nil, status: PersistentVolumeStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(PersistentVolumeSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(PersistentVolumeStatus.self, forKey: .status)
    }
}

/// What a PersistentVolume is and where it lives; one volume source is set.
public struct PersistentVolumeSpec: Codable, Sendable, Hashable {
    public var capacity: [String: Quantity]?
    public var accessModes: [String]?
    /// The claim bound to this volume.
    public var claimRef: ObjectReference?
    /// `Retain`, `Delete` or `Recycle`.
    public var persistentVolumeReclaimPolicy: String?
    public var storageClassName: String?
    public var mountOptions: [String]?
    public var volumeMode: String?
    /// The nodes that can reach this volume (required for `local`).
    public var nodeAffinity: VolumeNodeAffinity?
    public var volumeAttributesClassName: String?
    public var hostPath: HostPathVolumeSource?
    public var local: LocalVolumeSource?
    public var csi: JSONValue?
    public var nfs: JSONValue?

    /// Creates a `PersistentVolumeSpec`.
    public init(
        capacity: [String: Quantity]? = nil,
        accessModes: [String]? = nil,
        claimRef: ObjectReference? = nil,
        persistentVolumeReclaimPolicy: String? = nil,
        storageClassName: String? = nil,
        mountOptions: [String]? = nil,
        volumeMode: String? = nil,
        nodeAffinity: VolumeNodeAffinity? = nil,
        volumeAttributesClassName: String? = nil,
        hostPath: HostPathVolumeSource? = nil,
        local: LocalVolumeSource? = nil,
        csi: JSONValue? = nil,
        nfs: JSONValue? = nil
    ) {
        self.capacity = capacity
        self.accessModes = accessModes
        self.claimRef = claimRef
        self.persistentVolumeReclaimPolicy = persistentVolumeReclaimPolicy
        self.storageClassName = storageClassName
        self.mountOptions = mountOptions
        self.volumeMode = volumeMode
        self.nodeAffinity = nodeAffinity
        self.volumeAttributesClassName = volumeAttributesClassName
        self.hostPath = hostPath
        self.local = local
        self.csi = csi
        self.nfs = nfs
    }
}

/// A local disk, partition or directory of one node.
public struct LocalVolumeSource: Codable, Sendable, Hashable {
    public var path: String
    public var fsType: String?

    /// Creates a `LocalVolumeSource`.
    public init(path: String, fsType: String? = nil) {
        self.path = path
        self.fsType = fsType
    }
}

/// The nodes a volume can be used from.
public struct VolumeNodeAffinity: Codable, Sendable, Hashable {
    public var required: NodeSelector?

    /// Creates a `VolumeNodeAffinity`.
    public init(required: NodeSelector? = nil) {
        self.required = required
    }
}

/// Selects nodes: any one of the terms must match.
public struct NodeSelector: Codable, Sendable, Hashable {
    public var nodeSelectorTerms: [NodeSelectorTerm]

    /// Creates a `NodeSelector`.
    public init(nodeSelectorTerms: [NodeSelectorTerm] = []) {
        self.nodeSelectorTerms = nodeSelectorTerms
    }

    /// Decodes leniently: `nodeSelectorTerms` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeSelectorTerms = try container.decodeIfPresent([NodeSelectorTerm].self, forKey: .nodeSelectorTerms) ?? []
    }
}

/// All of its requirements must match.
public struct NodeSelectorTerm: Codable, Sendable, Hashable {
    public var matchExpressions: [NodeSelectorRequirement]?
    public var matchFields: [NodeSelectorRequirement]?

    /// Creates a `NodeSelectorTerm`.
    public init(matchExpressions: [NodeSelectorRequirement]? = nil, matchFields: [NodeSelectorRequirement]? = nil) {
        self.matchExpressions = matchExpressions
        self.matchFields = matchFields
    }
}

/// A node label (or field) expression: `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`.
public struct NodeSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: String
    public var values: [String]?

    /// Creates a `NodeSelectorRequirement`.
    public init(key: String, `operator`: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}

/// The state of a volume: `Pending`, `Available`, `Bound`, `Released` or `Failed`.
public struct PersistentVolumeStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var message: String?
    public var reason: String?
    public var lastPhaseTransitionTime: Time?

    /// Creates a `PersistentVolumeStatus`.
    public init(phase: String? = nil, message: String? = nil, reason: String? = nil, lastPhaseTransitionTime: Time? = nil) {
        self.phase = phase
        self.message = message
        self.reason = reason
        self.lastPhaseTransitionTime = lastPhaseTransitionTime
    }
}

/// A storage.k8s.io/v1 StorageClass: how volumes of a class are provisioned.
public struct StorageClass: KubernetesResource, Hashable {
    public static let group = "storage.k8s.io"
    public static let version = "v1"
    public static let kind = "StorageClass"
    public static let plural = "storageclasses"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var provisioner: String
    public var parameters: [String: String]?
    /// `Delete` (default) or `Retain`.
    public var reclaimPolicy: String?
    public var mountOptions: [String]?
    public var allowVolumeExpansion: Bool?
    /// `Immediate` (default) or `WaitForFirstConsumer`.
    public var volumeBindingMode: String?
    public var allowedTopologies: [TopologySelectorTerm]?

    /// Creates a `StorageClass`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        provisioner: String = "",
        parameters: [String: String]? = nil,
        reclaimPolicy: String? = nil,
        mountOptions: [String]? = nil,
        allowVolumeExpansion: Bool? = nil,
        volumeBindingMode: String? = nil,
        allowedTopologies: [TopologySelectorTerm]? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.provisioner = provisioner
        self.parameters = parameters
        self.reclaimPolicy = reclaimPolicy
        self.mountOptions = mountOptions
        self.allowVolumeExpansion = allowVolumeExpansion
        self.volumeBindingMode = volumeBindingMode
        self.allowedTopologies = allowedTopologies
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `provisioner` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        provisioner = try container.decodeIfPresent(String.self, forKey: .provisioner) ?? ""
        parameters = try container.decodeIfPresent([String: String].self, forKey: .parameters)
        reclaimPolicy = try container.decodeIfPresent(String.self, forKey: .reclaimPolicy)
        mountOptions = try container.decodeIfPresent([String].self, forKey: .mountOptions)
        allowVolumeExpansion = try container.decodeIfPresent(Bool.self, forKey: .allowVolumeExpansion)
        volumeBindingMode = try container.decodeIfPresent(String.self, forKey: .volumeBindingMode)
        allowedTopologies = try container.decodeIfPresent([TopologySelectorTerm].self, forKey: .allowedTopologies)
    }
}

/// A topology selector: all of its expressions must match.
public struct TopologySelectorTerm: Codable, Sendable, Hashable {
    public var matchLabelExpressions: [TopologySelectorLabelRequirement]?

    /// Creates a `TopologySelectorTerm`.
    public init(matchLabelExpressions: [TopologySelectorLabelRequirement]? = nil) {
        self.matchLabelExpressions = matchLabelExpressions
    }
}

/// A topology label and the values it may have.
public struct TopologySelectorLabelRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var values: [String]

    /// Creates a `TopologySelectorLabelRequirement`.
    public init(key: String, values: [String] = []) {
        self.key = key
        self.values = values
    }

    /// Decodes leniently: `values` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(String.self, forKey: .key)
        values = try container.decodeIfPresent([String].self, forKey: .values) ?? []
    }
}
