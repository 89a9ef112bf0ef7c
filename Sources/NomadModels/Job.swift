// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// The scheduler a job uses (`Type`): unknown values are kept.
public struct JobType: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `service`
    public static let service: JobType = "service"
    /// `batch`
    public static let batch: JobType = "batch"
    /// `system`
    public static let system: JobType = "system"
    /// `sysbatch`
    public static let sysbatch: JobType = "sysbatch"
}

/// A Nomad job as submitted (`POST /v1/jobs`) and as read back (`GET /v1/job/:id`).
public struct Job: Codable, Hashable, Sendable {
    public var id: String?
    public var name: String?
    public var namespace: String?
    public var type: JobType?
    public var region: String?
    public var datacenters: [String]?
    /// Node pool the job is placed in (Nomad 1.6+; ignored by older servers).
    public var nodePool: String?
    public var priority: Int?
    public var allAtOnce: Bool?
    public var meta: [String: String]?
    public var constraints: [Constraint]?
    public var affinities: [Affinity]?
    public var spreads: [Spread]?
    public var taskGroups: [TaskGroup]?
    public var update: UpdateStrategy?
    public var parentID: String?
    /// `true` once the job was deregistered without purge.
    public var stop: Bool?
    /// `pending`, `running` or `dead`.
    public var status: String?
    public var statusDescription: String?
    public var stable: Bool?
    public var version: UInt64?
    /// Nanoseconds since the Unix epoch.
    public var submitTime: Int64?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var jobModifyIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        name: String? = nil,
        namespace: String? = nil,
        type: JobType? = nil,
        region: String? = nil,
        datacenters: [String]? = nil,
        nodePool: String? = nil,
        priority: Int? = nil,
        allAtOnce: Bool? = nil,
        meta: [String: String]? = nil,
        constraints: [Constraint]? = nil,
        affinities: [Affinity]? = nil,
        spreads: [Spread]? = nil,
        taskGroups: [TaskGroup]? = nil,
        update: UpdateStrategy? = nil,
        parentID: String? = nil,
        stop: Bool? = nil,
        status: String? = nil,
        statusDescription: String? = nil,
        stable: Bool? = nil,
        version: UInt64? = nil,
        submitTime: Int64? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        jobModifyIndex: UInt64? = nil
    ) {
        self.id = id
        self.name = name
        self.namespace = namespace
        self.type = type
        self.region = region
        self.datacenters = datacenters
        self.nodePool = nodePool
        self.priority = priority
        self.allAtOnce = allAtOnce
        self.meta = meta
        self.constraints = constraints
        self.affinities = affinities
        self.spreads = spreads
        self.taskGroups = taskGroups
        self.update = update
        self.parentID = parentID
        self.stop = stop
        self.status = status
        self.statusDescription = statusDescription
        self.stable = stable
        self.version = version
        self.submitTime = submitTime
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.jobModifyIndex = jobModifyIndex
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case name = "Name"
        case namespace = "Namespace"
        case type = "Type"
        case region = "Region"
        case datacenters = "Datacenters"
        case nodePool = "NodePool"
        case priority = "Priority"
        case allAtOnce = "AllAtOnce"
        case meta = "Meta"
        case constraints = "Constraints"
        case affinities = "Affinities"
        case spreads = "Spreads"
        case taskGroups = "TaskGroups"
        case update = "Update"
        case parentID = "ParentID"
        case stop = "Stop"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case stable = "Stable"
        case version = "Version"
        case submitTime = "SubmitTime"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case jobModifyIndex = "JobModifyIndex"
    }
}

/// A placement constraint (`LTarget Operand RTarget`).
public struct Constraint: Codable, Hashable, Sendable {
    public var lTarget: String?
    public var rTarget: String?
    public var operand: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        lTarget: String? = nil,
        rTarget: String? = nil,
        operand: String? = nil
    ) {
        self.lTarget = lTarget
        self.rTarget = rTarget
        self.operand = operand
    }

    enum CodingKeys: String, CodingKey {
        case lTarget = "LTarget"
        case rTarget = "RTarget"
        case operand = "Operand"
    }
}

