import Foundation

/// A core/v1 Pod: what the agent runs (as one Nomad job) and reports on.
public struct Pod: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Pod"
    public static let plural = "pods"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    /// Creates a `Pod`; `apiVersion` and `kind` are filled in.
    public init(metadata: ObjectMeta = ObjectMeta(), spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(PodSpec.self, forKey: .spec)
        status = try container.decodeIfPresent(PodStatus.self, forKey: .status)
    }
}

/// The desired state of a Pod (`spec`), as far as a kubelet reads it.
/// Fields the agent never reads (topology spread, DRA claims...) are not modelled; the client's
/// three-way merge keeps them on update.
public struct PodSpec: Codable, Sendable, Hashable {
    /// Required by the API; `null` in BOOKMARK watch events, read as empty.
    public var containers: [Container]
    /// Run in order to completion before `containers`; with `restartPolicy: Always` they are sidecars.
    public var initContainers: [Container]?
    public var volumes: [Volume]?
    public var ephemeralContainers: [JSONValue]?
    /// `Always` (default), `OnFailure` or `Never`.
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var dnsPolicy: String?
    public var nodeSelector: [String: String]?
    public var serviceAccountName: String?
    /// Deprecated alias of `serviceAccountName`, still written by the server.
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var nodeName: String?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var shareProcessNamespace: Bool?
    public var securityContext: PodSecurityContext?
    public var imagePullSecrets: [LocalObjectReference]?
    public var hostname: String?
    public var subdomain: String?
    public var setHostnameAsFQDN: Bool?
    /// Kept as raw JSON: the scheduler's business, not the kubelet's.
    public var affinity: JSONValue?
    public var schedulerName: String?
    public var tolerations: [Toleration]?
    public var hostAliases: [HostAlias]?
    public var priorityClassName: String?
    public var priority: Int?
    public var dnsConfig: PodDNSConfig?
    public var readinessGates: [PodReadinessGate]?
    public var runtimeClassName: String?
    public var enableServiceLinks: Bool?
    public var preemptionPolicy: String?
    public var overhead: [String: Quantity]?
    public var topologySpreadConstraints: [JSONValue]?
    public var os: PodOS?
    public var hostUsers: Bool?
    public var schedulingGates: [PodSchedulingGate]?
    /// Pod-level requests and limits.
    public var resources: ResourceRequirements?

    /// Creates a `PodSpec`.
    public init(
        containers: [Container] = [],
        initContainers: [Container]? = nil,
        volumes: [Volume]? = nil,
        ephemeralContainers: [JSONValue]? = nil,
        restartPolicy: String? = nil,
        terminationGracePeriodSeconds: Int64? = nil,
        activeDeadlineSeconds: Int64? = nil,
        dnsPolicy: String? = nil,
        nodeSelector: [String: String]? = nil,
        serviceAccountName: String? = nil,
        serviceAccount: String? = nil,
        automountServiceAccountToken: Bool? = nil,
        nodeName: String? = nil,
        hostNetwork: Bool? = nil,
        hostPID: Bool? = nil,
        hostIPC: Bool? = nil,
        shareProcessNamespace: Bool? = nil,
        securityContext: PodSecurityContext? = nil,
        imagePullSecrets: [LocalObjectReference]? = nil,
        hostname: String? = nil,
        subdomain: String? = nil,
        setHostnameAsFQDN: Bool? = nil,
        affinity: JSONValue? = nil,
        schedulerName: String? = nil,
        tolerations: [Toleration]? = nil,
        hostAliases: [HostAlias]? = nil,
        priorityClassName: String? = nil,
        priority: Int? = nil,
        dnsConfig: PodDNSConfig? = nil,
        readinessGates: [PodReadinessGate]? = nil,
        runtimeClassName: String? = nil,
        enableServiceLinks: Bool? = nil,
        preemptionPolicy: String? = nil,
        overhead: [String: Quantity]? = nil,
        topologySpreadConstraints: [JSONValue]? = nil,
        os: PodOS? = nil,
        hostUsers: Bool? = nil,
        schedulingGates: [PodSchedulingGate]? = nil,
        resources: ResourceRequirements? = nil
    ) {
        self.containers = containers
        self.initContainers = initContainers
        self.volumes = volumes
        self.ephemeralContainers = ephemeralContainers
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.dnsPolicy = dnsPolicy
        self.nodeSelector = nodeSelector
        self.serviceAccountName = serviceAccountName
        self.serviceAccount = serviceAccount
        self.automountServiceAccountToken = automountServiceAccountToken
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
        self.hostPID = hostPID
        self.hostIPC = hostIPC
        self.shareProcessNamespace = shareProcessNamespace
        self.securityContext = securityContext
        self.imagePullSecrets = imagePullSecrets
        self.hostname = hostname
        self.subdomain = subdomain
        self.setHostnameAsFQDN = setHostnameAsFQDN
        self.affinity = affinity
        self.schedulerName = schedulerName
        self.tolerations = tolerations
        self.hostAliases = hostAliases
        self.priorityClassName = priorityClassName
        self.priority = priority
        self.dnsConfig = dnsConfig
        self.readinessGates = readinessGates
        self.runtimeClassName = runtimeClassName
        self.enableServiceLinks = enableServiceLinks
        self.preemptionPolicy = preemptionPolicy
        self.overhead = overhead
        self.topologySpreadConstraints = topologySpreadConstraints
        self.os = os
        self.hostUsers = hostUsers
        self.schedulingGates = schedulingGates
        self.resources = resources
    }

