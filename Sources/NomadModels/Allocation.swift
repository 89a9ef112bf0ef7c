// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// What the client reports about an allocation (`ClientStatus`).
public struct AllocationClientStatus: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `pending`
    public static let pending: AllocationClientStatus = "pending"
    /// `running`
    public static let running: AllocationClientStatus = "running"
    /// `complete`
    public static let complete: AllocationClientStatus = "complete"
    /// `failed`
    public static let failed: AllocationClientStatus = "failed"
    /// `lost`
    public static let lost: AllocationClientStatus = "lost"
    /// `unknown`
    public static let unknown: AllocationClientStatus = "unknown"
}

/// What the scheduler wants for an allocation (`DesiredStatus`).
public struct AllocationDesiredStatus: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `run`
    public static let run: AllocationDesiredStatus = "run"
    /// `stop`
    public static let stop: AllocationDesiredStatus = "stop"
    /// `evict`
    public static let evict: AllocationDesiredStatus = "evict"
}

/// A task's state (`State`).
public struct TaskStateName: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `pending`
    public static let pending: TaskStateName = "pending"
    /// `running`
    public static let running: TaskStateName = "running"
    /// `dead`
    public static let dead: TaskStateName = "dead"
}

/// One entry of a task's event history (`Received`, `Started`, `Terminated`, `Restarting`, `Killing`...).
public struct TaskEvent: Codable, Hashable, Sendable {
    public var type: String?
    /// Nanoseconds since the Unix epoch.
    public var time: Int64?
    public var displayMessage: String?
    public var message: String?
    /// e.g. `exit_code`, `signal`, `oom_killed`, `restart_reason`, `start_delay` (all strings).
    public var details: [String: String]?
    public var exitCode: Int?
    public var signal: Int?
    public var failsTask: Bool?
    public var restartReason: String?
    /// Nanoseconds until the restart.
    public var startDelay: Int64?
    public var killTimeout: NomadDuration?
    public var killReason: String?
    public var killError: String?
    public var driverError: String?
    public var driverMessage: String?
    public var setupError: String?
    public var downloadError: String?
    public var validationError: String?
    public var taskSignal: String?
    public var taskSignalReason: String?
    public var failedSibling: String?
    public var genericSource: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        type: String? = nil,
        time: Int64? = nil,
        displayMessage: String? = nil,
        message: String? = nil,
        details: [String: String]? = nil,
        exitCode: Int? = nil,
        signal: Int? = nil,
        failsTask: Bool? = nil,
        restartReason: String? = nil,
        startDelay: Int64? = nil,
        killTimeout: NomadDuration? = nil,
        killReason: String? = nil,
        killError: String? = nil,
        driverError: String? = nil,
        driverMessage: String? = nil,
        setupError: String? = nil,
        downloadError: String? = nil,
        validationError: String? = nil,
        taskSignal: String? = nil,
        taskSignalReason: String? = nil,
        failedSibling: String? = nil,
        genericSource: String? = nil
    ) {
        self.type = type
        self.time = time
        self.displayMessage = displayMessage
        self.message = message
        self.details = details
        self.exitCode = exitCode
        self.signal = signal
        self.failsTask = failsTask
        self.restartReason = restartReason
        self.startDelay = startDelay
        self.killTimeout = killTimeout
        self.killReason = killReason
        self.killError = killError
        self.driverError = driverError
        self.driverMessage = driverMessage
        self.setupError = setupError
        self.downloadError = downloadError
        self.validationError = validationError
        self.taskSignal = taskSignal
        self.taskSignalReason = taskSignalReason
        self.failedSibling = failedSibling
        self.genericSource = genericSource
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type"
        case time = "Time"
        case displayMessage = "DisplayMessage"
        case message = "Message"
        case details = "Details"
        case exitCode = "ExitCode"
        case signal = "Signal"
        case failsTask = "FailsTask"
        case restartReason = "RestartReason"
        case startDelay = "StartDelay"
        case killTimeout = "KillTimeout"
        case killReason = "KillReason"
        case killError = "KillError"
        case driverError = "DriverError"
        case driverMessage = "DriverMessage"
        case setupError = "SetupError"
        case downloadError = "DownloadError"
        case validationError = "ValidationError"
        case taskSignal = "TaskSignal"
        case taskSignalReason = "TaskSignalReason"
        case failedSibling = "FailedSibling"
        case genericSource = "GenericSource"
    }
}

