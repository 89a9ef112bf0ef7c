import Foundation
import KubernetesModels
import Logging
import NomadClient
import Synchronization
import Translation

/// Where a pod's probe workers and hooks report.
struct PodRuntimeReporter: Sendable {
    /// Queues the pod for a status update (a probe result changed `started` or `ready`).
    var statusChanged: @Sendable () -> Void
    /// Records an Event on the pod: reason, type, message, `involvedObject.fieldPath`, and a key
    /// naming the happening (the same key is recorded once).
    var event: @Sendable (_ reason: String, _ type: String, _ message: String, _ fieldPath: String, _ key: String) async -> Void
}

/// What the probes say about a pod's containers: the inputs ``PodStatusInput/readiness`` and
/// ``PodStatusInput/started``.
struct ProbeResults: Sendable, Hashable {
    var readiness: [String: Bool] = [:]
    var started: [String: Bool] = [:]
}

/// The part of a pod's container lifecycle that Nomad does not do, run by the agent like the
/// kubelet's prober and hook runners: one ``ContainerWorker`` actor per running container that has
/// probes or a postStart hook (started when a new run of the container appears in the pod's
/// status, cancelled when it stops running, restarts or the pod goes away), and the preStop hooks
/// when a pod is deleted.
final class PodRuntimeSupervisor: Sendable {
    private let runner: HandlerRunner
    private let nomad: NomadClient
    private let logger: Logger
    private let state = Mutex(State())

    /// How long a postStart hook may run (the kubelet has no limit; a hung hook must not hold a
    /// worker forever).
    static let postStartTimeout: TimeInterval = 600

    /// The preStop hooks of a pod being deleted.
    enum PreStopProgress: Sendable, Hashable {
        case running
        /// Done (or timed out) after this many seconds.
        case finished(elapsed: TimeInterval)
    }

    private struct State {
        /// Pod uid → container name → worker of its current run.
        var workers: [String: [String: ContainerWorker]] = [:]
        /// Pod uid → preStop progress.
        var preStop: [String: PreStopProgress] = [:]
    }

    init(nomad: NomadClient, logger: Logger) {
        self.nomad = nomad
        self.runner = HandlerRunner(nomad: nomad)
        self.logger = logger
    }

    /// Stops every worker and closes the HTTP client.
    func shutdown() async {
        let workers = state.withLock { state in
            defer { state.workers.removeAll() }
            return state.workers.values.flatMap(\.values)
        }
        for worker in workers { await worker.cancel() }
        await runner.shutdown()
    }

    /// Brings the workers of `pod` in line with `status` (the status mapped without probe
    /// results): a running container with probes or a postStart hook gets a worker for its current
    /// run; a container that stopped, or restarted, loses its old one. Returns the probe results
    /// of the current runs.
    func sync(pod: Pod, status: PodStatus, allocationID: String?, podIP: String?, reporter: PodRuntimeReporter) async -> ProbeResults {
        let uid = pod.metadata.uid ?? ""
        let spec = pod.spec ?? PodSpec()
        let sidecars = (spec.initContainers ?? []).filter { $0.restartPolicy == "Always" }
        let statuses = (status.initContainerStatuses ?? []) + (status.containerStatuses ?? [])
        var wanted: [String: (runID: String, container: Container, endpoint: ContainerEndpoint, fieldPath: String, startedAt: Date)] = [:]
        for container in sidecars + spec.containers where Self.needsWorker(container) {
            guard let allocationID, let podIP, let containerStatus = statuses.first(where: { $0.name == container.name }),
                let running = containerStatus.state?.running, let containerID = containerStatus.containerID
            else { continue }
            let runID = "\(containerID)/\(containerStatus.restartCount)/\(running.startedAt?.rawValue ?? "")"
            let endpoint = ContainerEndpoint(
                allocationID: allocationID, task: PodJobIdentity.taskName(forContainer: container.name), podIP: podIP, container: container)
            let fieldPath = sidecars.contains(where: { $0.name == container.name }) ? "spec.initContainers{\(container.name)}" : "spec.containers{\(container.name)}"
            wanted[container.name] = (runID, container, endpoint, fieldPath, running.startedAt?.date ?? Date())
        }
        let (started, stopped, current) = state.withLock { state -> ([ContainerWorker], [ContainerWorker], [String: ContainerWorker]) in
            var workers = state.workers[uid] ?? [:]
            var stopped: [ContainerWorker] = []
            var started: [ContainerWorker] = []
            for (name, worker) in workers where wanted[name]?.runID != worker.runID {
                stopped.append(worker)
                workers[name] = nil
            }
            for (name, want) in wanted where workers[name] == nil {
                let worker = ContainerWorker(
                    runID: want.runID, container: want.container, endpoint: want.endpoint, fieldPath: want.fieldPath, pod: pod, startedAt: want.startedAt)
                workers[name] = worker
                started.append(worker)
            }
            state.workers[uid] = workers.isEmpty ? nil : workers
            return (started, stopped, workers)
        }
        for worker in stopped { await worker.cancel() }
        for worker in started {
            logger.debug("starting probes and hooks", metadata: ["pod": "\(pod.metadata.namespace ?? "")/\(pod.metadata.name ?? "")", "container": "\(worker.container.name)"])
            await worker.start(runner: runner, nomad: nomad, reporter: reporter, logger: logger)
        }
        var results = ProbeResults()
        for (name, worker) in current {
            let snapshot = await worker.snapshot()
            results.started[name] = snapshot.started
            results.readiness[name] = snapshot.ready
        }
        return results
    }

