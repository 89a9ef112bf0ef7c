import Foundation

/// The meta/v1 Status objects the kubelet writes on an exec's error stream and in refusals, encoded
/// as Go's `encoding/json` writes them (compact, fields in declaration order), so clients parse them
/// exactly as they parse a real kubelet's.
public struct StreamStatus: Sendable, Hashable {
    /// `Success` or `Failure`.
    public var status: String
    /// Human-readable text.
    public var message: String?
    /// Machine-readable reason (`NonZeroExitCode`, `InternalError`, `BadRequest`...).
    public var reason: String?
    /// `details.causes` as (reason, message) pairs.
    public var causes: [(reason: String?, message: String)]
    /// The HTTP code, when the status stands for one.
    public var code: Int?
    /// Whether `kind: Status` and `apiVersion: v1` are written (HTTP bodies carry them, the
    /// error stream's status does not).
    public var includesTypeMeta: Bool

    /// A status; see the static constructors for the ones the kubelet writes.
    public init(status: String, message: String? = nil, reason: String? = nil, causes: [(reason: String?, message: String)] = [], code: Int? = nil, includesTypeMeta: Bool = false) {
        self.status = status
        self.message = message
        self.reason = reason
        self.causes = causes
        self.code = code
        self.includesTypeMeta = includesTypeMeta
    }

    public static func == (lhs: StreamStatus, rhs: StreamStatus) -> Bool { lhs.json == rhs.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// The command exited with 0.
    public static let success = StreamStatus(status: "Success")

    /// The command exited with a non-zero code: reason `NonZeroExitCode`, the code as the
    /// `ExitCode` cause, and the message Go's `exec.ExitError` gives (`exit status N`).
    public static func exitCode(_ code: Int) -> StreamStatus {
        guard code != 0 else { return success }
        return StreamStatus(
            status: "Failure", message: "command terminated with non-zero exit code: exit status \(code)",
            reason: "NonZeroExitCode", causes: [(reason: "ExitCode", message: String(code))])
    }

    /// The command could not run (`apierrors.NewInternalError`): the text says what failed.
    public static func internalError(_ text: String) -> StreamStatus {
        StreamStatus(status: "Failure", message: "Internal error occurred: \(text)", reason: "InternalError", causes: [(reason: nil, message: text)], code: 500)
    }

    /// An HTTP refusal body (`kind: Status`).
    public static func refusal(code: Int, reason: String, message: String) -> StreamStatus {
        StreamStatus(status: "Failure", message: message, reason: reason, code: code, includesTypeMeta: true)
    }

    /// The text the pre-v4 protocols write for a failure (`StatusError.Error()`), nil for success.
    public var plainText: String? { status == "Success" ? nil : (message ?? reason ?? status) }

    /// The JSON, as Go's `json.Marshal(metav1.Status)` writes it.
    public var json: String {
        var fields: [String] = []
        if includesTypeMeta {
            fields.append(#""kind":"Status""#)
            fields.append(#""apiVersion":"v1""#)
        }
        fields.append(#""metadata":{}"#)
        fields.append(#""status":"# + Self.quoted(status))
        if let message { fields.append(#""message":"# + Self.quoted(message)) }
        if let reason { fields.append(#""reason":"# + Self.quoted(reason)) }
        if !causes.isEmpty {
            let causes = causes.map { cause in
                "{" + [cause.reason.map { #""reason":"# + Self.quoted($0) }, #""message":"# + Self.quoted(cause.message)].compactMap { $0 }.joined(separator: ",") + "}"
            }
            fields.append(#""details":{"causes":["# + causes.joined(separator: ",") + "]}")
        }
        if let code { fields.append(#""code":"# + String(code)) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}
