import Foundation
import KubernetesModels

/// The namespace controller, minimally: a namespace being deleted (phase `Terminating`, held by its
/// `spec.finalizers`) has every object in it deleted (pods bound to a node wait for their kubelet's
/// final delete), and once it is empty its finalizer is removed and it goes. (A new namespace's
/// `default` ServiceAccount and `kube-root-ca.crt` come from `ServiceAccountAdmission` at create.)
struct NamespaceController: SimulatedController {
    func reconcile(_ cluster: Cluster) async {
        for namespace in await cluster.all(cluster.namespaces) where namespace.isTerminating {
            await drain(namespace.name, cluster)
        }
    }

    private func drain(_ namespace: String, _ cluster: Cluster) async {
        var seen = Set<String>()
        var remaining = 0
        for type in await cluster.store.registry.all where type.namespaced && seen.insert(type.storageKey).inserted {
            let items = (try? await cluster.store.list(type, namespace: namespace).items) ?? []
            remaining += items.count
            for item in items where !item.isTerminating {
                do { try await cluster.store.delete(type, namespace: namespace, name: item.name) } catch { cluster.note(error, "delete", item.name) }
            }
        }
        guard remaining == 0 else { return }
        do {
            try await cluster.store.mutate(cluster.namespaces, namespace: nil, name: namespace) { $0["spec"]?["finalizers"] = nil }
        } catch { cluster.note(error, "finalize namespace", namespace) }
    }
}
