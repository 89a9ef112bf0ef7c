import Foundation
import KubernetesModels

/// What the RuntimeClass admission plugin does to a pod at create time: a pod naming a
/// `runtimeClassName` gets the class's `scheduling.nodeSelector` and `scheduling.tolerations` merged
/// into its spec (pod overhead is not simulated); a pod naming a missing class is rejected.
enum RuntimeClassAdmission {
    static func admit(_ pod: JSONValue, store: KubernetesStore) async throws(KubernetesAPIStatus) -> JSONValue {
        guard let className = pod["spec"]?["runtimeClassName"]?.stringValue, !className.isEmpty,
            let type = await store.resourceType(group: "node.k8s.io", version: "v1", resource: "runtimeclasses")
        else { return pod }
        let podName = pod["metadata"]?["name"]?.stringValue ?? pod["metadata"]?["generateName"]?.stringValue ?? ""
        guard let runtimeClass = try? await store.get(type, namespace: nil, name: className) else {
            throw KubernetesAPIStatus(
                code: 403, reason: "Forbidden", message: "pods \"\(podName)\" is forbidden: pod rejected: RuntimeClass \"\(className)\" not found",
                details: ["name": .string(podName), "kind": "pods"])
        }
        var pod = pod
        var nodeSelector = pod["spec"]?["nodeSelector"]?.objectValue ?? [:]
        for (key, value) in runtimeClass["scheduling"]?["nodeSelector"]?.objectValue ?? [:] {
            if let existing = nodeSelector[key], existing != value {
                throw KubernetesAPIStatus(
                    code: 403, reason: "Forbidden",
                    message: "pods \"\(podName)\" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[\(key)] = \(value.stringValue ?? ""); pod.spec.nodeSelector[\(key)] = \(existing.stringValue ?? "")",
                    details: ["name": .string(podName), "kind": "pods"])
            }
            nodeSelector[key] = value
        }
        if !nodeSelector.isEmpty { pod["spec"]?["nodeSelector"] = .object(nodeSelector) }
        var tolerations = pod["spec"]?["tolerations"]?.arrayValue ?? []
        for toleration in runtimeClass["scheduling"]?["tolerations"]?.arrayValue ?? [] where !tolerations.contains(toleration) {
            tolerations.append(toleration)
        }
        if !tolerations.isEmpty { pod["spec"]?["tolerations"] = .array(tolerations) }
        return pod
    }
}

extension Cluster {
    /// Creates a pod as a controller does through the API: admission first, then storage.
    @discardableResult
    func createPod(_ pod: JSONValue, namespace: String?) async throws(KubernetesAPIStatus) -> JSONValue {
        try await store.create(pods, namespace: namespace, object: try await RuntimeClassAdmission.admit(pod, store: store))
    }
}
