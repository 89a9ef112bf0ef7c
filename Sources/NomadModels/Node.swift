// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// A task driver as fingerprinted on a node.
public struct DriverInfo: Codable, Hashable, Sendable {
    public var attributes: [String: String]?
    public var detected: Bool?
    public var healthy: Bool?
    public var healthDescription: String?
    public var updateTime: NomadTime?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        attributes: [String: String]? = nil,
        detected: Bool? = nil,
        healthy: Bool? = nil,
        healthDescription: String? = nil,
        updateTime: NomadTime? = nil
    ) {
        self.attributes = attributes
        self.detected = detected
        self.healthy = healthy
        self.healthDescription = healthDescription
        self.updateTime = updateTime
    }

    enum CodingKeys: String, CodingKey {
        case attributes = "Attributes"
        case detected = "Detected"
        case healthy = "Healthy"
        case healthDescription = "HealthDescription"
        case updateTime = "UpdateTime"
    }
}

/// A node drain request.
public struct DrainSpec: Codable, Hashable, Sendable {
    public var deadline: NomadDuration?
    public var ignoreSystemJobs: Bool?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        deadline: NomadDuration? = nil,
        ignoreSystemJobs: Bool? = nil
    ) {
        self.deadline = deadline
        self.ignoreSystemJobs = ignoreSystemJobs
    }

    enum CodingKeys: String, CodingKey {
        case deadline = "Deadline"
        case ignoreSystemJobs = "IgnoreSystemJobs"
    }
}

/// A node's active drain.
public struct DrainStrategy: Codable, Hashable, Sendable {
    public var drainSpec: DrainSpec?
    public var forceDeadline: NomadTime?
    public var startedAt: NomadTime?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        drainSpec: DrainSpec? = nil,
        forceDeadline: NomadTime? = nil,
        startedAt: NomadTime? = nil
    ) {
        self.drainSpec = drainSpec
        self.forceDeadline = forceDeadline
        self.startedAt = startedAt
    }

    enum CodingKeys: String, CodingKey {
        case drainSpec = "DrainSpec"
        case forceDeadline = "ForceDeadline"
        case startedAt = "StartedAt"
    }
}

/// A node's CPU.
public struct NodeCPUResources: Codable, Hashable, Sendable {
    public var cpuShares: Int?
    public var totalCpuCores: Int?
    public var reservableCpuCores: [Int]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpuShares: Int? = nil,
        totalCpuCores: Int? = nil,
        reservableCpuCores: [Int]? = nil
    ) {
        self.cpuShares = cpuShares
        self.totalCpuCores = totalCpuCores
        self.reservableCpuCores = reservableCpuCores
    }

    enum CodingKeys: String, CodingKey {
        case cpuShares = "CpuShares"
        case totalCpuCores = "TotalCpuCores"
        case reservableCpuCores = "ReservableCpuCores"
    }
}

/// A node's memory.
public struct NodeMemoryResources: Codable, Hashable, Sendable {
    public var memoryMB: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        memoryMB: Int? = nil
    ) {
        self.memoryMB = memoryMB
    }

    enum CodingKeys: String, CodingKey {
        case memoryMB = "MemoryMB"
    }
}

/// A node's disk.
public struct NodeDiskResources: Codable, Hashable, Sendable {
    public var diskMB: Int?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        diskMB: Int? = nil
    ) {
        self.diskMB = diskMB
    }

    enum CodingKeys: String, CodingKey {
        case diskMB = "DiskMB"
    }
}

/// A node's capacity (Nomad 0.9+ shape).
public struct NodeResources: Codable, Hashable, Sendable {
    public var cpu: NodeCPUResources?
    public var memory: NodeMemoryResources?
    public var disk: NodeDiskResources?
    public var networks: [NetworkResource]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpu: NodeCPUResources? = nil,
        memory: NodeMemoryResources? = nil,
        disk: NodeDiskResources? = nil,
        networks: [NetworkResource]? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.disk = disk
        self.networks = networks
    }

    enum CodingKeys: String, CodingKey {
        case cpu = "Cpu"
        case memory = "Memory"
        case disk = "Disk"
        case networks = "Networks"
    }
}

