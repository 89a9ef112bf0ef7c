import Foundation
import KubernetesModels

/// Defaulting a real API server applies on create, for the types whose defaults clients rely on.
enum ResourceDefaults {
    /// Groups whose objects carry `metadata.generation` (spec-bearing workload and extension types).
    private static let generationGroups: Set<String> = [
        "apps", "batch", "policy", "networking.k8s.io", "apiextensions.k8s.io", "autoscaling", "scheduling.k8s.io",
    ]

    /// `true` when objects of the type get `metadata.generation` (bumped on spec changes).
    static func tracksGeneration(_ type: ResourceType, custom: Bool) -> Bool {
        custom || type.storageKey == "/pods" || generationGroups.contains(type.group)
    }

    static func prepareForCreate(_ type: ResourceType, _ object: inout JSONValue) {
        switch type.storageKey {
        case "/pods": defaultPod(&object)
        case "/namespaces":
            let name = object["metadata"]?["name"] ?? ""
            let labels = merged(object["metadata"]?["labels"], ["kubernetes.io/metadata.name": name])
            object["spec"] = object["spec"] ?? ["finalizers": ["kubernetes"]]
            object["status"] = ["phase": "Active"]
            object["metadata"]?["labels"] = labels
        case "/nodes":
            var status = object["status"]?.objectValue ?? [:]
            status["daemonEndpoints"] = status["daemonEndpoints"] ?? ["kubeletEndpoint": ["Port": 0]]
            object["status"] = .object(status)
        case "/secrets":
            let type = object["type"] ?? "Opaque"
            object["type"] = type
        case "/services":
            var spec = object["spec"]?.objectValue ?? [:]
            spec["type"] = spec["type"] ?? "ClusterIP"
            spec["sessionAffinity"] = spec["sessionAffinity"] ?? "None"
            object["spec"] = .object(spec)
            let status = object["status"] ?? ["loadBalancer": [:]]
            object["status"] = status
        case "apps/deployments", "apps/statefulsets", "apps/replicasets":
            var spec = object["spec"]?.objectValue ?? [:]
            spec["replicas"] = spec["replicas"] ?? 1
            object["spec"] = .object(spec)
            let status = object["status"] ?? [:]
            object["status"] = status
        default: break
        }
    }

    /// Gives every pod and node condition its time fields, `null` when unset: the real server
    /// stores them as Go `metav1.Time` values, which always serialize (zero as `null`).
    static func fillConditionTimes(_ type: ResourceType, _ object: inout JSONValue) {
        let timeFields: [String]
        switch type.storageKey {
        case "/pods": timeFields = ["lastProbeTime", "lastTransitionTime"]
        case "/nodes": timeFields = ["lastHeartbeatTime", "lastTransitionTime"]
        default: return
        }
        guard let conditions = object["status"]?["conditions"]?.arrayValue else { return }
        object["status"]?["conditions"] = .array(
            conditions.map { condition in
                guard var members = condition.objectValue else { return condition }
                for field in timeFields where members[field] == nil { members[field] = .null }
                return .object(members)
            })
    }

    private static func merged(_ existing: JSONValue?, _ extra: [String: JSONValue]) -> JSONValue {
        var members = existing?.objectValue ?? [:]
        for (key, value) in extra { members[key] = value }
        return .object(members)
    }

    private static func defaultPod(_ pod: inout JSONValue) {
        guard var spec = pod["spec"]?.objectValue else { return }
        spec["restartPolicy"] = spec["restartPolicy"] ?? "Always"
        spec["terminationGracePeriodSeconds"] = spec["terminationGracePeriodSeconds"] ?? 30
        spec["dnsPolicy"] = spec["dnsPolicy"] ?? "ClusterFirst"
        spec["schedulerName"] = spec["schedulerName"] ?? "default-scheduler"
        spec["securityContext"] = spec["securityContext"] ?? [:]
        spec["serviceAccountName"] = spec["serviceAccountName"] ?? "default"
        spec["serviceAccount"] = spec["serviceAccountName"]
        spec["enableServiceLinks"] = spec["enableServiceLinks"] ?? true
        spec["priority"] = spec["priority"] ?? 0
        spec["preemptionPolicy"] = spec["preemptionPolicy"] ?? "PreemptLowerPriority"
        for field in ["containers", "initContainers"] {
            guard let containers = spec[field]?.arrayValue else { continue }
            spec[field] = .array(containers.map(defaultContainer))
        }
        pod["spec"] = .object(spec)
        var status = pod["status"]?.objectValue ?? [:]
        status["phase"] = status["phase"] ?? "Pending"
        status["qosClass"] = status["qosClass"] ?? "BestEffort"
        pod["status"] = .object(status)
    }

    private static func defaultContainer(_ container: JSONValue) -> JSONValue {
        var container = container
        let image = container["image"]?.stringValue ?? ""
        let tagged = image.split(separator: "/").last?.contains(":") == true && !image.hasSuffix(":latest")
        container["imagePullPolicy"] = container["imagePullPolicy"] ?? (tagged ? "IfNotPresent" : "Always")
        container["terminationMessagePath"] = container["terminationMessagePath"] ?? "/dev/termination-log"
        container["terminationMessagePolicy"] = container["terminationMessagePolicy"] ?? "File"
        container["resources"] = container["resources"] ?? [:]
        return container
    }
}

/// Validates custom resources against their CRD's `openAPIV3Schema` (type, required, pattern,
/// enum, minimum/maximum), with the 422 messages a real server writes.
enum SchemaValidator {
    static func validate(_ object: JSONValue, schema: JSONValue, type: ResourceType, name: String) throws(KubernetesAPIStatus) {
        var causes: [(field: String, reason: String, message: String)] = []
        check(object, schema, path: "", causes: &causes, root: true)
        if !causes.isEmpty { throw .invalid(type, name: name, causes: causes) }
    }

