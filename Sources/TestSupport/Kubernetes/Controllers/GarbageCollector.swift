import Foundation
import KubernetesModels

/// Foreground deletion, the part of the garbage collector the store does not do itself (the store
/// deletes dependents when their owner goes, or orphans them for `propagationPolicy: Orphan`): an
/// owner deleted with `propagationPolicy: Foreground` carries the `foregroundDeletion` finalizer and
/// stays, marked for deletion, until its dependents are gone; then the finalizer goes and so does it.
struct GarbageCollector: SimulatedController {
    static let foreground = "foregroundDeletion"

    func reconcile(_ cluster: Cluster) async {
        var seen = Set<String>()
        let types = await cluster.store.registry.all.filter { seen.insert($0.storageKey).inserted }
        var owners: [(type: ResourceType, object: JSONValue)] = []
        var dependents: [(type: ResourceType, object: JSONValue)] = []
        // Runs after every change to the store: scan it as stored (no sorted, served copy of each list).
        for type in types {
            for object in await cluster.store.storedObjects(of: type) {
                if object.isTerminating && Self.finalizers(of: object).contains(Self.foreground) { owners.append((type, object)) }
                if !(object["metadata"]?["ownerReferences"]?.arrayValue ?? []).isEmpty { dependents.append((type, object)) }
            }
        }
        guard !owners.isEmpty else { return }
        for owner in owners {
            let own = dependents.filter { dependent in
                (dependent.object["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == owner.object.uid }
            }
            for dependent in own where !dependent.object.isTerminating {
                do { try await cluster.store.delete(dependent.type, namespace: dependent.object.namespace, name: dependent.object.name) } catch {
                    cluster.note(error, "delete dependent", dependent.object.name)
                }
            }
            guard own.isEmpty else { continue }
            let remaining = Self.finalizers(of: owner.object).filter { $0 != Self.foreground }
            do {
                try await cluster.store.mutate(owner.type, namespace: owner.object.namespace, name: owner.object.name) {
                    $0["metadata"]?["finalizers"] = remaining.isEmpty ? nil : .array(remaining.map(JSONValue.string))
                }
            } catch { cluster.note(error, "remove finalizer", owner.object.name) }
        }
    }

    /// What a DELETE with `propagationPolicy: Foreground` does before the delete itself: adds the
    /// `foregroundDeletion` finalizer, so that the object waits for its dependents.
    static func startForegroundDeletion(_ type: ResourceType, namespace: String?, name: String, store: KubernetesStore) async throws {
        try await store.mutate(type, namespace: namespace, name: name) { object in
            let finalizers = object["metadata"]?["finalizers"]?.arrayValue ?? []
            if !finalizers.contains(.string(foreground)) { object["metadata"]?["finalizers"] = .array(finalizers + [.string(foreground)]) }
        }
    }

    private static func finalizers(of object: JSONValue) -> [String] {
        (object["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
    }
}
