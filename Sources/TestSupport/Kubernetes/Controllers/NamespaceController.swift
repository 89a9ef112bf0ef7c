import Foundation
import KubernetesModels

/// The namespace controllers, minimally: a new namespace gets its `default` ServiceAccount and the
/// `kube-root-ca.crt` ConfigMap; a namespace being deleted (phase `Terminating`, held by its
/// `spec.finalizers`) has every object in it deleted (pods bound to a node wait for their kubelet),
/// and once it is empty its finalizer is removed and it goes.
struct NamespaceController: SimulatedController {
    let caCertificatePEM: String

    func reconcile(_ cluster: Cluster) async {
        let namespaces = await cluster.all(cluster.namespaces)
        let accounts = Set(await cluster.all(cluster.serviceAccounts).filter { $0.name == "default" }.compactMap(\.namespace))
        let caMaps = Set(await cluster.all(cluster.configMaps).filter { $0.name == "kube-root-ca.crt" }.compactMap(\.namespace))
        for namespace in namespaces {
            let name = namespace.name
            if namespace.isTerminating {
                await drain(name, cluster)
                continue
            }
            if !accounts.contains(name) {
                await create(cluster.serviceAccounts, in: name, ["metadata": ["name": "default"]], cluster)
            }
            if !caMaps.contains(name) {
                await create(cluster.configMaps, in: name, Self.rootCAConfigMap(caCertificatePEM), cluster)
            }
        }
    }

    /// The `kube-root-ca.crt` ConfigMap every namespace has.
    static func rootCAConfigMap(_ caPEM: String) -> JSONValue {
        [
            "metadata": [
                "name": "kube-root-ca.crt",
                "annotations": [
                    "kubernetes.io/description":
                        "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
                ],
            ],
            "data": ["ca.crt": .string(caPEM)],
        ]
    }

    private func create(_ type: ResourceType, in namespace: String, _ object: JSONValue, _ cluster: Cluster) async {
        do { try await cluster.store.create(type, namespace: namespace, object: object) } catch { cluster.note(error, "create", "\(namespace)/\(type.resource)") }
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