/// A placement preference with a weight from -100 to 100.
public struct Affinity: Codable, Hashable, Sendable {
    public var lTarget: String?
    public var rTarget: String?
    public var operand: String?
    public var weight: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        lTarget: String? = nil,
        rTarget: String? = nil,
        operand: String? = nil,
        weight: Int? = nil
    ) {
        self.lTarget = lTarget
        self.rTarget = rTarget
        self.operand = operand
        self.weight = weight
    }

    enum CodingKeys: String, CodingKey {
        case lTarget = "LTarget"
        case rTarget = "RTarget"
        case operand = "Operand"
        case weight = "Weight"
    }
}

/// One value of a spread attribute and its share.
public struct SpreadTarget: Codable, Hashable, Sendable {
    public var value: String?
    public var percent: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        value: String? = nil,
        percent: Int? = nil
    ) {
        self.value = value
        self.percent = percent
    }

    enum CodingKeys: String, CodingKey {
        case value = "Value"
        case percent = "Percent"
    }
}

/// Spreads allocations over the values of a node attribute.
public struct Spread: Codable, Hashable, Sendable {
    public var attribute: String?
    public var weight: Int?
    public var spreadTarget: [SpreadTarget]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        attribute: String? = nil,
        weight: Int? = nil,
        spreadTarget: [SpreadTarget]? = nil
    ) {
        self.attribute = attribute
        self.weight = weight
        self.spreadTarget = spreadTarget
    }

    enum CodingKeys: String, CodingKey {
        case attribute = "Attribute"
        case weight = "Weight"
        case spreadTarget = "SpreadTarget"
    }
}

/// Rolling update settings of a job or task group; durations in nanoseconds.
public struct UpdateStrategy: Codable, Hashable, Sendable {
    public var stagger: NomadDuration?
    public var maxParallel: Int?
    public var healthCheck: String?
    public var minHealthyTime: NomadDuration?
    public var healthyDeadline: NomadDuration?
    public var progressDeadline: NomadDuration?
    public var autoRevert: Bool?
    public var autoPromote: Bool?
    public var canary: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        stagger: NomadDuration? = nil,
        maxParallel: Int? = nil,
        healthCheck: String? = nil,
        minHealthyTime: NomadDuration? = nil,
        healthyDeadline: NomadDuration? = nil,
        progressDeadline: NomadDuration? = nil,
        autoRevert: Bool? = nil,
        autoPromote: Bool? = nil,
        canary: Int? = nil
    ) {
        self.stagger = stagger
        self.maxParallel = maxParallel
        self.healthCheck = healthCheck
        self.minHealthyTime = minHealthyTime
        self.healthyDeadline = healthyDeadline
        self.progressDeadline = progressDeadline
        self.autoRevert = autoRevert
        self.autoPromote = autoPromote
        self.canary = canary
    }

    enum CodingKeys: String, CodingKey {
        case stagger = "Stagger"
        case maxParallel = "MaxParallel"
        case healthCheck = "HealthCheck"
        case minHealthyTime = "MinHealthyTime"
        case healthyDeadline = "HealthyDeadline"
        case progressDeadline = "ProgressDeadline"
        case autoRevert = "AutoRevert"
        case autoPromote = "AutoPromote"
        case canary = "Canary"
    }
}

