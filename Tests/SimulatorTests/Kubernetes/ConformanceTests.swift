import Foundation
import KubernetesModels
import NIOHTTP1
import Testing
import TestSupport

/// The simulator against a real kube-apiserver v1.36: every expectation here was captured from the
/// real server (status codes and Status bodies byte for byte), and each test runs against the
/// simulator by default and against the real cluster when `E2EEnvironment.realKubeconfig` is set,
/// so the simulator cannot drift from the server unnoticed.
@Suite struct KubernetesConformanceTests {
    private static let namespace = "default"
    private static let configMaps = "/api/v1/namespaces/default/configmaps"
    private static let pods = "/api/v1/namespaces/default/pods"
    private static let leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"

    /// A meta/v1 Status failure as the API server writes it.
    private static func status(_ code: Int, _ message: String, reason: String? = nil, details: JSONValue? = nil) -> JSONValue {
        var status: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message), "code": .number(Double(code)),
        ]
        if let reason { status["reason"] = .string(reason) }
        if let details { status["details"] = details }
        return .object(status)
    }

    private static func configMap(_ name: String, labels: [String: JSONValue] = [:]) -> JSONValue {
        ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "labels": .object(labels)], "data": ["k": "v"]]
    }

    /// A pod; with `nodeName` it is bound, without it a node selector nobody matches keeps it unscheduled.
    private static func pod(_ name: String, nodeName: String?) -> JSONValue {
        var spec: [String: JSONValue] = ["containers": [["name": "main", "image": "nomad-kubelet.io/host"]]]
        if let nodeName { spec["nodeName"] = .string(nodeName) } else { spec["nodeSelector"] = ["conformance": "nowhere"] }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    private static func node(_ name: String) -> JSONValue {
        ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)]]
    }

    private static func deleteQuietly(_ server: ConformanceServer, _ paths: [String]) async {
        for path in paths { _ = try? await server.admin.send(.DELETE, path, body: ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0]) }
    }

    // MARK: create, get, update errors

    @Test func createCarryingResourceVersionIsA500WithoutReason() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-rv"
            let created = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
            #expect(created.code == 201)
            let again = try await server.admin.send(.POST, Self.configMaps, body: created.json)
            #expect(again.code == 500)
            #expect(again.json == Self.status(500, "resourceVersion should not be set on objects to be created"))
            await Self.deleteQuietly(server, ["\(Self.configMaps)/\(name)"])
        }
    }

    @Test func createOfAnExistingNameIsAlreadyExists() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-twice"
            #expect(try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name)).code == 201)
            let again = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
            #expect(again.code == 409)
            #expect(
                again.json
                    == Self.status(409, "configmaps \"\(name)\" already exists", reason: "AlreadyExists", details: ["name": .string(name), "kind": "configmaps"]))
            await Self.deleteQuietly(server, ["\(Self.configMaps)/\(name)"])
        }
    }

    @Test func getOfAMissingObjectIsNotFound() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-missing"
            let answer = try await server.admin.send(.GET, "\(Self.configMaps)/\(name)")
            #expect(answer.code == 404)
            #expect(answer.json == Self.status(404, "configmaps \"\(name)\" not found", reason: "NotFound", details: ["name": .string(name), "kind": "configmaps"]))
        }
    }

    @Test func updateWithAStaleResourceVersionIsConflict() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-stale"
            let created = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
            var changed = created.json
            changed["data"] = ["k": "v2"]
            #expect(try await server.admin.send(.PUT, "\(Self.configMaps)/\(name)", body: changed).code == 200)
            var stale = created.json
            stale["data"] = ["k": "lost"]
            let answer = try await server.admin.send(.PUT, "\(Self.configMaps)/\(name)", body: stale)
            #expect(answer.code == 409)
            let message = "Operation cannot be fulfilled on configmaps \"\(name)\": the object has been modified; please apply your changes to the latest version and try again"
            #expect(answer.json == Self.status(409, message, reason: "Conflict", details: ["name": .string(name), "kind": "configmaps"]))
            await Self.deleteQuietly(server, ["\(Self.configMaps)/\(name)"])
        }
    }

    @Test func createWithoutNameIsInvalid() async throws {
        try await ConformanceServer.with { server in
            let answer = try await server.admin.send(.POST, Self.configMaps, body: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": [:]])
            #expect(answer.code == 422)
            let cause: JSONValue = ["reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"]
            #expect(
                answer.json
                    == Self.status(
                        422, "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required", reason: "Invalid",
                        details: ["kind": "ConfigMap", "causes": [cause]]))
        }
    }

    @Test func createWithABadLabelValueIsInvalid() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-label"
            let answer = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name, labels: ["a": "bad value!"]))
            #expect(answer.code == 422)
            let problem =
                "Invalid value: \"bad value!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            let cause: JSONValue = ["reason": "FieldValueInvalid", "message": .string(problem), "field": "metadata.labels"]
            #expect(
                answer.json
                    == Self.status(
                        422, "ConfigMap \"\(name)\" is invalid: metadata.labels: \(problem)", reason: "Invalid",
                        details: ["name": .string(name), "kind": "ConfigMap", "causes": [cause]]))
        }
    }

    @Test func createWithAnUppercaseNameIsInvalid() async throws {
        try await ConformanceServer.with { server in
            let name = "Bad_\(server.runID)"
            let answer = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
            #expect(answer.code == 422)
            let problem =
                "Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            let cause: JSONValue = ["reason": "FieldValueInvalid", "message": .string(problem), "field": "metadata.name"]
            #expect(
                answer.json
                    == Self.status(
                        422, "ConfigMap \"\(name)\" is invalid: metadata.name: \(problem)", reason: "Invalid",
                        details: ["name": .string(name), "kind": "ConfigMap", "causes": [cause]]))
        }
    }

    // MARK: authentication and the node authorizer

    @Test func unknownBearerTokenIsUnauthorized() async throws {
        try await ConformanceServer.with { server in
            let answer = try await server.unknownTokenClient().send(.GET, "/api/v1/namespaces")
            #expect(answer.code == 401)
            #expect(answer.json == Self.status(401, "Unauthorized", reason: "Unauthorized"))
        }
    }

    @Test(.enabled(if: ConformanceServer.hasNodeIdentity, "needs \(ConformanceServer.nodeKubeconfigVariable) on a real cluster"))
    func nodeMayListOnlyItsOwnPods() async throws {
        try await ConformanceServer.with { server in
            let (node, name) = try await server.nodeIdentity()
            let clusterWide = try await node.send(.GET, "/api/v1/pods")
            #expect(clusterWide.code == 403)
            #expect(
                clusterWide.json
                    == Self.status(
                        403,
                        "pods is forbidden: User \"system:node:\(name)\" cannot list resource \"pods\" in API group \"\" at the cluster scope: can only list/watch pods with spec.nodeName field selector",
                        reason: "Forbidden", details: ["kind": "pods"]))
            let namespaced = try await node.send(.GET, Self.pods)
            #expect(
                namespaced.json
                    == Self.status(
                        403,
                        "pods is forbidden: User \"system:node:\(name)\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\": can only list/watch pods with spec.nodeName field selector",
                        reason: "Forbidden", details: ["kind": "pods"]))
            let own = try await node.send(.GET, "/api/v1/pods?fieldSelector=spec.nodeName%3D\(name)")
            #expect(own.code == 200)
            #expect(own.json["kind"] == "PodList")
        }
    }

    @Test(.enabled(if: ConformanceServer.hasNodeIdentity, "needs \(ConformanceServer.nodeKubeconfigVariable) on a real cluster"))
    func nodeMayNotReadOrPatchAnotherNode() async throws {
        try await ConformanceServer.with { server in
            let (node, name) = try await server.nodeIdentity()
            let other = "\(server.runID)-other"
            #expect(try await server.admin.send(.POST, "/api/v1/nodes", body: Self.node(other)).code == 201)
            let read = try await node.send(.GET, "/api/v1/nodes/\(other)")
            #expect(read.code == 403)
            #expect(
                read.json
                    == Self.status(
                        403,
                        "nodes \"\(other)\" is forbidden: User \"system:node:\(name)\" cannot get resource \"nodes\" in API group \"\" at the cluster scope: node '\(name)' cannot read '\(other)', only its own Node object",
                        reason: "Forbidden", details: ["name": .string(other), "kind": "nodes"]))
            let patch = try await node.send(
                .PATCH, "/api/v1/nodes/\(other)/status", body: ["status": ["conditions": [["type": "Ready", "status": "True"]]]],
                contentType: "application/strategic-merge-patch+json")
            #expect(patch.code == 403)
            #expect(
                patch.json
                    == Self.status(
                        403, "nodes \"\(other)\" is forbidden: node \"\(name)\" is not allowed to modify node \"\(other)\"", reason: "Forbidden",
                        details: ["name": .string(other), "kind": "nodes"]))
            await Self.deleteQuietly(server, ["/api/v1/nodes/\(other)"])
        }
    }

    @Test(.enabled(if: ConformanceServer.hasNodeIdentity, "needs \(ConformanceServer.nodeKubeconfigVariable) on a real cluster"))
    func nodeMayNotTouchAPodNotBoundToIt() async throws {
        try await ConformanceServer.with { server in
            let (node, name) = try await server.nodeIdentity()
            let pod = "\(server.runID)-unbound"
            #expect(try await server.admin.send(.POST, Self.pods, body: Self.pod(pod, nodeName: nil)).code == 201)
            let delete = try await node.send(.DELETE, "\(Self.pods)/\(pod)")
            #expect(delete.code == 403)
            #expect(
                delete.json
                    == Self.status(
                        403, "pods \"\(pod)\" is forbidden: node \"\(name)\" can only delete pods with spec.nodeName set to itself", reason: "Forbidden",
                        details: ["name": .string(pod), "kind": "pods"]))
            let read = try await node.send(.GET, "\(Self.pods)/\(pod)")
            #expect(read.code == 403)
            #expect(
                read.json
                    == Self.status(
                        403,
                        "pods \"\(pod)\" is forbidden: User \"system:node:\(name)\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\": no relationship found between node '\(name)' and this object",
                        reason: "Forbidden", details: ["name": .string(pod), "kind": "pods"]))
            await Self.deleteQuietly(server, ["\(Self.pods)/\(pod)"])
        }
    }

    // MARK: watch

    @Test func watchFromAListResourceVersionSendsChangesAndEndsAtTimeoutSeconds() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-watched"
            let list = try await server.admin.send(.GET, Self.configMaps)
            let version = try #require(list.json["metadata"]?["resourceVersion"]?.stringValue)
            let started = ContinuousClock.now
            // Long enough for the create to land inside the window even on a loaded machine.
            let watch = try await server.admin.watch("\(Self.configMaps)?watch=true&allowWatchBookmarks=true&resourceVersion=\(version)&timeoutSeconds=5", whileWatching: {
                let created = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
                #expect(created.code == 201)
            })
            #expect(watch.code == 200)
            #expect(ContinuousClock.now - started < .seconds(15), "the watch ends soon after timeoutSeconds")
            // Other tests share the namespace on a real cluster: only this test's object counts.
            let changes = watch.events.filter { $0["type"] != "BOOKMARK" && $0["object"]?["metadata"]?["name"]?.stringValue == name }
            #expect(changes.map { $0["type"] } == ["ADDED"])
            #expect(changes.first?["object"]?["metadata"]?["name"]?.stringValue == name)
            #expect(changes.first?["object"]?["kind"] == "ConfigMap")
            // A BOOKMARK carries only the kind, apiVersion and resourceVersion (03-watch-own-pods.txt).
            for bookmark in watch.events where bookmark["type"] == "BOOKMARK" {
                #expect(bookmark["object"]?["kind"] == "ConfigMap")
                #expect(bookmark["object"]?["metadata"]?.objectValue?.keys.sorted() == ["resourceVersion"])
            }
            await Self.deleteQuietly(server, ["\(Self.configMaps)/\(name)"])
        }
    }

    @Test func watchFromAnOldResourceVersionReplaysTheChangesSince() async throws {
        try await ConformanceServer.with { server in
            let name = "\(server.runID)-replayed"
            let created = try await server.admin.send(.POST, Self.configMaps, body: Self.configMap(name))
            let version = try #require(Int(created.json["metadata"]?["resourceVersion"]?.stringValue ?? ""))
            let watch = try await server.admin.watch("\(Self.configMaps)?watch=true&resourceVersion=\(version - 1)&timeoutSeconds=1")
            #expect(watch.code == 200)
            let replayed = watch.events.filter { $0["object"]?["metadata"]?["name"]?.stringValue == name }
            #expect(replayed.map { $0["type"] } == ["ADDED"])
            await Self.deleteQuietly(server, ["\(Self.configMaps)/\(name)"])
        }
    }

    @Test func watchWithANonNumericResourceVersionIsA500() async throws {
        try await ConformanceServer.with { server in
            let answer = try await server.admin.send(.GET, "\(Self.configMaps)?watch=true&resourceVersion=abc")
            #expect(answer.code == 500)
            #expect(answer.json == Self.status(500, "resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"))
        }
    }

    // MARK: pods and nodes as the agent drives them

    @Test func deletingABoundPodIsGracefulAndAZeroGraceDeleteRemovesIt() async throws {
        try await ConformanceServer.with { server in
            let pod = "\(server.runID)-bound"
            let path = "\(Self.pods)/\(pod)"
            #expect(try await server.admin.send(.POST, Self.pods, body: Self.pod(pod, nodeName: "\(server.runID)-node")).code == 201)
            let deleted = try await server.admin.send(.DELETE, path)
            #expect(deleted.code == 200)
            #expect(deleted.json["kind"] == "Pod")
            #expect(deleted.json["metadata"]?["deletionGracePeriodSeconds"] == 30)
            let deadline = try #require(deleted.json["metadata"]?["deletionTimestamp"]?.stringValue.flatMap { try? Date($0, strategy: .iso8601) })
            #expect(abs(deadline.timeIntervalSinceNow - 30) < 5, "deletionTimestamp is now + the grace period")
            let marked = try await server.admin.send(.GET, path)
            #expect(marked.code == 200, "the pod stays until its kubelet confirms")
            #expect(marked.json["metadata"]?["deletionTimestamp"] == deleted.json["metadata"]?["deletionTimestamp"])

            let confirmed = try await server.admin.send(.DELETE, path, body: ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0])
            #expect(confirmed.code == 200)
            #expect(confirmed.json["kind"] == "Pod")
            #expect(confirmed.json["metadata"]?["deletionGracePeriodSeconds"] == 0)
            #expect(try await server.admin.send(.GET, path).code == 404)
        }
    }

    @Test func podDeletionsAsAWatcherSeesThem() async throws {
        try await ConformanceServer.with { server in
            let bound = "\(server.runID)-watched-bound"
            let pending = "\(server.runID)-watched-pending"
            let list = try await server.admin.send(.GET, Self.pods)
            let version = try #require(list.json["metadata"]?["resourceVersion"]?.stringValue)
            func deleted(_ name: String, in events: [JSONValue]) -> Bool {
                events.contains { $0["type"] == "DELETED" && $0["object"]?["metadata"]?["name"]?.stringValue == name }
            }
            let watch = try await server.admin.watch(
                "\(Self.pods)?watch=true&resourceVersion=\(version)&timeoutSeconds=60", until: { deleted(bound, in: $0) && deleted(pending, in: $0) }, whileWatching: {
                let zeroGrace: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0]
                _ = try await server.admin.send(.POST, Self.pods, body: Self.pod(bound, nodeName: "\(server.runID)-node"))
                _ = try await server.admin.send(.DELETE, "\(Self.pods)/\(bound)")
                _ = try await server.admin.send(.DELETE, "\(Self.pods)/\(bound)", body: zeroGrace)
                _ = try await server.admin.send(.POST, Self.pods, body: Self.pod(pending, nodeName: nil))
                _ = try await server.admin.send(.DELETE, "\(Self.pods)/\(pending)")
            })
            // Status writes of the real scheduler and controllers (MODIFIED, not marked) are not under test.
            func summary(_ name: String) -> [String] {
                watch.events.filter { event in
                    event["object"]?["metadata"]?["name"]?.stringValue == name
                        && (event["type"] != "MODIFIED" || event["object"]?["metadata"]?["deletionTimestamp"] != nil)
                }.map { event in
                    let metadata = event["object"]?["metadata"]
                    let grace = metadata?["deletionGracePeriodSeconds"]?.intValue.map(String.init) ?? "-"
                    let marked = metadata?["deletionTimestamp"] == nil ? "" : " marked"
                    return "\(event["type"]?.stringValue ?? "?") grace=\(grace) generation=\(metadata?["generation"]?.intValue ?? 0)\(marked)"
                }
            }
            #expect(
                summary(bound) == [
                    "ADDED grace=- generation=1", "MODIFIED grace=30 generation=2 marked", "MODIFIED grace=0 generation=2 marked",
                    "DELETED grace=0 generation=2 marked",
                ])
            #expect(summary(pending) == ["ADDED grace=- generation=1", "MODIFIED grace=0 generation=2 marked", "DELETED grace=0 generation=2 marked"])
        }
    }

    @Test func deletingAnUnscheduledPodRemovesItAtOnce() async throws {
        try await ConformanceServer.with { server in
            let pod = "\(server.runID)-pending"
            #expect(try await server.admin.send(.POST, Self.pods, body: Self.pod(pod, nodeName: nil)).code == 201)
            let deleted = try await server.admin.send(.DELETE, "\(Self.pods)/\(pod)")
            #expect(deleted.code == 200)
            #expect(deleted.json["metadata"]?["deletionGracePeriodSeconds"] == 0)
            #expect(try await server.admin.send(.GET, "\(Self.pods)/\(pod)").code == 404)
        }
    }

    @Test(.enabled(if: ConformanceServer.hasNodeIdentity, "needs \(ConformanceServer.nodeKubeconfigVariable) on a real cluster"))
    func strategicMergePatchOfPodConditionsMergesByType() async throws {
        try await ConformanceServer.with { server in
            let (node, name) = try await server.nodeIdentity()
            let pod = "\(server.runID)-status"
            let path = "\(Self.pods)/\(pod)/status"
            #expect(try await server.admin.send(.POST, Self.pods, body: Self.pod(pod, nodeName: name)).code == 201)
            let ready: JSONValue = ["type": "Ready", "status": "True", "lastProbeTime": nil, "lastTransitionTime": "2026-11-25T22:05:00Z"]
            let initialized: JSONValue = ["type": "Initialized", "status": "True", "lastProbeTime": nil, "lastTransitionTime": "2026-11-25T22:05:00Z"]
            let first = try await node.send(.PATCH, path, body: ["status": ["conditions": [ready]]], contentType: "application/strategic-merge-patch+json")
            #expect(first.code == 200)
            #expect(first.json["status"]?["conditions"] == [ready])
            #expect(first.json["status"]?["phase"] == "Pending")
            let second = try await node.send(
                .PATCH, path, body: ["status": ["conditions": [initialized], "phase": "Running"]], contentType: "application/strategic-merge-patch+json")
            // On a real cluster the node lifecycle controller may rewrite Ready meanwhile: check the order.
            let conditions = second.json["status"]?["conditions"]?.arrayValue ?? []
            #expect(conditions.map { $0["type"] } == ["Initialized", "Ready"], "a new condition goes first, existing ones stay")
            #expect(conditions.first == initialized)
            #expect(second.json["status"]?["phase"] == "Running")
            #expect(second.json["status"]?["qosClass"] == "BestEffort")
            await Self.deleteQuietly(server, ["\(Self.pods)/\(pod)"])
        }
    }

    /// containerStatuses has no patch merge key: a strategic merge patch replaces the whole list, so
    /// a fragment holding only a container's changed fields loses the rest (what the agent once sent).
    @Test func strategicMergePatchReplacesContainerStatusesWhole() async throws {
        try await ConformanceServer.with { server in
            let pod = "\(server.runID)-statuses"
            let path = "\(Self.pods)/\(pod)/status"
            #expect(try await server.admin.send(.POST, Self.pods, body: Self.pod(pod, nodeName: "\(server.runID)-node")).code == 201)
            let waiting: JSONValue = [
                "name": "main", "image": "nomad-kubelet.io/host", "imageID": "", "ready": false, "restartCount": 0,
                "state": ["waiting": ["reason": "ContainerCreating"]],
            ]
            let first = try await server.admin.send(
                .PATCH, path, body: ["status": ["containerStatuses": [waiting]]], contentType: "application/strategic-merge-patch+json")
            #expect(first.code == 200)
            #expect(first.json["status"]?["containerStatuses"]?.arrayValue?.first?["state"]?["waiting"]?["reason"] == "ContainerCreating")
            let fragment: JSONValue = ["name": "main", "ready": true, "state": ["waiting": nil, "running": ["startedAt": "2026-11-25T22:05:00Z"]]]
            let second = try await server.admin.send(
                .PATCH, path, body: ["status": ["containerStatuses": [fragment]]], contentType: "application/strategic-merge-patch+json")
            #expect(second.code == 200)
            let statuses = second.json["status"]?["containerStatuses"]?.arrayValue ?? []
            #expect(statuses.count == 1)
            #expect(statuses.first?["state"]?["running"]?["startedAt"] == "2026-11-25T22:05:00Z")
            #expect(statuses.first?["state"]?["waiting"] == nil)
            #expect((statuses.first?["image"]?.stringValue ?? "").isEmpty, "the list was replaced, not merged by name: the image is gone")
            await Self.deleteQuietly(server, ["\(Self.pods)/\(pod)"])
        }
    }

    @Test(.enabled(if: ConformanceServer.hasNodeIdentity, "needs \(ConformanceServer.nodeKubeconfigVariable) on a real cluster"))
    func nodeStatusPatchAndLeaseLifecycle() async throws {
        try await ConformanceServer.with { server in
            let (node, name) = try await server.nodeIdentity()
            _ = try await server.admin.send(.DELETE, "/api/v1/nodes/\(name)")
            _ = try await server.admin.send(.DELETE, "\(Self.leases)/\(name)")
            let notReady: JSONValue = [
                "type": "Ready", "status": "False", "lastHeartbeatTime": "2026-11-25T22:00:00Z", "lastTransitionTime": "2026-11-25T22:00:00Z",
                "reason": "Starting", "message": "starting",
            ]
            var registration = Self.node(name)
            registration["status"] = ["conditions": [notReady]]
            #expect(try await node.send(.POST, "/api/v1/nodes", body: registration).code == 201)
            let ready: JSONValue = [
                "type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-25T22:05:00Z", "lastTransitionTime": "2026-11-25T22:05:00Z",
                "reason": "KubeletReady", "message": "ok",
            ]
            let memory: JSONValue = [
                "type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "2026-11-25T22:05:00Z", "lastTransitionTime": "2026-11-25T22:05:00Z",
                "reason": "KubeletHasSufficientMemory", "message": "ok",
            ]
            let patched = try await node.send(
                .PATCH, "/api/v1/nodes/\(name)/status", body: ["status": ["conditions": [ready, memory]]], contentType: "application/strategic-merge-patch+json")
            #expect(patched.code == 200)
            let conditions = patched.json["status"]?["conditions"]?.arrayValue ?? []
            #expect(conditions.contains(ready) && conditions.contains(memory) && conditions.count == 2, "Ready replaced by type, MemoryPressure added")

            let lease: JSONValue = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": .string(name)],
                "spec": ["holderIdentity": .string(name), "leaseDurationSeconds": 40, "renewTime": "2026-11-25T22:00:00.000000Z"],
            ]
            let created = try await node.send(.POST, Self.leases, body: lease)
            #expect(created.code == 201)
            let duplicate = try await node.send(.POST, Self.leases, body: lease)
            let details: JSONValue = ["name": .string(name), "group": "coordination.k8s.io", "kind": "leases"]
            #expect(
                duplicate.json
                    == Self.status(409, "leases.coordination.k8s.io \"\(name)\" already exists", reason: "AlreadyExists", details: details))
            var renewal = created.json
            renewal["spec"]?["renewTime"] = "2026-11-25T22:00:10.000000Z"
            let renewed = try await node.send(.PUT, "\(Self.leases)/\(name)", body: renewal)
            #expect(renewed.code == 200)
            #expect(renewed.json["spec"]?["renewTime"] == "2026-11-25T22:00:10.000000Z")
            let stale = try await node.send(.PUT, "\(Self.leases)/\(name)", body: renewal)
            #expect(stale.code == 409)
            let message =
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"\(name)\": the object has been modified; please apply your changes to the latest version and try again"
            #expect(stale.json == Self.status(409, message, reason: "Conflict", details: details))
            let foreign = "\(server.runID)-other"
            var otherLease = lease
            otherLease["metadata"] = ["name": .string(foreign)]
            let forbidden = try await node.send(.POST, Self.leases, body: otherLease)
            #expect(
                forbidden.json
                    == Self.status(
                        403, "leases.coordination.k8s.io \"\(foreign)\" is forbidden: can only access node lease with the same name as the requesting node",
                        reason: "Forbidden", details: ["name": .string(foreign), "group": "coordination.k8s.io", "kind": "leases"]))
            await Self.deleteQuietly(server, ["\(Self.leases)/\(name)", "/api/v1/nodes/\(name)"])
        }
    }
}
