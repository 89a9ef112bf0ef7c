import Agent
import Foundation
import Testing

/// docs/configuration.md cannot drift from the key table: each section's table is generated from
/// ``AgentConfiguration/keys`` and compared here. `UPDATE_GENERATED_DOCS=1` rewrites the doc.
@Suite("Configuration docs")
struct ConfigurationDocsTests {
    static let document = AgentConfigurationTests.repository.appendingPathComponent("docs/configuration.md")

    @Test("docs/configuration.md has every section's generated table, unchanged")
    func tablesMatchTheKeyTable() throws {
        var text = try String(contentsOf: Self.document, encoding: .utf8)
        if ProcessInfo.processInfo.environment["UPDATE_GENERATED_DOCS"] == "1" {
            text = ConfigurationReference.updatingMarkdown(text)
            try text.write(to: Self.document, atomically: true, encoding: .utf8)
        }
        for section in AgentConfiguration.sections {
            let (begin, end) = ConfigurationReference.markers(section: section)
            let start = try #require(text.range(of: begin), "docs/configuration.md lacks the generated table of \(section)")
            let stop = try #require(text.range(of: end, range: start.upperBound..<text.endIndex), "the table of \(section) is not closed")
            let table = text[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(table == ConfigurationReference.markdownTable(section: section), "docs/configuration.md's \(section) table is stale; run UPDATE_GENERATED_DOCS=1 swift test --filter ConfigurationDocs")
        }
    }

    @Test("every key row in the doc is a key of the table, with the table's type and default")
    func noStrayRows() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        let keys = Dictionary(uniqueKeysWithValues: AgentConfiguration.keys.map { ($0.path, $0) })
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| `") }
        #expect(rows.count == keys.count)
        for row in rows {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let path = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let key = try #require(keys[path], "docs/configuration.md documents \(path), which is not a configuration key")
            #expect(cells[2] == key.type, "type of \(path)")
            #expect(cells[3] == key.documentedDefault, "default of \(path)")
        }
    }
}
