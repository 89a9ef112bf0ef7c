import Foundation

/// A placement or job constraint (`LTarget Operand RTarget`).
struct JobConstraint: Sendable, Equatable {
    var left: String
    var right: String
    var operand: String

    /// The text Nomad uses as the key of `ConstraintFiltered` (`${attr.kernel.name} = windows`).
    var summary: String { "\(left) \(operand) \(right)" }
}

/// The restart policy of a task group.
struct RestartPolicy: Sendable, Equatable {
    var attempts: Int
    var intervalNanos: Int64
    var delayNanos: Int64
    var mode: String
}

/// A template rendered into the task directory before start.
struct TaskTemplate: Sendable {
    var embedded: String
    var destination: String
    /// Octal file mode (`Perms`, default `0644`).
    var perms: String
    /// `Envvars`: the rendered file is also parsed as `KEY=value` lines into the task's environment.
    var environment: Bool = false
}

/// An artifact downloaded into the task directory before start.
struct TaskArtifact: Sendable {
    var source: String
    var destination: String
    var options: [String: String]
}

/// The parts of a task the simulator executes.
struct TaskSpec: Sendable {
    var name: String
    var driver: String
    var command: String
    var arguments: [String]
    var environment: [String: String]
    var user: String
    var cpu: Int
    var memoryMB: Int
    var killTimeoutNanos: Int64
    var killSignal: String
    /// `prestart`, `poststart`, `poststop` or nil for a main task.
    var hook: String?
    var sidecar: Bool
    var constraints: [JobConstraint]
    var templates: [TaskTemplate]
    var artifacts: [TaskArtifact]
    var restart: RestartPolicy
}

/// The parts of a task group the scheduler and runner need.
struct GroupSpec: Sendable {
    var name: String
    var count: Int
    var constraints: [JobConstraint]
    var tasks: [TaskSpec]
    var restart: RestartPolicy
    var reservedPorts: [(label: String, value: Int)]
    var dynamicPortLabels: [String]
    var diskMB: Int
}

/// A job as stored: its canonical wire form and the parsed parts the simulator acts on.
struct JobSpec: Sendable {
    var id: String
    var name: String
    var namespace: String
    var type: String
    var datacenters: [String]
    var constraints: [JobConstraint]
    var groups: [GroupSpec]
    var meta: [String: String]

    /// Reads the parsed parts out of a canonical job.
    init(canonical job: WireJSON) {
        id = job["ID"]?.string ?? ""
        name = job["Name"]?.string ?? id
        namespace = job["Namespace"]?.string ?? "default"
        type = job["Type"]?.string ?? "service"
        datacenters = job["Datacenters"]?.array?.compactMap(\.string) ?? []
        constraints = JobSpec.constraints(job["Constraints"])
        meta = (job["Meta"]?.object ?? [:]).compactMapValues(\.string)
        groups = (job["TaskGroups"]?.array ?? []).map { group in
            let restart = JobSpec.restartPolicy(group["RestartPolicy"])
            var reserved: [(String, Int)] = []
            var dynamic: [String] = []
            for network in group["Networks"]?.array ?? [] {
                for port in network["ReservedPorts"]?.array ?? [] {
                    reserved.append((port["Label"]?.string ?? "", Int(port["Value"]?.int ?? 0)))
                }
                for port in network["DynamicPorts"]?.array ?? [] {
                    dynamic.append(port["Label"]?.string ?? "")
                }
            }
            return GroupSpec(
                name: group["Name"]?.string ?? "",
                count: Int(group["Count"]?.int ?? 1),
                constraints: JobSpec.constraints(group["Constraints"]),
                tasks: (group["Tasks"]?.array ?? []).map { JobSpec.task($0, restart: restart) },
                restart: restart,
                reservedPorts: reserved,
                dynamicPortLabels: dynamic,
                diskMB: Int(group["EphemeralDisk"]?["SizeMB"]?.int ?? 300)
            )
        }
    }