/// CPU reserved away from allocations.
public struct NodeReservedCPUResources: Codable, Hashable, Sendable {
    public var cpuShares: Int?
    public var reservedCpuCores: [Int]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpuShares: Int? = nil,
        reservedCpuCores: [Int]? = nil
    ) {
        self.cpuShares = cpuShares
        self.reservedCpuCores = reservedCpuCores
    }

    enum CodingKeys: String, CodingKey {
        case cpuShares = "CpuShares"
        case reservedCpuCores = "ReservedCpuCores"
    }
}

/// Host ports reserved away from allocations.
public struct NodeReservedNetworkResources: Codable, Hashable, Sendable {
    public var reservedHostPorts: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        reservedHostPorts: String? = nil
    ) {
        self.reservedHostPorts = reservedHostPorts
    }

    enum CodingKeys: String, CodingKey {
        case reservedHostPorts = "ReservedHostPorts"
    }
}

/// Resources a node keeps for itself.
public struct NodeReservedResources: Codable, Hashable, Sendable {
    public var cpu: NodeReservedCPUResources?
    public var memory: NodeMemoryResources?
    public var disk: NodeDiskResources?
    public var networks: NodeReservedNetworkResources?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpu: NodeReservedCPUResources? = nil,
        memory: NodeMemoryResources? = nil,
        disk: NodeDiskResources? = nil,
        networks: NodeReservedNetworkResources? = nil
    ) {
        self.cpu = cpu
        self.memory = memory
        self.disk = disk
        self.networks = networks
    }

    enum CodingKeys: String, CodingKey {
        case cpu = "Cpu"
        case memory = "Memory"
        case disk = "Disk"
        case networks = "Networks"
    }
}

/// A node's history entry (registered, drain, heartbeat missed...).
public struct NodeEvent: Codable, Hashable, Sendable {
    public var message: String?
    public var subsystem: String?
    public var details: [String: String]?
    public var timestamp: NomadTime?
    public var createIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        message: String? = nil,
        subsystem: String? = nil,
        details: [String: String]? = nil,
        timestamp: NomadTime? = nil,
        createIndex: UInt64? = nil
    ) {
        self.message = message
        self.subsystem = subsystem
        self.details = details
        self.timestamp = timestamp
        self.createIndex = createIndex
    }

    enum CodingKeys: String, CodingKey {
        case message = "Message"
        case subsystem = "Subsystem"
        case details = "Details"
        case timestamp = "Timestamp"
        case createIndex = "CreateIndex"
    }
}

/// A client node's status.
public struct NomadNodeStatus: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `initializing`
    public static let initializing: NomadNodeStatus = "initializing"
    /// `ready`
    public static let ready: NomadNodeStatus = "ready"
    /// `down`
    public static let down: NomadNodeStatus = "down"
    /// `disconnected`
    public static let disconnected: NomadNodeStatus = "disconnected"
}