/// The client's view of one task in an allocation.
public struct TaskState: Codable, Hashable, Sendable {
    public var state: TaskStateName?
    public var failed: Bool?
    public var restarts: Int?
    /// RFC 3339 string; `null` until the first restart.
    public var lastRestart: NomadTime?
    public var startedAt: NomadTime?
    public var finishedAt: NomadTime?
    public var events: [TaskEvent]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        state: TaskStateName? = nil,
        failed: Bool? = nil,
        restarts: Int? = nil,
        lastRestart: NomadTime? = nil,
        startedAt: NomadTime? = nil,
        finishedAt: NomadTime? = nil,
        events: [TaskEvent]? = nil
    ) {
        self.state = state
        self.failed = failed
        self.restarts = restarts
        self.lastRestart = lastRestart
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case state = "State"
        case failed = "Failed"
        case restarts = "Restarts"
        case lastRestart = "LastRestart"
        case startedAt = "StartedAt"
        case finishedAt = "FinishedAt"
        case events = "Events"
    }
}

/// Scheduler hints on an allocation (migrate, reschedule).
public struct DesiredTransition: Codable, Hashable, Sendable {
    public var migrate: Bool?
    public var reschedule: Bool?
    public var forceReschedule: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        migrate: Bool? = nil,
        reschedule: Bool? = nil,
        forceReschedule: Bool? = nil
    ) {
        self.migrate = migrate
        self.reschedule = reschedule
        self.forceReschedule = forceReschedule
    }

    enum CodingKeys: String, CodingKey {
        case migrate = "Migrate"
        case reschedule = "Reschedule"
        case forceReschedule = "ForceReschedule"
    }
}

/// CPU given to a task (MHz shares and reserved cores).
public struct AllocatedCPUResources: Codable, Hashable, Sendable {
    public var cpuShares: Int?
    public var reservedCores: [Int]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpuShares: Int? = nil,
        reservedCores: [Int]? = nil
    ) {
        self.cpuShares = cpuShares
        self.reservedCores = reservedCores
    }

    enum CodingKeys: String, CodingKey {
        case cpuShares = "CpuShares"
        case reservedCores = "ReservedCores"
    }
}

/// Memory given to a task.
public struct AllocatedMemoryResources: Codable, Hashable, Sendable {
    public var memoryMB: Int?
    public var memoryMaxMB: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        memoryMB: Int? = nil,
        memoryMaxMB: Int? = nil
    ) {
        self.memoryMB = memoryMB
        self.memoryMaxMB = memoryMaxMB
    }

    enum CodingKeys: String, CodingKey {
        case memoryMB = "MemoryMB"
        case memoryMaxMB = "MemoryMaxMB"
    }
}

/// Resources given to one task of an allocation.
public struct AllocatedTaskResources: Codable, Hashable, Sendable {
    public var cpu: AllocatedCPUResources?
    public var memory: AllocatedMemoryResources?
    public var networks: [NetworkResource]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpu: AllocatedCPUResources? = nil,
        memory: AllocatedMemoryResources? = nil,
        networks: [NetworkResource]? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.networks = networks
    }

    enum CodingKeys: String, CodingKey {
        case cpu = "Cpu"
        case memory = "Memory"
        case networks = "Networks"
    }
}

/// A port given to the allocation's shared network.
public struct AllocatedPortMapping: Codable, Hashable, Sendable {
    public var label: String?
    public var value: Int?
    public var to: Int?
    public var hostIP: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        label: String? = nil,
        value: Int? = nil,
        to: Int? = nil,
        hostIP: String? = nil
    ) {
        self.label = label
        self.value = value
        self.to = to
        self.hostIP = hostIP
    }

    enum CodingKeys: String, CodingKey {
        case label = "Label"
        case value = "Value"
        case to = "To"
        case hostIP = "HostIP"
    }
}