    /// Decodes leniently: `containers` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        containers = try container.decodeIfPresent([Container].self, forKey: .containers) ?? []
        initContainers = try container.decodeIfPresent([Container].self, forKey: .initContainers)
        volumes = try container.decodeIfPresent([Volume].self, forKey: .volumes)
        ephemeralContainers = try container.decodeIfPresent([JSONValue].self, forKey: .ephemeralContainers)
        restartPolicy = try container.decodeIfPresent(String.self, forKey: .restartPolicy)
        terminationGracePeriodSeconds = try container.decodeIfPresent(Int64.self, forKey: .terminationGracePeriodSeconds)
        activeDeadlineSeconds = try container.decodeIfPresent(Int64.self, forKey: .activeDeadlineSeconds)
        dnsPolicy = try container.decodeIfPresent(String.self, forKey: .dnsPolicy)
        nodeSelector = try container.decodeIfPresent([String: String].self, forKey: .nodeSelector)
        serviceAccountName = try container.decodeIfPresent(String.self, forKey: .serviceAccountName)
        serviceAccount = try container.decodeIfPresent(String.self, forKey: .serviceAccount)
        automountServiceAccountToken = try container.decodeIfPresent(Bool.self, forKey: .automountServiceAccountToken)
        nodeName = try container.decodeIfPresent(String.self, forKey: .nodeName)
        hostNetwork = try container.decodeIfPresent(Bool.self, forKey: .hostNetwork)
        hostPID = try container.decodeIfPresent(Bool.self, forKey: .hostPID)
        hostIPC = try container.decodeIfPresent(Bool.self, forKey: .hostIPC)
        shareProcessNamespace = try container.decodeIfPresent(Bool.self, forKey: .shareProcessNamespace)
        securityContext = try container.decodeIfPresent(PodSecurityContext.self, forKey: .securityContext)
        imagePullSecrets = try container.decodeIfPresent([LocalObjectReference].self, forKey: .imagePullSecrets)
        hostname = try container.decodeIfPresent(String.self, forKey: .hostname)
        subdomain = try container.decodeIfPresent(String.self, forKey: .subdomain)
        setHostnameAsFQDN = try container.decodeIfPresent(Bool.self, forKey: .setHostnameAsFQDN)
        affinity = try container.decodeIfPresent(JSONValue.self, forKey: .affinity)
        schedulerName = try container.decodeIfPresent(String.self, forKey: .schedulerName)
        tolerations = try container.decodeIfPresent([Toleration].self, forKey: .tolerations)
        hostAliases = try container.decodeIfPresent([HostAlias].self, forKey: .hostAliases)
        priorityClassName = try container.decodeIfPresent(String.self, forKey: .priorityClassName)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority)
        dnsConfig = try container.decodeIfPresent(PodDNSConfig.self, forKey: .dnsConfig)
        readinessGates = try container.decodeIfPresent([PodReadinessGate].self, forKey: .readinessGates)
        runtimeClassName = try container.decodeIfPresent(String.self, forKey: .runtimeClassName)
        enableServiceLinks = try container.decodeIfPresent(Bool.self, forKey: .enableServiceLinks)
        preemptionPolicy = try container.decodeIfPresent(String.self, forKey: .preemptionPolicy)
        overhead = try container.decodeIfPresent([String: Quantity].self, forKey: .overhead)
        topologySpreadConstraints = try container.decodeIfPresent([JSONValue].self, forKey: .topologySpreadConstraints)
        os = try container.decodeIfPresent(PodOS.self, forKey: .os)
        hostUsers = try container.decodeIfPresent(Bool.self, forKey: .hostUsers)
        schedulingGates = try container.decodeIfPresent([PodSchedulingGate].self, forKey: .schedulingGates)
        resources = try container.decodeIfPresent(ResourceRequirements.self, forKey: .resources)
    }
}

