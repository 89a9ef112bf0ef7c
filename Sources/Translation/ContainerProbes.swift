import Foundation
import KubernetesModels

/// Which probe of a container.
public enum ProbeKind: String, Sendable, Hashable, CaseIterable {
    case startup, liveness, readiness

    /// The word the kubelet's events use (`Liveness probe failed: ...`).
    public var displayName: String {
        switch self {
        case .startup: "Startup"
        case .liveness: "Liveness"
        case .readiness: "Readiness"
        }
    }
}

/// The result of running a probe once.
public enum ProbeOutcome: Sendable, Hashable {
    case success
    /// Failed (or timed out), with what the kubelet would print after `... probe failed: `.
    case failure(String)
}

/// What the prober does after a probe result.
public enum ProbeAction: Sendable, Hashable {
    /// Record a Warning `Unhealthy` event with this message.
    case unhealthy(message: String)
    /// `started` or `ready` changed: report the pod's status.
    case statusChanged
    /// The liveness or startup probe failed `failureThreshold` times: kill and restart the
    /// container (a Normal `Killing` event with this message). `gracePeriodSeconds` is the probe's
    /// `terminationGracePeriodSeconds`, when it sets one.
    case restart(message: String, gracePeriodSeconds: Int64?)
}

/// The probes of one run of one container, as the kubelet's prober workers treat them
/// (`pkg/kubelet/prober/worker.go`): probes are due `initialDelaySeconds` after the container
/// started and every `periodSeconds` after that; a result changes only after
/// `successThreshold`/`failureThreshold` identical results in a row; the startup probe gates the
/// liveness and readiness probes; readiness starts as not ready; a liveness or startup failure puts
/// every probe on hold until the container runs again (a new value of this type). Pure: time is
/// an input, so tests drive it with their own clock.
public struct ContainerProbes: Sendable, Hashable {
    /// The container's name.
    public let container: String
    /// Whether the startup probe has succeeded (true when there is none).
    public private(set) var started: Bool
    /// Whether the container is ready (`started` and, with a readiness probe, that probe's result).
    public var ready: Bool { started && readinessResult }
    /// After a liveness or startup failure: nothing is probed until the container restarts.
    public private(set) var onHold = false

    private var trackers: [ProbeKind: Tracker] = [:]
    private var readinessResult: Bool

    private struct Tracker: Sendable, Hashable {
        var probe: Probe
        var due: Date
        var lastSuccess: Bool?
        var run = 0
    }

    /// The probes of `container` for a run that started at `startedAt`; `nil` when it has none.
    public init?(container: Container, startedAt: Date) {
        let probes: [(ProbeKind, Probe?)] = [(.startup, container.startupProbe), (.liveness, container.livenessProbe), (.readiness, container.readinessProbe)]
        guard probes.contains(where: { $0.1 != nil }) else { return nil }
        self.container = container.name
        for case let (kind, probe?) in probes {
            trackers[kind] = Tracker(probe: probe, due: startedAt.addingTimeInterval(TimeInterval(max(0, probe.initialDelaySeconds ?? 0))))
        }
        started = container.startupProbe == nil
        readinessResult = container.readinessProbe == nil
    }

    /// The probe kinds that may run now (the startup probe until it succeeds, then the others).
    public var activeKinds: [ProbeKind] {
        guard !onHold else { return [] }
        return started ? [.liveness, .readiness].filter { trackers[$0] != nil } : [.startup].filter { trackers[$0] != nil }
    }

    /// The next probe to run and when it is due; `nil` when nothing will be probed.
    public func nextProbe() -> (kind: ProbeKind, due: Date)? {
        activeKinds.compactMap { kind in trackers[kind].map { (kind: kind, due: $0.due) } }.min { $0.due < $1.due }
    }

    /// How long one run of the `kind` probe may take (`timeoutSeconds`, default 1 s).
    public func timeout(_ kind: ProbeKind) -> TimeInterval {
        TimeInterval(max(1, trackers[kind]?.probe.timeoutSeconds ?? 1))
    }

    /// The `kind` probe as declared.
    public func probe(_ kind: ProbeKind) -> Probe? { trackers[kind]?.probe }

    /// Takes the result of a `kind` probe that was due and ran at `now`, and says what to do.
    public mutating func record(_ outcome: ProbeOutcome, for kind: ProbeKind, at now: Date) -> [ProbeAction] {
        guard activeKinds.contains(kind), var tracker = trackers[kind] else { return [] }
        let period = TimeInterval(max(1, tracker.probe.periodSeconds ?? 10))
        tracker.due = max(tracker.due.addingTimeInterval(period), now)
        var actions: [ProbeAction] = []
        let success: Bool
        switch outcome {
        case .success:
            success = true
        case .failure(let message):
            success = false
            actions.append(.unhealthy(message: "\(kind.displayName) probe failed: \(message)"))
        }
        if tracker.lastSuccess == success {
            tracker.run += 1
        } else {
            tracker.lastSuccess = success
            tracker.run = 1
        }
        let threshold = success ? max(1, tracker.probe.successThreshold ?? 1) : max(1, tracker.probe.failureThreshold ?? 3)
        trackers[kind] = tracker
        guard tracker.run >= threshold else { return actions }

        switch (kind, success) {
        case (.startup, true):
            if !started {
                started = true
                // The gated probes start now, or at their own initial delay if that is later.
                for gated in [ProbeKind.liveness, .readiness] where trackers[gated] != nil {
                    trackers[gated]!.due = max(trackers[gated]!.due, now)
                }
                actions.append(.statusChanged)
            }
        case (.readiness, _):
            if readinessResult != success {
                readinessResult = success
                actions.append(.statusChanged)
            }
        case (.liveness, true):
            break
        case (.startup, false), (.liveness, false):
            onHold = true
            trackers[kind]!.run = 0
            actions.append(
                .restart(
                    message: "Container \(container) failed \(kind.rawValue) probe, will be restarted",
                    gracePeriodSeconds: tracker.probe.terminationGracePeriodSeconds))
        }
        return actions
    }
}
