import Foundation
import KubernetesModels
import TestSupport
import Testing

/// Namespace lifecycle: what a new namespace gets, and how a deleted one drains.
@Suite("Kubernetes simulator: namespace lifecycle")
struct KubernetesNamespaceTests {
    @Test("a new namespace gets its default ServiceAccount and the kube-root-ca.crt ConfigMap")
    func defaults() async throws {
        try await withSimulator { simulator, admin in
            #expect(try await admin.post("/api/v1/namespaces", ["metadata": ["name": "team"]]).status == 201)
            try await waitUntil("the default ServiceAccount in team") { () -> Bool? in
                try await admin.get("/api/v1/namespaces/team/serviceaccounts/default").status == 200 ? true : nil
            }
            let configMap = try await waitUntil("kube-root-ca.crt in team") { () -> JSONValue? in
                let answer = try await admin.get("/api/v1/namespaces/team/configmaps/kube-root-ca.crt")
                return answer.status == 200 ? answer.json : nil
            }
            #expect(configMap["data"]?["ca.crt"]?.stringValue == simulator.caCertificatePEM)
        }
    }

    @Test("deleting a namespace: Terminating, no new content, its objects deleted, bound pods wait for the kubelet, then it is gone")
    func termination() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("node-a"))
            _ = try await admin.post("/api/v1/namespaces", ["metadata": ["name": "doomed"]])
            _ = try await admin.post("/api/v1/namespaces/doomed/configmaps", ["metadata": ["name": "settings"]])
            _ = try await admin.post("/api/v1/namespaces/doomed/pods", podManifest("bound", node: "node-a"))

            let deleted = try await admin.delete("/api/v1/namespaces/doomed")
            #expect(deleted.status == 200)
            #expect(deleted.json["status"]?["phase"] == "Terminating")
            let refused = try await admin.post("/api/v1/namespaces/doomed/configmaps", ["metadata": ["name": "late"]])
            #expect(refused.status == 403)
            #expect(refused.json["message"] == "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated")

            try await waitUntil("the configmaps of doomed deleted and its pod terminating") { () -> Bool? in
                let configMaps = try await admin.get("/api/v1/namespaces/doomed/configmaps").json["items"]?.arrayValue ?? []
                let pods = try await admin.pods(in: "doomed")
                return configMaps.isEmpty && pods.count == 1 && pods[0].terminating ? true : nil
            }
            #expect(try await admin.get("/api/v1/namespaces/doomed").json["status"]?["phase"] == "Terminating")

            try await admin.actAsKubelet(in: "doomed")
            try await waitUntil("namespace doomed gone") { () -> Bool? in
                try await admin.get("/api/v1/namespaces/doomed").status == 404 ? true : nil
            }
        }
    }
}
