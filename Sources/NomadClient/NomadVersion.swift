/// A Nomad release number, from `GET /v1/agent/self` (`config.Version.Version`).
public struct NomadVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Major number.
    public var major: Int
    /// Minor number.
    public var minor: Int
    /// Patch number.
    public var patch: Int

    /// A version.
    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `1.1.2`, `v1.6.0-beta.1` or `1.7.3+ent`; `nil` when there are no numbers.
    public init?(_ text: String) {
        let trimmed = text.hasPrefix("v") ? String(text.dropFirst()) : text
        let core = trimmed.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? ""
        let numbers = core.split(separator: ".").map { Int($0) }
        guard let major = numbers.first ?? nil else { return nil }
        self.init(major, numbers.count > 1 ? (numbers[1] ?? 0) : 0, numbers.count > 2 ? (numbers[2] ?? 0) : 0)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: NomadVersion, rhs: NomadVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// `/v1/event/stream` exists (Nomad 1.0+). Older agents: blocking queries only.
    public var hasEventStream: Bool { self >= NomadVersion(1, 0) }
    /// The `filter` query parameter (go-bexpr expressions) on list endpoints (Nomad 1.2+).
    public var hasFilterExpressions: Bool { self >= NomadVersion(1, 2) }
    /// Node pools: `NodePool` on jobs and nodes, `/v1/node/pools` (Nomad 1.6+; read in the docs, not run).
    public var hasNodePools: Bool { self >= NomadVersion(1, 6) }
    /// Job list stubs carry `Meta` when asked with `meta=true`, so Meta can be filtered server-side
    /// (Nomad 1.6+ per the API docs; not run here). Older agents: read each job.
    public var hasJobListMeta: Bool { self >= NomadVersion(1, 6) }
    /// Variables, `/v1/var/:path`, readable by a job's tasks through `nomadVar` templates (Nomad 1.4+;
    /// read in the docs, run here only against the simulator).
    public var hasVariables: Bool { self >= NomadVersion(1, 4) }
    /// The submitted job source, `/v1/job/:id/submission` (Nomad 1.6+; not used by this client yet).
    public var hasJobSubmission: Bool { self >= NomadVersion(1, 6) }
}
