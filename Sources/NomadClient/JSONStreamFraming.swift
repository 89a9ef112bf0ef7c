import NIOCore

/// Splits a byte stream of JSON objects into whole objects, whatever the chunk boundaries.
///
/// Nomad streams objects back to back: the event stream puts one per line, followed logs
/// concatenate frames with no separator (`{...}{...}{}`), and `{}` heartbeats are interleaved.
/// Tracks string and escape state so braces inside strings do not count.
struct JSONObjectSplitter {
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
    var hasPartialObject: Bool { !pending.isEmpty }

    /// Feeds bytes; returns every object completed by them, in order.
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws -> [[UInt8]] where Bytes.Element == UInt8 {
        var objects: [[UInt8]] = []
        for byte in bytes {
            if depth == 0 {
                switch byte {
                case UInt8(ascii: "{"):
                    depth = 1
                    pending = [byte]
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                default:
                    throw FramingError(description: "unexpected byte 0x\(String(byte, radix: 16)) between JSON objects")
                }
                continue
            }
            pending.append(byte)
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    objects.append(pending)
                    pending = []
                }
            default: break
            }
            if pending.count > maximumObjectSize {
                throw FramingError(description: "a JSON object in the stream exceeds \(maximumObjectSize) bytes")
            }
        }
        return objects
    }

    /// A framing failure; wrapped into ``NomadClientError`` by the stream that hit it.
    struct FramingError: Error, CustomStringConvertible {
        var description: String
    }
}
