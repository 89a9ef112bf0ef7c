import Foundation
import NomadModels

/// One rule of Nomad's job validation a job breaks: the Nomad field and Nomad's own words.
public struct NomadJobViolation: Sendable, Hashable, CustomStringConvertible {
    /// The field in the job JSON, e.g. `TaskGroups[0].Tasks[1].Resources.MemoryMB`.
    public var field: String
    /// Nomad's message for the rule, e.g. `minimum MemoryMB value is 10; got 4`.
    public var message: String

    /// A violation of a rule at `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Nomad's job validation rules, written from Nomad's `structs.Job.Validate` (1.1 to current) and the
/// recorded error bodies (`Missing job task groups`), applied to a job as the agent submits it.
///
/// Fields left `nil` are read as Nomad's canonical defaults (priority 50, count 1, default restart
/// policy...), as the server fills them in before validating. Driver-side checks that Nomad makes on
/// the client (`raw_exec`/`exec` need a `command`) are included so a job that validates here also
/// starts there. The rules checked are a subset: those a job built from a Pod can break.
public enum NomadJobValidator {
    /// Job types Nomad schedules.
    static let jobTypes: Set<String> = ["service", "batch", "system", "sysbatch"]
    /// Constraint operands Nomad knows.
    static let operands: Set<String> = [
        "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "version", "semver", "regexp", "set_contains",
        "set_contains_all", "set_contains_any", "distinct_hosts", "distinct_property", "is_set", "is_not_set",
    ]
    /// Nomad's lower bound on a restart policy's interval.
    static let minimumRestartInterval = NomadDuration.seconds(5)

    /// Every rule `job` breaks; empty when Nomad would accept it.
    public static func violations(of job: Job) -> [NomadJobViolation] {
        var found: [NomadJobViolation] = []
        func add(_ field: String, _ message: String) { found.append(NomadJobViolation(field: field, message: message)) }

        if (job.region ?? "").isEmpty { add("Region", "Missing job region") }
        let id = job.id ?? ""
        if id.isEmpty {
            add("ID", "Missing job ID")
        } else if id.contains(" ") {
            add("ID", "Job ID contains a space")
        } else if id.contains("\0") {
            add("ID", "Job ID contains a null character")
        }
        let name = job.name ?? ""
        if name.isEmpty {
            add("Name", "Missing job name")
        } else if name.contains("\0") {
            add("Name", "Job Name contains a null character")
        }
        if (job.namespace ?? "").isEmpty { add("Namespace", "Job must be in a namespace") }
        let type = job.type?.rawValue ?? ""
        if type.isEmpty {
            add("Type", "Missing job type")
        } else if !jobTypes.contains(type) {
            add("Type", "Invalid job type: \"\(type)\"")
        }
        let priority = job.priority ?? 50
        if priority < 1 || priority > 100 { add("Priority", "Job priority must be between [1, 100]") }
        let datacenters = job.datacenters ?? []
        if datacenters.isEmpty {
            add("Datacenters", "Missing job datacenters")
        } else if datacenters.contains(where: \.isEmpty) {
            add("Datacenters", "Job datacenter must be non-empty string")
        }
        let groups = job.taskGroups ?? []
        if groups.isEmpty { add("TaskGroups", "Missing job task groups") }
        for (index, constraint) in (job.constraints ?? []).enumerated() {
            for message in constraintProblems(constraint) {
                add("Constraints[\(index)]", "Constraint \(index + 1) validation failed: \(message)")
            }
        }
        var groupNames: [String: Int] = [:]
        for (index, group) in groups.enumerated() {
            let field = "TaskGroups[\(index)]"
            let groupName = group.name ?? ""
            if groupName.isEmpty {
                add("\(field).Name", "Job task group \(index + 1) missing name")
            } else if let existing = groupNames[groupName] {
                add("\(field).Name", "Job task group \(index + 1) redefines '\(groupName)' from group \(existing + 1)")
            } else {
                groupNames[groupName] = index
            }
            if groupName.contains("\0") { add("\(field).Name", "Task group name contains null character") }
            if type == "system", (group.count ?? 1) > 1 {
                add("\(field).Count", "Job task group \(groupName) has count \(group.count ?? 1). Count cannot exceed 1 with system scheduler")
            }
            found += groupViolations(group, field: field, jobType: type)
        }
        return found
    }

