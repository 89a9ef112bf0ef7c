import Foundation
import KubernetesModels
import NomadModels

/// What ``PodStatusMapper`` looks at: the Pod, what Nomad says about its job, and the time.
public struct PodStatusInput: Sendable {
    /// The Pod as last read (its `status` is the previous status unless ``previous`` is set).
    public var pod: Pod
    /// The status last reported; transition times are kept for conditions whose status is unchanged.
    public var previous: PodStatus?
    /// The job's current allocation (the newest one for the job version the Pod runs), if any.
    public var allocation: Allocation?
    /// The job's latest evaluation; its `FailedTGAllocs` explain why nothing is placed.
    public var evaluation: Evaluation?
    /// The address of the Nomad client running the allocation (hostIP and podIP).
    public var nodeAddress: String?
    /// Container name → readiness from its readiness probe. A running container without an entry is ready.
    public var readiness: [String: Bool]
    /// Container name → whether its startup probe has succeeded (`started`). A running container
    /// without an entry has started.
    public var started: [String: Bool]
    /// The current time, for new transition times and startTime.
    public var now: Date

    /// An input; `previous` defaults to `pod.status`.
    public init(
        pod: Pod, previous: PodStatus? = nil, allocation: Allocation? = nil, evaluation: Evaluation? = nil, nodeAddress: String? = nil,
        readiness: [String: Bool] = [:], started: [String: Bool] = [:], now: Date
    ) {
        self.pod = pod
        self.previous = previous ?? pod.status
        self.allocation = allocation
        self.evaluation = evaluation
        self.nodeAddress = nodeAddress
        self.readiness = readiness
        self.started = started
        self.now = now
    }
}

/// Nomad state → PodStatus, following the kubelet's rules (`getPhase`, `GeneratePod*Condition`) so
/// controllers and `kubectl` read pseudo-pods as they read any pod. Pure: no I/O, no clock.
public enum PodStatusMapper {
    /// Condition type saying whether Nomad placed the Pod's allocation on a client.
    public static let placedCondition = "nomad-kubelet.io/Placed"
    /// Pod `reason` (and waiting reason) while Nomad cannot place the allocation.
    public static let placementFailedReason = "NomadPlacementFailed"
    /// Pod `reason` when the Nomad client running the allocation was lost.
    public static let clientLostReason = "NomadClientLost"

