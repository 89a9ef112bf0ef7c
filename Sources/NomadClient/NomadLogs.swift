import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NomadModels

/// Which log of a task to read.
public enum NomadLogType: String, Sendable {
    /// The task's standard output.
    case stdout
    /// The task's standard error.
    case stderr
}

/// Where a log `offset` counts from.
public enum NomadLogOrigin: String, Sendable {
    /// Offset bytes from the beginning.
    case start
    /// Offset bytes before the end (the last N bytes).
    case end
}

/// A piece of a task log: bytes, or a file event (`file truncated`, `file deleted`) from the framed form.
public struct NomadLogChunk: Sendable, Hashable {
    /// The log bytes (empty for a file event).
    public var data: Data
    /// The log file the bytes came from (framed form only), e.g. `alloc/logs/web.stdout.0`.
    public var file: String?
    /// The offset in `file` after these bytes (framed form only).
    public var offset: Int64?
    /// A file event instead of data (framed form only).
    public var fileEvent: String?

    /// A chunk.
    public init(data: Data, file: String? = nil, offset: Int64? = nil, fileEvent: String? = nil) {
        self.data = data
        self.file = file
        self.offset = offset
        self.fileEvent = fileEvent
    }
}

/// Turns the body of `/v1/client/fs/logs` into chunks: plain bodies pass through, framed bodies
/// (concatenated JSON `StreamFrame`s with base64 `Data` and `{}` heartbeats) are decoded.
/// Public for the micro-benchmarks (Benchmarks/); the client uses it through ``NomadClient/logs(allocationID:task:type:origin:offset:follow:plain:)``.
public struct LogFrameDecoder {
    /// True when the body is raw bytes (`plain=true`), false for base64 frames.
    public let plain: Bool
    private var splitter = JSONObjectSplitter()

    /// A decoder for a plain or a framed body.
    public init(plain: Bool) { self.plain = plain }

    /// Feeds the next bytes of the body; returns the chunks they complete.
    public mutating func feed(_ bytes: [UInt8]) throws -> [NomadLogChunk] {
        if plain { return bytes.isEmpty ? [] : [NomadLogChunk(data: Data(bytes))] }
        return try splitter.feed(bytes).compactMap(Self.chunk(from:))
    }

    /// One frame's chunk, or nil for a heartbeat or a frame without bytes or event.
    private static func chunk(from object: [UInt8]) throws -> NomadLogChunk? {
        let notBase64 = JSONObjectSplitter.FramingError(description: "a log frame's Data is not base64")
        guard let fields = LogFrameFields.parse(object) else {
            // Not the flat shape Nomad writes (escapes, nesting): the general decoder reads it.
            let frame = try JSONDecoder().decode(StreamFrame.self, from: Data(object))
            if frame.isHeartbeat { return nil }
            guard let data = frame.data.map({ Array($0.utf8).withUnsafeBufferPointer { Base64.decode($0) } }) ?? Data() else { throw notBase64 }
            if frame.fileEvent == nil, data.isEmpty { return nil }
            return NomadLogChunk(data: data, file: frame.file, offset: frame.offset, fileEvent: frame.fileEvent)
        }
        if fields.isHeartbeat { return nil }
        var data = Data()
        if let range = fields.data {
            guard let decoded = object.withUnsafeBufferPointer({ Base64.decode(UnsafeBufferPointer(rebasing: $0[range])) }) else { throw notBase64 }
            data = decoded
        }
        if fields.fileEvent == nil, data.isEmpty { return nil }
        return NomadLogChunk(data: data, file: fields.file, offset: fields.offset, fileEvent: fields.fileEvent)
    }

    /// Checks the stream did not stop inside a frame.
    public func finish() throws {
        if !plain, splitter.hasPartialObject {
            throw JSONObjectSplitter.FramingError(description: "the log stream ended inside a frame (truncated)")
        }
    }
}

