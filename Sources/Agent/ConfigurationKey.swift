import Foundation
import KubernetesModels
import Yams

/// Where a configuration value came from; problems name it.
public enum ConfigurationOrigin: Sendable, Hashable {
    /// The YAML file at this path.
    case file(String)
    /// A `NOMAD_KUBELET_<KEY_PATH>` environment variable.
    case environment(String)
    /// A command-line `--set key.path=value` (or a dedicated flag).
    case flag
}

/// One thing wrong with the configuration: where, which key, what is wrong and what to do.
public struct ConfigurationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// `agent.yaml:12`, `$NOMAD_KUBELET_NOMAD_ADDRESS` or `--set`.
    public let location: String
    /// The key path, as written in the file (`node.taints[0].effect`).
    public let keyPath: String
    /// What is wrong and how to fix it.
    public let message: String

    /// A problem at `location` with the key `keyPath`.
    public init(location: String, keyPath: String, message: String) {
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String { "\(location): \(keyPath): \(message)" }
}

/// A YAML value being read for a key, with what is needed to report a problem with it.
struct ConfigValue {
    let node: Yams.Node
    let path: String
    let origin: ConfigurationOrigin

    var location: String {
        switch origin {
        case .file(let file): node.mark.map { "\(file):\($0.line)" } ?? file
        case .environment(let name): "$\(name)"
        case .flag: "--set"
        }
    }

    func problem(_ message: String) -> ConfigurationProblem {
        ConfigurationProblem(location: location, keyPath: path, message: message)
    }

    func child(_ suffix: String, _ node: Yams.Node) -> ConfigValue {
        ConfigValue(node: node, path: path + suffix, origin: origin)
    }

    func text() throws(ConfigurationProblem) -> String {
        guard node.scalar != nil, let value = node.string else { throw problem("expected a text value") }
        return value
    }

    func nonEmptyText() throws(ConfigurationProblem) -> String {
        let value = try text()
        if value.isEmpty { throw problem("must not be empty") }
        return value
    }

    func absolutePath() throws(ConfigurationProblem) -> String {
        let value = try nonEmptyText()
        guard value.hasPrefix("/") else { throw problem("\"\(value)\" is not an absolute path; write it from /") }
        return value
    }