    /// The status to report for `input`.
    public static func status(for input: PodStatusInput) -> PodStatus {
        let pod = input.pod
        let spec = pod.spec ?? PodSpec()
        let allocation = input.allocation
        let lost = allocation?.clientStatus == .lost
        let placementFailure = allocation == nil ? placementFailureMessage(input.evaluation) : nil
        let initContainers = spec.initContainers ?? []

        // Init containers first: app containers wait on them.
        var initStatuses: [ContainerStatus] = []
        var predecessorsDone = true
        for container in initContainers {
            let isSidecar = container.restartPolicy == "Always"
            var status = containerStatus(
                container, kind: isSidecar ? .sidecar : .initContainer, input: input, lost: lost,
                waitingReason: placementFailure == nil ? "PodInitializing" : placementFailedReason, waitingMessage: placementFailure)
            if !predecessorsDone, status.state?.running != nil {
                // Nomad runs the task, but its wrapper is still waiting for the previous init container
                // (InitContainerSequencing): to Kubernetes it has not started.
                status.state = ContainerState(waiting: ContainerStateWaiting(reason: "PodInitializing"))
                status.started = false
                status.ready = false
            }
            predecessorsDone = predecessorsDone && (isSidecar ? status.state?.running != nil : status.state?.terminated?.exitCode == 0)
            initStatuses.append(status)
        }
        let initialized = zip(initContainers, initStatuses).allSatisfy { container, status in
            container.restartPolicy == "Always" ? status.started == true : status.ready
        }
        let appWaitingReason = placementFailure != nil ? placementFailedReason : initialized ? "ContainerCreating" : "PodInitializing"
        let statuses = spec.containers.map {
            containerStatus($0, kind: .app, input: input, lost: lost, waitingReason: appWaitingReason, waitingMessage: placementFailure)
        }

        let terminal = lost || [.complete, .failed].contains(allocation?.clientStatus)
        var phase = Self.phase(spec: spec, initStatuses: initStatuses, statuses: statuses, podIsTerminal: terminal)
        if lost { phase = "Failed" }
        let startTime = input.previous?.startTime?.date ?? allocation?.createTime.map(NomadTime.date(fromUnixNanoseconds:))
        let deadlineExceeded =
            input.previous?.reason == ActiveDeadline.reason
            || (!["Succeeded", "Failed"].contains(phase) && ActiveDeadline.isExceeded(pod: pod, startTime: startTime, now: input.now))
        if deadlineExceeded { phase = "Failed" }

        var status = PodStatus()
        status.observedGeneration = pod.metadata.generation
        status.phase = phase
        status.qosClass = input.previous?.qosClass
        status.nominatedNodeName = input.previous?.nominatedNodeName
        status.initContainerStatuses = initContainers.isEmpty ? nil : initStatuses
        status.containerStatuses = statuses
        if allocation != nil {
            status.startTime = input.previous?.startTime ?? Time(allocation?.createTime.map(NomadTime.date(fromUnixNanoseconds:)) ?? input.now)
            if let address = input.nodeAddress, !address.isEmpty {
                status.hostIP = address
                status.hostIPs = [HostIP(ip: address)]
                status.podIP = address
                status.podIPs = [PodIP(ip: address)]
            }
        } else {
            status.startTime = input.previous?.startTime
        }
        if deadlineExceeded {
            status.reason = ActiveDeadline.reason
            status.message = ActiveDeadline.message
        } else if lost {
            status.reason = clientLostReason
            let node = allocation?.nodeName ?? allocation?.nodeID ?? "unknown"
            status.message = "The Nomad client \(node) running allocation \(allocation?.id ?? "") was lost; the pod is failed so that its controller replaces it"
        } else if let placementFailure {
            status.reason = placementFailedReason
            status.message = placementFailure
        }
        status.conditions = conditions(input: input, spec: spec, phase: phase, initStatuses: initStatuses, statuses: statuses, placementFailure: placementFailure)
        return status
    }

    // MARK: - Phase (kubelet's getPhase, without the ContainerRestartRules feature)

    static func phase(spec: PodSpec, initStatuses: [ContainerStatus], statuses: [ContainerStatus], podIsTerminal: Bool) -> String {
        let restartPolicy = spec.restartPolicy ?? "Always"
        var pendingInit = 0
        var failedInit = 0
        var pendingSidecars = 0
        var unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0
        for (container, status) in zip(spec.initContainers ?? [], initStatuses) {
            if container.restartPolicy == "Always" {
                if status.state?.running != nil {
                    if status.started != true { pendingSidecars += 1 }
                    running += 1
                } else if status.state?.terminated != nil || status.lastState?.terminated != nil {
                    continue
                } else {
                    pendingSidecars += 1
                    waiting += 1
                }
                continue
            }
            if status.state?.running != nil {
                pendingInit += 1
            } else if let terminated = status.state?.terminated {
                if terminated.exitCode != 0 { failedInit += 1 }
            } else if let last = status.lastState?.terminated {
                if last.exitCode != 0 { failedInit += 1 }
            } else {
                pendingInit += 1
            }
        }
        for status in statuses {
            if status.state?.running != nil {
                running += 1
            } else if let terminated = status.state?.terminated {
                stopped += 1
                if terminated.exitCode == 0 { succeeded += 1 }
            } else if status.state?.waiting != nil {
                if status.lastState?.terminated != nil { stopped += 1 } else { waiting += 1 }
            } else {
                unknown += 1
            }
        }
        let regularStarted = statuses.contains { $0.state?.running != nil || $0.state?.terminated != nil || $0.lastState?.terminated != nil }
        if failedInit > 0, restartPolicy == "Never" { return "Failed" }
        if pendingInit > 0 || (pendingSidecars > 0 && !regularStarted) || waiting > 0 { return "Pending" }
        if running > 0, unknown == 0 { return "Running" }
        if running == 0, stopped > 0, unknown == 0 {
            if podIsTerminal { return stopped == succeeded ? "Succeeded" : "Failed" }
            if restartPolicy == "Always" { return "Running" }
            if stopped == succeeded { return "Succeeded" }
            if restartPolicy == "Never" { return "Failed" }
            return "Running"
        }
        return "Pending"
    }