/// A task group: tasks placed together on one node, `Count` times.
public struct TaskGroup: Codable, Hashable, Sendable {
    public var name: String?
    public var count: Int?
    public var tasks: [NomadTask]?
    public var constraints: [Constraint]?
    public var affinities: [Affinity]?
    public var spreads: [Spread]?
    public var restartPolicy: RestartPolicy?
    public var reschedulePolicy: ReschedulePolicy?
    public var ephemeralDisk: EphemeralDisk?
    public var networks: [NetworkResource]?
    public var volumes: [String: VolumeRequest]?
    public var update: UpdateStrategy?
    public var meta: [String: String]?
    /// Delay between deregistering services and killing tasks (Nomad sends `null` when unset).
    public var shutdownDelay: NomadDuration?
    public var stopAfterClientDisconnect: NomadDuration?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        name: String? = nil,
        count: Int? = nil,
        tasks: [NomadTask]? = nil,
        constraints: [Constraint]? = nil,
        affinities: [Affinity]? = nil,
        spreads: [Spread]? = nil,
        restartPolicy: RestartPolicy? = nil,
        reschedulePolicy: ReschedulePolicy? = nil,
        ephemeralDisk: EphemeralDisk? = nil,
        networks: [NetworkResource]? = nil,
        volumes: [String: VolumeRequest]? = nil,
        update: UpdateStrategy? = nil,
        meta: [String: String]? = nil,
        shutdownDelay: NomadDuration? = nil,
        stopAfterClientDisconnect: NomadDuration? = nil
    ) {
        self.name = name
        self.count = count
        self.tasks = tasks
        self.constraints = constraints
        self.affinities = affinities
        self.spreads = spreads
        self.restartPolicy = restartPolicy
        self.reschedulePolicy = reschedulePolicy
        self.ephemeralDisk = ephemeralDisk
        self.networks = networks
        self.volumes = volumes
        self.update = update
        self.meta = meta
        self.shutdownDelay = shutdownDelay
        self.stopAfterClientDisconnect = stopAfterClientDisconnect
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name"
        case count = "Count"
        case tasks = "Tasks"
        case constraints = "Constraints"
        case affinities = "Affinities"
        case spreads = "Spreads"
        case restartPolicy = "RestartPolicy"
        case reschedulePolicy = "ReschedulePolicy"
        case ephemeralDisk = "EphemeralDisk"
        case networks = "Networks"
        case volumes = "Volumes"
        case update = "Update"
        case meta = "Meta"
        case shutdownDelay = "ShutdownDelay"
        case stopAfterClientDisconnect = "StopAfterClientDisconnect"
    }
}

/// What the client does once restart attempts are exhausted (`Mode`).
public struct RestartMode: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `delay`
    public static let delay: RestartMode = "delay"
    /// `fail`
    public static let fail: RestartMode = "fail"
}

/// How the client restarts a failed task in place; durations in nanoseconds.
public struct RestartPolicy: Codable, Hashable, Sendable {
    public var attempts: Int?
    public var interval: NomadDuration?
    public var delay: NomadDuration?
    public var mode: RestartMode?
    /// Nomad 1.6+.
    public var renderTemplates: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        attempts: Int? = nil,
        interval: NomadDuration? = nil,
        delay: NomadDuration? = nil,
        mode: RestartMode? = nil,
        renderTemplates: Bool? = nil
    ) {
        self.attempts = attempts
        self.interval = interval
        self.delay = delay
        self.mode = mode
        self.renderTemplates = renderTemplates
    }

    enum CodingKeys: String, CodingKey {
        case attempts = "Attempts"
        case interval = "Interval"
        case delay = "Delay"
        case mode = "Mode"
        case renderTemplates = "RenderTemplates"
    }
}

/// How the scheduler replaces a failed allocation on another node.
public struct ReschedulePolicy: Codable, Hashable, Sendable {
    public var attempts: Int?
    public var interval: NomadDuration?
    public var delay: NomadDuration?
    public var delayFunction: String?
    public var maxDelay: NomadDuration?
    public var unlimited: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        attempts: Int? = nil,
        interval: NomadDuration? = nil,
        delay: NomadDuration? = nil,
        delayFunction: String? = nil,
        maxDelay: NomadDuration? = nil,
        unlimited: Bool? = nil
    ) {
        self.attempts = attempts
        self.interval = interval
        self.delay = delay
        self.delayFunction = delayFunction
        self.maxDelay = maxDelay
        self.unlimited = unlimited
    }

    enum CodingKeys: String, CodingKey {
        case attempts = "Attempts"
        case interval = "Interval"
        case delay = "Delay"
        case delayFunction = "DelayFunction"
        case maxDelay = "MaxDelay"
        case unlimited = "Unlimited"
    }
}

/// The allocation's scratch disk.
public struct EphemeralDisk: Codable, Hashable, Sendable {
    public var sticky: Bool?
    public var migrate: Bool?
    public var sizeMB: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        sticky: Bool? = nil,
        migrate: Bool? = nil,
        sizeMB: Int? = nil
    ) {
        self.sticky = sticky
        self.migrate = migrate
        self.sizeMB = sizeMB
    }

    enum CodingKeys: String, CodingKey {
        case sticky = "Sticky"
        case migrate = "Migrate"
        case sizeMB = "SizeMB"
    }
}

