import Foundation
import KubernetesModels
import Logging

/// The minimal controllers the simulator runs in-process, so that a Deployment gets ReplicaSets and
/// pods, pods get scheduled, and deleted namespaces drain. Each is a small,
/// level-triggered reconcile over the store; switch them off to drive everything from a test.
public struct SimulatedControllers: OptionSet, Sendable {
    public let rawValue: Int
    /// Creates a set from its raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Pods from ReplicaSet templates, scaled to `spec.replicas`.
    public static let replicaSets = SimulatedControllers(rawValue: 1 << 0)
    /// One ReplicaSet per pod-template hash, rolled over to the newest.
    public static let deployments = SimulatedControllers(rawValue: 1 << 1)
    /// Ordinal pods and their PersistentVolumeClaims.
    public static let statefulSets = SimulatedControllers(rawValue: 1 << 2)
    /// Foreground deletion: owners wait for their dependents (background and orphan are the store's).
    public static let garbageCollector = SimulatedControllers(rawValue: 1 << 3)
    /// Binds pending pods to nodes (selectors, affinity, taints, RuntimeClass, PVCs).
    public static let scheduler = SimulatedControllers(rawValue: 1 << 4)
    /// Namespace termination: a deleted namespace drains, then goes.
    public static let namespaces = SimulatedControllers(rawValue: 1 << 5)
    /// PersistentVolume binding: claims to volumes, provisioner annotation, Released volumes.
    public static let persistentVolumes = SimulatedControllers(rawValue: 1 << 6)
    /// Everything above.
    public static let all: SimulatedControllers = [.replicaSets, .deployments, .statefulSets, .garbageCollector, .scheduler, .namespaces, .persistentVolumes]
}

/// One minimal controller: brings the store closer to the desired state each time it is called.
/// Reconciles must be idempotent and write only what differs, so that the loop settles.
protocol SimulatedController: Sendable {
    func reconcile(_ cluster: Cluster) async
}

/// The store plus the resource types the controllers use.
struct Cluster: Sendable {
    let store: KubernetesStore
    let pods: ResourceType
    let replicaSets: ResourceType
    let deployments: ResourceType
    let statefulSets: ResourceType
    let claims: ResourceType
    let nodes: ResourceType
    let namespaces: ResourceType
    let storageClasses: ResourceType?
    let volumes: ResourceType?
    let logger: Logger

    init?(store: KubernetesStore, logger: Logger) async {
        func type(_ group: String, _ version: String, _ resource: String) async -> ResourceType? {
            await store.resourceType(group: group, version: version, resource: resource)
        }
        guard let pods = await type("", "v1", "pods"), let replicaSets = await type("apps", "v1", "replicasets"),
            let deployments = await type("apps", "v1", "deployments"), let statefulSets = await type("apps", "v1", "statefulsets"),
            let claims = await type("", "v1", "persistentvolumeclaims"), let nodes = await type("", "v1", "nodes"),
            let namespaces = await type("", "v1", "namespaces")
        else { return nil }
        self.store = store
        self.pods = pods
        self.replicaSets = replicaSets
        self.deployments = deployments
        self.statefulSets = statefulSets
        self.claims = claims
        self.nodes = nodes
        self.namespaces = namespaces
        self.storageClasses = await type("storage.k8s.io", "v1", "storageclasses")
        self.volumes = await type("", "v1", "persistentvolumes")
        self.logger = logger
    }

    /// Every object of a type (all namespaces); empty when the list fails.
    func all(_ type: ResourceType) async -> [JSONValue] {
        (try? await store.list(type, namespace: nil).items) ?? []
    }

    /// Logs a write a controller could not make (the next reconcile retries it).
    func note(_ error: any Error, _ action: String, _ object: String) {
        logger.debug("controller write failed", metadata: ["action": "\(action)", "object": "\(object)", "error": "\(error)"])
    }
}

/// Runs the enabled controllers whenever the store changes, one reconcile pass at a time; changes
/// that arrive during a pass coalesce into one more pass.
final class ClusterControllers: Sendable {
    private let task: Task<Void, Never>

    private init(task: Task<Void, Never>) { self.task = task }

    /// Subscribes to the store and starts reconciling (a first pass runs at once).
    static func start(store: KubernetesStore, enabled: SimulatedControllers, logger: Logger) async -> ClusterControllers {
        guard !enabled.isEmpty, let cluster = await Cluster(store: store, logger: logger) else {
            return ClusterControllers(task: Task {})
        }
        var controllers: [any SimulatedController] = []
        if enabled.contains(.namespaces) { controllers.append(NamespaceController()) }
        if enabled.contains(.deployments) { controllers.append(DeploymentController()) }
        if enabled.contains(.replicaSets) { controllers.append(ReplicaSetController()) }
        if enabled.contains(.statefulSets) { controllers.append(StatefulSetController()) }
        if enabled.contains(.garbageCollector) { controllers.append(GarbageCollector()) }
        if enabled.contains(.scheduler) { controllers.append(Scheduler()) }
        if enabled.contains(.persistentVolumes) { controllers.append(PersistentVolumeController()) }
        let changes = await store.subscribe()
        let (passes, trigger) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        trigger.yield()
        let pump = Task {
            for await _ in changes { trigger.yield() }
            trigger.finish()
        }
        let task = Task {
            await withTaskCancellationHandler {
                for await _ in passes {
                    for controller in controllers { await controller.reconcile(cluster) }
                }
            } onCancel: {
                pump.cancel()
                trigger.finish()
            }
        }
        return ClusterControllers(task: task)
    }

