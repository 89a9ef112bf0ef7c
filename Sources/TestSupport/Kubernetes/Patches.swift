import Foundation
import KubernetesModels

/// The patch formats the API server accepts on PATCH.
public enum PatchType: String, Sendable {
    /// RFC 7386 JSON merge patch.
    case merge = "application/merge-patch+json"
    /// RFC 6902 JSON patch.
    case json = "application/json-patch+json"
    /// Kubernetes strategic merge patch.
    case strategic = "application/strategic-merge-patch+json"
    /// Server-side apply (not supported by the simulator).
    case apply = "application/apply-patch+yaml"
}

/// Applies patches to JSON objects, as the API server does before it validates and stores them.
enum Patcher {
    static func apply(_ type: PatchType, patch: JSONValue, to object: JSONValue) throws(KubernetesAPIStatus) -> JSONValue {
        switch type {
        case .merge: return mergePatch(object, patch)
        case .json: return try jsonPatch(object, patch)
        case .strategic: return strategicMerge(object, patch, field: "")
        case .apply:
            throw .unsupportedMediaType(type.rawValue)
        }
    }

    // MARK: RFC 7386

    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                result.removeValue(forKey: key)
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: RFC 6902

    static func jsonPatch(_ target: JSONValue, _ operations: JSONValue) throws(KubernetesAPIStatus) -> JSONValue {
        guard let list = operations.arrayValue else {
            throw .badRequest("json patch must be an array of operations")
        }
        var document = target
        for operation in list {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw .badRequest("json patch operation is missing 'op' or 'path': \(operation)")
            }
            let pointer = try parsePointer(path)
            switch op {
            case "add":
                document = try set(document, pointer, operation["value"] ?? .null, inserting: true)
            case "remove":
                document = try remove(document, pointer)
            case "replace":
                _ = try get(document, pointer)
                document = try set(document, pointer, operation["value"] ?? .null, inserting: false)
            case "move", "copy":
                guard let from = operation["from"]?.stringValue else { throw .badRequest("json patch \(op) needs 'from'") }
                let source = try parsePointer(from)
                let value = try get(document, source)
                if op == "move" { document = try remove(document, source) }
                document = try set(document, pointer, value, inserting: true)
            case "test":
                guard try get(document, pointer) == (operation["value"] ?? .null) else {
                    throw KubernetesAPIStatus(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: testing value \(path) failed")
                }
            default:
                throw .badRequest("Unexpected kind: \(op)")
            }
        }
        return document
    }

