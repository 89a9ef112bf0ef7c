import Foundation
import KubernetesClient
import KubernetesModels
import TestCleanup
import Testing
import TestSupport

@Suite("Kubernetes client failures a user must be able to act on", .awaitsCleanup)
struct FailureEndToEndTests {
    @Test(.enabled(if: usesSimulator, "injects failures into the simulator"))
    func retriesHonourRetryAfterOn429And503() async throws {
        try await TestCluster.with { cluster in
            let simulator = try #require(cluster.simulator)
            let recorder = DelayRecorder()
            var configuration = cluster.adminConfiguration
            configuration.retry = recorder.policy(maximumRetries: 3)
            let client = try KubernetesClient(configuration: configuration)
            defer { DeferredCleanup.start { try? await client.shutdown() } }

            await simulator.injectFailures(count: 2, status: 429, retryAfterSeconds: 7)
            _ = try await client.list(ConfigMap.self, namespace: cluster.namespace)
            #expect(recorder.delays == [.seconds(7), .seconds(7)], "both retries waited the server's Retry-After")

            await simulator.injectFailures(count: 1, status: 503, retryAfterSeconds: nil)
            _ = try await client.list(ConfigMap.self, namespace: cluster.namespace)
            #expect(recorder.delays.count == 3)
            let backoff = try #require(recorder.delays.last)
            #expect(backoff > .zero && backoff <= .milliseconds(5), "the first backoff is at most the initial delay")

            // More failures than retries: the last error surfaces, typed.
            await simulator.injectFailures(count: 10, status: 503, retryAfterSeconds: 1)
            let error = await #expect(throws: KubernetesClientError.self) { try await client.list(ConfigMap.self, namespace: cluster.namespace) }
            #expect(error?.kind == .serverError)
            #expect(error?.httpStatus == 503)
            await simulator.injectFailures(count: 0, status: 503, retryAfterSeconds: nil)

            // Other 4xx are never retried.
            let before = recorder.delays.count
            await #expect(throws: KubernetesClientError.self) { try await client.get(ConfigMap.self, name: "\(cluster.runID)-absent", namespace: cluster.namespace) }
            #expect(recorder.delays.count == before)
        }
    }

    @Test func wrongCertificateAuthorityNamesTheCA() async throws {
        try await TestCluster.with { cluster in
            var configuration = cluster.adminConfiguration
            configuration.trust = .certificates(pem: Array(TestCredentials.certificatePEM.utf8), source: "kubeconfig /test/config: clusters[0].cluster.certificate-authority-data")
            configuration.retry = .never
            // AsyncHTTPClient retries failed connection attempts until the connect timeout; keep it short.
            configuration.connectTimeout = .milliseconds(500)
            let client = try KubernetesClient(configuration: configuration)
            defer { DeferredCleanup.start { try? await client.shutdown() } }
            let error = await #expect(throws: KubernetesClientError.self) { try await client.list(ConfigMap.self, namespace: cluster.namespace) }
            #expect(error?.kind == .tlsVerificationFailed)
            #expect(error?.message.contains("clusters[0].cluster.certificate-authority-data") == true, "\(error?.message ?? "")")
        }
    }

    @Test func invalidTokenIsUnauthorized() async throws {
        try await TestCluster.with { cluster in
            var configuration = cluster.adminConfiguration
            configuration.clientCertificate = nil
            configuration.bearerToken = .token("not-a-valid-token")
            let client = try KubernetesClient(configuration: configuration)
            defer { DeferredCleanup.start { try? await client.shutdown() } }
            let error = await #expect(throws: KubernetesClientError.self) { try await client.list(ConfigMap.self, namespace: cluster.namespace) }
            #expect(error?.kind == .unauthorized)
            #expect(error?.message.contains("token may be expired or invalid") == true)
        }
    }