    /// Stops the workers of a pod (deleted, or ended).
    func stop(podUID: String) async {
        let workers = state.withLock { $0.workers.removeValue(forKey: podUID) }
        for worker in (workers ?? [:]).values { await worker.cancel() }
    }

    /// Forgets a pod entirely (it is gone from Kubernetes).
    func forget(podUID: String) async {
        await stop(podUID: podUID)
        state.withLock { _ = $0.preStop.removeValue(forKey: podUID) }
    }

    /// The preStop hooks of a pod being deleted: the first call starts them for every running
    /// container that has one (each bounded by `grace` seconds, failures evented as
    /// `FailedPreStopHook`) and calls `finished` when they are all done; later calls report the
    /// progress. `nil` when there is nothing to run.
    func preStop(pod: Pod, allocationID: String?, podIP: String?, grace: TimeInterval, reporter: PodRuntimeReporter, finished: @escaping @Sendable () -> Void) async -> PreStopProgress? {
        let uid = pod.metadata.uid ?? ""
        if let progress = state.withLock({ $0.preStop[uid] }) { return progress }
        let spec = pod.spec ?? PodSpec()
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
        let sidecars = (spec.initContainers ?? []).filter { $0.restartPolicy == "Always" }
        let targets = (spec.containers + sidecars).filter { container in
            container.lifecycle?.preStop != nil && statuses.contains { $0.name == container.name && $0.state?.running != nil }
        }
        guard let allocationID, let podIP, !targets.isEmpty else { return nil }
        let claimed = state.withLock { state -> Bool in
            guard state.preStop[uid] == nil else { return false }
            state.preStop[uid] = .running
            return true
        }
        guard claimed else { return .running }
        await stop(podUID: uid)
        let runner = self.runner
        let logger = self.logger
        Task {
            let start = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for container in targets {
                    guard let hook = container.lifecycle?.preStop else { continue }
                    let endpoint = ContainerEndpoint(
                        allocationID: allocationID, task: PodJobIdentity.taskName(forContainer: container.name), podIP: podIP, container: container)
                    let fieldPath = sidecars.contains(where: { $0.name == container.name }) ? "spec.initContainers{\(container.name)}" : "spec.containers{\(container.name)}"
                    group.addTask {
                        let result = await runner.hook(hook, endpoint: endpoint, timeout: grace)
                        guard !result.success else { return }
                        let message = Self.hookFailureMessage(hook, container: container.name, pod: pod, result: result)
                        logger.notice("preStop hook failed", metadata: ["container": "\(container.name)", "error": "\(result.message)"])
                        await reporter.event("FailedPreStopHook", "Warning", message, fieldPath, "prestop/\(uid)/\(container.name)")
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = TimeInterval(elapsed.components.seconds) + TimeInterval(elapsed.components.attoseconds) / 1e18
            self.state.withLock { $0.preStop[uid] = .finished(elapsed: seconds) }
            finished()
        }
        return .running
    }

    static func needsWorker(_ container: Container) -> Bool {
        container.startupProbe != nil || container.livenessProbe != nil || container.readinessProbe != nil || container.lifecycle?.postStart != nil
    }

    /// The kubelet's words for a failed hook (`Exec lifecycle hook ([cmd]) for Container "c" in Pod "p_ns(uid)" failed - error: ...`).
    static func hookFailureMessage(_ hook: LifecycleHandler, container: String, pod: Pod, result: HandlerResult) -> String {
        let podText = "\(pod.metadata.name ?? "")_\(pod.metadata.namespace ?? "")(\(pod.metadata.uid ?? ""))"
        if let exec = hook.exec {
            return "Exec lifecycle hook ([\((exec.command ?? []).joined(separator: " "))]) for Container \"\(container)\" in Pod \"\(podText)\" failed - error: \(result.message)"
        }
        if let httpGet = hook.httpGet {
            return "HTTP lifecycle hook (\(httpGet.path ?? "")) for Container \"\(container)\" in Pod \"\(podText)\" failed - error: \(result.message)"
        }
        return "Lifecycle hook for Container \"\(container)\" in Pod \"\(podText)\" failed - error: \(result.message)"
    }
}

/// One run of one container: its postStart hook, then its probes on their schedule
/// (``ContainerProbes``), reporting results, `Unhealthy` events and liveness restarts.
actor ContainerWorker {
    /// Identifies the run (container ID, restart count, start time).
    nonisolated let runID: String
    nonisolated let container: Container
    private let endpoint: ContainerEndpoint
    private let fieldPath: String
    private let pod: Pod
    private var probes: ContainerProbes?
    private var loop: Task<Void, Never>?

    init(runID: String, container: Container, endpoint: ContainerEndpoint, fieldPath: String, pod: Pod, startedAt: Date) {
        self.runID = runID
        self.container = container
        self.endpoint = endpoint
        self.fieldPath = fieldPath
        self.pod = pod
        self.probes = ContainerProbes(container: container, startedAt: startedAt)
    }

    /// `started` and `ready` of this run.
    func snapshot() -> (started: Bool, ready: Bool) {
        (probes?.started ?? true, probes?.ready ?? true)
    }

    func start(runner: HandlerRunner, nomad: NomadClient, reporter: PodRuntimeReporter, logger: Logger) {
        guard loop == nil else { return }
        loop = Task { await self.run(runner: runner, nomad: nomad, reporter: reporter, logger: logger) }
    }

    func cancel() {
        loop?.cancel()
    }

    private func run(runner: HandlerRunner, nomad: NomadClient, reporter: PodRuntimeReporter, logger: Logger) async {
        if let postStart = container.lifecycle?.postStart {
            let result = await runner.hook(postStart, endpoint: endpoint, timeout: PodRuntimeSupervisor.postStartTimeout)
            if Task.isCancelled { return }
            if !result.success {
                let message = PodRuntimeSupervisor.hookFailureMessage(postStart, container: container.name, pod: pod, result: result)
                await reporter.event("FailedPostStartHook", "Warning", message, fieldPath, "poststart/\(runID)")
                await reporter.event("Killing", "Normal", "FailedPostStartHook", fieldPath, "poststart-kill/\(runID)")
                await restart(nomad: nomad, logger: logger)
                return
            }
        }
        while !Task.isCancelled, let next = probes?.nextProbe() {
            let wait = next.due.timeIntervalSinceNow
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return }
            }
            guard let probe = probes?.probe(next.kind), let timeout = probes?.timeout(next.kind) else { return }
            let result = await runner.probe(probe, endpoint: endpoint, timeout: timeout)
            if Task.isCancelled { return }
            let actions = probes?.record(result.success ? .success : .failure(result.message), for: next.kind, at: Date()) ?? []
            for action in actions {
                switch action {
                case .unhealthy(let message):
                    await reporter.event("Unhealthy", "Warning", message, fieldPath, "unhealthy/\(runID)/\(next.kind.rawValue)/\(message)")
                case .statusChanged:
                    reporter.statusChanged()
                case .restart(let message, _):
                    await reporter.event("Killing", "Normal", message, fieldPath, "probe-kill/\(runID)/\(next.kind.rawValue)")
                    await restart(nomad: nomad, logger: logger)
                    reporter.statusChanged()
                }
            }
        }
    }

    /// Restarts the container's task in place (Nomad counts it in `Restarts`).
    private func restart(nomad: NomadClient, logger: Logger) async {
        do {
            try await nomad.restartAllocation(endpoint.allocationID, task: endpoint.task)
        } catch {
            logger.warning("could not restart the container", metadata: ["container": "\(container.name)", "error": "\(error)"])
        }
    }
}
