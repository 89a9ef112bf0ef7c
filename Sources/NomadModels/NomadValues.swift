import Foundation

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
    ///
    /// Parsed by hand: the status mapping reads several of these per allocation, and an
    /// `ISO8601DateFormatter` made per call (ICU) was 5 % of the agent's CPU in a 1,000-pod burst.
    public var date: Date? {
        let bytes = Array(rawValue.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start >= 0, start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }
        // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
        guard let year = digits(0, 4), byte(4) == UInt8(ascii: "-"), let month = digits(5, 2), byte(7) == UInt8(ascii: "-"),
            let day = digits(8, 2), byte(10) == UInt8(ascii: "T") || byte(10) == UInt8(ascii: "t"), let hour = digits(11, 2),
            byte(13) == UInt8(ascii: ":"), let minute = digits(14, 2), byte(16) == UInt8(ascii: ":"), let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            let first = index
            var scale = 0.1
            while let next = byte(index), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                fraction += Double(next - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > first else { return nil }
        }
        var offsetSeconds = 0
        switch byte(index) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHours = digits(index + 1, 2), byte(index + 3) == UInt8(ascii: ":"), let offsetMinutes = digits(index + 4, 2) else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (byte(index) == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        // Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil).
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // Go's zero time (year 1) means "never".
        guard seconds > -62_000_000_000 else { return nil }
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
