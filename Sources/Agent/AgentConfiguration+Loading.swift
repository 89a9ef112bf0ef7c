import Foundation
import Yams

/// A configuration and the warnings met while reading it (unknown environment variables).
public struct LoadedConfiguration: Sendable {
    /// The configuration, every layer applied and validated.
    public var configuration: AgentConfiguration
    /// Things worth logging that did not stop the agent.
    public var warnings: [String]
}

/// Reads the configuration in three layers: the YAML file, then `NOMAD_KUBELET_<KEY_PATH>`
/// environment variables, then `--set key.path=value` overrides (later layers win). Every problem
/// of every layer is collected and reported at once in one ``AgentError``.
public struct ConfigurationLoader: Sendable {
    /// The process environment (only `NOMAD_KUBELET_*` names are read; `NOMAD_KUBELET_E2E` and
    /// `NOMAD_KUBELET_E2E_*` are the test suite's and ignored).
    public var environment: [String: String]
    /// `key.path=value` overrides, applied in order.
    public var overrides: [String]

    /// A loader with the given overrides; by default none.
    public init(environment: [String: String] = [:], overrides: [String] = []) {
        self.environment = environment
        self.overrides = overrides
    }

    /// Reads the file at `path` and applies the overrides.
    public func load(path: String) throws(AgentError) -> LoadedConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableConfiguration(file: path, reason: "\(error.localizedDescription); pass an existing file to --config")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses configuration YAML (`file` names it in problems) and applies the overrides.
    public func parse(yaml: String, file: String = "<config>") throws(AgentError) -> LoadedConfiguration {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw .unreadableConfiguration(file: file, reason: "not valid YAML: \(error)")
        }
        var assembly = Assembly(file: file)
        if let root, root.null == nil {
            assembly.walk(root, prefix: "")
            // A file that is not a mapping at all has no other problem worth listing.
            if root.mapping == nil { throw .invalidConfiguration(problems: assembly.problems) }
        }
        assembly.applyEnvironment(environment)
        assembly.applyOverrides(overrides)
        assembly.validate()
        if !assembly.problems.isEmpty { throw .invalidConfiguration(problems: assembly.problems) }
        return LoadedConfiguration(configuration: assembly.configuration, warnings: assembly.warnings)
    }
}

extension AgentConfiguration {
    /// Reads and validates a configuration file (no environment or flag overrides).
    public static func load(path: String) throws(AgentError) -> AgentConfiguration {
        try ConfigurationLoader().load(path: path).configuration
    }

    /// Parses and validates configuration YAML; `file` names it in problems.
    public static func parse(yaml: String, file: String = "<config>") throws(AgentError) -> AgentConfiguration {
        try ConfigurationLoader().parse(yaml: yaml, file: file).configuration
    }
}

/// The configuration being built, the problems found so far and where each key was last set.
private struct Assembly {
    let file: String
    var configuration = AgentConfiguration.defaults
    var problems: [ConfigurationProblem] = []
    var warnings: [String] = []
    /// Key path → where its value in use was written.
    var locations: [String: String] = [:]

    init(file: String) {
        self.file = file
    }

    mutating func apply(_ key: ConfigurationKey, _ value: ConfigValue) {
        do {
            try key.read(value, &configuration)
            locations[key.path] = value.location
        } catch {
            problems.append(error)
        }
    }

    /// Reads a mapping of the file, key by key; unknown keys are problems with a suggestion.
    mutating func walk(_ node: Yams.Node, prefix: String) {
        guard let mapping = node.mapping else {
            let value = ConfigValue(node: node, path: prefix.isEmpty ? "(top level)" : prefix, origin: .file(file))
            problems.append(value.problem("expected a mapping (key: value lines)"))
            return
        }
        for (keyNode, valueNode) in mapping {
            let name = keyNode.string ?? "\(keyNode)"
            let path = prefix.isEmpty ? name : "\(prefix).\(name)"
            if valueNode.null != nil { continue }
            if let key = AgentConfiguration.keysByPath[path] {
                apply(key, ConfigValue(node: valueNode, path: path, origin: .file(file)))
            } else if AgentConfiguration.sectionPaths.contains(path) {
                walk(valueNode, prefix: path)
            } else {
                let value = ConfigValue(node: keyNode, path: path, origin: .file(file))
                problems.append(value.problem(Suggestion.forUnknownKey(path)))
            }
        }
    }

    mutating func applyEnvironment(_ environment: [String: String]) {
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("NOMAD_KUBELET_") {
            if AgentConfiguration.isReservedEnvironmentVariable(name) { continue }
            guard let key = AgentConfiguration.keysByEnvironmentVariable[name] else {
                let known = AgentConfiguration.keys.map(\.environmentVariable)
                let hint = Suggestion.closest(to: name, among: known).map { "; did you mean \($0)?" } ?? ""
                warnings.append("ignoring the environment variable \(name): no configuration key has that name\(hint)")
                continue
            }
            apply(key, ConfigValue(node: Self.node(from: text), path: key.path, origin: .environment(name)))
        }
    }

