import Foundation
import KubernetesModels

/// The object-metadata checks every kube-apiserver registry runs on create and update (the name
/// format and label values), with the real server's 422 cause texts.
enum MetadataValidation {
    private static let subdomainPattern = #"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"#
    private static let labelPattern = #"[a-z0-9]([-a-z0-9]*[a-z0-9])?"#
    private static let labelValuePattern = #"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"#
    private static let configKeyPattern = #"[-._a-zA-Z0-9]+"#

    /// Throws 422 Invalid listing every bad field: `metadata.name` (an RFC 1123 label for
    /// namespaces and services, a subdomain otherwise), each `metadata.labels` value, and the keys of
    /// a ConfigMap's or Secret's `data`/`binaryData`/`stringData` (the real server's config-key rule),
    /// and a RuntimeClass's `handler` (an RFC 1123 label).
    static func validate(_ object: JSONValue, type: ResourceType, name: String) throws(KubernetesAPIStatus) {
        var causes: [(field: String, reason: String, message: String)] = []
        for problem in nameProblems(name, isLabel: ["/namespaces", "/services"].contains(type.storageKey)) {
            causes.append(("metadata.name", "FieldValueInvalid", "Invalid value: \"\(name)\": \(problem)"))
        }
        let labels = object["metadata"]?["labels"]?.objectValue ?? [:]
        for key in labels.keys.sorted() {
            guard let value = labels[key]?.stringValue else { continue }
            for problem in labelValueProblems(value) {
                causes.append(("metadata.labels", "FieldValueInvalid", "Invalid value: \"\(value)\": \(problem)"))
            }
        }
        if ["/configmaps", "/secrets"].contains(type.storageKey) {
            for field in ["data", "binaryData", "stringData"] {
                for key in (object[field]?.objectValue ?? [:]).keys.sorted() where !matches(key, configKeyPattern) || key.count > 253 || key == "." || key == ".." {
                    let problem =
                        key.count > 253
                        ? "must be no more than 253 characters"
                        : [".", ".."].contains(key)
                            ? "must not be '\(key)'"
                            : "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '\(configKeyPattern)')"
                    causes.append(("\(field)[\(key)]", "FieldValueInvalid", "Invalid value: \"\(key)\": \(problem)"))
                }
            }
        }
        if type.storageKey == "node.k8s.io/runtimeclasses", let handler = object["handler"]?.stringValue {
            // A RuntimeClass handler is a DNS label (seen on v1.36: `raw_exec` is 422).
            for problem in nameProblems(handler, isLabel: true) {
                causes.append(("handler", "FieldValueInvalid", "Invalid value: \"\(handler)\": \(problem)"))
            }
        }
        if !causes.isEmpty { throw .invalid(type, name: name, causes: causes) }
    }

    private static func nameProblems(_ name: String, isLabel: Bool) -> [String] {
        var problems: [String] = []
        if isLabel {
            if name.count > 63 { problems.append("must be no more than 63 characters") }
            if !matches(name, labelPattern) {
                problems.append(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '\(labelPattern)')"
                )
            }
        } else {
            if name.count > 253 { problems.append("must be no more than 253 characters") }
            if !matches(name, subdomainPattern) {
                problems.append(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '\(subdomainPattern)')"
                )
            }
        }
        return problems
    }

    private static func labelValueProblems(_ value: String) -> [String] {
        var problems: [String] = []
        if value.utf8.count > 63 { problems.append("must be no more than 63 bytes") }
        if !matches(value, labelValuePattern) {
            problems.append(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '\(labelValuePattern)')"
            )
        }
        return problems
    }

    private static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: "^(?:\(pattern))$", options: .regularExpression) != nil
    }
}
