import Foundation
import KubernetesModels

/// The Deployment controller, minimally: one ReplicaSet per pod-template hash (`<deployment>-<hash>`,
/// labelled and selected by `pod-template-hash`), the newest scaled to `spec.replicas` while the
/// older ones shrink as new pods become ready (a rolling replacement without surge limits), and the
/// status `kubectl rollout status` reads: replica counts, observedGeneration, and the Available and
/// Progressing conditions.
struct DeploymentController: SimulatedController {
    private static let revisionAnnotation = "deployment.kubernetes.io/revision"

    func reconcile(_ cluster: Cluster) async {
        let sets = await cluster.all(cluster.replicaSets)
        for deployment in await cluster.all(cluster.deployments) where !deployment.isTerminating {
            let owned = sets.filter { $0.controllerUID == deployment.uid && $0.namespace == deployment.namespace }
            let replicas = deployment["spec"]?["replicas"]?.intValue ?? 1
            let template = deployment["spec"]?["template"]
            let hash = PodTemplate.hash(template)
            let newName = "\(deployment.name)-\(hash)"
            var newSet = owned.first { $0.name == newName }
            if newSet == nil {
                newSet = await createReplicaSet(deployment, name: newName, hash: hash, existing: owned, replicas: replicas, cluster)
            } else if let current = newSet, current["spec"]?["replicas"]?.intValue != replicas {
                newSet = await scale(current, to: replicas, cluster) ?? current
            }
            let newReady = newSet?["status"]?["readyReplicas"]?.intValue ?? 0
            var oldAllowance = max(0, replicas - newReady)
            var oldSets: [JSONValue] = []
            for old in owned where old.name != newName {
                let current = old["spec"]?["replicas"]?.intValue ?? 0
                let target = min(current, oldAllowance)
                oldAllowance -= target
                oldSets.append(target == current ? old : (await scale(old, to: target, cluster) ?? old))
            }
            await updateStatus(deployment, newSet: newSet, oldSets: oldSets, replicas: replicas, cluster)
        }
    }

    private func createReplicaSet(
        _ deployment: JSONValue, name: String, hash: String, existing: [JSONValue], replicas: Int, _ cluster: Cluster
    ) async -> JSONValue? {
        let revision = (existing.compactMap { Int($0["metadata"]?["annotations"]?[Self.revisionAnnotation]?.stringValue ?? "") }.max() ?? 0) + 1
        var template = deployment["spec"]?["template"] ?? [:]
        var templateLabels = template["metadata"]?["labels"]?.objectValue ?? [:]
        templateLabels["pod-template-hash"] = .string(hash)
        if template["metadata"] == nil { template["metadata"] = [:] }
        template["metadata"]?["labels"] = .object(templateLabels)
        var selector = deployment["spec"]?["selector"] ?? [:]
        var matchLabels = selector["matchLabels"]?.objectValue ?? [:]
        matchLabels["pod-template-hash"] = .string(hash)
        selector["matchLabels"] = .object(matchLabels)
        let set: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": [
                "name": .string(name), "labels": .object(templateLabels),
                "annotations": [
                    Self.revisionAnnotation: .string(String(revision)),
                    "deployment.kubernetes.io/desired-replicas": .string(String(replicas)),
                    "deployment.kubernetes.io/max-replicas": .string(String(replicas + 1)),
                ],
                "ownerReferences": [deployment.controllerReference(kind: "Deployment", apiVersion: "apps/v1")],
            ],
            "spec": [
                "replicas": .number(Double(replicas)), "minReadySeconds": deployment["spec"]?["minReadySeconds"] ?? 0,
                "selector": selector, "template": template,
            ],
        ]
        do {
            let created = try await cluster.store.create(cluster.replicaSets, namespace: deployment.namespace, object: set)
            try await cluster.store.mutate(cluster.deployments, namespace: deployment.namespace, name: deployment.name) { object in
                if object["metadata"]?["annotations"] == nil { object["metadata"]?["annotations"] = [:] }
                object["metadata"]?["annotations"]?[Self.revisionAnnotation] = .string(String(revision))
            }
            return created
        } catch {
            cluster.note(error, "create replicaset", name)
            return nil
        }
    }

    private func scale(_ set: JSONValue, to replicas: Int, _ cluster: Cluster) async -> JSONValue? {
        do {
            return try await cluster.store.mutate(cluster.replicaSets, namespace: set.namespace, name: set.name) {
                $0["spec"]?["replicas"] = .number(Double(replicas))
            }
        } catch {
            cluster.note(error, "scale replicaset", set.name)
            return nil
        }
    }

    private func updateStatus(_ deployment: JSONValue, newSet: JSONValue?, oldSets: [JSONValue], replicas: Int, _ cluster: Cluster) async {
        func total(_ field: String, _ sets: [JSONValue]) -> Int { sets.reduce(0) { $0 + ($1["status"]?[field]?.intValue ?? 0) } }
        let all = (newSet.map { [$0] } ?? []) + oldSets
        let updated = newSet?["status"]?["replicas"]?.intValue ?? 0
        let available = total("availableReplicas", all)
        let current = total("replicas", all)
        let newName = newSet?.name ?? ""
        var status = deployment["status"]?.objectValue ?? [:]
        status["observedGeneration"] = deployment["metadata"]?["generation"] ?? 1
        status["replicas"] = .number(Double(current))
        status["updatedReplicas"] = .number(Double(updated))
        status["readyReplicas"] = .number(Double(total("readyReplicas", all)))
        status["availableReplicas"] = .number(Double(available))
        status["unavailableReplicas"] = .number(Double(max(0, current - available)))
        var conditions = status["conditions"]?.arrayValue ?? []
        conditions = available >= replicas
            ? JSONValue.setting(condition: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", in: conditions, withUpdateTime: true)
            : JSONValue.setting(condition: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", in: conditions, withUpdateTime: true)
        let complete = updated == replicas && current == replicas && available >= replicas && (newSet?["status"]?["availableReplicas"]?.intValue ?? 0) >= replicas
        conditions = complete
            ? JSONValue.setting(condition: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "ReplicaSet \"\(newName)\" has successfully progressed.", in: conditions, withUpdateTime: true)
            : JSONValue.setting(condition: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "ReplicaSet \"\(newName)\" is progressing.", in: conditions, withUpdateTime: true)
        status["conditions"] = .array(conditions)
        guard JSONValue.object(status) != deployment["status"] else { return }
        do {
            try await cluster.store.mutate(cluster.deployments, namespace: deployment.namespace, name: deployment.name) { $0["status"] = .object(status) }
        } catch { cluster.note(error, "update status", deployment.name) }
    }
}
