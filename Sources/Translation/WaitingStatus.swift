import Foundation
import KubernetesModels

extension PodStatusMapper {
    /// Condition type carrying why a pod has no job (translation refused or waiting on references).
    public static let translatedCondition = "nomad-kubelet.io/Translated"

    /// The status of a pod that waits for something it references (``TranslationError/isTransient``):
    /// phase Pending; each container waits with the kubelet's reason for its problem
    /// (`ErrImagePull` for a missing PseudoImage or tag, `CreateContainerConfigError` for a missing
    /// ConfigMap, Secret or key, `ContainerCreating` otherwise); a `nomad-kubelet.io/Translated`
    /// condition False with reason `ReferencesMissing`. Conditions owned by others are kept.
    public static func waitingStatus(for pod: Pod, error: TranslationError, now: Date) -> PodStatus {
        var status = pod.status ?? PodStatus()
        status.phase = "Pending"
        status.reason = nil
        status.message = nil
        let message = error.problems.map(\.reason).joined(separator: "; ")
        var conditions = (status.conditions ?? []).filter { $0.type != translatedCondition }
        let previous = pod.status?.conditions?.first { $0.type == translatedCondition }
        let since = previous?.status == "False" && previous?.reason == "ReferencesMissing" ? previous?.lastTransitionTime : Time(now)
        conditions.append(PodCondition(type: translatedCondition, status: "False", lastTransitionTime: since, reason: "ReferencesMissing", message: message))
        status.conditions = conditions
        func statuses(_ containers: [Container], field: String) -> [ContainerStatus] {
            containers.enumerated().map { index, container in
                let prefix = "\(field)[\(index)]"
                let own = error.problems.filter { $0.field == prefix || $0.field.hasPrefix("\(prefix).") }
                let waiting: ContainerStateWaiting
                if let image = own.first(where: { $0.field == "\(prefix).image" }) {
                    waiting = ContainerStateWaiting(reason: "ErrImagePull", message: image.reason)
                } else if let problem = own.first {
                    waiting = ContainerStateWaiting(reason: "CreateContainerConfigError", message: problem.reason)
                } else {
                    waiting = ContainerStateWaiting(reason: "ContainerCreating")
                }
                let previous = (field == "spec.initContainers" ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.first { $0.name == container.name }
                return ContainerStatus(
                    name: container.name, state: ContainerState(waiting: waiting), lastState: previous?.lastState, ready: false,
                    restartCount: previous?.restartCount ?? 0, image: container.image ?? "", started: false)
            }
        }
        let initContainers = pod.spec?.initContainers ?? []
        status.initContainerStatuses = initContainers.isEmpty ? nil : statuses(initContainers, field: "spec.initContainers")
        status.containerStatuses = statuses(pod.spec?.containers ?? [], field: "spec.containers")
        return status
    }
}

extension TranslationContext {
    /// This context with every ConfigMap and Secret value replaced by a marker naming its source,
    /// keys kept. Translating with it gives a job that changes with the Pod and the PseudoImages but
    /// not with the referenced values: the agent hashes that job, so (as in Kubernetes) a changed
    /// ConfigMap or Secret does not restart a running pod; the new values apply at its next start.
    public func withValuesHidden() -> TranslationContext {
        var hidden = self
        hidden.configMaps = configMaps.mapValues { configMap in
            var configMap = configMap
            configMap.data = Dictionary(uniqueKeysWithValues: (configMap.data ?? [:]).keys.map { ($0, "<configmap \(configMap.metadata.name ?? "")/\($0)>") })
            return configMap
        }
        hidden.secrets = secrets.mapValues { secret in
            var secret = secret
            secret.data = Dictionary(
                uniqueKeysWithValues: secret.effectiveValues.keys.map { ($0, Data("<secret \(secret.metadata.name ?? "")/\($0)>".utf8).base64EncodedString()) })
            secret.stringData = nil
            return secret
        }
        return hidden
    }
}
