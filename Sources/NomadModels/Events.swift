// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// An event stream topic.
public struct EventTopic: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// `Job`
    public static let job: EventTopic = "Job"
    /// `Allocation`
    public static let allocation: EventTopic = "Allocation"
    /// `Node`
    public static let node: EventTopic = "Node"
    /// `Evaluation`
    public static let evaluation: EventTopic = "Evaluation"
    /// `Deployment`
    public static let deployment: EventTopic = "Deployment"
    /// `*`
    public static let all: EventTopic = "*"
}

/// A deployment, as carried by the event stream.
public struct Deployment: Codable, Hashable, Sendable {
    public var id: String?
    public var namespace: String?
    public var jobID: String?
    public var jobVersion: UInt64?
    public var status: String?
    public var statusDescription: String?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        namespace: String? = nil,
        jobID: String? = nil,
        jobVersion: UInt64? = nil,
        status: String? = nil,
        statusDescription: String? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil
    ) {
        self.id = id
        self.namespace = namespace
        self.jobID = jobID
        self.jobVersion = jobVersion
        self.status = status
        self.statusDescription = statusDescription
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case namespace = "Namespace"
        case jobID = "JobID"
        case jobVersion = "JobVersion"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
    }
}

/// The object an event carries; exactly one field is set, matching the topic.
public struct EventPayload: Codable, Hashable, Sendable {
    public var job: Job?
    public var allocation: Allocation?
    public var node: NomadNode?
    public var evaluation: Evaluation?
    public var deployment: Deployment?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        job: Job? = nil,
        allocation: Allocation? = nil,
        node: NomadNode? = nil,
        evaluation: Evaluation? = nil,
        deployment: Deployment? = nil
    ) {
        self.job = job
        self.allocation = allocation
        self.node = node
        self.evaluation = evaluation
        self.deployment = deployment
    }

    enum CodingKeys: String, CodingKey {
        case job = "Job"
        case allocation = "Allocation"
        case node = "Node"
        case evaluation = "Evaluation"
        case deployment = "Deployment"
    }
}

/// One event of `/v1/event/stream` (Nomad 1.0+).
public struct NomadEvent: Codable, Hashable, Sendable {
    public var topic: EventTopic?
    /// e.g. `JobRegistered`, `AllocationUpdated`, `PlanResult`, `NodeRegistration`.
    public var type: String?
    public var key: String?
    public var namespace: String?
    public var filterKeys: [String]?
    public var index: UInt64?
    public var payload: EventPayload?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        topic: EventTopic? = nil,
        type: String? = nil,
        key: String? = nil,
        namespace: String? = nil,
        filterKeys: [String]? = nil,
        index: UInt64? = nil,
        payload: EventPayload? = nil
    ) {
        self.topic = topic
        self.type = type
        self.key = key
        self.namespace = namespace
        self.filterKeys = filterKeys
        self.index = index
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case topic = "Topic"
        case type = "Type"
        case key = "Key"
        case namespace = "Namespace"
        case filterKeys = "FilterKeys"
        case index = "Index"
        case payload = "Payload"
    }
}

/// One line of the event stream: events at one Raft index; `{}` lines are heartbeats (no Index, no Events).
public struct EventBatch: Codable, Hashable, Sendable {
    public var index: UInt64?
    public var events: [NomadEvent]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        index: UInt64? = nil,
        events: [NomadEvent]? = nil
    ) {
        self.index = index
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case index = "Index"
        case events = "Events"
    }
}

/// A frame of `/v1/client/fs/logs` (framed form): base64 `Data`, or a `FileEvent` such as `file truncated` / `file deleted`; `{}` is a heartbeat.
public struct StreamFrame: Codable, Hashable, Sendable {
    /// Base64 of the bytes.
    public var data: String?
    public var file: String?
    public var offset: Int64?
    public var fileEvent: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        data: String? = nil,
        file: String? = nil,
        offset: Int64? = nil,
        fileEvent: String? = nil
    ) {
        self.data = data
        self.file = file
        self.offset = offset
        self.fileEvent = fileEvent
    }

    enum CodingKeys: String, CodingKey {
        case data = "Data"
        case file = "File"
        case offset = "Offset"
        case fileEvent = "FileEvent"
    }
}

