import Foundation

/// A core/v1 ConfigMap: configuration as text (`data`) and bytes (`binaryData`).
public struct ConfigMap: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "ConfigMap"
    public static let plural = "configmaps"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    /// Base64, as on the wire; `binaryValue(forKey:)` decodes it.
    public var binaryData: [String: String]?
    public var immutable: Bool?

    /// Creates a `ConfigMap`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        data: [String: String]? = nil,
        binaryData: [String: String]? = nil,
        immutable: Bool? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
        self.immutable = immutable
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        data = try container.decodeIfPresent([String: String].self, forKey: .data)
        binaryData = try container.decodeIfPresent([String: String].self, forKey: .binaryData)
        immutable = try container.decodeIfPresent(Bool.self, forKey: .immutable)
    }
}

/// A core/v1 Secret. `data` holds base64 as on the wire: read it with `decodedData()` / `value(forKey:)`.
public struct Secret: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Secret"
    public static let plural = "secrets"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// Base64-encoded values.
    public var data: [String: String]?
    /// Write-only plain-text values the server merges into `data`; never returned.
    public var stringData: [String: String]?
    /// `Opaque` (default), `kubernetes.io/tls`, `kubernetes.io/dockerconfigjson`...
    public var type: String?
    public var immutable: Bool?

    /// Creates a `Secret`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        data: [String: String]? = nil,
        stringData: [String: String]? = nil,
        type: String? = nil,
        immutable: Bool? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.data = data
        self.stringData = stringData
        self.type = type
        self.immutable = immutable
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        data = try container.decodeIfPresent([String: String].self, forKey: .data)
        stringData = try container.decodeIfPresent([String: String].self, forKey: .stringData)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        immutable = try container.decodeIfPresent(Bool.self, forKey: .immutable)
    }
}

/// A core/v1 Namespace.
public struct Namespace: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Namespace"
    public static let plural = "namespaces"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: NamespaceSpec?
    public var status: NamespaceStatus?

    /// Creates a `Namespace`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), spec: NamespaceSpec? = nil, status: NamespaceStatus? = nil) {
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
        spec = try container.decodeIfPresent(NamespaceSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(NamespaceStatus.self, forKey: .status)
    }
}

/// The desired state of a Namespace.
public struct NamespaceSpec: Codable, Sendable, Hashable {
    public var finalizers: [String]?

    /// Creates a `NamespaceSpec`.
    public init(finalizers: [String]? = nil) {
        self.finalizers = finalizers
    }
}

/// The state of a Namespace: `Active` or `Terminating`.
public struct NamespaceStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var conditions: [NamespaceCondition]?

    /// Creates a `NamespaceStatus`.
    public init(phase: String? = nil, conditions: [NamespaceCondition]? = nil) {
        self.phase = phase
        self.conditions = conditions
    }
}

/// One condition of a Namespace.
public struct NamespaceCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    /// Creates a `NamespaceCondition`.
    public init(type: String, status: String, lastTransitionTime: Time? = nil, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}
