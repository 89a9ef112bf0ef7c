import Foundation
import KubernetesModels
import NIOHTTP1
import TestSupport
import Testing

@Suite("Kubernetes simulator: REST semantics")
struct KubernetesSimulatorStoreTests {
    @Test("create assigns uid, resourceVersion, creationTimestamp, generation; duplicates answer 409 AlreadyExists")
    func createAndAlreadyExists() async throws {
        try await withSimulator { _, admin in
            let created = try await admin.post("/api/v1/namespaces/default/pods", podManifest("web"))
            #expect(created.status == 201)
            let metadata = try #require(created.json["metadata"])
            #expect(metadata["uid"]?.stringValue?.count == 36)
            #expect(Int(metadata["resourceVersion"]?.stringValue ?? "") != nil)
            #expect(metadata["creationTimestamp"]?.stringValue?.hasSuffix("Z") == true)
            #expect(metadata["generation"] == 1)
            #expect(created.json["status"]?["phase"] == "Pending")

            let again = try await admin.post("/api/v1/namespaces/default/pods", podManifest("web"))
            #expect(again.status == 409)
            #expect(again.json["reason"] == "AlreadyExists")
            #expect(again.json["message"] == "pods \"web\" already exists")
        }
    }

    @Test("404 NotFound bodies name the qualified resource; missing namespaces and names are refused")
    func notFoundAndInvalid() async throws {
        try await withSimulator { _, admin in
            let missing = try await admin.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/nope")
            #expect(missing.status == 404)
            #expect(missing.json["message"] == "leases.coordination.k8s.io \"nope\" not found")
            #expect(missing.json["details"] == ["name": "nope", "group": "coordination.k8s.io", "kind": "leases"])

            let noNamespace = try await admin.post("/api/v1/namespaces/ghost/configmaps", ["metadata": ["name": "x"]])
            #expect(noNamespace.status == 404)
            #expect(noNamespace.json["message"] == "namespaces \"ghost\" not found")

            let noName = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": [:]])
            #expect(noName.status == 422)
            #expect(noName.json["reason"] == "Invalid")
            #expect(noName.json["message"] == "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required")
        }
    }

