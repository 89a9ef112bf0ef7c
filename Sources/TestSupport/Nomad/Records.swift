import Foundation

/// A simulated client node.
struct NodeRecord: Sendable {
    var id: String
    var config: NomadSimulator.Node
    var status: String = "ready"
    var eligibility: String = "eligible"
    var createIndex: UInt64
    var modifyIndex: UInt64
    var statusUpdatedAt: Int64
    var events: [WireJSON]

    /// The node attributes constraints are evaluated against (`${attr.X}`).
    var attributes: [String: String] {
        var result: [String: String] = [
            "kernel.name": "linux", "os.name": "linux", "cpu.arch": "amd64", "cpu.numcores": "2",
            "cpu.totalcompute": "\(config.cpuMHz)", "memory.totalbytes": "\(config.memoryMB * 1024 * 1024)",
            "unique.hostname": config.name, "unique.network.ip-address": config.address, "nomad.version": config.version,
            "nomad.advertise.address": "\(config.address):4646",
            // The disk fingerprint of the data dir's file system, as a real client reports it.
            "unique.storage.volume": "/dev/vda", "unique.storage.bytestotal": "\(Int64(config.diskMB) * 2 * 1024 * 1024)",
            "unique.storage.bytesfree": "\(Int64(config.diskMB) * 1024 * 1024)",
            "os.signals":
                "SIGQUIT,SIGTTOU,SIGCONT,SIGPROF,SIGSEGV,SIGTRAP,SIGURG,SIGCHLD,SIGTTIN,SIGUSR1,SIGABRT,SIGSYS,SIGWINCH,SIGINT,SIGIOT,SIGKILL,SIGXCPU,SIGXFSZ,SIGALRM,SIGBUS,SIGILL,SIGIO,SIGPIPE,SIGTERM,SIGTSTP,SIGHUP,SIGSTOP,SIGUSR2,SIGFPE",
        ]
        for driver in config.drivers { result["driver.\(driver)"] = "1" }
        for (key, value) in config.attributes { result[key] = value }
        return result
    }

    /// Resolves a constraint target such as `${attr.kernel.name}` or `${meta.rack}` on this node.
    func resolve(_ target: String) -> String? {
        guard target.hasPrefix("${"), target.hasSuffix("}") else { return target }
        let name = String(target.dropFirst(2).dropLast())
        switch name {
        case "node.unique.id": return id
        case "node.unique.name": return config.name
        case "node.datacenter": return config.datacenter
        case "node.class": return config.nodeClass
        case "node.pool": return config.pool
        default:
            if name.hasPrefix("attr.") { return attributes[String(name.dropFirst(5))] }
            if name.hasPrefix("meta.") { return meta[String(name.dropFirst(5))] }
            return nil
        }
    }

