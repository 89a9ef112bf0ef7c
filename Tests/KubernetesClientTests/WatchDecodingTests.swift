import Foundation
import KubernetesModels
import TestCleanup
import Testing
import TestSupport

@testable import KubernetesClient

@Suite("Watch stream decoding from recorded streams", .awaitsCleanup)
struct WatchDecodingTests {
    /// Feeds `body` to a splitter in chunks of `size` bytes and decodes every line.
    static func decode<Resource>(_ body: String, chunkSize size: Int, as type: Resource.Type) throws -> [WatchStreamEvent<Resource>] {
        var splitter = LineSplitter()
        let decoder = WatchLineDecoder<Resource>(url: "https://test/watch")
        let bytes = Array(body.utf8)
        var events: [WatchStreamEvent<Resource>] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            for line in splitter.append(bytes[offset..<end]) { events.append(try decoder.decode(line)) }
            offset = end
        }
        if let rest = splitter.finish() { events.append(try decoder.decode(rest)) }
        return events
    }

    static func summary<Resource>(_ events: [WatchStreamEvent<Resource>]) -> [String] {
        events.map { event in
            switch event {
            case .added: "ADDED \(event.resourceVersion ?? "")"
            case .modified: "MODIFIED \(event.resourceVersion ?? "")"
            case .deleted: "DELETED \(event.resourceVersion ?? "")"
            case .bookmark(let version): "BOOKMARK \(version)"
            }
        }
    }

    @Test(arguments: [1, 3, 17, 256, 4096, 1 << 20])
    func ownPodsStreamInAnyChunking(chunkSize: Int) throws {
        let stream = try RecordedTraffic.stream("kubernetes/03-watch-own-pods.txt")
        let events = try Self.decode(stream.body, chunkSize: chunkSize, as: Pod.self)
        let types = Self.summary(events).map { $0.split(separator: " ")[0] }
        #expect(types == ["ADDED", "BOOKMARK", "MODIFIED", "ADDED", "MODIFIED", "MODIFIED", "DELETED", "BOOKMARK"])
        #expect(Self.summary(events).contains("BOOKMARK 631"))
        #expect(Self.summary(events).last == "BOOKMARK 706")
        let deleted = events.compactMap { event -> Pod? in
            if case .deleted(let pod) = event { return pod }
            return nil
        }
        #expect(deleted.count == 1)
        #expect(deleted.first?.metadata.deletionTimestamp != nil)
        // The typed and the raw decoding agree on every resourceVersion.
        let raw = try Self.decode(stream.body, chunkSize: chunkSize, as: JSONValue.self)
        #expect(Self.summary(raw) == Self.summary(events))
    }

    @Test func tooOldResourceVersionReplayedHistory() throws {
        let stream = try RecordedTraffic.stream("kubernetes/05-watch-too-old-resource-version.txt")
        let events = try Self.decode(stream.body, chunkSize: 97, as: Pod.self)
        #expect(events.count == stream.lines.count)
        let versions = events.compactMap { $0.resourceVersion }.compactMap { UInt64($0) }
        #expect(versions == versions.sorted(), "replayed history comes in resourceVersion order")
    }

    @Test func severalEventsInOneChunkAndOneSplitAcrossChunks() throws {
        let line1 = #"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}"#
        let line2 = #"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}"#
        var splitter = LineSplitter()
        let text = Array((line1 + "\n" + line2 + "\n" + line1).utf8)
        let first = splitter.append(text[..<(line1.utf8.count + 1 + line2.utf8.count + 1 + 10)])
        #expect(first.count == 2)
        #expect(splitter.append(text[(line1.utf8.count + line2.utf8.count + 12)...]).isEmpty)
        #expect(splitter.append(Array("\n".utf8)).count == 1)
        #expect(splitter.finish() == nil)
    }

    @Test func expiredErrorEventIsATypedError() throws {
        let line = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (602)","reason":"Expired","code":410}}"#
        let error = try #require(throws: KubernetesClientError.self) {
            try WatchLineDecoder<Pod>(url: "https://test/api/v1/pods?watch=true").decode(Array(line.utf8))
        }
        #expect(error.kind == .resourceExpired)
        #expect(error.status?.reason == "Expired")
        #expect(error.message.contains("too old resource version"))

        let gone = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"gone","reason":"Gone","code":410}}"#
        #expect(throws: KubernetesClientError.self) { try WatchLineDecoder<Pod>(url: "u").decode(Array(gone.utf8)) }
    }

    @Test func otherErrorEventsMapLikeResponses() throws {
        let line = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"internal error","reason":"InternalError","code":500}}"#
        let error = try #require(throws: KubernetesClientError.self) { try WatchLineDecoder<Pod>(url: "u").decode(Array(line.utf8)) }
        #expect(error.kind == .serverError)
        #expect(error.status?.message == "internal error")
    }

    @Test func truncatedEventIsMalformed() throws {
        let error = try #require(throws: KubernetesClientError.self) {
            try WatchLineDecoder<Pod>(url: "https://test/w").decode(Array(#"{"type":"ADDED","object":{"metadata":{"na"#.utf8))
        }
        #expect(error.kind == .malformedResponse)
        #expect(error.message.contains("https://test/w"))
    }
}

