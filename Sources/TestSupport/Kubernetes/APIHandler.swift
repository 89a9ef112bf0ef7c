import Foundation
import KubernetesModels
import Logging
import NIOHTTP1
import Synchronization

/// The kube-apiserver request pipeline: fault injection, authentication, request info, authorization,
/// NodeRestriction admission, then the REST verbs on the store, discovery, OpenAPI and the review APIs.
final class APIHandler: Sendable {
    let store: KubernetesStore
    let authorizer: Authorizer
    let configuration: KubernetesSimulator.Configuration
    let kubeletProxy: KubeletProxy
    private let tokens: TokenRegistry
    private let pki: SimulatorPKI
    private let pendingFailures = Mutex<(count: Int, status: Int, retryAfter: Int?)>((0, 500, nil))
    private let pendingConflicts = Mutex<[String: Int]>([:])
    private let resources: URL?
    private let logger: Logger

    init(
        store: KubernetesStore, configuration: KubernetesSimulator.Configuration, tokens: TokenRegistry, pki: SimulatorPKI, logger: Logger
    ) {
        self.store = store
        self.pki = pki
        self.configuration = configuration
        self.authorizer = Authorizer(grants: configuration.accessGrants)
        self.tokens = tokens
        self.resources = KubernetesSimulator.resourceDirectory
        self.logger = logger
        self.kubeletProxy = KubeletProxy(logger: logger)
    }

    func injectFailures(count: Int, status: Int, retryAfterSeconds: Int?) {
        pendingFailures.withLock { $0 = (count, status, retryAfterSeconds) }
    }

    /// The next `count` updates (PUT) of the object at `path` answer 409 Conflict.
    func injectUpdateConflicts(count: Int, path: String) {
        pendingConflicts.withLock { $0[path] = count }
    }

    /// Injected conflicts not yet served, by path.
    func remainingUpdateConflicts(path: String) -> Int {
        pendingConflicts.withLock { $0[path] ?? 0 }
    }

    private func takeInjectedConflict(_ request: SimulatorRequest) async -> KubernetesAPIStatus? {
        guard request.method == .PUT else { return nil }
        let taken = pendingConflicts.withLock { conflicts -> Bool in
            guard let count = conflicts[request.path], count > 0 else { return false }
            conflicts[request.path] = count - 1
            return true
        }
        guard taken else { return nil }
        // /api/v1/... or /apis/GROUP/VERSION/...[/namespaces/NS]/PLURAL/NAME
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count >= 2 else { return nil }
        let group = parts[0] == "apis" && parts.count > 1 ? parts[1] : ""
        let plural = parts[parts.count - 2]
        guard let type = await store.registry.lookup(group: group, resource: plural) else { return nil }
        return .conflict(type, name: parts[parts.count - 1])
    }

    func user(forToken token: String) -> UserInfo? {
        tokens.user(forToken: token)
    }

    // MARK: Pipeline

    func handle(_ request: SimulatorRequest) async -> SimulatorResponse {
        logger.debug("request", metadata: ["method": "\(request.method)", "uri": "\(request.uri)"])
        if let failure = takeInjectedFailure() { return .status(failure) }
        guard let user = authenticate(request) else { return .status(.unauthorized) }
        if let conflict = await takeInjectedConflict(request) { return .status(conflict) }
        do {
            return try await route(request, user: user)
        } catch let status as KubernetesAPIStatus {
            return .status(status)
        } catch {
            return .status(.internalError(String(describing: error)))
        }
    }

    private func takeInjectedFailure() -> KubernetesAPIStatus? {
        pendingFailures.withLock { state -> KubernetesAPIStatus? in
            guard state.count > 0 else { return nil }
            state.count -= 1
            let (reason, message): (String, String) =
                switch state.status {
                case 429: ("TooManyRequests", "Too many requests, please try again later.")
                case 503: ("ServiceUnavailable", "The server is currently unable to handle the request (injected failure)")
                case 504: ("Timeout", "The server was unable to return a response in the time allotted (injected failure)")
                case 500: ("InternalError", "Internal error occurred: injected failure")
                default: ("", "injected failure")
                }
            return KubernetesAPIStatus(
                code: state.status, reason: reason, message: message, details: state.retryAfter.map { ["retryAfterSeconds": .number(Double($0))] },
                retryAfterSeconds: state.retryAfter)
        }
    }

