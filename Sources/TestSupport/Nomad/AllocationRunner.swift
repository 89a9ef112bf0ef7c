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

    private struct RunnerState {
        var stopping = false
        var abandoned = false
        var pids: [String: Int32] = [:]
        var restartRequested: Set<String> = []
        /// Tasks killed on their own (sidecars and poststart tasks once the main tasks are done).
        var killed: Set<String> = []
        var sleepers: [String: CheckedContinuation<Void, Never>] = [:]
    }

    init(allocation: AllocationRecord, node: NodeRecord, dataDirectory: URL, cluster: NomadCluster, logger: Logger) {
        self.allocation = allocation
        self.node = node
        self.allocationDirectory = dataDirectory.appendingPathComponent("alloc").appendingPathComponent(allocation.id)
        self.cluster = cluster
        self.logger = logger
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
            let timeout = NomadTime.goDuration(nanos: task.killTimeoutNanos)
            await report(task.name) {
                $0.events.append(
                    TaskEvent.make(
                        "Killing", display: "Sent interrupt. Waiting \(timeout) before force killing",
                        details: ["kill_timeout": timeout], killTimeout: task.killTimeoutNanos))
            }
            if let pid { Task { await self.terminate(pid: pid, task: task) } }
        }
    }

    /// Sends the kill signal to the task's process group, then SIGKILL after the kill timeout.
    private func terminate(pid: Int32, task: TaskSpec) async {
        ProcessLauncher.signalGroup(pid, ProcessLauncher.signalNumber(task.killSignal))
        let deadline = ContinuousClock.now + .nanoseconds(task.killTimeoutNanos)
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
            var prestartOK = true
            for task in prestart where !task.sidecar {
                let success = await runTask(task)
                if !success { prestartOK = false }
            }
            for task in prestart where task.sidecar {
                supporting.addTask { _ = await self.runTask(task) }
            }
            if prestartOK && !stopping {
                await withTaskGroup(of: Void.self) { mainGroup in
                    for task in main { mainGroup.addTask { _ = await self.runTask(task) } }
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

    private func markNotRun(_ task: TaskSpec) async {
        await report(task.name) {
            $0.state = "dead"
            $0.finishedAt = NomadTime.nowNanos()
        }
    }

    /// Runs one task until it succeeds, fails for good or is killed. Returns whether it succeeded.
    private func runTask(_ task: TaskSpec) async -> Bool {
        let directory = taskDirectory(task.name)
        let fileManager = FileManager.default
        for sub in ["local", "secrets", "tmp"] {
            try? fileManager.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        await report(task.name) {
            $0.events.append(
                TaskEvent.make("Task Setup", display: "Building Task Directory", details: ["message": "Building Task Directory"], message: "Building Task Directory"))
        }
        let env = environment(for: task)
        let failure = await TaskPreparation.prepare(
            task: task, directory: directory, env: env, interpolate: { self.interpolate($0, env: env) },
            report: { event in await self.report(task.name) { $0.events.append(event) } })
        if let failure {
            await report(task.name) {
                $0.events.append(failure)
                $0.state = "dead"
                $0.failed = true
                $0.finishedAt = NomadTime.nowNanos()
            }
            return false
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
                return false
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
                state.withLock { $0.pids[task.name] = pid }
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
                return exit.exitCode == 0
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
                return true
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
                return false
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
    /// Returns a failure event, or nil when the task is ready to start.
    static func prepare(
        task: TaskSpec, directory: URL, env: [String: String], interpolate: @Sendable (String) -> String,
        report: @Sendable (WireJSON) async -> Void
    ) async -> WireJSON? {
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
                return TaskEvent.make(
                    "Failed Artifact Download", display: "Failed to download artifacts: \(message)", downloadError: message)
            }
        }
        for template in task.templates {
            let destination = directory.appendingPathComponent(template.destination)
            do {
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                let rendered = renderTemplate(template.embedded, env: env)
                try Data(rendered.utf8).write(to: destination)
            } catch {
                let message = "Template failed: \(error)"
                return TaskEvent.make("Template", display: message, setupError: message)
            }
        }
        return nil
    }

    /// Renders the `{{ env "X" }}` form of consul-template; other text is copied as is.
    static func renderTemplate(_ template: String, env: [String: String]) -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            result += rest[..<open.lowerBound]
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if expression.hasPrefix("env ") {
                let name = expression.dropFirst(4).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                result += env[name] ?? ""
            }
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}