/// Resources shared by all tasks of an allocation (disk, group network, ports).
public struct AllocatedSharedResources: Codable, Hashable, Sendable {
    public var diskMB: Int?
    public var networks: [NetworkResource]?
    public var ports: [AllocatedPortMapping]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        diskMB: Int? = nil,
        networks: [NetworkResource]? = nil,
        ports: [AllocatedPortMapping]? = nil
    ) {
        self.diskMB = diskMB
        self.networks = networks
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey {
        case diskMB = "DiskMB"
        case networks = "Networks"
        case ports = "Ports"
    }
}

/// What the scheduler gave an allocation.
public struct AllocatedResources: Codable, Hashable, Sendable {
    public var tasks: [String: AllocatedTaskResources]?
    public var taskLifecycles: [String: TaskLifecycle?]?
    public var shared: AllocatedSharedResources?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        tasks: [String: AllocatedTaskResources]? = nil,
        taskLifecycles: [String: TaskLifecycle?]? = nil,
        shared: AllocatedSharedResources? = nil
    ) {
        self.tasks = tasks
        self.taskLifecycles = taskLifecycles
        self.shared = shared
    }

    enum CodingKeys: String, CodingKey {
        case tasks = "Tasks"
        case taskLifecycles = "TaskLifecycles"
        case shared = "Shared"
    }
}

/// The network an allocation got (bridge/CNI modes).
public struct AllocNetworkStatus: Codable, Hashable, Sendable {
    public var interfaceName: String?
    public var address: String?
    public var dns: DNSConfig?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        interfaceName: String? = nil,
        address: String? = nil,
        dns: DNSConfig? = nil
    ) {
        self.interfaceName = interfaceName
        self.address = address
        self.dns = dns
    }

    enum CodingKeys: String, CodingKey {
        case interfaceName = "InterfaceName"
        case address = "Address"
        case dns = "DNS"
    }
}

/// Placement metrics: why nodes were filtered or exhausted.
public struct AllocationMetric: Codable, Hashable, Sendable {
    public var nodesEvaluated: Int?
    public var nodesFiltered: Int?
    /// Nomad 1.6+.
    public var nodesInPool: Int?
    public var nodesAvailable: [String: Int]?
    public var classFiltered: [String: Int]?
    public var constraintFiltered: [String: Int]?
    public var nodesExhausted: Int?
    public var classExhausted: [String: Int]?
    public var dimensionExhausted: [String: Int]?
    public var quotaExhausted: [String]?
    public var resourcesExhausted: [String: Resources]?
    public var coalescedFailures: Int?
    public var allocationTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        nodesEvaluated: Int? = nil,
        nodesFiltered: Int? = nil,
        nodesInPool: Int? = nil,
        nodesAvailable: [String: Int]? = nil,
        classFiltered: [String: Int]? = nil,
        constraintFiltered: [String: Int]? = nil,
        nodesExhausted: Int? = nil,
        classExhausted: [String: Int]? = nil,
        dimensionExhausted: [String: Int]? = nil,
        quotaExhausted: [String]? = nil,
        resourcesExhausted: [String: Resources]? = nil,
        coalescedFailures: Int? = nil,
        allocationTime: Int64? = nil
    ) {
        self.nodesEvaluated = nodesEvaluated
        self.nodesFiltered = nodesFiltered
        self.nodesInPool = nodesInPool
        self.nodesAvailable = nodesAvailable
        self.classFiltered = classFiltered
        self.constraintFiltered = constraintFiltered
        self.nodesExhausted = nodesExhausted
        self.classExhausted = classExhausted
        self.dimensionExhausted = dimensionExhausted
        self.quotaExhausted = quotaExhausted
        self.resourcesExhausted = resourcesExhausted
        self.coalescedFailures = coalescedFailures
        self.allocationTime = allocationTime
    }

    enum CodingKeys: String, CodingKey {
        case nodesEvaluated = "NodesEvaluated"
        case nodesFiltered = "NodesFiltered"
        case nodesInPool = "NodesInPool"
        case nodesAvailable = "NodesAvailable"
        case classFiltered = "ClassFiltered"
        case constraintFiltered = "ConstraintFiltered"
        case nodesExhausted = "NodesExhausted"
        case classExhausted = "ClassExhausted"
        case dimensionExhausted = "DimensionExhausted"
        case quotaExhausted = "QuotaExhausted"
        case resourcesExhausted = "ResourcesExhausted"
        case coalescedFailures = "CoalescedFailures"
        case allocationTime = "AllocationTime"
    }
}