    private static func task(_ task: WireJSON, restart: RestartPolicy) -> TaskSpec {
        let config = task["Config"] ?? .null
        let arguments = config["args"]?.array?.map { $0.string ?? $0.text } ?? []
        let resources = task["Resources"] ?? .null
        return TaskSpec(
            name: task["Name"]?.string ?? "",
            driver: task["Driver"]?.string ?? "",
            command: config["command"]?.string ?? "",
            arguments: arguments,
            environment: (task["Env"]?.object ?? [:]).compactMapValues(\.string),
            user: task["User"]?.string ?? "",
            cpu: Int(resources["CPU"]?.int ?? 100),
            memoryMB: Int(resources["MemoryMB"]?.int ?? 300),
            killTimeoutNanos: task["KillTimeout"]?.int ?? 5_000_000_000,
            killSignal: task["KillSignal"]?.string ?? "",
            hook: task["Lifecycle"]?["Hook"]?.string,
            sidecar: task["Lifecycle"]?["Sidecar"]?.bool ?? false,
            constraints: constraints(task["Constraints"]),
            templates: (task["Templates"]?.array ?? []).map {
                TaskTemplate(
                    embedded: $0["EmbeddedTmpl"]?.string ?? "", destination: $0["DestPath"]?.string ?? "", perms: $0["Perms"]?.string ?? "0644",
                    environment: $0["Envvars"]?.bool ?? false)
            },
            artifacts: (task["Artifacts"]?.array ?? []).map {
                TaskArtifact(
                    source: $0["GetterSource"]?.string ?? "",
                    destination: $0["RelativeDest"]?.string ?? "local/",
                    options: ($0["GetterOptions"]?.object ?? [:]).compactMapValues(\.string))
            },
            restart: restartPolicy(task["RestartPolicy"] ?? .null, fallback: restart)
        )
    }

    private static func constraints(_ value: WireJSON?) -> [JobConstraint] {
        (value?.array ?? []).map {
            JobConstraint(
                left: $0["LTarget"]?.string ?? "", right: $0["RTarget"]?.string ?? "",
                operand: $0["Operand"]?.string ?? "=")
        }
    }

    private static func restartPolicy(_ value: WireJSON?, fallback: RestartPolicy? = nil) -> RestartPolicy {
        guard let value, value.object != nil else {
            return fallback ?? RestartPolicy(attempts: 2, intervalNanos: 1_800_000_000_000, delayNanos: 15_000_000_000, mode: "fail")
        }
        return RestartPolicy(
            attempts: Int(value["Attempts"]?.int ?? 0),
            intervalNanos: value["Interval"]?.int ?? 0,
            delayNanos: value["Delay"]?.int ?? 0,
            mode: value["Mode"]?.string ?? "fail")
    }
}

/// Fills in Nomad's defaults the way `api.Job.Canonicalize` and the server do, so reads return the
/// same fields as a real agent, and checks a job with Nomad's validation messages.
enum JobCanonicalizer {
    /// The canonical stored form of a submitted job.
    static func canonicalize(_ input: WireJSON) -> WireJSON {
        guard var job = input.object else { return input }
        let type = job["Type"]?.string ?? "service"
        let id = job["ID"]?.string ?? ""
        job["Type"] = .string(type)
        setDefault(&job, "Name", .string(id))
        setDefault(&job, "Namespace", "default")
        setDefault(&job, "Region", "global")
        setDefault(&job, "Priority", 50)
        for key in ["Affinities", "Constraints", "Multiregion", "ParameterizedJob", "Payload", "Periodic", "Spreads"] {
            setDefault(&job, key, .null)
        }
        for key in ["ConsulNamespace", "ConsulToken", "NomadTokenID", "ParentID", "StatusDescription", "VaultNamespace", "VaultToken"] {
            setDefault(&job, key, "")
        }
        for key in ["AllAtOnce", "Dispatched", "Stable", "Stop"] { setDefault(&job, key, false) }
        job["Meta"] = nonEmptyMap(job["Meta"])
        let isService = type == "service" || type == "system"
        let jobUpdate: WireJSON = [
            "AutoPromote": false, "AutoRevert": false, "Canary": 0, "HealthCheck": "", "HealthyDeadline": 0,
            "MaxParallel": .int(isService ? 1 : 0), "MinHealthyTime": 0, "ProgressDeadline": 0,
            "Stagger": .int(isService ? 30_000_000_000 : 0),
        ]
        job["Update"] = merge(jobUpdate, job["Update"])
        job["TaskGroups"] = .array((job["TaskGroups"]?.array ?? []).map { canonicalizeGroup($0, jobType: type) })
        return .object(job)
    }

