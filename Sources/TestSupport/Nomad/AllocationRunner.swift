import Foundation
import Logging
import Synchronization

/// Runs one allocation's tasks as real processes, like a Nomad client with the raw_exec driver:
/// task directories, lifecycle order (prestart → main + poststart → poststop), restart policy,
/// kill signal and timeout, and TaskState events reported to the cluster.
final class AllocationRunner: Sendable {
    let allocation: AllocationRecord
    let node: NodeRecord
    let allocationDirectory: URL
    private let cluster: NomadCluster
    private let logger: Logger
    private let state = Mutex(RunnerState())
    private let mainTask = Mutex<Task<Void, Never>?>(nil)
    /// Kill timeouts by task, changed by in-place job updates.
    private let killTimeouts: Mutex<[String: Int64]>

    private struct RunnerState {
        var stopping = false
        var abandoned = false
        var pids: [String: Int32] = [:]
        var restartRequested: Set<String> = []
        /// Tasks killed on their own (sidecars and poststart tasks once the main tasks are done).
        var killed: Set<String> = []
        var sleepers: [String: CheckedContinuation<Void, Never>] = [:]
        /// Tasks that have started at least once (Nomad's `StartedAt` is set).
        var started: Set<String> = []
        /// How each finished prestart task ended.
        var outcomes: [String: TaskOutcome] = [:]
        /// Waiters for a change of `started` or `outcomes` (the main tasks' start condition).
        var progressWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// How ``runTask(_:)`` ended.
    enum TaskOutcome: Sendable {
        /// Exited 0 and is not restarted (batch-like tasks).
        case succeeded
        /// Failed for good: the restart policy gave up, or it could not be set up.
        case failed
        /// Killed (the allocation stops, or the task was killed on its own).
        case killed
    }

    init(allocation: AllocationRecord, node: NodeRecord, dataDirectory: URL, cluster: NomadCluster, logger: Logger) {
        self.allocation = allocation
        self.node = node
        self.allocationDirectory = dataDirectory.appendingPathComponent("alloc").appendingPathComponent(allocation.id)
        self.cluster = cluster
        self.logger = logger
        self.killTimeouts = Mutex(Dictionary(allocation.group.tasks.map { ($0.name, $0.killTimeoutNanos) }) { $1 })
    }

    /// An in-place job update: the tasks keep running with the new kill timeouts.
    func updateTasks(_ tasks: [TaskSpec]) {
        killTimeouts.withLock { timeouts in
            for task in tasks { timeouts[task.name] = task.killTimeoutNanos }
        }
    }

    private func killTimeout(_ task: TaskSpec) -> Int64 {
        killTimeouts.withLock { $0[task.name] } ?? task.killTimeoutNanos
    }

    // MARK: Paths and environment

    var sharedDirectory: URL { allocationDirectory.appendingPathComponent("alloc") }

    func taskDirectory(_ task: String) -> URL { allocationDirectory.appendingPathComponent(task) }

    func logFile(task: String, type: String) -> URL {
        sharedDirectory.appendingPathComponent("logs").appendingPathComponent("\(task).\(type).0")
    }

    /// The pid (= process group id) of a running task, if any.
    func pid(of task: String) -> Int32? { state.withLock { $0.pids[task] } }

