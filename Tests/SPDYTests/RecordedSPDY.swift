import Foundation
import NIOCore
import TestSupport

/// The SPDY connections in `kubernetes/07-kubelet-api-logs-exec-portforward.txt`: each frame as the
/// recording describes it and as hex.
struct RecordedSPDYConnection: CustomStringConvertible {
    enum Direction: Hashable { case apiserverToKubelet, kubeletToApiserver }

    struct Frame {
        var direction: Direction
        /// The recording's decoded description, e.g. `SYN_STREAM flags=0 stream=1 ... headers=[...]`.
        var summary: String
        var bytes: ByteBuffer

        /// The frame type word the recording starts its description with.
        var type: String { String(summary.prefix { $0 != " " }) }

        /// `stream=N` from the description, or the first word of a shown `payload=` (RST_STREAM); 0 when absent.
        var streamID: UInt32 {
            if let payload = summary.range(of: "payload=") {
                return UInt32(summary[payload.upperBound...].prefix(8), radix: 16) ?? 0
            }
            guard let range = summary.range(of: "stream=") else { return 0 }
            return UInt32(summary[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }

        /// The `headers=[('name', 'value'), ...]` list, in order.
        var headers: [(String, String)] {
            guard let start = summary.range(of: "headers=[")?.upperBound,
                  let end = summary[start...].firstIndex(of: "]") else { return [] }
            return summary[start..<end].components(separatedBy: "), (").map { pair in
                let parts = pair.components(separatedBy: "'").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                return (parts[0], parts[1])
            }
        }

        /// The data payload the description shows as a Python bytes literal (possibly shortened by
        /// the recorder), unescaped.
        var describedPayload: [UInt8]? {
            let quotes = [summary.range(of: " b'"), summary.range(of: " b\"")].compactMap { $0 }
            guard let quote = quotes.min(by: { $0.lowerBound < $1.lowerBound }) else { return nil }
            let delimiter = summary[summary.index(before: quote.upperBound)]
            var bytes: [UInt8] = []
            var characters = summary[quote.upperBound...].makeIterator()
            while let character = characters.next(), character != delimiter {
                guard character == "\\" else { bytes += Array(String(character).utf8); continue }
                switch characters.next() {
                case "n": bytes.append(0x0A)
                case "r": bytes.append(0x0D)
                case "t": bytes.append(0x09)
                case "x":
                    let hex = String([characters.next(), characters.next()].compactMap { $0 })
                    bytes.append(UInt8(hex, radix: 16) ?? 0)
                case let other?: bytes += Array(String(other).utf8)
                case nil: break
                }
            }
            return bytes
        }
    }

    var title: String
    var upgradeProtocol: String
    var frames: [Frame]

    var description: String { title }

    static let file = "kubernetes/07-kubelet-api-logs-exec-portforward.txt"

    /// Every connection of the recording that carries SPDY frames.
    static func all() throws -> [RecordedSPDYConnection] {
        var connections: [RecordedSPDYConnection] = []
        var title = ""
        var current: RecordedSPDYConnection?
        var pendingSummary: (Direction, String)?
        for line in try RecordedTraffic.text(file).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.hasPrefix("##### ") {
                if let done = current, !done.frames.isEmpty { connections.append(done) }
                current = nil
                title = String(line.dropFirst(6))
            } else if line.hasPrefix("=== connection") {
                current = RecordedSPDYConnection(title: title, upgradeProtocol: "", frames: [])
            } else if line.hasPrefix("X-Stream-Protocol-Version: "), current != nil {
                current?.upgradeProtocol = String(line.dropFirst("X-Stream-Protocol-Version: ".count))
            } else if line.hasPrefix("  apiserver -> kubelet  ") {
                pendingSummary = (.apiserverToKubelet, String(line.dropFirst("  apiserver -> kubelet  ".count)))
            } else if line.hasPrefix("  kubelet -> apiserver  ") {
                pendingSummary = (.kubeletToApiserver, String(line.dropFirst("  kubelet -> apiserver  ".count)))
            } else if line.hasPrefix("    hex: "), let (direction, summary) = pendingSummary {
                current?.frames.append(Frame(direction: direction, summary: summary, bytes: ByteBuffer(bytes: hexBytes(line.dropFirst(9)))))
                pendingSummary = nil
            }
        }
        if let done = current, !done.frames.isEmpty { connections.append(done) }
        return connections
    }
}

/// Bytes from a hex string (whitespace ignored).
func hexBytes(_ hex: some StringProtocol) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
}

extension ByteBuffer {
    /// The readable bytes as lower-case hex.
    var hexString: String {
        readableBytesView.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}
