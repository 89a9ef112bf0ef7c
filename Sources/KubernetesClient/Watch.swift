import AsyncHTTPClient
import Foundation
import KubernetesModels
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One event of a watch stream, as the client delivers it.
///
/// The wire form is `WatchEvent` (KubernetesModels); this enum is what remains after the client
/// has handled it: bookmarks reduced to their resourceVersion, ERROR events turned into errors.
///
/// ERROR events are not events: a 410 Status throws ``KubernetesClientError/Kind/resourceExpired``,
/// any other throws the matching error.
public enum WatchStreamEvent<Resource: Codable & Sendable>: Sendable {
    /// The object was created (or existed when the watch started from an old resourceVersion).
    case added(Resource)
    /// The object changed.
    case modified(Resource)
    /// The object was removed; this is its last state.
    case deleted(Resource)
    /// Nothing changed, but the collection reached this resourceVersion: resume from here.
    case bookmark(resourceVersion: String)

    /// The resourceVersion this event brings the watch to, when known.
    public var resourceVersion: String? {
        switch self {
        case .bookmark(let version): version
        case .added(let object), .modified(let object), .deleted(let object): WatchLineDecoder<Resource>.resourceVersion(of: object)
        }
    }
}

/// Splits a byte stream into lines (newline-delimited JSON), whatever the chunking.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []

    /// Creates an empty splitter.
    public init() {}

    /// Adds a chunk; returns the complete non-empty lines it finished, without their newlines.
    public mutating func append(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        pending.append(contentsOf: bytes)
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[start..<newline])
            if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { lines.append(line) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return lines
    }

    /// The bytes after the last newline (a line the server did not finish), if any.
    public mutating func finish() -> [UInt8]? {
        defer { pending = [] }
        let rest = pending.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }
        return rest.isEmpty ? nil : pending
    }
}

/// Decodes one watch line (`{"type":..., "object":...}`) into a ``WatchStreamEvent``.
public struct WatchLineDecoder<Resource: Codable & Sendable>: Sendable {
    private struct TypeOnly: Decodable {
        var type: String
    }

    /// A bookmark's object: only its resourceVersion is meaningful.
    private struct MetadataOnly: Codable, Sendable {
        struct Metadata: Codable, Sendable { var resourceVersion: String? }
        var metadata: Metadata?
    }

    /// Where the stream comes from, for error messages.
    public let url: String

    /// Creates a decoder; `url` names the watch in errors.
    public init(url: String) { self.url = url }

    /// Decodes one line, throwing ``KubernetesClientError`` for ERROR events and undecodable lines.
    public func decode(_ line: [UInt8]) throws -> WatchStreamEvent<Resource> {
        let data = Data(line)
        let decoder = JSONDecoder()
        do {
            let type = try decoder.decode(TypeOnly.self, from: data).type
            switch WatchEventType(rawValue: type) {
            case .bookmark:
                // Bookmark objects are hollow (e.g. a Pod with `containers: null`): read only the version.
                let version = try decoder.decode(WatchEvent<MetadataOnly>.self, from: data).object?.metadata?.resourceVersion ?? ""
                return .bookmark(resourceVersion: version)
            case .added, .modified, .deleted, .error:
                let event = try decoder.decode(WatchEvent<Resource>.self, from: data)
                switch event.payload {
                case .status(let status):
                    throw KubernetesClientError.watchError(status: status, url: url)
                case .object(let object):
                    switch event.type {
                    case .added: return .added(object)
                    case .modified: return .modified(object)
                    default: return .deleted(object)
                    }
                }
            case nil:
                throw KubernetesClientError.malformedResponse(url: url, problem: "unknown watch event type '\(type)'")
            }
        } catch let error as KubernetesClientError {
            throw error
        } catch {
            let preview = String(decoding: line.prefix(200), as: UTF8.self)
            throw KubernetesClientError.malformedResponse(url: url, problem: "cannot decode watch event (\(error)): \(preview)", underlying: error)
        }
    }

    /// `metadata.resourceVersion` of a typed or raw object.
    static func resourceVersion(of object: Resource) -> String? {
        if let resource = object as? any KubernetesResource { return resource.metadata.resourceVersion }
        if let raw = object as? JSONValue { return raw["metadata"]?["resourceVersion"]?.stringValue }
        return nil
    }
}