/// `GET /v1/node/:id`: a client node.
public struct NomadNode: Codable, Hashable, Sendable {
    public var id: String?
    public var name: String?
    public var datacenter: String?
    public var nodeClass: String?
    /// Nomad 1.6+.
    public var nodePool: String?
    public var computedClass: String?
    /// Nomad 1.1 lists it in stubs only.
    public var address: String?
    public var httpAddr: String?
    public var tlsEnabled: Bool?
    public var status: NomadNodeStatus?
    public var statusDescription: String?
    /// Seconds since the Unix epoch.
    public var statusUpdatedAt: Int64?
    /// `eligible` or `ineligible`.
    public var schedulingEligibility: String?
    /// Deprecated in 1.x in favour of DrainStrategy.
    public var drain: Bool?
    public var drainStrategy: DrainStrategy?
    public var drivers: [String: DriverInfo]?
    public var attributes: [String: String]?
    public var meta: [String: String]?
    public var nodeResources: NodeResources?
    public var reservedResources: NodeReservedResources?
    /// Legacy (pre-0.9) capacity, still sent by 1.x.
    public var resources: Resources?
    /// Legacy reserved resources.
    public var reserved: Resources?
    public var events: [NodeEvent]?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        name: String? = nil,
        datacenter: String? = nil,
        nodeClass: String? = nil,
        nodePool: String? = nil,
        computedClass: String? = nil,
        address: String? = nil,
        httpAddr: String? = nil,
        tlsEnabled: Bool? = nil,
        status: NomadNodeStatus? = nil,
        statusDescription: String? = nil,
        statusUpdatedAt: Int64? = nil,
        schedulingEligibility: String? = nil,
        drain: Bool? = nil,
        drainStrategy: DrainStrategy? = nil,
        drivers: [String: DriverInfo]? = nil,
        attributes: [String: String]? = nil,
        meta: [String: String]? = nil,
        nodeResources: NodeResources? = nil,
        reservedResources: NodeReservedResources? = nil,
        resources: Resources? = nil,
        reserved: Resources? = nil,
        events: [NodeEvent]? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil
    ) {
        self.id = id
        self.name = name
        self.datacenter = datacenter
        self.nodeClass = nodeClass
        self.nodePool = nodePool
        self.computedClass = computedClass
        self.address = address
        self.httpAddr = httpAddr
        self.tlsEnabled = tlsEnabled
        self.status = status
        self.statusDescription = statusDescription
        self.statusUpdatedAt = statusUpdatedAt
        self.schedulingEligibility = schedulingEligibility
        self.drain = drain
        self.drainStrategy = drainStrategy
        self.drivers = drivers
        self.attributes = attributes
        self.meta = meta
        self.nodeResources = nodeResources
        self.reservedResources = reservedResources
        self.resources = resources
        self.reserved = reserved
        self.events = events
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case name = "Name"
        case datacenter = "Datacenter"
        case nodeClass = "NodeClass"
        case nodePool = "NodePool"
        case computedClass = "ComputedClass"
        case address = "Address"
        case httpAddr = "HTTPAddr"
        case tlsEnabled = "TLSEnabled"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case statusUpdatedAt = "StatusUpdatedAt"
        case schedulingEligibility = "SchedulingEligibility"
        case drain = "Drain"
        case drainStrategy = "DrainStrategy"
        case drivers = "Drivers"
        case attributes = "Attributes"
        case meta = "Meta"
        case nodeResources = "NodeResources"
        case reservedResources = "ReservedResources"
        case resources = "Resources"
        case reserved = "Reserved"
        case events = "Events"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
    }
}

/// One node in `GET /v1/nodes`.
public struct NodeListStub: Codable, Hashable, Sendable {
    public var id: String?
    public var name: String?
    public var address: String?
    public var datacenter: String?
    public var nodeClass: String?
    /// Nomad 1.6+.
    public var nodePool: String?
    public var version: String?
    public var drain: Bool?
    public var schedulingEligibility: String?
    public var status: NomadNodeStatus?
    public var statusDescription: String?
    public var drivers: [String: DriverInfo]?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        name: String? = nil,
        address: String? = nil,
        datacenter: String? = nil,
        nodeClass: String? = nil,
        nodePool: String? = nil,
        version: String? = nil,
        drain: Bool? = nil,
        schedulingEligibility: String? = nil,
        status: NomadNodeStatus? = nil,
        statusDescription: String? = nil,
        drivers: [String: DriverInfo]? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil
    ) {
        self.id = id
        self.name = name
        self.address = address
        self.datacenter = datacenter
        self.nodeClass = nodeClass
        self.nodePool = nodePool
        self.version = version
        self.drain = drain
        self.schedulingEligibility = schedulingEligibility
        self.status = status
        self.statusDescription = statusDescription
        self.drivers = drivers
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case name = "Name"
        case address = "Address"
        case datacenter = "Datacenter"
        case nodeClass = "NodeClass"
        case nodePool = "NodePool"
        case version = "Version"
        case drain = "Drain"
        case schedulingEligibility = "SchedulingEligibility"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case drivers = "Drivers"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
    }
}

