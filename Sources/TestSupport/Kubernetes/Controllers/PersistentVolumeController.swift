import Foundation
import KubernetesModels

/// The parts of kube-controller-manager's PersistentVolume controller that a WaitForFirstConsumer
/// class with an external provisioner needs:
/// - a claim of a class with a provisioner, once the scheduler set `volume.kubernetes.io/selected-node`
///   (or at once for an Immediate class), gets `volume.kubernetes.io/storage-provisioner` (and the
///   beta spelling), which tells the external provisioner it is its job;
/// - a volume whose `spec.claimRef` names an unbound claim (uid included) is bound to it: the claim
///   gets `spec.volumeName`, `pv.kubernetes.io/bind-completed`, phase Bound, capacity and access
///   modes; the volume phase Bound. A claim naming a volume in `spec.volumeName` binds it likewise;
/// - an Immediate claim takes the smallest Available volume of its class that fits;
/// - a volume whose claim is gone (or was recreated with another uid) goes Released and keeps its
///   `claimRef`: reclaiming it is the provisioner's job (Delete) or the admin's (Retain);
///   a volume without a claim is Available.
/// Not simulated: `kubernetes.io/pvc-protection` / `pv-protection` finalizers, volume expansion,
/// in-tree deleters and recyclers.
struct PersistentVolumeController: SimulatedController {
    static let provisionerAnnotation = "volume.kubernetes.io/storage-provisioner"
    static let betaProvisionerAnnotation = "volume.beta.kubernetes.io/storage-provisioner"
    static let bindCompletedAnnotation = "pv.kubernetes.io/bind-completed"
    static let boundByControllerAnnotation = "pv.kubernetes.io/bound-by-controller"

    func reconcile(_ cluster: Cluster) async {
        guard let volumeType = cluster.volumes else { return }
        let claims = await cluster.all(cluster.claims)
        var volumes = await cluster.all(volumeType)
        let classes = cluster.storageClasses.map { type in { await cluster.all(type) } }
        let storageClasses = await classes?() ?? []

        for claim in claims where !claim.isTerminating && claim["status"]?["phase"]?.stringValue != "Bound" {
            if let volume = Self.volume(for: claim, in: volumes) {
                await bind(claim: claim, volume: volume, cluster, volumeType)
                volumes = await cluster.all(volumeType)
                continue
            }
            let storageClass = storageClasses.first { $0.name == Self.className(of: claim, classes: storageClasses) }
            let waitForConsumer = storageClass?["volumeBindingMode"]?.stringValue == "WaitForFirstConsumer"
            if !waitForConsumer, claim["spec"]?["volumeName"] == nil, let available = Self.smallestFitting(claim, in: volumes) {
                await bind(claim: claim, volume: available, cluster, volumeType)
                volumes = await cluster.all(volumeType)
                continue
            }
            let selected = claim["metadata"]?["annotations"]?[Scheduler.selectedNodeAnnotation]?.stringValue
            if let provisioner = storageClass?["provisioner"]?.stringValue, provisioner != "kubernetes.io/no-provisioner",
                !waitForConsumer || selected != nil,
                claim["metadata"]?["annotations"]?[Self.provisionerAnnotation]?.stringValue != provisioner
            {
                await mutate(cluster.claims, claim, cluster) { object in
                    if object["metadata"]?["annotations"] == nil { object["metadata"]?["annotations"] = [:] }
                    object["metadata"]?["annotations"]?[Self.provisionerAnnotation] = .string(provisioner)
                    object["metadata"]?["annotations"]?[Self.betaProvisionerAnnotation] = .string(provisioner)
                }
            }
            if claim["status"]?["phase"] == nil {
                await mutate(cluster.claims, claim, cluster) { $0["status"] = ["phase": "Pending"] }
            }
        }

        for volume in volumes {
            let phase = volume["status"]?["phase"]?.stringValue
            guard phase != "Failed" else { continue }
            let desired: String
            if let reference = volume["spec"]?["claimRef"], reference != .null {
                let uid = reference["uid"]?.stringValue ?? ""
                let claim = claims.first { $0.name == reference["name"]?.stringValue && $0.namespace == reference["namespace"]?.stringValue }
                if uid.isEmpty {
                    desired = "Available"  // pre-bound by name: waits for that claim
                } else if claim == nil || claim?.uid != uid {
                    desired = "Released"
                } else if claim?["spec"]?["volumeName"]?.stringValue == volume.name {
                    desired = "Bound"
                } else {
                    continue  // the claim pass binds it
                }
            } else {
                desired = "Available"
            }
            if desired != phase {
                await mutate(volumeType, volume, cluster) { object in
                    object["status"] = ["phase": .string(desired), "lastPhaseTransitionTime": .string(KubernetesStore.timestamp())]
                }
            }
        }
    }