/// A reserved (static) or dynamic port.
public struct Port: Codable, Hashable, Sendable {
    public var label: String?
    /// The host port; 0 for a dynamic port not yet allocated.
    public var value: Int?
    /// The port inside the network namespace (-1: same as Value).
    public var to: Int?
    public var hostNetwork: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        label: String? = nil,
        value: Int? = nil,
        to: Int? = nil,
        hostNetwork: String? = nil
    ) {
        self.label = label
        self.value = value
        self.to = to
        self.hostNetwork = hostNetwork
    }

    enum CodingKeys: String, CodingKey {
        case label = "Label"
        case value = "Value"
        case to = "To"
        case hostNetwork = "HostNetwork"
    }
}

/// A network ask (in a job) or an allocated network (in an allocation or node).
public struct NetworkResource: Codable, Hashable, Sendable {
    public var mode: String?
    public var device: String?
    public var cidr: String?
    public var ip: String?
    public var mBits: Int?
    public var dns: DNSConfig?
    public var reservedPorts: [Port]?
    public var dynamicPorts: [Port]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        mode: String? = nil,
        device: String? = nil,
        cidr: String? = nil,
        ip: String? = nil,
        mBits: Int? = nil,
        dns: DNSConfig? = nil,
        reservedPorts: [Port]? = nil,
        dynamicPorts: [Port]? = nil
    ) {
        self.mode = mode
        self.device = device
        self.cidr = cidr
        self.ip = ip
        self.mBits = mBits
        self.dns = dns
        self.reservedPorts = reservedPorts
        self.dynamicPorts = dynamicPorts
    }

    enum CodingKeys: String, CodingKey {
        case mode = "Mode"
        case device = "Device"
        case cidr = "CIDR"
        case ip = "IP"
        case mBits = "MBits"
        case dns = "DNS"
        case reservedPorts = "ReservedPorts"
        case dynamicPorts = "DynamicPorts"
    }
}

/// DNS settings of a bridge-mode network.
public struct DNSConfig: Codable, Hashable, Sendable {
    public var servers: [String]?
    public var searches: [String]?
    public var options: [String]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        servers: [String]? = nil,
        searches: [String]? = nil,
        options: [String]? = nil
    ) {
        self.servers = servers
        self.searches = searches
        self.options = options
    }

    enum CodingKeys: String, CodingKey {
        case servers = "Servers"
        case searches = "Searches"
        case options = "Options"
    }
}

/// A volume a task group claims (host or CSI).
public struct VolumeRequest: Codable, Hashable, Sendable {
    public var name: String?
    public var type: String?
    public var source: String?
    public var readOnly: Bool?
    public var accessMode: String?
    public var attachmentMode: String?
    public var perAlloc: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        name: String? = nil,
        type: String? = nil,
        source: String? = nil,
        readOnly: Bool? = nil,
        accessMode: String? = nil,
        attachmentMode: String? = nil,
        perAlloc: Bool? = nil
    ) {
        self.name = name
        self.type = type
        self.source = source
        self.readOnly = readOnly
        self.accessMode = accessMode
        self.attachmentMode = attachmentMode
        self.perAlloc = perAlloc
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name"
        case type = "Type"
        case source = "Source"
        case readOnly = "ReadOnly"
        case accessMode = "AccessMode"
        case attachmentMode = "AttachmentMode"
        case perAlloc = "PerAlloc"
    }
}

/// Mounts a group volume into a task.
public struct NomadVolumeMount: Codable, Hashable, Sendable {
    public var volume: String?
    public var destination: String?
    public var readOnly: Bool?
    public var propagationMode: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        volume: String? = nil,
        destination: String? = nil,
        readOnly: Bool? = nil,
        propagationMode: String? = nil
    ) {
        self.volume = volume
        self.destination = destination
        self.readOnly = readOnly
        self.propagationMode = propagationMode
    }

    enum CodingKeys: String, CodingKey {
        case volume = "Volume"
        case destination = "Destination"
        case readOnly = "ReadOnly"
        case propagationMode = "PropagationMode"
    }
}

