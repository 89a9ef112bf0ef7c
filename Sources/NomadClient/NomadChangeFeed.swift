import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NomadModels
import Synchronization

/// A change of Nomad state the agent reacts to.
public enum NomadChange: Sendable, Hashable {
    /// A job was registered or updated (including a stop: `Stop == true`).
    case job(Job)
    /// A job was deregistered. From blocking queries, when a job vanishes, only `ID` and `Namespace` are set.
    case jobDeregistered(Job)
    /// An allocation changed (placement, client status, task states).
    case allocation(Allocation)
    /// A client node changed (status, eligibility, drain).
    case node(NomadNode)
}

/// A change and the Raft index it happened at.
public struct NomadChangeEvent: Sendable, Hashable {
    /// The index of the change (`Index` of the event, or `ModifyIndex` of the object).
    public var index: UInt64
    /// What changed.
    public var change: NomadChange
}

/// What a change feed watches and how.
public struct NomadChangeFeedOptions: Sendable {
    /// The kinds of objects to watch.
    public struct Topics: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Jobs.
        public static let jobs = Topics(rawValue: 1)
        /// Allocations.
        public static let allocations = Topics(rawValue: 2)
        /// Client nodes.
        public static let nodes = Topics(rawValue: 4)
        /// All three.
        public static let all: Topics = [.jobs, .allocations, .nodes]
    }

    /// How changes are obtained.
    public enum Mode: Sendable, Hashable {
        /// The event stream when the agent has it (Nomad 1.0+), else blocking queries; also falls
        /// back when the stream endpoint is missing.
        case automatic
        /// `/v1/event/stream` only (Nomad 1.0+).
        case eventStream
        /// Blocking queries on `/v1/jobs`, `/v1/allocations`, `/v1/nodes` (every version).
        case blockingQueries
    }

    /// The objects to watch.
    public var topics: Topics
    /// Report changes after this index. List the current state first, then start the feed at the
    /// list's `X-Nomad-Index`, so nothing falls between the two.
    public var startIndex: UInt64
    /// How changes are obtained.
    public var mode: Mode
    /// How long a blocking query waits.
    public var blockingWait: Duration
    /// First delay before reconnecting after a failure (doubles up to 10 s).
    public var reconnectDelay: Duration
    /// Reconnect the event stream when nothing (not even a `{}` heartbeat, sent every 10 s by
    /// Nomad) arrived for this long: the connection died silently.
    public var streamIdleTimeout: Duration

    /// Feed options.
    public init(
        topics: Topics = .all, startIndex: UInt64 = 0, mode: Mode = .automatic, blockingWait: Duration = .seconds(60),
        reconnectDelay: Duration = .milliseconds(250), streamIdleTimeout: Duration = .seconds(45)
    ) {
        self.topics = topics
        self.startIndex = startIndex
        self.mode = mode
        self.blockingWait = blockingWait
        self.reconnectDelay = reconnectDelay
        self.streamIdleTimeout = streamIdleTimeout
    }
}

/// Where an event stream consumer is: resumes after a reconnect without losing or repeating events.
///
/// Nomad resumes a stream from `index=N` inclusively, may split one index over several lines and
/// sometimes repeats an event (same index, topic, type and key). The cursor drops everything older
/// than the last index and anything already seen at it.
struct EventStreamCursor: Sendable {
    private(set) var lastIndex: UInt64
    private var seenAtLastIndex: Set<String> = []
    /// A start index comes from a list the consumer already has: everything at it is known.
    private var everythingSeenAtLastIndex: Bool

    init(startIndex: UInt64) {
        self.lastIndex = startIndex
        self.everythingSeenAtLastIndex = startIndex > 0
    }

    /// The index to ask for when (re)connecting.
    var resumeIndex: UInt64 { lastIndex }

