import Foundation
import KubernetesClient
import KubernetesModels
import TestCleanup
import Testing
import TestSupport

/// A narrower view of ConfigMap than the real one: it knows only `data`, so `binaryData`,
/// `immutable` and anything newer are fields it does not model.
struct DataOnlyConfigMap: KubernetesResource {
    static let group = ""
    static let version = "v1"
    static let kind = "ConfigMap"
    static let plural = "configmaps"
    static let isNamespaced = true
    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta
    var data: [String: String]?
}

@Suite("Kubernetes client end to end (simulator, or a real cluster with NOMAD_KUBELET_E2E=1 and KUBECONFIG)", .awaitsCleanup)
struct ClientEndToEndTests {
    @Test func createGetUpdateConflictDelete() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let created = try await client.create(cluster.configMap("crud", data: ["k": "v1"]))
            let name = try #require(created.metadata.name)
            #expect(created.metadata.uid != nil)
            #expect(try await client.get(ConfigMap.self, name: name, namespace: cluster.namespace).data == ["k": "v1"])

            var changed = created
            changed.data = ["k": "v2"]
            let updated = try await client.update(changed)
            #expect(updated.data == ["k": "v2"])
            #expect(updated.metadata.resourceVersion != created.metadata.resourceVersion)

            // The first read's resourceVersion is stale now.
            var stale = created
            stale.data = ["k": "lost"]
            let conflict = await #expect(throws: KubernetesClientError.self) { try await client.update(stale) }
            #expect(conflict?.kind == .conflict)
            #expect(conflict?.status?.reason == "Conflict")