    /// Stops reconciling and waits for the current pass to end.
    func stop() async {
        task.cancel()
        await task.value
    }
}

// MARK: Object helpers shared by the controllers

extension JSONValue {
    var name: String { self["metadata"]?["name"]?.stringValue ?? "" }
    var namespace: String? { self["metadata"]?["namespace"]?.stringValue }
    var uid: String { self["metadata"]?["uid"]?.stringValue ?? "" }
    var isTerminating: Bool { self["metadata"]?["deletionTimestamp"] != nil }

    /// The uid of the owner with `controller: true`, if any.
    var controllerUID: String? {
        (self["metadata"]?["ownerReferences"]?.arrayValue ?? []).first { $0["controller"] == .bool(true) }?["uid"]?.stringValue
    }

    /// A pod whose `Ready` condition is `True`.
    var isReadyPod: Bool {
        (self["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
    }

    /// A pod that is neither terminating nor finished (what controllers count as a replica).
    var isActivePod: Bool {
        let phase = self["status"]?["phase"]?.stringValue
        return !isTerminating && phase != "Succeeded" && phase != "Failed"
    }

    /// An owner reference to this object, as controllers set on what they create.
    func controllerReference(kind: String, apiVersion: String) -> JSONValue {
        [
            "apiVersion": .string(apiVersion), "kind": .string(kind), "name": .string(name), "uid": .string(uid),
            "controller": true, "blockOwnerDeletion": true,
        ]
    }

    /// A condition list with one condition set; the transition time changes only when the status does.
    static func setting(
        condition type: String, status: String, reason: String, message: String, in conditions: [JSONValue], withUpdateTime: Bool = false
    ) -> [JSONValue] {
        let now = KubernetesStore.timestamp()
        let existing = conditions.first { $0["type"]?.stringValue == type }
        var condition: [String: JSONValue] = ["type": .string(type), "status": .string(status), "reason": .string(reason), "message": .string(message)]
        let unchanged = existing?["status"]?.stringValue == status
        condition["lastTransitionTime"] = unchanged ? (existing?["lastTransitionTime"] ?? .string(now)) : .string(now)
        if withUpdateTime {
            let same = unchanged && existing?["reason"]?.stringValue == reason && existing?["message"]?.stringValue == message
            condition["lastUpdateTime"] = same ? (existing?["lastUpdateTime"] ?? .string(now)) : .string(now)
        }
        var result = conditions.filter { $0["type"]?.stringValue != type }
        result.append(.object(condition))
        return result.sorted { ($0["type"]?.stringValue ?? "") < ($1["type"]?.stringValue ?? "") }
    }
}

/// `spec.selector` of a workload (matchLabels and matchExpressions), evaluated against labels.
enum WorkloadSelector {
    static func matches(_ selector: JSONValue?, _ labels: [String: String]) -> Bool {
        guard let selector else { return false }
        let matchLabels = (selector["matchLabels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        guard matchLabels.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
        return (selector["matchExpressions"]?.arrayValue ?? []).allSatisfy { expression in
            let key = expression["key"]?.stringValue ?? ""
            let values = (expression["values"]?.arrayValue ?? []).compactMap(\.stringValue)
            switch expression["operator"]?.stringValue {
            case "In": return labels[key].map(values.contains) ?? false
            case "NotIn": return !(labels[key].map(values.contains) ?? false)
            case "Exists": return labels[key] != nil
            case "DoesNotExist": return labels[key] == nil
            default: return false
            }
        }
    }
}

/// The pod a workload controller creates from its template.
enum PodTemplate {
    static func pod(from template: JSONValue?, generateName: String? = nil, name: String? = nil, extraLabels: [String: String], owner: JSONValue) -> JSONValue {
        var metadata = template?["metadata"]?.objectValue ?? [:]
        var labels = metadata["labels"]?.objectValue ?? [:]
        for (key, value) in extraLabels { labels[key] = .string(value) }
        metadata["labels"] = .object(labels)
        if let name { metadata["name"] = .string(name) } else if let generateName { metadata["generateName"] = .string(generateName) }
        metadata["ownerReferences"] = [owner]
        metadata["namespace"] = nil
        return ["apiVersion": "v1", "kind": "Pod", "metadata": .object(metadata), "spec": template?["spec"] ?? [:]]
    }

    /// A short, stable hash of a pod template, spelled like the controllers' `pod-template-hash`.
    static func hash(_ template: JSONValue?) -> String {
        let bytes = (try? (template ?? .null).serialized()) ?? Data()
        var value: UInt32 = 2_166_136_261
        for byte in bytes {
            value ^= UInt32(byte)
            value = value &* 16_777_619
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(String(value).utf8.map { alphabet[Int($0) % alphabet.count] })
    }
}
