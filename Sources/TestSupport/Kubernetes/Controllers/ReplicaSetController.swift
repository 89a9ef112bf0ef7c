import Foundation
import KubernetesModels

/// The ReplicaSet controller, minimally: keeps `spec.replicas` active pods with the set's template
/// (named `<set>-<5 chars>`, owned by the set), deletes the extra ones on scale-down (unscheduled
/// first, then not ready, then the newest), and reports replicas/readyReplicas/availableReplicas.
struct ReplicaSetController: SimulatedController {
    func reconcile(_ cluster: Cluster) async {
        let pods = await cluster.all(cluster.pods)
        for set in await cluster.all(cluster.replicaSets) where !set.isTerminating {
            let owned = pods.filter { $0.controllerUID == set.uid && $0.namespace == set.namespace }
            let active = owned.filter(\.isActivePod)
            let desired = set["spec"]?["replicas"]?.intValue ?? 1
            let namespace = set.namespace
            if active.count < desired {
                let owner = set.controllerReference(kind: "ReplicaSet", apiVersion: "apps/v1")
                let hash = set["metadata"]?["labels"]?["pod-template-hash"]?.stringValue
                for _ in active.count..<desired {
                    let pod = PodTemplate.pod(
                        from: set["spec"]?["template"], generateName: "\(set.name)-",
                        extraLabels: hash.map { ["pod-template-hash": $0] } ?? [:], owner: owner)
                    do { try await cluster.createPod(pod, namespace: namespace) } catch { cluster.note(error, "create pod", set.name) }
                }
            } else if active.count > desired {
                for pod in Self.deletionOrder(active).prefix(active.count - desired) {
                    do { try await cluster.store.delete(cluster.pods, namespace: namespace, name: pod.name) } catch {
                        cluster.note(error, "delete pod", pod.name)
                    }
                }
            }
            await updateStatus(set, pods: active.count > desired ? Array(Self.deletionOrder(active).suffix(desired)) : active, cluster)
        }
    }

    /// Pods in the order a scale-down removes them: unscheduled, then not ready, then newest first.
    static func deletionOrder(_ pods: [JSONValue]) -> [JSONValue] {
        func rank(_ pod: JSONValue) -> Int {
            if (pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty { return 0 }
            return pod.isReadyPod ? 2 : 1
        }
        return pods.sorted { left, right in
            if rank(left) != rank(right) { return rank(left) < rank(right) }
            let leftTime = left["metadata"]?["creationTimestamp"]?.stringValue ?? ""
            let rightTime = right["metadata"]?["creationTimestamp"]?.stringValue ?? ""
            return leftTime != rightTime ? leftTime > rightTime : left.name > right.name
        }
    }

    private func updateStatus(_ set: JSONValue, pods: [JSONValue], _ cluster: Cluster) async {
        let ready = pods.filter(\.isReadyPod).count
        var status = set["status"]?.objectValue ?? [:]
        status["replicas"] = .number(Double(pods.count))
        status["fullyLabeledReplicas"] = .number(Double(pods.count))
        status["readyReplicas"] = .number(Double(ready))
        status["availableReplicas"] = .number(Double(ready))
        status["observedGeneration"] = set["metadata"]?["generation"] ?? 1
        guard JSONValue.object(status) != set["status"] else { return }
        do {
            try await cluster.store.mutate(cluster.replicaSets, namespace: set.namespace, name: set.name) { $0["status"] = .object(status) }
        } catch { cluster.note(error, "update status", set.name) }
    }
}