/// The operating system a Pod needs (`spec.os`).
public struct PodOS: Codable, Sendable, Hashable {
    public var name: String

    /// Creates a `PodOS`.
    public init(name: String) {
        self.name = name
    }
}

/// A gate that holds a Pod back from scheduling while present.
public struct PodSchedulingGate: Codable, Sendable, Hashable {
    public var name: String

    /// Creates a `PodSchedulingGate`.
    public init(name: String) {
        self.name = name
    }
}

/// An extra condition type that must be True for the Pod to be Ready.
public struct PodReadinessGate: Codable, Sendable, Hashable {
    public var conditionType: String

    /// Creates a `PodReadinessGate`.
    public init(conditionType: String) {
        self.conditionType = conditionType
    }
}

/// An `/etc/hosts` entry for the Pod.
public struct HostAlias: Codable, Sendable, Hashable {
    public var ip: String
    public var hostnames: [String]?

    /// Creates a `HostAlias`.
    public init(ip: String, hostnames: [String]? = nil) {
        self.ip = ip
        self.hostnames = hostnames
    }
}

/// DNS settings merged with those from `dnsPolicy`.
public struct PodDNSConfig: Codable, Sendable, Hashable {
    public var nameservers: [String]?
    public var searches: [String]?
    public var options: [PodDNSConfigOption]?

    /// Creates a `PodDNSConfig`.
    public init(nameservers: [String]? = nil, searches: [String]? = nil, options: [PodDNSConfigOption]? = nil) {
        self.nameservers = nameservers
        self.searches = searches
        self.options = options
    }
}

/// One resolver option (`ndots: "2"`).
public struct PodDNSConfigOption: Codable, Sendable, Hashable {
    public var name: String?
    public var value: String?

    /// Creates a `PodDNSConfigOption`.
    public init(name: String? = nil, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// Security settings for every container of a Pod (`spec.securityContext`).
public struct PodSecurityContext: Codable, Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var fsGroup: Int64?
    public var fsGroupChangePolicy: String?
    public var supplementalGroups: [Int64]?
    public var supplementalGroupsPolicy: String?
    public var sysctls: [Sysctl]?
    public var seLinuxOptions: SELinuxOptions?
    public var seccompProfile: SeccompProfile?
    public var appArmorProfile: AppArmorProfile?
    public var seLinuxChangePolicy: String?

    /// Creates a `PodSecurityContext`.
    public init(
        runAsUser: Int64? = nil,
        runAsGroup: Int64? = nil,
        runAsNonRoot: Bool? = nil,
        fsGroup: Int64? = nil,
        fsGroupChangePolicy: String? = nil,
        supplementalGroups: [Int64]? = nil,
        supplementalGroupsPolicy: String? = nil,
        sysctls: [Sysctl]? = nil,
        seLinuxOptions: SELinuxOptions? = nil,
        seccompProfile: SeccompProfile? = nil,
        appArmorProfile: AppArmorProfile? = nil,
        seLinuxChangePolicy: String? = nil
    ) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.fsGroup = fsGroup
        self.fsGroupChangePolicy = fsGroupChangePolicy
        self.supplementalGroups = supplementalGroups
        self.supplementalGroupsPolicy = supplementalGroupsPolicy
        self.sysctls = sysctls
        self.seLinuxOptions = seLinuxOptions
        self.seccompProfile = seccompProfile
        self.appArmorProfile = appArmorProfile
        self.seLinuxChangePolicy = seLinuxChangePolicy
    }
}

