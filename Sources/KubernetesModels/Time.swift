import Foundation

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
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func byte(_ index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }
        guard let year = number(0, 4), byte(4) == UInt8(ascii: "-"), let month = number(5, 2), byte(7) == UInt8(ascii: "-"),
            let day = number(8, 2), byte(10) == UInt8(ascii: "T") || byte(10) == UInt8(ascii: "t"),
            let hour = number(11, 2), byte(13) == UInt8(ascii: ":"), let minute = number(14, 2),
            byte(16) == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index) == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while let digit = byte(index), digit >= 48, digit <= 57 {
                fraction += Double(digit - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds = 0
        switch byte(index) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHours = number(index + 1, 2), byte(index + 3) == UInt8(ascii: ":"),
                let offsetMinutes = number(index + 4, 2)
            else { return nil }
            let sign = byte(index) == UInt8(ascii: "-") ? -1 : 1
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
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
        let (year, month, day) = civilDate(daysSinceEpoch: Int(days))
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

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of `daysSinceEpoch` (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