    private static func canonicalizeGroup(_ input: WireJSON, jobType: String) -> WireJSON {
        guard var group = input.object else { return input }
        let isService = jobType == "service" || jobType == "system"
        setDefault(&group, "Count", 1)
        for key in ["Affinities", "Meta", "Scaling", "Services", "ShutdownDelay", "Spreads", "StopAfterClientDisconnect", "Volumes"] {
            setDefault(&group, key, .null)
        }
        group["Meta"] = nonEmptyMap(group["Meta"])
        group["Consul"] = merge(["Namespace": ""], group["Consul"])
        group["EphemeralDisk"] = merge(["Migrate": false, "SizeMB": 300, "Sticky": false], group["EphemeralDisk"])
        group["Migrate"] =
            isService
            ? merge(
                ["HealthCheck": "checks", "HealthyDeadline": 300_000_000_000, "MaxParallel": 1, "MinHealthyTime": 10_000_000_000],
                group["Migrate"]) : .null
        let reschedule: WireJSON =
            isService
            ? [
                "Attempts": 0, "Delay": 30_000_000_000, "DelayFunction": "exponential", "Interval": 0,
                "MaxDelay": 3_600_000_000_000, "Unlimited": true,
            ]
            : [
                "Attempts": 1, "Delay": 5_000_000_000, "DelayFunction": "constant", "Interval": 86_400_000_000_000,
                "MaxDelay": 0, "Unlimited": false,
            ]
        group["ReschedulePolicy"] = merge(reschedule, group["ReschedulePolicy"])
        let restart: WireJSON =
            isService
            ? ["Attempts": 2, "Delay": 15_000_000_000, "Interval": 1_800_000_000_000, "Mode": "fail"]
            : ["Attempts": 3, "Delay": 15_000_000_000, "Interval": 86_400_000_000_000, "Mode": "fail"]
        let groupRestart = merge(restart, group["RestartPolicy"])
        group["RestartPolicy"] = groupRestart
        group["Update"] =
            isService
            ? merge(
                [
                    "AutoPromote": false, "AutoRevert": false, "Canary": 0, "HealthCheck": "checks",
                    "HealthyDeadline": 300_000_000_000, "MaxParallel": 1, "MinHealthyTime": 10_000_000_000,
                    "ProgressDeadline": 600_000_000_000, "Stagger": 30_000_000_000,
                ], group["Update"]) : .null
        if let networks = group["Networks"]?.array {
            group["Networks"] = .array(networks.map(canonicalizeNetwork))
        } else {
            group["Networks"] = .null
        }
        let tasks = (group["Tasks"]?.array ?? []).map { canonicalizeTask($0, restart: groupRestart) }
        group["Tasks"] = .array(tasks)
        // Nomad adds a constraint that the node supports every kill signal the tasks use.
        let signals = tasks.compactMap { $0["KillSignal"]?.string }.filter { !$0.isEmpty }
        var constraints = group["Constraints"]?.array ?? []
        if !signals.isEmpty {
            var unique: [String] = []
            for signal in signals where !unique.contains(signal) { unique.append(signal) }
            constraints.append(["LTarget": "${attr.os.signals}", "Operand": "set_contains", "RTarget": .string(unique.joined(separator: ","))])
        }
        group["Constraints"] = constraints.isEmpty ? .null : .array(constraints)
        return .object(group)
    }

    private static func canonicalizeNetwork(_ input: WireJSON) -> WireJSON {
        guard var network = input.object else { return input }
        for key in ["CIDR", "Device", "IP", "Mode"] { setDefault(&network, key, "") }
        setDefault(&network, "DNS", .null)
        setDefault(&network, "MBits", 0)
        for key in ["ReservedPorts", "DynamicPorts"] {
            if let ports = network[key]?.array {
                network[key] = .array(ports.map { merge(["HostNetwork": "default", "Label": "", "To": 0, "Value": 0], $0) })
            } else {
                network[key] = .null
            }
        }
        return .object(network)
    }

