/// Errors of the agent: a configuration it cannot read or use, or a pod's volume source it cannot get yet.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    fileprivate enum Code: Sendable, Hashable {
        case invalidConfiguration
        case unreadableConfiguration
        case volumeOperationFailed
        case volumeSourceUnavailable
    }

    /// The kind of failure, for callers that branch on it.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let code: Code
        /// The configuration has values the agent cannot use (see ``AgentError/problems``).
        public static let invalidConfiguration = Kind(code: .invalidConfiguration)
        /// The configuration file cannot be read or parsed.
        public static let unreadableConfiguration = Kind(code: .unreadableConfiguration)
        /// Creating or removing a volume's directory on its Nomad client did not succeed.
        public static let volumeOperationFailed = Kind(code: .volumeOperationFailed)
        /// A ConfigMap, Secret or token a pod's volume needs cannot be had yet; the pod waits (FailedMount).
        public static let volumeSourceUnavailable = Kind(code: .volumeSourceUnavailable)
        public var description: String { "\(code)" }
    }

    /// What went wrong.
    public let kind: Kind
    /// Every problem found in the configuration, in the order met (file, environment, flags, then
    /// rules across keys); empty for other kinds.
    public let problems: [ConfigurationProblem]
    /// A message that says what happened and what to do.
    public let message: String

    private init(_ kind: Kind, problems: [ConfigurationProblem] = [], message: String) {
        self.kind = kind
        self.problems = problems
        self.message = message
    }

    public var description: String { message }

    /// Configuration values the agent cannot use: one line per problem.
    public static func invalidConfiguration(problems: [ConfigurationProblem]) -> AgentError {
        AgentError(.invalidConfiguration, problems: problems, message: problems.map(\.description).joined(separator: "\n"))
    }

    /// A configuration file that cannot be read or parsed.
    public static func unreadableConfiguration(file: String, reason: String) -> AgentError {
        AgentError(.unreadableConfiguration, message: "cannot read the configuration \(file): \(reason)")
    }

    /// A directory job of a volume failed or did not finish; `detail` says what Nomad reported.
    public static func volumeOperationFailed(volume: String, action: String, client: String, detail: String) -> AgentError {
        AgentError(
            .volumeOperationFailed,
            message: "could not \(action) the directory of volume \(volume) on Nomad client \(client): \(detail); check the client and `nomad job status` of the volume job")
    }

    /// A pod's volume needs an object (or token) that is missing or could not be fetched; the message is
    /// worded like the kubelet's FailedMount Event.
    public static func volumeSourceUnavailable(volume: String, reason: String) -> AgentError {
        AgentError(.volumeSourceUnavailable, message: "MountVolume.SetUp failed for volume \"\(volume)\" : \(reason)")
    }
}
