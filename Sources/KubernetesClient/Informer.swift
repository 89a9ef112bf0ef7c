import KubernetesModels
import Logging

/// A change to the informer's cache, as delivered to consumers.
public enum InformerEvent<Resource: KubernetesResource>: Sendable {
    /// An object appeared (or was present when the consumer subscribed).
    case added(Resource)
    /// An object changed from `old` to `new` (`new` has a newer resourceVersion).
    case updated(old: Resource, new: Resource)
    /// An object went away; this is its last known state.
    case deleted(Resource)
    /// Periodic resync: the object has not changed, it is re-delivered so a consumer can
    /// reconcile again. Only sent when `resyncInterval` is set.
    case resynced(Resource)
}

/// List + watch of one collection, with a local cache and a stream of changes to consumers.
///
/// ``run()`` lists (following pagination), then watches from the list's resourceVersion with
/// bookmarks. When the watch ends (server timeout) or the connection drops, it resumes from
/// the last resourceVersion it saw (events and bookmarks advance it). When the server answers
/// 410 (`resourceExpired`, as a response or an ERROR event) it lists again and diffs the list
/// against the cache, emitting exactly the changes it missed: objects gone become `deleted`,
/// new ones `added`, changed ones (different resourceVersion) `updated`; an object recreated
/// under the same name (new uid) is `deleted` then `added`. Events whose resourceVersion is not
/// newer than the cached object's (a replayed history) are dropped, so consumers never see a
/// duplicate.
///
/// Resync: with `resyncInterval`, every cached object is re-sent as `.resynced` at that
/// interval; without it (the default) consumers only see real changes.
public actor Informer<Resource: KubernetesResource> {
    /// What to watch and how.
    public struct Configuration: Sendable {
        /// Namespace to watch; nil for all namespaces.
        public var namespace: String?
        public var labelSelector: String?
        public var fieldSelector: String?
        /// Page size of the initial and recovery lists.
        public var pageSize: Int?
        /// How long each watch request may last before the server ends it and the informer resumes.
        public var watchTimeoutSeconds: Int
        /// Interval of `.resynced` re-deliveries; nil disables resync.
        public var resyncInterval: Duration?

        /// Creates a configuration; by default all namespaces, 5-minute watches, no resync.
        public init(
            namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil, pageSize: Int? = 500,
            watchTimeoutSeconds: Int = 300, resyncInterval: Duration? = nil
        ) {
            self.namespace = namespace
            self.labelSelector = labelSelector
            self.fieldSelector = fieldSelector
            self.pageSize = pageSize
            self.watchTimeoutSeconds = watchTimeoutSeconds
            self.resyncInterval = resyncInterval
        }
    }

    private let client: KubernetesClient
    private let configuration: Configuration
    private var logger: Logger
    private var cache: [String: Resource] = [:]
    private var subscribers: [Int: AsyncStream<InformerEvent<Resource>>.Continuation] = [:]
    private var nextSubscriberID = 0
    private var synced = false
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    /// The resourceVersion the next watch starts from.
    public private(set) var lastResourceVersion: String?
    /// How many times the informer listed (1 after the first sync; more after 410s).
    public private(set) var listCount = 0

    /// Creates an informer; nothing happens until ``run()``.
    public init(client: KubernetesClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
        var logger = client.logger
        logger[metadataKey: "informer"] = "\(Resource.plural)"
        self.logger = logger
    }

    /// Whether the first list has been loaded into the cache.
    public var hasSynced: Bool { synced }

    /// Returns once the first list has been loaded into the cache.
    public func waitUntilSynced() async {
        if synced { return }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    /// The cached object, if any.
    public func cached(name: String, namespace: String? = nil) -> Resource? {
        cache[Self.key(namespace: namespace, name: name)]
    }

    /// Every cached object.
    public func cachedObjects() -> [Resource] { Array(cache.values) }

    /// A stream of changes. It starts with `.added` for every object already cached, so a late
    /// subscriber sees the same state as an early one. Ends when the informer is released.
    public func events() -> AsyncStream<InformerEvent<Resource>> {
        let (stream, continuation) = AsyncStream<InformerEvent<Resource>>.makeStream()
        for object in cache.values { continuation.yield(.added(object)) }
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    deinit {
        for continuation in subscribers.values { continuation.finish() }
    }

    /// Lists and watches until the task is cancelled; transient failures are retried with backoff.
    ///
    /// May be called again after a cancelled run: it resumes from ``lastResourceVersion`` (or
    /// lists again when that has expired), and subscribers keep their streams, which end when the
    /// informer is released.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            if let interval = configuration.resyncInterval {
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: interval) } catch { return }
                        await self.resync()
                    }
                }
            }
            await listAndWatch()
            group.cancelAll()
        }
    }

    private func listAndWatch() async {
        var needsList = lastResourceVersion == nil
        var failures = 0
        while !Task.isCancelled {
            do {
                if needsList {
                    try await relist()
                    needsList = false
                }
                let stream = client.watch(
                    Resource.self, namespace: configuration.namespace, labelSelector: configuration.labelSelector,
                    fieldSelector: configuration.fieldSelector, resourceVersion: lastResourceVersion, allowWatchBookmarks: true,
                    timeoutSeconds: configuration.watchTimeoutSeconds)
                var delivered = false
                for try await event in stream {
                    apply(event)
                    delivered = true
                    failures = 0
                }
                logger.debug("watch ended; resuming", metadata: ["resourceVersion": "\(lastResourceVersion ?? "")"])
                if !delivered {
                    // A server that keeps ending watches at once must not make this a busy loop.
                    try await client.configuration.retry.sleep(client.configuration.retry.delay(beforeRetry: 0, retryAfterSeconds: nil))
                }
            } catch let error as KubernetesClientError where error.kind == .resourceExpired {
                logger.info("resourceVersion expired; listing again", metadata: ["resourceVersion": "\(lastResourceVersion ?? "")"])
                needsList = true
            } catch {
                if Task.isCancelled || error is CancellationError { return }
                // Keep the resourceVersion: a dropped connection resumes where it left off.
                if let clientError = error as? KubernetesClientError, clientError.kind == .malformedResponse { needsList = true }
                let delay = client.configuration.retry.delay(beforeRetry: failures, retryAfterSeconds: nil)
                failures += 1
                logger.warning("list/watch failed; retrying", metadata: ["error": "\(error)", "delay": "\(delay)"])
                do { try await client.configuration.retry.sleep(delay) } catch { return }
            }
        }
    }

    private func relist() async throws {
        let list = try await client.listAll(
            Resource.self, namespace: configuration.namespace,
            options: ListOptions(labelSelector: configuration.labelSelector, fieldSelector: configuration.fieldSelector, limit: configuration.pageSize))
        listCount += 1
        var fresh: [String: Resource] = [:]
        for object in list.items {
            let key = Self.key(of: object)
            fresh[key] = object
            if let old = cache[key] {
                if !Self.sameIncarnation(old, object) {
                    emit(.deleted(old))
                    emit(.added(object))
                } else if old.metadata.resourceVersion != object.metadata.resourceVersion {
                    emit(.updated(old: old, new: object))
                }
            } else {
                emit(.added(object))
            }
        }
        for (key, old) in cache where fresh[key] == nil {
            emit(.deleted(old))
        }
        cache = fresh
        lastResourceVersion = list.metadata.resourceVersion
        if !synced {
            synced = true
            for waiter in syncWaiters { waiter.resume() }
            syncWaiters = []
        }
    }

    /// Applies one watch event to the cache and tells subscribers (internal for tests).
    func apply(_ event: WatchStreamEvent<Resource>) {
        switch event {
        case .bookmark(let version):
            if !version.isEmpty { lastResourceVersion = version }
        case .added(let object), .modified(let object):
            let key = Self.key(of: object)
            if let old = cache[key] {
                if !Self.sameIncarnation(old, object) {
                    guard Self.isNewer(object, than: old) else { break }
                    cache[key] = object
                    emit(.deleted(old))
                    emit(.added(object))
                } else if Self.isNewer(object, than: old) {
                    cache[key] = object
                    emit(.updated(old: old, new: object))
                }
            } else {
                cache[key] = object
                emit(.added(object))
            }
            advance(to: object)
        case .deleted(let object):
            let key = Self.key(of: object)
            if let old = cache[key], Self.sameIncarnation(old, object), !Self.isNewer(old, than: object) {
                cache[key] = nil
                emit(.deleted(object))
            }
            advance(to: object)
        }
    }

    private func advance(to object: Resource) {
        guard let version = object.metadata.resourceVersion else { return }
        if let current = lastResourceVersion, let currentNumber = UInt64(current), let newNumber = UInt64(version), newNumber < currentNumber {
            return
        }
        lastResourceVersion = version
    }

    private func resync() {
        for object in cache.values { emit(.resynced(object)) }
    }

    private func emit(_ event: InformerEvent<Resource>) {
        for continuation in subscribers.values { continuation.yield(event) }
    }

    private static func key(namespace: String?, name: String) -> String {
        guard Resource.isNamespaced, let namespace else { return name }
        return "\(namespace)/\(name)"
    }

    private static func key(of object: Resource) -> String {
        key(namespace: object.metadata.namespace, name: object.metadata.name ?? "")
    }

    private static func sameIncarnation(_ first: Resource, _ second: Resource) -> Bool {
        guard let firstUID = first.metadata.uid, let secondUID = second.metadata.uid else { return true }
        return firstUID == secondUID
    }

    /// Whether `object` is a later state than `other`. resourceVersions are opaque, but every
    /// known server uses increasing integers; when they do not parse, any difference counts as newer.
    static func isNewer(_ object: Resource, than other: Resource) -> Bool {
        let version = object.metadata.resourceVersion
        let otherVersion = other.metadata.resourceVersion
        if let version, let otherVersion, let number = UInt64(version), let otherNumber = UInt64(otherVersion) {
            return number > otherNumber
        }
        return version != otherVersion
    }
}