    /// `true` if the event is new and should be delivered; records it.
    mutating func accept(_ event: NomadEvent, batchIndex: UInt64?) -> Bool {
        guard let index = event.index ?? batchIndex else { return false }
        let identity = "\(event.topic?.rawValue ?? "")|\(event.type ?? "")|\(event.namespace ?? "")|\(event.key ?? "")"
        if index < lastIndex { return false }
        if index == lastIndex {
            return !everythingSeenAtLastIndex && seenAtLastIndex.insert(identity).inserted
        }
        lastIndex = index
        everythingSeenAtLastIndex = false
        seenAtLastIndex = [identity]
        return true
    }
}

/// The cursor shared by the stream reader and the feed (reference, so a reconnect resumes exactly).
final class SharedCursor: Sendable {
    let value: Mutex<EventStreamCursor>
    init(_ cursor: EventStreamCursor) { self.value = Mutex(cursor) }
}

/// When a stream last delivered bytes.
final class ActivityMark: Sendable {
    private let last = Mutex(ContinuousClock.now)
    func touch() { last.withLock { $0 = .now } }
    var idle: Duration { last.withLock { ContinuousClock.now - $0 } }
}

/// The event stream stayed silent longer than the idle timeout.
struct StreamIdle: Error, CustomStringConvertible {
    var idle: Duration
    var description: String { "no data or heartbeat from the event stream for \(idle)" }
}

/// Decodes event stream bytes into batches (one JSON object per line, `{}` heartbeats skipped).
struct EventStreamDecoder {
    private var splitter = JSONObjectSplitter()

    mutating func feed(_ bytes: [UInt8]) throws -> [EventBatch] {
        try splitter.feed(bytes).compactMap { object in
            let batch = try JSONDecoder().decode(EventBatch.self, from: Data(object))
            return batch.isHeartbeat ? nil : batch
        }
    }
}

/// Turns delivered events into changes.
func change(from event: NomadEvent) -> NomadChange? {
    switch event.topic {
    case .job?:
        guard let job = event.payload?.job else { return nil }
        return event.type == "JobDeregistered" ? .jobDeregistered(job) : .job(job)
    case .allocation?:
        return event.payload?.allocation.map(NomadChange.allocation)
    case .node?:
        return event.payload?.node.map(NomadChange.node)
    default:
        return nil
    }
}

/// Remembers the last `ModifyIndex` delivered per object, for blocking-query polling.
struct ModifyIndexTracker: Sendable {
    private var known: [String: UInt64] = [:]
    let startIndex: UInt64

    init(startIndex: UInt64) { self.startIndex = startIndex }

    /// `true` when the object is new or changed since last delivered and changed after the start index.
    mutating func isNew(id: String, modifyIndex: UInt64) -> Bool {
        defer { known[id] = max(known[id] ?? 0, modifyIndex) }
        if let previous = known[id] { return modifyIndex > previous }
        return modifyIndex > startIndex
    }

    /// IDs delivered before that are absent from `present`; forgets them.
    mutating func removed(keeping present: Set<String>) -> [String] {
        let gone = known.keys.filter { !present.contains($0) }.sorted()
        for id in gone { known[id] = nil }
        return gone
    }
}