    /// The volume already chosen for a claim: one whose claimRef names it, or the one it names.
    private static func volume(for claim: JSONValue, in volumes: [JSONValue]) -> JSONValue? {
        if let name = claim["spec"]?["volumeName"]?.stringValue, !name.isEmpty {
            guard let volume = volumes.first(where: { $0.name == name }) else { return nil }
            let reference = volume["spec"]?["claimRef"]
            let free = reference == nil || reference == .null
            let ours = reference?["name"]?.stringValue == claim.name && reference?["namespace"]?.stringValue == claim.namespace
                && (reference?["uid"]?.stringValue).map { $0 == claim.uid } ?? true
            return free || ours ? volume : nil
        }
        return volumes.first { volume in
            let reference = volume["spec"]?["claimRef"]
            return reference?["name"]?.stringValue == claim.name && reference?["namespace"]?.stringValue == claim.namespace
                && (reference?["uid"]?.stringValue).map { $0 == claim.uid } ?? true && volume["status"]?["phase"]?.stringValue != "Released"
        }
    }

    /// An Available volume of the claim's class with every access mode and enough capacity; smallest first.
    static func smallestFitting(_ claim: JSONValue, in volumes: [JSONValue], node: JSONValue? = nil) -> JSONValue? {
        let className = claim["spec"]?["storageClassName"]?.stringValue ?? ""
        let modes = Set((claim["spec"]?["accessModes"]?.arrayValue ?? []).compactMap(\.stringValue))
        let wanted = bytes(claim["spec"]?["resources"]?["requests"]?["storage"])
        let candidates = volumes.filter { volume in
            let reference = volume["spec"]?["claimRef"]
            guard reference == nil || reference == .null, volume["status"]?["phase"]?.stringValue != "Released" else { return false }
            guard (volume["spec"]?["storageClassName"]?.stringValue ?? "") == className else { return false }
            let offered = Set((volume["spec"]?["accessModes"]?.arrayValue ?? []).compactMap(\.stringValue))
            guard modes.isSubset(of: offered), bytes(volume["spec"]?["capacity"]?["storage"]) >= wanted else { return false }
            if let node { return Scheduler.volumeFits(volume, on: node) }
            return true
        }
        return candidates.min { bytes($0["spec"]?["capacity"]?["storage"]) < bytes($1["spec"]?["capacity"]?["storage"]) }
    }

    static func bytes(_ quantity: JSONValue?) -> Int64 {
        guard let text = quantity?.stringValue ?? quantity?.intValue.map(String.init), let value = try? Quantity(text) else { return 0 }
        return value.value
    }

    static func className(of claim: JSONValue, classes: [JSONValue]) -> String? {
        claim["spec"]?["storageClassName"]?.stringValue
            ?? classes.first { $0["metadata"]?["annotations"]?["storageclass.kubernetes.io/is-default-class"] == "true" }?.name
    }

    private func bind(claim: JSONValue, volume: JSONValue, _ cluster: Cluster, _ volumeType: ResourceType) async {
        let reference = volume["spec"]?["claimRef"]
        let boundByController = reference == nil || reference == .null
        await mutate(volumeType, volume, cluster) { object in
            object["spec"]?["claimRef"] = [
                "kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": .string(claim.namespace ?? ""), "name": .string(claim.name),
                "uid": .string(claim.uid), "resourceVersion": claim["metadata"]?["resourceVersion"] ?? "",
            ]
            if boundByController {
                if object["metadata"]?["annotations"] == nil { object["metadata"]?["annotations"] = [:] }
                object["metadata"]?["annotations"]?[Self.boundByControllerAnnotation] = "yes"
            }
            object["status"] = ["phase": "Bound", "lastPhaseTransitionTime": .string(KubernetesStore.timestamp())]
        }
        await mutate(cluster.claims, claim, cluster) { object in
            let namedByUser = object["spec"]?["volumeName"]?.stringValue == volume.name
            object["spec"]?["volumeName"] = .string(volume.name)
            if object["metadata"]?["annotations"] == nil { object["metadata"]?["annotations"] = [:] }
            object["metadata"]?["annotations"]?[Self.bindCompletedAnnotation] = "yes"
            if !namedByUser { object["metadata"]?["annotations"]?[Self.boundByControllerAnnotation] = "yes" }
            object["status"] = [
                "phase": "Bound", "accessModes": volume["spec"]?["accessModes"] ?? [],
                "capacity": volume["spec"]?["capacity"] ?? [:],
            ]
        }
    }

    private func mutate(_ type: ResourceType, _ object: JSONValue, _ cluster: Cluster, _ change: @Sendable (inout JSONValue) -> Void) async {
        do {
            try await cluster.store.mutate(type, namespace: object.namespace, name: object.name) { change(&$0) }
        } catch { cluster.note(error, "persistent volume controller", object.name) }
    }
}
