import Foundation
import KubernetesModels
import TestSupport
import Testing

@Suite("Kubernetes simulator: authentication, authorization, recorded node-identity answers")
struct KubernetesSimulatorAuthTests {
    private static let pods02 = "kubernetes/02-pods-as-node.txt"

    private func recordedStatus(_ file: String, _ title: String) throws -> (Int, JSONValue) {
        let exchange = try RecordedTraffic.exchange(file, titled: title)
        return (exchange.status, try JSONValue(parsing: Data(exchange.responseBody.utf8)))
    }

    /// Seeds a node and pods as the recordings had them: one pod bound to vk-nomad, one elsewhere.
    private func seedPods(_ admin: SimulatorHTTP) async throws {
        _ = try await admin.post("/api/v1/nodes", ["metadata": ["name": "vk-nomad"]])
        _ = try await admin.post("/api/v1/namespaces/default/pods", podManifest("web-6ddb9c647c-fhn9x", node: "vk-nomad"))
        _ = try await admin.post("/api/v1/namespaces/default/pods", podManifest("elsewhere", node: "other"))
    }

    @Test("no credentials: 401 Unauthorized; a bearer token authenticates; a wrong token does not")
    func authentication() async throws {
        try await withSimulator { simulator, _ in
            let anonymous = try SimulatorHTTP(simulator, credential: .none)
            let refused = try await anonymous.get("/api/v1/namespaces")
            #expect(refused.status == 401)
            #expect(refused.json == ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401])

            let withToken = try SimulatorHTTP(simulator, as: .admin, credential: .token)
            #expect(try await withToken.get("/api/v1/namespaces").status == 200)
            #expect(simulator.token(for: .admin) == simulator.token(for: .admin))
            #expect(simulator.token(for: .node("a")) != simulator.token(for: .admin))
        }
    }

    @Test(
        "node identity: the recorded 403 bodies",
        arguments: [
            ("a node identity may not list all pods", "GET", "/api/v1/pods"),
            ("nor the pods of a namespace without the field selector", "GET", "/api/v1/namespaces/default/pods"),
            ("GET a pod bound to another node: forbidden", "GET", "/api/v1/namespaces/default/pods/elsewhere"),
        ])
    func nodeForbiddenReads(title: String, method: String, path: String) async throws {
        let (status, body) = try recordedStatus(Self.pods02, title)
        try await withSimulator { simulator, admin in
            try await seedPods(admin)
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let answer = try await node.get(path)
            #expect(answer.status == status)
            #expect(answer.json == body)
        }
    }

    @Test("node identity: own pods with the field selector, own pod by name, pods/status patch allowed")
    func nodeAllowed() async throws {
        try await withSimulator { simulator, admin in
            try await seedPods(admin)
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let list = try await node.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dvk-nomad&limit=500")
            #expect(list.status == 200)
            #expect(list.json["items"]?.arrayValue?.count == 1)
            #expect(try await node.get("/api/v1/namespaces/default/pods/web-6ddb9c647c-fhn9x").status == 200)
            let status = try await node.patch("/api/v1/namespaces/default/pods/web-6ddb9c647c-fhn9x/status", ["status": ["phase": "Running"]])
            #expect(status.status == 200)
            let others = try await node.patch("/api/v1/namespaces/default/pods/elsewhere/status", ["status": ["phase": "Running"]])
            #expect(others.status == 403)
        }
    }

    @Test("node identity: a pod spec patch is forbidden as recorded")
    func nodeCannotPatchPodSpec() async throws {
        let (status, body) = try recordedStatus(Self.pods02, "a node may not change a pod's spec")
        try await withSimulator { simulator, admin in
            try await seedPods(admin)
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let answer = try await node.patch("/api/v1/namespaces/default/pods/web-6ddb9c647c-fhn9x", ["metadata": ["labels": ["x": "y"]]])
            #expect(answer.status == status)
            #expect(answer.json == body)
        }
    }