    private static func canonicalizeTask(_ input: WireJSON, restart: WireJSON) -> WireJSON {
        guard var task = input.object else { return input }
        for key in [
            "Affinities", "Artifacts", "CSIPluginConfig", "Constraints", "DispatchPayload", "Lifecycle", "Meta",
            "ScalingPolicies", "Services", "Templates", "Vault", "VolumeMounts",
        ] {
            setDefault(&task, key, .null)
        }
        for key in ["KillSignal", "Kind", "User"] { setDefault(&task, key, "") }
        setDefault(&task, "Leader", false)
        setDefault(&task, "ShutdownDelay", 0)
        setDefault(&task, "KillTimeout", 5_000_000_000)
        task["Env"] = nonEmptyMap(task["Env"])
        task["Meta"] = nonEmptyMap(task["Meta"])
        task["LogConfig"] = merge(["MaxFileSizeMB": 10, "MaxFiles": 10], task["LogConfig"])
        task["Resources"] = merge(
            [
                "CPU": 100, "Cores": 0, "Devices": .null, "DiskMB": 0, "IOPS": 0, "MemoryMB": 300, "MemoryMaxMB": 0,
                "Networks": .null,
            ], task["Resources"])
        task["RestartPolicy"] = merge(restart, task["RestartPolicy"])
        if let templates = task["Templates"]?.array {
            task["Templates"] = .array(
                templates.map {
                    merge(
                        [
                            "ChangeMode": "restart", "ChangeSignal": "", "DestPath": "", "EmbeddedTmpl": "", "Envvars": false,
                            "LeftDelim": "{{", "Perms": "0644", "RightDelim": "}}", "SourcePath": "", "Splay": 5_000_000_000,
                            "VaultGrace": 0,
                        ], $0)
                })
        }
        if let artifacts = task["Artifacts"]?.array {
            task["Artifacts"] = .array(
                artifacts.map {
                    merge(["GetterHeaders": .null, "GetterMode": "any", "GetterOptions": .null, "GetterSource": "", "RelativeDest": "local/"], $0)
                })
        }
        return .object(task)
    }

    /// The validation errors Nomad reports for a canonical job, in its order and words.
    static func validate(_ job: WireJSON) -> [String] {
        var errors: [String] = []
        let id = job["ID"]?.string ?? ""
        if id.isEmpty {
            errors.append("Missing job ID")
        } else if id.contains(" ") {
            errors.append("Job ID contains a space")
        } else if id.contains("\0") {
            errors.append("Job ID contains a null character")
        }
        if (job["Name"]?.string ?? "").isEmpty { errors.append("Missing job name") }
        let type = job["Type"]?.string ?? ""
        if !["service", "batch", "system", "sysbatch", "_core"].contains(type) {
            errors.append("Invalid job type: \(goQuote(type))")
        }
        let priority = job["Priority"]?.int ?? 50
        if priority < 1 || priority > 100 { errors.append("Job priority must be between [1, 100]") }
        let datacenters = job["Datacenters"]?.array ?? []
        if datacenters.isEmpty {
            errors.append("Missing job datacenters")
        } else if datacenters.contains(where: { ($0.string ?? "").isEmpty }) {
            errors.append("Job datacenter must be non-empty string")
        }
        let groups = job["TaskGroups"]?.array ?? []
        if groups.isEmpty { errors.append("Missing job task groups") }
        for (index, constraint) in (job["Constraints"]?.array ?? []).enumerated() {
            if let problem = validateConstraint(constraint) {
                errors.append("Constraint \(index + 1) validation failed: \(problem)")
            }
        }
        var seenGroups: [String: Int] = [:]
        for (index, group) in groups.enumerated() {
            let name = group["Name"]?.string ?? ""
            if name.isEmpty {
                errors.append("Job task group \(index + 1) missing name")
            } else if let existing = seenGroups[name] {
                errors.append("Job task group \(index + 1) redefines '\(name)' from group \(existing + 1)")
            } else {
                seenGroups[name] = index
            }
            if type == "system", (group["Count"]?.int ?? 1) > 1 {
                errors.append(
                    "Job task group \(name) has count \(group["Count"]?.int ?? 1). Count cannot exceed 1 with system scheduler")
            }
        }
        for group in groups {
            let groupErrors = validateGroup(group)
            if !groupErrors.isEmpty {
                errors.append("Task group \(group["Name"]?.string ?? "") validation failed: \(multiError(groupErrors))")
            }
        }
        return errors
    }

