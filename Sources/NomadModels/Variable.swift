// Nomad's JSON field names are PascalCase; each type's CodingKeys keep them exactly.
// Every field is optional: Nomad omits fields and sends null for empty lists and maps.

/// A Nomad Variable (`/v1/var/:path`, Nomad 1.4+): encrypted key/value items at a path. Tasks of
/// job `J` may read `nomad/jobs/J` (and paths under it) in templates with `nomadVar`, without a token.
public struct Variable: Codable, Hashable, Sendable {
    public var namespace: String?
    public var path: String?
    public var items: [String: String]?
    public var createIndex: UInt64?
    public var modifyIndex: UInt64?
    public var createTime: Int64?
    public var modifyTime: Int64?

    /// Creates a value; every field is optional, as Nomad omits or nulls most of them.
    public init(
        namespace: String? = nil,
        path: String? = nil,
        items: [String: String]? = nil,
        createIndex: UInt64? = nil,
        modifyIndex: UInt64? = nil,
        createTime: Int64? = nil,
        modifyTime: Int64? = nil
    ) {
        self.namespace = namespace
        self.path = path
        self.items = items
        self.createIndex = createIndex
        self.modifyIndex = modifyIndex
        self.createTime = createTime
        self.modifyTime = modifyTime
    }

    enum CodingKeys: String, CodingKey {
        case namespace = "Namespace"
        case path = "Path"
        case items = "Items"
        case createIndex = "CreateIndex"
        case modifyIndex = "ModifyIndex"
        case createTime = "CreateTime"
        case modifyTime = "ModifyTime"
    }
}