    @Test(.enabled(if: usesSimulator, "needs a node identity from the simulator"))
    func nodeIdentityListingAllPodsIsForbidden() async throws {
        try await TestCluster.with { cluster in
            let node = try cluster.client(for: .node("vk-nomad"))
            defer { DeferredCleanup.start { try? await node.shutdown() } }
            let error = await #expect(throws: KubernetesClientError.self) { try await node.list(Pod.self) }
            #expect(error?.kind == .forbidden)
            #expect(error?.status?.reason == "Forbidden")
            #expect(error?.message.contains(#"User "system:node:vk-nomad" cannot list resource "pods""#) == true, "\(error?.message ?? "")")
            // With the field selector the Node authorizer demands, the same identity may list.
            _ = try await node.list(Pod.self, options: ListOptions(fieldSelector: "spec.nodeName=vk-nomad"))

            let tokenNode = try cluster.client(for: .node("vk-nomad"), credential: .bearerToken)
            defer { DeferredCleanup.start { try? await tokenNode.shutdown() } }
            _ = try await tokenNode.list(Pod.self, options: ListOptions(fieldSelector: "spec.nodeName=vk-nomad"))
        }
    }

    @Test func unreachableServerSaysWhereItLooked() async throws {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        var configuration = ClientConfiguration(server: "https://127.0.0.1:1", trust: .insecureSkipVerify, bearerToken: .token("t"))
        let recorder = DelayRecorder()
        configuration.retry = recorder.policy(maximumRetries: 2)
        // AsyncHTTPClient retries failed connection attempts until the connect timeout; keep it short.
        configuration.connectTimeout = .milliseconds(300)
        let client = try KubernetesClient(configuration: configuration)
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let error = await #expect(throws: KubernetesClientError.self) { try await client.get(ConfigMap.self, name: "x") }
        #expect(error?.kind == .serverUnreachable)
        #expect(error?.message.contains("https://127.0.0.1:1/api/v1/namespaces/default/configmaps/x") == true)
        #expect(error?.message.contains("Is the API server running") == true)
        #expect(recorder.delays.count == 2, "a GET is retried after connection failures")

        // A create is not idempotent: it is not resent after a connection failure.
        await #expect(throws: KubernetesClientError.self) { try await client.create(ConfigMap(metadata: ObjectMeta(name: "x"))) }
        #expect(recorder.delays.count == 2)
    }
}

@Suite("Informer end to end", .awaitsCleanup)
struct InformerEndToEndTests {
    static func informer(_ cluster: TestCluster) -> Informer<ConfigMap> {
        Informer(client: cluster.admin, configuration: .init(namespace: cluster.namespace, labelSelector: cluster.runLabel, pageSize: 2))
    }

    static func record(_ informer: Informer<ConfigMap>, into log: EventLog<ConfigMap>) async -> Task<Void, Never> {
        let stream = await informer.events()
        return Task { for await event in stream { await log.append(event) } }
    }

    @Test func listsWatchesAndSurvivesDroppedConnections() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let early = try #require(try await client.create(cluster.configMap("early")).metadata.name)
            let informer = Self.informer(cluster)
            let log = EventLog<ConfigMap>()
            let consumer = await Self.record(informer, into: log)
            let running = Task { await informer.run() }
            defer { running.cancel(); consumer.cancel() }
            await informer.waitUntilSynced()
            #expect(await informer.hasSynced)
            #expect(await informer.cached(name: early, namespace: cluster.namespace) != nil)

            let late = try #require(try await client.create(cluster.configMap("late")).metadata.name)
            try await eventually("the informer to see \(late)") { await log.summary.contains("added \(late)") }