/// A watch: an `AsyncSequence` of events, opened on the first `next()`.
///
/// The sequence ends when the server closes the stream (its `timeoutSeconds` elapsed); resume
/// with the last event's resourceVersion. Cancelling the consuming task closes the connection.
/// A truncated last line throws `malformedResponse`; a connection lost mid-stream throws
/// `serverUnreachable`.
public struct WatchStream<Resource: Codable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = WatchStreamEvent<Resource>

    let client: KubernetesClient
    let request: KubernetesClient.APIRequest
    let timeoutSeconds: Int?

    /// Reads events from the open stream.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private enum State {
            case notStarted
            case streaming(HTTPClientResponse.Body.AsyncIterator)
            case finished
        }

        let stream: WatchStream
        private var state = State.notStarted
        private var splitter = LineSplitter()
        private var ready: [[UInt8]] = []
        private let decoder: WatchLineDecoder<Resource>

        init(stream: WatchStream) {
            self.stream = stream
            self.decoder = WatchLineDecoder(url: stream.client.url(for: stream.request))
        }

        /// The next event, or `nil` when the server ended the stream.
        public mutating func next() async throws -> WatchStreamEvent<Resource>? {
            while true {
                if !ready.isEmpty {
                    return try decoder.decode(ready.removeFirst())
                }
                switch state {
                case .finished:
                    return nil
                case .notStarted:
                    state = .finished
                    let response = try await stream.open()
                    state = .streaming(response.body.makeAsyncIterator())
                case .streaming(var body):
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await body.next()
                    } catch {
                        state = .finished
                        let classified = stream.client.transportError(error, url: decoder.url)
                        guard let clientError = classified as? KubernetesClientError, clientError.kind == .serverUnreachable else { throw classified }
                        throw KubernetesClientError.watchInterrupted(url: decoder.url, underlying: error)
                    }
                    guard let chunk else {
                        state = .finished
                        if let rest = splitter.finish() {
                            throw KubernetesClientError.malformedResponse(
                                url: decoder.url, problem: "the stream ended inside an event (\(rest.count) bytes without a newline)")
                        }
                        return nil
                    }
                    state = .streaming(body)
                    ready = splitter.append(chunk.readableBytesView)
                }
            }
        }
    }

    /// Starts the watch request; errors before the stream starts are retried per the policy.
    func open() async throws -> HTTPClientResponse {
        try await client.withRetries(request) {
            let deadline: NIODeadline = timeoutSeconds.map { .now() + .seconds(Int64($0) + 30) } ?? .distantFuture
            let response = try await client.start(request, deadline: deadline)
            guard response.status.code == 200 else {
                let url = client.url(for: request)
                let body = (try? await response.body.collect(upTo: 1024 * 1024)).map { Data(buffer: $0) } ?? Data()
                throw KubernetesClient.errorResponse(status: Int(response.status.code), retryAfterHeader: response.headers.first(name: "Retry-After"), body: body, method: "WATCH", url: url)
            }
            return response
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}

extension KubernetesClient {
    /// Watches a collection (all namespaces when `namespace` is nil) from `resourceVersion`.
    ///
    /// Without `resourceVersion` the server first sends the current objects as ADDED. With
    /// `allowWatchBookmarks` it sends BOOKMARK events carrying the latest resourceVersion. A
    /// resourceVersion the server no longer has throws `resourceExpired` (either as the response
    /// or as an ERROR event): list again.
    public func watch<Resource: KubernetesResource>(
        _ type: Resource.Type, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        resourceVersion: String? = nil, allowWatchBookmarks: Bool = true, timeoutSeconds: Int? = nil
    ) -> WatchStream<Resource> {
        watchStream(ResourceType(type), namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
            resourceVersion: resourceVersion, allowWatchBookmarks: allowWatchBookmarks, timeoutSeconds: timeoutSeconds)
    }

    /// Watches a collection of untyped objects (custom resources) as JSON.
    public func watch(
        _ resource: ResourceType, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        resourceVersion: String? = nil, allowWatchBookmarks: Bool = true, timeoutSeconds: Int? = nil
    ) -> WatchStream<JSONValue> {
        watchStream(resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
            resourceVersion: resourceVersion, allowWatchBookmarks: allowWatchBookmarks, timeoutSeconds: timeoutSeconds)
    }

    private func watchStream<Resource>(
        _ resource: ResourceType, namespace: String?, labelSelector: String?, fieldSelector: String?,
        resourceVersion: String?, allowWatchBookmarks: Bool, timeoutSeconds: Int?
    ) -> WatchStream<Resource> {
        var query = ListOptions(labelSelector: labelSelector, fieldSelector: fieldSelector, resourceVersion: resourceVersion).queryItems
        query.append(("watch", "true"))
        if allowWatchBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { query.append(("timeoutSeconds", String(timeoutSeconds))) }
        let request = APIRequest.get(resource.path(namespace: resource.isNamespaced ? namespace : nil), query: query)
        return WatchStream(client: self, request: request, timeoutSeconds: timeoutSeconds)
    }
}