    mutating func applyOverrides(_ overrides: [String]) {
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                problems.append(ConfigurationProblem(location: "--set", keyPath: override, message: "expected key.path=value (e.g. --set nomad.address=http://nomad:4646)"))
                continue
            }
            let path = String(override[..<equals])
            guard let key = AgentConfiguration.keysByPath[path] else {
                problems.append(ConfigurationProblem(location: "--set", keyPath: path, message: Suggestion.forUnknownKey(path)))
                continue
            }
            apply(key, ConfigValue(node: Self.node(from: String(override[override.index(after: equals)...])), path: path, origin: .flag))
        }
    }

    /// An override's text as YAML, so lists and maps can be given in flow style (`[dc1, dc2]`).
    static func node(from text: String) -> Yams.Node {
        if let node = try? Yams.compose(yaml: text), node.null == nil, node.scalar == nil { return node }
        return Yams.Node(text)
    }

    /// Rules that involve more than one key, checked once every layer is applied.
    mutating func validate() {
        let c = configuration
        if c.node.name.isEmpty {
            problem(
                "node.name",
                "required: the Node's name (the node identity is system:node:<name>); set it in the file, with NOMAD_KUBELET_NODE_NAME or with --node-name")
        }
        if c.kubernetes.inCluster, c.kubernetes.kubeconfig != nil {
            problem("kubernetes.inCluster", "set either kubernetes.kubeconfig or kubernetes.inCluster: true, not both")
        }
        if (c.nomad.tls.certFile == nil) != (c.nomad.tls.keyFile == nil) {
            problem(c.nomad.tls.certFile == nil ? "nomad.tls.keyFile" : "nomad.tls.certFile", "certFile and keyFile go together: set both or neither")
        }
        if !c.nomad.allowedDrivers.contains(c.nomad.driver) {
            problem("nomad.driver", "\"\(c.nomad.driver)\" is not in nomad.allowedDrivers (\(c.nomad.allowedDrivers.joined(separator: ", "))); add it there or choose one of those")
        }
        let kubeletTLS = c.kubeletServer.tls
        if kubeletTLS.source == .files {
            if kubeletTLS.certFile == nil { problem("kubeletServer.tls.certFile", "required when kubeletServer.tls.source is files") }
            if kubeletTLS.keyFile == nil { problem("kubeletServer.tls.keyFile", "required when kubeletServer.tls.source is files") }
        } else if kubeletTLS.certFile != nil || kubeletTLS.keyFile != nil {
            problem(
                kubeletTLS.certFile != nil ? "kubeletServer.tls.certFile" : "kubeletServer.tls.keyFile",
                "only used with kubeletServer.tls.source: files (it is \(kubeletTLS.source.rawValue)); set source: files or remove the file")
        }
        if c.timings.leaseDuration <= c.timings.leaseRenewInterval {
            if locations["timings.leaseDuration"] != nil {
                problem("timings.leaseDuration", "must be longer than timings.leaseRenewInterval, or the Lease expires between renewals")
            } else {
                problem("timings.leaseRenewInterval", "must be shorter than timings.leaseDuration (default 40s), or the Lease expires between renewals")
            }
        }
        if c.timings.statusUpdateInterval > .seconds(60) {
            problem("timings.statusUpdateInterval", "must be at most 1m: the node lifecycle controller expects a status at least every minute")
        }
    }

    /// A problem with a rule across keys; none for a key whose own value was already refused.
    mutating func problem(_ keyPath: String, _ message: String) {
        if problems.contains(where: { $0.keyPath == keyPath }) { return }
        problems.append(ConfigurationProblem(location: locations[keyPath] ?? file, keyPath: keyPath, message: message))
    }
}

/// "Did you mean" for unknown keys and variables.
enum Suggestion {
    static func forUnknownKey(_ path: String) -> String {
        if let moved = AgentConfiguration.movedKeys[path] { return "unknown key: it moved to \(moved); write it there" }
        let parent = path.split(separator: ".").dropLast().joined(separator: ".")
        let name = String(path.split(separator: ".").last ?? "")
        if !parent.isEmpty, !AgentConfiguration.sectionPaths.contains(parent) {
            let sections = AgentConfiguration.sectionPaths.sorted()
            let hint = closest(to: parent, among: sections).map { "did you mean \($0)?" } ?? "sections are \(AgentConfiguration.sections.joined(separator: ", "))"
            return "unknown key: there is no section \(parent); \(hint)"
        }
        let siblings = Set(
            (AgentConfiguration.keys.map(\.path) + AgentConfiguration.sectionPaths).compactMap { candidate -> String? in
                let parts = candidate.split(separator: ".")
                guard parts.dropLast().joined(separator: ".") == parent else { return nil }
                return candidate
            })
        if let close = closest(to: path, among: Array(siblings)) { return "unknown key; did you mean \(close)?" }
        let elsewhere = AgentConfiguration.keys.map(\.path).filter { $0.split(separator: ".").last?.lowercased() == name.lowercased() }
        if !elsewhere.isEmpty { return "unknown key here; did you mean \(elsewhere.joined(separator: " or "))?" }
        let names = siblings.map { String($0.split(separator: ".").last ?? "") }.sorted()
        if names.isEmpty { return "unknown key; see docs/configuration.md" }
        return "unknown key; known keys here are \(names.joined(separator: ", "))"
    }

    /// The candidate nearest to `text` by edit distance (case-insensitive), if it is near enough.
    static func closest(to text: String, among candidates: [String]) -> String? {
        var best: (candidate: String, score: Int)?
        for candidate in candidates.sorted() {
            let score = distance(text.lowercased(), candidate.lowercased())
            if score < (best?.score ?? Int.max) { best = (candidate, score) }
        }
        guard let best, best.score <= max(2, text.count / 4) else { return nil }
        return best.candidate
    }

    /// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = Array(0...b.count)
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                let insertionOrDeletion = min(previous[j], current[j - 1]) + 1
                current[j] = min(substitution, insertionOrDeletion)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)  // a transposition
                }
            }
            beforePrevious = previous
            previous = current
        }
        return previous[b.count]
    }
}
