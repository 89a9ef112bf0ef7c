import Foundation

/// A core/v1 Node: the virtual node the agent registers and keeps Ready.
public struct Node: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Node"
    public static let plural = "nodes"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: NodeSpec?
    public var status: NodeStatus?

    /// Creates a `Node`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), spec: NodeSpec? = nil, status: NodeStatus? = nil) {
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
        spec = try container.decodeIfPresent(NodeSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(NodeStatus.self, forKey: .status)
    }
}

/// The desired state of a Node (`spec`).
public struct NodeSpec: Codable, Sendable, Hashable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    /// `<provider>://<id>`.
    public var providerID: String?
    public var unschedulable: Bool?
    public var taints: [Taint]?
    public var configSource: JSONValue?
    public var externalID: String?

    /// Creates a `NodeSpec`.
    public init(
        podCIDR: String? = nil,
        podCIDRs: [String]? = nil,
        providerID: String? = nil,
        unschedulable: Bool? = nil,
        taints: [Taint]? = nil,
        configSource: JSONValue? = nil,
        externalID: String? = nil
    ) {
        self.podCIDR = podCIDR
        self.podCIDRs = podCIDRs
        self.providerID = providerID
        self.unschedulable = unschedulable
        self.taints = taints
        self.configSource = configSource
        self.externalID = externalID
    }
}

/// Repels Pods that do not tolerate it.
public struct Taint: Codable, Sendable, Hashable {
    public var key: String
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    public var effect: String
    public var timeAdded: Time?

    /// Creates a `Taint`.
    public init(key: String, value: String? = nil, effect: String, timeAdded: Time? = nil) {
        self.key = key
        self.value = value
        self.effect = effect
        self.timeAdded = timeAdded
    }
}

/// What the kubelet reports about its Node (`status`).
public struct NodeStatus: Codable, Sendable, Hashable {
    /// Total resources: `cpu`, `memory`, `pods`, `ephemeral-storage`...
    public var capacity: [String: Quantity]?
    /// What Pods may use: capacity minus reservations.
    public var allocatable: [String: Quantity]?
    public var phase: String?
    public var conditions: [NodeCondition]?
    public var addresses: [NodeAddress]?
    public var daemonEndpoints: NodeDaemonEndpoints?
    public var nodeInfo: NodeSystemInfo?
    public var images: [ContainerImage]?
    public var volumesInUse: [String]?
    public var volumesAttached: [AttachedVolume]?
    public var config: JSONValue?
    public var runtimeHandlers: [NodeRuntimeHandler]?
    public var features: NodeFeatures?
    public var declaredFeatures: [String]?

    /// Creates a `NodeStatus`.
    public init(
        capacity: [String: Quantity]? = nil,
        allocatable: [String: Quantity]? = nil,
        phase: String? = nil,
        conditions: [NodeCondition]? = nil,
        addresses: [NodeAddress]? = nil,
        daemonEndpoints: NodeDaemonEndpoints? = nil,
        nodeInfo: NodeSystemInfo? = nil,
        images: [ContainerImage]? = nil,
        volumesInUse: [String]? = nil,
        volumesAttached: [AttachedVolume]? = nil,
        config: JSONValue? = nil,
        runtimeHandlers: [NodeRuntimeHandler]? = nil,
        features: NodeFeatures? = nil,
        declaredFeatures: [String]? = nil
    ) {
        self.capacity = capacity
        self.allocatable = allocatable
        self.phase = phase
        self.conditions = conditions
        self.addresses = addresses
        self.daemonEndpoints = daemonEndpoints
        self.nodeInfo = nodeInfo
        self.images = images
        self.volumesInUse = volumesInUse
        self.volumesAttached = volumesAttached
        self.config = config
        self.runtimeHandlers = runtimeHandlers
        self.features = features
        self.declaredFeatures = declaredFeatures
    }
}

