import Foundation
import KubernetesModels

/// A failed API call as the simulator answers it: a meta/v1 `Status` with its HTTP code, with the
/// reasons and message texts a real kube-apiserver uses.
public struct KubernetesAPIStatus: Error, Sendable, CustomStringConvertible {
    /// The HTTP status code (also `Status.code`).
    public var code: Int
    /// `Status.reason`, e.g. `NotFound`; empty for none.
    public var reason: String
    /// `Status.message`.
    public var message: String
    /// `Status.details`, when there are any.
    public var details: JSONValue?
    /// Seconds for a `Retry-After` header, when the client should come back later.
    public var retryAfterSeconds: Int?

    public var description: String { "\(code) \(reason): \(message)" }

    /// The `Status` object as JSON.
    public var object: JSONValue {
        var status: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]),
            "status": "Failure", "message": .string(message), "code": .number(Double(code)),
        ]
        if !reason.isEmpty { status["reason"] = .string(reason) }
        if let details { status["details"] = details }
        return .object(status)
    }

    static func details(name: String?, resource: ResourceType, kindOverride: String? = nil) -> JSONValue {
        var details: [String: JSONValue] = ["kind": .string(kindOverride ?? resource.resource)]
        if let name { details["name"] = .string(name) }
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        return .object(details)
    }

    static func notFound(_ resource: ResourceType, name: String) -> Self {
        Self(
            code: 404, reason: "NotFound", message: "\(resource.qualifiedName) \"\(name)\" not found",
            details: details(name: name, resource: resource))
    }

    static func namespaceNotFound(_ namespace: String) -> Self {
        Self(
            code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
            details: ["name": .string(namespace), "kind": "namespaces"])
    }

    static func namespaceTerminating(_ namespace: String, resource: ResourceType, name: String) -> Self {
        Self(
            code: 403, reason: "Forbidden",
            message: "\(resource.qualifiedName) \"\(name)\" is forbidden: unable to create new content in namespace \(namespace) because it is being terminated",
            details: [
                "name": .string(name), "kind": .string(resource.resource),
                "causes": [["reason": "NamespaceTerminating", "message": .string("namespace \(namespace) is being terminated"), "field": "metadata.namespace"]],
            ])
    }

    static func alreadyExists(_ resource: ResourceType, name: String) -> Self {
        Self(
            code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedName) \"\(name)\" already exists",
            details: details(name: name, resource: resource))
    }

    static func conflict(_ resource: ResourceType, name: String) -> Self {
        Self(
            code: 409, reason: "Conflict",
            message:
                "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
            details: details(name: name, resource: resource))
    }

    static func uidPreconditionFailed(_ resource: ResourceType, name: String, expected: String, actual: String) -> Self {
        Self(
            code: 409, reason: "Conflict",
            message:
                "Operation cannot be fulfilled on \(resource.kind) \"\(name)\": the UID in the precondition (\(expected)) does not match the UID in record (\(actual)). The object might have been deleted and then recreated",
            details: details(name: name, resource: resource, kindOverride: resource.kind))
    }

    /// 422 Invalid with one cause per field error.
    static func invalid(_ resource: ResourceType, name: String, causes: [(field: String, reason: String, message: String)]) -> Self {
        let kind = resource.group.isEmpty ? resource.kind : "\(resource.kind).\(resource.group)"
        let text = causes.map { "\($0.field): \($0.message)" }
        let summary = text.count == 1 ? text[0] : "[\(text.joined(separator: ", "))]"
        var details: [String: JSONValue] = ["kind": .string(resource.kind)]
        if !name.isEmpty { details["name"] = .string(name) }
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        details["causes"] = .array(
            causes.map { ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)] })
        return Self(code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(summary)", details: .object(details))
    }

    static func badRequest(_ message: String) -> Self {
        Self(code: 400, reason: "BadRequest", message: message)
    }

    static func methodNotAllowed(_ message: String = "the server does not allow this method on the requested resource") -> Self {
        Self(code: 405, reason: "MethodNotAllowed", message: message, details: .object([:]))
    }

    static func unsupportedMediaType(_ contentType: String) -> Self {
        Self(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", details: nil)
    }

    static let unauthorized = Self(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func notFoundPath() -> Self {
        Self(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: .object([:]))
    }

    static func expired(requested: Int, oldest: Int) -> Self {
        Self(code: 410, reason: "Expired", message: "too old resource version: \(requested) (\(oldest))")
    }

    static func internalError(_ message: String) -> Self {
        Self(code: 500, reason: "InternalError", message: message)
    }
}