/// When a lifecycle task runs relative to the main tasks.
public struct LifecycleHook: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `prestart`
    public static let prestart: LifecycleHook = "prestart"
    /// `poststart`
    public static let poststart: LifecycleHook = "poststart"
    /// `poststop`
    public static let poststop: LifecycleHook = "poststop"
}

/// Marks a task as a prestart/poststart/poststop hook; `Sidecar` keeps it running.
public struct TaskLifecycle: Codable, Hashable, Sendable {
    public var hook: LifecycleHook?
    public var sidecar: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        hook: LifecycleHook? = nil,
        sidecar: Bool? = nil
    ) {
        self.hook = hook
        self.sidecar = sidecar
    }

    enum CodingKeys: String, CodingKey {
        case hook = "Hook"
        case sidecar = "Sidecar"
    }
}

/// A task's resource ask; CPU in MHz, memory in MB.
public struct Resources: Codable, Hashable, Sendable {
    public var cpu: Int?
    /// Reserved whole cores (Nomad 1.1+).
    public var cores: Int?
    public var memoryMB: Int?
    /// Memory oversubscription limit (Nomad 1.1+).
    public var memoryMaxMB: Int?
    public var diskMB: Int?
    public var iops: Int?
    public var networks: [NetworkResource]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpu: Int? = nil,
        cores: Int? = nil,
        memoryMB: Int? = nil,
        memoryMaxMB: Int? = nil,
        diskMB: Int? = nil,
        iops: Int? = nil,
        networks: [NetworkResource]? = nil
    ) {
        self.cpu = cpu
        self.cores = cores
        self.memoryMB = memoryMB
        self.memoryMaxMB = memoryMaxMB
        self.diskMB = diskMB
        self.iops = iops
        self.networks = networks
    }

    enum CodingKeys: String, CodingKey {
        case cpu = "CPU"
        case cores = "Cores"
        case memoryMB = "MemoryMB"
        case memoryMaxMB = "MemoryMaxMB"
        case diskMB = "DiskMB"
        case iops = "IOPS"
        case networks = "Networks"
    }
}

/// Log rotation of a task's stdout/stderr files.
public struct LogConfig: Codable, Hashable, Sendable {
    public var maxFiles: Int?
    public var maxFileSizeMB: Int?
    /// Nomad 1.7+.
    public var disabled: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        maxFiles: Int? = nil,
        maxFileSizeMB: Int? = nil,
        disabled: Bool? = nil
    ) {
        self.maxFiles = maxFiles
        self.maxFileSizeMB = maxFileSizeMB
        self.disabled = disabled
    }

    enum CodingKeys: String, CodingKey {
        case maxFiles = "MaxFiles"
        case maxFileSizeMB = "MaxFileSizeMB"
        case disabled = "Disabled"
    }
}

/// A file the client downloads before starting the task (go-getter).
public struct TaskArtifact: Codable, Hashable, Sendable {
    public var getterSource: String?
    /// e.g. `checksum`: `sha256:...`.
    public var getterOptions: [String: String]?
    public var getterHeaders: [String: String]?
    /// `any`, `file` or `dir`.
    public var getterMode: String?
    public var relativeDest: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        getterSource: String? = nil,
        getterOptions: [String: String]? = nil,
        getterHeaders: [String: String]? = nil,
        getterMode: String? = nil,
        relativeDest: String? = nil
    ) {
        self.getterSource = getterSource
        self.getterOptions = getterOptions
        self.getterHeaders = getterHeaders
        self.getterMode = getterMode
        self.relativeDest = relativeDest
    }

    enum CodingKeys: String, CodingKey {
        case getterSource = "GetterSource"
        case getterOptions = "GetterOptions"
        case getterHeaders = "GetterHeaders"
        case getterMode = "GetterMode"
        case relativeDest = "RelativeDest"
    }
}

