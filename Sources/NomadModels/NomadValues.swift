import Foundation
import Timestamps

/// A Nomad duration: the API carries durations as integer nanoseconds (`"KillTimeout": 5000000000`).
public struct NomadDuration: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The duration in nanoseconds, as on the wire.
    public var nanoseconds: Int64

    /// A duration of `nanoseconds`.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Converts a Swift `Duration`, truncating below a nanosecond and clamping to `Int64`.
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow {
            self.nanoseconds = seconds < 0 ? .min : .max
        } else {
            self.nanoseconds = scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
        }
    }

    /// `seconds` whole seconds.
    public static func seconds(_ seconds: Int64) -> NomadDuration { NomadDuration(nanoseconds: seconds * 1_000_000_000) }

    /// `milliseconds` milliseconds.
    public static func milliseconds(_ milliseconds: Int64) -> NomadDuration { NomadDuration(nanoseconds: milliseconds * 1_000_000) }

    /// The same span as a Swift `Duration`.
    public var duration: Duration { .nanoseconds(nanoseconds) }

    /// The span in seconds, for display and arithmetic with `Date`.
    public var timeInterval: TimeInterval { Double(nanoseconds) / 1_000_000_000 }

    public var description: String { "\(duration)" }

    public static func < (lhs: NomadDuration, rhs: NomadDuration) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public init(from decoder: any Decoder) throws {
        self.nanoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(nanoseconds)
    }
}

/// A point in time as Nomad sends it in task states and node fields: an RFC 3339 string with up to
/// nanosecond precision (`"2026-11-25T20:46:34.164329Z"`). Event and allocation times are integer
/// nanoseconds instead; convert those with ``NomadTime/date(fromUnixNanoseconds:)``.
///
/// The string is kept as received so a value re-encodes unchanged; Go's zero time
/// (`0001-01-01T00:00:00Z`) reads as "no time" through ``date``.
public struct NomadTime: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The RFC 3339 text as on the wire.
    public var rawValue: String

    /// Wraps an RFC 3339 string.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Formats a date as RFC 3339 with nanosecond precision in UTC.
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let nanos = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000_000).rounded())
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var text = formatter.string(from: Date(timeIntervalSince1970: seconds))
        if nanos > 0, text.hasSuffix("Z") {
            var fraction = String(format: "%09d", min(nanos, 999_999_999))
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text = String(text.dropLast()) + "." + fraction + "Z"
        }
        self.rawValue = text
    }

    /// The instant, or `nil` for Go's zero time or text that is not RFC 3339.
    public var date: Date? {
        // Go's zero time (year 1) means "never".
        guard let (seconds, fraction) = RFC3339Timestamp.parse(rawValue), seconds > -62_000_000_000 else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// A `Date` from Nomad's integer nanoseconds since the Unix epoch (`CreateTime`, event `Time`).
    public static func date(fromUnixNanoseconds nanoseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(nanoseconds) / 1_000_000_000)
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Any JSON value, for the open parts of Nomad's API (driver `Config` keys this package does not
/// model). NomadModels imports Foundation only, so it carries its own small JSON type rather than
/// sharing KubernetesModels' `JSONValue`.
public enum NomadJSON: Codable, Hashable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number (integers up to 2^53 round-trip exactly).
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([NomadJSON])
    /// An object.
    case object([String: NomadJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([NomadJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: NomadJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// A task's driver `Config`. The keys the agent uses with the `raw_exec` and `exec` drivers are typed;
/// every other key (other drivers, newer options) is kept in ``extra`` and re-encoded unchanged.
///
/// Version notes (read from the driver docs, not run here): agents validate driver config against the
/// driver's schema and reject unknown keys, so set the optional keys only for agents that have them:
/// `pid_mode`/`ipc_mode`/`cap_add`/`cap_drop` for `exec` (1.2+), `cap_add`/`cap_drop` for `raw_exec`
/// (newer releases), `work_dir` (1.8+). Nomad 1.1 accepts `command` and `args` for both drivers.
public struct TaskConfig: Codable, Hashable, Sendable {
    /// The program to run (`command`).
    public var command: String?
    /// Its arguments (`args`).
    public var args: [String]?
    /// `exec`: `private` or `host` PID namespace.
    public var pidMode: String?
    /// `exec`: `private` or `host` IPC namespace.
    public var ipcMode: String?
    /// Capabilities to add.
    public var capAdd: [String]?
    /// Capabilities to drop.
    public var capDrop: [String]?
    /// Working directory of the process.
    public var workDir: String?
    /// Every other key, as sent.
    public var extra: [String: NomadJSON]

    /// A driver config; unset keys are omitted from the JSON.
    public init(
        command: String? = nil, args: [String]? = nil, pidMode: String? = nil, ipcMode: String? = nil,
        capAdd: [String]? = nil, capDrop: [String]? = nil, workDir: String? = nil, extra: [String: NomadJSON] = [:]
    ) {
        self.command = command
        self.args = args
        self.pidMode = pidMode
        self.ipcMode = ipcMode
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.workDir = workDir
        self.extra = extra
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { self.stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let typedKeys: Set<String> = ["command", "args", "pid_mode", "ipc_mode", "cap_add", "cap_drop", "work_dir"]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        command = try container.decodeIfPresent(String.self, forKey: Key("command"))
        args = try container.decodeIfPresent([String].self, forKey: Key("args"))
        pidMode = try container.decodeIfPresent(String.self, forKey: Key("pid_mode"))
        ipcMode = try container.decodeIfPresent(String.self, forKey: Key("ipc_mode"))
        capAdd = try container.decodeIfPresent([String].self, forKey: Key("cap_add"))
        capDrop = try container.decodeIfPresent([String].self, forKey: Key("cap_drop"))
        workDir = try container.decodeIfPresent(String.self, forKey: Key("work_dir"))
        var extra: [String: NomadJSON] = [:]
        for key in container.allKeys where !Self.typedKeys.contains(key.stringValue) {
            extra[key.stringValue] = try container.decode(NomadJSON.self, forKey: key)
        }
        self.extra = extra
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in extra where !Self.typedKeys.contains(key) {
            try container.encode(value, forKey: Key(key))
        }
        try container.encodeIfPresent(command, forKey: Key("command"))
        try container.encodeIfPresent(args, forKey: Key("args"))
        try container.encodeIfPresent(pidMode, forKey: Key("pid_mode"))
        try container.encodeIfPresent(ipcMode, forKey: Key("ipc_mode"))
        try container.encodeIfPresent(capAdd, forKey: Key("cap_add"))
        try container.encodeIfPresent(capDrop, forKey: Key("cap_drop"))
        try container.encodeIfPresent(workDir, forKey: Key("work_dir"))
    }
}
