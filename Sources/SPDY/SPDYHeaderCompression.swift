import CZlib
import NIOCore

/// The zlib dictionary SPDY/3 primes both header compression contexts with (SPDY/3.1 section
/// 2.6.10.1): 65 length-prefixed header names and values, then a run of status codes, reason
/// phrases, dates and media types. Its Adler-32 (0xe3c6a7c2) is what the zlib stream header names.
enum SPDYHeaderDictionary {
    private static let words = [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location",
        "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
        "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
        "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
        "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
        "public", "set-cookie", "keep-alive", "origin",
    ]

    private static let tail =
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
        + "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
        + "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        + "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
        + "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
        + "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."

    /// The dictionary's bytes.
    static let bytes: [UInt8] = {
        var result: [UInt8] = []
        for word in words {
            let length = UInt32(word.utf8.count)
            result += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            result += Array(word.utf8)
        }
        return result + Array(tail.utf8)
    }()
}

/// One direction's header compressor: a zlib deflate stream primed with the SPDY dictionary and
/// shared by every header block this endpoint sends on the connection, each ended by Z_SYNC_FLUSH.
///
/// A class because zlib keeps a pointer back to its `z_stream`, which must therefore never move.
/// Not Sendable: it belongs to one connection's event loop.
final class SPDYHeaderDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialised = false

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialised { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses one header block and appends it, sync-flushed, to `output`.
    func compress(_ block: [UInt8], into output: inout ByteBuffer) throws {
        if !initialised {
            var status = czlib_deflateInit2(stream, Z_DEFAULT_COMPRESSION, 15, 8)
            guard status == Z_OK else { throw SPDYError.compressionFailure("deflateInit", zlibCode: status, message: nil) }
            initialised = true
            status = SPDYHeaderDictionary.bytes.withUnsafeBufferPointer {
                deflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
            }
            guard status == Z_OK else { throw SPDYError.compressionFailure("deflateSetDictionary", zlibCode: status, message: nil) }
        }
        var input = block
        try input.withUnsafeMutableBufferPointer { inputBytes in
            stream.pointee.next_in = inputBytes.baseAddress
            stream.pointee.avail_in = uInt(inputBytes.count)
            defer {
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
            }
            var status: Int32 = Z_OK
            repeat {
                let chunk = Int(deflateBound(stream, uLong(inputBytes.count))) + 16
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { outputBytes in
                    stream.pointee.next_out = outputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(chunk)
                    status = deflate(stream, Z_SYNC_FLUSH)
                    stream.pointee.next_out = nil
                    return chunk - Int(stream.pointee.avail_out)
                }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw SPDYError.compressionFailure("deflate", zlibCode: status, message: stream.pointee.msg.map { String(cString: $0) })
                }
            } while stream.pointee.avail_out == 0
            if stream.pointee.avail_in != 0 {
                throw SPDYError.compressionFailure("deflate", zlibCode: Z_BUF_ERROR, message: "input left over")
            }
        }
    }
}