    @Test("NodeRestriction: another node, restricted labels, and the lease name, as recorded")
    func nodeRestriction() async throws {
        let leases = "kubernetes/01-node-and-lease.txt"
        let (otherStatus, otherBody) = try recordedStatus(leases, "cannot create another Node")
        let (labelStatus, labelBody) = try recordedStatus(leases, "NodeRestriction refuses")
        try await withSimulator { simulator, _ in
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let own = try await node.post("/api/v1/nodes", ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "vk-nomad"]])
            #expect(own.status == 201)
            let other = try await node.post("/api/v1/nodes", ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "someone-else"]])
            #expect(other.status == otherStatus)
            #expect(other.json == otherBody)
            let label = try await node.patch("/api/v1/nodes/vk-nomad", ["metadata": ["labels": ["node-restriction.kubernetes.io/pool": "a"]]])
            #expect(label.status == labelStatus)
            #expect(label.json == labelBody)
            let statusPatch = try await node.patch("/api/v1/nodes/vk-nomad/status", ["status": ["conditions": [["type": "Ready", "status": "True"]]]])
            #expect(statusPatch.status == 200)

            let leasePath = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
            #expect(try await node.post(leasePath, ["metadata": ["name": "vk-nomad"], "spec": ["holderIdentity": "vk-nomad"]]).status == 201)
            let foreign = try await node.post(leasePath, ["metadata": ["name": "other"], "spec": [:]])
            #expect(foreign.status == 403)
            #expect(foreign.json["message"] == "leases.coordination.k8s.io \"other\" is forbidden: can only access node lease with the same name as the requesting node")
        }
    }

    @Test("node identity: PV creation and custom resources without RBAC are refused as recorded")
    func nodeStorageAndCustomResources() async throws {
        let file08 = "kubernetes/08-crd-tokens-csr-storage.txt"
        let pvExchange = try RecordedTraffic.exchange(file08, titled: "creating a PersistentVolume")
        let (crStatus, crBody) = try recordedStatus(file08, "reading custom resources without RBAC")
        let crd = try JSONValue(parsing: Data((try RecordedTraffic.exchange(file08, titled: "register a CRD").requestBody ?? "").utf8))
        try await withSimulator { simulator, admin in
            _ = try await admin.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let pv = try await node.post("/api/v1/persistentvolumes", try JSONValue(parsing: Data((pvExchange.requestBody ?? "").utf8)))
            #expect(pv.status == pvExchange.status)
            #expect(pv.json == (try JSONValue(parsing: Data(pvExchange.responseBody.utf8))))
            let custom = try await node.get("/apis/example.test/v1/examplethings")
            #expect(custom.status == crStatus)
            #expect(custom.json == crBody)
        }
    }

    @Test("node identity: the final delete with a wrong uid precondition answers the recorded 409")
    func uidPrecondition() async throws {
        let exchange = try RecordedTraffic.exchange(Self.pods02, titled: "wrong uid precondition")
        try await withSimulator { simulator, admin in
            _ = try await admin.post("/api/v1/namespaces/default/pods", podManifest("web-6ddb9c647c-gbbll", node: "vk-nomad"))
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let answer = try await node.delete(
                "/api/v1/namespaces/default/pods/web-6ddb9c647c-gbbll", try JSONValue(parsing: Data((exchange.requestBody ?? "").utf8)))
            var expected = try JSONValue(parsing: Data(exchange.responseBody.utf8))
            let uid = try await admin.get("/api/v1/namespaces/default/pods/web-6ddb9c647c-gbbll").json["metadata"]?["uid"]?.stringValue ?? ""
            expected["message"] = .string(
                (expected["message"]?.stringValue ?? "").replacingOccurrences(of: "78c27131-ede4-4af6-adec-0d183a762bf8", with: uid))
            #expect(answer.status == exchange.status)
            #expect(answer.json == expected)
        }
    }

    @Test("TokenReview and SubjectAccessReview answer from the same authentication and authorization")
    func reviews() async throws {
        var configuration = KubernetesSimulator.Configuration()
        configuration.accessGrants = [AccessGrant(groups: ["viewers"], rules: [AccessRule(verbs: ["get", "list", "watch"], resources: ["pods"])])]
        try await withSimulator(configuration) { simulator, _ in
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let viewerToken = simulator.token(for: .user("viewer", groups: ["viewers"]))
            let valid = try await node.post("/apis/authentication.k8s.io/v1/tokenreviews", ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": ["token": .string(viewerToken)]])
            #expect(valid.status == 201)
            #expect(valid.json["status"]?["authenticated"] == true)
            #expect(valid.json["status"]?["user"]?["username"] == "viewer")
            #expect(valid.json["status"]?["user"]?["groups"] == ["viewers", "system:authenticated"])
            let invalid = try await node.post("/apis/authentication.k8s.io/v1/tokenreviews", ["spec": ["token": "not-a-token"]])
            #expect(invalid.json["status"] == ["user": [:], "error": "invalid bearer token"])

            func review(_ user: String, _ groups: [JSONValue], _ verb: String, _ resource: String, _ subresource: String?) async throws -> JSONValue? {
                var attributes: [String: JSONValue] = ["verb": .string(verb), "resource": .string(resource), "name": "vk-nomad"]
                if let subresource { attributes["subresource"] = .string(subresource) }
                let answer = try await node.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", [
                    "spec": ["user": .string(user), "groups": .array(groups), "resourceAttributes": .object(attributes)],
                ])
                #expect(answer.status == 201)
                return answer.json["status"]?["allowed"]
            }
            #expect(try await review("viewer", ["viewers", "system:authenticated"], "create", "nodes", "proxy") == false)
            #expect(try await review("kube-apiserver-kubelet-client", ["system:masters", "system:authenticated"], "create", "nodes", "proxy") == true)
            #expect(try await review("viewer", ["viewers"], "get", "pods", nil) == true)
            #expect(try await review("viewer", ["viewers"], "delete", "pods", nil) == false)

            let viewer = try SimulatorHTTP(simulator, as: .user("viewer", groups: ["viewers"]), credential: .token)
            #expect(try await viewer.get("/api/v1/namespaces/default/pods").status == 200)
            let denied = try await viewer.get("/api/v1/namespaces/default/secrets")
            #expect(denied.status == 403)
            #expect(denied.json["message"] == "secrets is forbidden: User \"viewer\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\"")
        }
    }

    @Test("injected failures: the next N requests fail with the status and Retry-After, then requests succeed")
    func injectedFailures() async throws {
        try await withSimulator { simulator, admin in
            await simulator.injectFailures(count: 2, status: 429, retryAfterSeconds: 3)
            for _ in 0..<2 {
                let failed = try await admin.get("/api/v1/namespaces")
                #expect(failed.status == 429)
                #expect(failed.header("Retry-After") == "3")
                #expect(failed.json["reason"] == "TooManyRequests")
            }
            #expect(try await admin.get("/api/v1/namespaces").status == 200)
        }
    }
}