/// A file rendered into the task directory (consul-template syntax).
public struct Template: Codable, Hashable, Sendable {
    public var sourcePath: String?
    public var destPath: String?
    public var embeddedTmpl: String?
    /// `noop`, `restart`, `signal` (or `script` from 1.5).
    public var changeMode: String?
    public var changeSignal: String?
    public var splay: NomadDuration?
    /// Octal permission string, e.g. `"0644"`.
    public var perms: String?
    /// File owner (Nomad 1.5+).
    public var uid: Int?
    /// File group (Nomad 1.5+).
    public var gid: Int?
    public var leftDelim: String?
    public var rightDelim: String?
    public var envvars: Bool?
    public var vaultGrace: NomadDuration?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        sourcePath: String? = nil,
        destPath: String? = nil,
        embeddedTmpl: String? = nil,
        changeMode: String? = nil,
        changeSignal: String? = nil,
        splay: NomadDuration? = nil,
        perms: String? = nil,
        uid: Int? = nil,
        gid: Int? = nil,
        leftDelim: String? = nil,
        rightDelim: String? = nil,
        envvars: Bool? = nil,
        vaultGrace: NomadDuration? = nil
    ) {
        self.sourcePath = sourcePath
        self.destPath = destPath
        self.embeddedTmpl = embeddedTmpl
        self.changeMode = changeMode
        self.changeSignal = changeSignal
        self.splay = splay
        self.perms = perms
        self.uid = uid
        self.gid = gid
        self.leftDelim = leftDelim
        self.rightDelim = rightDelim
        self.envvars = envvars
        self.vaultGrace = vaultGrace
    }

    enum CodingKeys: String, CodingKey {
        case sourcePath = "SourcePath"
        case destPath = "DestPath"
        case embeddedTmpl = "EmbeddedTmpl"
        case changeMode = "ChangeMode"
        case changeSignal = "ChangeSignal"
        case splay = "Splay"
        case perms = "Perms"
        case uid = "Uid"
        case gid = "Gid"
        case leftDelim = "LeftDelim"
        case rightDelim = "RightDelim"
        case envvars = "Envvars"
        case vaultGrace = "VaultGrace"
    }
}

/// A task: one process started by a driver.
public struct NomadTask: Codable, Hashable, Sendable {
    public var name: String?
    public var driver: String?
    public var user: String?
    public var config: TaskConfig?
    public var env: [String: String]?
    public var resources: Resources?
    public var lifecycle: TaskLifecycle?
    public var artifacts: [TaskArtifact]?
    public var templates: [Template]?
    public var volumeMounts: [NomadVolumeMount]?
    public var constraints: [Constraint]?
    public var affinities: [Affinity]?
    /// Per-task restart policy (Nomad 1.5+; older servers copy the group's).
    public var restartPolicy: RestartPolicy?
    /// Time between KillSignal and SIGKILL, in nanoseconds on the wire.
    public var killTimeout: NomadDuration?
    public var killSignal: String?
    public var shutdownDelay: NomadDuration?
    public var logConfig: LogConfig?
    public var meta: [String: String]?
    public var leader: Bool?
    public var kind: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        name: String? = nil,
        driver: String? = nil,
        user: String? = nil,
        config: TaskConfig? = nil,
        env: [String: String]? = nil,
        resources: Resources? = nil,
        lifecycle: TaskLifecycle? = nil,
        artifacts: [TaskArtifact]? = nil,
        templates: [Template]? = nil,
        volumeMounts: [NomadVolumeMount]? = nil,
        constraints: [Constraint]? = nil,
        affinities: [Affinity]? = nil,
        restartPolicy: RestartPolicy? = nil,
        killTimeout: NomadDuration? = nil,
        killSignal: String? = nil,
        shutdownDelay: NomadDuration? = nil,
        logConfig: LogConfig? = nil,
        meta: [String: String]? = nil,
        leader: Bool? = nil,
        kind: String? = nil
    ) {
        self.name = name
        self.driver = driver
        self.user = user
        self.config = config
        self.env = env
        self.resources = resources
        self.lifecycle = lifecycle
        self.artifacts = artifacts
        self.templates = templates
        self.volumeMounts = volumeMounts
        self.constraints = constraints
        self.affinities = affinities
        self.restartPolicy = restartPolicy
        self.killTimeout = killTimeout
        self.killSignal = killSignal
        self.shutdownDelay = shutdownDelay
        self.logConfig = logConfig
        self.meta = meta
        self.leader = leader
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name"
        case driver = "Driver"
        case user = "User"
        case config = "Config"
        case env = "Env"
        case resources = "Resources"
        case lifecycle = "Lifecycle"
        case artifacts = "Artifacts"
        case templates = "Templates"
        case volumeMounts = "VolumeMounts"
        case constraints = "Constraints"
        case affinities = "Affinities"
        case restartPolicy = "RestartPolicy"
        case killTimeout = "KillTimeout"
        case killSignal = "KillSignal"
        case shutdownDelay = "ShutdownDelay"
        case logConfig = "LogConfig"
        case meta = "Meta"
        case leader = "Leader"
        case kind = "Kind"
    }
}