    /// The environment a task (and an exec session in it) runs with.
    func environment(for task: TaskSpec) -> [String: String] {
        var env: [String: String] = [:]
        let inherited = ProcessInfo.processInfo.environment
        for key in ["PATH", "HOME", "LANG", "TERM", "USER", "SHELL"] { env[key] = inherited[key] }
        if env["PATH"] == nil { env["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        let taskDirectory = taskDirectory(task.name)
        let slot = allocation.name.split(separator: "[").last.map { String($0.dropLast()) } ?? "0"
        let nomad: [String: String] = [
            "NOMAD_ALLOC_DIR": sharedDirectory.path, "NOMAD_TASK_DIR": taskDirectory.appendingPathComponent("local").path,
            "NOMAD_SECRETS_DIR": taskDirectory.appendingPathComponent("secrets").path, "NOMAD_ALLOC_ID": allocation.id,
            "NOMAD_ALLOC_NAME": allocation.name, "NOMAD_ALLOC_INDEX": slot, "NOMAD_TASK_NAME": task.name,
            "NOMAD_GROUP_NAME": allocation.taskGroup, "NOMAD_JOB_NAME": allocation.job["Name"]?.string ?? allocation.jobID,
            "NOMAD_JOB_ID": allocation.jobID, "NOMAD_NAMESPACE": allocation.namespace,
            "NOMAD_REGION": allocation.job["Region"]?.string ?? "global", "NOMAD_DC": node.config.datacenter,
            "NOMAD_CPU_LIMIT": "\(task.cpu)", "NOMAD_MEMORY_LIMIT": "\(task.memoryMB)",
            "NOMAD_SHORT_ALLOC_ID": String(allocation.id.prefix(8)),
        ]
        env.merge(nomad) { _, new in new }
        for port in allocation.ports {
            env["NOMAD_PORT_\(port.label)"] = "\(port.value)"
            env["NOMAD_HOST_PORT_\(port.label)"] = "\(port.value)"
            env["NOMAD_IP_\(port.label)"] = node.config.address
            env["NOMAD_ADDR_\(port.label)"] = "\(node.config.address):\(port.value)"
        }
        for (key, value) in allocation.job["Meta"]?.object ?? [:] {
            env["NOMAD_META_\(key.replacingOccurrences(of: ".", with: "_"))"] = value.string
        }
        for (key, value) in task.environment { env[key] = interpolate(value, env: env) }
        return env
    }

    /// Replaces `${VAR}`, `${attr.x}`, `${node.x}`, `${meta.x}` and `${NOMAD_x}` references.
    func interpolate(_ text: String, env: [String: String]) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            result += rest[..<start.lowerBound]
            let name = String(rest[start.upperBound..<end])
            result += env[name] ?? node.resolve("${\(name)}") ?? ""
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    // MARK: Control

    /// Starts the allocation's tasks.
    func start() {
        let task = Task { await self.run() }
        mainTask.withLock { $0 = task }
    }

    /// Kills every task (KillSignal, then SIGKILL after KillTimeout) and runs poststop tasks.
    func stop() {
        let sleepers = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.stopping else { return [] }
            state.stopping = true
            let sleepers = Array(state.sleepers.values)
            state.sleepers.removeAll()
            return sleepers
        }
        sleepers.forEach { $0.resume() }
        notifyProgress()
        Task { await self.killAll() }
    }

    /// The node (or the whole simulator) went away: SIGKILL every task's process group at once,
    /// with no kill timeout and no reporting (the client is gone).
    func abandon() {
        let pids = state.withLock { state in
            state.abandoned = true
            return Array(state.pids.values)
        }
        stop()
        for pid in pids { ProcessLauncher.signalGroup(pid, SIGKILL) }
    }

    /// Restarts one task, or every running task when `task` is nil ("User requested restart").
    func restart(task name: String?) async {
        let targets = allocation.group.tasks.filter { name == nil || $0.name == name }
        for task in targets {
            guard let pid = state.withLock({ state -> Int32? in
                guard let pid = state.pids[task.name] else { return nil }
                state.restartRequested.insert(task.name)
                return pid
            }) else { continue }
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Restart Signaled", display: "User requested restart", details: ["restart_reason": "User requested restart"],
                        restartReason: "User requested restart"))
            }
            await terminate(pid: pid, task: task)
        }
    }

    /// Sends a signal to the process of one task, or of every running task when `task` is nil, as
    /// `alloc signal` does with raw_exec (the task's own process, not its whole group).
    func signal(_ name: String, number: Int32, task taskName: String?) async {
        for task in allocation.group.tasks where taskName == nil || task.name == taskName {
            guard let pid = self.pid(of: task.name) else { continue }
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Signaling", display: "Task being sent signal \(name): User requested signal",
                        details: ["signal": name, "reason": "User requested signal"]))
            }
            kill(pid, number)
        }
    }

    /// Waits until every task has ended.
    func finished() async {
        await mainTask.withLock { $0 }?.value
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func shouldStop(_ task: TaskSpec) -> Bool {
        state.withLock { ($0.stopping && task.hook != "poststop") || $0.killed.contains(task.name) }
    }

    private func report(_ task: String, _ change: @escaping @Sendable (inout TaskStateRecord) -> Void) async {
        if state.withLock({ $0.abandoned }) { return }
        await cluster.updateTaskState(allocationID: allocation.id, task: task, change)
    }

    private func killAll() async {
        for task in allocation.group.tasks where task.hook != "poststop" {
            let pid = self.pid(of: task.name)
            let killTimeout = self.killTimeout(task)
            let timeout = NomadTime.goDuration(nanos: killTimeout)
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Killing", display: "Sent interrupt. Waiting \(timeout) before force killing",
                        details: ["kill_timeout": timeout], killTimeout: killTimeout))
            }
            if let pid { Task { await self.terminate(pid: pid, task: task) } }
        }
    }

    /// Sends the kill signal to the task's process group, then SIGKILL after the kill timeout.
    private func terminate(pid: Int32, task: TaskSpec) async {
        ProcessLauncher.signalGroup(pid, ProcessLauncher.signalNumber(task.killSignal))
        let deadline = ContinuousClock.now + .nanoseconds(killTimeout(task))
        while ContinuousClock.now < deadline {
            if self.pid(of: task.name) != pid && !ProcessLauncher.groupAlive(pid) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        ProcessLauncher.signalGroup(pid, SIGKILL)
    }

    private func sleep(task: String, nanos: Int64) async {
        let sleeper = Task {
            try? await Task.sleep(for: .nanoseconds(nanos))
            let continuation = self.state.withLock { $0.sleepers.removeValue(forKey: task) }
            continuation?.resume()
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.stopping || state.killed.contains(task) { return true }
                state.sleepers[task] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        sleeper.cancel()
    }

    // MARK: Running

    private func run() async {
        let fileManager = FileManager.default
        try? fileManager.createDirectory(at: sharedDirectory.appendingPathComponent("logs"), withIntermediateDirectories: true)
        try? fileManager.createDirectory(at: sharedDirectory.appendingPathComponent("data"), withIntermediateDirectories: true)
        try? fileManager.createDirectory(at: sharedDirectory.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        for sub in ["", "logs", "data", "tmp"] {
            try? fileManager.setAttributes([.posixPermissions: 0o777], ofItemAtPath: sharedDirectory.appendingPathComponent(sub).path)
        }
        let tasks = allocation.group.tasks
        for task in tasks {
            await report(task.name) {
                $0.events.append(TaskEvent.make("Received", display: "Task received by client"))
            }
        }
        let prestart = tasks.filter { $0.hook == "prestart" }
        let main = tasks.filter { $0.hook == nil }
        let poststart = tasks.filter { $0.hook == "poststart" }
        let poststop = tasks.filter { $0.hook == "poststop" }
        await withTaskGroup(of: Void.self) { supporting in
            // Nomad 1.1.2 (allocrunner/task_hook_coordinator.go): every prestart task starts at once,
            // sidecar or not; the main tasks start once each prestart sidecar has started and each other
            // prestart task has completed successfully.
            for task in prestart {
                supporting.addTask {
                    let outcome = await self.runTask(task)
                    self.state.withLock { $0.outcomes[task.name] = outcome }
                    self.notifyProgress()
                    if outcome == .failed { await self.failSiblings(of: task.name) }
                }
            }
            if await waitForMainTaskCondition(prestart) {
                await withTaskGroup(of: Void.self) { mainGroup in
                    for task in main {
                        mainGroup.addTask {
                            if await self.runTask(task) == .failed { await self.failSiblings(of: task.name) }
                        }
                    }
                    for task in poststart { supporting.addTask { _ = await self.runTask(task) } }
                }
            } else {
                for task in main + poststart { await markNotRun(task) }
            }
            // The main tasks are done: stop sidecars and poststart tasks.
            for task in prestart.filter(\.sidecar) + poststart {
                state.withLock { state in
                    state.restartRequested.remove(task.name)
                    state.killed.insert(task.name)
                }
                state.withLock { $0.sleepers.removeValue(forKey: task.name) }?.resume()
                if let pid = self.pid(of: task.name) {
                    await terminate(pid: pid, task: task)
                }
            }
            await supporting.waitForAll()
        }
        for task in poststop where !state.withLock({ $0.abandoned }) {
            _ = await runTask(task)
        }
    }

    /// Wakes everything waiting for a task to start or a prestart task to end.
    private func notifyProgress() {
        let waiters = state.withLock { state in
            defer { state.progressWaiters.removeAll() }
            return state.progressWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits for the main tasks' start condition; `false` when the allocation stops first or a
    /// prestart task failed (its failure kills the allocation).
    private func waitForMainTaskCondition(_ prestart: [TaskSpec]) async -> Bool {
        while true {
            let verdict: Bool? = state.withLock { state in
                if state.stopping { return false }
                var open = true
                for task in prestart {
                    if task.sidecar {
                        if !state.started.contains(task.name) { open = false }
                    } else {
                        switch state.outcomes[task.name] {
                        case .succeeded?: continue
                        case .failed?, .killed?: return false
                        case nil: open = false
                        }
                    }
                }
                return open ? true : nil
            }
            if let verdict { return verdict }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    // Re-check under the lock: a change may have happened since the verdict.
                    if state.stopping { return true }
                    let decided = prestart.allSatisfy { task in
                        task.sidecar ? state.started.contains(task.name) : state.outcomes[task.name] != nil
                    }
                    if decided { return true }
                    state.progressWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// A task failed for good: as Nomad's alloc runner does, every other live task gets a
    /// `Sibling Task Failed` event and the allocation is killed (poststop tasks still run).
    private func failSiblings(of failed: String) async {
        let alreadyStopping = state.withLock { $0.stopping }
        guard !alreadyStopping else { return }
        let live = await cluster.liveTasks(allocationID: allocation.id)
        let siblings = allocation.group.tasks.filter { $0.name != failed && $0.hook != "poststop" && live.contains($0.name) }
        // Nomad kills only when live runners remain (a lone failed task ends the allocation by itself).
        guard !siblings.isEmpty else { return }
        for task in siblings {
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Sibling Task Failed", display: "Task's sibling \"\(failed)\" failed", details: ["failed_sibling": failed],
                        failedSibling: failed))
            }
        }
        stop()
    }

    private func markNotRun(_ task: TaskSpec) async {
        await report(task.name) {
            $0.state = "dead"
            $0.finishedAt = NomadTime.nowNanos()
        }
    }

    /// Runs one task until it succeeds, fails for good or is killed.
    private func runTask(_ task: TaskSpec) async -> TaskOutcome {
        let directory = taskDirectory(task.name)
        let fileManager = FileManager.default
        for sub in ["local", "secrets", "tmp"] {
            try? fileManager.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        // As Nomad's allocdir: the task directory and its local/secrets are open to every task user, tmp is sticky.
        for (path, mode) in [(directory, 0o777), (directory.appendingPathComponent("local"), 0o777), (directory.appendingPathComponent("secrets"), 0o777), (directory.appendingPathComponent("tmp"), 0o1777)] {
            try? fileManager.setAttributes([.posixPermissions: mode], ofItemAtPath: path.path)
        }
        await report(task.name) {
            $0.events.append(
                TaskEvent.make("Task Setup", display: "Building Task Directory", details: ["message": "Building Task Directory"], message: "Building Task Directory"))
        }
        var env = environment(for: task)
        let namespace = allocation.namespace
        let preparation = await TaskPreparation.prepare(
            task: task, directory: directory, env: env, interpolate: { [env] in self.interpolate($0, env: env) },
            variable: { [cluster] path in await cluster.variable(namespace: namespace, path: path)?.items },
            report: { event in await self.report(task.name) { $0.events.append(event) } })
        switch preparation {
        case .ready(let added): env.merge(added) { $1 }
        case .failed(let failure):
            await report(task.name) {
                $0.events.append(failure)
                $0.state = "dead"
                $0.failed = true
                $0.finishedAt = NomadTime.nowNanos()
            }
            return .failed
        }
        var intervalStart = ContinuousClock.now
        var attemptsInInterval = 0
        let batchLike = allocation.jobType == "batch" || allocation.jobType == "sysbatch" || (task.hook != nil && !task.sidecar)
        while true {
            if shouldStop(task) {
                await report(task.name) {
                    $0.state = "dead"
                    if $0.finishedAt == nil { $0.finishedAt = NomadTime.nowNanos() }
                }
                return .killed
            }
            let stdout = open(logFile(task: task.name, type: "stdout").path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            let stderr = open(logFile(task: task.name, type: "stderr").path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            let spec = LaunchSpec(
                command: interpolate(task.command, env: env), arguments: task.arguments.map { interpolate($0, env: env) },
                environment: env, workingDirectory: directory.path, user: task.user.isEmpty ? nil : task.user)
            var exit: ProcessExit
            do {
                let pid = try await ProcessLauncher.spawn(spec, stdout: stdout, stderr: stderr)
                close(stdout)
                close(stderr)
                state.withLock { state in
                    state.pids[task.name] = pid
                    state.started.insert(task.name)
                }
                notifyProgress()
                // A stop that arrived while the process was being started did not see its pid.
                if shouldStop(task) { Task { await self.terminate(pid: pid, task: task) } }
                await report(task.name) {
                    let now = NomadTime.nowNanos()
                    $0.state = "running"
                    $0.startedAt = now
                    $0.finishedAt = nil
                    $0.events.append(TaskEvent.make("Started", display: "Task started by client"))
                }
                logger.debug("task started", metadata: ["alloc": "\(allocation.id)", "task": "\(task.name)", "pid": "\(pid)"])
                exit = await ProcessLauncher.wait(for: pid)
                // Leave no stragglers of the task's process group behind.
                ProcessLauncher.signalGroup(pid, SIGKILL)
                state.withLock { _ = $0.pids.removeValue(forKey: task.name) }
                let finished = exit
                await report(task.name) {
                    $0.events.append(
                        TaskEvent.make(
                            "Terminated", display: "Exit Code: \(finished.exitCode)" + (finished.signal != 0 ? ", Signal: \(finished.signal)" : ""),
                            details: ["exit_code": "\(finished.exitCode)", "signal": "\(finished.signal)", "oom_killed": "false"],
                            exitCode: finished.exitCode, signal: finished.signal))
                }
            } catch {
                close(stdout)
                close(stderr)
                let message = "failed to launch command with executor: rpc error: code = Unknown desc = \(error.message)"
                await report(task.name) {
                    $0.events.append(TaskEvent.make("Driver Failure", display: message, driverError: message))
                }
                exit = ProcessExit(exitCode: -1, signal: 0)
            }
            if shouldStop(task) {
                await report(task.name) {
                    $0.state = "dead"
                    $0.finishedAt = NomadTime.nowNanos()
                    $0.events.append(TaskEvent.make("Killed", display: "Task successfully killed"))
                }
                return .killed
            }
            if state.withLock({ $0.restartRequested.remove(task.name) != nil }) {
                await report(task.name) {
                    let now = NomadTime.nowNanos()
                    $0.restarts += 1
                    $0.lastRestart = now
                    $0.events.append(
                        TaskEvent.make("Restarting", display: "Task restarting in 0s", details: ["restart_reason": "", "start_delay": "0"]))
                }
                continue
            }
            if batchLike && exit.exitCode == 0 {
                await report(task.name) {
                    $0.state = "dead"
                    $0.finishedAt = NomadTime.nowNanos()
                }
                return .succeeded
            }
            // The restart policy.
            let policy = task.restart
            let now = ContinuousClock.now
            if now - intervalStart > .nanoseconds(policy.intervalNanos) {
                intervalStart = now
                attemptsInInterval = 0
            }
            var delay: Int64
            var reason: String
            var display: String
            if attemptsInInterval < policy.attempts {
                attemptsInInterval += 1
                delay = policy.delayNanos + Int64.random(in: 0...max(policy.delayNanos / 4, 0))
                reason = "Restart within policy"
                display = "Task restarting in \(NomadTime.goDuration(nanos: delay))"
            } else if policy.mode == "delay" {
                let remaining = intervalStart + .nanoseconds(policy.intervalNanos) - now
                delay = max(Int64(remaining.components.seconds) * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000, policy.delayNanos)
                intervalStart = now + .nanoseconds(delay)
                attemptsInInterval = 0
                reason = "Exceeded allowed attempts, applying a delay"
                display = "Exceeded allowed attempts, applying a delay - Task restarting in \(NomadTime.goDuration(nanos: delay))"
            } else {
                let notRestarting =
                    policy.attempts == 0
                    ? "Policy allows no restarts"
                    : "Exceeded allowed attempts \(policy.attempts) in interval \(NomadTime.goDuration(nanos: policy.intervalNanos)) and mode is \"fail\""
                await report(task.name) {
                    $0.events.append(
                        TaskEvent.make(
                            "Not Restarting", display: notRestarting, details: ["restart_reason": notRestarting, "fails_task": "true"],
                            failsTask: true, restartReason: notRestarting))
                    $0.state = "dead"
                    $0.failed = true
                    $0.finishedAt = NomadTime.nowNanos()
                }
                return .failed
            }
            let startDelay = delay
            let restartReason = reason
            let restartDisplay = display
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Restarting", display: restartDisplay, details: ["restart_reason": restartReason, "start_delay": "\(startDelay)"],
                        restartReason: restartReason, startDelay: startDelay))
                $0.restarts += 1
                $0.lastRestart = NomadTime.nowNanos()
                $0.state = "pending"
            }
            await sleep(task: task.name, nanos: delay)
        }
    }
}

/// Renders templates and downloads artifacts into a task directory before it starts.
enum TaskPreparation {
    /// What preparing a task gave: a failure event, or the variables its `Envvars` templates add.
    enum Outcome {
        case failed(WireJSON)
        case ready(environment: [String: String])
    }

    /// How long a template waits for a Variable it reads before the task fails (Nomad waits on).
    static let variableWait: Duration = .seconds(60)

    /// Renders templates (reading Variables through `variable`) and downloads artifacts.
    static func prepare(
        task: TaskSpec, directory: URL, env: [String: String], interpolate: @Sendable (String) -> String,
        variable: @Sendable (String) async -> [String: String]?, report: @Sendable (WireJSON) async -> Void
    ) async -> Outcome {
        if !task.artifacts.isEmpty {
            await report(TaskEvent.make("Downloading Artifacts", display: "Client is downloading artifacts"))
        }
        for artifact in task.artifacts {
            do {
                try await ArtifactFetcher.fetch(
                    source: interpolate(artifact.source), options: artifact.options,
                    into: directory.appendingPathComponent(interpolate(artifact.destination)))
            } catch {
                let message = "GET error: \(error.message)"
                return .failed(TaskEvent.make(
                    "Failed Artifact Download", display: "Failed to download artifacts: \(message)", downloadError: message))
            }
        }
        var added: [String: String] = [:]
        for template in task.templates {
            let destination = directory.appendingPathComponent(template.destination)
            var variables: [String: [String: String]] = [:]
            for path in variablePaths(in: template.embedded) {
                let deadline = ContinuousClock.now + variableWait
                while variables[path] == nil {
                    if let items = await variable(path) {
                        variables[path] = items
                    } else if ContinuousClock.now >= deadline {
                        let message = "Template failed: Missing: nomad.var.block(\(path)@default.global)"
                        return .failed(TaskEvent.make("Template", display: message, setupError: message))
                    } else {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            do {
                let rendered = renderTemplate(template.embedded, env: env, variables: variables)
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                try rendered.write(to: destination)
                try FileManager.default.setAttributes([.posixPermissions: Int(template.perms, radix: 8) ?? 0o644], ofItemAtPath: destination.path)
                if template.environment { added.merge(try environmentFile(rendered)) { $1 } }
            } catch {
                let message = "Template failed: \(error)"
                return .failed(TaskEvent.make("Template", display: message, setupError: message))
            }
        }
        return .ready(environment: added)
    }

    /// The Variable paths a template reads (`{{ with nomadVar "path" }}`).
    static func variablePaths(in template: String) -> [String] {
        var paths: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            if let path = variablePath(of: rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)) { paths.append(path) }
            rest = rest[close.upperBound...]
        }
        return paths
    }

    /// The path of a `with nomadVar "path"` action, `nil` for any other action.
    private static func variablePath(of expression: String) -> String? {
        guard expression.hasPrefix("with nomadVar \""), expression.hasSuffix("\"") else { return nil }
        return String(decoding: goUnquote(expression.dropFirst("with nomadVar \"".count).dropLast()), as: UTF8.self)
    }

    /// Renders the consul-template forms the agent writes: `{{ env "X" }}`, `{{ "string literal" }}`
    /// (Go escapes, `\xNN` giving any byte), and `{{ with nomadVar "p" }}` … `{{ end }}` around
    /// `{{ (index . "item").Value | base64Decode }}` with an optional `| toJSON`. Other actions
    /// render as nothing; text is copied as is.
    static func renderTemplate(_ template: String, env: [String: String], variables: [String: [String: String]] = [:]) -> Data {
        var result = Data()
        var scopes: [[String: String]] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            result.append(contentsOf: rest[..<open.lowerBound].utf8)
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if expression.hasPrefix("env ") {
                let name = expression.dropFirst(4).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                result.append(contentsOf: (env[name] ?? "").utf8)
            } else if let path = variablePath(of: expression) {
                scopes.append(variables[path] ?? [:])
            } else if expression == "end" {
                _ = scopes.popLast()
            } else if expression.hasPrefix("(index . \"") {
                let pipeline = expression.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                let lookup = pipeline[0]
                guard let keyEnd = lookup.range(of: "\").Value") else { break }
                let key = String(decoding: goUnquote(lookup[lookup.index(lookup.startIndex, offsetBy: "(index . \"".count)..<keyEnd.lowerBound]), as: UTF8.self)
                var value = Data((scopes.last?[key] ?? "").utf8)
                for stage in pipeline.dropFirst() {
                    switch stage {
                    case "base64Decode": value = Data(base64Encoded: value) ?? Data()
                    case "toJSON": value = jsonString(String(decoding: value, as: UTF8.self))
                    default: break
                    }
                }
                result.append(value)
            } else if expression.hasPrefix("\""), expression.hasSuffix("\""), expression.count >= 2 {
                result.append(goUnquote(expression.dropFirst().dropLast()))
            }
            rest = rest[close.upperBound...]
        }
        result.append(contentsOf: rest.utf8)
        return result
    }

    /// Go's `json.Marshal` of a string: JSON escapes, with `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`.
    static func jsonString(_ text: String) -> Data {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}": out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return Data((out + "\"").utf8)
    }

    /// The `KEY=value` lines of an `Envvars` template, as hashicorp/go-envparse reads them: blank
    /// lines and `#` comments skipped, a double-quoted value decoded with JSON string escapes.
    static func environmentFile(_ data: Data) throws -> [String: String] {
        var result: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { throw NomadHTTPError(status: 500, message: "error parsing env template: line \"\(trimmed)\" has no '='") }
            let key = String(trimmed[..<equals])
            let raw = String(trimmed[trimmed.index(after: equals)...])
            result[key] = raw.hasPrefix("\"") ? try JSONDecoder().decode(String.self, from: Data(raw.utf8)) : raw
        }
        return result
    }

    /// The bytes of a Go interpreted string literal's body (`\n`, `\t`, `\"`, `\\`, `\xNN`, ...).
    private static func goUnquote(_ body: Substring) -> Data {
        var bytes = Data()
        var scalars = Array(body.utf8)[...]
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let byte = scalars.popFirst() {
            guard byte == UInt8(ascii: "\\"), let escape = scalars.popFirst() else {
                bytes.append(byte)
                continue
            }
            switch escape {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "a"): bytes.append(0x07)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "v"): bytes.append(0x0B)
            case UInt8(ascii: "x"):
                if let high = scalars.popFirst().flatMap(hex), let low = scalars.popFirst().flatMap(hex) { bytes.append(high << 4 | low) }
            default: bytes.append(escape)
            }
        }
        return bytes
    }
}
