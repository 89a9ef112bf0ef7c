import NIOCore

/// Splits a byte stream of JSON objects into whole objects, whatever the chunk boundaries.
///
/// Nomad streams objects back to back: the event stream puts one per line, followed logs
/// concatenate frames with no separator (`{...}{...}{}`), and `{}` heartbeats are interleaved.
/// Tracks string and escape state so braces inside strings do not count. Scans each chunk in
/// place and copies an object out once, when it is complete (runs of string bytes, such as a log
/// frame's base64 `Data`, are skipped with a search for the next quote or backslash).
struct JSONObjectSplitter {
    /// The start of an object that began in an earlier chunk.
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Objects larger than this are a protocol error (a runaway stream), not buffered forever.
    let maximumObjectSize: Int

    init(maximumObjectSize: Int = 64 << 20) {
        self.maximumObjectSize = maximumObjectSize
    }

    /// True when bytes of an unfinished object are buffered.
    var hasPartialObject: Bool { depth > 0 }

    /// Feeds bytes; returns every object completed by them, in order.
    mutating func feed(_ bytes: [UInt8]) throws -> [[UInt8]] {
        try bytes.withUnsafeBufferPointer { try feed(contiguous: $0) }
    }

    /// Feeds bytes; returns every object completed by them, in order.
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws -> [[UInt8]] where Bytes.Element == UInt8 {
        if let objects = try bytes.withContiguousStorageIfAvailable({ try feed(contiguous: $0) }) { return objects }
        return try feed(Array(bytes))
    }

    private mutating func feed(contiguous bytes: UnsafeBufferPointer<UInt8>) throws -> [[UInt8]] {
        var objects: [[UInt8]] = []
        var index = 0
        // Where the current object starts in `bytes` (0 when it began in an earlier chunk).
        var objectStart = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if depth == 0 {
                switch byte {
                case UInt8(ascii: "{"):
                    depth = 1
                    objectStart = index
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    break
                default:
                    throw FramingError(description: "unexpected byte 0x\(String(byte, radix: 16)) between JSON objects")
                }
                index += 1
                continue
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                } else {
                    // Skip the plain run of the string up to the next quote or backslash.
                    var next = index + 1
                    while next < count, bytes[next] != UInt8(ascii: "\""), bytes[next] != UInt8(ascii: "\\") { next += 1 }
                    index = next
                    try checkSize(pending.count + index - objectStart)
                    continue
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    let tail = UnsafeBufferPointer(rebasing: bytes[objectStart...index])
                    if pending.isEmpty {
                        objects.append(Array(tail))
                    } else {
                        pending.append(contentsOf: tail)
                        objects.append(pending)
                        pending = []
                    }
                    try checkSize(objects[objects.count - 1].count)
                }
            default: break
            }
            index += 1
        }
        if depth > 0 {
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[objectStart...]))
            try checkSize(pending.count)
        }
        return objects
    }

    private func checkSize(_ size: Int) throws {
        if size > maximumObjectSize {
            throw FramingError(description: "a JSON object in the stream exceeds \(maximumObjectSize) bytes")
        }
    }

    /// A framing failure; wrapped into ``NomadClientError`` by the stream that hit it.
    struct FramingError: Error, CustomStringConvertible {
        var description: String
    }
}