    private static func validateGroup(_ group: WireJSON) -> [String] {
        var errors: [String] = []
        if (group["Count"]?.int ?? 1) < 0 { errors.append("Task group count can't be negative") }
        let tasks = group["Tasks"]?.array ?? []
        if tasks.isEmpty { errors.append("Missing tasks for task group") }
        if let mode = group["RestartPolicy"]?["Mode"]?.string, mode != "delay", mode != "fail" {
            errors.append("Unsupported restart mode: \(goQuote(mode))")
        }
        var seen: [String: Int] = [:]
        for (index, task) in tasks.enumerated() {
            let name = task["Name"]?.string ?? ""
            if name.isEmpty {
                errors.append("Task \(index + 1) missing name")
            } else if let existing = seen[name] {
                errors.append("Task \(index + 1) redefines '\(name)' from task \(existing + 1)")
            } else {
                seen[name] = index
            }
        }
        var ports: [Int64: String] = [:]
        for network in group["Networks"]?.array ?? [] {
            for port in network["ReservedPorts"]?.array ?? [] {
                let value = port["Value"]?.int ?? 0
                let label = port["Label"]?.string ?? ""
                if let other = ports[value] {
                    errors.append("Static port \(value) already reserved by \(other)")
                } else {
                    ports[value] = label
                }
                if value < 0 || value > 65535 { errors.append("Port \(goQuote(label)) cannot be greater than 65535") }
            }
        }
        for task in tasks {
            let taskErrors = validateTask(task)
            if !taskErrors.isEmpty {
                errors.append("Task \(task["Name"]?.string ?? "") validation failed: \(multiError(taskErrors))")
            }
        }
        return errors
    }

    private static func validateTask(_ task: WireJSON) -> [String] {
        var errors: [String] = []
        let name = task["Name"]?.string ?? ""
        if name.isEmpty { errors.append("Missing task name") }
        if name.contains("/") || name.contains("\\") { errors.append("Task name cannot include slashes") }
        if (task["Driver"]?.string ?? "").isEmpty { errors.append("Missing task driver") }
        if (task["KillTimeout"]?.int ?? 0) < 0 { errors.append("KillTimeout must be a positive value") }
        let cpu = task["Resources"]?["CPU"]?.int ?? 100
        if cpu < 1 { errors.append("Resources validation failed: 1 error occurred:\n\t* minimum CPU value is 1; got \(cpu)\n\n") }
        let memory = task["Resources"]?["MemoryMB"]?.int ?? 300
        if memory < 10 {
            errors.append("Resources validation failed: 1 error occurred:\n\t* minimum MemoryMB value is 10; got \(memory)\n\n")
        }
        if let hook = task["Lifecycle"]?["Hook"]?.string, !["prestart", "poststart", "poststop"].contains(hook) {
            errors.append("invalid hook: \(hook)")
        }
        for (index, constraint) in (task["Constraints"]?.array ?? []).enumerated() {
            if let problem = validateConstraint(constraint) {
                errors.append("Constraint \(index + 1) validation failed: \(problem)")
            }
        }
        return errors
    }

    private static func validateConstraint(_ constraint: WireJSON) -> String? {
        let operand = constraint["Operand"]?.string ?? "="
        let known = [
            "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "version", "semver", "regexp", "set_contains",
            "set_contains_all", "set_contains_any", "distinct_hosts", "distinct_property", "is_set", "is_not_set",
        ]
        guard known.contains(operand) else { return multiError(["Unknown constraint type \(goQuote(operand))"]) }
        if operand == "regexp", let pattern = constraint["RTarget"]?.string, (try? NSRegularExpression(pattern: pattern)) == nil {
            return multiError(["Regular expression failed to compile: \(pattern)"])
        }
        return nil
    }

    /// go-multierror's list format.
    static func multiError(_ errors: [String]) -> String {
        if errors.count == 1 { return "1 error occurred:\n\t* \(errors[0])\n\n" }
        return "\(errors.count) errors occurred:\n\t" + errors.map { "* \($0)" }.joined(separator: "\n\t") + "\n\n"
    }

    /// Go's `%q` for simple strings.
    static func goQuote(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func setDefault(_ object: inout [String: WireJSON], _ key: String, _ value: WireJSON) {
        if object[key] == nil || object[key] == .null && value != .null { object[key] = value }
    }

    /// Defaults overlaid with the submitted object's non-null members.
    private static func merge(_ defaults: WireJSON, _ submitted: WireJSON?) -> WireJSON {
        guard var result = defaults.object else { return defaults }
        for (key, value) in submitted?.object ?? [:] where value != .null { result[key] = value }
        return .object(result)
    }

    private static func nonEmptyMap(_ value: WireJSON?) -> WireJSON {
        guard let members = value?.object, !members.isEmpty else { return .null }
        return .object(members)
    }
}
