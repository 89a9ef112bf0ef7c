import Foundation
import KubernetesModels
import NomadModels

/// A Kubernetes Event to record on a Pod, derived from a Nomad task event.
public struct DerivedPodEvent: Sendable, Hashable {
    /// `Normal` or `Warning`.
    public enum Kind: String, Sendable, Hashable {
        case normal = "Normal"
        case warning = "Warning"
    }

    /// `Created`, `Started`, `Killing`, `BackOff` or `Failed`.
    public var reason: String
    /// `Normal` or `Warning`.
    public var type: Kind
    /// What happened, naming the container (and Nomad's words where it gives any).
    public var message: String
    /// The container the event is about.
    public var container: String
    /// `spec.containers{name}` or `spec.initContainers{name}`, as the kubelet writes `involvedObject.fieldPath`.
    public var fieldPath: String
    /// When Nomad recorded the event.
    public var time: Date
    /// Identifies the Nomad event this came from (`<allocation>/<task>/<event time>/<reason>`): the
    /// same Nomad event always yields the same key, so an agent can name its Event after it and
    /// never record one twice, even across restarts.
    public var key: String
}

/// (previous allocation, new allocation) → the Kubernetes Events that tell the story of the new
/// task events, so `kubectl describe pod` reads like a kubelet's. Pure: no I/O, no clock.
public enum PodEventDeriver {
    /// Nomad event types that mean a task failed to start or was given up on.
    static let failureTypes: Set<String> = [
        "Driver Failure", "Setup Failure", "Failed Validation", "Failed Artifact Download", "Not Restarting", "Task hook failed", "Sibling Task Failed",
    ]

    /// The events to emit for what changed between `previous` and `current` (the same allocation, or
    /// `nil` when none was seen before). Events already present in `previous` are never returned.
    public static func events(pod: Pod, previous: Allocation?, current: Allocation) -> [DerivedPodEvent] {
        let spec = pod.spec ?? PodSpec()
        let initNames = Set((spec.initContainers ?? []).map(\.name))
        let samePrevious = previous?.id == current.id ? previous : nil
        let podText = "\(pod.metadata.name ?? "")_\(pod.metadata.namespace ?? "")(\(pod.metadata.uid ?? ""))"
        var result: [DerivedPodEvent] = []
        for (task, state) in (current.taskStates ?? [:]).sorted(by: { $0.key < $1.key }) {
            let container = PodJobIdentity.containerName(forTask: task)
            let fieldPath = initNames.contains(container) ? "spec.initContainers{\(container)}" : "spec.containers{\(container)}"
            let events = state.events ?? []
            let seen = samePrevious?.taskStates?[task]?.events ?? []
            // Nomad keeps the newest events (10 per task); what is new is what follows the last event seen.
            let fresh: ArraySlice<TaskEvent>
            if let lastSeen = seen.last, let index = events.lastIndex(of: lastSeen) {
                fresh = events[(index + 1)...]
            } else if let lastSeenTime = seen.last?.time {
                fresh = events.drop { ($0.time ?? 0) <= lastSeenTime }[...]
            } else {
                fresh = events[...]
            }
            for event in fresh {
                let time = NomadTime.date(fromUnixNanoseconds: event.time ?? 0)
                func emit(_ reason: String, _ type: DerivedPodEvent.Kind, _ message: String) {
                    result.append(
                        DerivedPodEvent(
                            reason: reason, type: type, message: message, container: container, fieldPath: fieldPath, time: time,
                            key: "\(current.id ?? "")/\(task)/\(event.time ?? 0)/\(reason)"))
                }
                let nomadText = PodStatusMapper.eventMessage(event)
                switch event.type ?? "" {
                case "Started":
                    emit("Created", .normal, "Created container: \(container)")
                    emit("Started", .normal, "Started container \(container)")
                case "Killing":
                    emit("Killing", .normal, "Stopping container \(container) (Nomad: \(nomadText))")
                case "Restarting":
                    emit("BackOff", .warning, "Back-off restarting failed container \(container) in pod \(podText) (Nomad: \(nomadText))")
                case "Terminated" where (event.exitCode ?? 0) != 0 || event.details?["oom_killed"] == "true":
                    emit("Failed", .warning, "Container \(container) exited: \(nomadText)")
                case let type where failureTypes.contains(type):
                    emit("Failed", .warning, "Error: \(nomadText)")
                default:
                    break
                }
            }
        }
        return result.sorted { ($0.time, $0.key) < ($1.time, $1.key) }
    }
}
