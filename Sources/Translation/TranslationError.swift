/// One thing about a Pod (or the policy) that keeps it from becoming a Nomad job: where it is, what is
/// wrong, and what to do about it.
public struct TranslationProblem: Sendable, Hashable, CustomStringConvertible {
    /// Why the value cannot be used.
    public enum Kind: String, Sendable, Hashable {
        /// The value is malformed or out of range (the API server would normally have refused it).
        case invalid
        /// The value asks for something a host process run by Nomad cannot honour.
        case unsupported
        /// Supported by the pseudo-container design but not implemented yet (issue 6).
        case notYetSupported
        /// The node configuration (``TranslationPolicy``) makes the job impossible.
        case policy
        /// A referenced object (PseudoImage or its tag, ConfigMap, Secret, key) does not exist yet:
        /// the pod waits (Pending) and is translated again when it appears.
        case missing
    }

    /// The field path in the Pod, e.g. `spec.containers[0].image`, or `policy.<knob>` / the Nomad
    /// job field for problems found by ``NomadJobValidator``.
    public var field: String
    /// Why the value cannot be used.
    public var kind: Kind
    /// What is wrong, naming the value.
    public var reason: String
    /// What the user can change to make it work.
    public var fix: String
    /// The Kubernetes Event reason for a warning the agent records (e.g. `InvalidEnvironmentVariableNames`).
    public var eventReason: String?

    /// A problem at `field`.
    public init(field: String, kind: Kind, reason: String, fix: String, eventReason: String? = nil) {
        self.field = field
        self.kind = kind
        self.reason = reason
        self.fix = fix
        self.eventReason = eventReason
    }

    public var description: String { "\(field): \(reason) (\(fix))" }
}

/// Errors of the Translation module. Shaped like AsyncHTTPClient's `HTTPClientError`: built through
/// the static members, compared by code, `description` is a message for the user.
public struct TranslationError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case podNotTranslatable
        case jobRejectedByValidator
        case jobNotFromPod
    }

    private let code: Code
    /// Every problem found, in field order; never empty for `podNotTranslatable`.
    public let problems: [TranslationProblem]
    /// A message for the user.
    public let description: String

    private init(_ code: Code, problems: [TranslationProblem], description: String) {
        self.code = code
        self.problems = problems
        self.description = description
    }

    /// The Pod cannot run as a Nomad job; `problems` lists every field at fault.
    public static func podNotTranslatable(namespace: String, name: String, problems: [TranslationProblem]) -> Self {
        let list = problems.map { "  - \($0)" }.joined(separator: "\n")
        return Self(
            .podNotTranslatable, problems: problems,
            description: "pod \(namespace)/\(name) cannot run as a Nomad job (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n\(list)")
    }

    /// The job built for a Pod breaks a Nomad job rule; this points at the node configuration or a
    /// translator bug, never at a half-created job.
    public static func jobRejectedByValidator(jobID: String, problems: [TranslationProblem]) -> Self {
        let list = problems.map { "  - \($0)" }.joined(separator: "\n")
        return Self(
            .jobRejectedByValidator, problems: problems,
            description: "the Nomad job \(jobID) built from the pod would be refused by Nomad:\n\(list)")
    }

    /// A Nomad job lacks the Meta keys that tie it to a Pod (it was not created by nomad-kubelet, or was edited).
    public static func jobNotFromPod(jobID: String, missingKeys: [String]) -> Self {
        Self(
            .jobNotFromPod, problems: [],
            description: "Nomad job \(jobID) has no \(missingKeys.joined(separator: ", ")) in its Meta, so it was not created by "
                + "nomad-kubelet; leave it alone or add the keys if it belongs to a pod")
    }

    /// True when every problem is ``TranslationProblem/Kind/missing``: the pod should wait (Pending)
    /// rather than fail, and be translated again later.
    public var isTransient: Bool { code == .podNotTranslatable && !problems.isEmpty && problems.allSatisfy { $0.kind == .missing } }

    /// Errors are equal when they are of the same kind, like `HTTPClientError`; compare `problems` for detail.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