    private func authenticate(_ request: SimulatorRequest) -> UserInfo? {
        if let authorization = request.headers.first(name: "Authorization") {
            guard authorization.hasPrefix("Bearer ") else { return nil }
            return user(forToken: String(authorization.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces))
        }
        return request.certificateUser
    }

    private func route(_ request: SimulatorRequest, user: UserInfo) async throws -> SimulatorResponse {
        let segments = request.path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        guard let root = segments.first else { return try await nonResource(request, user: user, segments: segments) }
        switch root {
        case "api":
            if segments.count == 1 { return try await discovery(request, user: user, core: true) }
            if segments.count == 2 {
                try await authorizeNonResource(request, user: user)
                guard segments[1] == "v1" else { throw KubernetesAPIStatus.notFoundPath() }
                return .json(.ok, await store.registry.resourceList(group: "", version: "v1"))
            }
            return try await resource(request, user: user, group: "", version: segments[1], rest: Array(segments.dropFirst(2)))
        case "apis":
            if segments.count == 1 { return try await discovery(request, user: user, core: false) }
            if segments.count <= 3 {
                try await authorizeNonResource(request, user: user)
                return try await groupDiscovery(group: segments[1], version: segments.count == 3 ? segments[2] : nil)
            }
            return try await resource(request, user: user, group: segments[1], version: segments[2], rest: Array(segments.dropFirst(3)))
        default:
            return try await nonResource(request, user: user, segments: segments)
        }
    }

    private func authorizeNonResource(_ request: SimulatorRequest, user: UserInfo) async throws {
        let attributes = RequestAttributes(
            verb: request.method == .GET || request.method == .HEAD ? "get" : request.method.rawValue.lowercased(), group: "",
            resource: "", path: request.path)
        if case .deny = await authorizer.authorize(user, attributes, store: store) {
            throw Authorizer.forbidden(user, attributes, reason: nil)
        }
    }

    // MARK: Non-resource endpoints

    private func nonResource(_ request: SimulatorRequest, user: UserInfo, segments: [String]) async throws -> SimulatorResponse {
        try await authorizeNonResource(request, user: user)
        switch segments.first {
        case "healthz", "livez", "readyz":
            return .text(.ok, "ok")
        case "version":
            return .json(.ok, Self.version)
        case "openapi" where segments.count >= 2 && segments[1] == "v3":
            return try openAPI(Array(segments.dropFirst(2)))
        default:
            throw KubernetesAPIStatus.notFoundPath()
        }
    }

    static let version: JSONValue = [
        "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36", "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "35", "gitVersion": "v1.36.0-nomad-kubelet-simulator", "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2026-11-25T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
        "platform": "linux/amd64",
    ]

    private func openAPI(_ rest: [String]) throws -> SimulatorResponse {
        guard let resources else { throw KubernetesAPIStatus.notFoundPath() }
        if rest.isEmpty {
            // The recorded index, limited to the documents we can serve.
            var index = try JSONValue(parsing: Data(contentsOf: resources.appendingPathComponent("openapi-v3-index.json")))
            let paths = (index["paths"]?.objectValue ?? [:]).filter { key, _ in
                FileManager.default.fileExists(atPath: resources.appendingPathComponent(Self.openAPIFile(key)).path)
            }
            index["paths"] = .object(paths)
            return .json(.ok, index)
        }
        let file = resources.appendingPathComponent(Self.openAPIFile(rest.joined(separator: "/")))
        guard let data = try? Data(contentsOf: file) else { throw KubernetesAPIStatus.notFoundPath() }
        var response = SimulatorResponse.json(.ok, JSONValue.null)
        response.body = data
        return response
    }

    private static func openAPIFile(_ path: String) -> String {
        "openapi-v3-" + path.replacingOccurrences(of: "/", with: "_") + ".json"
    }

    // MARK: Discovery