    private static func check(
        _ value: JSONValue, _ schema: JSONValue, path: String, causes: inout [(field: String, reason: String, message: String)],
        root: Bool = false
    ) {
        if schema["x-kubernetes-preserve-unknown-fields"] == .bool(true) && schema["properties"] == nil { return }
        if schema["x-kubernetes-int-or-string"] == .bool(true) { return }
        let expected = schema["type"]?.stringValue
        let actual: String
        switch value {
        case .null: actual = "null"
        case .bool: actual = "boolean"
        case .number: actual = value.intValue != nil ? "integer" : "number"
        case .string: actual = "string"
        case .array: actual = "array"
        case .object: actual = "object"
        }
        if let expected, expected != actual, !(expected == "number" && actual == "integer"), !(value == .null && schema["nullable"] == .bool(true)) {
            causes.append((path, "FieldValueTypeInvalid", "Invalid value: \"\(actual)\": \(path) in body must be of type \(expected): \"\(actual)\""))
            return
        }
        switch value {
        case .string(let text):
            if let pattern = schema["pattern"]?.stringValue, text.range(of: pattern, options: .regularExpression) == nil {
                causes.append((path, "FieldValueInvalid", "Invalid value: \"\(text)\": \(path) in body should match '\(pattern)'"))
            }
            if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
                let list = allowed.compactMap(\.stringValue).map { "\"\($0)\"" }.joined(separator: ", ")
                causes.append((path, "FieldValueNotSupported", "Unsupported value: \"\(text)\": supported values: \(list)"))
            }
        case .number(let number):
            if let minimum = schema["minimum"], case .number(let bound) = minimum, number < bound {
                causes.append((path, "FieldValueInvalid", "Invalid value: \(number): \(path) in body should be greater than or equal to \(bound)"))
            }
            if let maximum = schema["maximum"], case .number(let bound) = maximum, number > bound {
                causes.append((path, "FieldValueInvalid", "Invalid value: \(number): \(path) in body should be less than or equal to \(bound)"))
            }
        case .object(let members):
            for required in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[required] == nil {
                let field = path.isEmpty ? required : "\(path).\(required)"
                causes.append((field, "FieldValueRequired", "Required value"))
            }
            let properties = schema["properties"]?.objectValue ?? [:]
            for (key, member) in members {
                if root && ["apiVersion", "kind", "metadata"].contains(key) { continue }
                let field = path.isEmpty ? key : "\(path).\(key)"
                if let propertySchema = properties[key] {
                    check(member, propertySchema, path: field, causes: &causes)
                } else if let additional = schema["additionalProperties"], additional.objectValue != nil {
                    check(member, additional, path: field, causes: &causes)
                }
            }
        case .array(let elements):
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() { check(element, items, path: "\(path)[\(index)]", causes: &causes) }
            }
        default: break
        }
    }
}

/// What the ServiceAccount admission plugin and the service-account/root-CA controllers do: every
/// namespace gets a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap, and every pod
/// whose service account exists gets the `kube-api-access-*` projected token volume.
enum ServiceAccountAdmission {
    static let mountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

    static func populate(namespace: String, store: KubernetesStore, caPEM: String) async throws {
        guard let serviceAccounts = await store.resourceType(group: "", version: "v1", resource: "serviceaccounts"),
            let configMaps = await store.resourceType(group: "", version: "v1", resource: "configmaps")
        else { return }
        try await store.create(serviceAccounts, namespace: namespace, object: ["metadata": ["name": "default"]])
        try await store.create(
            configMaps, namespace: namespace,
            object: [
                "metadata": [
                    "name": "kube-root-ca.crt",
                    "annotations": [
                        "kubernetes.io/description":
                            "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
                    ],
                ],
                "data": ["ca.crt": .string(caPEM)],
            ])
    }

    static func mountToken(_ pod: JSONValue, namespace: String?, store: KubernetesStore) async -> JSONValue {
        guard var spec = pod["spec"]?.objectValue, spec["automountServiceAccountToken"] != .bool(false),
            let serviceAccounts = await store.resourceType(group: "", version: "v1", resource: "serviceaccounts")
        else { return pod }
        let account = spec["serviceAccountName"]?.stringValue ?? "default"
        guard (try? await store.get(serviceAccounts, namespace: namespace, name: account)) != nil else { return pod }
        let containers = (spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])
        let alreadyMounted = containers.contains { container in
            (container["volumeMounts"]?.arrayValue ?? []).contains { $0["mountPath"]?.stringValue == mountPath }
        }
        guard !alreadyMounted else { return pod }
        let volumeName = "kube-api-access-" + KubernetesStore.randomSuffix()
        let volume: JSONValue = [
            "name": .string(volumeName),
            "projected": [
                "sources": [
                    ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
                    ["configMap": ["name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]]]],
                    ["downwardAPI": ["items": [["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]]]],
                ],
                "defaultMode": 420,
            ],
        ]
        spec["volumes"] = .array((spec["volumes"]?.arrayValue ?? []) + [volume])
        let mount: JSONValue = ["name": .string(volumeName), "readOnly": true, "mountPath": .string(mountPath)]
        for field in ["containers", "initContainers"] {
            guard let list = spec[field]?.arrayValue else { continue }
            spec[field] = .array(
                list.map { container in
                    var container = container
                    container["volumeMounts"] = .array((container["volumeMounts"]?.arrayValue ?? []) + [mount])
                    return container
                })
        }
        var result = pod
        result["spec"] = .object(spec)
        return result
    }
}