    // MARK: - Container statuses

    enum ContainerKind { case initContainer, sidecar, app }

    /// One run of a task as read from its events.
    struct Termination {
        var exitCode: Int
        var signal: Int?
        var reason: String
        var message: String?
        var startedAt: Date?
        var finishedAt: Date?
    }

    /// Event types after which Nomad gives up on starting the task this time.
    static let startFailureEvents: Set<String> = ["Driver Failure", "Setup Failure", "Failed Validation", "Failed Artifact Download", "Task hook failed"]

    static func containerStatus(
        _ container: Container, kind: ContainerKind, input: PodStatusInput, lost: Bool, waitingReason: String, waitingMessage: String?
    ) -> ContainerStatus {
        let taskName = PodJobIdentity.taskName(forContainer: container.name)
        let allocation = input.allocation
        let taskState = allocation?.taskStates?[taskName]
        var status = ContainerStatus(name: container.name, ready: false, restartCount: 0, image: container.image ?? "", imageID: "")
        guard let allocation, let taskState else {
            status.state = ContainerState(waiting: ContainerStateWaiting(reason: waitingReason, message: waitingMessage))
            status.started = false
            return status
        }
        let allocationID = allocation.id ?? ""
        let containerID = PodJobIdentity.containerID(allocationID: allocationID, task: taskName)
        let events = taskState.events ?? []
        let everStarted = taskState.startedAt?.date != nil || events.contains { $0.type == "Started" }
        if everStarted { status.containerID = containerID }
        status.restartCount = restartCountBase(allocation: allocation, task: taskName) + (taskState.restarts ?? 0)

        let terminations = Self.terminations(events)
        func terminatedState(_ termination: Termination) -> ContainerState {
            ContainerState(
                terminated: ContainerStateTerminated(
                    exitCode: termination.exitCode, signal: termination.signal, reason: termination.reason, message: termination.message,
                    startedAt: termination.startedAt.map(Time.init), finishedAt: termination.finishedAt.map(Time.init),
                    containerID: everStarted ? containerID : nil))
        }
        let lastEvent = events.last(where: { !["Received", "Task Setup", "Downloading Artifacts"].contains($0.type ?? "") })

        switch taskState.state {
        case .running?:
            let startedAt = taskState.startedAt?.date ?? events.last(where: { $0.type == "Started" }).flatMap { $0.time.map(NomadTime.date(fromUnixNanoseconds:)) }
            if lost {
                status.state = ContainerState(
                    terminated: ContainerStateTerminated(
                        exitCode: 137, reason: "ContainerStatusUnknown", message: "The Nomad client running the container was lost",
                        startedAt: startedAt.map(Time.init), containerID: containerID))
            } else {
                status.state = ContainerState(running: ContainerStateRunning(startedAt: startedAt.map(Time.init)))
                let started = input.started[container.name] ?? true
                status.started = started
                // A regular init container is ready only once it has completed; a container whose
                // startup probe has not succeeded is not ready.
                status.ready = kind != .initContainer && started && (input.readiness[container.name] ?? true)
            }
            if let last = terminations.last { status.lastState = terminatedState(last) }
        case .dead?:
            var final = terminations.last ?? Termination(
                exitCode: taskState.failed == true ? 1 : 0, reason: taskState.failed == true ? "Error" : "Completed",
                message: lastEvent?.displayMessage, startedAt: taskState.startedAt?.date, finishedAt: nil)
            if let finished = taskState.finishedAt?.date { final.finishedAt = finished }
            status.state = terminatedState(final)
            if terminations.count > 1 { status.lastState = terminatedState(terminations[terminations.count - 2]) }
            status.ready = kind == .initContainer && final.exitCode == 0
        default:
            if lost {
                status.state = ContainerState(
                    terminated: ContainerStateTerminated(exitCode: 137, reason: "ContainerStatusUnknown", message: "The Nomad client running the container was lost"))
            } else if lastEvent?.type == "Restarting" {
                let delay = Double(lastEvent?.startDelay ?? 0) / 1_000_000_000
                let podName = "\(input.pod.metadata.name ?? "")_\(input.pod.metadata.namespace ?? "")(\(input.pod.metadata.uid ?? ""))"
                status.state = ContainerState(
                    waiting: ContainerStateWaiting(
                        reason: "CrashLoopBackOff", message: "back-off \(goDuration(delay)) restarting failed container=\(container.name) pod=\(podName)"))
            } else if let failure = lastEvent, startFailureEvents.contains(failure.type ?? "") {
                status.state = ContainerState(waiting: ContainerStateWaiting(reason: "CreateContainerError", message: eventMessage(failure)))
            } else {
                let reason = kind == .app ? waitingReason : "PodInitializing"
                status.state = ContainerState(waiting: ContainerStateWaiting(reason: reason == placementFailedReason ? "ContainerCreating" : reason))
            }
            if let last = terminations.last { status.lastState = terminatedState(last) }
            status.started = false
        }
        if status.started == nil { status.started = false }
        if kind == .sidecar {
            status.ready = status.state?.running != nil && status.started == true && (input.readiness[container.name] ?? true)
        }
        return status
    }

