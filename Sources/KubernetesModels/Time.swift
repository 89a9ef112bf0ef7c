import Foundation
import Timestamps

/// A `meta/v1` Time: an RFC 3339 timestamp with second precision, as the API writes
/// `creationTimestamp`, `lastTransitionTime` or `startTime` (`2026-11-25T20:49:41Z`).
///
/// The text is kept exactly as received, so objects round-trip; `date` converts it.
public struct Time: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The timestamp as written.
    public var rawValue: String

    /// Wraps a timestamp as written; it is not checked until `date` or `parsedDate()` reads it.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A timestamp in code, e.g. `"2026-11-25T20:49:41Z"`.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The API server's format for `date`: UTC, whole seconds (fractions are truncated, as Go's
    /// `metav1.Time` marshals them).
    public init(_ date: Date) { rawValue = RFC3339.format(date, fractionDigits: 0) }

    /// The current time, in the API server's format.
    public static var now: Time { Time(Date()) }

    /// The instant, or `nil` when the text is not an RFC 3339 timestamp.
    public var date: Date? { RFC3339.parse(rawValue) }

    /// The instant; throws `KubernetesModelsError` naming the text when it is not RFC 3339.
    public func parsedDate() throws -> Date {
        guard let date else { throw KubernetesModelsError.invalidTime(rawValue) }
        return date
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A `meta/v1` MicroTime: an RFC 3339 timestamp with microseconds, as the API writes a Lease's
/// `renewTime` or an Event's `eventTime` (`2026-11-25T20:49:41.962204Z`).
///
/// The text is kept exactly as received, so objects round-trip; `date` converts it.
public struct MicroTime: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The timestamp as written.
    public var rawValue: String

    /// Wraps a timestamp as written; it is not checked until `date` or `parsedDate()` reads it.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A timestamp in code, e.g. `"2026-11-25T20:49:41.962204Z"`.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The API server's format for `date`: UTC with six fraction digits (Go's RFC3339Micro).
    public init(_ date: Date) { rawValue = RFC3339.format(date, fractionDigits: 6) }

    /// The current time, in the API server's format.
    public static var now: MicroTime { MicroTime(Date()) }

    /// The instant, or `nil` when the text is not an RFC 3339 timestamp.
    public var date: Date? { RFC3339.parse(rawValue) }

    /// The instant; throws `KubernetesModelsError` naming the text when it is not RFC 3339.
    public func parsedDate() throws -> Date {
        guard let date else { throw KubernetesModelsError.invalidTime(rawValue) }
        return date
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// RFC 3339 parsing and formatting done by hand: exact to the microsecond, independent of locale,
/// calendar and formatter thread-safety.
enum RFC3339 {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t` and `z` are accepted in either case.
    static func parse(_ text: String) -> Date? {
        guard let (seconds, fraction) = RFC3339Timestamp.parse(text) else { return nil }
        // Whole seconds and microseconds are added separately so the fraction keeps its precision.
        let micros = (fraction * 1_000_000).rounded()
        return Date(timeIntervalSince1970: TimeInterval(seconds) + micros / 1_000_000)
    }

    /// Formats `date` in UTC with `fractionDigits` (0 or 6) digits of fraction, truncating.
    static func format(_ date: Date, fractionDigits: Int) -> String {
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = totalMicros / 1_000_000
        var micros = totalMicros % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = RFC3339Timestamp.civilDate(daysSinceEpoch: Int(days))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        text += "\(pad(Int(secondOfDay / 3600), 2)):\(pad(Int(secondOfDay % 3600 / 60), 2)):\(pad(Int(secondOfDay % 60), 2))"
        if fractionDigits > 0 {
            text += "." + pad(Int(micros), 6)
        }
        return text + "Z"
    }
}
