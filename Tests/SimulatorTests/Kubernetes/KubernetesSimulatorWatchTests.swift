import Foundation
import KubernetesModels
import TestSupport
import Testing

@Suite("Kubernetes simulator: watch", .timeLimit(.minutes(2)))
struct KubernetesSimulatorWatchTests {
    /// The next event of a stream, or a failure naming what was expected.
    private func next(_ iterator: inout AsyncThrowingStream<JSONValue, any Error>.Iterator, _ what: String) async throws -> JSONValue {
        guard let event = try await iterator.next() else {
            Issue.record("watch ended while waiting for \(what)")
            throw CancellationError()
        }
        return event
    }

    @Test("ADDED, MODIFIED, DELETED in order; a filtered watch sees a pod bound to its node as ADDED")
    func eventsInOrder() async throws {
        try await withSimulator { _, admin in
            let start = try await admin.get("/api/v1/pods").json["metadata"]?["resourceVersion"]?.stringValue ?? "0"
            let (status, events) = try await admin.watch(
                "/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dvk&resourceVersion=\(start)&timeoutSeconds=30")
            #expect(status == 200)
            var iterator = events.makeAsyncIterator()
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("p"))
            _ = try await admin.patch("\(path)/p", ["spec": ["nodeName": "vk"]], type: "application/merge-patch+json")
            _ = try await admin.patch("\(path)/p/status", ["status": ["phase": "Running"]])
            _ = try await admin.delete("\(path)/p", ["gracePeriodSeconds": 0])

            let added = try await next(&iterator, "ADDED on bind")
            #expect(added["type"] == "ADDED")
            #expect(added["object"]?["spec"]?["nodeName"] == "vk")
            let modified = try await next(&iterator, "MODIFIED on status patch")
            #expect(modified["type"] == "MODIFIED")
            #expect(modified["object"]?["status"]?["phase"] == "Running")
            // As a real kube-apiserver v1.36 does, a grace-0 delete marks the pod first (ConformanceTests).
            let marked = try await next(&iterator, "MODIFIED marking the pod for deletion")
            #expect(marked["type"] == "MODIFIED")
            #expect(marked["object"]?["metadata"]?["deletionGracePeriodSeconds"] == 0)
            let deleted = try await next(&iterator, "DELETED")
            #expect(deleted["type"] == "DELETED")
        }
    }

    @Test("BOOKMARK events have the recorded shape and come when allowWatchBookmarks=true")
    func bookmarks() async throws {
        let recorded = try RecordedTraffic.stream("kubernetes/03-watch-own-pods.txt").lines
            .compactMap { try? JSONValue(parsing: Data($0.utf8)) }
            .first { $0["type"] == "BOOKMARK" }
        var configuration = KubernetesSimulator.Configuration()
        configuration.bookmarkInterval = .milliseconds(200)
        try await withSimulator(configuration) { _, admin in
            let (_, events) = try await admin.watch(
                "/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=30")
            var iterator = events.makeAsyncIterator()
            let bookmark = try await next(&iterator, "a BOOKMARK")
            #expect(bookmark["type"] == "BOOKMARK")
            var expected = try #require(recorded)
            expected["object"]?["metadata"]?["resourceVersion"] = bookmark["object"]?["metadata"]?["resourceVersion"]
            #expect(bookmark == expected)
        }
    }

    @Test("timeoutSeconds ends the stream cleanly")
    func timeout() async throws {
        try await withSimulator { _, admin in
            let started = ContinuousClock.now
            let (_, events) = try await admin.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1")
            // The stream ends by itself without an error (a hang fails the suite's time limit), and
            // not before the second it was asked to last.
            for try await _ in events {}
            #expect(ContinuousClock.now - started >= .seconds(1))
        }
    }

    @Test("resourceVersion 0 starts with synthetic ADDED events; a resourceVersion replays the history after it")
    func initialEventsAndReplay() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/configmaps"
            let first = try await admin.post(path, ["metadata": ["name": "one"]]).json
            _ = try await admin.post(path, ["metadata": ["name": "two"]])

            let (_, fromZero) = try await admin.watch("\(path)?watch=true&resourceVersion=0&timeoutSeconds=1")
            var names: [String] = []
            for try await event in fromZero {
                #expect(event["type"] == "ADDED")
                names.append(event["object"]?["metadata"]?["name"]?.stringValue ?? "")
            }
            #expect(names == ["kube-root-ca.crt", "one", "two"])

            let version = first["metadata"]?["resourceVersion"]?.stringValue ?? ""
            let (_, replay) = try await admin.watch("\(path)?watch=true&resourceVersion=\(version)&timeoutSeconds=1")
            var replayed: [String] = []
            for try await event in replay { replayed.append(event["object"]?["metadata"]?["name"]?.stringValue ?? "") }
            #expect(replayed == ["two"])
        }
    }

    @Test("a resourceVersion older than the history gets an ERROR event with a 410 Expired Status")
    func tooOldResourceVersion() async throws {
        try await withSimulator { simulator, admin in
            _ = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "x"]])
            await simulator.compactHistory()
            let (status, events) = try await admin.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
            #expect(status == 200)
            var received: [JSONValue] = []
            for try await event in events { received.append(event) }
            #expect(received.count == 1)
            #expect(received.first?["type"] == "ERROR")
            #expect(received.first?["object"]?["code"] == 410)
            #expect(received.first?["object"]?["reason"] == "Expired")
            #expect(received.first?["object"]?["message"]?.stringValue?.hasPrefix("too old resource version: 1 (") == true)
        }
    }

    @Test("with the replay policy, a stale resourceVersion replays what the history still holds (as the recorded v1.36)")
    func staleReplay() async throws {
        var configuration = KubernetesSimulator.Configuration()
        configuration.staleWatchPolicy = .replay
        configuration.watchHistorySize = 2
        try await withSimulator(configuration) { _, admin in
            for name in ["a", "b", "c"] { _ = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string(name)]]) }
            let (_, events) = try await admin.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1")
            var names: [String] = []
            for try await event in events {
                #expect(event["type"] == "ADDED")
                names.append(event["object"]?["metadata"]?["name"]?.stringValue ?? "")
            }
            #expect(names == ["b", "c"])
        }
    }

    @Test("dropWatchConnections breaks open watches")
    func dropConnections() async throws {
        try await withSimulator { simulator, admin in
            let (_, events) = try await admin.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=60")
            var iterator = events.makeAsyncIterator()
            _ = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "x"]])
            _ = try await next(&iterator, "the ADDED event before the drop")
            await simulator.dropWatchConnections()
            let started = ContinuousClock.now
            do {
                while try await iterator.next() != nil {}
            } catch {
                // A broken connection may end the stream with an error: that is what dropping means.
            }
            #expect(ContinuousClock.now - started < .seconds(30), "ended by the drop, not by the 60 s timeout")
        }
    }
}