/// `GET /v1/allocation/:id`: an allocation with its job and task states.
public struct Allocation: Codable, Hashable, Sendable {
    public var id: String?
    public var namespace: String?
    public var evalID: String?
    public var name: String?
    public var nodeID: String?
    public var nodeName: String?
    public var jobID: String?
    public var job: Job?
    public var jobVersion: UInt64?
    public var taskGroup: String?
    public var desiredStatus: AllocationDesiredStatus?
    public var desiredDescription: String?
    public var desiredTransition: DesiredTransition?
    public var clientStatus: AllocationClientStatus?
    public var clientDescription: String?
    public var taskStates: [String: TaskState]?
    public var allocatedResources: AllocatedResources?
    public var networkStatus: AllocNetworkStatus?
    public var metrics: AllocationMetric?
    public var deploymentID: String?
    public var followupEvalID: String?
    public var previousAllocation: String?
    public var nextAllocation: String?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var allocModifyIndex: UInt64?
    /// Nanoseconds since the Unix epoch.
    public var createTime: Int64?
    public var modifyTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        namespace: String? = nil,
        evalID: String? = nil,
        name: String? = nil,
        nodeID: String? = nil,
        nodeName: String? = nil,
        jobID: String? = nil,
        job: Job? = nil,
        jobVersion: UInt64? = nil,
        taskGroup: String? = nil,
        desiredStatus: AllocationDesiredStatus? = nil,
        desiredDescription: String? = nil,
        desiredTransition: DesiredTransition? = nil,
        clientStatus: AllocationClientStatus? = nil,
        clientDescription: String? = nil,
        taskStates: [String: TaskState]? = nil,
        allocatedResources: AllocatedResources? = nil,
        networkStatus: AllocNetworkStatus? = nil,
        metrics: AllocationMetric? = nil,
        deploymentID: String? = nil,
        followupEvalID: String? = nil,
        previousAllocation: String? = nil,
        nextAllocation: String? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        allocModifyIndex: UInt64? = nil,
        createTime: Int64? = nil,
        modifyTime: Int64? = nil
    ) {
        self.id = id
        self.namespace = namespace
        self.evalID = evalID
        self.name = name
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.jobID = jobID
        self.job = job
        self.jobVersion = jobVersion
        self.taskGroup = taskGroup
        self.desiredStatus = desiredStatus
        self.desiredDescription = desiredDescription
        self.desiredTransition = desiredTransition
        self.clientStatus = clientStatus
        self.clientDescription = clientDescription
        self.taskStates = taskStates
        self.allocatedResources = allocatedResources
        self.networkStatus = networkStatus
        self.metrics = metrics
        self.deploymentID = deploymentID
        self.followupEvalID = followupEvalID
        self.previousAllocation = previousAllocation
        self.nextAllocation = nextAllocation
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.allocModifyIndex = allocModifyIndex
        self.createTime = createTime
        self.modifyTime = modifyTime
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case namespace = "Namespace"
        case evalID = "EvalID"
        case name = "Name"
        case nodeID = "NodeID"
        case nodeName = "NodeName"
        case jobID = "JobID"
        case job = "Job"
        case jobVersion = "JobVersion"
        case taskGroup = "TaskGroup"
        case desiredStatus = "DesiredStatus"
        case desiredDescription = "DesiredDescription"
        case desiredTransition = "DesiredTransition"
        case clientStatus = "ClientStatus"
        case clientDescription = "ClientDescription"
        case taskStates = "TaskStates"
        case allocatedResources = "AllocatedResources"
        case networkStatus = "NetworkStatus"
        case metrics = "Metrics"
        case deploymentID = "DeploymentID"
        case followupEvalID = "FollowupEvalID"
        case previousAllocation = "PreviousAllocation"
        case nextAllocation = "NextAllocation"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case allocModifyIndex = "AllocModifyIndex"
        case createTime = "CreateTime"
        case modifyTime = "ModifyTime"
    }
}

