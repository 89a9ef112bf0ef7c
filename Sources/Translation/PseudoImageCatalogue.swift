import KubernetesModels
import NomadModels

/// A container image naming a PseudoImage: `nomad-kubelet.io/<name>[:<tag>]` (tag `latest` when absent).
public struct PseudoImageReference: Sendable, Hashable {
    /// The registry-like prefix of PseudoImage references.
    public static let prefix = "nomad-kubelet.io/"

    /// The PseudoImage's name.
    public var name: String
    /// The tag.
    public var tag: String

    /// Parses `image`; `nil` when it is not a PseudoImage reference (or is the built-in host image).
    public init?(_ image: String) {
        guard image.hasPrefix(Self.prefix) else { return nil }
        let rest = image.dropFirst(Self.prefix.count)
        let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty, name != "host", !name.contains("/"), !name.contains("@") else { return nil }
        self.name = name
        self.tag = parts.count == 2 ? String(parts[1]) : "latest"
    }
}

/// The explicit stand-in for a checksum nobody has verified yet: `placeholder:<URL>`, where the URL
/// is the page or file on which the vendor publishes the download's checksum. Shipped examples use
/// it instead of inventing a digest; `translate` and the agent refuse the tag (the pod waits, as for
/// a missing image) until a real `sha256:<hex>` replaces it.
public enum ChecksumPlaceholder {
    /// The prefix that marks a placeholder.
    public static let prefix = "placeholder:"

    /// Where the vendor publishes the checksum, when `checksum` is a placeholder; `nil` otherwise.
    public static func checksumLocation(_ checksum: String) -> String? {
        guard checksum.hasPrefix(prefix) else { return nil }
        return String(checksum.dropFirst(prefix.count))
    }
}

/// Resolves PseudoImage references against the catalogue in a ``TranslationContext``.
enum PseudoImageCatalogue {
    /// Checksum types Nomad's go-getter verifies, with the hex length of their digests.
    static let checksumLengths = ["sha256": 64, "sha512": 128, "sha1": 40, "md5": 32]
    static let archiveSuffixes = [".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2", ".xz"]

    static func resolve(_ reference: PseudoImageReference, context: TranslationContext, policy: TranslationPolicy) -> ImageResolver.Outcome {
        let imageName = "\(PseudoImageReference.prefix)\(reference.name):\(reference.tag)"
        guard let image = context.pseudoImages[reference.name] else {
            return .missing(
                reason: "PseudoImage \"\(reference.name)\" not found (image '\(imageName)')",
                fix: "create the PseudoImage (`kubectl get pseudoimages` lists those that exist) or correct the image name")
        }
        guard let tag = image.spec.tags.first(where: { $0.name == reference.tag }) else {
            let known = image.spec.tags.map(\.name).joined(separator: ", ")
            return .missing(
                reason: "PseudoImage \"\(reference.name)\" has no tag \"\(reference.tag)\" (tags: \(known.isEmpty ? "none" : known))",
                fix: "add the tag to the PseudoImage or use one of its tags")
        }
        var resolution = ImageResolution(
            user: image.spec.user.flatMap { $0.isEmpty ? nil : $0 }, uid: image.spec.uid, allowedDrivers: image.spec.allowedDrivers ?? [])
        let root: String
        switch (tag.hostPath, tag.url) {
        case (let path?, nil):
            guard path.hasPrefix("/"), !path.contains("\0"), !path.split(separator: "/").contains("..") else {
                return .refused(
                    reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has hostPath '\(path.debugDescription)', which is not an absolute path without '..'",
                    fix: "set hostPath to the program's absolute directory on the Nomad clients")
            }
            root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        case (nil, let url?):
            let lower = url.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), !url.contains("\0"), !url.contains(where: \.isWhitespace) else {
                return .refused(
                    reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has url '\(url.debugDescription)', which is not an http(s) URL",
                    fix: "set url to an https URL of an archive or a file")
            }
            var options: [String: String] = [:]
            if let checksum = tag.checksum, let location = ChecksumPlaceholder.checksumLocation(checksum) {
                // Not a problem of the pod: the catalogue is not finished. The pod waits (like a
                // missing image) and runs once the PseudoImage gets the real checksum.
                let source = location.isEmpty ? "the vendor's release page" : location
                return .missing(
                    reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has a checksum placeholder instead of the checksum of \(url): "
                        + "nobody has verified the vendor's checksum yet, so it is not downloaded",
                    fix: "take the checksum the vendor publishes at \(source), check the download against it (sha256sum), and set the tag's "
                        + "checksum to sha256:<64 hex digits> (e.g. with a kustomize patch on the PseudoImage; the example's README shows one)")
            }
            if let checksum = tag.checksum, !checksum.isEmpty {
                let parts = checksum.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, let length = checksumLengths[parts[0].lowercased()], parts[1].count == length,
                    parts[1].allSatisfy(\.isHexDigit)
                else {
                    return .refused(
                        reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has checksum '\(checksum.debugDescription)', which is not <type>:<hex digest>",
                        fix: "set checksum to sha256:<64 hex digits> (sha256sum FILE)")
                }
                options["checksum"] = checksum
            } else if policy.allowUnverifiedArtifacts {
                resolution.warnings.append(
                    "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" downloads \(url) without a checksum; the node allows unverified artifacts, "
                        + "so the download is not verified")
            } else {
                return .refused(
                    reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has no checksum for \(url), and this node refuses unverified artifacts",
                    fix: "add checksum: sha256:<digest> to the tag (or set policy.allowUnverifiedArtifacts on a lab node)")
            }
            let destination = "local/\(reference.name)"
            resolution.artifacts = [TaskArtifact(getterSource: url, getterOptions: options.isEmpty ? nil : options, relativeDest: destination)]
            // An absolute path after Nomad's interpolation, so a workingDir wrapper's `cd` cannot break it.
            root = "${NOMAD_TASK_DIR}/\(reference.name)"
        case (nil, nil):
            return .refused(
                reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has neither hostPath nor url",
                fix: "set one source on the tag")
        case (.some, .some):
            return .refused(
                reason: "PseudoImage \"\(reference.name)\" tag \"\(tag.name)\" has both hostPath and url",
                fix: "keep one source on the tag")
        }
        var command = tag.command ?? image.spec.command ?? []
        if let program = command.first, !program.hasPrefix("/"), !program.hasPrefix("${"), !program.isEmpty {
            command[0] = root == "/" ? "/\(program)" : "\(root)/\(program)"
        }
        resolution.defaultCommand = command
        resolution.defaultArgs = tag.args ?? image.spec.args ?? []
        return .resolved(resolution)
    }
}