    /// Each run's end, in order: `Terminated` events, and start failures (exit 128, `StartError`).
    static func terminations(_ events: [TaskEvent]) -> [Termination] {
        var result: [Termination] = []
        var runStart: Date?
        for event in events {
            let time = event.time.map(NomadTime.date(fromUnixNanoseconds:))
            switch event.type ?? "" {
            case "Started":
                runStart = time
            case "Terminated":
                let exitCode = event.exitCode ?? Int(event.details?["exit_code"] ?? "") ?? 0
                let signal = event.signal ?? Int(event.details?["signal"] ?? "") ?? 0
                let oom = event.details?["oom_killed"] == "true"
                let reason = oom ? "OOMKilled" : exitCode == 0 && signal == 0 ? "Completed" : "Error"
                result.append(
                    Termination(
                        exitCode: exitCode == 0 && signal != 0 ? 128 + signal : exitCode, signal: signal == 0 ? nil : signal, reason: reason,
                        message: exitCode == 0 && signal == 0 ? nil : event.displayMessage, startedAt: runStart, finishedAt: time))
                runStart = nil
            case let type where startFailureEvents.contains(type):
                result.append(Termination(exitCode: 128, signal: nil, reason: "StartError", message: eventMessage(event), startedAt: nil, finishedAt: time))
            default:
                break
            }
        }
        return result
    }

    /// The most specific text Nomad gives for an event.
    static func eventMessage(_ event: TaskEvent) -> String {
        for candidate in [event.driverError, event.setupError, event.validationError, event.downloadError, event.killError, event.displayMessage, event.message] {
            if let candidate, !candidate.isEmpty { return candidate }
        }
        return event.type ?? ""
    }

    static func restartCountBase(allocation: Allocation, task: String) -> Int {
        let tasks = allocation.job?.taskGroups?.first { $0.name == allocation.taskGroup }?.tasks ?? []
        let meta = tasks.first { $0.name == task }?.meta?[PodJobIdentity.restartCountBaseMetaKey]
        return max(0, Int(meta ?? "") ?? 0)
    }