    func bool() throws(ConfigurationProblem) -> Bool {
        guard let value = node.bool else { throw problem("expected true or false") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigurationProblem) -> Int {
        guard let value = node.int else { throw problem("expected a whole number") }
        guard range.contains(value) else { throw problem("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws(ConfigurationProblem) -> T where T.RawValue == String {
        let value = try text()
        guard let result = T(rawValue: value) else {
            throw problem("unknown value \"\(value)\"; use one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return result
    }

    /// A Go-style duration: `10s`, `500ms`, `1m30s`, `1h`.
    func duration() throws(ConfigurationProblem) -> Duration {
        guard let text = node.string, let value = DurationText.parse(text) else {
            throw problem("expected a duration such as 500ms, 10s, 1m30s or 1h")
        }
        if value <= .zero { throw problem("must be longer than zero") }
        return value
    }

    func list() throws(ConfigurationProblem) -> [ConfigValue] {
        guard let sequence = node.sequence else { throw problem("expected a list ([a, b] or one \"- item\" per line)") }
        return sequence.enumerated().map { child("[\($0.offset)]", $0.element) }
    }

    func textList() throws(ConfigurationProblem) -> [String] {
        var result: [String] = []
        for element in try list() { result.append(try element.nonEmptyText()) }
        return result
    }

    func map() throws(ConfigurationProblem) -> [(key: String, value: ConfigValue)] {
        guard let mapping = node.mapping else { throw problem("expected a mapping (key: value lines, or {key: value})") }
        return mapping.map { entry in
            let key = entry.key.string ?? "\(entry.key)"
            return (key, child(".\(key)", entry.value))
        }
    }

    func textMap() throws(ConfigurationProblem) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try map() { result[key] = try value.text() }
        return result
    }
}

/// One configuration key: its path, type, default and meaning, how to read it and how to show
/// its value. ``AgentConfiguration/keys`` lists them all; the parser, the environment and flag
/// overrides, docs/configuration.md and the packaged config.yaml all come from that one table.
public struct ConfigurationKey: Sendable {
    /// The dotted key path (`nomad.tls.caFile`).
    public let path: String
    /// The value's type as documented (`string`, `duration`, `list of strings`, ...).
    public let type: String
    /// What the key means (one or two sentences of Markdown).
    public let summary: String
    /// The default in words when it is not a plain value (`computed`, `(required)`); `nil` shows
    /// the value of ``AgentConfiguration/defaults``.
    let defaultDescription: String?
    /// A value shown (commented) in the config template when the key has no literal default.
    let example: String?
    let read: @Sendable (ConfigValue, inout AgentConfiguration) throws(ConfigurationProblem) -> Void
    let show: @Sendable (AgentConfiguration) -> String?

    /// The top-level section (`nomad`).
    public var section: String { String(path.prefix { $0 != "." }) }

    /// The overriding environment variable: `NOMAD_KUBELET_` and the key path in upper snake case
    /// (`nomad.tls.caFile` → `NOMAD_KUBELET_NOMAD_TLS_CA_FILE`).
    public var environmentVariable: String {
        var name = "NOMAD_KUBELET_"
        let characters = Array(path)
        for (index, character) in characters.enumerated() {
            if character == "." {
                name += "_"
                continue
            }
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { name += "_" }
            }
            name += character.uppercased()
        }
        return name
    }

    /// The default as documented: a value in backticks, words, or `none`.
    public var documentedDefault: String {
        if let defaultDescription { return defaultDescription }
        return show(AgentConfiguration.defaults).map { "`\($0)`" } ?? "none"
    }

    /// This key's value in `configuration`, as YAML flow text; `nil` when unset.
    public func value(in configuration: AgentConfiguration) -> String? { show(configuration) }

    init<T>(
        _ path: String, _ keyPath: any WritableKeyPath<AgentConfiguration, T> & Sendable, type: String, default defaultDescription: String? = nil,
        example: String? = nil, _ summary: String,
        parse: @escaping @Sendable (ConfigValue) throws(ConfigurationProblem) -> T, show: @escaping @Sendable (T) -> String?
    ) {
        self.path = path
        self.type = type
        self.summary = summary
        self.defaultDescription = defaultDescription
        self.example = example
        self.read = { (value: ConfigValue, configuration: inout AgentConfiguration) throws(ConfigurationProblem) in
            configuration[keyPath: keyPath] = try parse(value)
        }
        self.show = { configuration in show(configuration[keyPath: keyPath]) }
    }
}

/// Renders values as YAML flow text (for docs, the template and `check`).
enum YAMLFlow {
    static func text(_ value: String) -> String {
        let plain = !value.isEmpty && value.allSatisfy { $0.isLetter || $0.isNumber || "_-./@".contains($0) }
        let ambiguous = ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(value.lowercased()) || Double(value) != nil
        if plain && !ambiguous && !value.hasPrefix("-") { return value }
        if value.range(of: "^[a-z]+://[^ ,\\[\\]{}#]+$", options: .regularExpression) != nil { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }

    static func list(_ values: [String]) -> String { "[" + values.map(text).joined(separator: ", ") + "]" }

    static func map(_ values: [String: String]) -> String {
        "{" + values.sorted { $0.key < $1.key }.map { "\(text($0.key)): \(text($0.value))" }.joined(separator: ", ") + "}"
    }

    static func duration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        var milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0s" }
        var result = ""
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000), ("ms", 1)] where milliseconds >= size {
            result += "\(milliseconds / size)\(unit)"
            milliseconds %= size
        }
        return result
    }
}

/// Go-style duration text (`1h30m`, `10s`, `250ms`).
enum DurationText {
    /// Parses a duration; `nil` when the text is not one.
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.isEmpty { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let seconds: Double
            switch unit {
            case "ms": seconds = number / 1000
            case "s": seconds = number
            case "m": seconds = number * 60
            case "h": seconds = number * 3600
            default: return nil
            }
            total += .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return total
    }
}
