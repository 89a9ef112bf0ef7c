import Foundation

/// A Kubernetes API resource type the client can address: its group/version, kind and plural name.
///
/// Every top-level type (Pod, Node, Lease, ...) conforms; the client builds URLs from these.
public protocol KubernetesResource: Codable, Sendable {
    /// API group; empty for the core group (`/api/v1`).
    static var group: String { get }
    /// API version within the group, e.g. `v1`.
    static var version: String { get }
    /// The kind, e.g. `Pod`.
    static var kind: String { get }
    /// The plural resource name used in URLs, e.g. `pods`.
    static var plural: String { get }
    /// Whether objects live in a namespace.
    static var isNamespaced: Bool { get }

    /// `apiVersion` as written in objects (`v1`, `coordination.k8s.io/v1`).
    var apiVersion: String? { get set }
    /// `kind` as written in objects.
    var kind: String? { get set }
    /// Standard object metadata.
    var metadata: ObjectMeta { get set }
}

extension KubernetesResource {
    /// `apiVersion` for this type: `v1` for the core group, `group/version` otherwise.
    public static var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
}

/// Standard object metadata (`metadata` of every object).
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?
    /// Kept as raw JSON: the agent never interprets it, but it must survive updates.
    public var managedFields: [JSONValue]?

    /// Metadata for an object built in code; the server fills in the rest (uid, timestamps...) on create.
    public init(
        name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil, generateName: String? = nil, uid: String? = nil,
        resourceVersion: String? = nil, ownerReferences: [OwnerReference]? = nil, finalizers: [String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.generateName = generateName
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.ownerReferences = ownerReferences
        self.finalizers = finalizers
    }
}

/// A reference from an object to the object that owns it.
public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil, blockOwnerDeletion: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// Metadata of a list response: the collection's resourceVersion and the pagination token.
public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
    /// Set when more items remain; pass it back as `continue`.
    public var `continue`: String?
    public var remainingItemCount: Int64?

    public init(resourceVersion: String? = nil, continue: String? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
    }
}

/// A list response (`PodList`, `NodeList`, ...).
public struct ResourceList<Item: KubernetesResource>: Codable, Sendable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta
    /// `null` in some responses; decoded as empty.
    public var items: [Item]

    public init(metadata: ListMeta = ListMeta(), items: [Item]) {
        self.apiVersion = Item.apiVersion
        self.kind = Item.kind + "List"
        self.metadata = metadata
        self.items = items
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// `meta/v1` Status: the body of every API error, and of some successful deletes.
public struct Status: Codable, Sendable, Hashable, Error {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    /// `Success` or `Failure`.
    public var status: String?
    public var message: String?
    /// Machine-readable reason: `NotFound`, `Conflict`, `Forbidden`, `Expired`, `Gone`, `Invalid`...
    public var reason: String?
    public var details: StatusDetails?
    /// The HTTP status code.
    public var code: Int?

    public init(status: String? = nil, message: String? = nil, reason: String? = nil, details: StatusDetails? = nil, code: Int? = nil) {
        self.apiVersion = "v1"
        self.kind = "Status"
        self.metadata = ListMeta()
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

/// Extra facts about a Status: which object, and field-level causes for `Invalid`.
public struct StatusDetails: Codable, Sendable, Hashable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int?

    public init(name: String? = nil, group: String? = nil, kind: String? = nil, uid: String? = nil, causes: [StatusCause]? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.uid = uid
        self.causes = causes
    }
}

/// One cause of a failed request, e.g. a field that failed validation.
public struct StatusCause: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?
    public var field: String?

    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}

extension ResourceList: Equatable where Item: Equatable {}
extension ResourceList: Hashable where Item: Hashable {}
