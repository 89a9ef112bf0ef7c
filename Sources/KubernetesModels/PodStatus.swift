import Foundation

/// What the kubelet reports about a Pod (`status`).
public struct PodStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    public var phase: String?
    public var conditions: [PodCondition]?
    public var message: String?
    public var reason: String?
    public var nominatedNodeName: String?
    public var hostIP: String?
    public var hostIPs: [HostIP]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: Time?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?
    /// `Guaranteed`, `Burstable` or `BestEffort`.
    public var qosClass: String?
    public var ephemeralContainerStatuses: [ContainerStatus]?
    public var resize: String?
    public var resources: ResourceRequirements?

    /// Creates a `PodStatus`.
    public init(
        observedGeneration: Int64? = nil,
        phase: String? = nil,
        conditions: [PodCondition]? = nil,
        message: String? = nil,
        reason: String? = nil,
        nominatedNodeName: String? = nil,
        hostIP: String? = nil,
        hostIPs: [HostIP]? = nil,
        podIP: String? = nil,
        podIPs: [PodIP]? = nil,
        startTime: Time? = nil,
        initContainerStatuses: [ContainerStatus]? = nil,
        containerStatuses: [ContainerStatus]? = nil,
        qosClass: String? = nil,
        ephemeralContainerStatuses: [ContainerStatus]? = nil,
        resize: String? = nil,
        resources: ResourceRequirements? = nil
    ) {
        self.observedGeneration = observedGeneration
        self.phase = phase
        self.conditions = conditions
        self.message = message
        self.reason = reason
        self.nominatedNodeName = nominatedNodeName
        self.hostIP = hostIP
        self.hostIPs = hostIPs
        self.podIP = podIP
        self.podIPs = podIPs
        self.startTime = startTime
        self.initContainerStatuses = initContainerStatuses
        self.containerStatuses = containerStatuses
        self.qosClass = qosClass
        self.ephemeralContainerStatuses = ephemeralContainerStatuses
        self.resize = resize
        self.resources = resources
    }
}

/// One condition of a Pod: `PodScheduled`, `PodReadyToStartContainers`, `Initialized`, `ContainersReady`,
/// `Ready`...
public struct PodCondition: Codable, Sendable, Hashable {
    public var type: String
    public var observedGeneration: Int64?
    /// `True`, `False` or `Unknown`.
    public var status: String
    public var lastProbeTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?

    /// Creates a `PodCondition`.
    public init(
        type: String,
        observedGeneration: Int64? = nil,
        status: String,
        lastProbeTime: Time? = nil,
        lastTransitionTime: Time? = nil,
        reason: String? = nil,
        message: String? = nil
    ) {
        self.type = type
        self.observedGeneration = observedGeneration
        self.status = status
        self.lastProbeTime = lastProbeTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// An IP address of the node the Pod runs on.
public struct HostIP: Codable, Sendable, Hashable {
    public var ip: String

    /// Creates a `HostIP`.
    public init(ip: String) {
        self.ip = ip
    }
}

/// An IP address of the Pod.
public struct PodIP: Codable, Sendable, Hashable {
    public var ip: String

    /// Creates a `PodIP`.
    public init(ip: String) {
        self.ip = ip
    }
}

/// The state of one container of a Pod.
public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var state: ContainerState?
    /// The previous run's state, e.g. `terminated` after a restart.
    public var lastState: ContainerState?
    public var ready: Bool
    public var restartCount: Int
    public var image: String
    public var imageID: String
    /// `<runtime>://<id>`; here `nomad://<allocation>/<task>`.
    public var containerID: String?
    public var started: Bool?
    public var allocatedResources: [String: Quantity]?
    public var resources: ResourceRequirements?
    public var stopSignal: String?

    /// Creates a `ContainerStatus`.
    public init(
        name: String,
        state: ContainerState? = nil,
        lastState: ContainerState? = nil,
        ready: Bool = false,
        restartCount: Int = 0,
        image: String = "",
        imageID: String = "",
        containerID: String? = nil,
        started: Bool? = nil,
        allocatedResources: [String: Quantity]? = nil,
        resources: ResourceRequirements? = nil,
        stopSignal: String? = nil
    ) {
        self.name = name
        self.state = state
        self.lastState = lastState
        self.ready = ready
        self.restartCount = restartCount
        self.image = image
        self.imageID = imageID
        self.containerID = containerID
        self.started = started
        self.allocatedResources = allocatedResources
        self.resources = resources
        self.stopSignal = stopSignal
    }

    /// Decodes leniently: required fields missing or `null` read as their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        state = try container.decodeIfPresent(ContainerState.self, forKey: .state)
        lastState = try container.decodeIfPresent(ContainerState.self, forKey: .lastState)
        ready = try container.decodeIfPresent(Bool.self, forKey: .ready) ?? false
        restartCount = try container.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? ""
        imageID = try container.decodeIfPresent(String.self, forKey: .imageID) ?? ""
        containerID = try container.decodeIfPresent(String.self, forKey: .containerID)
        started = try container.decodeIfPresent(Bool.self, forKey: .started)
        allocatedResources = try container.decodeIfPresent([String: Quantity].self, forKey: .allocatedResources)
        resources = try container.decodeIfPresent(ResourceRequirements.self, forKey: .resources)
        stopSignal = try container.decodeIfPresent(String.self, forKey: .stopSignal)
    }
}

/// A container's state: exactly one of `waiting`, `running` and `terminated` is set (none means waiting).
public struct ContainerState: Codable, Sendable, Hashable {
    public var waiting: ContainerStateWaiting?
    public var running: ContainerStateRunning?
    public var terminated: ContainerStateTerminated?

    /// Creates a `ContainerState`.
    public init(
        waiting: ContainerStateWaiting? = nil,
        running: ContainerStateRunning? = nil,
        terminated: ContainerStateTerminated? = nil
    ) {
        self.waiting = waiting
        self.running = running
        self.terminated = terminated
    }
}

/// A container not yet running, e.g. `ContainerCreating` or `CrashLoopBackOff`.
public struct ContainerStateWaiting: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?

    /// Creates a `ContainerStateWaiting`.
    public init(reason: String? = nil, message: String? = nil) {
        self.reason = reason
        self.message = message
    }
}

/// A running container.
public struct ContainerStateRunning: Codable, Sendable, Hashable {
    public var startedAt: Time?

    /// Creates a `ContainerStateRunning`.
    public init(startedAt: Time? = nil) {
        self.startedAt = startedAt
    }
}

/// A container that ran and exited.
public struct ContainerStateTerminated: Codable, Sendable, Hashable {
    public var exitCode: Int
    public var signal: Int?
    /// `Completed`, `Error`, `OOMKilled`...
    public var reason: String?
    public var message: String?
    public var startedAt: Time?
    public var finishedAt: Time?
    public var containerID: String?

    /// Creates a `ContainerStateTerminated`.
    public init(
        exitCode: Int = 0,
        signal: Int? = nil,
        reason: String? = nil,
        message: String? = nil,
        startedAt: Time? = nil,
        finishedAt: Time? = nil,
        containerID: String? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.message = message
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.containerID = containerID
    }

    /// Decodes leniently: `exitCode` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode) ?? 0
        signal = try container.decodeIfPresent(Int.self, forKey: .signal)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        startedAt = try container.decodeIfPresent(Time.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(Time.self, forKey: .finishedAt)
        containerID = try container.decodeIfPresent(String.self, forKey: .containerID)
    }
}
