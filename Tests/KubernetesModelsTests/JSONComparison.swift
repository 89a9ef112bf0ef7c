import Foundation
import KubernetesModels
import Testing

/// Round-trip checks shared by the decoding tests.
enum JSONComparison {
    /// Decodes `data` as `T`, checks that encoding and decoding again gives an equal value, and
    /// returns where the encoded JSON differs from `data` (empty when nothing was lost or altered).
    static func roundTripDifferences<T: Codable & Hashable>(_ type: T.Type, _ data: Data) throws -> [String] {
        let decoded = try JSONDecoder().decode(T.self, from: data)
        let encoded = try JSONEncoder().encode(decoded)
        #expect(try JSONDecoder().decode(T.self, from: encoded) == decoded, "\(T.self) changed through encode/decode")
        return differences(try JSONValue(parsing: data), try JSONValue(parsing: encoded))
    }

    /// The paths where `original` and `reencoded` differ. Members that are `null` or `[]` count as
    /// absent: the models read both as "not set" (`containers: null` in BOOKMARK events becomes `[]`);
    /// so does an empty `metadata`, which the models always write (request bodies may omit it).
    static func differences(_ original: JSONValue, _ reencoded: JSONValue, path: String = "") -> [String] {
        switch (original, reencoded) {
        case (.object(let left), .object(let right)):
            let keys = Set(left.keys).union(right.keys).sorted()
            return keys.flatMap { key -> [String] in
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                switch (meaningful(left[key], key: key), meaningful(right[key], key: key)) {
                case (nil, nil): return []
                case (.some, nil): return ["\(childPath) lost"]
                case (nil, .some): return ["\(childPath) added"]
                case (.some(let a), .some(let b)): return differences(a, b, path: childPath)
                }
            }
        case (.array(let left), .array(let right)) where left.count == right.count:
            return zip(left, right).enumerated().flatMap { index, pair in differences(pair.0, pair.1, path: "\(path)[\(index)]") }
        default:
            return original == reencoded ? [] : ["\(path): \(original) became \(reencoded)"]
        }
    }

    private static func meaningful(_ value: JSONValue?, key: String) -> JSONValue? {
        switch value {
        case nil, .null?: nil
        case .array(let elements)? where elements.isEmpty: nil
        case .object(let members)? where members.isEmpty && key == "metadata": nil
        default: value
        }
    }
}
