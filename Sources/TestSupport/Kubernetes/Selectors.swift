import Foundation
import KubernetesModels

/// A parsed `labelSelector`: requirements that must all hold.
public struct LabelSelector: Sendable, Hashable {
    enum Operator: Sendable, Hashable { case equals, notEquals, `in`, notIn, exists, doesNotExist }
    struct Requirement: Sendable, Hashable {
        var key: String
        var op: Operator
        var values: [String]
    }
    var requirements: [Requirement] = []

    /// Parses the selector grammar of the API (`a=b,c!=d,e in (f,g),h notin (i),j,!k`).
    public init(parsing text: String) throws(KubernetesAPIStatus) {
        for term in Self.splitTerms(text) {
            let term = term.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            requirements.append(try Self.requirement(term))
        }
    }

    /// `true` when every requirement holds for these labels.
    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            let value = labels[requirement.key]
            switch requirement.op {
            case .equals: return value == requirement.values.first
            case .notEquals: return value != requirement.values.first
            case .in: return value.map(requirement.values.contains) ?? false
            case .notIn: return !(value.map(requirement.values.contains) ?? false)
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            }
        }
    }

    /// Splits on commas outside parentheses.
    private static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")": depth -= 1; current.append(character)
            case "," where depth == 0: terms.append(current); current = ""
            default: current.append(character)
            }
        }
        terms.append(current)
        return terms
    }

    private static func requirement(_ term: String) throws(KubernetesAPIStatus) -> Requirement {
        let invalid = KubernetesAPIStatus.badRequest("unable to parse requirement: found '\(term)', expected: valid label selector")
        for (token, op) in [("!=", Operator.notEquals), ("==", .equals), ("=", .equals)] {
            if let range = term.range(of: token) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { throw invalid }
                return Requirement(key: key, op: op, values: [value])
            }
        }
        for (token, op) in [(" notin ", Operator.notIn), (" in ", .in)] {
            if let range = term.range(of: token) {
                let key = term[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                var set = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard set.hasPrefix("("), set.hasSuffix(")"), !key.isEmpty else { throw invalid }
                set = String(set.dropFirst().dropLast())
                let values = set.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                return Requirement(key: key, op: op, values: values)
            }
        }
        if term.hasPrefix("!") {
            return Requirement(key: String(term.dropFirst()).trimmingCharacters(in: .whitespaces), op: .doesNotExist, values: [])
        }
        guard !term.contains(" ") else { throw invalid }
        return Requirement(key: term, op: .exists, values: [])
    }
}

/// A parsed `fieldSelector` (`a=b`, `a==b`, `a!=b`, comma-separated), checked against the fields a
/// real server supports for each resource.
public struct FieldSelector: Sendable, Hashable {
    struct Requirement: Sendable, Hashable {
        var field: String
        var value: String
        var negated: Bool
    }
    var requirements: [Requirement] = []

    /// Parses a field selector for a resource; unsupported fields answer 400 as a real server does.
    public init(parsing text: String, for resource: ResourceType) throws(KubernetesAPIStatus) {
        for term in text.split(separator: ",").map(String.init) where !term.isEmpty {
            let requirement: Requirement
            if let range = term.range(of: "!=") {
                requirement = Requirement(field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), negated: true)
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                requirement = Requirement(field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), negated: false)
            } else {
                throw .badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            guard Self.supports(requirement.field, resource) else {
                throw .badRequest("field label not supported: \(requirement.field)")
            }
            requirements.append(requirement)
        }
    }

    /// The value a `field=value` requirement demands, if the selector has one.
    public func requiredValue(of field: String) -> String? {
        requirements.first { $0.field == field && !$0.negated }?.value
    }

    /// `true` when every requirement holds for the object.
    public func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { requirement in
            (Self.value(of: requirement.field, in: object) == requirement.value) != requirement.negated
        }
    }

    /// The selectable value of a field: the string at that dotted path, booleans and numbers as text, else "".
    static func value(of field: String, in object: JSONValue) -> String {
        var current: JSONValue? = object
        for component in field.split(separator: ".") { current = current?[String(component)] }
        switch current {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .number: return current?.intValue.map(String.init) ?? ""
        default: return ""
        }
    }

    private static let supportedFields: [String: Set<String>] = [
        "/pods": [
            "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
            "status.phase", "status.podIP", "status.nominatedNodeName",
        ],
        "/events": [
            "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
            "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
            "reportingComponent", "source", "type",
        ],
        "/secrets": ["type"],
        "/nodes": ["spec.unschedulable"],
        "/namespaces": ["status.phase"],
        "/replicationcontrollers": ["status.replicas"],
        "apps/replicasets": ["status.replicas"],
        "certificates.k8s.io/certificatesigningrequests": ["spec.signerName"],
    ]

    private static func supports(_ field: String, _ resource: ResourceType) -> Bool {
        field == "metadata.name" || (resource.namespaced && field == "metadata.namespace")
            || supportedFields[resource.storageKey]?.contains(field) == true
    }
}

extension JSONValue {
    /// `metadata.labels` as a string dictionary.
    var labels: [String: String] {
        (self["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}