/// The body of `POST /v1/jobs`: a job, optionally guarded by EnforceIndex.
public struct JobRegisterRequest: Codable, Hashable, Sendable {
    public var job: Job?
    /// Register only if the job's current `JobModifyIndex` equals `JobModifyIndex` (0: the job must not exist).
    public var enforceIndex: Bool?
    public var jobModifyIndex: UInt64?
    public var preserveCounts: Bool?
    public var policyOverride: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        job: Job? = nil,
        enforceIndex: Bool? = nil,
        jobModifyIndex: UInt64? = nil,
        preserveCounts: Bool? = nil,
        policyOverride: Bool? = nil
    ) {
        self.job = job
        self.enforceIndex = enforceIndex
        self.jobModifyIndex = jobModifyIndex
        self.preserveCounts = preserveCounts
        self.policyOverride = policyOverride
    }

    enum CodingKeys: String, CodingKey {
        case job = "Job"
        case enforceIndex = "EnforceIndex"
        case jobModifyIndex = "JobModifyIndex"
        case preserveCounts = "PreserveCounts"
        case policyOverride = "PolicyOverride"
    }
}

/// What `POST /v1/jobs` and `DELETE /v1/job/:id` answer.
public struct JobRegisterResponse: Codable, Hashable, Sendable {
    public var evalID: String?
    public var evalCreateIndex: UInt64?
    public var jobModifyIndex: UInt64?
    public var index: UInt64?
    public var warnings: String?
    public var knownLeader: Bool?
    public var lastContact: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        evalID: String? = nil,
        evalCreateIndex: UInt64? = nil,
        jobModifyIndex: UInt64? = nil,
        index: UInt64? = nil,
        warnings: String? = nil,
        knownLeader: Bool? = nil,
        lastContact: Int? = nil
    ) {
        self.evalID = evalID
        self.evalCreateIndex = evalCreateIndex
        self.jobModifyIndex = jobModifyIndex
        self.index = index
        self.warnings = warnings
        self.knownLeader = knownLeader
        self.lastContact = lastContact
    }

    enum CodingKeys: String, CodingKey {
        case evalID = "EvalID"
        case evalCreateIndex = "EvalCreateIndex"
        case jobModifyIndex = "JobModifyIndex"
        case index = "Index"
        case warnings = "Warnings"
        case knownLeader = "KnownLeader"
        case lastContact = "LastContact"
    }
}

/// The body of `PUT /v1/validate/job`.
public struct JobValidateRequest: Codable, Hashable, Sendable {
    public var job: Job?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        job: Job? = nil
    ) {
        self.job = job
    }

    enum CodingKeys: String, CodingKey {
        case job = "Job"
    }
}

/// What `PUT /v1/validate/job` answers: validation errors as text.
public struct JobValidateResponse: Codable, Hashable, Sendable {
    public var driverConfigValidated: Bool?
    public var validationErrors: [String]?
    public var error: String?
    public var warnings: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        driverConfigValidated: Bool? = nil,
        validationErrors: [String]? = nil,
        error: String? = nil,
        warnings: String? = nil
    ) {
        self.driverConfigValidated = driverConfigValidated
        self.validationErrors = validationErrors
        self.error = error
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey {
        case driverConfigValidated = "DriverConfigValidated"
        case validationErrors = "ValidationErrors"
        case error = "Error"
        case warnings = "Warnings"
    }
}