/// One condition of a Node: `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`.
public struct NodeCondition: Codable, Sendable, Hashable {
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var lastHeartbeatTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    /// Creates a `NodeCondition`.
    public init(
        type: String,
        status: String,
        lastHeartbeatTime: Time? = nil,
        lastTransitionTime: Time? = nil,
        reason: String? = nil,
        message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// An address of a Node, by type: `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS`, `ExternalDNS`.
public struct NodeAddress: Codable, Sendable, Hashable {
    public var type: String
    public var address: String

    /// Creates a `NodeAddress`.
    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// The ports of daemons on the node.
public struct NodeDaemonEndpoints: Codable, Sendable, Hashable {
    public var kubeletEndpoint: DaemonEndpoint?

    /// Creates a `NodeDaemonEndpoints`.
    public init(kubeletEndpoint: DaemonEndpoint? = nil) {
        self.kubeletEndpoint = kubeletEndpoint
    }
}

/// A daemon's port; the API server proxies logs, exec and port-forward to the kubelet's.
public struct DaemonEndpoint: Codable, Sendable, Hashable {
    /// Written `Port` (capitalised) on the wire.
    public var port: Int

    /// Creates a `DaemonEndpoint`.
    public init(port: Int = 0) {
        self.port = port
    }

    private enum CodingKeys: String, CodingKey {
        case port = "Port"
    }

    /// Decodes leniently: `Port` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? 0
    }
}

/// Facts about the node's system; every field is written, often as `""`.
public struct NodeSystemInfo: Codable, Sendable, Hashable {
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var kernelVersion: String
    public var osImage: String
    /// `<runtime>://<version>`, e.g. `nomad://1.1.2`.
    public var containerRuntimeVersion: String
    public var kubeletVersion: String
    public var kubeProxyVersion: String
    public var operatingSystem: String
    public var architecture: String
    public var swap: JSONValue?

    /// Creates a `NodeSystemInfo`.
    public init(
        machineID: String = "",
        systemUUID: String = "",
        bootID: String = "",
        kernelVersion: String = "",
        osImage: String = "",
        containerRuntimeVersion: String = "",
        kubeletVersion: String = "",
        kubeProxyVersion: String = "",
        operatingSystem: String = "",
        architecture: String = "",
        swap: JSONValue? = nil
    ) {
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.containerRuntimeVersion = containerRuntimeVersion
        self.kubeletVersion = kubeletVersion
        self.kubeProxyVersion = kubeProxyVersion
        self.operatingSystem = operatingSystem
        self.architecture = architecture
        self.swap = swap
    }

    /// Decodes leniently: required fields missing or `null` read as their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        machineID = try container.decodeIfPresent(String.self, forKey: .machineID) ?? ""
        systemUUID = try container.decodeIfPresent(String.self, forKey: .systemUUID) ?? ""
        bootID = try container.decodeIfPresent(String.self, forKey: .bootID) ?? ""
        kernelVersion = try container.decodeIfPresent(String.self, forKey: .kernelVersion) ?? ""
        osImage = try container.decodeIfPresent(String.self, forKey: .osImage) ?? ""
        containerRuntimeVersion = try container.decodeIfPresent(String.self, forKey: .containerRuntimeVersion) ?? ""
        kubeletVersion = try container.decodeIfPresent(String.self, forKey: .kubeletVersion) ?? ""
        kubeProxyVersion = try container.decodeIfPresent(String.self, forKey: .kubeProxyVersion) ?? ""
        operatingSystem = try container.decodeIfPresent(String.self, forKey: .operatingSystem) ?? ""
        architecture = try container.decodeIfPresent(String.self, forKey: .architecture) ?? ""
        swap = try container.decodeIfPresent(JSONValue.self, forKey: .swap)
    }
}

/// An image present on the node.
public struct ContainerImage: Codable, Sendable, Hashable {
    public var names: [String]?
    public var sizeBytes: Int64?

    /// Creates a `ContainerImage`.
    public init(names: [String]? = nil, sizeBytes: Int64? = nil) {
        self.names = names
        self.sizeBytes = sizeBytes
    }
}

/// A volume attached to the node.
public struct AttachedVolume: Codable, Sendable, Hashable {
    public var name: String
    public var devicePath: String

    /// Creates an `AttachedVolume`.
    public init(name: String, devicePath: String) {
        self.name = name
        self.devicePath = devicePath
    }
}

/// A runtime handler the node offers, with its features.
public struct NodeRuntimeHandler: Codable, Sendable, Hashable {
    public var name: String?
    public var features: NodeRuntimeHandlerFeatures?

    /// Creates a `NodeRuntimeHandler`.
    public init(name: String? = nil, features: NodeRuntimeHandlerFeatures? = nil) {
        self.name = name
        self.features = features
    }
}

/// Features of a runtime handler.
public struct NodeRuntimeHandlerFeatures: Codable, Sendable, Hashable {
    public var recursiveReadOnlyMounts: Bool?
    public var userNamespaces: Bool?

    /// Creates a `NodeRuntimeHandlerFeatures`.
    public init(recursiveReadOnlyMounts: Bool? = nil, userNamespaces: Bool? = nil) {
        self.recursiveReadOnlyMounts = recursiveReadOnlyMounts
        self.userNamespaces = userNamespaces
    }
}

/// Features the node supports.
public struct NodeFeatures: Codable, Sendable, Hashable {
    public var supplementalGroupsPolicy: Bool?

    /// Creates a `NodeFeatures`.
    public init(supplementalGroupsPolicy: Bool? = nil) {
        self.supplementalGroupsPolicy = supplementalGroupsPolicy
    }
}