    private static func groupViolations(_ group: TaskGroup, field: String, jobType: String) -> [NomadJobViolation] {
        var found: [NomadJobViolation] = []
        func add(_ subfield: String, _ message: String) { found.append(NomadJobViolation(field: "\(field)\(subfield)", message: message)) }

        if (group.count ?? 1) < 0 { add(".Count", "Task group count can't be negative") }
        let tasks = group.tasks ?? []
        if tasks.isEmpty { add(".Tasks", "Missing tasks for task group") }
        for (index, constraint) in (group.constraints ?? []).enumerated() {
            for message in constraintProblems(constraint) {
                add(".Constraints[\(index)]", "Constraint \(index + 1) validation failed: \(message)")
            }
        }
        if let restart = group.restartPolicy {
            let mode = restart.mode?.rawValue ?? ""
            let attempts = restart.attempts ?? 0
            let interval = restart.interval ?? NomadDuration(nanoseconds: 0)
            let delay = restart.delay ?? NomadDuration(nanoseconds: 0)
            if mode != "delay", mode != "fail" { add(".RestartPolicy.Mode", "Unsupported restart mode: \"\(mode)\"") }
            if attempts == 0, mode != "fail" { add(".RestartPolicy.Attempts", "Restart policy \"\(mode)\" with 0 attempts is ambiguous") }
            if attempts < 0 { add(".RestartPolicy.Attempts", "Restart policy attempts can't be negative") }
            if interval < minimumRestartInterval {
                add(".RestartPolicy.Interval", "Interval can not be less than 5s (got \(interval))")
            }
            let (total, overflow) = delay.nanoseconds.multipliedReportingOverflow(by: Int64(max(attempts, 0)))
            if overflow || total > interval.nanoseconds {
                add(".RestartPolicy", "Nomad can't restart the TaskGroup \(attempts) times in an interval of \(interval) with a delay of \(delay)")
            }
        }
        if let reschedule = group.reschedulePolicy {
            if jobType == "system" || jobType == "sysbatch" {
                add(".ReschedulePolicy", "System jobs should not have a reschedule policy")
            } else {
                found += rescheduleViolations(reschedule, field: "\(field).ReschedulePolicy")
            }
        }
        // Service groups get Nomad's default update block (progress deadline 10 min) when they set none.
        let update = group.update ?? (jobType == "service" ? UpdateStrategy(healthyDeadline: .seconds(300), progressDeadline: .seconds(600)) : nil)
        if group.update != nil, jobType != "service", jobType != "system" {
            add(".Update", "Job type \"\(jobType)\" does not allow update block")
        }
        if let update, let progress = update.progressDeadline, progress.nanoseconds > 0 {
            if let healthy = update.healthyDeadline, healthy >= progress {
                add(".Update.HealthyDeadline", "Healthy deadline (\(healthy)) must be less than progress deadline (\(progress))")
            }
        }
        let progressDeadline = jobType == "service" ? update?.progressDeadline : nil
        let diskMB = group.ephemeralDisk?.sizeMB ?? 300
        if diskMB < 10 { add(".EphemeralDisk.SizeMB", "minimum DiskMB value is 10; got \(diskMB)") }

        var taskNames: [String: Int] = [:]
        var leaders = 0
        for (index, task) in tasks.enumerated() {
            let taskName = task.name ?? ""
            if taskName.isEmpty {
                add(".Tasks[\(index)].Name", "Task \(index + 1) missing name")
            } else if let existing = taskNames[taskName] {
                add(".Tasks[\(index)].Name", "Task \(index + 1) redefines '\(taskName)' from task \(existing + 1)")
            } else {
                taskNames[taskName] = index
            }
            if task.leader == true { leaders += 1 }
        }
        if leaders > 1 { add(".Tasks", "Only one task may be marked as leader") }

        var labels: Set<String> = []
        var staticPorts: [String: [Int: String]] = [:]
        for (networkIndex, network) in (group.networks ?? []).enumerated() {
            for (portIndex, port) in ((network.reservedPorts ?? []) + (network.dynamicPorts ?? [])).enumerated() {
                let portField = ".Networks[\(networkIndex)].Ports[\(portIndex)]"
                let label = port.label ?? ""
                if !labels.insert(label).inserted { add(portField + ".Label", "Port label \(label) already in use by taskgroup network") }
                let value = port.value ?? 0
                if value != 0 {
                    let hostNetwork = (port.hostNetwork ?? "").isEmpty ? "default" : port.hostNetwork!
                    if let other = staticPorts[hostNetwork]?[value] {
                        add(portField + ".Value", "Static port \(value) already reserved by \(other)")
                    } else if value > 65535 || value < 0 {
                        add(portField + ".Value", "Port \(label) (\(value)) cannot be greater than 65535")
                    } else {
                        staticPorts[hostNetwork, default: [:]][value] = "taskgroup network:\(label)"
                    }
                }
                let to = port.to ?? 0
                if to < -1 { add(portField + ".To", "Port \"\(label)\" cannot be mapped to negative value \(to)") }
                if to > 65535 { add(portField + ".To", "Port \"\(label)\" cannot be mapped to a port (\(to)) greater than 65535") }
            }
        }
        for (index, task) in tasks.enumerated() {
            found += taskViolations(task, field: "\(field).Tasks[\(index)]", jobType: jobType, diskMB: diskMB)
            if let progressDeadline, progressDeadline.nanoseconds > 0, let kill = task.killTimeout, kill > progressDeadline {
                found.append(
                    NomadJobViolation(
                        field: "\(field).Tasks[\(index)].KillTimeout", message: "KillTimout (\(kill)) longer than the group's ProgressDeadline (\(progressDeadline))"))
            }
        }
        return found
    }

