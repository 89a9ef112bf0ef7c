/// The node configuration's knobs that shape the Nomad job built for a Pod. A plain value: the
/// agent fills it from its config file; the translator never reads files or the clock.
public struct TranslationPolicy: Sendable, Hashable {
    /// Nomad datacenters the job may run in (`Datacenters`).
    public var datacenters: [String]
    /// Nomad namespace of the jobs (`Namespace`).
    public var namespace: String
    /// Nomad region of the jobs (`Region`).
    public var region: String
    /// Nomad job priority, 1...100.
    public var priority: Int
    /// The Kubernetes Node name the agent registers; written to job Meta `k8s.node`.
    public var nodeName: String
    /// The task driver when the Pod names no RuntimeClass.
    public var defaultDriver: String
    /// RuntimeClass handler → Nomad driver. A Pod whose `runtimeClassName` resolves to a handler not in
    /// this map is refused. The agent resolves `runtimeClassName` to its handler before translating.
    public var driversByRuntimeHandler: [String: String]
    /// Nomad `CPU` MHz for one Kubernetes CPU (1000m). Nomad counts CPU in MHz of the client's cores;
    /// 1000 means "one CPU is one GHz of shares". Requests are converted as `ceil(milliCPU × this / 1000)`.
    public var cpuMHzPerCore: Int
    /// `CPU` MHz for a container without a CPU request or limit.
    public var defaultCPUMHz: Int
    /// `MemoryMB` for a container without a memory request or limit (Nomad's minimum is 10).
    public var defaultMemoryMB: Int
    /// Size of the allocation's scratch disk (`EphemeralDisk.SizeMB`) when no container requests
    /// `ephemeral-storage`; it must exceed each task's log storage.
    public var defaultEphemeralDiskMB: Int
    /// Rotated log files kept per task and stream (`LogConfig.MaxFiles`).
    public var logMaxFiles: Int
    /// Size of each log file (`LogConfig.MaxFileSizeMB`).
    public var logMaxFileSizeMB: Int
    /// In-place restarts Nomad makes within ``restartInterval`` before waiting for the interval to end
    /// (`RestartPolicy.Attempts`, mode `delay`), for restartPolicy Always and OnFailure.
    public var restartAttempts: Int
    /// `RestartPolicy.Delay`: the wait before each restart (Kubernetes starts its back-off at 10 s).
    public var restartDelay: Duration
    /// `RestartPolicy.Interval`; must be at least `restartAttempts × restartDelay` and 5 s.
    public var restartInterval: Duration
    /// The Unix user tasks run as (`Task.User`) when neither the PseudoImage nor the
    /// ``PodTranslator/userAnnotation`` names one: the configuration's `policy.defaultUser`
    /// (`nobody`). `nil` leaves it to the driver (raw_exec: the Nomad client's user, often root).
    public var taskUser: String?
    /// Kill timeout when the Pod sets no `terminationGracePeriodSeconds` (Kubernetes' default is 30 s).
    public var defaultTerminationGracePeriodSeconds: Int64
    /// Host directories under which `hostPath` volumes are allowed (`policy.hostPathRoots`); empty
    /// refuses every hostPath. Paths are checked lexically here and after resolving symlinks when the task starts.
    public var hostPathRoots: [String] = []
    /// `policy.allowPrivileged`: accept `privileged`, added capabilities, `allowPrivilegeEscalation`,
    /// `hostPID`/`hostIPC` and a root user asked by annotation. Off: such pods are refused.
    public var allowPrivileged: Bool
    /// `policy.allowUnverifiedArtifacts`: accept PseudoImage downloads without a checksum (a warning
    /// is logged and evented). Off: refused.
    public var allowUnverifiedArtifacts: Bool
    /// `policy.allowDriverOverride`: honour the ``PodTranslator/driverAnnotation`` annotation. Off:
    /// the annotation is refused and the driver comes from the RuntimeClass only.
    public var allowDriverOverride: Bool

    /// A policy; the defaults suit a single-datacenter lab (`dc1`, `default`, `global`, raw_exec).
    public init(
        nodeName: String,
        datacenters: [String] = ["dc1"],
        namespace: String = "default",
        region: String = "global",
        priority: Int = 50,
        defaultDriver: String = "raw_exec",
        driversByRuntimeHandler: [String: String] = ["nomad-raw-exec": "raw_exec", "nomad-exec": "exec"],
        cpuMHzPerCore: Int = 1000,
        defaultCPUMHz: Int = 100,
        defaultMemoryMB: Int = 300,
        defaultEphemeralDiskMB: Int = 300,
        logMaxFiles: Int = 10,
        logMaxFileSizeMB: Int = 10,
        restartAttempts: Int = 3,
        restartDelay: Duration = .seconds(10),
        restartInterval: Duration = .seconds(300),
        taskUser: String? = nil,
        defaultTerminationGracePeriodSeconds: Int64 = 30,
        allowPrivileged: Bool = false,
        allowUnverifiedArtifacts: Bool = false,
        allowDriverOverride: Bool = false
    ) {
        self.nodeName = nodeName
        self.datacenters = datacenters
        self.namespace = namespace
        self.region = region
        self.priority = priority
        self.defaultDriver = defaultDriver
        self.driversByRuntimeHandler = driversByRuntimeHandler
        self.cpuMHzPerCore = cpuMHzPerCore
        self.defaultCPUMHz = defaultCPUMHz
        self.defaultMemoryMB = defaultMemoryMB
        self.defaultEphemeralDiskMB = defaultEphemeralDiskMB
        self.logMaxFiles = logMaxFiles
        self.logMaxFileSizeMB = logMaxFileSizeMB
        self.restartAttempts = restartAttempts
        self.restartDelay = restartDelay
        self.restartInterval = restartInterval
        self.taskUser = taskUser
        self.defaultTerminationGracePeriodSeconds = defaultTerminationGracePeriodSeconds
        self.allowPrivileged = allowPrivileged
        self.allowUnverifiedArtifacts = allowUnverifiedArtifacts
        self.allowDriverOverride = allowDriverOverride
    }
}