    private static let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    private func discovery(_ request: SimulatorRequest, user: UserInfo, core: Bool) async throws -> SimulatorResponse {
        try await authorizeNonResource(request, user: user)
        let accept = request.headers[canonicalForm: "Accept"].joined(separator: ",")
        let registry = await store.registry
        if accept.replacingOccurrences(of: " ", with: "").contains("g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList") {
            return .json(.ok, registry.aggregatedDiscovery(core: core), contentType: Self.aggregatedContentType)
        }
        if core {
            return .json(.ok, ["kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"]]] as JSONValue)
        }
        guard let resources, let data = try? Data(contentsOf: resources.appendingPathComponent("discovery-legacy-apis.json")) else {
            throw KubernetesAPIStatus.internalError("the recorded discovery documents are missing from the TestSupport bundle")
        }
        return .json(.ok, registry.legacyGroupList(recorded: try JSONValue(parsing: data)))
    }

    private func groupDiscovery(group: String, version: String?) async throws -> SimulatorResponse {
        let registry = await store.registry
        if let version {
            guard registry.serves(group: group, version: version) else { throw KubernetesAPIStatus.notFoundPath() }
            return .json(.ok, registry.resourceList(group: group, version: version))
        }
        var versions: [String] = []
        for type in registry.all where type.group == group && !versions.contains(type.version) { versions.append(type.version) }
        guard !versions.isEmpty else { throw KubernetesAPIStatus.notFoundPath() }
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(group)/\($0)"), "version": .string($0)] }
        return .json(.ok, ["kind": "APIGroup", "apiVersion": "v1", "name": .string(group), "versions": .array(entries), "preferredVersion": entries[0]] as JSONValue)
    }

    // MARK: Resources

    private func resource(_ request: SimulatorRequest, user: UserInfo, group: String, version: String, rest: [String]) async throws -> SimulatorResponse {
        var rest = rest[...]
        var watchPath = false
        if rest.first == "watch" {
            watchPath = true
            rest = rest.dropFirst()
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3, !["status", "finalize"].contains(rest[rest.startIndex + 2]) {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        let parts = Array(rest)
        guard let resourceName = parts.first, parts.count <= 3 || parts[2] == "proxy",
            let type = await store.resourceType(group: group, version: version, resource: resourceName)
        else { throw KubernetesAPIStatus.notFoundPath() }
        let name = parts.count > 1 ? parts[1] : nil
        let subresource = parts.count > 2 ? parts[2] : nil
        if parts.count > 3, !["nodes", "pods", "services"].contains(type.resource) { throw KubernetesAPIStatus.notFoundPath() }
        if type.namespaced != (namespace != nil) && !(type.namespaced && name == nil && namespace == nil) {
            throw KubernetesAPIStatus.notFoundPath()
        }
        if let subresource, !type.subresources.contains(subresource) && !(type.resource == "certificatesigningrequests" && subresource == "approval") {
            throw KubernetesAPIStatus.notFoundPath()
        }
        let verb: String
        switch request.method {
        case .GET where ["exec", "attach", "portforward"].contains(subresource ?? ""):
            // WebSocket upgrades come as GET; the API server authorizes them as `create` (v1.31+).
            verb = "create"
        case .GET, .HEAD:
            let watching = watchPath || ["true", "1"].contains(request.query["watch"] ?? "")
            verb = name == nil || (watchPath && subresource == nil) ? (watching ? "watch" : "list") : "get"
        case .POST: verb = "create"
        case .PUT: verb = "update"
        case .PATCH: verb = "patch"
        case .DELETE: verb = name == nil ? "deletecollection" : "delete"
        default: throw KubernetesAPIStatus.methodNotAllowed()
        }
        var fieldSelector: FieldSelector?
        if let text = request.query["fieldSelector"], !text.isEmpty {
            fieldSelector = try FieldSelector(parsing: text, for: type)
        }
        if watchPath, let name {
            fieldSelector = try FieldSelector(parsing: "metadata.name=\(name)", for: type)
        }
        let attributes = RequestAttributes(
            verb: verb, group: group, resource: type.resource, subresource: subresource, namespace: namespace,
            name: watchPath ? nil : name, fieldSelector: fieldSelector)
        if case .deny(let reason) = await authorizer.authorize(user, attributes, store: store) {
            throw Authorizer.forbidden(user, attributes, reason: reason)
        }
        let call = ResourceCall(
            request: request, user: user, type: type, namespace: namespace, name: watchPath ? nil : name, subresource: subresource,
            verb: verb, attributes: attributes, fieldSelector: fieldSelector)
        return try await execute(call)
    }

    struct ResourceCall {
        var request: SimulatorRequest
        var user: UserInfo
        var type: ResourceType
        var namespace: String?
        var name: String?
        var subresource: String?
        var verb: String
        var attributes: RequestAttributes
        var fieldSelector: FieldSelector?

        var wantsTable: Bool { request.headers[canonicalForm: "Accept"].contains { $0.contains("as=Table") } }
    }

    private func execute(_ call: ResourceCall) async throws -> SimulatorResponse {
        let type = call.type
        switch (type.group, type.resource, call.verb) {
        case ("authentication.k8s.io", "tokenreviews", "create"):
            return .json(.created, tokenReview(try body(call)))
        case ("authorization.k8s.io", let resource, "create") where resource.hasSuffix("subjectaccessreviews"):
            return .json(.created, await subjectAccessReview(try body(call), call: call))
        default: break
        }
        if call.subresource == "scale" { return try await scale(call) }
        if type.resource == "serviceaccounts", call.subresource == "token", call.verb == "create" { return try await tokenRequest(call) }
        if call.subresource == "binding" || (type.resource == "bindings" && call.verb == "create") { return try await bind(call) }
        if let subresource = call.subresource, !["status", "approval"].contains(subresource) {
            return try await proxy(call)
        }
        switch call.verb {
        case "get":
            let object = try await store.get(type, namespace: call.namespace, name: call.name ?? "")
            return .json(.ok, call.wantsTable ? Table.table(type: type, objects: [object], resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "") : object)
        case "list":
            return try await list(call)
        case "watch":
            return try await watch(call)
        case "create":
            var object = try body(call)
            try await admit(call, current: nil, new: object)
            if type.storageKey == "/pods" { object = try await RuntimeClassAdmission.admit(object, store: store) }
            if type.storageKey == "/pods" { object = await ServiceAccountAdmission.mountToken(object, namespace: call.namespace, store: store) }
            if type.storageKey == "certificates.k8s.io/certificatesigningrequests" {
                // The server records who asked, whatever the body says.
                object["spec"]?["username"] = .string(call.user.name)
                object["spec"]?["groups"] = .array(call.user.groups.map(JSONValue.string))
            }
            let created = try await store.create(type, namespace: call.namespace, object: object)
            if type.storageKey == "/namespaces" {
                try await ServiceAccountAdmission.populate(namespace: created["metadata"]?["name"]?.stringValue ?? "", store: store, caPEM: pki.caCertificatePEM)
            }
            return .json(.created, created)
        case "update":
            let object = try body(call)
            let current = try await store.get(type, namespace: call.namespace, name: call.name ?? "")
            try await admit(call, current: current, new: object)
            let updated = try await store.update(
                type, namespace: call.namespace, name: call.name ?? "", object: object, subresource: call.subresource == nil ? nil : "status")
            if call.subresource == "approval" { try await signIfApproved(updated, type: type) }
            return .json(.ok, updated)
        case "patch":
            return try await patch(call)
        case "delete":
            return try await delete(call)
        case "deletecollection":
            return try await deleteCollection(call)
        default:
            throw KubernetesAPIStatus.methodNotAllowed()
        }
    }

    private func body(_ call: ResourceCall) throws -> JSONValue {
        guard !call.request.body.isEmpty else { throw KubernetesAPIStatus.badRequest("the request body is empty; send the object as JSON") }
        do {
            return try JSONValue(parsing: call.request.body)
        } catch {
            throw KubernetesAPIStatus.badRequest("couldn't get version/kind; json parse error: \(error)")
        }
    }

    private func admit(_ call: ResourceCall, current: JSONValue?, new: JSONValue?) async throws {
        guard let node = call.user.nodeName, !call.user.groups.contains("system:masters") else { return }
        try NodeRestriction.admit(node: node, call.attributes, type: call.type, current: current, new: new)
    }

    private func list(_ call: ResourceCall) async throws -> SimulatorResponse {
        let query = call.request.query
        let labelSelector = try query["labelSelector"].map { try LabelSelector(parsing: $0) }
        let result = try await store.list(
            call.type, namespace: call.namespace, labelSelector: labelSelector, fieldSelector: call.fieldSelector,
            limit: query["limit"].flatMap { Int($0) }, continueToken: query["continue"])
        if call.wantsTable {
            var table = Table.table(type: call.type, objects: result.items, resourceVersion: result.resourceVersion)
            if let token = result.continueToken { table["metadata"]?["continue"] = .string(token) }
            return .json(.ok, table)
        }
        var metadata: [String: JSONValue] = ["resourceVersion": .string(result.resourceVersion)]
        if let token = result.continueToken { metadata["continue"] = .string(token) }
        if let remaining = result.remainingItemCount { metadata["remainingItemCount"] = .number(Double(remaining)) }
        return .json(.ok, [
            "kind": .string("\(call.type.kind)List"), "apiVersion": .string(call.type.apiVersion), "metadata": .object(metadata),
            "items": .array(result.items),
        ] as JSONValue)
    }

    private func watch(_ call: ResourceCall) async throws -> SimulatorResponse {
        let query = call.request.query
        let labelSelector = try query["labelSelector"].map { try LabelSelector(parsing: $0) }
        let fieldSelector = call.fieldSelector
        let events = try await store.watch(
            call.type, namespace: call.namespace, resourceVersion: query["resourceVersion"],
            sendInitialEvents: query["sendInitialEvents"] == "true", allowBookmarks: query["allowWatchBookmarks"] == "true",
            predicate: { object in (labelSelector?.matches(object.labels) ?? true) && (fieldSelector?.matches(object) ?? true) })
        let type = call.type
        let table = call.wantsTable
        var response = SimulatorResponse.json(.ok, JSONValue.null)
        response.body = Data()
        response.stream = events
        response.encodeEvent = { event in
            var object = event.object
            if table, ["ADDED", "MODIFIED", "DELETED"].contains(event.type) {
                object = Table.table(type: type, objects: [object], resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
            }
            let line = (try? JSONValue.object(["type": .string(event.type), "object": object]).serialized()) ?? Data()
            return line + Data("\n".utf8)
        }
        let requested = query["timeoutSeconds"].flatMap { Int($0) }
        response.streamTimeoutSeconds = requested ?? configuration.defaultWatchTimeoutSeconds
        return response
    }

    private func patch(_ call: ResourceCall) async throws -> SimulatorResponse {
        let contentType = call.request.headers.first(name: "Content-Type")?.split(separator: ";").first.map(String.init) ?? ""
        guard let patchType = PatchType(rawValue: contentType), patchType != .apply else {
            throw KubernetesAPIStatus.unsupportedMediaType(contentType)
        }
        let patch = try body(call)
        let name = call.name ?? ""
        let current = try await store.get(call.type, namespace: call.namespace, name: name)
        if call.user.nodeName != nil {
            try await admit(call, current: current, new: try Patcher.apply(patchType, patch: patch, to: current))
        }
        let subresource = call.subresource == nil ? nil : "status"
        return .json(.ok, try await store.patch(call.type, namespace: call.namespace, name: name, patchType: patchType, patch: patch, subresource: subresource))
    }

    private func deleteOptions(_ call: ResourceCall) -> DeleteOptions {
        let body = call.request.body.isEmpty ? nil : try? JSONValue(parsing: call.request.body)
        return DeleteOptions(
            gracePeriodSeconds: call.request.query["gracePeriodSeconds"].flatMap { Int($0) } ?? body?["gracePeriodSeconds"]?.intValue,
            preconditionUID: body?["preconditions"]?["uid"]?.stringValue,
            preconditionResourceVersion: body?["preconditions"]?["resourceVersion"]?.stringValue,
            propagationPolicy: call.request.query["propagationPolicy"] ?? body?["propagationPolicy"]?.stringValue
                ?? (call.request.query["orphanDependents"] == "true" || body?["orphanDependents"] == .bool(true) ? "Orphan" : nil))
    }

    private func delete(_ call: ResourceCall) async throws -> SimulatorResponse {
        let name = call.name ?? ""
        if call.user.nodeName != nil {
            let current = try await store.get(call.type, namespace: call.namespace, name: name)
            try await admit(call, current: current, new: nil)
        }
        if deleteOptions(call).propagationPolicy == "Foreground", configuration.controllers.contains(.garbageCollector) {
            try await GarbageCollector.startForegroundDeletion(call.type, namespace: call.namespace, name: name, store: store)
        }
        let outcome = try await store.delete(call.type, namespace: call.namespace, name: name, options: deleteOptions(call))
        if outcome.removed && call.type.storageKey != "/pods" {
            var details = KubernetesAPIStatus.details(name: name, resource: call.type)
            details["uid"] = outcome.object["metadata"]?["uid"]
            return .json(.ok, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details] as JSONValue)
        }
        return .json(.ok, outcome.object)
    }

    private func deleteCollection(_ call: ResourceCall) async throws -> SimulatorResponse {
        let labelSelector = try call.request.query["labelSelector"].map { try LabelSelector(parsing: $0) }
        let items = try await store.list(call.type, namespace: call.namespace, labelSelector: labelSelector, fieldSelector: call.fieldSelector).items
        var deleted: [JSONValue] = []
        for item in items {
            let name = item["metadata"]?["name"]?.stringValue ?? ""
            let namespace = item["metadata"]?["namespace"]?.stringValue
            if let outcome = try? await store.delete(call.type, namespace: namespace, name: name, options: deleteOptions(call)) {
                deleted.append(outcome.object)
            }
        }
        return .json(.ok, [
            "kind": .string("\(call.type.kind)List"), "apiVersion": .string(call.type.apiVersion),
            "metadata": ["resourceVersion": .string(String(await store.currentResourceVersion))], "items": .array(deleted),
        ] as JSONValue)
    }

    // MARK: Subresources

    private func scale(_ call: ResourceCall) async throws -> SimulatorResponse {
        let name = call.name ?? ""
        var object = try await store.get(call.type, namespace: call.namespace, name: name)
        func scaleObject(_ object: JSONValue) -> JSONValue {
            var metadata: [String: JSONValue] = [:]
            for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] { metadata[field] = object["metadata"]?[field] }
            let selector = (object["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:])
                .compactMap { key, value in value.stringValue.map { "\(key)=\($0)" } }.sorted().joined(separator: ",")
            return [
                "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": .object(metadata.filter { $0.value != .null }),
                "spec": ["replicas": object["spec"]?["replicas"] ?? 0],
                "status": ["replicas": object["status"]?["replicas"] ?? 0, "selector": .string(selector)],
            ]
        }
        switch call.verb {
        case "get":
            return .json(.ok, scaleObject(object))
        case "update", "patch":
            let input = try body(call)
            let current = scaleObject(object)
            let desired: JSONValue
            if call.verb == "patch" {
                let contentType = call.request.headers.first(name: "Content-Type")?.split(separator: ";").first.map(String.init) ?? ""
                guard let patchType = PatchType(rawValue: contentType), patchType != .apply else {
                    throw KubernetesAPIStatus.unsupportedMediaType(contentType)
                }
                desired = try Patcher.apply(patchType, patch: input, to: current)
            } else {
                if let version = input["metadata"]?["resourceVersion"]?.stringValue, !version.isEmpty,
                    version != current["metadata"]?["resourceVersion"]?.stringValue
                {
                    throw KubernetesAPIStatus.conflict(call.type, name: name)
                }
                desired = input
            }
            object = try await store.mutate(call.type, namespace: call.namespace, name: name) { object in
                object["spec"]?["replicas"] = desired["spec"]?["replicas"] ?? 0
            }
            return .json(.ok, scaleObject(object))
        default:
            throw KubernetesAPIStatus.methodNotAllowed()
        }
    }

    /// `pods/binding` (and `bindings`): sets `spec.nodeName` of an unbound pod, as the scheduler does.
    private func bind(_ call: ResourceCall) async throws -> SimulatorResponse {
        let binding = try body(call)
        let podName = call.name ?? binding["metadata"]?["name"]?.stringValue ?? ""
        guard let node = binding["target"]?["name"]?.stringValue, !node.isEmpty else { throw KubernetesAPIStatus.badRequest("a Binding needs target.name") }
        try await store.bind(pod: podName, namespace: call.namespace, to: node)
        return .json(.created, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201] as JSONValue)
    }

    /// Subresources served by the node's kubelet (`log`, `exec`, `attach`, `portforward`, `proxy`).
    private func proxy(_ call: ResourceCall) async throws -> SimulatorResponse {
        try await kubeletProxy.forward(call, store: store)
    }

    /// The CSR signer of the controller-manager: an approved request gets `status.certificate`,
    /// signed by the simulator CA.
    private func signIfApproved(_ csr: JSONValue, type: ResourceType) async throws {
        let approved = (csr["status"]?["conditions"]?.arrayValue ?? []).contains {
            $0["type"] == "Approved" && ($0["status"] ?? "True") == "True"
        }
        guard approved, csr["status"]?["certificate"] == nil, let name = csr["metadata"]?["name"]?.stringValue,
            let request = csr["spec"]?["request"]?.stringValue, let pem = Data(base64Encoded: request).map({ String(decoding: $0, as: UTF8.self) })
        else { return }
        let usages = (csr["spec"]?["usages"]?.arrayValue ?? []).compactMap(\.stringValue)
        let certificate: String
        do {
            certificate = try pki.sign(csrPEM: pem, usages: usages)
        } catch {
            throw KubernetesAPIStatus.badRequest("certificatesigningrequests \"\(name)\": spec.request is not a valid PEM certificate request: \(error)")
        }
        try await store.mutate(type, namespace: nil, name: name) { object in
            object["status"]?["certificate"] = .string(Data(certificate.utf8).base64EncodedString())
        }
    }

    /// `serviceaccounts/token` (TokenRequest): a signed token for the service account, optionally
    /// bound to a pod; node identities only for pods bound to them and the audiences their volumes name.
    private func tokenRequest(_ call: ResourceCall) async throws -> SimulatorResponse {
        let name = call.name ?? ""
        let request = try body(call)
        let account = try await store.get(call.type, namespace: call.namespace, name: name)
        let defaultAudience = "https://kubernetes.default.svc.cluster.local"
        let requested = (request["spec"]?["audiences"]?.arrayValue ?? []).compactMap(\.stringValue)
        let audiences = requested.isEmpty ? [defaultAudience] : requested
        let lifetime = request["spec"]?["expirationSeconds"]?.intValue ?? 3600
        func forbidden(_ message: String) -> KubernetesAPIStatus {
            KubernetesAPIStatus(
                code: 403, reason: "Forbidden", message: "serviceaccounts \"\(name)\" is forbidden: \(message)",
                details: ["name": .string(name), "kind": "serviceaccounts"])
        }
        var pod: JSONValue?
        if let reference = request["spec"]?["boundObjectRef"], reference["kind"] == "Pod",
            let podType = await store.resourceType(group: "", version: "v1", resource: "pods")
        {
            pod = try await store.get(podType, namespace: call.namespace, name: reference["name"]?.stringValue ?? "")
        }
        if let node = call.user.nodeName {
            guard let pod, pod["spec"]?["nodeName"]?.stringValue == node else { throw forbidden("node requested token not bound to a pod") }
            let volumeAudiences = Set(
                (pod["spec"]?["volumes"]?.arrayValue ?? []).flatMap { volume in
                    (volume["projected"]?["sources"]?.arrayValue ?? []).compactMap { $0["serviceAccountToken"]?["audience"]?.stringValue }
                })
            for audience in audiences where audience != defaultAudience && !volumeAudiences.contains(audience) {
                throw forbidden("audience \"\(audience)\" not found in pod spec volume, \(call.user.name) is not authorized to request tokens for this audience")
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        let namespace = call.namespace ?? ""
        var binding: [String: JSONValue] = [
            "namespace": .string(namespace),
            "serviceaccount": ["name": .string(name), "uid": account["metadata"]?["uid"] ?? ""],
        ]
        if let pod {
            binding["pod"] = ["name": pod["metadata"]?["name"] ?? "", "uid": pod["metadata"]?["uid"] ?? ""]
            if let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty { binding["node"] = ["name": .string(node)] }
        }
        let subject = "system:serviceaccount:\(namespace):\(name)"
        let claims: JSONValue = [
            "aud": .array(audiences.map(JSONValue.string)), "exp": .number(Double(now + lifetime)), "iat": .number(Double(now)),
            "nbf": .number(Double(now)), "iss": .string(defaultAudience), "jti": .string(UUID().uuidString.lowercased()),
            "kubernetes.io": .object(binding), "sub": .string(subject),
        ]
        let token = pki.signedToken(claims: try claims.serialized())
        tokens.register(token, as: KubernetesSimulator.Identity.serviceAccount(namespace: namespace, name: name).userInfo)
        var spec = request["spec"] ?? [:]
        spec["audiences"] = .array(audiences.map(JSONValue.string))
        spec["expirationSeconds"] = .number(Double(lifetime))
        return .json(.created, [
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": [
                "name": .string(name), "namespace": .string(namespace), "uid": account["metadata"]?["uid"] ?? "",
                "creationTimestamp": .string(KubernetesStore.timestamp()),
            ],
            "spec": spec,
            "status": [
                "token": .string(token),
                "expirationTimestamp": .string(KubernetesStore.timestamp(Date(timeIntervalSince1970: Double(now + lifetime)))),
            ],
        ] as JSONValue)
    }

    // MARK: Reviews

    private func tokenReview(_ review: JSONValue) -> JSONValue {
        var result = review
        result["metadata"] = [:]
        let token = review["spec"]?["token"]?.stringValue ?? ""
        if let user = user(forToken: token) {
            result["status"] = [
                "authenticated": true,
                "user": ["username": .string(user.name), "groups": .array(user.groups.map(JSONValue.string))],
                "audiences": ["https://kubernetes.default.svc.cluster.local"],
            ]
        } else {
            result["status"] = ["user": [:], "error": "invalid bearer token"]
        }
        return result
    }

    private func subjectAccessReview(_ review: JSONValue, call: ResourceCall) async -> JSONValue {
        let spec = review["spec"] ?? [:]
        let subject: UserInfo
        if call.type.resource == "selfsubjectaccessreviews" {
            subject = call.user
        } else {
            subject = UserInfo(name: spec["user"]?.stringValue ?? "", groups: (spec["groups"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        let attributes: RequestAttributes
        if let resource = spec["resourceAttributes"] {
            var fieldSelector: FieldSelector?
            if let text = resource["fieldSelector"]?["rawSelector"]?.stringValue,
                let type = await store.registry.lookup(group: resource["group"]?.stringValue ?? "", resource: resource["resource"]?.stringValue ?? "")
            {
                fieldSelector = try? FieldSelector(parsing: text, for: type)
            }
            attributes = RequestAttributes(
                verb: resource["verb"]?.stringValue ?? "", group: resource["group"]?.stringValue ?? "",
                resource: resource["resource"]?.stringValue ?? "", subresource: resource["subresource"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                namespace: (call.namespace ?? resource["namespace"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 },
                name: resource["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, fieldSelector: fieldSelector)
        } else {
            attributes = RequestAttributes(
                verb: spec["nonResourceAttributes"]?["verb"]?.stringValue ?? "get", group: "", resource: "",
                path: spec["nonResourceAttributes"]?["path"]?.stringValue ?? "/")
        }
        var result = review
        result["metadata"] = [:]
        switch await authorizer.authorize(subject, attributes, store: store) {
        case .allow:
            result["status"] = ["allowed": true]
        case .deny(let reason):
            var status: [String: JSONValue] = ["allowed": false]
            if let reason { status["reason"] = .string(reason) }
            result["status"] = .object(status)
        }
        return result
    }
}
