import Foundation
import KubernetesModels

/// A change to a stored object, as the store records it in its history and hands to subscribers.
public struct StoreEvent: Sendable {
    /// What happened.
    public enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }
    /// What happened.
    public var kind: Kind
    /// The type of the object.
    public var resource: ResourceType
    /// The object after the change (for `deleted`, the object as removed, with the deleting resourceVersion).
    public var object: JSONValue
    /// The object before the change (`nil` for `added`).
    public var oldObject: JSONValue?
    /// The resourceVersion of the change.
    public var resourceVersion: Int
}

/// One event of a watch stream, exactly as it goes on the wire (`{"type": ..., "object": ...}`).
public struct WatchEvent: Sendable {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    public var type: String
    /// The object, a bookmark stub, or a `Status` for `ERROR`.
    public var object: JSONValue
}

/// The result of a list call.
public struct ListResult: Sendable {
    /// The matching objects of this page.
    public var items: [JSONValue]
    /// The store's resourceVersion when the list was taken.
    public var resourceVersion: String
    /// The token for the next page, if there is one.
    public var continueToken: String?
    /// How many matching objects follow this page, when paginated.
    public var remainingItemCount: Int?
}

/// What a DELETE did.
public struct DeleteOutcome: Sendable {
    /// The object as removed, or as now marked for deletion.
    public var object: JSONValue
    /// `true` when the object is gone; `false` when it waits for its grace period or finalizers.
    public var removed: Bool
}

/// Options of a DELETE (query parameters and `DeleteOptions` body merged).
public struct DeleteOptions: Sendable {
    /// `gracePeriodSeconds`, if given.
    public var gracePeriodSeconds: Int?
    /// `preconditions.uid`, if given.
    public var preconditionUID: String?
    /// `preconditions.resourceVersion`, if given.
    public var preconditionResourceVersion: String?
    /// `propagationPolicy`: `Orphan` keeps dependents; anything else deletes them once the owner is gone.
    public var propagationPolicy: String?
    /// Options with nothing set.
    public init(
        gracePeriodSeconds: Int? = nil, preconditionUID: String? = nil, preconditionResourceVersion: String? = nil,
        propagationPolicy: String? = nil
    ) {
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.propagationPolicy = propagationPolicy
    }
}

