// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// `GET /v1/evaluation/:id`: a scheduler run and, when placement failed, why.
public struct Evaluation: Codable, Hashable, Sendable {
    public var id: String?
    public var namespace: String?
    public var priority: Int?
    public var type: JobType?
    public var triggeredBy: String?
    public var jobID: String?
    public var jobModifyIndex: UInt64?
    public var nodeID: String?
    public var deploymentID: String?
    /// `pending`, `blocked`, `complete`, `failed`, `canceled`.
    public var status: String?
    public var statusDescription: String?
    public var wait: NomadDuration?
    public var nextEval: String?
    public var previousEval: String?
    public var blockedEval: String?
    public var failedTGAllocs: [String: AllocationMetric]?
    public var classEligibility: [String: Bool]?
    public var queuedAllocations: [String: Int]?
    public var snapshotIndex: UInt64?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var createTime: Int64?
    public var modifyTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        id: String? = nil,
        namespace: String? = nil,
        priority: Int? = nil,
        type: JobType? = nil,
        triggeredBy: String? = nil,
        jobID: String? = nil,
        jobModifyIndex: UInt64? = nil,
        nodeID: String? = nil,
        deploymentID: String? = nil,
        status: String? = nil,
        statusDescription: String? = nil,
        wait: NomadDuration? = nil,
        nextEval: String? = nil,
        previousEval: String? = nil,
        blockedEval: String? = nil,
        failedTGAllocs: [String: AllocationMetric]? = nil,
        classEligibility: [String: Bool]? = nil,
        queuedAllocations: [String: Int]? = nil,
        snapshotIndex: UInt64? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        createTime: Int64? = nil,
        modifyTime: Int64? = nil
    ) {
        self.id = id
        self.namespace = namespace
        self.priority = priority
        self.type = type
        self.triggeredBy = triggeredBy
        self.jobID = jobID
        self.jobModifyIndex = jobModifyIndex
        self.nodeID = nodeID
        self.deploymentID = deploymentID
        self.status = status
        self.statusDescription = statusDescription
        self.wait = wait
        self.nextEval = nextEval
        self.previousEval = previousEval
        self.blockedEval = blockedEval
        self.failedTGAllocs = failedTGAllocs
        self.classEligibility = classEligibility
        self.queuedAllocations = queuedAllocations
        self.snapshotIndex = snapshotIndex
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.createTime = createTime
        self.modifyTime = modifyTime
    }

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case namespace = "Namespace"
        case priority = "Priority"
        case type = "Type"
        case triggeredBy = "TriggeredBy"
        case jobID = "JobID"
        case jobModifyIndex = "JobModifyIndex"
        case nodeID = "NodeID"
        case deploymentID = "DeploymentID"
        case status = "Status"
        case statusDescription = "StatusDescription"
        case wait = "Wait"
        case nextEval = "NextEval"
        case previousEval = "PreviousEval"
        case blockedEval = "BlockedEval"
        case failedTGAllocs = "FailedTGAllocs"
        case classEligibility = "ClassEligibility"
        case queuedAllocations = "QueuedAllocations"
        case snapshotIndex = "SnapshotIndex"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case createTime = "CreateTime"
        case modifyTime = "ModifyTime"
    }
}

