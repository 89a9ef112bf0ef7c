import Foundation
import KubernetesModels
import Logging
import NIOHTTP1

// MARK: Generic operations (typed and raw share these)

extension KubernetesClient {
    func namespace(for resource: ResourceType, _ namespace: String?) -> String? {
        resource.isNamespaced ? (namespace ?? configuration.namespace) : nil
    }

    func encode(_ value: some Encodable, what: String) throws -> Data {
        do {
            return try JSONEncoder().encode(value)
        } catch {
            throw KubernetesClientError.encodingFailed(what: what, underlying: error)
        }
    }

    func getObject<Result: Decodable>(_ resource: ResourceType, name: String, namespace: String?, subresource: String? = nil) async throws -> Result {
        let request = APIRequest.get(resource.path(namespace: self.namespace(for: resource, namespace), name: name, subresource: subresource))
        return try decode(Result.self, from: try await send(request))
    }

    func listObjects<Result: Decodable>(_ resource: ResourceType, namespace: String?, options: ListOptions) async throws -> Result {
        let request = APIRequest.get(resource.path(namespace: resource.isNamespaced ? namespace : nil), query: options.queryItems)
        return try decode(Result.self, from: try await send(request))
    }

    func createObject<Result: Decodable>(_ resource: ResourceType, body: some Encodable, namespace: String?, subresource: String? = nil, name: String? = nil) async throws -> Result {
        let request = APIRequest(
            method: .POST, path: resource.path(namespace: self.namespace(for: resource, namespace), name: name, subresource: subresource),
            body: try encode(body, what: "the \(resource.plural) object"), idempotent: false)
        return try decode(Result.self, from: try await send(request))
    }

    func replaceObject<Result: Decodable>(_ resource: ResourceType, body: some Encodable, name: String, namespace: String?, subresource: String? = nil) async throws -> Result {
        // A PUT carries a resourceVersion, so resending it after a lost connection cannot apply twice.
        let request = APIRequest(
            method: .PUT, path: resource.path(namespace: self.namespace(for: resource, namespace), name: name, subresource: subresource),
            body: try encode(body, what: "the \(resource.plural) object"), idempotent: true)
        return try decode(Result.self, from: try await send(request))
    }

    func patchObject<Result: Decodable>(_ resource: ResourceType, name: String, namespace: String?, patch: Patch, subresource: String? = nil) async throws -> Result {
        let request = APIRequest(
            method: .PATCH, path: resource.path(namespace: self.namespace(for: resource, namespace), name: name, subresource: subresource),
            body: try encode(patch.body, what: "the patch"), contentType: patch.contentType, idempotent: false)
        return try decode(Result.self, from: try await send(request))
    }

    func deleteObject<Result: Decodable & Sendable>(_ resource: ResourceType, name: String, namespace: String?, options: DeleteOptions) async throws -> DeletionResult<Result> {
        let request = APIRequest(
            method: .DELETE, path: resource.path(namespace: self.namespace(for: resource, namespace), name: name),
            body: try encode(options, what: "DeleteOptions"), idempotent: true)
        let response = try await send(request)
        let raw = try decode(JSONValue.self, from: response)
        if raw["kind"]?.stringValue == "Status" {
            return .status(try decode(Status.self, from: response))
        }
        return .object(try decode(Result.self, from: response))
    }
}

// MARK: Typed operations

