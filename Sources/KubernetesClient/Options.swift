import Foundation
import KubernetesModels

/// Addresses a resource collection: group, version, plural and scope.
///
/// Typed operations derive it from the ``KubernetesResource`` type; raw operations (custom
/// resources) take it explicitly.
public struct ResourceType: Sendable, Hashable {
    /// API group; empty for the core group.
    public var group: String
    /// API version, e.g. `v1`.
    public var version: String
    /// Plural resource name used in URLs, e.g. `pods`.
    public var plural: String
    /// Whether objects live in a namespace.
    public var isNamespaced: Bool

    /// Creates a resource address, e.g. `ResourceType(group: "example.com", version: "v1", plural: "widgets")`.
    public init(group: String, version: String, plural: String, isNamespaced: Bool = true) {
        self.group = group
        self.version = version
        self.plural = plural
        self.isNamespaced = isNamespaced
    }

    /// The address of a typed resource.
    public init<Resource: KubernetesResource>(_ type: Resource.Type) {
        self.init(group: type.group, version: type.version, plural: type.plural, isNamespaced: type.isNamespaced)
    }

    /// `/api/v1/namespaces/ns/pods/name/status`-style path.
    func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if isNamespaced, let namespace { path += "/namespaces/\(Self.segment(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.segment(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    private static func segment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? value
    }
}

/// Options of a list request.
public struct ListOptions: Sendable, Hashable {
    /// e.g. `app=web,tier!=cache`.
    public var labelSelector: String?
    /// e.g. `spec.nodeName=vk-nomad`.
    public var fieldSelector: String?
    /// Page size; the server sets `metadata.continue` when more remain.
    public var limit: Int?
    /// The token from the previous page's `metadata.continue`.
    public var continueToken: String?
    /// Serve from this resourceVersion (`0` = any cached state).
    public var resourceVersion: String?

    /// Creates list options; all are optional.
    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil, resourceVersion: String? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
    }

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let labelSelector { items.append(("labelSelector", labelSelector)) }
        if let fieldSelector { items.append(("fieldSelector", fieldSelector)) }
        if let limit { items.append(("limit", String(limit))) }
        if let continueToken { items.append(("continue", continueToken)) }
        if let resourceVersion { items.append(("resourceVersion", resourceVersion)) }
        return items
    }
}

/// meta/v1 DeleteOptions: grace period, preconditions and propagation.
public struct DeleteOptions: Codable, Sendable, Hashable {
    /// What must still hold for the delete to happen (else 409 Conflict).
    public struct Preconditions: Codable, Sendable, Hashable {
        public var uid: String?
        public var resourceVersion: String?
        /// Creates preconditions on the object's uid and/or resourceVersion.
        public init(uid: String? = nil, resourceVersion: String? = nil) {
            self.uid = uid
            self.resourceVersion = resourceVersion
        }
    }

    /// How dependents are garbage-collected.
    public enum PropagationPolicy: String, Codable, Sendable, Hashable {
        case orphan = "Orphan"
        case background = "Background"
        case foreground = "Foreground"
    }

    public var apiVersion = "v1"
    public var kind = "DeleteOptions"
    /// Seconds before the object is removed; 0 deletes at once.
    public var gracePeriodSeconds: Int?
    public var preconditions: Preconditions?
    public var propagationPolicy: PropagationPolicy?

    /// Creates delete options; all are optional.
    public init(gracePeriodSeconds: Int? = nil, preconditions: Preconditions? = nil, propagationPolicy: PropagationPolicy? = nil) {
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditions = preconditions
        self.propagationPolicy = propagationPolicy
    }
}

/// What a DELETE answered: the object (still there while graceful deletion or finalizers run, or
/// as it was when removed) or a Success Status.
public enum DeletionResult<Resource: Sendable>: Sendable {
    case object(Resource)
    case status(Status)
}

/// A PATCH body and its type.
public enum Patch: Sendable, Hashable {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge, `null` removes, arrays replace.
    case merge(JSONValue)
    /// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`): lists merge by
    /// their patch merge key (e.g. `conditions` by `type`). Built-in types only.
    case strategicMerge(JSONValue)
    /// RFC 6902 JSON patch (`application/json-patch+json`): a list of operations.
    case json([JSONValue])

    var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .strategicMerge: "application/strategic-merge-patch+json"
        case .json: "application/json-patch+json"
        }
    }

    var body: JSONValue {
        switch self {
        case .merge(let value), .strategicMerge(let value): value
        case .json(let operations): .array(operations)
        }
    }
}
