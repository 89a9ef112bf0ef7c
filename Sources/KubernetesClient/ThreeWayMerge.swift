import KubernetesModels

/// Applies a typed edit onto the raw JSON the server sent, so fields the Swift type does not
/// model survive a read-modify-write.
///
/// `original` and `modified` are the typed object before and after the edit, both encoded to
/// JSON; `raw` is the server's JSON. Only what differs between `original` and `modified` is
/// written into `raw`: objects recurse key by key (a key present before and gone after is
/// removed), arrays of unchanged length recurse element by element (so unknown fields inside
/// list elements survive), anything else is replaced by the modified value.
public enum ThreeWayMerge {
    /// The raw JSON with the typed edit applied.
    public static func apply(original: JSONValue, modified: JSONValue, onto raw: JSONValue) -> JSONValue {
        if original == modified { return raw }
        switch (original, modified, raw) {
        case (.object(let before), .object(let after), .object(var result)):
            for key in Set(before.keys).union(after.keys) {
                switch (before[key], after[key]) {
                case (nil, nil):
                    continue
                case (.some, nil):
                    result[key] = nil
                case (nil, .some(let added)):
                    result[key] = added
                case (.some(let oldValue), .some(let newValue)):
                    guard oldValue != newValue else { continue }
                    if let rawValue = result[key] {
                        result[key] = apply(original: oldValue, modified: newValue, onto: rawValue)
                    } else {
                        result[key] = newValue
                    }
                }
            }
            return .object(result)
        case (.array(let before), .array(let after), .array(let elements))
        where before.count == after.count && elements.count == before.count:
            return .array(zip(zip(before, after), elements).map { pair, rawElement in
                apply(original: pair.0, modified: pair.1, onto: rawElement)
            })
        default:
            return modified
        }
    }
}
