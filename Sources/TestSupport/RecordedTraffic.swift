import Foundation

/// One request/response pair recorded from a real server, as written in the `### title` files under
/// `Tests/Fixtures/recorded/` (`> ` request lines, `< ` response lines, then the response body).
public struct RecordedExchange: Sendable {
    /// The text after `### `.
    public var title: String
    /// The HTTP method of the request (`GET`, `POST`, ...).
    public var method: String
    /// The request target: path and query, exactly as sent.
    public var target: String
    /// Request headers in the order recorded (names as written).
    public var requestHeaders: [(name: String, value: String)]
    /// The request body, if one was recorded.
    public var requestBody: String?
    /// The response status code, e.g. 409.
    public var status: Int
    /// Response headers in the order recorded.
    public var responseHeaders: [(name: String, value: String)]
    /// The response body as recorded (pretty-printed JSON or plain text), without the recorder's
    /// trailing `# ` commentary; empty when there was none.
    public var responseBody: String

    /// The value of the first response header with that name, compared case-insensitively.
    public func responseHeader(_ name: String) -> String? {
        responseHeaders.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The path part of `target`, without the query.
    public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
}

/// A streamed response recorded as received (watch, event stream, followed logs): a `# ` header block
/// naming the request and status, then the raw body.
public struct RecordedStream: Sendable {
    /// The request line after `# `, e.g. `GET /api/v1/pods?watch=true`.
    public var request: String
    /// The status line, e.g. `HTTP/2 200`.
    public var statusLine: String
    /// The raw body, one line per line received.
    public var body: String

    /// The body's non-empty lines.
    public var lines: [String] { body.split(separator: "\n").map(String.init) }
}

/// Reads the recordings in `Tests/Fixtures/recorded/`.
public enum RecordedTraffic {
    /// The folder holding the recordings in this source tree.
    public static var directory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("Tests/Fixtures/recorded")
    }

    /// The text of a recording, by its path below the recordings folder (e.g. `nomad/03-logs.txt`).
    public static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// Every `### ` exchange in a recording file, in order. Sections without a request line are skipped.
    public static func exchanges(_ relativePath: String) throws -> [RecordedExchange] {
        parseExchanges(try text(relativePath))
    }

    /// The exchange whose title contains `titleFragment`.
    public static func exchange(_ relativePath: String, titled titleFragment: String) throws -> RecordedExchange {
        guard let found = try exchanges(relativePath).first(where: { $0.title.contains(titleFragment) }) else {
            throw RecordingNotFound(file: relativePath, title: titleFragment)
        }
        return found
    }

    /// A stream recording (a file that starts with a `# ` header block).
    public static func stream(_ relativePath: String) throws -> RecordedStream {
        parseStream(try text(relativePath))
    }

    /// Parses the `### ` exchange format.
    public static func parseExchanges(_ text: String) -> [RecordedExchange] {
        var result: [RecordedExchange] = []
        let sections = text.components(separatedBy: "\n### ").dropFirst()
        for section in sections {
            let lines = section.components(separatedBy: "\n")
            let title = lines.first ?? ""
            var requestLines: [String] = []
            var responseLines: [String] = []
            var bodyLines: [String] = []
            var index = 1
            while index < lines.count, lines[index].hasPrefix(">") {
                requestLines.append(String(lines[index].dropFirst(min(2, lines[index].count))))
                index += 1
            }
            while index < lines.count, lines[index].hasPrefix("<") {
                responseLines.append(String(lines[index].dropFirst(min(2, lines[index].count))))
                index += 1
            }
            bodyLines = Array(lines[index...])
            guard let requestLine = requestLines.first, let statusLine = responseLines.first else { continue }
            let requestParts = requestLine.split(separator: " ", maxSplits: 2).map(String.init)
            guard requestParts.count >= 2 else { continue }
            var requestHeaders: [(String, String)] = []
            var requestBody: [String] = []
            var inRequestBody = false
            for line in requestLines.dropFirst() {
                if inRequestBody {
                    requestBody.append(line)
                } else if line.isEmpty {
                    inRequestBody = true
                } else if let header = headerPair(line) {
                    requestHeaders.append(header)
                } else {
                    inRequestBody = true
                    requestBody.append(line)
                }
            }
            let responseHeaders = responseLines.dropFirst().compactMap(headerPair)
            let status = Int(statusLine.split(separator: " ").first ?? "") ?? 0
            // Drop trailing blank lines and the recorder's `# ` commentary that follows some bodies.
            while let last = bodyLines.last, last.trimmingCharacters(in: .whitespaces).isEmpty || last.hasPrefix("#") {
                bodyLines.removeLast()
            }
            let joinedRequestBody = requestBody.joined(separator: "\n")
            result.append(
                RecordedExchange(
                    title: title,
                    method: requestParts[0],
                    target: requestParts[1],
                    requestHeaders: requestHeaders,
                    requestBody: joinedRequestBody.isEmpty ? nil : joinedRequestBody,
                    status: status,
                    responseHeaders: responseHeaders,
                    responseBody: bodyLines.joined(separator: "\n")
                )
            )
        }
        return result
    }

    /// Parses the `# ` header block + raw body format of stream recordings.
    public static func parseStream(_ text: String) -> RecordedStream {
        var headerLines: [String] = []
        var bodyLines: [String] = []
        var inBody = false
        for line in text.components(separatedBy: "\n") {
            if !inBody, line.hasPrefix("#") {
                headerLines.append(String(line.dropFirst(min(2, line.count))))
                if line.hasPrefix("# --- body") { inBody = true }
            } else {
                inBody = true
                bodyLines.append(line)
            }
        }
        return RecordedStream(
            request: headerLines.first ?? "",
            statusLine: headerLines.count > 1 ? headerLines[1] : "",
            body: bodyLines.joined(separator: "\n")
        )
    }

    private static func headerPair(_ line: String) -> (String, String)? {
        guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("{"), !line.contains(" ") || line.firstIndex(of: " ")! > colon
        else { return nil }
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        return (name, value)
    }
}

/// Thrown when a test asks for a recording that is not there.
public struct RecordingNotFound: Error, CustomStringConvertible {
    /// The recording file that was searched.
    public var file: String
    /// The title fragment that matched no exchange.
    public var title: String
    public var description: String { "no exchange titled '\(title)' in \(file)" }
}
