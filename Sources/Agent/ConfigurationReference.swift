import Foundation

/// Text generated from the key table: the tables of docs/configuration.md and the commented
/// config.yaml the Debian package installs. Tests compare the doc with ``markdownTable(section:)``.
public enum ConfigurationReference {
    /// The Markdown table of one section's keys: key, type, default, environment variable, meaning.
    public static func markdownTable(section: String) -> String {
        var lines = ["| Key | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
        for key in AgentConfiguration.keys where key.section == section {
            lines.append("| `\(key.path)` | \(key.type) | \(key.documentedDefault) | \(key.summary) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The marker lines around a generated table in docs/configuration.md.
    public static func markers(section: String) -> (begin: String, end: String) {
        ("<!-- generated: keys of \(section) (edit AgentConfiguration.keys, then UPDATE_GENERATED_DOCS=1 swift test --filter ConfigurationDocs) -->",
         "<!-- end of generated keys of \(section) -->")
    }

    /// `text` with every section's generated block replaced by the current table.
    public static func updatingMarkdown(_ text: String) -> String {
        var result = text
        for section in AgentConfiguration.sections {
            let (begin, end) = markers(section: section)
            guard let start = result.range(of: begin), let stop = result.range(of: end, range: start.upperBound..<result.endIndex) else { continue }
            result.replaceSubrange(start.upperBound..<stop.lowerBound, with: "\n" + markdownTable(section: section) + "\n")
        }
        return result
    }

    /// A complete config.yaml: every key present, commented out with its default (or an
    /// example), under uncommented section headings, so it parses as it is (only `node.name`
    /// must be set before the agent starts).
    public static func template() -> String {
        var lines = [
            "# nomad-kubelet configuration. Every key is listed, commented out, with its default (or an example",
            "# when it has none); uncomment what you change. Reference: man nomad-kubelet, /usr/share/doc/nomad-kubelet,",
            "# docs/configuration.md. Every key can also be set with NOMAD_KUBELET_<KEY_PATH> or --set key.path=value.",
        ]
        var openSections: [String] = []
        for key in AgentConfiguration.keys {
            let parts = key.path.split(separator: ".").map(String.init)
            let sections = Array(parts.dropLast())
            var common = 0
            while common < min(sections.count, openSections.count), sections[common] == openSections[common] { common += 1 }
            for depth in common..<sections.count {
                if depth == 0 { lines.append("") }
                lines.append(String(repeating: "  ", count: depth) + "\(sections[depth]):")
            }
            openSections = sections
            let indent = String(repeating: "  ", count: sections.count)
            let summary = key.summary.replacingOccurrences(of: "`", with: "")
            for line in wrap("\(summary) Default: \(key.documentedDefault.replacingOccurrences(of: "`", with: "")).", width: 96 - indent.count) {
                lines.append("\(indent)# \(line)")
            }
            let value = (key.defaultDescription != nil ? key.example : nil) ?? key.value(in: .defaults) ?? key.example ?? ""
            lines.append(value.isEmpty ? "\(indent)# \(parts.last ?? ""):" : "\(indent)# \(parts.last ?? ""): \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + word.count + 1 > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " \(word)"
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
