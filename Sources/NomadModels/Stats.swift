// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// CPU usage of a task, process or allocation.
public struct CPUStats: Codable, Hashable, Sendable {
    public var systemMode: Double?
    public var userMode: Double?
    public var totalTicks: Double?
    public var throttledPeriods: UInt64?
    public var throttledTime: UInt64?
    public var percent: Double?
    public var measured: [String]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        systemMode: Double? = nil,
        userMode: Double? = nil,
        totalTicks: Double? = nil,
        throttledPeriods: UInt64? = nil,
        throttledTime: UInt64? = nil,
        percent: Double? = nil,
        measured: [String]? = nil
    ) {
        self.systemMode = systemMode
        self.userMode = userMode
        self.totalTicks = totalTicks
        self.throttledPeriods = throttledPeriods
        self.throttledTime = throttledTime
        self.percent = percent
        self.measured = measured
    }

    enum CodingKeys: String, CodingKey {
        case systemMode = "SystemMode"
        case userMode = "UserMode"
        case totalTicks = "TotalTicks"
        case throttledPeriods = "ThrottledPeriods"
        case throttledTime = "ThrottledTime"
        case percent = "Percent"
        case measured = "Measured"
    }
}

/// Memory usage of a task, process or allocation (bytes).
public struct MemoryStats: Codable, Hashable, Sendable {
    public var rss: UInt64?
    public var cache: UInt64?
    public var swap: UInt64?
    public var usage: UInt64?
    public var maxUsage: UInt64?
    public var kernelUsage: UInt64?
    public var kernelMaxUsage: UInt64?
    public var measured: [String]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        rss: UInt64? = nil,
        cache: UInt64? = nil,
        swap: UInt64? = nil,
        usage: UInt64? = nil,
        maxUsage: UInt64? = nil,
        kernelUsage: UInt64? = nil,
        kernelMaxUsage: UInt64? = nil,
        measured: [String]? = nil
    ) {
        self.rss = rss
        self.cache = cache
        self.swap = swap
        self.usage = usage
        self.maxUsage = maxUsage
        self.kernelUsage = kernelUsage
        self.kernelMaxUsage = kernelMaxUsage
        self.measured = measured
    }

    enum CodingKeys: String, CodingKey {
        case rss = "RSS"
        case cache = "Cache"
        case swap = "Swap"
        case usage = "Usage"
        case maxUsage = "MaxUsage"
        case kernelUsage = "KernelUsage"
        case kernelMaxUsage = "KernelMaxUsage"
        case measured = "Measured"
    }
}

/// CPU and memory usage.
public struct ResourceUsage: Codable, Hashable, Sendable {
    public var cpuStats: CPUStats?
    public var memoryStats: MemoryStats?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpuStats: CPUStats? = nil,
        memoryStats: MemoryStats? = nil
    ) {
        self.cpuStats = cpuStats
        self.memoryStats = memoryStats
    }

    enum CodingKeys: String, CodingKey {
        case cpuStats = "CpuStats"
        case memoryStats = "MemoryStats"
    }
}

/// Usage of one task and of each of its processes (keyed by pid).
public struct TaskResourceUsage: Codable, Hashable, Sendable {
    public var resourceUsage: ResourceUsage?
    public var pids: [String: ResourceUsage]?
    public var timestamp: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        resourceUsage: ResourceUsage? = nil,
        pids: [String: ResourceUsage]? = nil,
        timestamp: Int64? = nil
    ) {
        self.resourceUsage = resourceUsage
        self.pids = pids
        self.timestamp = timestamp
    }

    enum CodingKeys: String, CodingKey {
        case resourceUsage = "ResourceUsage"
        case pids = "Pids"
        case timestamp = "Timestamp"
    }
}