extension NomadClient {
    /// Changes of jobs, allocations and nodes, as one sequence, until the consumer stops.
    ///
    /// Uses the event stream (`/v1/event/stream`, Nomad 1.0+) and falls back to blocking queries
    /// when the agent has no stream. Connection failures are retried with backoff and resume from
    /// the last index seen, so no change is lost or delivered twice. Only a refused ACL token (403)
    /// or a malformed stream ends the sequence with an error.
    public func changes(_ options: NomadChangeFeedOptions = NomadChangeFeedOptions()) -> AsyncThrowingStream<NomadChangeEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var useStream = options.mode != .blockingQueries
                    if options.mode == .automatic {
                        useStream = try await self.versionRetryingOutages(options).hasEventStream
                    }
                    let cursor = SharedCursor(EventStreamCursor(startIndex: options.startIndex))
                    if useStream {
                        let fellBack = try await self.followEventStream(options, cursor: cursor, continuation: continuation)
                        guard fellBack else { return continuation.finish() }
                        self.logger.info("Nomad event stream unavailable; using blocking queries", metadata: ["address": "\(self.displayAddress)"])
                    }
                    var fallbackOptions = options
                    fallbackOptions.startIndex = cursor.value.withLock { $0.lastIndex }
                    try await self.pollBlockingQueries(fallbackOptions, continuation: continuation)
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Follows the event stream, reconnecting from the cursor. Returns `true` when the agent has no
    /// event stream (404 in `.automatic` mode) so the caller falls back.
    private func followEventStream(
        _ options: NomadChangeFeedOptions, cursor: SharedCursor, continuation: AsyncThrowingStream<NomadChangeEvent, any Error>.Continuation
    ) async throws -> Bool {
        var topics: [(String, String)] = []
        if options.topics.contains(.jobs) { topics.append(("topic", "Job")) }
        if options.topics.contains(.allocations) { topics.append(("topic", "Allocation")) }
        if options.topics.contains(.nodes) { topics.append(("topic", "Node")) }
        var failures = 0
        while !Task.isCancelled {
            let resumeIndex = cursor.value.withLock { $0.resumeIndex }
            let target = target("/v1/event/stream", topics + [("index", String(resumeIndex))])
            do {
                let response = try await openStream(target, resource: "the event stream")
                failures = 0
                let lastActivity = ActivityMark()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var decoder = EventStreamDecoder()
                        for try await buffer in response.body {
                            lastActivity.touch()
                            for batch in try decoder.feed(Array(buffer.readableBytesView)) {
                                for event in batch.events ?? [] where cursor.value.withLock({ $0.accept(event, batchIndex: batch.index) }) {
                                    if let change = change(from: event) {
                                        continuation.yield(NomadChangeEvent(index: event.index ?? batch.index ?? 0, change: change))
                                    }
                                }
                            }
                        }
                    }
                    group.addTask {
                        // Watchdog: a silent connection is as good as a dead one.
                        while true {
                            try await Task.sleep(for: min(options.streamIdleTimeout / 3, .seconds(5)))
                            let idle = lastActivity.idle
                            if idle > options.streamIdleTimeout { throw StreamIdle(idle: idle) }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                logger.debug("Nomad event stream ended; reconnecting", metadata: ["index": "\(cursor.value.withLock { $0.resumeIndex })"])
            } catch let error as NomadClientError where error.kind == .notFound && options.mode == .automatic {
                return true
            } catch let error as NomadClientError where error.kind == .forbidden || error.kind == .badRequest || error.kind == .notFound {
                throw error
            } catch let error as JSONObjectSplitter.FramingError {
                throw NomadClientError.malformedResponse(request: "GET /v1/event/stream", reason: error.description)
            } catch let error as DecodingError {
                throw NomadClientError.malformedResponse(request: "GET /v1/event/stream", reason: "an event does not decode (\(error))")
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failures += 1
                logger.warning("Nomad event stream failed; reconnecting", metadata: ["error": "\(error)", "index": "\(cursor.value.withLock { $0.resumeIndex })"])
            }
            try await Task.sleep(for: reconnectBackoff(options.reconnectDelay, failures: failures))
        }
        throw CancellationError()
    }

    /// The agent version, waiting out an unreachable or unavailable agent like the feed does.
    private func versionRetryingOutages(_ options: NomadChangeFeedOptions) async throws -> NomadVersion {
        var failures = 0
        while true {
            do {
                return try await version()
            } catch let error as NomadClientError where error.kind == .unreachable || error.kind == .unavailable {
                failures += 1
                logger.warning("Nomad agent not reachable for the change feed; retrying", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: reconnectBackoff(options.reconnectDelay, failures: failures))
        }
    }

    private func reconnectBackoff(_ base: Duration, failures: Int) -> Duration {
        var delay = base
        for _ in 0..<min(failures, 6) { delay = delay * 2 }
        return min(delay, .seconds(10))
    }

    /// Polls the list endpoints with blocking queries, one loop per topic, until cancelled.
    private func pollBlockingQueries(_ options: NomadChangeFeedOptions, continuation: AsyncThrowingStream<NomadChangeEvent, any Error>.Continuation) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if options.topics.contains(.jobs) {
                group.addTask {
                    try await self.pollLoop(options) { index in
                        try await self.jobs(options: NomadQueryOptions(waitIndex: index, waitTime: options.blockingWait))
                    } id: { $0.id } modifyIndex: { $0.modifyIndex } fetch: { stub in
                        guard let id = stub.id else { return nil }
                        return .job(try await self.job(id).value)
                    } removed: { id in
                        .jobDeregistered(Job(id: id, namespace: self.configuration.namespace ?? "default"))
                    } emit: { continuation.yield($0) }
                }
            }
            if options.topics.contains(.allocations) {
                group.addTask {
                    try await self.pollLoop(options) { index in
                        try await self.allocations(options: NomadQueryOptions(waitIndex: index, waitTime: options.blockingWait))
                    } id: { $0.id } modifyIndex: { $0.modifyIndex } fetch: { stub in
                        guard let id = stub.id else { return nil }
                        return .allocation(try await self.allocation(id).value)
                    } removed: { _ in nil } emit: { continuation.yield($0) }
                }
            }
            if options.topics.contains(.nodes) {
                group.addTask {
                    try await self.pollLoop(options) { index in
                        try await self.nodes(options: NomadQueryOptions(waitIndex: index, waitTime: options.blockingWait))
                    } id: { $0.id } modifyIndex: { $0.modifyIndex } fetch: { stub in
                        guard let id = stub.id else { return nil }
                        return .node(try await self.node(id))
                    } removed: { _ in nil } emit: { continuation.yield($0) }
                }
            }
            try await group.waitForAll()
        }
    }