    /// Whether the constraint holds on this node.
    func satisfies(_ constraint: JobConstraint) -> Bool {
        let left = resolve(constraint.left)
        let right = resolve(constraint.right)
        switch constraint.operand {
        case "=", "==", "is": return left != nil && left == right
        case "!=", "not": return left != right
        case "is_set": return left != nil
        case "is_not_set": return left == nil
        case "regexp":
            guard let left, let right, let expression = try? NSRegularExpression(pattern: right) else { return false }
            return expression.firstMatch(in: left, range: NSRange(left.startIndex..., in: left)) != nil
        case "set_contains", "set_contains_all":
            guard let left, let right else { return false }
            let have = Set(left.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            return right.split(separator: ",").allSatisfy { have.contains($0.trimmingCharacters(in: .whitespaces)) }
        case "set_contains_any":
            guard let left, let right else { return false }
            let have = Set(left.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            return right.split(separator: ",").contains { have.contains($0.trimmingCharacters(in: .whitespaces)) }
        case "<", "<=", ">", ">=":
            guard let left, let right else { return false }
            if let l = Double(left), let r = Double(right) {
                switch constraint.operand {
                case "<": return l < r
                case "<=": return l <= r
                case ">": return l > r
                default: return l >= r
                }
            }
            switch constraint.operand {
            case "<": return left < right
            case "<=": return left <= right
            case ">": return left > right
            default: return left >= right
            }
        default: return true
        }
    }

    /// Node metadata: the dev agent's connect defaults plus the configured entries.
    var meta: [String: String] {
        var result = [
            "connect.sidecar_image": "envoyproxy/envoy:v${NOMAD_envoy_version}",
            "connect.gateway_image": "envoyproxy/envoy:v${NOMAD_envoy_version}", "connect.log_level": "info",
            "connect.proxy_concurrency": "1",
        ]
        result.merge(config.meta) { _, configured in configured }
        return result
    }

    /// The wire form of `/v1/node/:id`.
    func json() -> WireJSON {
        let drivers = WireJSON.object(
            Dictionary(
                uniqueKeysWithValues: config.drivers.map { driver in
                    (
                        driver,
                        [
                            "Attributes": .object(["driver.\(driver)": "true"]), "Detected": true, "HealthDescription": "Healthy",
                            "Healthy": true, "UpdateTime": .string(NomadTime.rfc3339(nanos: statusUpdatedAt * 1_000_000_000)),
                        ] as WireJSON
                    )
                }))
        let networks: WireJSON = [
            [
                "CIDR": .string("\(config.address)/32"), "DNS": nil, "Device": "lo", "DynamicPorts": nil,
                "IP": .string(config.address), "MBits": 1000, "Mode": "host", "ReservedPorts": nil,
            ]
        ]
        return [
            "Attributes": .stringMap(attributes), "CSIControllerPlugins": nil, "CSINodePlugins": nil,
            "ComputedClass": "v1:791150598650094307", "CreateIndex": .int(Int64(createIndex)),
            "Datacenter": .string(config.datacenter), "Drain": false, "DrainStrategy": nil, "Drivers": drivers,
            "Events": .array(events), "HTTPAddr": .string("\(config.address):4646"), "HostVolumes": nil, "ID": .string(id),
            "LastDrain": nil, "Links": nil, "Meta": .stringMap(meta), "ModifyIndex": .int(Int64(modifyIndex)),
            "Name": .string(config.name), "NodeClass": .string(config.nodeClass), "NodePool": .string(config.pool),
            "NodeResources": [
                "Cpu": ["CpuShares": .number(config.cpuMHz), "ReservableCpuCores": [0, 1], "TotalCpuCores": 2],
                "Devices": nil, "Disk": ["DiskMB": .number(config.diskMB)], "Memory": ["MemoryMB": .number(config.memoryMB)],
                "Networks": networks,
                "NodeNetworks": [
                    [
                        "Addresses": [
                            [
                                "Address": .string(config.address), "Alias": "default", "Family": "ipv4", "Gateway": "",
                                "ReservedPorts": "",
                            ]
                        ],
                        "Device": "lo", "MacAddress": "", "Mode": "host", "Speed": 1000,
                    ]
                ],
            ],
            "Reserved": [
                "CPU": 0, "Cores": 0, "Devices": nil, "DiskMB": 0, "IOPS": 0, "MemoryMB": 0, "MemoryMaxMB": 0, "Networks": nil,
            ],
            "ReservedResources": [
                "Cpu": ["CpuShares": 0, "ReservedCpuCores": nil], "Disk": ["DiskMB": 0], "Memory": ["MemoryMB": 0],
                "Networks": ["ReservedHostPorts": ""],
            ],
            "Resources": [
                "CPU": .number(config.cpuMHz), "Cores": 0, "Devices": nil, "DiskMB": .number(config.diskMB), "IOPS": 0,
                "MemoryMB": .number(config.memoryMB), "MemoryMaxMB": 0, "Networks": networks,
            ],
            "SchedulingEligibility": .string(eligibility), "SecretID": "", "Status": .string(status), "StatusDescription": "",
            "StatusUpdatedAt": .int(statusUpdatedAt), "TLSEnabled": false, "Version": .string(config.version),
        ]
    }

    /// The wire form of a `/v1/nodes` list entry.
    func stub() -> WireJSON {
        let full = json()
        var result: [String: WireJSON] = [:]
        for key in [
            "Address", "CreateIndex", "Datacenter", "Drain", "Drivers", "HostVolumes", "ID", "LastDrain", "ModifyIndex", "Name",
            "NodeClass", "NodePool", "SchedulingEligibility", "Status", "StatusDescription", "Version",
        ] {
            result[key] = full[key] ?? .null
        }
        result["Address"] = .string(config.address)
        return .object(result)
    }
}

/// The client-side state of one task.
struct TaskStateRecord: Sendable {
    var state = "pending"
    var failed = false
    var restarts = 0
    var lastRestart: Int64?
    var startedAt: Int64?
    var finishedAt: Int64?
    var events: [WireJSON] = []

    func json() -> WireJSON {
        [
            "Events": .array(events), "Failed": .bool(failed),
            "FinishedAt": .optional(finishedAt.map { NomadTime.rfc3339(nanos: $0) }),
            "LastRestart": .optional(lastRestart.map { NomadTime.rfc3339(nanos: $0) }), "Restarts": .number(restarts),
            "StartedAt": .optional(startedAt.map { NomadTime.rfc3339(nanos: $0) }), "State": .string(state), "TaskHandle": nil,
        ]
    }
}

/// Builds task events with every field Nomad 1.1 sends.
enum TaskEvent {
    static func make(
        _ type: String, display: String, details: [String: String] = [:], message: String = "", exitCode: Int = 0,
        signal: Int = 0, failsTask: Bool = false, restartReason: String = "", startDelay: Int64 = 0, killTimeout: Int64 = 0,
        driverError: String = "", setupError: String = "", downloadError: String = "", failedSibling: String = ""
    ) -> WireJSON {
        [
            "Details": .stringMap(details), "DiskLimit": 0, "DisplayMessage": .string(display),
            "DownloadError": .string(downloadError), "DriverError": .string(driverError), "DriverMessage": "",
            "ExitCode": .number(exitCode), "FailedSibling": .string(failedSibling), "FailsTask": .bool(failsTask), "GenericSource": "",
            "KillError": "", "KillReason": "", "KillTimeout": .int(killTimeout), "Message": .string(message),
            "RestartReason": .string(restartReason), "SetupError": .string(setupError), "Signal": .number(signal),
            "StartDelay": .int(startDelay), "TaskSignal": "", "TaskSignalReason": "", "Time": .int(NomadTime.nowNanos()),
            "Type": .string(type), "ValidationError": "", "VaultError": "",
        ]
    }
}

/// One allocation as the server stores it.
struct AllocationRecord: Sendable {
    var id: String
    var evalID: String
    var name: String
    var namespace: String
    var jobID: String
    var job: WireJSON
    var jobType: String
    var jobVersion: Int64
    var taskGroup: String
    var nodeID: String
    var nodeName: String
    var deploymentID: String
    var desiredStatus = "run"
    var desiredDescription = ""
    var clientStatus = "pending"
    var clientDescription = "No tasks have started"
    var createIndex: UInt64
    var modifyIndex: UInt64
    var allocModifyIndex: UInt64
    var createTime: Int64
    var modifyTime: Int64
    var taskStates: [String: TaskStateRecord]
    /// Reserved (static) ports first, then the dynamic ports picked at placement.
    var ports: [(label: String, value: Int)]
    /// How many of `ports` are dynamic (they come last).
    var dynamicPortCount = 0
    var group: GroupSpec
    var metrics: WireJSON

    var isTerminal: Bool {
        desiredStatus != "run" || ["complete", "failed", "lost"].contains(clientStatus)
    }

    /// Whether the scheduler counts the allocation's resources as used. Like Nomad's planner, an
    /// allocation being stopped no longer counts, so its replacement can take its ports.
    var holdsResources: Bool { desiredStatus == "run" && !["complete", "failed", "lost"].contains(clientStatus) }

    /// Recomputes the client status from the task states, as the Nomad client does.
    mutating func updateClientStatus() {
        if clientStatus == "lost" { return }
        let states = group.tasks.compactMap { task in taskStates[task.name].map { (task, $0) } }
        if states.contains(where: { $0.1.failed }) {
            clientStatus = "failed"
            clientDescription = "Failed tasks"
        } else if states.contains(where: { $0.1.state == "running" }) {
            // Nomad 1.1.2's getClientStatus: any running task (a prestart task too) makes it running.
            clientStatus = "running"
            clientDescription = "Tasks are running"
        } else if states.allSatisfy({ $0.1.state == "dead" }) {
            clientStatus = "complete"
            clientDescription = "All tasks have completed"
        } else {
            clientStatus = "pending"
            clientDescription = "No tasks have started"
        }
    }

    private var networksJSON: WireJSON {
        guard !ports.isEmpty else { return .null }
        func list(_ ports: ArraySlice<(label: String, value: Int)>) -> WireJSON {
            ports.isEmpty ? .null : .array(ports.map { ["HostNetwork": "default", "Label": .string($0.label), "To": 0, "Value": .number($0.value)] })
        }
        return [
            [
                "CIDR": "", "DNS": nil, "Device": "", "DynamicPorts": list(ports.suffix(dynamicPortCount)), "IP": "127.0.0.1", "MBits": 0,
                "Mode": "", "ReservedPorts": list(ports.dropLast(dynamicPortCount)),
            ]
        ]
    }

    private func taskResources(_ task: TaskSpec) -> WireJSON {
        [
            "CPU": .number(task.cpu), "Cores": 0, "Devices": nil, "DiskMB": 0, "IOPS": 0, "MemoryMB": .number(task.memoryMB),
            "MemoryMaxMB": 0, "Networks": nil,
        ]
    }

    /// The full wire form of `/v1/allocation/:id` (with the job) or an event payload (without).
    func json(includeJob: Bool = true) -> WireJSON {
        let cpu = group.tasks.reduce(0) { $0 + $1.cpu }
        let memory = group.tasks.reduce(0) { $0 + $1.memoryMB }
        var result: [String: WireJSON] = [
            "AllocModifyIndex": .int(Int64(allocModifyIndex)),
            "AllocatedResources": [
                "Shared": [
                    "DiskMB": .number(group.diskMB), "Networks": networksJSON,
                    "Ports": ports.isEmpty
                        ? nil
                        : .array(ports.map { ["HostIP": "127.0.0.1", "Label": .string($0.label), "To": 0, "Value": .number($0.value)] }),
                ],
                "TaskLifecycles": .object(
                    Dictionary(
                        uniqueKeysWithValues: group.tasks.map { task in
                            (task.name, task.hook.map { ["Hook": .string($0), "Sidecar": .bool(task.sidecar)] as WireJSON } ?? .null)
                        })),
                "Tasks": .object(
                    Dictionary(
                        uniqueKeysWithValues: group.tasks.map { task in
                            (
                                task.name,
                                [
                                    "Cpu": ["CpuShares": .number(task.cpu), "ReservedCores": nil], "Devices": nil,
                                    "Memory": ["MemoryMB": .number(task.memoryMB), "MemoryMaxMB": 0], "Networks": nil,
                                ] as WireJSON
                            )
                        })),
            ],
            "ClientDescription": .string(clientDescription), "ClientStatus": .string(clientStatus),
            "CreateIndex": .int(Int64(createIndex)), "CreateTime": .int(createTime), "DeploymentID": .string(deploymentID),
            "DesiredDescription": .string(desiredDescription), "DesiredStatus": .string(desiredStatus),
            "DesiredTransition": ["ForceReschedule": nil, "Migrate": nil, "Reschedule": nil], "EvalID": .string(evalID),
            "FollowupEvalID": "", "ID": .string(id), "JobID": .string(jobID), "Metrics": metrics,
            "ModifyIndex": .int(Int64(modifyIndex)), "ModifyTime": .int(modifyTime), "Name": .string(name),
            "Namespace": .string(namespace), "NetworkStatus": ["Address": "", "DNS": nil, "InterfaceName": ""],
            "NodeID": .string(nodeID), "NodeName": .string(nodeName), "PreemptedAllocations": nil, "PreemptedByAllocation": "",
            "RescheduleTracker": nil,
            "Resources": [
                "CPU": .number(cpu), "Cores": 0, "Devices": nil, "DiskMB": .number(group.diskMB), "IOPS": 0,
                "MemoryMB": .number(memory), "MemoryMaxMB": .number(memory), "Networks": networksJSON,
            ],
            "SharedResources": [
                "CPU": 0, "Cores": 0, "Devices": nil, "DiskMB": .number(group.diskMB), "IOPS": 0, "MemoryMB": 0, "MemoryMaxMB": 0,
                "Networks": networksJSON,
            ],
            "TaskGroup": .string(taskGroup),
            "TaskResources": .object(Dictionary(uniqueKeysWithValues: group.tasks.map { ($0.name, taskResources($0)) })),
            "TaskStates": taskStates.isEmpty ? nil : .object(taskStates.mapValues { $0.json() }),
        ]
        if includeJob { result["Job"] = job }
        return .object(result)
    }

    /// The wire form of an allocation list entry (`AllocListStub`).
    func stub() -> WireJSON {
        [
            "ClientDescription": .string(clientDescription), "ClientStatus": .string(clientStatus),
            "CreateIndex": .int(Int64(createIndex)), "CreateTime": .int(createTime), "DeploymentStatus": nil,
            "DesiredDescription": .string(desiredDescription), "DesiredStatus": .string(desiredStatus),
            "DesiredTransition": ["ForceReschedule": nil, "Migrate": nil, "Reschedule": nil], "EvalID": .string(evalID),
            "FollowupEvalID": "", "ID": .string(id), "JobID": .string(jobID), "JobType": .string(jobType),
            "JobVersion": .int(jobVersion), "ModifyIndex": .int(Int64(modifyIndex)), "ModifyTime": .int(modifyTime),
            "Name": .string(name), "Namespace": .string(namespace), "NodeID": .string(nodeID), "NodeName": .string(nodeName),
            "PreemptedAllocations": nil, "PreemptedByAllocation": "", "RescheduleTracker": nil, "TaskGroup": .string(taskGroup),
            "TaskStates": taskStates.isEmpty ? nil : .object(taskStates.mapValues { $0.json() }),
        ]
    }
}

/// A stored job with its bookkeeping.
struct JobRecord: Sendable {
    var json: WireJSON
    var spec: JobSpec
    var createIndex: UInt64
    var modifyIndex: UInt64
    var jobModifyIndex: UInt64
    var version: Int64
    var submitTime: Int64
    var stop = false
    var status = "pending"

    /// The stored job with its current bookkeeping fields.
    func rendered() -> WireJSON {
        var result = json
        result["CreateIndex"] = .int(Int64(createIndex))
        result["ModifyIndex"] = .int(Int64(modifyIndex))
        result["JobModifyIndex"] = .int(Int64(jobModifyIndex))
        result["Version"] = .int(version)
        result["SubmitTime"] = .int(submitTime)
        result["Stop"] = .bool(stop)
        result["Status"] = .string(status)
        return result
    }

    /// The wire form of a `/v1/jobs` list entry.
    func stub(summary: WireJSON) -> WireJSON {
        [
            "CreateIndex": .int(Int64(createIndex)), "Datacenters": json["Datacenters"] ?? nil, "ID": json["ID"] ?? "",
            "JobModifyIndex": .int(Int64(jobModifyIndex)), "JobSummary": summary, "ModifyIndex": .int(Int64(modifyIndex)),
            "Multiregion": nil, "Name": json["Name"] ?? "", "Namespace": json["Namespace"] ?? "default", "ParameterizedJob": false,
            "ParentID": "", "Periodic": false, "Priority": json["Priority"] ?? 50, "Stable": false, "Status": .string(status),
            "StatusDescription": "", "Stop": .bool(stop), "SubmitTime": .int(submitTime), "Type": json["Type"] ?? "service",
        ]
    }
}
