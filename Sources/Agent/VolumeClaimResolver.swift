import Foundation
import KubernetesClient
import KubernetesModels
import NomadClient
import NomadModels
import Translation

/// Resolves a pod's `persistentVolumeClaim` volumes to the Nomad client and directory their bound
/// PVs record, so the translation can pin the job there. Reads only what a node identity may read
/// (the claims and volumes of a pod bound to it).
struct VolumeClaimResolver: Sendable {
    /// Why a pod cannot start yet; it stays Pending with this reason (never runs elsewhere).
    struct Wait: Sendable, Hashable {
        var reason: String
        var message: String
    }

    /// The claims resolved, or why the pod must wait.
    enum Outcome: Sendable {
        case ready([String: ClaimVolume])
        case waiting(Wait)
    }

    /// Condition type of a pod waiting for its volumes.
    static let volumesReadyCondition = "nomad-kubelet.io/VolumesReady"

    let kubernetes: KubernetesClient
    let nomad: NomadClient

    /// Resolves every claim volume of `pod`. With `checkClients`, a volume whose Nomad client is down
    /// or gone makes the pod wait (used before a job exists: a running job is left to Nomad).
    /// Volumes whose PV names no Nomad client are left out, so translation refuses them.
    func resolve(_ pod: Pod, checkClients: Bool) async throws -> Outcome {
        var resolved: [String: ClaimVolume] = [:]
        let namespace = pod.metadata.namespace
        for volume in pod.spec?.volumes ?? [] {
            guard let claimName = volume.persistentVolumeClaim?.claimName else { continue }
            let claim: PersistentVolumeClaim
            do {
                claim = try await kubernetes.get(PersistentVolumeClaim.self, name: claimName, namespace: namespace)
            } catch let error as KubernetesClientError where error.kind == .notFound {
                return .waiting(Wait(reason: "ClaimNotFound", message: "persistentvolumeclaim \"\(claimName)\" not found"))
            }
            guard claim.status?.phase == "Bound", let volumeName = claim.spec?.volumeName, !volumeName.isEmpty else {
                return .waiting(Wait(reason: "ClaimNotBound", message: "persistentvolumeclaim \"\(claimName)\" is not bound yet"))
            }
            let persistentVolume: PersistentVolume
            do {
                persistentVolume = try await kubernetes.get(PersistentVolume.self, name: volumeName)
            } catch let error as KubernetesClientError where error.kind == .notFound {
                return .waiting(Wait(reason: "VolumeNotFound", message: "persistentvolume \"\(volumeName)\" of claim \"\(claimName)\" not found"))
            }
            guard let placement = VolumePlacement(volume: persistentVolume) else { continue }
            if checkClients, let wait = try await clientWait(placement, volume: volume.name, persistentVolume: volumeName) { return .waiting(wait) }
            resolved[volume.name] = ClaimVolume(placement: placement, volumeName: volumeName)
        }
        return .ready(resolved)
    }

    private func clientWait(_ placement: VolumePlacement, volume: String, persistentVolume: String) async throws -> Wait? {
        let node: NomadNode
        do {
            node = try await nomad.node(placement.nodeID)
        } catch let error as NomadClientError where error.kind == .notFound {
            return Wait(
                reason: "NomadClientGone",
                message: "volume \"\(volume)\" (\(persistentVolume)) lives on Nomad client \(placement.clientDescription), which is gone from Nomad; "
                    + "the pod will not start elsewhere with an empty directory: restore the client, or move the data and its PV")
        }
        guard node.status == .ready else {
            return Wait(
                reason: "NomadClientDown",
                message: "volume \"\(volume)\" (\(persistentVolume)) lives on Nomad client \(node.name ?? placement.clientDescription), which is "
                    + "\(node.status?.rawValue ?? "not ready"); the pod waits for it and never starts elsewhere")
        }
        return nil
    }

    /// The status of a pod that waits for its volumes: Pending, containers ContainerCreating, the
    /// reason and message on the pod and on a `nomad-kubelet.io/VolumesReady=False` condition.
    static func waitingStatus(_ pod: Pod, _ wait: Wait, now: Date) -> PodStatus {
        var status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: nil, evaluation: nil, nodeAddress: nil, now: now))
        status.phase = "Pending"
        status.reason = wait.reason
        status.message = wait.message
        let previous = pod.status?.conditions?.first { $0.type == volumesReadyCondition }
        var conditions = (status.conditions ?? []).filter { $0.type != volumesReadyCondition }
        conditions.append(
            PodCondition(
                type: volumesReadyCondition, status: "False",
                lastTransitionTime: previous?.status == "False" ? previous?.lastTransitionTime : Time(now), reason: wait.reason, message: wait.message))
        status.conditions = conditions
        return status
    }
}