/// One direction's header decompressor: a zlib inflate stream that supplies the SPDY dictionary
/// when the peer's stream asks for it, shared by every header block the peer sends.
///
/// A class for the same reason as `SPDYHeaderDeflater`; not Sendable.
final class SPDYHeaderInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialised = false

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one compressed header block; throws once the output would exceed `limit` bytes.
    func decompress(_ compressed: ByteBufferView, limit: Int) throws -> [UInt8] {
        if !initialised {
            let status = czlib_inflateInit(stream)
            guard status == Z_OK else { throw SPDYError.compressionFailure("inflateInit", zlibCode: status, message: nil) }
            initialised = true
        }
        var input = Array(compressed)
        var output: [UInt8] = []
        let chunkSize = 4096
        try input.withUnsafeMutableBufferPointer { inputBytes in
            stream.pointee.next_in = inputBytes.baseAddress
            stream.pointee.avail_in = uInt(inputBytes.count)
            defer {
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
            }
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            while true {
                var status: Int32 = Z_OK
                let produced = chunk.withUnsafeMutableBufferPointer { chunkBytes in
                    stream.pointee.next_out = chunkBytes.baseAddress
                    stream.pointee.avail_out = uInt(chunkSize)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    if status == Z_NEED_DICT {
                        status = SPDYHeaderDictionary.bytes.withUnsafeBufferPointer {
                            inflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                        }
                        if status == Z_OK { status = inflate(stream, Z_SYNC_FLUSH) }
                    }
                    stream.pointee.next_out = nil
                    return chunkSize - Int(stream.pointee.avail_out)
                }
                switch status {
                case Z_OK, Z_BUF_ERROR:
                    break
                case Z_STREAM_END:
                    throw SPDYError.compressionFailure("inflate", zlibCode: status, message: "the peer ended its compression stream")
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) }
                    throw SPDYError.compressionFailure("inflate", zlibCode: status, message: message)
                }
                guard output.count + produced <= limit else { throw SPDYError.headerBlockTooLarge(limit: limit) }
                output += chunk[0..<produced]
                // Done once all input is consumed and zlib had room to spare (nothing left to flush).
                if stream.pointee.avail_in == 0 && produced < chunkSize { break }
                if produced == 0 && status == Z_BUF_ERROR { break }
            }
            if stream.pointee.avail_in != 0 {
                throw SPDYError.compressionFailure("inflate", zlibCode: Z_BUF_ERROR, message: "\(stream.pointee.avail_in) compressed bytes could not be consumed")
            }
        }
        return output
    }
}

/// The uncompressed name/value block of SPDY/3: a 32-bit pair count, then per pair a 32-bit name
/// length, the name, a 32-bit value length and the value (several values joined by NUL).
enum SPDYNameValueBlock {
    static func encode(_ headers: SPDYHeaders) -> [UInt8] {
        var bytes: [UInt8] = []
        let grouped = headers.groupedForWire
        appendLength(grouped.count, to: &bytes)
        for (name, value) in grouped {
            appendLength(name.utf8.count, to: &bytes)
            bytes += name.utf8
            appendLength(value.utf8.count, to: &bytes)
            bytes += value.utf8
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> SPDYHeaders {
        var index = 0
        func readLength(_ what: String) throws -> Int {
            guard bytes.count - index >= 4 else { throw SPDYError.invalidHeaderBlock("the block ends inside the \(what)") }
            let value = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            index += 4
            return value
        }
        func readString(_ what: String) throws -> String {
            let length = try readLength("length of a \(what)")
            guard bytes.count - index >= length else {
                throw SPDYError.invalidHeaderBlock("a \(what) of \(length) bytes runs past the end of the block")
            }
            defer { index += length }
            return String(decoding: bytes[index..<index + length], as: UTF8.self)
        }
        let count = try readLength("pair count")
        // Each pair takes at least 8 bytes, so a count larger than that is a lie: refuse before looping.
        guard count <= (bytes.count - index) / 8 else {
            throw SPDYError.invalidHeaderBlock("it announces \(count) pairs but holds only \(bytes.count - index) bytes")
        }
        var headers = SPDYHeaders()
        var seen = Set<String>()
        for _ in 0..<count {
            let name = try readString("header name")
            guard !name.isEmpty else { throw SPDYError.invalidHeaderBlock("a header name is empty") }
            guard name == name.lowercased() else { throw SPDYError.invalidHeaderBlock("header name '\(name)' is not lower-case") }
            guard seen.insert(name).inserted else { throw SPDYError.invalidHeaderBlock("header name '\(name)' appears twice") }
            let value = try readString("value of header '\(name)'")
            for part in value.split(separator: "\0", omittingEmptySubsequences: false) {
                headers.add(name: name, value: String(part))
            }
        }
        guard index == bytes.count else { throw SPDYError.invalidHeaderBlock("\(bytes.count - index) bytes follow the last pair") }
        return headers
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        let value = UInt32(truncatingIfNeeded: length)
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