/// Security settings of one container; they override the Pod's.
public struct SecurityContext: Codable, Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var privileged: Bool?
    public var capabilities: Capabilities?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var procMount: String?
    public var seLinuxOptions: SELinuxOptions?
    public var seccompProfile: SeccompProfile?
    public var appArmorProfile: AppArmorProfile?

    /// Creates a `SecurityContext`.
    public init(
        runAsUser: Int64? = nil,
        runAsGroup: Int64? = nil,
        runAsNonRoot: Bool? = nil,
        privileged: Bool? = nil,
        capabilities: Capabilities? = nil,
        readOnlyRootFilesystem: Bool? = nil,
        allowPrivilegeEscalation: Bool? = nil,
        procMount: String? = nil,
        seLinuxOptions: SELinuxOptions? = nil,
        seccompProfile: SeccompProfile? = nil,
        appArmorProfile: AppArmorProfile? = nil
    ) {
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.privileged = privileged
        self.capabilities = capabilities
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.allowPrivilegeEscalation = allowPrivilegeEscalation
        self.procMount = procMount
        self.seLinuxOptions = seLinuxOptions
        self.seccompProfile = seccompProfile
        self.appArmorProfile = appArmorProfile
    }
}

/// POSIX capabilities to add to or drop from a container.
public struct Capabilities: Codable, Sendable, Hashable {
    public var add: [String]?
    public var drop: [String]?

    /// Creates a `Capabilities`.
    public init(add: [String]? = nil, drop: [String]? = nil) {
        self.add = add
        self.drop = drop
    }
}

/// An SELinux label.
public struct SELinuxOptions: Codable, Sendable, Hashable {
    public var user: String?
    public var role: String?
    public var type: String?
    public var level: String?

    /// Creates a `SELinuxOptions`.
    public init(user: String? = nil, role: String? = nil, type: String? = nil, level: String? = nil) {
        self.user = user
        self.role = role
        self.type = type
        self.level = level
    }
}

/// A seccomp profile: `RuntimeDefault`, `Unconfined` or `Localhost` with a path.
public struct SeccompProfile: Codable, Sendable, Hashable {
    public var type: String
    public var localhostProfile: String?

    /// Creates a `SeccompProfile`.
    public init(type: String, localhostProfile: String? = nil) {
        self.type = type
        self.localhostProfile = localhostProfile
    }
}

/// An AppArmor profile: `RuntimeDefault`, `Unconfined` or `Localhost` with a name.
public struct AppArmorProfile: Codable, Sendable, Hashable {
    public var type: String
    public var localhostProfile: String?

    /// Creates an `AppArmorProfile`.
    public init(type: String, localhostProfile: String? = nil) {
        self.type = type
        self.localhostProfile = localhostProfile
    }
}

/// A namespaced kernel parameter to set.
public struct Sysctl: Codable, Sendable, Hashable {
    public var name: String
    public var value: String

    /// Creates a `Sysctl`.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Lets a Pod be scheduled on (or stay on) a node with a matching taint.
public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    /// `Exists` or `Equal` (default).
    public var `operator`: String?
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches all.
    public var effect: String?
    public var tolerationSeconds: Int64?

    /// Creates a `Toleration`.
    public init(
        key: String? = nil,
        `operator`: String? = nil,
        value: String? = nil,
        effect: String? = nil,
        tolerationSeconds: Int64? = nil
    ) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }
}

/// A reference to an object by name in the same namespace.
public struct LocalObjectReference: Codable, Sendable, Hashable {
    public var name: String?

    /// Creates a `LocalObjectReference`.
    public init(name: String? = nil) {
        self.name = name
    }
}