extension NomadClient {
    /// Streams a task's log from `/v1/client/fs/logs/:alloc`.
    ///
    /// With `follow`, the stream stays open and yields new output as the task writes it, until the
    /// consumer stops iterating or cancels its task; that closes the connection. `plain` asks Nomad
    /// for raw bytes instead of base64 frames (frames also report truncation and rotation). The body
    /// is read only as fast as the consumer iterates, so a slow consumer slows Nomad down instead of
    /// the log piling up in memory.
    public func logs(
        allocationID: String, task: String, type: NomadLogType = .stdout, origin: NomadLogOrigin = .start,
        offset: Int64 = 0, follow: Bool = false, plain: Bool = false
    ) -> NomadLogStream {
        var query: [(String, String)] = [("task", task), ("type", type.rawValue), ("origin", origin.rawValue), ("offset", String(offset))]
        if follow { query.append(("follow", "true")) }
        if plain { query.append(("plain", "true")) }
        let target = target("/v1/client/fs/logs/\(Self.pathSegment(allocationID))", query)
        return NomadLogStream(client: self, target: target, resource: "logs of task \"\(task)\" in allocation \(allocationID)", plain: plain)
    }

    /// Sends a streaming GET: retried like other reads until the headers arrive; a non-2xx answer
    /// is read in full and mapped to a ``NomadClientError``.
    func openStream(_ target: String, resource: String?) async throws -> HTTPClientResponse {
        var attempt = 0
        while true {
            attempt += 1
            let request = makeRequest(.get, target, body: nil)
            do {
                // No overall deadline: the stream lives as long as its consumer.
                let response = try await httpClient.execute(request, deadline: .distantFuture, logger: logger)
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return response }
                let body = try await response.body.collect(upTo: 1 << 20)
                let error = NomadClientError.response(status: status, method: "GET", path: target, resource: resource, body: String(buffer: body))
                guard [500, 502, 503, 504].contains(status), error.kind != .enforceIndexConflict, attempt < configuration.retry.maxAttempts else { throw error }
            } catch let error as NomadClientError {
                throw error
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                guard attempt < configuration.retry.maxAttempts else {
                    throw NomadClientError.unreachable(address: displayAddress, underlying: error)
                }
            }
            try await Task.sleep(for: configuration.retry.backoff(afterAttempt: attempt))
        }
    }
}

/// A task's log as chunks, from ``NomadClient/logs(allocationID:task:type:origin:offset:follow:plain:)``.
///
/// Iterating sends the request; each `next()` reads the body only as far as it needs to, so
/// Nomad's output is pulled at the consumer's pace. Ending the iteration (or cancelling the
/// iterating task) cancels the request, which closes the connection.
public struct NomadLogStream: AsyncSequence, Sendable {
    /// A chunk of the log.
    public typealias Element = NomadLogChunk

    let client: NomadClient
    let target: String
    let resource: String
    let plain: Bool

    /// An iterator that opens the stream on its first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: self, decoder: LogFrameDecoder(plain: plain))
    }

    /// Reads the body buffer by buffer and hands out the chunks each one completes.
    public struct Iterator: AsyncIteratorProtocol {
        let stream: NomadLogStream
        var decoder: LogFrameDecoder
        var body: HTTPClientResponse.Body.AsyncIterator?
        var ready: [NomadLogChunk] = []
        var readyIndex = 0
        var finished = false

        init(stream: NomadLogStream, decoder: LogFrameDecoder) {
            self.stream = stream
            self.decoder = decoder
        }

        /// The next chunk; nil at the end of the log (or of a followed log when Nomad closes it).
        public mutating func next() async throws -> NomadLogChunk? {
            do {
                while true {
                    if readyIndex < ready.count {
                        defer { readyIndex += 1 }
                        return ready[readyIndex]
                    }
                    if finished { return nil }
                    if body == nil { body = try await stream.client.openStream(stream.target, resource: stream.resource).body.makeAsyncIterator() }
                    guard let buffer = try await body?.next() else {
                        finished = true
                        body = nil
                        try decoder.finish()
                        return nil
                    }
                    ready = try decoder.feed(Array(buffer.readableBytesView))
                    readyIndex = 0
                }
            } catch let error as JSONObjectSplitter.FramingError {
                finished = true
                throw NomadClientError.malformedResponse(request: "GET \(stream.target)", reason: error.description)
            } catch let error as DecodingError {
                finished = true
                throw NomadClientError.malformedResponse(request: "GET \(stream.target)", reason: "a frame does not decode (\(error))")
            }
        }
    }
}
