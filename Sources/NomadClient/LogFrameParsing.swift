import Foundation

/// The fields of one framed-log object (`{"Data":"<base64>","File":"...","Offset":N,"FileEvent":"..."}`),
/// read straight from its bytes: Foundation's `JSONDecoder` and `Data(base64Encoded:)` cost tens of
/// microseconds per frame on Linux, which capped framed logs at ~25 MB/s.
///
/// Handles what Nomad writes: a flat object of strings without escapes, integers, `null` and
/// booleans. Anything else (an escape, a nested value, a fraction) makes ``parse(_:)`` return nil
/// and the caller falls back to `JSONDecoder`, so unusual but valid frames still decode.
struct LogFrameFields {
    /// The `Data` member's base64 text, as a range of the object's bytes.
    var data: Range<Int>?
    var file: String?
    var offset: Int64?
    var fileEvent: String?

    /// True for the `{}` heartbeat (no known member).
    var isHeartbeat: Bool { data == nil && file == nil && offset == nil && fileEvent == nil }

    /// Reads a frame; nil when it is not the flat shape this reader handles.
    static func parse(_ object: [UInt8]) -> LogFrameFields? {
        object.withUnsafeBufferPointer { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> LogFrameFields? {
        var fields = LogFrameFields()
        var index = 0
        func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
                default: return
                }
            }
        }
        /// A string without escapes; returns the range of its content.
        func string() -> Range<Int>? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                if bytes[end] == UInt8(ascii: "\\") { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            index = end + 1
            return start..<end
        }
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
            guard range.count == word.utf8CodeUnitCount else { return false }
            return word.withUTF8Buffer { zip(bytes[range], $0).allSatisfy { $0 == $1 } }
        }
        func literal(_ word: StaticString) -> Bool {
            let end = index + word.utf8CodeUnitCount
            guard end <= bytes.count, matches(index..<end, word) else { return false }
            index = end
            return true
        }

        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return fields }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                guard let value = string() else { return nil }
                if matches(key, "Data") {
                    fields.data = value
                } else if matches(key, "File") {
                    fields.file = text(value)
                } else if matches(key, "FileEvent") {
                    fields.fileEvent = text(value)
                } else if matches(key, "Offset") {
                    return nil
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let negative = bytes[index] == UInt8(ascii: "-")
                if negative { index += 1 }
                var value: Int64 = 0
                let digitsStart = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                    guard !overflow1, !overflow2 else { return nil }
                    value = sum
                    index += 1
                }
                guard index > digitsStart, index < bytes.count, ![UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) else {
                    return nil
                }
                if matches(key, "Offset") {
                    fields.offset = negative ? -value : value
                } else if matches(key, "Data") || matches(key, "File") || matches(key, "FileEvent") {
                    return nil
                }
            default:
                // null leaves a member unset (as the decoder's optionals do); booleans only for other members.
                if literal("null") { break }
                guard literal("true") || literal("false"), !["Data", "File", "FileEvent", "Offset"].contains(where: { matches(key, $0) }) else {
                    return nil
                }
            }
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return nil }
            index += 1
            skipSpace()
            return index == bytes.count ? fields : nil
        }
    }
}

/// Standard base64 (RFC 4648 section 4, with padding) as Go's `encoding/base64.StdEncoding` writes
/// it, decoded with a table; nil for text Go would refuse (a length that is not a multiple of 4, a
/// byte outside the alphabet, misplaced padding).
enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// The bytes `text` encodes, or nil when it is not valid padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> Data? {
        let count = text.count
        guard count % 4 == 0 else { return nil }
        if count == 0 { return Data() }
        var padding = 0
        if text[count - 1] == UInt8(ascii: "=") { padding = text[count - 2] == UInt8(ascii: "=") ? 2 : 1 }
        var output = Data(count: count / 4 * 3 - padding)
        let valid = table.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) -> Bool in
                var written = 0
                var index = 0
                while index < count {
                    let last = index + 4 == count
                    let a = table[Int(text[index])], b = table[Int(text[index + 1])]
                    let c3 = text[index + 2], d3 = text[index + 3]
                    let c = last && padding == 2 ? 0 : table[Int(c3)]
                    let d = last && padding >= 1 ? 0 : table[Int(d3)]
                    if (a | b | c | d) & 0xC0 != 0 { return false }
                    let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[written] = UInt8(truncatingIfNeeded: group >> 16)
                    if written + 1 < out.count { out[written + 1] = UInt8(truncatingIfNeeded: group >> 8) }
                    if written + 2 < out.count { out[written + 2] = UInt8(truncatingIfNeeded: group) }
                    written += 3
                    index += 4
                }
                return true
            }
        }
        return valid ? output : nil
    }
}