/// The simulator's storage: a resource-agnostic store of JSON objects keyed by group/resource,
/// namespace and name, with one global resourceVersion counter, a bounded change history for
/// watches, and in-process subscriptions for controllers.
///
/// It implements the generic registry semantics of kube-apiserver (optimistic concurrency, status
/// subresource, generation, generateName, graceful deletion, finalizers); authentication and
/// authorization are the HTTP layer's job.
public actor KubernetesStore {
    /// Whether a watch from a resourceVersion older than the history replays what is left or fails.
    public enum StaleWatchPolicy: Sendable {
        /// An `ERROR` event with a 410 `Expired` Status, as most servers answer.
        case expire
        /// Replay the history that is still kept, as the recorded v1.36 server did.
        case replay
    }

    private(set) var registry: ResourceRegistry
    private var objects: [String: [String: JSONValue]] = [:]
    private var revision = 0
    private var history: [StoreEvent] = []
    private let historyLimit: Int
    private var compactedRevision = 0
    private let staleWatchPolicy: StaleWatchPolicy
    private var watchers: [UUID: Watcher] = [:]
    private var subscribers: [UUID: AsyncStream<StoreEvent>.Continuation] = [:]
    /// Owners deleted with `propagationPolicy: Orphan`, whose dependents keep living when they go.
    private var orphaning: Set<String> = []

    private struct Watcher {
        var storageKey: String
        var type: ResourceType
        var namespace: String?
        var predicate: @Sendable (JSONValue) -> Bool
        var allowBookmarks: Bool
        var continuation: AsyncStream<WatchEvent>.Continuation
    }

    init(registry: ResourceRegistry, historyLimit: Int, staleWatchPolicy: StaleWatchPolicy) {
        self.registry = registry
        self.historyLimit = historyLimit
        self.staleWatchPolicy = staleWatchPolicy
    }

    // MARK: Types

    /// The resource type served at `group/version/resource`, if any.
    public func resourceType(group: String, version: String, resource: String) -> ResourceType? {
        registry.lookup(group: group, version: version, resource: resource)
    }

    /// The resource type of objects with that apiVersion and kind (`v1`, `Pod`).
    public func resourceType(apiVersion: String, kind: String) -> ResourceType? {
        registry.lookup(apiVersion: apiVersion, kind: kind)
    }

    /// The current global resourceVersion.
    public var currentResourceVersion: Int { revision }

    // MARK: Reads

    /// The object, or 404.
    public func get(_ type: ResourceType, namespace: String?, name: String) throws(KubernetesAPIStatus) -> JSONValue {
        guard let object = objects[type.storageKey]?[Self.key(type, namespace, name)] else {
            throw .notFound(type, name: name)
        }
        return served(object, as: type)
    }

    /// Every object of a type as stored, in no order: for in-process controllers that scan the
    /// whole store on every pass (no sort, no copy per object, unlike ``list(_:namespace:labelSelector:fieldSelector:limit:continueToken:)``).
    func storedObjects(of type: ResourceType) -> [JSONValue] {
        Array((objects[type.storageKey] ?? [:]).values)
    }

    /// Matching objects, sorted by namespace and name, one page at a time when `limit` is set.
    public func list(
        _ type: ResourceType, namespace: String?, labelSelector: LabelSelector? = nil, fieldSelector: FieldSelector? = nil,
        limit: Int? = nil, continueToken: String? = nil
    ) throws(KubernetesAPIStatus) -> ListResult {
        var start = ""
        if let continueToken, !continueToken.isEmpty {
            guard let data = Data(base64Encoded: continueToken), let token = try? JSONValue(parsing: data),
                let key = token["start"]?.stringValue
            else { throw .badRequest("continue key is not valid: \(continueToken)") }
            start = key
        }
        let matching = (objects[type.storageKey] ?? [:])
            .filter { key, object in
                (start.isEmpty || key > start) && (namespace == nil || object["metadata"]?["namespace"]?.stringValue == namespace)
                    && (labelSelector?.matches(object.labels) ?? true) && (fieldSelector?.matches(object) ?? true)
            }
            .sorted { $0.key < $1.key }
        var page = matching
        var next: String?
        var remaining: Int?
        if let limit, limit > 0, matching.count > limit {
            page = Array(matching.prefix(limit))
            let token: JSONValue = ["rv": .number(Double(revision)), "start": .string(page.last!.key)]
            next = (try? token.serialized())?.base64EncodedString()
            remaining = matching.count - limit
        }
        return ListResult(
            items: page.map { served($0.value, as: type) }, resourceVersion: String(revision), continueToken: next,
            remainingItemCount: remaining)
    }

    // MARK: Writes

    /// Creates an object: name from `generateName` if needed, uid, creationTimestamp, resourceVersion,
    /// generation, defaults of the type. 409 when the name is taken, 404 when the namespace is missing.
    @discardableResult
    public func create(_ type: ResourceType, namespace: String?, object: JSONValue) throws(KubernetesAPIStatus) -> JSONValue {
        var object = object
        guard object.objectValue != nil else { throw .badRequest("the request body must be a JSON object") }
        var metadata = object["metadata"]?.objectValue ?? [:]
        if let bodyNamespace = metadata["namespace"]?.stringValue, !bodyNamespace.isEmpty, let namespace, bodyNamespace != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        if metadata["name"]?.stringValue?.isEmpty ?? true, let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty {
            metadata["name"] = .string(prefix + Self.randomSuffix())
        }
        guard let name = metadata["name"]?.stringValue, !name.isEmpty else {
            throw .invalid(
                type, name: "",
                causes: [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
        }
        if type.namespaced {
            guard let namespace else { throw .badRequest("a namespace is required to create \(type.qualifiedName)") }
            guard let namespaceObject = objects["/namespaces"]?[namespace] else { throw .namespaceNotFound(namespace) }
            if namespaceObject["metadata"]?["deletionTimestamp"] != nil { throw .namespaceTerminating(namespace, resource: type, name: name) }
            metadata["namespace"] = .string(namespace)
        } else {
            metadata.removeValue(forKey: "namespace")
        }
        try MetadataValidation.validate(object, type: type, name: name)
        if let schema = type.schema { try SchemaValidator.validate(object, schema: schema, type: type, name: name) }
        // Checked by the real server's storage layer: after validation, before the name is looked up.
        if let version = metadata["resourceVersion"]?.stringValue, !version.isEmpty, version != "0" {
            throw KubernetesAPIStatus(code: 500, reason: "", message: "resourceVersion should not be set on objects to be created")
        }
        let key = Self.key(type, namespace, name)
        if objects[type.storageKey]?[key] != nil { throw .alreadyExists(type, name: name) }
        revision += 1
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["resourceVersion"] = .string(String(revision))
        metadata["creationTimestamp"] = .string(Self.timestamp())
        metadata.removeValue(forKey: "deletionTimestamp")
        metadata.removeValue(forKey: "deletionGracePeriodSeconds")
        if ResourceDefaults.tracksGeneration(type, custom: registry.custom.contains(type)) {
            metadata["generation"] = 1
        }
        object["metadata"] = .object(metadata)
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        // Like the real registries, a create cannot set the status of types with a status subresource
        // (nodes excepted: kubelets register with theirs).
        if type.hasStatus && type.storageKey != "/nodes" { object["status"] = nil }
        ResourceDefaults.prepareForCreate(type, &object)
        ResourceDefaults.fillConditionTimes(type, &object)
        objects[type.storageKey, default: [:]][key] = object
        if type.storageKey == "apiextensions.k8s.io/customresourcedefinitions" { object = establish(crd: object, key: key) }
        record(StoreEvent(kind: .added, resource: type, object: object, oldObject: nil, resourceVersion: revision))
        return served(object, as: type)
    }

    /// Replaces an object (PUT). A non-empty `metadata.resourceVersion` must match the stored one
    /// (409 otherwise). On the `status` subresource only the status changes; on the main resource of
    /// a type with a status subresource the status is kept. A no-op update keeps the resourceVersion.
    @discardableResult
    public func update(
        _ type: ResourceType, namespace: String?, name: String, object: JSONValue, subresource: String? = nil
    ) throws(KubernetesAPIStatus) -> JSONValue {
        let key = Self.key(type, namespace, name)
        guard let old = objects[type.storageKey]?[key] else { throw .notFound(type, name: name) }
        if let bodyName = object["metadata"]?["name"]?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let version = object["metadata"]?["resourceVersion"]?.stringValue, !version.isEmpty,
            version != old["metadata"]?["resourceVersion"]?.stringValue
        {
            throw .conflict(type, name: name)
        }
        var updated: JSONValue
        if subresource == "status" {
            updated = old
            updated["status"] = object["status"]
        } else {
            updated = object
            if type.hasStatus { updated["status"] = old["status"] }
            var metadata = object["metadata"]?.objectValue ?? [:]
            for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"] {
                metadata[field] = old["metadata"]?[field]
            }
            updated["metadata"] = .object(metadata.filter { $0.value != .null })
        }
        updated["apiVersion"] = .string(type.apiVersion)
        updated["kind"] = .string(type.kind)
        try MetadataValidation.validate(updated, type: type, name: name)
        if let schema = type.schema { try SchemaValidator.validate(updated, schema: schema, type: type, name: name) }
        return try commit(type, key: key, old: old, new: updated)
    }

    /// Applies a patch and stores the result (no resourceVersion check unless the patch sets one).
    @discardableResult
    public func patch(
        _ type: ResourceType, namespace: String?, name: String, patchType: PatchType, patch: JSONValue,
        subresource: String? = nil
    ) throws(KubernetesAPIStatus) -> JSONValue {
        let current = try get(type, namespace: namespace, name: name)
        if patchType == .strategic, registry.custom.contains(type) {
            throw .unsupportedMediaType(patchType.rawValue)
        }
        var patched = try Patcher.apply(patchType, patch: patch, to: current)
        if let uid = patch["metadata"]?["uid"]?.stringValue, uid != current["metadata"]?["uid"]?.stringValue {
            throw .uidPreconditionFailed(type, name: name, expected: uid, actual: current["metadata"]?["uid"]?.stringValue ?? "")
        }
        if patch["metadata"]?["resourceVersion"] == nil {
            patched["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
        }
        return try update(type, namespace: namespace, name: name, object: patched, subresource: subresource)
    }

    /// Changes a stored object in place with a closure (for in-process controllers); no
    /// resourceVersion check, status and spec both writable.
    @discardableResult
    public func mutate(
        _ type: ResourceType, namespace: String?, name: String, _ change: (inout JSONValue) throws -> Void
    ) throws -> JSONValue {
        let key = Self.key(type, namespace, name)
        guard let old = objects[type.storageKey]?[key] else { throw KubernetesAPIStatus.notFound(type, name: name) }
        var new = old
        try change(&new)
        return try commit(type, key: key, old: old, new: new)
    }

    /// Deletes an object. Pods bound to a node get a grace period (`deletionTimestamp` +
    /// `deletionGracePeriodSeconds`) and stay until deleted again with grace 0; objects with
    /// finalizers stay until the last finalizer is removed; everything else goes at once.
    @discardableResult
    public func delete(
        _ type: ResourceType, namespace: String?, name: String, options: DeleteOptions = .init()
    ) throws(KubernetesAPIStatus) -> DeleteOutcome {
        let key = Self.key(type, namespace, name)
        guard let old = objects[type.storageKey]?[key] else { throw .notFound(type, name: name) }
        let uid = old["metadata"]?["uid"]?.stringValue ?? ""
        if let expected = options.preconditionUID, expected != uid {
            throw .uidPreconditionFailed(type, name: name, expected: expected, actual: uid)
        }
        let currentVersion = old["metadata"]?["resourceVersion"]?.stringValue ?? ""
        if let expected = options.preconditionResourceVersion, expected != currentVersion {
            throw KubernetesAPIStatus(
                code: 409, reason: "Conflict",
                message:
                    "Operation cannot be fulfilled on \(type.kind) \"\(name)\": the ResourceVersion in the precondition (\(expected)) does not match the ResourceVersion in record (\(currentVersion)). The object might have been modified",
                details: KubernetesAPIStatus.details(name: name, resource: type, kindOverride: type.kind))
        }
        if options.propagationPolicy == "Orphan" { orphaning.insert(uid) }
        let finalizers = Self.finalizers(of: old, type)
        var grace = 0
        if type.storageKey == "/pods" {
            let phase = old["status"]?["phase"]?.stringValue
            let bound = !(old["spec"]?["nodeName"]?.stringValue ?? "").isEmpty
            if bound && phase != "Succeeded" && phase != "Failed" {
                grace = max(0, options.gracePeriodSeconds ?? old["spec"]?["terminationGracePeriodSeconds"]?.intValue ?? 30)
            }
        }
        guard old["metadata"]?["deletionTimestamp"] != nil else {
            if grace == 0 && finalizers.isEmpty {
                if type.storageKey == "/pods" {
                    // Pods delete gracefully even at grace 0: marked first (a MODIFIED event with
                    // deletionTimestamp, deletionGracePeriodSeconds 0, a new generation), then removed.
                    markForDeletion(type, key: key, old: old, grace: 0, bumpGeneration: true)
                }
                return DeleteOutcome(object: served(remove(type, key: key), as: type), removed: true)
            }
            let marked = markForDeletion(type, key: key, old: old, grace: grace, bumpGeneration: true)
            return DeleteOutcome(object: served(marked, as: type), removed: false)
        }
        // Already terminating: a shorter grace period replaces the pending one; grace 0 without
        // finalizers removes the object (a MODIFIED event first, as the real server sends).
        let pendingGrace = old["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 0
        guard grace < pendingGrace else { return DeleteOutcome(object: served(old, as: type), removed: false) }
        let marked = markForDeletion(type, key: key, old: old, grace: grace, bumpGeneration: false)
        if grace == 0 && finalizers.isEmpty {
            return DeleteOutcome(object: served(remove(type, key: key), as: type), removed: true)
        }
        return DeleteOutcome(object: served(marked, as: type), removed: false)
    }

    @discardableResult
    private func markForDeletion(_ type: ResourceType, key: String, old: JSONValue, grace: Int, bumpGeneration: Bool) -> JSONValue {
        var marked = old
        marked["metadata"]?["deletionTimestamp"] = .string(Self.timestamp(Date().addingTimeInterval(Double(grace))))
        marked["metadata"]?["deletionGracePeriodSeconds"] = .number(Double(grace))
        if type.storageKey == "/namespaces" { marked["status"] = ["phase": "Terminating"] }
        if bumpGeneration, let generation = old["metadata"]?["generation"]?.intValue {
            marked["metadata"]?["generation"] = .number(Double(generation + 1))
        }
        revision += 1
        marked["metadata"]?["resourceVersion"] = .string(String(revision))
        objects[type.storageKey]?[key] = marked
        record(StoreEvent(kind: .modified, resource: type, object: marked, oldObject: old, resourceVersion: revision))
        return marked
    }

    // MARK: Watch

    /// A watch stream of the objects of a type (in a namespace, matching a predicate). From
    /// `resourceVersion` nil or "0", or with `sendInitialEvents`, it starts with synthetic ADDED events
    /// for the current objects; from a number it replays the history after it, or (for a version older
    /// than the history) ends with a 410 ERROR event or replays what is left, per the stale-watch policy.
    public func watch(
        _ type: ResourceType, namespace: String?, resourceVersion: String?, sendInitialEvents: Bool = false,
        allowBookmarks: Bool = false, predicate: @escaping @Sendable (JSONValue) -> Bool = { _ in true }
    ) throws(KubernetesAPIStatus) -> AsyncStream<WatchEvent> {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream()
        let inScope: @Sendable (JSONValue) -> Bool = { object in
            (namespace == nil || object["metadata"]?["namespace"]?.stringValue == namespace) && predicate(object)
        }
        if let resourceVersion, !resourceVersion.isEmpty, Int(resourceVersion) == nil {
            // The real server's message and bare 500 (no reason), as kube-apiserver v1.36 answers it.
            throw KubernetesAPIStatus(
                code: 500, reason: "",
                message: "resourceVersion: Invalid value: \"\(resourceVersion)\": strconv.ParseUint: parsing \"\(resourceVersion)\": invalid syntax")
        }
        let requested = resourceVersion.flatMap { Int($0) } ?? 0
        if resourceVersion == nil || resourceVersion == "" || requested == 0 || sendInitialEvents {
            for object in (objects[type.storageKey] ?? [:]).sorted(by: { $0.key < $1.key }).map(\.value) where inScope(object) {
                continuation.yield(WatchEvent(type: "ADDED", object: served(object, as: type)))
            }
            if sendInitialEvents && allowBookmarks {
                continuation.yield(WatchEvent(type: "BOOKMARK", object: bookmark(type, initialEventsEnd: true)))
            }
        } else {
            if requested < compactedRevision, staleWatchPolicy == .expire {
                continuation.yield(
                    WatchEvent(type: "ERROR", object: KubernetesAPIStatus.expired(requested: requested, oldest: compactedRevision).object))
                continuation.finish()
                return stream
            }
            for event in history where event.resourceVersion > requested && event.resource.storageKey == type.storageKey {
                if let translated = Self.translate(event, inScope) {
                    continuation.yield(WatchEvent(type: translated.type, object: served(translated.object, as: type)))
                }
            }
        }
        let id = UUID()
        watchers[id] = Watcher(
            storageKey: type.storageKey, type: type, namespace: namespace, predicate: inScope, allowBookmarks: allowBookmarks,
            continuation: continuation)
        continuation.onTermination = { _ in Task { await self.removeWatcher(id) } }
        return stream
    }

    /// Every change to every object, from now on (for in-process controllers and schedulers).
    public func subscribe() -> AsyncStream<StoreEvent> {
        let (stream, continuation) = AsyncStream<StoreEvent>.makeStream()
        let id = UUID()
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeSubscriber(id) } }
        return stream
    }

    /// Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks.
    public func sendBookmarks() {
        for watcher in watchers.values where watcher.allowBookmarks {
            watcher.continuation.yield(WatchEvent(type: "BOOKMARK", object: bookmark(watcher.type, initialEventsEnd: false)))
        }
    }

    /// Forgets the history: watches from any resourceVersion before now get 410 Expired (or a replay
    /// of nothing, per the policy).
    public func compactHistory() {
        compactedRevision = revision
        history.removeAll()
    }

    /// Ends every open watch stream.
    public func finishAllWatches() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers.removeAll()
    }

    // MARK: Internals

    private func removeWatcher(_ id: UUID) { watchers.removeValue(forKey: id) }
    private func removeSubscriber(_ id: UUID) { subscribers.removeValue(forKey: id) }

    private func commit(_ type: ResourceType, key: String, old: JSONValue, new: JSONValue) throws(KubernetesAPIStatus) -> JSONValue {
        var new = new
        ResourceDefaults.fillConditionTimes(type, &new)
        new["metadata"]?["resourceVersion"] = old["metadata"]?["resourceVersion"]
        if Self.withoutVolatile(new) == Self.withoutVolatile(old) { return served(old, as: type) }
        if let generation = old["metadata"]?["generation"]?.intValue, Self.specPart(new) != Self.specPart(old) {
            new["metadata"]?["generation"] = .number(Double(generation + 1))
        }
        revision += 1
        new["metadata"]?["resourceVersion"] = .string(String(revision))
        let finalizers = Self.finalizers(of: new, type)
        if new["metadata"]?["deletionTimestamp"] != nil, finalizers.isEmpty,
            (new["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 0) == 0
        {
            objects[type.storageKey]?[key] = new
            record(StoreEvent(kind: .modified, resource: type, object: new, oldObject: old, resourceVersion: revision))
            return served(remove(type, key: key), as: type)
        }
        objects[type.storageKey]?[key] = new
        if type.storageKey == "apiextensions.k8s.io/customresourcedefinitions" { registry.register(crd: new) }
        record(StoreEvent(kind: .modified, resource: type, object: new, oldObject: old, resourceVersion: revision))
        return served(new, as: type)
    }

    private func remove(_ type: ResourceType, key: String) -> JSONValue {
        guard var object = objects[type.storageKey]?.removeValue(forKey: key) else { return .null }
        revision += 1
        object["metadata"]?["resourceVersion"] = .string(String(revision))
        record(StoreEvent(kind: .deleted, resource: type, object: object, oldObject: object, resourceVersion: revision))
        switch type.storageKey {
        case "apiextensions.k8s.io/customresourcedefinitions":
            if let removedType = ResourceRegistry.types(ofCRD: object).first {
                for (childKey, _) in objects[removedType.storageKey] ?? [:] { _ = remove(removedType, key: childKey) }
            }
            registry.unregister(crd: object)
        case "/namespaces":
            let namespace = object["metadata"]?["name"]?.stringValue ?? ""
            for type in registry.all where type.namespaced {
                for (childKey, child) in objects[type.storageKey] ?? [:]
                where child["metadata"]?["namespace"]?.stringValue == namespace {
                    _ = remove(type, key: childKey)
                }
            }
        default: break
        }
        if let uid = object["metadata"]?["uid"]?.stringValue { collectGarbage(ownerUID: uid) }
        return object
    }

    /// The garbage collector: dependents of a removed owner (by `ownerReferences[].uid`) are deleted
    /// (background propagation; bound pods get their grace period), or lose the reference when the
    /// owner was deleted with `propagationPolicy: Orphan`.
    private func collectGarbage(ownerUID: String) {
        let orphan = orphaning.remove(ownerUID) != nil
        var seen: Set<String> = []
        for type in registry.all where seen.insert(type.storageKey).inserted {
            for (key, object) in objects[type.storageKey] ?? [:] {
                let references = object["metadata"]?["ownerReferences"]?.arrayValue ?? []
                guard references.contains(where: { $0["uid"]?.stringValue == ownerUID }) else { continue }
                let name = object["metadata"]?["name"]?.stringValue ?? ""
                let namespace = object["metadata"]?["namespace"]?.stringValue
                if orphan {
                    var released = object
                    let remaining = references.filter { $0["uid"]?.stringValue != ownerUID }
                    released["metadata"]?["ownerReferences"] = remaining.isEmpty ? nil : .array(remaining)
                    _ = try? commit(type, key: key, old: object, new: released)
                } else {
                    _ = try? delete(type, namespace: namespace, name: name)
                }
            }
        }
    }

    /// Marks a new CRD established and registers its types.
    private func establish(crd: JSONValue, key: String) -> JSONValue {
        var crd = crd
        let now = Self.timestamp()
        crd["status"] = [
            "conditions": [
                ["type": "NamesAccepted", "status": "True", "lastTransitionTime": .string(now), "reason": "NoConflicts", "message": "no conflicts found"],
                ["type": "Established", "status": "True", "lastTransitionTime": .string(now), "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"],
            ],
            "acceptedNames": crd["spec"]?["names"] ?? [:],
            "storedVersions": .array(
                (crd["spec"]?["versions"]?.arrayValue ?? []).filter { $0["storage"] == .bool(true) }.compactMap { $0["name"] }),
        ]
        objects["apiextensions.k8s.io/customresourcedefinitions"]?[key] = crd
        registry.register(crd: crd)
        return crd
    }

    private func record(_ event: StoreEvent) {
        history.append(event)
        if history.count > historyLimit {
            let dropped = history.count - historyLimit
            compactedRevision = history[dropped - 1].resourceVersion
            history.removeFirst(dropped)
        }
        for watcher in watchers.values where watcher.storageKey == event.resource.storageKey {
            if let translated = Self.translate(event, watcher.predicate) {
                watcher.continuation.yield(WatchEvent(type: translated.type, object: served(translated.object, as: watcher.type)))
            }
        }
        for subscriber in subscribers.values { subscriber.yield(event) }
    }

    /// The watch event a filtered watcher sees for a change: objects entering the filter are ADDED,
    /// objects leaving it DELETED, as the watch cache does.
    private static func translate(_ event: StoreEvent, _ predicate: (JSONValue) -> Bool) -> (type: String, object: JSONValue)? {
        let matchesNow = predicate(event.object)
        switch event.kind {
        case .added: return matchesNow ? ("ADDED", event.object) : nil
        case .deleted: return matchesNow ? ("DELETED", event.object) : nil
        case .modified:
            let matchedBefore = event.oldObject.map(predicate) ?? false
            switch (matchedBefore, matchesNow) {
            case (true, true): return ("MODIFIED", event.object)
            case (false, true): return ("ADDED", event.object)
            case (true, false): return ("DELETED", event.object)
            case (false, false): return nil
            }
        }
    }

    private func bookmark(_ type: ResourceType, initialEventsEnd: Bool) -> JSONValue {
        var metadata: [String: JSONValue] = ["resourceVersion": .string(String(revision))]
        if initialEventsEnd { metadata["annotations"] = ["k8s.io/initial-events-end": "true"] }
        var object: [String: JSONValue] = ["kind": .string(type.kind), "apiVersion": .string(type.apiVersion), "metadata": .object(metadata)]
        if type.storageKey == "/pods" {
            object["spec"] = ["containers": nil]
            object["status"] = [:]
        }
        return .object(object)
    }

    /// The object as served at the requested version.
    private func served(_ object: JSONValue, as type: ResourceType) -> JSONValue {
        let apiVersion = JSONValue.string(type.apiVersion)
        // Stored at the served version (the common case): no copy of the object.
        guard let stored = object["apiVersion"], stored != apiVersion else { return object }
        var object = object
        object["apiVersion"] = apiVersion
        return object
    }

    private static func withoutVolatile(_ object: JSONValue) -> JSONValue {
        var object = object
        object["metadata"]?["managedFields"] = nil
        object["metadata"]?["resourceVersion"] = nil
        return object
    }

    private static func specPart(_ object: JSONValue) -> JSONValue {
        var object = object
        object["metadata"] = nil
        object["status"] = nil
        return object
    }

    /// What holds an object being deleted: `metadata.finalizers`, and for namespaces `spec.finalizers`
    /// (which the namespace controller removes once the namespace is empty).
    private static func finalizers(of object: JSONValue, _ type: ResourceType) -> [JSONValue] {
        let finalizers = object["metadata"]?["finalizers"]?.arrayValue ?? []
        guard type.storageKey == "/namespaces" else { return finalizers }
        return finalizers + (object["spec"]?["finalizers"]?.arrayValue ?? [])
    }

    static func key(_ type: ResourceType, _ namespace: String?, _ name: String) -> String {
        type.namespaced ? "\(namespace ?? "")/\(name)" : name
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }

    /// RFC 3339 with seconds, as Kubernetes writes timestamps.
    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
