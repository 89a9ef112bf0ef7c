import Foundation
import KubernetesModels

/// The garbage collector, minimally: an object whose owners (by `ownerReferences` uid) are all gone is
/// deleted (background propagation); an owner being deleted with the `foregroundDeletion` finalizer
/// has its dependents deleted first, and one with the `orphan` finalizer has its dependents' references
/// to it removed; then the finalizer goes and the owner with it.
struct GarbageCollector: SimulatedController {
    static let foreground = "foregroundDeletion"
    static let orphan = "orphan"

    func reconcile(_ cluster: Cluster) async {
        var seen = Set<String>()
        let types = await cluster.store.registry.all.filter { seen.insert($0.storageKey).inserted }
        var owners: [String: (type: ResourceType, object: JSONValue)] = [:]
        var dependents: [(type: ResourceType, object: JSONValue)] = []
        for type in types {
            for object in await cluster.all(type) {
                owners[object.uid] = (type, object)
                if !(object["metadata"]?["ownerReferences"]?.arrayValue ?? []).isEmpty { dependents.append((type, object)) }
            }
        }
        var waitingOwners = Set<String>()
        for (type, dependent) in dependents {
            let references = dependent["metadata"]?["ownerReferences"]?.arrayValue ?? []
            let liveOwners = references.compactMap { owners[$0["uid"]?.stringValue ?? ""]?.object }
            let orphaning = liveOwners.filter { $0.isTerminating && finalizers(of: $0).contains(Self.orphan) }.map(\.uid)
            if !orphaning.isEmpty {
                do {
                    try await cluster.store.mutate(type, namespace: dependent.namespace, name: dependent.name) { object in
                        let kept = references.filter { !orphaning.contains($0["uid"]?.stringValue ?? "") }
                        object["metadata"]?["ownerReferences"] = kept.isEmpty ? nil : .array(kept)
                    }
                } catch { cluster.note(error, "orphan", dependent.name) }
                continue
            }
            let foreground = liveOwners.filter { $0.isTerminating && finalizers(of: $0).contains(Self.foreground) }
            waitingOwners.formUnion(foreground.map(\.uid))
            guard liveOwners.isEmpty || !foreground.isEmpty, !dependent.isTerminating else { continue }
            do { try await cluster.store.delete(type, namespace: dependent.namespace, name: dependent.name) } catch {
                cluster.note(error, "delete dependent", dependent.name)
            }
        }
        for (uid, owner) in owners where owner.object.isTerminating && !waitingOwners.contains(uid) {
            let remaining = finalizers(of: owner.object).filter { $0 != Self.foreground && $0 != Self.orphan }
            guard remaining.count != finalizers(of: owner.object).count else { continue }
            do {
                try await cluster.store.mutate(owner.type, namespace: owner.object.namespace, name: owner.object.name) {
                    $0["metadata"]?["finalizers"] = remaining.isEmpty ? nil : .array(remaining.map(JSONValue.string))
                }
            } catch { cluster.note(error, "remove finalizer", owner.object.name) }
        }
    }

    private func finalizers(of object: JSONValue) -> [String] {
        (object["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// The finalizer a DELETE's `propagationPolicy` asks for (`Foreground` or `Orphan`), if any.
    static func finalizer(forPropagationPolicy policy: String?) -> String? {
        switch policy {
        case "Foreground": foreground
        case "Orphan": orphan
        default: nil
        }
    }
}
