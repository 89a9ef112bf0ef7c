import KubernetesModels
import NomadModels

/// What an image name means for a host process: the program and its defaults.
public struct ImageResolution: Sendable, Hashable {
    /// The entrypoint used when the container sets no `command` (empty: the container must set one).
    public var defaultCommand: [String]
    /// Arguments used when the container sets neither `command` nor `args`.
    public var defaultArgs: [String]
    /// Files Nomad downloads into the task directory before starting it.
    public var artifacts: [TaskArtifact]
    /// The Unix user the program runs as; `nil` keeps ``TranslationPolicy/taskUser``.
    public var user: String?
    /// The numeric id of ``user`` when known (checks `runAsUser`/`runAsNonRoot`).
    public var uid: Int64?
    /// Nomad drivers the program may run under; empty means any.
    public var allowedDrivers: [String]
    /// Things the agent should log and event (e.g. an artifact without checksum, allowed by policy).
    public var warnings: [String]

    /// A resolution; the default is "a program installed on the host, no defaults".
    public init(
        defaultCommand: [String] = [], defaultArgs: [String] = [], artifacts: [TaskArtifact] = [], user: String? = nil, uid: Int64? = nil,
        allowedDrivers: [String] = [], warnings: [String] = []
    ) {
        self.defaultCommand = defaultCommand
        self.defaultArgs = defaultArgs
        self.artifacts = artifacts
        self.user = user
        self.uid = uid
        self.allowedDrivers = allowedDrivers
        self.warnings = warnings
    }
}

/// Turns a container's `image` into an ``ImageResolution``, or refuses it with a reason and a fix.
/// ``standard`` knows `nomad-kubelet.io/host` and the PseudoImages of the ``TranslationContext``.
public struct ImageResolver: Sendable {
    /// The outcome of resolving one image.
    public enum Outcome: Sendable, Hashable {
        /// The image names a program this node can run.
        case resolved(ImageResolution)
        /// The image can never run here; `reason` and `fix` go into the ``TranslationProblem``.
        case refused(reason: String, fix: String)
        /// The image names a PseudoImage or tag that does not exist (yet): the pod waits, like an
        /// image pull error.
        case missing(reason: String, fix: String)
    }

    /// The image meaning "a program installed on the Nomad client": `command` runs as is.
    public static let hostImage = "nomad-kubelet.io/host"

    private let body: @Sendable (String, TranslationContext, TranslationPolicy) -> Outcome

    /// A resolver from a function of the image name, the context and the node policy.
    public init(_ resolve: @escaping @Sendable (String, TranslationContext, TranslationPolicy) -> Outcome) { self.body = resolve }

    /// Resolves `image`.
    public func resolve(_ image: String, context: TranslationContext = TranslationContext(), policy: TranslationPolicy) -> Outcome {
        body(image, context, policy)
    }

    static func notAProgram(_ image: String) -> Outcome {
        .refused(
            reason: "image '\(image)' is not a program nomad-kubelet can run: containers here are host processes, not OCI images",
            fix: "use image '\(hostImage)' with `command` naming a program installed on the Nomad clients, or a PseudoImage as "
                + "'nomad-kubelet.io/<name>:<tag>' (`kubectl get pseudoimages` lists them)")
    }

    /// Knows only ``hostImage``; every other image is refused.
    public static let hostOnly = ImageResolver { image, _, _ in
        image == hostImage ? .resolved(ImageResolution()) : notAProgram(image)
    }

    /// ``hostImage`` and `nomad-kubelet.io/<name>:<tag>` from the context's PseudoImages.
    public static let standard = ImageResolver { image, context, policy in
        if image == hostImage || image == hostImage + ":latest" { return .resolved(ImageResolution()) }
        guard let reference = PseudoImageReference(image) else { return notAProgram(image) }
        return PseudoImageCatalogue.resolve(reference, context: context, policy: policy)
    }
}