            let wrongUID = await #expect(throws: KubernetesClientError.self) {
                try await client.delete(
                    ConfigMap.self, name: name, namespace: cluster.namespace,
                    options: DeleteOptions(preconditions: .init(uid: "00000000-0000-0000-0000-000000000000")))
            }
            #expect(wrongUID?.kind == .conflict)
            #expect(wrongUID?.message.contains("precondition") == true)

            try await client.delete(
                ConfigMap.self, name: name, namespace: cluster.namespace,
                options: DeleteOptions(gracePeriodSeconds: 0, preconditions: .init(uid: created.metadata.uid), propagationPolicy: .background))
            let missing = await #expect(throws: KubernetesClientError.self) {
                try await client.get(ConfigMap.self, name: name, namespace: cluster.namespace)
            }
            #expect(missing?.kind == .notFound)
            #expect(missing?.status?.reason == "NotFound")

            // A fresh object with a taken name (no resourceVersion: a create carrying one is a 500).
            _ = try await client.create(cluster.configMap("twice"))
            let duplicate = await #expect(throws: KubernetesClientError.self) { try await client.create(cluster.configMap("twice")) }
            #expect(duplicate?.kind == .alreadyExists)
            #expect(duplicate?.status?.reason == "AlreadyExists")
        }
    }

    @Test func labelAndFieldSelectorsAndPagination() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            for index in 0..<5 {
                _ = try await client.create(cluster.configMap("page-\(index)", labels: ["tier": index < 2 ? "front" : "back"]))
            }
            let front = try await client.list(ConfigMap.self, namespace: cluster.namespace, options: ListOptions(labelSelector: "\(cluster.runLabel),tier=front"))
            #expect(front.items.compactMap(\.metadata.name).sorted() == ["\(cluster.runID)-page-0", "\(cluster.runID)-page-1"])

            let byName = try await client.list(
                ConfigMap.self, namespace: cluster.namespace, options: ListOptions(fieldSelector: "metadata.name=\(cluster.runID)-page-3"))
            #expect(byName.items.map(\.metadata.name) == ["\(cluster.runID)-page-3"])

            let firstPage = try await client.list(ConfigMap.self, namespace: cluster.namespace, options: ListOptions(labelSelector: cluster.runLabel, limit: 2))
            #expect(firstPage.items.count == 2)
            #expect(firstPage.metadata.continue?.isEmpty == false)

            let all = try await client.listAll(ConfigMap.self, namespace: cluster.namespace, options: ListOptions(labelSelector: cluster.runLabel, limit: 2))
            #expect(all.items.count == 5)
            #expect(Set(all.items.compactMap(\.metadata.name)).count == 5)
            #expect(all.metadata.resourceVersion != nil)
        }
    }

    @Test func patchesOfEveryKind() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let name = try #require(try await client.create(cluster.configMap("patch", data: ["a": "1", "b": "2"])).metadata.name)
            let merged = try await client.patch(ConfigMap.self, name: name, namespace: cluster.namespace, patch: .merge(["data": ["a": "10", "b": nil]]))
            #expect(merged.data == ["a": "10"])
            let strategic = try await client.patch(ConfigMap.self, name: name, namespace: cluster.namespace, patch: .strategicMerge(["data": ["c": "3"]]))
            #expect(strategic.data == ["a": "10", "c": "3"])
            let jsonPatched = try await client.patch(
                ConfigMap.self, name: name, namespace: cluster.namespace,
                patch: .json([["op": "replace", "path": "/data/a", "value": "11"], ["op": "remove", "path": "/data/c"]]))
            #expect(jsonPatched.data == ["a": "11"])
        }
    }

    @Test func modifyKeepsFieldsTheTypeDoesNotKnowAndRetriesConflicts() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            var full = cluster.configMap("unknown-fields", data: ["k": "v"])
            full.binaryData = ["blob": "AAEC"]
            full.metadata.annotations = ["keep": "me"]
            let name = try #require(try await client.create(full).metadata.name)

            var calls = 0
            let result = try await client.modify(DataOnlyConfigMap.self, name: name, namespace: cluster.namespace) { narrow in
                calls += 1
                if calls == 1 {
                    // Someone else writes between our read and our write: the PUT must conflict and be redone.
                    _ = try await client.patch(ConfigMap.self, name: name, namespace: cluster.namespace, patch: .merge(["metadata": ["labels": ["other": "writer"]]]))
                }
                narrow.data?["k"] = "changed"
            }
            #expect(calls == 2)
            #expect(result.data == ["k": "changed"])
            let stored = try await client.get(ConfigMap.self, name: name, namespace: cluster.namespace)
            #expect(stored.binaryData == ["blob": "AAEC"], "a field the type does not model survived")
            #expect(stored.metadata.annotations == ["keep": "me"])
            #expect(stored.metadata.labels?["other"] == "writer", "the concurrent writer's change survived")

            // The plain update with the narrow type shows what modify prevents.
            var narrow = try await client.get(DataOnlyConfigMap.self, name: name, namespace: cluster.namespace)
            narrow.data = ["k": "plain"]
            _ = try await client.update(narrow)
            #expect(try await client.get(ConfigMap.self, name: name, namespace: cluster.namespace).binaryData == nil)
        }
    }

    @Test func statusSubresource() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let pod = Pod(
                metadata: ObjectMeta(name: "\(cluster.runID)-status", namespace: cluster.namespace, labels: ["test-run": cluster.runID]),
                spec: PodSpec(containers: [Container(name: "main", image: "nomad-kubelet.io/host", command: ["/bin/true"])], nodeSelector: ["no-such": "node"]))
            let name = try #require(try await client.create(pod).metadata.name)
            defer { DeferredCleanup.start { _ = try? await client.delete(Pod.self, name: name, namespace: cluster.namespace, options: DeleteOptions(gracePeriodSeconds: 0)) } }

            let patched = try await client.patchStatus(
                Pod.self, name: name, namespace: cluster.namespace, patch: .merge(["status": ["message": "patched by test"]]))
            #expect(patched.status?.message == "patched by test")
            var current = try await client.getStatus(Pod.self, name: name, namespace: cluster.namespace)
            current.status?.message = "updated by test"
            current.spec?.nodeSelector = ["ignored": "on the status subresource"]
            let updated = try await client.updateStatus(current)
            #expect(updated.status?.message == "updated by test")
            #expect(updated.spec?.nodeSelector == ["no-such": "node"], "a status update does not change the spec")

            let modified = try await client.modify(Pod.self, name: name, namespace: cluster.namespace, subresource: "status") { pod in
                pod.status?.message = "modified"
            }
            #expect(modified.status?.message == "modified")
        }
    }

    @Test(.enabled(if: usesSimulator, "binds a pod to a node that does not exist"))
    func bindingThroughTheSubresource() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let pod = Pod(
                metadata: ObjectMeta(name: "\(cluster.runID)-bind", namespace: cluster.namespace),
                spec: PodSpec(containers: [Container(name: "main", image: "nomad-kubelet.io/host")], nodeSelector: ["no-such": "node"]))
            let name = try #require(try await client.create(pod).metadata.name)
            defer { DeferredCleanup.start { _ = try? await client.delete(Pod.self, name: name, namespace: cluster.namespace, options: DeleteOptions(gracePeriodSeconds: 0)) } }
            let binding: JSONValue = ["apiVersion": "v1", "kind": "Binding", "metadata": ["name": .string(name)], "target": ["kind": "Node", "name": "vk-test"]]
            _ = try await client.create(subresource: "binding", of: Pod.self, name: name, namespace: cluster.namespace, body: binding, as: JSONValue.self)
            #expect(try await client.get(Pod.self, name: name, namespace: cluster.namespace).spec?.nodeName == "vk-test")
            let again = await #expect(throws: KubernetesClientError.self) {
                try await client.create(subresource: "binding", of: Pod.self, name: name, namespace: cluster.namespace, body: binding, as: JSONValue.self)
            }
            #expect(again?.kind == .conflict)
        }
    }

    @Test func watchDeliversChangesAndBookmarksAndStopsWhenCancelled() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let start = try await client.list(ConfigMap.self, namespace: cluster.namespace, options: ListOptions(labelSelector: cluster.runLabel))
            let seen = EventLog<ConfigMap>()
            let bookmarks = BookmarkCounter()
            let watcher = Task {
                let stream = client.watch(
                    ConfigMap.self, namespace: cluster.namespace, labelSelector: cluster.runLabel,
                    resourceVersion: start.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 60)
                for try await event in stream {
                    switch event {
                    case .added(let object): await seen.append(.added(object))
                    case .modified(let object): await seen.append(.updated(old: object, new: object))
                    case .deleted(let object): await seen.append(.deleted(object))
                    case .bookmark: await bookmarks.increment()
                    }
                }
            }
            let name = try #require(try await client.create(cluster.configMap("watched")).metadata.name)
            _ = try await client.patch(ConfigMap.self, name: name, namespace: cluster.namespace, patch: .merge(["data": ["x": "1"]]))
            try await client.delete(ConfigMap.self, name: name, namespace: cluster.namespace)
            try await eventually("added, updated and deleted events") { await seen.summary.count >= 3 }
            #expect(await seen.summary == ["added \(name)", "updated \(name)", "deleted \(name)"])
            if cluster.isSimulator {
                try await eventually("a BOOKMARK event") { await bookmarks.count > 0 }
            }
            watcher.cancel()
            // Cancelling the consumer ends the watch (and closes its connection) promptly.
            let ended = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { _ = await watcher.result; return true }
                group.addTask { try await Task.sleep(for: .seconds(5)); return false }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            #expect(ended, "the watch ended within 5 s of cancellation")
        }
    }

    @Test func rawOperationsOnAnUntypedResource() async throws {
        try await TestCluster.with { cluster in
            let client = cluster.admin
            let configMaps = untypedConfigMaps
            let created = try await client.create(
                configMaps,
                object: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("\(cluster.runID)-raw"), "labels": ["test-run": .string(cluster.runID)]], "data": ["a": "b"]],
                namespace: cluster.namespace)
            #expect(created["data"]?["a"]?.stringValue == "b")
            let name = try #require(created["metadata"]?["name"]?.stringValue)
            let patched = try await client.patch(configMaps, name: name, namespace: cluster.namespace, patch: .merge(["data": ["c": "d"]]))
            #expect(patched["data"]?["c"]?.stringValue == "d")
            let listed = try await client.list(configMaps, namespace: cluster.namespace, options: ListOptions(labelSelector: cluster.runLabel))
            #expect(listed["items"]?.arrayValue?.count == 1)
            let deleted = try await client.delete(configMaps, name: name, namespace: cluster.namespace)
            switch deleted {
            case .object(let object): #expect(object["metadata"]?["name"]?.stringValue == name)
            case .status(let status): #expect(status.status == "Success")
            }
        }
    }
}

/// Counts bookmark events seen by a watch.
actor BookmarkCounter {
    private(set) var count = 0
    func increment() { count += 1 }
}