    private static func rescheduleViolations(_ policy: ReschedulePolicy, field: String) -> [NomadJobViolation] {
        let attempts = policy.attempts ?? 0
        let unlimited = policy.unlimited ?? false
        guard attempts > 0 || unlimited else { return [] }
        var found: [NomadJobViolation] = []
        let interval = policy.interval ?? NomadDuration(nanoseconds: 0)
        let delay = policy.delay ?? NomadDuration(nanoseconds: 0)
        if attempts > 0, interval.nanoseconds <= 0 {
            found.append(NomadJobViolation(field: field + ".Interval", message: "Interval must be a non zero value if Attempts > 0"))
        }
        if attempts > 0, unlimited {
            found.append(NomadJobViolation(field: field, message: "If Attempts >0, Unlimited cannot also be set to true"))
        }
        if delay < .seconds(5) {
            found.append(NomadJobViolation(field: field + ".Delay", message: "Delay cannot be less than 5s (got \(delay))"))
        }
        if !["constant", "exponential", "fibonacci"].contains(policy.delayFunction ?? "") {
            found.append(NomadJobViolation(field: field + ".DelayFunction", message: "Invalid delay function \"\(policy.delayFunction ?? "")\""))
        }
        return found
    }

    private static func taskViolations(_ task: NomadTask, field: String, jobType: String, diskMB: Int) -> [NomadJobViolation] {
        var found: [NomadJobViolation] = []
        func add(_ subfield: String, _ message: String) { found.append(NomadJobViolation(field: "\(field)\(subfield)", message: message)) }

        let name = task.name ?? ""
        if name.isEmpty { add(".Name", "Missing task name") }
        if name == "alloc" { add(".Name", "Task cannot be named \"alloc\"") }
        if name.contains("/") || name.contains("\\") {
            add(".Name", "Task name cannot include slashes")
        } else if name.contains("\0") {
            add(".Name", "Task name cannot include null characters")
        }
        let driver = task.driver ?? ""
        if driver.isEmpty { add(".Driver", "Missing task driver") }
        if (task.killTimeout?.nanoseconds ?? 0) < 0 { add(".KillTimeout", "KillTimeout must be a positive value") }
        if (task.shutdownDelay?.nanoseconds ?? 0) < 0 { add(".ShutdownDelay", "ShutdownDelay must be a positive value") }

        let resources = task.resources ?? Resources(cpu: 100, memoryMB: 300)
        let cpu = resources.cpu ?? 100
        let cores = resources.cores ?? 0
        let memory = resources.memoryMB ?? 300
        if cores > 0, cpu > 0, resources.cpu != nil {
            add(".Resources", "Task can only ask for 'cpu' or 'cores' resource, not both.")
        }
        if cpu < 1, cores == 0 { add(".Resources.CPU", "minimum CPU value is 1; got \(cpu)") }
        if memory < 10 { add(".Resources.MemoryMB", "minimum MemoryMB value is 10; got \(memory)") }
        if (resources.diskMB ?? 0) > 0 {
            add(".Resources.DiskMB", "Task can't ask for disk resources, they have to be specified at the task group level.")
        }
        if let maximum = resources.memoryMaxMB, maximum != 0, maximum < memory {
            add(".Resources.MemoryMaxMB", "MemoryMaxMB value (\(maximum)) should be larger than MemoryMB value (\(memory))")
        }

        let logFiles = task.logConfig?.maxFiles ?? 10
        let logSize = task.logConfig?.maxFileSizeMB ?? 10
        if logFiles < 1 { add(".LogConfig.MaxFiles", "minimum number of files is 1; got \(logFiles)") }
        if logSize < 1 { add(".LogConfig.MaxFileSizeMB", "minimum file size is 1MB; got \(logSize)") }
        let (logUsage, overflow) = logFiles.multipliedReportingOverflow(by: logSize)
        if overflow || diskMB <= logUsage {
            add(".LogConfig", "log storage (\(logUsage) MB) must be less than requested disk capacity (\(diskMB) MB)")
        }

        for (index, constraint) in (task.constraints ?? []).enumerated() {
            for message in constraintProblems(constraint) {
                add(".Constraints[\(index)]", "Constraint \(index + 1) validation failed: \(message)")
            }
            if let operand = constraint.operand, operand == "distinct_hosts" || operand == "distinct_property" {
                add(".Constraints[\(index)]", "Constraint \(index + 1) has disallowed Operand at task level: \(operand)")
            }
        }
        if let lifecycle = task.lifecycle {
            let hook = lifecycle.hook?.rawValue ?? ""
            if hook.isEmpty {
                add(".Lifecycle.Hook", "Lifecycle validation failed: no lifecycle hook provided")
            } else if !["prestart", "poststart", "poststop"].contains(hook) {
                add(".Lifecycle.Hook", "Lifecycle validation failed: invalid hook: \(hook)")
            }
        }
        if driver == "raw_exec" || driver == "exec" {
            if (task.config?.command ?? "").isEmpty { add(".Config.command", "Missing required field \"command\" for the \(driver) driver") }
        }
        return found
    }

    private static func constraintProblems(_ constraint: Constraint) -> [String] {
        let operand = constraint.operand ?? ""
        guard !operand.isEmpty else { return ["Missing constraint operand"] }
        guard operands.contains(operand) else { return ["Unknown constraint type \"\(operand)\""] }
        var problems: [String] = []
        if operand != "distinct_hosts", (constraint.lTarget ?? "").isEmpty { problems.append("No LTarget provided but is required by constraint") }
        if operand.hasPrefix("set_contains"), (constraint.rTarget ?? "").isEmpty { problems.append("Set contains constraint requires an RTarget") }
        if operand == "regexp", (try? NSRegularExpression(pattern: constraint.rTarget ?? "")) == nil {
            problems.append("Regular expression failed to compile: \(constraint.rTarget ?? "")")
        }
        return problems
    }
}
