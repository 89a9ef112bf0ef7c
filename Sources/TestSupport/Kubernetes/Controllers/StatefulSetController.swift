import Foundation
import KubernetesModels

/// The StatefulSet controller, minimally: pods `<set>-0 … <set>-(n-1)` created in order (with
/// `OrderedReady`, the next one only when the previous is Running and Ready; with `Parallel`, all at
/// once), each after its PersistentVolumeClaims `<template>-<set>-<ordinal>` (which stay when the set
/// scales down); scale-down from the highest ordinal; a deleted pod comes back with the same name,
/// and so does one that ended (Failed or Succeeded: deleted first, as the real controller does).
struct StatefulSetController: SimulatedController {
    func reconcile(_ cluster: Cluster) async {
        let pods = await cluster.all(cluster.pods)
        let claims = await cluster.all(cluster.claims)
        for set in await cluster.all(cluster.statefulSets) where !set.isTerminating {
            let namespace = set.namespace
            let owned = Dictionary(
                pods.filter { $0.controllerUID == set.uid && $0.namespace == namespace }.compactMap { pod in ordinal(of: pod, in: set).map { ($0, pod) } },
                uniquingKeysWith: { first, _ in first })
            let replicas = set["spec"]?["replicas"]?.intValue ?? 1
            let parallel = set["spec"]?["podManagementPolicy"]?.stringValue == "Parallel"
            // A pod that ended (Failed, e.g. evicted or its Nomad client lost) is deleted, then recreated.
            for (_, pod) in owned where !pod.isTerminating && ["Failed", "Succeeded"].contains(pod["status"]?["phase"]?.stringValue) {
                do { try await cluster.store.delete(cluster.pods, namespace: namespace, name: pod.name) } catch { cluster.note(error, "delete ended pod", pod.name) }
            }
            let revision = "\(set.name)-\(PodTemplate.hash(set["spec"]?["template"]))"
            for index in 0..<replicas where owned[index] == nil {
                if !parallel && !predecessorsReady(owned, below: index) { break }
                await createClaims(set, ordinal: index, existing: claims, cluster)
                await createPod(set, ordinal: index, revision: revision, cluster)
                if !parallel { break }
            }
            let extra = owned.keys.filter { $0 >= replicas }.sorted(by: >)
            let terminating = owned.values.contains(where: \.isTerminating)
            for index in extra where !(owned[index]?.isTerminating ?? true) {
                if !parallel && terminating { break }
                do { try await cluster.store.delete(cluster.pods, namespace: namespace, name: "\(set.name)-\(index)") } catch {
                    cluster.note(error, "delete pod", set.name)
                }
                if !parallel { break }
            }
            await updateStatus(set, pods: owned.filter { $0.key < replicas }.map(\.value), revision: revision, cluster)
        }
    }

    private func ordinal(of pod: JSONValue, in set: JSONValue) -> Int? {
        let prefix = set.name + "-"
        guard pod.name.hasPrefix(prefix) else { return nil }
        return Int(pod.name.dropFirst(prefix.count))
    }

    /// Whether the pods below `ordinal` are all Running and Ready (what OrderedReady waits for).
    private func predecessorsReady(_ owned: [Int: JSONValue], below ordinal: Int) -> Bool {
        (0..<ordinal).allSatisfy { index in
            guard let pod = owned[index], !pod.isTerminating else { return false }
            return pod["status"]?["phase"]?.stringValue == "Running" && pod.isReadyPod
        }
    }

    private func createClaims(_ set: JSONValue, ordinal: Int, existing: [JSONValue], _ cluster: Cluster) async {
        let selectorLabels = set["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:]
        for template in set["spec"]?["volumeClaimTemplates"]?.arrayValue ?? [] {
            let name = "\(template.name)-\(set.name)-\(ordinal)"
            guard !existing.contains(where: { $0.name == name && $0.namespace == set.namespace }) else { continue }
            var labels = template["metadata"]?["labels"]?.objectValue ?? [:]
            labels.merge(selectorLabels) { _, selector in selector }
            var metadata = template["metadata"]?.objectValue ?? [:]
            metadata["name"] = .string(name)
            metadata["namespace"] = nil
            metadata["labels"] = .object(labels)
            let claim: JSONValue = ["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": .object(metadata), "spec": template["spec"] ?? [:]]
            do { try await cluster.store.create(cluster.claims, namespace: set.namespace, object: claim) } catch {
                cluster.note(error, "create claim", name)
            }
        }
    }

    private func createPod(_ set: JSONValue, ordinal: Int, revision: String, _ cluster: Cluster) async {
        let name = "\(set.name)-\(ordinal)"
        var pod = PodTemplate.pod(
            from: set["spec"]?["template"], name: name,
            extraLabels: ["statefulset.kubernetes.io/pod-name": name, "controller-revision-hash": revision, "apps.kubernetes.io/pod-index": String(ordinal)],
            owner: set.controllerReference(kind: "StatefulSet", apiVersion: "apps/v1"))
        pod["spec"]?["hostname"] = .string(name)
        if let service = set["spec"]?["serviceName"]?.stringValue, !service.isEmpty { pod["spec"]?["subdomain"] = .string(service) }
        var volumes = pod["spec"]?["volumes"]?.arrayValue ?? []
        for template in set["spec"]?["volumeClaimTemplates"]?.arrayValue ?? [] where !volumes.contains(where: { $0.name == template.name }) {
            volumes.append(["name": .string(template.name), "persistentVolumeClaim": ["claimName": .string("\(template.name)-\(name)")]])
        }
        if !volumes.isEmpty { pod["spec"]?["volumes"] = .array(volumes) }
        do { try await cluster.createPod(pod, namespace: set.namespace) } catch { cluster.note(error, "create pod", name) }
    }

    private func updateStatus(_ set: JSONValue, pods: [JSONValue], revision: String, _ cluster: Cluster) async {
        let active = pods.filter { !$0.isTerminating }
        let ready = active.filter(\.isReadyPod).count
        var status = set["status"]?.objectValue ?? [:]
        status["observedGeneration"] = set["metadata"]?["generation"] ?? 1
        status["replicas"] = .number(Double(active.count))
        status["readyReplicas"] = .number(Double(ready))
        status["availableReplicas"] = .number(Double(ready))
        status["currentReplicas"] = .number(Double(active.count))
        status["updatedReplicas"] = .number(Double(active.count))
        status["currentRevision"] = .string(revision)
        status["updateRevision"] = .string(revision)
        status["collisionCount"] = status["collisionCount"] ?? 0
        guard JSONValue.object(status) != set["status"] else { return }
        do {
            try await cluster.store.mutate(cluster.statefulSets, namespace: set.namespace, name: set.name) { $0["status"] = .object(status) }
        } catch { cluster.note(error, "update status", set.name) }
    }
}