@Suite("Error mapping from recorded bodies", .awaitsCleanup)
struct ErrorMappingTests {
    static func error(_ file: String, _ title: String) throws -> KubernetesClientError {
        let exchange = try RecordedTraffic.exchange(file, titled: title)
        return KubernetesClient.errorResponse(
            status: exchange.status, retryAfterHeader: exchange.responseHeader("Retry-After"), body: Data(exchange.responseBody.utf8), method: exchange.method,
            url: "https://test" + exchange.target)
    }

    @Test func forbiddenCarriesTheUserAndVerb() throws {
        let error = try Self.error("kubernetes/02-pods-as-node.txt", "a node identity may not list all pods")
        #expect(error.kind == .forbidden)
        #expect(error.httpStatus == 403)
        #expect(error.status?.reason == "Forbidden")
        #expect(error.message.contains(#"User "system:node:vk-nomad" cannot list resource "pods""#))
        #expect(error.message.contains("GET https://test/api/v1/pods"))
    }

    @Test func conflictOnUIDPrecondition() throws {
        let error = try Self.error("kubernetes/02-pods-as-node.txt", "final delete with a wrong uid precondition")
        #expect(error.kind == .conflict)
        #expect(error.status?.details?.name == "web-6ddb9c647c-gbbll")
        #expect(error.message.contains("the UID in the precondition"))
    }

    @Test func conflictOnStaleLease() throws {
        let exchanges = try RecordedTraffic.exchanges("kubernetes/01-node-and-lease.txt").filter { $0.status == 409 }
        let exchange = try #require(exchanges.first)
        let error = KubernetesClient.errorResponse(
            status: exchange.status, retryAfterHeader: nil, body: Data(exchange.responseBody.utf8), method: exchange.method, url: "u")
        #expect(error.kind == .conflict)
        #expect(error.message.contains("the object has been modified"))
    }

    @Test func invalidListsFieldCauses() throws {
        let error = try Self.error("kubernetes/08-crd-tokens-csr-storage.txt", "violates the schema")
        #expect(error.kind == .invalid)
        #expect(error.status?.details?.causes?.first?.field == "spec.source")
        #expect(error.message.contains("spec.source: Invalid value"))
    }

    @Test func notFoundWithAndWithoutStatus() throws {
        let body = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}"#
        let error = KubernetesClient.errorResponse(status: 404, retryAfterHeader: nil, body: Data(body.utf8), method: "GET", url: "https://t/api/v1/namespaces/default/pods/nope")
        #expect(error.kind == .notFound)
        #expect(error.status?.details?.name == "nope")
        #expect(error.message.contains(#"pods "nope" not found"#))