    @Test("generateName makes a unique name from the prefix")
    func generateName() async throws {
        try await withSimulator { _, admin in
            let first = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["generateName": "cfg-"]])
            let second = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["generateName": "cfg-"]])
            let firstName = try #require(first.json["metadata"]?["name"]?.stringValue)
            let secondName = try #require(second.json["metadata"]?["name"]?.stringValue)
            #expect(firstName.hasPrefix("cfg-") && firstName.count == 9)
            #expect(firstName != secondName)
        }
    }

    @Test("PUT with a stale resourceVersion answers 409 Conflict with the recorded message")
    func optimisticConcurrency() async throws {
        let recorded = try RecordedTraffic.exchange("kubernetes/01-node-and-lease.txt", titled: "stale resourceVersion")
        let recordedStatus = try JSONValue(parsing: Data(recorded.responseBody.utf8))
        try await withSimulator { _, admin in
            let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
            let lease: JSONValue = ["metadata": ["name": "vk-nomad"], "spec": ["holderIdentity": "vk-nomad", "leaseDurationSeconds": 40]]
            let created = try await admin.post(path, lease)
            #expect(created.status == 201)
            let renewed = try await admin.put("\(path)/vk-nomad", created.json)
            #expect(renewed.status == 200)
            var changed = created.json
            changed["spec"]?["holderIdentity"] = "someone"
            let renewedAgain = try await admin.put("\(path)/vk-nomad", changed)
            #expect(renewedAgain.status == 200)
            #expect(renewedAgain.json["metadata"]?["resourceVersion"] != created.json["metadata"]?["resourceVersion"])

            let stale = try await admin.put("\(path)/vk-nomad", created.json)
            #expect(stale.status == recorded.status)
            #expect(stale.json == recordedStatus)
        }
    }

    @Test("a no-op PUT keeps the resourceVersion; a spec change bumps generation, a label change does not")
    func generationAndNoOp() async throws {
        // Without controllers: the Deployment controller would write the revision annotation and status.
        var configuration = KubernetesSimulator.Configuration()
        configuration.controllers = []
        try await withSimulator(configuration) { _, admin in
            let path = "/apis/apps/v1/namespaces/default/deployments"
            let deployment: JSONValue = [
                "metadata": ["name": "web"],
                "spec": ["selector": ["matchLabels": ["app": "web"]], "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "x"]]]]],
            ]
            let created = try await admin.post(path, deployment).json
            let same = try await admin.put("\(path)/web", created).json
            #expect(same["metadata"]?["resourceVersion"] == created["metadata"]?["resourceVersion"])
            let labelled = try await admin.patch("\(path)/web", ["metadata": ["labels": ["tier": "front"]]]).json
            #expect(labelled["metadata"]?["generation"] == 1)
            let scaled = try await admin.patch("\(path)/web", ["spec": ["replicas": 3]], type: "application/merge-patch+json").json
            #expect(scaled["metadata"]?["generation"] == 2)
            #expect(scaled["spec"]?["replicas"] == 3)
        }
    }

    @Test("the status subresource changes only status; the main resource ignores status")
    func statusSubresource() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("p", node: "n1"))
            let viaMain = try await admin.patch("\(path)/p", ["status": ["phase": "Running"], "metadata": ["labels": ["a": "b"]]])
            #expect(viaMain.status == 200)
            #expect(viaMain.json["status"]?["phase"] == "Pending")
            #expect(viaMain.json["metadata"]?["labels"]?["a"] == "b")

            let viaStatus = try await admin.patch("\(path)/p/status", ["status": ["phase": "Running"], "metadata": ["labels": ["c": "d"]]])
            #expect(viaStatus.status == 200)
            #expect(viaStatus.json["status"]?["phase"] == "Running")
            #expect(viaStatus.json["metadata"]?["labels"]?["c"] == nil)
        }
    }

    @Test("strategic merge patch merges conditions by type and replaces containerStatuses whole")
    func strategicMergePatch() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("p", node: "n1"))
            _ = try await admin.patch("\(path)/p/status", [
                "status": ["conditions": [["type": "Initialized", "status": "True"], ["type": "Ready", "status": "False"]]],
            ])
            let patched = try await admin.patch("\(path)/p/status", [
                "status": ["conditions": [["type": "Ready", "status": "True"]], "containerStatuses": [["name": "main", "ready": true]]],
            ]).json
            let conditions = patched["status"]?["conditions"]?.arrayValue ?? []
            #expect(conditions.count == 2)
            #expect(conditions.first { $0["type"] == "Ready" }?["status"] == "True")
            #expect(conditions.first { $0["type"] == "Initialized" }?["status"] == "True")

            let jsonPatched = try await admin.patch(
                "\(path)/p", [["op": "add", "path": "/metadata/labels/x", "value": "y"]], type: "application/json-patch+json")
            #expect(jsonPatched.json["metadata"]?["labels"]?["x"] == "y")
        }
    }

    @Test(
        "label selectors",
        arguments: [
            ("app=web", ["a", "b"]), ("app==web,tier=front", ["a"]), ("app!=web", ["c"]), ("tier in (front,back)", ["a", "b"]),
            ("tier notin (front)", ["b", "c"]), ("tier", ["a", "b"]), ("!tier", ["c"]),
        ])
    func labelSelectors(selector: String, expected: [String]) async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/configmaps"
            _ = try await admin.post(path, ["metadata": ["name": "a", "labels": ["app": "web", "tier": "front"]]])
            _ = try await admin.post(path, ["metadata": ["name": "b", "labels": ["app": "web", "tier": "back"]]])
            _ = try await admin.post(path, ["metadata": ["name": "c", "labels": ["app": "db"]]])
            let escaped = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
            let list = try await admin.get("\(path)?labelSelector=\(escaped)").json
            let names = (list["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(names.filter { $0 != "kube-root-ca.crt" } == expected)
        }
    }

    @Test("field selectors: spec.nodeName, status.phase, metadata.name; unsupported fields answer 400")
    func fieldSelectors() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("on-a", node: "a"))
            _ = try await admin.post(path, podManifest("on-b", node: "b"))
            _ = try await admin.post(path, podManifest("unbound"))
            func names(_ query: String) async throws -> [String] {
                let list = try await admin.get("/api/v1/pods?fieldSelector=\(query)").json
                return (list["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
            }
            #expect(try await names("spec.nodeName%3Da") == ["on-a"])
            #expect(try await names("spec.nodeName%3D") == ["unbound"])
            #expect(try await names("spec.nodeName!%3Da,status.phase%3DPending") == ["on-b", "unbound"])
            #expect(try await names("metadata.name%3Don-b") == ["on-b"])
            let unsupported = try await admin.get("/api/v1/pods?fieldSelector=spec.image%3Dx")
            #expect(unsupported.status == 400)
            #expect(unsupported.json["message"] == "field label not supported: spec.image")
        }
    }

    @Test("limit/continue pages through a list; the list carries the resourceVersion")
    func pagination() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/configmaps"
            for index in 0..<5 { _ = try await admin.post(path, ["metadata": ["name": .string("cm-\(index)")]]) }
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let query = "?limit=2&labelSelector=" + (token.map { "&continue=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? "")
                let page = try await admin.get(path + query).json
                #expect(page["kind"] == "ConfigMapList")
                #expect(page["metadata"]?["resourceVersion"]?.stringValue != nil)
                seen += (page["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
                token = page["metadata"]?["continue"]?.stringValue
                pages += 1
            } while token != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4", "kube-root-ca.crt"])
        }
    }

    @Test("a bound pod is deleted gracefully, then for good with grace 0; an unbound pod goes at once")
    func gracefulDeletion() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("bound", node: "vk"))
            let first = try await admin.delete("\(path)/bound")
            #expect(first.status == 200)
            #expect(first.json["metadata"]?["deletionGracePeriodSeconds"] == 30)
            #expect(first.json["metadata"]?["deletionTimestamp"]?.stringValue != nil)
            #expect(first.json["metadata"]?["generation"] == 2)
            #expect(try await admin.get("\(path)/bound").status == 200)

            let uid = try #require(first.json["metadata"]?["uid"])
            let wrongUID = try await admin.delete("\(path)/bound", ["gracePeriodSeconds": 0, "preconditions": ["uid": "00000000-0000-0000-0000-000000000000"]])
            #expect(wrongUID.status == 409)
            let final = try await admin.delete("\(path)/bound", ["gracePeriodSeconds": 0, "preconditions": ["uid": uid]])
            #expect(final.status == 200)
            #expect(final.json["metadata"]?["deletionGracePeriodSeconds"] == 0)
            #expect(try await admin.get("\(path)/bound").status == 404)

            _ = try await admin.post(path, podManifest("unbound"))
            #expect(try await admin.delete("\(path)/unbound").status == 200)
            #expect(try await admin.get("\(path)/unbound").status == 404)
        }
    }

    @Test("finalizers keep a deleted object until the last one is removed")
    func finalizers() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/configmaps"
            _ = try await admin.post(path, ["metadata": ["name": "kept", "finalizers": ["example.test/cleanup"]]])
            let deleted = try await admin.delete("\(path)/kept")
            #expect(deleted.status == 200)
            #expect(deleted.json["metadata"]?["deletionTimestamp"]?.stringValue != nil)
            #expect(try await admin.get("\(path)/kept").status == 200)
            _ = try await admin.patch("\(path)/kept", ["metadata": ["finalizers": nil]], type: "application/merge-patch+json")
            #expect(try await admin.get("\(path)/kept").status == 404)

            _ = try await admin.post(path, ["metadata": ["name": "plain"]])
            let plain = try await admin.delete("\(path)/plain")
            #expect(plain.json["kind"] == "Status")
            #expect(plain.json["status"] == "Success")
        }
    }

    @Test("CRD registration makes the custom resource servable, discoverable and validated")
    func customResources() async throws {
        let crdExchange = try RecordedTraffic.exchange("kubernetes/08-crd-tokens-csr-storage.txt", titled: "register a CRD")
        let invalidExchange = try RecordedTraffic.exchange("kubernetes/08-crd-tokens-csr-storage.txt", titled: "violates the schema")
        try await withSimulator { _, admin in
            let crd = try JSONValue(parsing: Data((crdExchange.requestBody ?? "").utf8))
            let created = try await admin.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            #expect(created.status == 201)
            #expect(created.json["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "Established" } == true)

            let thing: JSONValue = ["apiVersion": "example.test/v1", "kind": "ExampleThing", "metadata": ["name": "pg"], "spec": ["source": "host:///bin/pg"]]
            #expect(try await admin.post("/apis/example.test/v1/examplethings", thing).status == 201)
            let bad = try await admin.post("/apis/example.test/v1/examplethings", try JSONValue(parsing: Data((invalidExchange.requestBody ?? "").utf8)))
            #expect(bad.status == 422)
            #expect(bad.json == (try JSONValue(parsing: Data(invalidExchange.responseBody.utf8))))

            let discovery = try await admin.send(.GET, "/apis", accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
            #expect(discovery.header("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
            #expect(discovery.json["items"]?.arrayValue?.contains { $0["metadata"]?["name"] == "example.test" } == true)

            let table = try await admin.send(.GET, "/apis/example.test/v1/examplethings", accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
            #expect(table.json["kind"] == "Table")
            #expect(table.json["columnDefinitions"]?.arrayValue?.map { $0["name"] } == ["Name", "Source"])
            #expect(table.json["rows"]?.arrayValue?.first?["cells"] == ["pg", "host:///bin/pg"])
        }
    }
}

@Suite("Kubernetes simulator: garbage collection")
struct KubernetesSimulatorGarbageCollectionTests {
    private func ownedConfigMap(_ name: String, owner: JSONValue) -> JSONValue {
        [
            "metadata": [
                "name": .string(name),
                "ownerReferences": [["apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]?["name"] ?? "", "uid": owner["metadata"]?["uid"] ?? ""]],
            ]
        ]
    }

    @Test("deleting an owner deletes its dependents; propagationPolicy Orphan keeps them without the reference")
    func cascade() async throws {
        try await withSimulator { _, admin in
            let path = "/api/v1/namespaces/default/configmaps"
            let owner = try await admin.post(path, ["metadata": ["name": "owner"]]).json
            _ = try await admin.post(path, ownedConfigMap("dependent", owner: owner))
            _ = try await admin.delete("\(path)/owner")
            #expect(try await admin.get("\(path)/dependent").status == 404)

            let parent = try await admin.post(path, ["metadata": ["name": "parent"]]).json
            _ = try await admin.post(path, ownedConfigMap("orphan", owner: parent))
            _ = try await admin.delete("\(path)/parent", ["propagationPolicy": "Orphan"])
            let orphan = try await admin.get("\(path)/orphan")
            #expect(orphan.status == 200)
            #expect(orphan.json["metadata"]?["ownerReferences"] == nil)
        }
    }
}