    /// One blocking-query loop: list, deliver objects whose `ModifyIndex` moved, wait for the next index.
    private func pollLoop<Stub: Sendable>(
        _ options: NomadChangeFeedOptions,
        list: @escaping @Sendable (UInt64) async throws -> NomadResponse<[Stub]>,
        id: @escaping @Sendable (Stub) -> String?,
        modifyIndex: @escaping @Sendable (Stub) -> UInt64?,
        fetch: @escaping @Sendable (Stub) async throws -> NomadChange?,
        removed: @escaping @Sendable (String) -> NomadChange?,
        emit: @escaping @Sendable (NomadChangeEvent) -> Void
    ) async throws {
        var tracker = ModifyIndexTracker(startIndex: options.startIndex)
        var waitIndex = options.startIndex
        var failures = 0
        while !Task.isCancelled {
            do {
                let response = try await list(waitIndex)
                failures = 0
                var present: Set<String> = []
                for stub in response.value {
                    guard let objectID = id(stub) else { continue }
                    present.insert(objectID)
                    let objectIndex = modifyIndex(stub) ?? response.index
                    guard tracker.isNew(id: objectID, modifyIndex: objectIndex) else { continue }
                    do {
                        if let change = try await fetch(stub) { emit(NomadChangeEvent(index: objectIndex, change: change)) }
                    } catch let error as NomadClientError where error.kind == .notFound {
                        continue  // deleted between the list and the read; the next list reports it
                    }
                }
                for objectID in tracker.removed(keeping: present) {
                    if let change = removed(objectID) { emit(NomadChangeEvent(index: response.index, change: change)) }
                }
                // An index that goes backwards means the servers' state was restored: start over.
                waitIndex = response.index < waitIndex ? 0 : max(response.index, 1)
                continue
            } catch let error as NomadClientError where error.kind == .forbidden || error.kind == .badRequest {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failures += 1
                logger.warning("Nomad blocking query failed; retrying", metadata: ["error": "\(error)", "index": "\(waitIndex)"])
            }
            try await Task.sleep(for: reconnectBackoff(options.reconnectDelay, failures: failures))
        }
        throw CancellationError()
    }
}
