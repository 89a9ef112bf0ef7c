import Foundation
import KubernetesModels
import TestSupport
import SwiftASN1
import Testing
import X509

@Suite("Kubernetes simulator: TokenRequest and CSR signing")
struct KubernetesSimulatorCredentialTests {
    private static let file08 = "kubernetes/08-crd-tokens-csr-storage.txt"

    private func requestBody(_ title: String) throws -> JSONValue {
        try JSONValue(parsing: Data((try RecordedTraffic.exchange(Self.file08, titled: title).requestBody ?? "").utf8))
    }

    @Test("a node gets a token for the service account of a pod bound to it; the recorded refusals match")
    func tokenRequest() async throws {
        let unbound = try RecordedTraffic.exchange(Self.file08, titled: "without a bound pod")
        let wrongAudience = try RecordedTraffic.exchange(Self.file08, titled: "audience that no volume")
        try await withSimulator { simulator, admin in
            let pod = try await admin.post("/api/v1/namespaces/default/pods", podManifest("token-demo", node: "vk-nomad"))
            #expect(pod.json["spec"]?["volumes"]?.arrayValue?.first?["name"]?.stringValue?.hasPrefix("kube-api-access-") == true)
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let path = "/api/v1/namespaces/default/serviceaccounts/default/token"

            let issued = try await node.post(path, try requestBody("TokenRequest by the node for the service account"))
            #expect(issued.status == 201)
            #expect(issued.json["spec"]?["audiences"] == ["https://kubernetes.default.svc.cluster.local"])
            let token = try #require(issued.json["status"]?["token"]?.stringValue)
            #expect(token.split(separator: ".").count == 3)
            let review = try await admin.post("/apis/authentication.k8s.io/v1/tokenreviews", ["spec": ["token": .string(token)]])
            #expect(review.json["status"]?["user"]?["username"] == "system:serviceaccount:default:default")

            let refused = try await node.post(path, try JSONValue(parsing: Data((unbound.requestBody ?? "").utf8)))
            #expect(refused.status == unbound.status)
            #expect(refused.json == (try JSONValue(parsing: Data(unbound.responseBody.utf8))))
            let vault = try await node.post(path, try JSONValue(parsing: Data((wrongAudience.requestBody ?? "").utf8)))
            #expect(vault.status == wrongAudience.status)
            #expect(vault.json == (try JSONValue(parsing: Data(wrongAudience.responseBody.utf8))))
        }
    }

    @Test("an approved kubelet-serving CSR gets a certificate signed by the simulator CA")
    func certificateSigning() async throws {
        try await withSimulator { simulator, admin in
            let node = try SimulatorHTTP(simulator, as: .node("vk-nomad"))
            let created = try await node.post(
                "/apis/certificates.k8s.io/v1/certificatesigningrequests", try requestBody("the node asks for a kubelet serving certificate"))
            #expect(created.status == 201)
            #expect(created.json["spec"]?["username"] == "system:node:vk-nomad")
            let name = try #require(created.json["metadata"]?["name"]?.stringValue)
            #expect(name.hasPrefix("csr-"))

            var approval = created.json
            approval["status"] = ["conditions": [["type": "Approved", "status": "True", "reason": "AdminApproved", "message": "approved"]]]
            let approved = try await admin.put("/apis/certificates.k8s.io/v1/certificatesigningrequests/\(name)/approval", approval)
            #expect(approved.status == 200)

            let signed = try await node.get("/apis/certificates.k8s.io/v1/certificatesigningrequests/\(name)").json
            let encoded = try #require(signed["status"]?["certificate"]?.stringValue)
            let pem = String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
            let certificate = try Certificate(pemEncoded: pem)
            let authority = try Certificate(pemEncoded: simulator.caCertificatePEM)
            #expect(certificate.issuer == authority.subject)
            #expect(certificate.subject.description.contains("system:node:vk-nomad"))
        }
    }
}