/// Allocation counts of one task group, by client status.
public struct TaskGroupSummary: Codable, Hashable, Sendable {
    public var queued: Int?
    public var complete: Int?
    public var failed: Int?
    public var running: Int?
    public var starting: Int?
    public var lost: Int?
    /// Nomad 1.3+ (disconnected clients).
    public var unknown: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        queued: Int? = nil,
        complete: Int? = nil,
        failed: Int? = nil,
        running: Int? = nil,
        starting: Int? = nil,
        lost: Int? = nil,
        unknown: Int? = nil
    ) {
        self.queued = queued
        self.complete = complete
        self.failed = failed
        self.running = running
        self.starting = starting
        self.lost = lost
        self.unknown = unknown
    }

    enum CodingKeys: String, CodingKey {
        case queued = "Queued"
        case complete = "Complete"
        case failed = "Failed"
        case running = "Running"
        case starting = "Starting"
        case lost = "Lost"
        case unknown = "Unknown"
    }
}

/// Counts of a parameterized or periodic job's children.
public struct JobChildrenSummary: Codable, Hashable, Sendable {
    public var pending: Int?
    public var running: Int?
    public var dead: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        pending: Int? = nil,
        running: Int? = nil,
        dead: Int? = nil
    ) {
        self.pending = pending
        self.running = running
        self.dead = dead
    }

    enum CodingKeys: String, CodingKey {
        case pending = "Pending"
        case running = "Running"
        case dead = "Dead"
    }
}

/// `GET /v1/job/:id/summary`.
public struct JobSummary: Codable, Hashable, Sendable {
    public var jobID: String?
    public var namespace: String?
    public var summary: [String: TaskGroupSummary]?
    public var children: JobChildrenSummary?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        jobID: String? = nil,
        namespace: String? = nil,
        summary: [String: TaskGroupSummary]? = nil,
        children: JobChildrenSummary? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil
    ) {
        self.jobID = jobID
        self.namespace = namespace
        self.summary = summary
        self.children = children
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "JobID"
        case namespace = "Namespace"
        case summary = "Summary"
        case children = "Children"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
    }
}

/// One job in `GET /v1/jobs`.
public struct JobListStub: Codable, Hashable, Sendable {
    public var id: String?
    public var parentID: String?
    public var name: String?
    public var namespace: String?
    public var datacenters: [String]?
    /// Nomad 1.6+.
    public var nodePool: String?
    public var type: JobType?
    public var priority: Int?
    public var periodic: Bool?
    public var parameterizedJob: Bool?
    public var stop: Bool?
    public var status: String?
    public var statusDescription: String?
    public var jobSummary: JobSummary?
    /// Included by Nomad 1.5+ only when requested with `meta=true`.
    public var meta: [String: String]?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var jobModifyIndex: UInt64?
    public var submitTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        parentID: String? = nil,
        name: String? = nil,
        namespace: String? = nil,
        datacenters: [String]? = nil,
        nodePool: String? = nil,
        type: JobType? = nil,
        priority: Int? = nil,
        periodic: Bool? = nil,
        parameterizedJob: Bool? = nil,
        stop: Bool? = nil,
        status: String? = nil,
        statusDescription: String? = nil,
        jobSummary: JobSummary? = nil,
        meta: [String: String]? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        jobModifyIndex: UInt64? = nil,
        submitTime: Int64? = nil
    ) {
        self.id = id
        self.parentID = parentID
        self.name = name
        self.namespace = namespace
        self.datacenters = datacenters
        self.nodePool = nodePool
        self.type = type
        self.priority = priority
        self.periodic = periodic
        self.parameterizedJob = parameterizedJob
        self.stop = stop
        self.status = status
        self.statusDescription = statusDescription
        self.jobSummary = jobSummary
        self.meta = meta
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.jobModifyIndex = jobModifyIndex
        self.submitTime = submitTime
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case parentID = "ParentID"
        case name = "Name"
        case namespace = "Namespace"
        case datacenters = "Datacenters"
        case nodePool = "NodePool"
        case type = "Type"
        case priority = "Priority"
        case periodic = "Periodic"
        case parameterizedJob = "ParameterizedJob"
        case stop = "Stop"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case jobSummary = "JobSummary"
        case meta = "Meta"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case jobModifyIndex = "JobModifyIndex"
        case submitTime = "SubmitTime"
    }
}

