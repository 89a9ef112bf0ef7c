import KubernetesModels
import TestCleanup
import Testing

@testable import KubernetesClient

@Suite("Informer event deduplication", .awaitsCleanup)
struct InformerReplayTests {
    static func configMap(_ name: String, version: String, uid: String = "uid-1") -> ConfigMap {
        var object = ConfigMap(metadata: ObjectMeta(name: name, namespace: "default"))
        object.metadata.resourceVersion = version
        object.metadata.uid = uid
        return object
    }

    @Test func replayedHistoryIsNotDeliveredTwice() async throws {
        let client = try KubernetesClient(configuration: ClientConfiguration(server: "https://127.0.0.1:1"))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let informer = Informer<ConfigMap>(client: client)
        let log = EventLog<ConfigMap>()
        let stream = await informer.events()
        let consumer = Task { for await event in stream { await log.append(event) } }
        defer { consumer.cancel() }

        let history: [WatchStreamEvent<ConfigMap>] = [
            .added(Self.configMap("a", version: "5")),
            .modified(Self.configMap("a", version: "7")),
            .bookmark(resourceVersion: "9"),
        ]
        for event in history { await informer.apply(event) }
        #expect(await informer.lastResourceVersion == "9")
        // A server that replays its history for a too-old resourceVersion (as the recorded v1.36 did)
        // sends the same events again, then new ones.
        for event in history { await informer.apply(event) }
        #expect(await informer.lastResourceVersion == "9", "a replay does not move the resourceVersion back")
        await informer.apply(.deleted(Self.configMap("a", version: "10")))
        await informer.apply(.added(Self.configMap("a", version: "11", uid: "uid-2")))
        // A stale deletion of the first incarnation, replayed after the re-creation, is ignored.
        await informer.apply(.deleted(Self.configMap("a", version: "10")))
        await informer.apply(.modified(Self.configMap("a", version: "12", uid: "uid-2")))

        try await eventually("five events", timeout: .seconds(30)) { await log.summary.count >= 5 }
        #expect(await log.summary == ["added a", "updated a", "deleted a", "added a", "updated a"])
        #expect(await informer.cached(name: "a", namespace: "default")?.metadata.uid == "uid-2")
        #expect(await informer.lastResourceVersion == "12")
    }
}
