import Foundation

/// A node.k8s.io/v1 RuntimeClass: a named container runtime configuration; Pods choose one with
/// `runtimeClassName`.
public struct RuntimeClass: KubernetesResource, Hashable {
    public static let group = "node.k8s.io"
    public static let version = "v1"
    public static let kind = "RuntimeClass"
    public static let plural = "runtimeclasses"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// The runtime handler the node uses for this class.
    public var handler: String
    public var overhead: Overhead?
    /// Where Pods of this class may run: merged into their nodeSelector and tolerations.
    public var scheduling: Scheduling?

    /// Creates a `RuntimeClass`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        handler: String = "",
        overhead: Overhead? = nil,
        scheduling: Scheduling? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.handler = handler
        self.overhead = overhead
        self.scheduling = scheduling
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `handler` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        handler = try container.decodeIfPresent(String.self, forKey: .handler) ?? ""
        overhead = try container.decodeIfPresent(Overhead.self, forKey: .overhead)
        scheduling = try container.decodeIfPresent(Scheduling.self, forKey: .scheduling)
    }
}

/// Resources a Pod of this class uses on top of its containers'.
public struct Overhead: Codable, Sendable, Hashable {
    public var podFixed: [String: Quantity]?

    /// Creates an `Overhead`.
    public init(podFixed: [String: Quantity]? = nil) {
        self.podFixed = podFixed
    }
}

/// Constraints added to every Pod of a RuntimeClass.
public struct Scheduling: Codable, Sendable, Hashable {
    public var nodeSelector: [String: String]?
    public var tolerations: [Toleration]?

    /// Creates a `Scheduling`.
    public init(nodeSelector: [String: String]? = nil, tolerations: [Toleration]? = nil) {
        self.nodeSelector = nodeSelector
        self.tolerations = tolerations
    }
}
