import Foundation
import KubernetesModels

/// `spec.activeDeadlineSeconds`, as the kubelet's active-deadline handler reads it: the pod may be
/// active for that long after its `status.startTime`; then it fails with reason `DeadlineExceeded`
/// and its containers are stopped. Pure: the time is an input.
public enum ActiveDeadline {
    /// The pod `reason` once the deadline passed.
    public static let reason = "DeadlineExceeded"
    /// The pod `message` once the deadline passed (the kubelet's words).
    public static let message = "Pod was active on the node longer than the specified deadline"

    /// Time left before the deadline of `pod` started at `startTime`; `nil` when the pod has no
    /// deadline or has not started. Zero or negative once it passed.
    public static func remaining(pod: Pod, startTime: Date?, now: Date) -> TimeInterval? {
        guard let seconds = pod.spec?.activeDeadlineSeconds, let startTime else { return nil }
        return startTime.addingTimeInterval(TimeInterval(seconds)).timeIntervalSince(now)
    }

    /// Whether the deadline of `pod` started at `startTime` has passed at `now`.
    public static func isExceeded(pod: Pod, startTime: Date?, now: Date) -> Bool {
        (remaining(pod: pod, startTime: startTime, now: now) ?? 1) <= 0
    }
}
