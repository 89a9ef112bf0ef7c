import Foundation

extension Secret {
    /// A Secret holding `values`, base64-encoded into `data` as the API expects.
    public init(metadata: ObjectMeta, values: [String: Data], type: String? = nil) {
        self.init(metadata: metadata, data: values.mapValues { $0.base64EncodedString() }, type: type)
    }

    /// Every value of `data`, base64-decoded; throws `KubernetesModelsError` naming the secret and key
    /// whose value is not base64. (`stringData` is write-only and not included.)
    public func decodedData() throws -> [String: Data] {
        var result: [String: Data] = [:]
        for key in (data ?? [:]).keys {
            result[key] = try value(forKey: key)
        }
        return result
    }

    /// The base64-decoded value of `key` in `data`, or `nil` when the key is absent.
    public func value(forKey key: String) throws -> Data? {
        guard let encoded = data?[key] else { return nil }
        guard let decoded = Data(base64Encoded: encoded) else {
            throw KubernetesModelsError.invalidBase64(object: "secret \(metadata.namespace ?? "")/\(metadata.name ?? "")", key: key)
        }
        return decoded
    }

    /// The value of `key` in `data` as UTF-8 text, or `nil` when the key is absent or not UTF-8.
    public func string(forKey key: String) throws -> String? {
        try value(forKey: key).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// Stores `value` under `key` in `data`, base64-encoded.
    public mutating func setValue(_ value: Data, forKey key: String) {
        var values = data ?? [:]
        values[key] = value.base64EncodedString()
        data = values
    }
}

extension ConfigMap {
    /// The base64-decoded value of `key` in `binaryData`, or `nil` when the key is absent; throws
    /// `KubernetesModelsError` naming the config map and key when the value is not base64.
    public func binaryValue(forKey key: String) throws -> Data? {
        guard let encoded = binaryData?[key] else { return nil }
        guard let decoded = Data(base64Encoded: encoded) else {
            throw KubernetesModelsError.invalidBase64(object: "configmap \(metadata.namespace ?? "")/\(metadata.name ?? "")", key: key)
        }
        return decoded
    }
}

extension TokenRequest {
    /// The URL path to POST a TokenRequest to: the `token` subresource of a ServiceAccount,
    /// `/api/v1/namespaces/<namespace>/serviceaccounts/<serviceAccount>/token`.
    public static func serviceAccountTokenPath(namespace: String, serviceAccount: String) -> String {
        "/api/v1/namespaces/\(namespace)/serviceaccounts/\(serviceAccount)/token"
    }
}

extension ObjectReference {
    /// A reference to `object`, optionally to one of its fields (`spec.containers{name}`), as an
    /// Event's `involvedObject`.
    public init<Resource: KubernetesResource>(to object: Resource, fieldPath: String? = nil) {
        self.init(
            kind: Resource.kind, namespace: object.metadata.namespace, name: object.metadata.name,
            uid: object.metadata.uid, apiVersion: Resource.apiVersion, resourceVersion: nil, fieldPath: fieldPath
        )
    }
}