/// `GET /v1/client/allocation/:id/stats`.
public struct AllocResourceUsage: Codable, Hashable, Sendable {
    public var resourceUsage: ResourceUsage?
    public var tasks: [String: TaskResourceUsage]?
    public var timestamp: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        resourceUsage: ResourceUsage? = nil,
        tasks: [String: TaskResourceUsage]? = nil,
        timestamp: Int64? = nil
    ) {
        self.resourceUsage = resourceUsage
        self.tasks = tasks
        self.timestamp = timestamp
    }

    enum CodingKeys: String, CodingKey {
        case resourceUsage = "ResourceUsage"
        case tasks = "Tasks"
        case timestamp = "Timestamp"
    }
}

/// One host CPU's usage, in percent.
public struct HostCPUStats: Codable, Hashable, Sendable {
    public var cpu: String?
    public var user: Double?
    public var system: Double?
    public var idle: Double?
    public var total: Double?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        cpu: String? = nil,
        user: Double? = nil,
        system: Double? = nil,
        idle: Double? = nil,
        total: Double? = nil
    ) {
        self.cpu = cpu
        self.user = user
        self.system = system
        self.idle = idle
        self.total = total
    }

    enum CodingKeys: String, CodingKey {
        case cpu = "CPU"
        case user = "User"
        case system = "System"
        case idle = "Idle"
        case total = "Total"
    }
}

/// Host memory (bytes).
public struct HostMemoryStats: Codable, Hashable, Sendable {
    public var total: UInt64?
    public var available: UInt64?
    public var used: UInt64?
    public var free: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        total: UInt64? = nil,
        available: UInt64? = nil,
        used: UInt64? = nil,
        free: UInt64? = nil
    ) {
        self.total = total
        self.available = available
        self.used = used
        self.free = free
    }

    enum CodingKeys: String, CodingKey {
        case total = "Total"
        case available = "Available"
        case used = "Used"
        case free = "Free"
    }
}

/// One filesystem's usage.
public struct HostDiskStats: Codable, Hashable, Sendable {
    public var device: String?
    public var mountpoint: String?
    public var size: UInt64?
    public var used: UInt64?
    public var available: UInt64?
    public var usedPercent: Double?
    public var inodesUsedPercent: Double?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        device: String? = nil,
        mountpoint: String? = nil,
        size: UInt64? = nil,
        used: UInt64? = nil,
        available: UInt64? = nil,
        usedPercent: Double? = nil,
        inodesUsedPercent: Double? = nil
    ) {
        self.device = device
        self.mountpoint = mountpoint
        self.size = size
        self.used = used
        self.available = available
        self.usedPercent = usedPercent
        self.inodesUsedPercent = inodesUsedPercent
    }

    enum CodingKeys: String, CodingKey {
        case device = "Device"
        case mountpoint = "Mountpoint"
        case size = "Size"
        case used = "Used"
        case available = "Available"
        case usedPercent = "UsedPercent"
        case inodesUsedPercent = "InodesUsedPercent"
    }
}

/// `GET /v1/client/stats`.
public struct HostStats: Codable, Hashable, Sendable {
    public var memory: HostMemoryStats?
    public var cpu: [HostCPUStats]?
    public var diskStats: [HostDiskStats]?
    public var allocDirStats: HostDiskStats?
    public var uptime: UInt64?
    public var cpuTicksConsumed: Double?
    public var timestamp: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        memory: HostMemoryStats? = nil,
        cpu: [HostCPUStats]? = nil,
        diskStats: [HostDiskStats]? = nil,
        allocDirStats: HostDiskStats? = nil,
        uptime: UInt64? = nil,
        cpuTicksConsumed: Double? = nil,
        timestamp: Int64? = nil
    ) {
        self.memory = memory
        self.cpu = cpu
        self.diskStats = diskStats
        self.allocDirStats = allocDirStats
        self.uptime = uptime
        self.cpuTicksConsumed = cpuTicksConsumed
        self.timestamp = timestamp
    }

    enum CodingKeys: String, CodingKey {
        case memory = "Memory"
        case cpu = "CPU"
        case diskStats = "DiskStats"
        case allocDirStats = "AllocDirStats"
        case uptime = "Uptime"
        case cpuTicksConsumed = "CPUTicksConsumed"
        case timestamp = "Timestamp"
    }
}

