import Foundation

/// A core/v1 ServiceAccount; the agent POSTs TokenRequests to its `token` subresource.
public struct ServiceAccount: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "ServiceAccount"
    public static let plural = "serviceaccounts"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var automountServiceAccountToken: Bool?
    public var imagePullSecrets: [LocalObjectReference]?

    /// Creates a `ServiceAccount`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), automountServiceAccountToken: Bool? = nil, imagePullSecrets: [LocalObjectReference]? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.automountServiceAccountToken = automountServiceAccountToken
        self.imagePullSecrets = imagePullSecrets
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        automountServiceAccountToken = try container.decodeIfPresent(Bool.self, forKey: .automountServiceAccountToken)
        imagePullSecrets = try container.decodeIfPresent([LocalObjectReference].self, forKey: .imagePullSecrets)
    }
}