        let plain = KubernetesClient.errorResponse(status: 404, retryAfterHeader: nil, body: Data("404 page not found".utf8), method: "GET", url: "u")
        #expect(plain.kind == .notFound)
        #expect(plain.status == nil)
    }

    @Test func retryAfterIsRead() {
        let error = KubernetesClient.errorResponse(status: 429, retryAfterHeader: "3", body: Data(), method: "GET", url: "u")
        #expect(error.kind == .tooManyRequests)
        #expect(error.retryAfterSeconds == 3)
        let unavailable = KubernetesClient.errorResponse(status: 503, retryAfterHeader: nil, body: Data(), method: "GET", url: "u")
        #expect(unavailable.kind == .serverError)
        #expect(KubernetesClient.errorResponse(status: 401, retryAfterHeader: nil, body: Data(), method: "GET", url: "u").kind == .unauthorized)
    }
}

@Suite("Request building and retry delays", .awaitsCleanup)
struct RequestBuildingTests {
    @Test func paths() {
        #expect(ResourceType(Pod.self).path(namespace: "default", name: "web", subresource: "status") == "/api/v1/namespaces/default/pods/web/status")
        #expect(ResourceType(Pod.self).path(namespace: nil) == "/api/v1/pods")
        #expect(ResourceType(Lease.self).path(namespace: "kube-node-lease", name: "n") == "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n")
        #expect(ResourceType(Node.self).path(namespace: "ignored", name: "vk") == "/api/v1/nodes/vk")
        let custom = ResourceType(group: "example.test", version: "v1", plural: "examplethings", isNamespaced: false)
        #expect(custom.path(namespace: nil, name: "a") == "/apis/example.test/v1/examplethings/a")
    }

    @Test func selectorsArePercentEncoded() {
        let request = KubernetesClient.APIRequest.get(
            "/api/v1/pods", query: ListOptions(labelSelector: "app in (web,db),tier!=x", fieldSelector: "spec.nodeName=vk-nomad", limit: 2).queryItems)
        #expect(request.pathAndQuery == "/api/v1/pods?labelSelector=app%20in%20(web%2Cdb)%2Ctier!%3Dx&fieldSelector=spec.nodeName%3Dvk-nomad&limit=2")
    }

    @Test func serverPathPrefixIsKept() throws {
        let client = try KubernetesClient(configuration: ClientConfiguration(server: "https://rancher.example/k8s/clusters/c-1/"))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let request = KubernetesClient.APIRequest.get(ResourceType(Pod.self).path(namespace: "default", name: "web"))
        #expect(client.url(for: request) == "https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/default/pods/web")
    }

    @Test func malformedResponsesNameTheURL() throws {
        let client = try KubernetesClient(configuration: ClientConfiguration(server: "https://127.0.0.1:6443"))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let truncated = KubernetesClient.APIResponse(
            status: 200, contentType: "application/json", body: Data(#"{"kind":"Pod","metadata":{"na"#.utf8), url: "https://127.0.0.1:6443/api/v1/pods/x")
        let truncatedError = try #require(throws: KubernetesClientError.self) { try client.decode(Pod.self, from: truncated) }
        #expect(truncatedError.kind == .malformedResponse)
        #expect(truncatedError.message.contains("https://127.0.0.1:6443/api/v1/pods/x"))

        let html = KubernetesClient.APIResponse(
            status: 200, contentType: "text/html", body: Data("<html>login</html>".utf8), url: "https://127.0.0.1:6443/api/v1/pods/x")
        let htmlError = try #require(throws: KubernetesClientError.self) { try client.decode(Pod.self, from: html) }
        #expect(htmlError.kind == .malformedResponse)
        #expect(htmlError.message.contains("text/html"))
    }

    @Test func backoffGrowsIsCappedAndHonoursRetryAfter() {
        let policy = RetryPolicy(maximumRetries: 10, initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
        for attempt in 0..<10 {
            let delay = policy.delay(beforeRetry: attempt, retryAfterSeconds: nil)
            let ceiling = min(Duration.milliseconds(100) * (1 << attempt), .seconds(2))
            #expect(delay >= ceiling / 2 && delay <= ceiling, "attempt \(attempt): \(delay)")
        }
        #expect(policy.delay(beforeRetry: 0, retryAfterSeconds: 1) == .seconds(1))
        #expect(policy.delay(beforeRetry: 0, retryAfterSeconds: 120) == .seconds(2))
    }
}