    /// Go's `time.Duration` text for a number of seconds, to the millisecond (`2.072s`, `1m30s`).
    static func goDuration(_ seconds: Double) -> String {
        let millis = Int((seconds * 1000).rounded())
        if millis < 60_000 {
            var text = String(format: "%d.%03d", millis / 1000, millis % 1000)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text + "s"
        }
        let total = millis / 1000
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m\(total % 60)s" : "\(total / 60)m\(total % 60)s"
    }

    // MARK: - Placement failures

    /// Nomad's placement failure explained as `nomad job status` does, or `nil` when nothing failed.
    public static func placementFailureMessage(_ evaluation: Evaluation?) -> String? {
        guard let failures = evaluation?.failedTGAllocs, !failures.isEmpty else { return nil }
        var parts: [String] = []
        for (group, metric) in failures.sorted(by: { $0.key < $1.key }) {
            var reasons: [String] = []
            if (metric.nodesEvaluated ?? 0) == 0 { reasons.append("No nodes were eligible for evaluation") }
            for (datacenter, count) in (metric.nodesAvailable ?? [:]).sorted(by: { $0.key < $1.key }) where count == 0 {
                reasons.append("No nodes are available in datacenter \"\(datacenter)\"")
            }
            for (name, count) in (metric.classFiltered ?? [:]).sorted(by: { $0.key < $1.key }) {
                reasons.append("Class \"\(name)\": \(count) nodes excluded by filter")
            }
            for (constraint, count) in (metric.constraintFiltered ?? [:]).sorted(by: { $0.key < $1.key }) {
                reasons.append("Constraint \"\(constraint)\": \(count) nodes excluded by filter")
            }
            if let exhausted = metric.nodesExhausted, exhausted > 0 { reasons.append("Resources exhausted on \(exhausted) nodes") }
            for (name, count) in (metric.classExhausted ?? [:]).sorted(by: { $0.key < $1.key }) {
                reasons.append("Class \"\(name)\" exhausted on \(count) nodes")
            }
            for (dimension, count) in (metric.dimensionExhausted ?? [:]).sorted(by: { $0.key < $1.key }) {
                reasons.append("Dimension \"\(dimension)\" exhausted on \(count) nodes")
            }
            for quota in metric.quotaExhausted ?? [] { reasons.append("Quota limit hit \"\(quota)\"") }
            let coalesced = (metric.coalescedFailures ?? 0) + 1
            parts.append("Task group \"\(group)\" (failed to place \(coalesced) allocation\(coalesced == 1 ? "" : "s")): " + reasons.joined(separator: "; "))
        }
        var message = "Nomad cannot place the pod: " + parts.joined(separator: ". ")
        if let blocked = evaluation?.blockedEval, !blocked.isEmpty { message += ". Nomad retries when capacity changes (blocked evaluation \(blocked))" }
        return message
    }

    // MARK: - Conditions (kubelet's status/generate.go)