extension KubernetesClient {
    /// GETs one object.
    public func get<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String? = nil) async throws -> Resource {
        try await getObject(ResourceType(type), name: name, namespace: namespace)
    }

    /// Lists one page of objects (all namespaces when `namespace` is nil).
    public func list<Resource: KubernetesResource>(_ type: Resource.Type, namespace: String? = nil, options: ListOptions = ListOptions()) async throws
        -> ResourceList<Resource>
    {
        try await listObjects(ResourceType(type), namespace: namespace, options: options)
    }

    /// Lists every object, following `continue` tokens page by page (`options.limit` is the page
    /// size). The result's `metadata.resourceVersion` is the first page's: the snapshot all pages
    /// come from, the one to start a watch from.
    public func listAll<Resource: KubernetesResource>(_ type: Resource.Type, namespace: String? = nil, options: ListOptions = ListOptions()) async throws
        -> ResourceList<Resource>
    {
        var pageOptions = options
        var result = try await list(type, namespace: namespace, options: pageOptions)
        var next = result.metadata.continue
        while let token = next, !token.isEmpty {
            pageOptions.continueToken = token
            let page = try await list(type, namespace: namespace, options: pageOptions)
            result.items += page.items
            next = page.metadata.continue
        }
        result.metadata.continue = nil
        result.metadata.remainingItemCount = nil
        return result
    }

    /// Creates an object in `namespace`, else in its `metadata.namespace`, else the configuration's.
    public func create<Resource: KubernetesResource>(_ object: Resource, namespace: String? = nil) async throws -> Resource {
        var object = object
        object.apiVersion = object.apiVersion ?? Resource.apiVersion
        object.kind = object.kind ?? Resource.kind
        return try await createObject(ResourceType(Resource.self), body: object, namespace: namespace ?? object.metadata.namespace)
    }

    /// Replaces an object (PUT) with its `metadata.resourceVersion`: a stale version fails with
    /// `.conflict`. Fields the Swift type does not model are lost; prefer ``modify(_:name:namespace:maximumAttempts:_:)``.
    public func update<Resource: KubernetesResource>(_ object: Resource) async throws -> Resource {
        guard let name = object.metadata.name else {
            throw KubernetesClientError.encodingFailed(what: "\(Resource.kind) without metadata.name", underlying: MissingName())
        }
        return try await replaceObject(ResourceType(Resource.self), body: object, name: name, namespace: object.metadata.namespace)
    }

    /// Deletes an object; returns it (while graceful deletion or finalizers run) or the server's Status.
    @discardableResult
    public func delete<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String? = nil, options: DeleteOptions = DeleteOptions())
        async throws -> DeletionResult<Resource>
    {
        try await deleteObject(ResourceType(type), name: name, namespace: namespace, options: options)
    }

    /// Patches an object (or its `subresource`, e.g. `status`) with a merge, strategic merge or JSON patch.
    public func patch<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String? = nil, patch: Patch, subresource: String? = nil)
        async throws -> Resource
    {
        try await patchObject(ResourceType(type), name: name, namespace: namespace, patch: patch, subresource: subresource)
    }

    /// GETs the status subresource.
    public func getStatus<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String? = nil) async throws -> Resource {
        try await getObject(ResourceType(type), name: name, namespace: namespace, subresource: "status")
    }

    /// Patches the status subresource.
    public func patchStatus<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String? = nil, patch: Patch) async throws -> Resource {
        try await patchObject(ResourceType(type), name: name, namespace: namespace, patch: patch, subresource: "status")
    }

    /// Replaces the status subresource (PUT with the object's resourceVersion).
    public func updateStatus<Resource: KubernetesResource>(_ object: Resource) async throws -> Resource {
        guard let name = object.metadata.name else {
            throw KubernetesClientError.encodingFailed(what: "\(Resource.kind) without metadata.name", underlying: MissingName())
        }
        return try await replaceObject(ResourceType(Resource.self), body: object, name: name, namespace: object.metadata.namespace, subresource: "status")
    }

    /// POSTs `body` to a subresource of an object (`pods/binding`, `pods/eviction`,
    /// `serviceaccounts/token`) and decodes the answer as `Result` (`JSONValue` takes anything).
    public func create<Parent: KubernetesResource, Result: Decodable>(
        subresource: String, of parent: Parent.Type, name: String, namespace: String? = nil, body: some Encodable & Sendable,
        as result: Result.Type = Result.self
    ) async throws -> Result {
        try await createObject(ResourceType(parent), body: body, namespace: namespace, subresource: subresource, name: name)
    }

    /// GETs a subresource of an object (`scale`, `status`, ...) decoded as `Result`.
    public func get<Parent: KubernetesResource, Result: Decodable>(
        subresource: String, of parent: Parent.Type, name: String, namespace: String? = nil, as result: Result.Type = Result.self
    ) async throws -> Result {
        try await getObject(ResourceType(parent), name: name, namespace: namespace, subresource: subresource)
    }

    /// Read-modify-write that never loses fields the Swift type does not know.
    ///
    /// GETs the object, lets `change` edit the typed value, applies only what changed (a three-way
    /// merge, ``ThreeWayMerge``) onto the raw JSON the server sent, and PUTs it with the read
    /// resourceVersion. On 409 Conflict it starts over, at most `maximumAttempts` times.
    /// `subresource: "status"` does the same on the status subresource.
    @discardableResult
    public func modify<Resource: KubernetesResource>(
        _ type: Resource.Type, name: String, namespace: String? = nil, subresource: String? = nil, maximumAttempts: Int = 5,
        _ change: (inout Resource) async throws -> Void
    ) async throws -> Resource {
        let resource = ResourceType(type)
        var attempt = 1
        while true {
            let response = try await send(APIRequest.get(resource.path(namespace: self.namespace(for: resource, namespace), name: name)))
            let raw = try decode(JSONValue.self, from: response)
            let before = try decode(Resource.self, from: response)
            var after = before
            try await change(&after)
            let merged = try ThreeWayMerge.apply(original: JSONValue(encoding: before), modified: JSONValue(encoding: after), onto: raw)
            do {
                return try await replaceObject(resource, body: merged, name: name, namespace: namespace, subresource: subresource)
            } catch let error as KubernetesClientError where error.kind == .conflict && attempt < maximumAttempts {
                logger.debug("update conflicted; reading again", metadata: ["resource": "\(resource.plural)", "name": "\(name)", "attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}

/// The reason an update of an object without a name cannot be sent.
struct MissingName: Error, CustomStringConvertible {
    var description: String { "metadata.name is required" }
}

// MARK: Raw operations (custom resources)

extension KubernetesClient {
    /// GETs one object as JSON.
    public func get(_ resource: ResourceType, name: String, namespace: String? = nil, subresource: String? = nil) async throws -> JSONValue {
        try await getObject(resource, name: name, namespace: namespace, subresource: subresource)
    }

    /// Lists one page as JSON (the whole list object, items under `items`).
    public func list(_ resource: ResourceType, namespace: String? = nil, options: ListOptions = ListOptions()) async throws -> JSONValue {
        try await listObjects(resource, namespace: namespace, options: options)
    }

    /// Creates an object from JSON.
    public func create(_ resource: ResourceType, object: JSONValue, namespace: String? = nil) async throws -> JSONValue {
        try await createObject(resource, body: object, namespace: namespace ?? object["metadata"]?["namespace"]?.stringValue)
    }

    /// Replaces an object from JSON (with its `metadata.resourceVersion`); `subresource` e.g. `status`.
    public func update(_ resource: ResourceType, object: JSONValue, subresource: String? = nil) async throws -> JSONValue {
        guard let name = object["metadata"]?["name"]?.stringValue else {
            throw KubernetesClientError.encodingFailed(what: "\(resource.plural) object without metadata.name", underlying: MissingName())
        }
        return try await replaceObject(resource, body: object, name: name, namespace: object["metadata"]?["namespace"]?.stringValue, subresource: subresource)
    }

    /// Patches an object (or its `subresource`) and returns the result as JSON.
    public func patch(_ resource: ResourceType, name: String, namespace: String? = nil, patch: Patch, subresource: String? = nil) async throws -> JSONValue {
        try await patchObject(resource, name: name, namespace: namespace, patch: patch, subresource: subresource)
    }

    /// Deletes an object; returns it as JSON or the server's Status.
    @discardableResult
    public func delete(_ resource: ResourceType, name: String, namespace: String? = nil, options: DeleteOptions = DeleteOptions()) async throws
        -> DeletionResult<JSONValue>
    {
        try await deleteObject(resource, name: name, namespace: namespace, options: options)
    }
}
