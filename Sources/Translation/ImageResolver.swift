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

    /// A resolution; the default is "a program installed on the host, no defaults".
    public init(defaultCommand: [String] = [], defaultArgs: [String] = [], artifacts: [TaskArtifact] = [], user: String? = nil) {
        self.defaultCommand = defaultCommand
        self.defaultArgs = defaultArgs
        self.artifacts = artifacts
        self.user = user
    }
}

/// Turns a container's `image` into an ``ImageResolution``, or refuses it with a reason and a fix.
/// The built-in ``hostOnly`` knows `nomad-kubelet.io/host`; the PseudoImage catalogue (issue 6)
/// plugs in as another resolver.
public struct ImageResolver: Sendable {
    /// The outcome of resolving one image.
    public enum Outcome: Sendable, Hashable {
        /// The image names a program this node can run.
        case resolved(ImageResolution)
        /// The image cannot run; `reason` and `fix` go into the ``TranslationProblem``.
        case refused(reason: String, fix: String)
    }

    /// The image meaning "a program installed on the Nomad client": `command` runs as is.
    public static let hostImage = "nomad-kubelet.io/host"

    private let body: @Sendable (String) -> Outcome

    /// A resolver from a function of the image name.
    public init(_ resolve: @escaping @Sendable (String) -> Outcome) { self.body = resolve }

    /// Resolves `image`.
    public func resolve(_ image: String) -> Outcome { body(image) }

    /// Knows only ``hostImage``; every other image is refused.
    public static let hostOnly = ImageResolver { image in
        if image == hostImage { return .resolved(ImageResolution()) }
        return .refused(
            reason: "image '\(image)' is not a program nomad-kubelet can run: containers here are host processes, not OCI images",
            fix: "use image '\(hostImage)' with `command` naming a program installed on the Nomad clients")
    }
}
