import Foundation

/// A JSON value as the Nomad simulator stores and serves it.
///
/// `JSONValue` (KubernetesModels) and `NomadJSON` (NomadModels) keep every number as a `Double`,
/// which would corrupt Nomad's nanosecond timestamps (`CreateTime`, `SubmitTime`, event `Time`);
/// this type keeps integers as `Int64`.
enum WireJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([WireJSON])
    case object([String: WireJSON])

    subscript(key: String) -> WireJSON? {
        get {
            if case .object(let members) = self { return members[key] }
            return nil
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [WireJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: WireJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Parses JSON text; throws `DecodingError` with Foundation's message on malformed input.
    static func parse(_ data: Data) throws -> WireJSON {
        try JSONDecoder().decode(WireJSON.self, from: data)
    }

    /// Compact JSON with sorted keys (Go marshals map keys sorted).
    func serialized() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    /// Compact JSON text.
    var text: String { String(decoding: serialized(), as: UTF8.self) }
}

extension WireJSON: Codable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([WireJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: WireJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension WireJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(floatLiteral value: Double) { self = .double(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: WireJSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, WireJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    init(nilLiteral: ()) { self = .null }
}

extension WireJSON {
    /// A string-or-null value.
    static func optional(_ value: String?) -> WireJSON { value.map(WireJSON.string) ?? .null }
    /// An integer value.
    static func number(_ value: Int) -> WireJSON { .int(Int64(value)) }
    /// A `{String: String}` map.
    static func stringMap(_ value: [String: String]) -> WireJSON { .object(value.mapValues(WireJSON.string)) }
}

/// Time helpers in Nomad's wire units.
enum NomadTime {
    /// Nanoseconds since the epoch, as Nomad's `CreateTime`/`Time` fields.
    static func nowNanos() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) * 1_000
    }

    /// RFC 3339 with nanoseconds, as Go marshals `time.Time` (`2026-11-25T20:46:34.164329Z`).
    static func rfc3339(nanos: Int64) -> String {
        let seconds = nanos / 1_000_000_000
        let fraction = nanos % 1_000_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var base = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        if fraction != 0 {
            var digits = String(format: "%09lld", fraction)
            while digits.hasSuffix("0") { digits.removeLast() }
            base += "." + digits
        }
        return base + "Z"
    }

    /// Go's `time.Duration.String()` for a nanosecond count: `0s`, `2.041632546s`, `1m30s`, `250ms`.
    static func goDuration(nanos: Int64) -> String {
        if nanos == 0 { return "0s" }
        let negative = nanos < 0
        let value = negative ? -nanos : nanos
        var result: String
        if value < 1_000_000_000 {
            if value < 1_000 {
                result = "\(value)ns"
            } else if value < 1_000_000 {
                result = trimmed(Double(value) / 1_000, unit: "µs")
            } else {
                result = trimmed(Double(value) / 1_000_000, unit: "ms")
            }
        } else {
            let hours = value / 3_600_000_000_000
            let minutes = (value / 60_000_000_000) % 60
            let secondsNanos = value % 60_000_000_000
            var seconds = "\(secondsNanos / 1_000_000_000)"
            let fraction = secondsNanos % 1_000_000_000
            if fraction != 0 {
                var digits = String(format: "%09lld", fraction)
                while digits.hasSuffix("0") { digits.removeLast() }
                seconds += "." + digits
            }
            result = ""
            if hours > 0 { result += "\(hours)h" }
            if hours > 0 || minutes > 0 { result += "\(minutes)m" }
            result += seconds + "s"
        }
        return negative ? "-" + result : result
    }

    private static func trimmed(_ value: Double, unit: String) -> String {
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + unit
    }
}
