// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// The `config.Version` object of `GET /v1/agent/self`.
public struct AgentVersion: Codable, Hashable, Sendable {
    public var version: String?
    public var versionPrerelease: String?
    public var versionMetadata: String?
    public var revision: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        version: String? = nil,
        versionPrerelease: String? = nil,
        versionMetadata: String? = nil,
        revision: String? = nil
    ) {
        self.version = version
        self.versionPrerelease = versionPrerelease
        self.versionMetadata = versionMetadata
        self.revision = revision
    }

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case versionPrerelease = "VersionPrerelease"
        case versionMetadata = "VersionMetadata"
        case revision = "Revision"
    }
}

/// The parts of the agent configuration the client reads.
public struct AgentConfig: Codable, Hashable, Sendable {
    public var version: AgentVersion?
    public var region: String?
    public var datacenter: String?
    public var nodeName: String?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        version: AgentVersion? = nil,
        region: String? = nil,
        datacenter: String? = nil,
        nodeName: String? = nil
    ) {
        self.version = version
        self.region = region
        self.datacenter = datacenter
        self.nodeName = nodeName
    }

    enum CodingKeys: String, CodingKey {
        case version = "Version"
        case region = "Region"
        case datacenter = "Datacenter"
        case nodeName = "NodeName"
    }
}

/// The agent's serf member, when the agent is a server.
public struct AgentMember: Codable, Hashable, Sendable {
    public var name: String?
    public var tags: [String: String]?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        name: String? = nil,
        tags: [String: String]? = nil
    ) {
        self.name = name
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name"
        case tags = "Tags"
    }
}

/// `GET /v1/agent/self`, reduced to what the client uses.
public struct AgentSelf: Codable, Hashable, Sendable {
    public var config: AgentConfig?
    public var member: AgentMember?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        config: AgentConfig? = nil,
        member: AgentMember? = nil
    ) {
        self.config = config
        self.member = member
    }

    enum CodingKeys: String, CodingKey {
        case config
        case member
    }
}