    private static func parsePointer(_ path: String) throws(KubernetesAPIStatus) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw .badRequest("json patch path \(path) must start with /") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func missing(_ pointer: [String]) -> KubernetesAPIStatus {
        KubernetesAPIStatus(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request: doc is missing path: /\(pointer.joined(separator: "/"))")
    }

    private static func get(_ document: JSONValue, _ pointer: [String]) throws(KubernetesAPIStatus) -> JSONValue {
        var current = document
        for token in pointer {
            switch current {
            case .object(let members):
                guard let next = members[token] else { throw missing(pointer) }
                current = next
            case .array(let elements):
                guard let index = Int(token), elements.indices.contains(index) else { throw missing(pointer) }
                current = elements[index]
            default: throw missing(pointer)
            }
        }
        return current
    }

    private static func set(_ document: JSONValue, _ pointer: [String], _ value: JSONValue, inserting: Bool) throws(KubernetesAPIStatus) -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var members):
            if rest.isEmpty {
                members[token] = value
            } else {
                guard let child = members[token] else { throw missing(pointer) }
                members[token] = try set(child, rest, value, inserting: inserting)
            }
            return .object(members)
        case .array(var elements):
            if rest.isEmpty {
                if token == "-" {
                    elements.append(value)
                } else if let index = Int(token), index >= 0, index <= elements.count {
                    if inserting {
                        elements.insert(value, at: index)
                    } else {
                        guard index < elements.count else { throw missing(pointer) }
                        elements[index] = value
                    }
                } else {
                    throw missing(pointer)
                }
            } else {
                guard let index = Int(token), elements.indices.contains(index) else { throw missing(pointer) }
                elements[index] = try set(elements[index], rest, value, inserting: inserting)
            }
            return .array(elements)
        default:
            throw missing(pointer)
        }
    }

    private static func remove(_ document: JSONValue, _ pointer: [String]) throws(KubernetesAPIStatus) -> JSONValue {
        guard let token = pointer.first else { throw missing(pointer) }
        let rest = Array(pointer.dropFirst())
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw missing(pointer) }
            if rest.isEmpty { members.removeValue(forKey: token) } else { members[token] = try remove(child, rest) }
            return .object(members)
        case .array(var elements):
            guard let index = Int(token), elements.indices.contains(index) else { throw missing(pointer) }
            if rest.isEmpty { elements.remove(at: index) } else { elements[index] = try remove(elements[index], rest) }
            return .array(elements)
        default:
            throw missing(pointer)
        }
    }

    // MARK: Strategic merge patch

    /// The patch merge key of the lists the built-in types merge by key (by the list's field name).
    /// Lists not named here are replaced, except `finalizers`, whose primitive values are merged.
    /// Atomic in the API, hence absent: `containerStatuses`, `initContainerStatuses`,
    /// `ephemeralContainerStatuses`, `taints`, `readinessGates` (no `patchMergeKey` in core/v1).
    static let mergeKeys: [String: [String]] = [
        "containers": ["name"], "initContainers": ["name"], "ephemeralContainers": ["name"], "volumes": ["name"],
        "env": ["name"], "volumeMounts": ["mountPath"], "volumeDevices": ["devicePath"], "imagePullSecrets": ["name"],
        "ports": ["containerPort", "port"], "conditions": ["type"], "addresses": ["type"],
        "ownerReferences": ["uid"], "podIPs": ["ip"], "hostIPs": ["ip"], "hostAliases": ["ip"],
        "resourceClaims": ["name"], "topologySpreadConstraints": ["topologyKey"],
    ]

    static func strategicMerge(_ target: JSONValue, _ patch: JSONValue, field: String) -> JSONValue {
        guard case .object(var patchMembers) = patch else { return patch }
        if patchMembers["$patch"] == .string("replace") {
            patchMembers.removeValue(forKey: "$patch")
            return .object(patchMembers.filter { !$0.key.hasPrefix("$") })
        }
        var result = target.objectValue ?? [:]
        if let retain = patchMembers["$retainKeys"]?.arrayValue?.compactMap(\.stringValue) {
            result = result.filter { retain.contains($0.key) }
        }
        for (key, value) in patchMembers {
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let listName = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let removed = value.arrayValue ?? []
                if let list = result[listName]?.arrayValue { result[listName] = .array(list.filter { !removed.contains($0) }) }
                continue
            }
            if key.hasPrefix("$") { continue }  // $setElementOrder and other directives: order is advisory
            if value == .null {
                result.removeValue(forKey: key)
            } else if case .array(let patchList) = value {
                result[key] = mergeList(result[key]?.arrayValue ?? [], patchList, field: key)
            } else if case .object(let members) = value, members["$patch"] == .string("delete") {
                result.removeValue(forKey: key)
            } else {
                result[key] = strategicMerge(result[key] ?? .null, value, field: key)
            }
        }
        return .object(result)
    }

    private static func withoutNulls(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): .object(members.filter { $0.value != .null }.mapValues(withoutNulls))
        case .array(let elements): .array(elements.map(withoutNulls))
        default: value
        }
    }

    private static func mergeList(_ target: [JSONValue], _ patch: [JSONValue], field: String) -> JSONValue {
        if field == "finalizers" {
            var merged = target
            for value in patch where !merged.contains(value) { merged.append(value) }
            return .array(merged)
        }
        // A list replaced whole is stored as the typed object decodes it: `null` members vanish.
        guard let candidates = mergeKeys[field], patch.allSatisfy({ $0.objectValue != nil }) else { return withoutNulls(.array(patch)) }
        if patch.contains(where: { $0["$patch"] == .string("replace") }) {
            return .array(patch.filter { $0["$patch"] == nil })
        }
        func identity(_ element: JSONValue) -> JSONValue? {
            candidates.first { element[$0] != nil }.flatMap { key in element[key].map { ["key": .string(key), "value": $0] } }
        }
        // The patch's elements (merged with their originals) in patch order, then the server-only
        // elements woven in by their original positions, as apimachinery's normalizeElementOrder does.
        var fromPatch: [JSONValue] = []
        var patchedIdentities: [JSONValue] = []
        for element in patch {
            guard let id = identity(element) else {
                fromPatch.append(element)
                continue
            }
            patchedIdentities.append(id)
            if element["$patch"] == .string("delete") { continue }
            let original = target.first { identity($0) == id } ?? .object([:])
            fromPatch.append(strategicMerge(original, element, field: field))
        }
        let serverOnly = target.filter { element in identity(element).map { !patchedIdentities.contains($0) } ?? true }
        let serverOrder = target.map(identity)
        func serverIndex(_ element: JSONValue) -> Int? { identity(element).flatMap { id in serverOrder.firstIndex(of: id) } }
        var merged: [JSONValue] = []
        var (left, right) = (fromPatch[...], serverOnly[...])
        while let patchElement = left.first, let serverElement = right.first {
            // Patch elements go first unless both were on the server and the server had them the other way round.
            if let patchIndex = serverIndex(patchElement), let otherIndex = serverIndex(serverElement), otherIndex < patchIndex {
                merged.append(right.removeFirst())
            } else {
                merged.append(left.removeFirst())
            }
        }
        return .array(merged + left + right)
    }
}
