import KubernetesModels

/// Computes the strategic merge patch that turns one object into another, as the kubelet does for
/// `pods/status`: changed values are set, removed keys are set to `null`, and lists with a patch
/// merge key (conditions by `type`, addresses by `type`, pod IPs by `ip`) are patched element by
/// element, with `$patch: delete` for elements that are gone. Every other list is atomic and sent
/// whole: `containerStatuses` and `initContainerStatuses` have no merge key in the API (a patch
/// holding only a container's changed fields would replace the stored status with that fragment).
/// Sending only the new object would leave stale members behind (a condition's old reason).
public enum StrategicMergeDiff {
    /// Patch merge keys of the lists this project patches (from the Kubernetes API's
    /// `x-kubernetes-patch-merge-key`); other lists, the container status lists among them, are
    /// replaced whole.
    public static let mergeKeys: [String: String] = [
        "conditions": "type",
        "addresses": "type",
        "podIPs": "ip",
        "hostIPs": "ip",
    ]

    /// The patch from `old` to `new`, or `nil` when they are equal.
    public static func patch(from old: JSONValue?, to new: JSONValue) -> JSONValue? {
        guard let old else { return new }
        guard old != new else { return Optional<JSONValue>.none }
        guard case .object(let oldMembers) = old, case .object(let newMembers) = new else { return new }
        var patch: [String: JSONValue] = [:]
        for (key, oldValue) in oldMembers where newMembers[key] == nil && oldValue != .null {
            patch[key] = .null
        }
        for (key, newValue) in newMembers {
            let oldValue = oldMembers[key]
            guard oldValue != newValue else { continue }
            if let mergeKey = mergeKeys[key], case .array(let oldList)? = oldValue, case .array(let newList) = newValue {
                if let listPatch = patchList(from: oldList, to: newList, mergeKey: mergeKey) { patch[key] = listPatch }
            } else if let memberPatch = Self.patch(from: oldValue, to: newValue) {
                patch[key] = memberPatch
            }
        }
        return patch.isEmpty ? Optional<JSONValue>.none : .object(patch)
    }

    private static func patchList(from old: [JSONValue], to new: [JSONValue], mergeKey: String) -> JSONValue? {
        // Without a merge key on every element the list can only be replaced.
        guard (old + new).allSatisfy({ $0[mergeKey] != nil }) else { return .array(new) }
        var elements: [JSONValue] = []
        for element in new {
            let key = element[mergeKey]
            guard let previous = old.first(where: { $0[mergeKey] == key }) else {
                elements.append(element)
                continue
            }
            if case .object(var changed)? = Self.patch(from: previous, to: element) {
                changed[mergeKey] = key
                elements.append(.object(changed))
            }
        }
        for element in old where !new.contains(where: { $0[mergeKey] == element[mergeKey] }) {
            elements.append(.object([mergeKey: element[mergeKey] ?? .null, "$patch": "delete"]))
        }
        return elements.isEmpty ? Optional<JSONValue>.none : .array(elements)
    }
}