            if let simulator = cluster.simulator {
                await simulator.dropWatchConnections()
            }
            _ = try await client.patch(ConfigMap.self, name: late, namespace: cluster.namespace, patch: .merge(["data": ["v": "1"]]))
            try await client.delete(ConfigMap.self, name: early, namespace: cluster.namespace)
            try await eventually("the update and deletion after the dropped connection") { await log.summary.count >= 4 }
            #expect(await log.summary == ["added \(early)", "added \(late)", "updated \(late)", "deleted \(early)"])
            #expect(await log.nonIncreasing.isEmpty)
            #expect(await informer.listCount == 1, "a dropped connection resumes the watch without listing again")
        }
    }

    @Test(.enabled(if: usesSimulator, "forces 410 by compacting the simulator's history"))
    func reListsAfterExpiryAndEmitsExactlyTheMissedChanges() async throws {
        try await TestCluster.with { cluster in
            let simulator = try #require(cluster.simulator)
            let client = cluster.admin
            let kept = try #require(try await client.create(cluster.configMap("kept")).metadata.name)
            let changed = try #require(try await client.create(cluster.configMap("changed")).metadata.name)
            let removed = try #require(try await client.create(cluster.configMap("removed")).metadata.name)
            let informer = Self.informer(cluster)
            let log = EventLog<ConfigMap>()
            let consumer = await Self.record(informer, into: log)
            defer { consumer.cancel() }

            // First run: sync, then stop, as if the agent lost the API server for a long time.
            let firstRun = Task { await informer.run() }
            await informer.waitUntilSynced()
            try await eventually("the three initial objects") { await log.summary.count == 3 }
            firstRun.cancel()
            await firstRun.value

            _ = try await client.patch(ConfigMap.self, name: changed, namespace: cluster.namespace, patch: .merge(["data": ["v": "2"]]))
            try await client.delete(ConfigMap.self, name: removed, namespace: cluster.namespace)
            let added = try #require(try await client.create(cluster.configMap("added")).metadata.name)
            await simulator.compactHistory()

            // Second run resumes from the old resourceVersion, gets 410, lists again and diffs.
            let secondRun = Task { await informer.run() }
            defer { secondRun.cancel() }
            try await eventually("the missed changes after the 410") { await log.summary.count >= 6 }
            let afterResync = Array(await log.summary.dropFirst(3))
            #expect(Set(afterResync) == ["updated \(changed)", "deleted \(removed)", "added \(added)"])
            #expect(afterResync.count == 3, "each missed change exactly once: \(afterResync)")
            #expect(!(await log.summary.contains("updated \(kept)")), "an unchanged object is not re-announced")
            #expect(await log.nonIncreasing.isEmpty)
            #expect(await informer.listCount == 2)

            // And it keeps watching after the re-list.
            _ = try await client.patch(ConfigMap.self, name: kept, namespace: cluster.namespace, patch: .merge(["data": ["v": "3"]]))
            try await eventually("the change after the re-list") { await log.summary.last == "updated \(kept)" }
            #expect(await log.summary.count == 7)
        }
    }

    @Test(.enabled(if: usesSimulator, "forces 410 while the informer is running"))
    func survivesExpiryWhileRunning() async throws {
        try await TestCluster.with { cluster in
            let simulator = try #require(cluster.simulator)
            let client = cluster.admin
            let informer = Self.informer(cluster)
            let log = EventLog<ConfigMap>()
            let consumer = await Self.record(informer, into: log)
            let running = Task { await informer.run() }
            defer { running.cancel(); consumer.cancel() }
            await informer.waitUntilSynced()

            var names: [String] = []
            for index in 0..<3 {
                names.append(try #require(try await client.create(cluster.configMap("live-\(index)")).metadata.name))
            }
            await simulator.compactHistory()
            await simulator.dropWatchConnections()
            for name in names {
                _ = try await client.patch(ConfigMap.self, name: name, namespace: cluster.namespace, patch: .merge(["data": ["v": "1"]]))
            }
            try await client.delete(ConfigMap.self, name: names[0], namespace: cluster.namespace)
            try await eventually("the informer cache to match the server") {
                let cached = await informer.cachedObjects()
                let versions = Dictionary(uniqueKeysWithValues: cached.map { ($0.metadata.name ?? "", $0.data?["v"]) })
                return versions.count == 2 && versions[names[1]] == "1" && versions[names[2]] == "1"
            }
            try await eventually("the deletion event") { await log.summary.contains("deleted \(names[0])") }
            #expect(await log.nonIncreasing.isEmpty, "no duplicated or replayed event")
            for name in names {
                #expect(await log.summary.filter { $0 == "added \(name)" }.count == 1, "\(name) added exactly once")
            }
        }
    }

    @Test func periodicResyncRedeliversUnchangedObjects() async throws {
        try await TestCluster.with { cluster in
            let name = try #require(try await cluster.admin.create(cluster.configMap("resync")).metadata.name)
            let informer = Informer<ConfigMap>(
                client: cluster.admin, configuration: .init(namespace: cluster.namespace, labelSelector: cluster.runLabel, resyncInterval: .milliseconds(50)))
            let log = EventLog<ConfigMap>()
            let consumer = await Self.record(informer, into: log)
            let running = Task { await informer.run() }
            defer { running.cancel(); consumer.cancel() }
            try await eventually("two resyncs of \(name)") { await log.summary.filter { $0 == "resynced \(name)" }.count >= 2 }
            #expect(await log.summary.first == "added \(name)")
        }
    }
}