/// One allocation in a list (`/v1/allocations`, `/v1/job/:id/allocations`, `/v1/node/:id/allocations`).
public struct AllocationListStub: Codable, Hashable, Sendable {
    public var id: String?
    public var namespace: String?
    public var evalID: String?
    public var name: String?
    public var nodeID: String?
    public var nodeName: String?
    public var jobID: String?
    public var jobType: JobType?
    public var jobVersion: UInt64?
    public var taskGroup: String?
    public var desiredStatus: AllocationDesiredStatus?
    public var desiredDescription: String?
    public var desiredTransition: DesiredTransition?
    public var clientStatus: AllocationClientStatus?
    public var clientDescription: String?
    public var taskStates: [String: TaskState]?
    public var followupEvalID: String?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var createTime: Int64?
    public var modifyTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        namespace: String? = nil,
        evalID: String? = nil,
        name: String? = nil,
        nodeID: String? = nil,
        nodeName: String? = nil,
        jobID: String? = nil,
        jobType: JobType? = nil,
        jobVersion: UInt64? = nil,
        taskGroup: String? = nil,
        desiredStatus: AllocationDesiredStatus? = nil,
        desiredDescription: String? = nil,
        desiredTransition: DesiredTransition? = nil,
        clientStatus: AllocationClientStatus? = nil,
        clientDescription: String? = nil,
        taskStates: [String: TaskState]? = nil,
        followupEvalID: String? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        createTime: Int64? = nil,
        modifyTime: Int64? = nil
    ) {
        self.id = id
        self.namespace = namespace
        self.evalID = evalID
        self.name = name
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.jobID = jobID
        self.jobType = jobType
        self.jobVersion = jobVersion
        self.taskGroup = taskGroup
        self.desiredStatus = desiredStatus
        self.desiredDescription = desiredDescription
        self.desiredTransition = desiredTransition
        self.clientStatus = clientStatus
        self.clientDescription = clientDescription
        self.taskStates = taskStates
        self.followupEvalID = followupEvalID
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.createTime = createTime
        self.modifyTime = modifyTime
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case namespace = "Namespace"
        case evalID = "EvalID"
        case name = "Name"
        case nodeID = "NodeID"
        case nodeName = "NodeName"
        case jobID = "JobID"
        case jobType = "JobType"
        case jobVersion = "JobVersion"
        case taskGroup = "TaskGroup"
        case desiredStatus = "DesiredStatus"
        case desiredDescription = "DesiredDescription"
        case desiredTransition = "DesiredTransition"
        case clientStatus = "ClientStatus"
        case clientDescription = "ClientDescription"
        case taskStates = "TaskStates"
        case followupEvalID = "FollowupEvalID"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case createTime = "CreateTime"
        case modifyTime = "ModifyTime"
    }
}

/// What `POST /v1/allocation/:id/stop` answers.
public struct AllocStopResponse: Codable, Hashable, Sendable {
    public var evalID: String?
    public var index: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        evalID: String? = nil,
        index: UInt64? = nil
    ) {
        self.evalID = evalID
        self.index = index
    }

    enum CodingKeys: String, CodingKey {
        case evalID = "EvalID"
        case index = "Index"
    }
}

/// The body of `PUT /v1/client/allocation/:id/restart`; no task name restarts every task.
public struct AllocRestartRequest: Codable, Hashable, Sendable {
    public var taskName: String?
    /// Restart every task including prestart/poststart ones (Nomad 1.4+).
    public var allTasks: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        taskName: String? = nil,
        allTasks: Bool? = nil
    ) {
        self.taskName = taskName
        self.allTasks = allTasks
    }

    enum CodingKeys: String, CodingKey {
        case taskName = "TaskName"
        case allTasks = "AllTasks"
    }
}

/// The body of `PUT /v1/client/allocation/:id/signal`; no task signals every task.
public struct AllocSignalRequest: Codable, Hashable, Sendable {
    /// The signal's name, as Nomad parses it (`SIGKILL`, `SIGUSR1`...).
    public var signal: String
    public var task: String?

    /// Creates a value.
    public init(signal: String, task: String? = nil) {
        self.signal = signal
        self.task = task
    }

    enum CodingKeys: String, CodingKey {
        case signal = "Signal"
        case task = "Task"
    }
}
