import KubernetesModels
import Yams

/// Manifest files (multi-document YAML; JSON is YAML) as ``JSONValue`` documents, typed by YAML
/// 1.2's core schema: quoted scalars are strings; plain `null`/`~`/empty, `true`/`false`, integers
/// and floats are typed; aliases are resolved. Used by `nomad-kubelet translate` and by tests that
/// apply the shipped manifests.
public enum ManifestYAML {
    /// The documents of `text`, in order (empty documents read as `null`).
    public static func documents(_ text: String) throws -> [JSONValue] {
        try Yams.compose_all(yaml: text).map(value)
    }

    static func value(_ node: Yams.Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            return typed(scalar.string)
        case .sequence(let sequence):
            return .array(sequence.map(value))
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, item) in mapping { members[key.string ?? ""] = value(item) }
            return .object(members)
        case .alias:
            return .null
        }
    }

    private static func typed(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        let integer = #/[-+]?[0-9]+/#
        let float = #/[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/#
        if (try? integer.wholeMatch(in: text)) != nil || (try? float.wholeMatch(in: text)) != nil, let number = Double(text) {
            return .number(number)
        }
        return .string(text)
    }
}