    static func conditions(
        input: PodStatusInput, spec: PodSpec, phase: String, initStatuses: [ContainerStatus], statuses: [ContainerStatus], placementFailure: String?
    ) -> [PodCondition] {
        let previous = input.previous?.conditions ?? []
        let allocation = input.allocation
        var generated: [PodCondition] = []

        // PodReadyToStartContainers: the allocation lives on a client that has set up its tasks.
        let sandboxReady = allocation.map { alloc in
            let active = ![.complete, .failed, .lost].contains(alloc.clientStatus)
            let setUp = alloc.clientStatus == .running || (alloc.taskStates ?? [:]).values.contains { state in
                state.startedAt?.date != nil || (state.events ?? []).contains { $0.type == "Task Setup" || $0.type == "Started" }
            }
            return active && setUp
        } ?? false
        generated.append(PodCondition(type: "PodReadyToStartContainers", status: sandboxReady ? "True" : "False"))

        // Initialized.
        let initContainers = spec.initContainers ?? []
        if phase == "Succeeded" {
            generated.append(PodCondition(type: "Initialized", status: "True", reason: "PodCompleted"))
        } else if statuses.contains(where: { $0.state?.running != nil || $0.state?.terminated != nil || $0.lastState?.terminated != nil }) {
            generated.append(PodCondition(type: "Initialized", status: "True"))
        } else {
            let incomplete = zip(initContainers, initStatuses).filter { container, status in
                container.restartPolicy == "Always" ? status.started != true : !status.ready
            }.map(\.0.name)
            if incomplete.isEmpty {
                generated.append(PodCondition(type: "Initialized", status: "True"))
            } else {
                generated.append(
                    PodCondition(
                        type: "Initialized", status: "False", reason: "ContainersNotInitialized",
                        message: "containers with incomplete status: [\(incomplete.joined(separator: " "))]"))
            }
        }

        // ContainersReady and Ready.
        let containersReady: PodCondition
        if phase == "Succeeded" || phase == "Failed" {
            containersReady = PodCondition(type: "ContainersReady", status: "False", reason: phase == "Succeeded" ? "PodCompleted" : "PodFailed")
        } else {
            let sidecars = zip(initContainers, initStatuses).filter { $0.0.restartPolicy == "Always" }.map(\.1)
            let unready = (sidecars + statuses).filter { !$0.ready }.map(\.name)
            containersReady = unready.isEmpty
                ? PodCondition(type: "ContainersReady", status: "True")
                : PodCondition(
                    type: "ContainersReady", status: "False", reason: "ContainersNotReady",
                    message: "containers with unready status: [\(unready.joined(separator: " "))]")
        }
        generated.append(containersReady)
        var ready = PodCondition(type: "Ready", status: containersReady.status, reason: containersReady.reason, message: containersReady.message)
        if containersReady.status == "True" {
            var gateProblems: [String] = []
            for gate in spec.readinessGates ?? [] {
                if let condition = previous.first(where: { $0.type == gate.conditionType }) {
                    if condition.status != "True" {
                        gateProblems.append("the status of pod readiness gate \"\(gate.conditionType)\" is not \"True\", but \(condition.status)")
                    }
                } else {
                    gateProblems.append("corresponding condition of pod readiness gate \"\(gate.conditionType)\" does not exist.")
                }
            }
            if !gateProblems.isEmpty {
                ready = PodCondition(type: "Ready", status: "False", reason: "ReadinessGatesNotReady", message: gateProblems.joined(separator: ", "))
            }
        }
        generated.append(ready)

        // PodScheduled is the scheduler's: kept as it is (True when missing: the pod is bound to this node).
        generated.append(previous.first { $0.type == "PodScheduled" } ?? PodCondition(type: "PodScheduled", status: "True"))

        // Nomad placement.
        if let placementFailure {
            generated.append(PodCondition(type: placedCondition, status: "False", reason: "PlacementFailed", message: placementFailure))
        } else if let allocation {
            generated.append(
                PodCondition(type: placedCondition, status: "True", reason: "Placed", message: "Allocation \(allocation.id ?? "") on Nomad client \(allocation.nodeName ?? allocation.nodeID ?? "")"))
        }

        // Transition times: kept while the status is unchanged.
        let now = Time(input.now)
        var result = generated.map { condition -> PodCondition in
            var condition = condition
            if condition.type == "PodScheduled", condition.lastTransitionTime != nil { return condition }
            if let before = previous.first(where: { $0.type == condition.type }), before.status == condition.status, let time = before.lastTransitionTime {
                condition.lastTransitionTime = time
            } else {
                condition.lastTransitionTime = now
            }
            return condition
        }
        // Conditions owned by others (readiness gates, DisruptionTarget...) stay as they are.
        let owned = Set(result.map(\.type))
        result += previous.filter { !owned.contains($0.type) }
        return result
    }
}
