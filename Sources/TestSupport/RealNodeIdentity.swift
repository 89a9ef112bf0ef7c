import Crypto
import Foundation
import KubernetesClient
import KubernetesModels
import SwiftASN1
import X509

/// A `system:node:<name>` identity on a real cluster, obtained the way a bootstrapping kubelet gets
/// one: a CertificateSigningRequest for `kubernetes.io/kube-apiserver-client-kubelet`, approved by
/// the admin, signed by the controller manager. So the agent under test runs with exactly a
/// kubelet's rights (Node authorizer, NodeRestriction) against real servers too. Used by the agent
/// and kubelet API end-to-end tests; needs a kube-controller-manager that signs (`--cluster-signing-*`).
public enum RealNodeIdentity {
    /// The signer of kubelets' client certificates.
    public static let signer = "kubernetes.io/kube-apiserver-client-kubelet"

    /// A test's own corner of the real cluster at `kubeconfig` (an admin's): creates `namespace`,
    /// writes a kubeconfig for `system:node:<nodeName>` to `nodeKubeconfigPath`, and returns the
    /// admin client.
    public static func prepareCluster(kubeconfig: String, nodeName: String, namespace: String, nodeKubeconfigPath: String) async throws -> KubernetesClient {
        let adminConfiguration = try KubeconfigLoader.load(path: kubeconfig)
        let admin = try KubernetesClient(configuration: adminConfiguration)
        _ = try await admin.create(Namespace(metadata: ObjectMeta(name: namespace)))
        try await mint(nodeName: nodeName, admin: admin, adminConfiguration: adminConfiguration, writingTo: nodeKubeconfigPath)
        return admin
    }

    /// Writes a kubeconfig for `system:node:<nodeName>` to `path`, using `admin` to approve the
    /// request and `adminConfiguration` for the server address and its CA.
    public static func mint(nodeName: String, admin: KubernetesClient, adminConfiguration: ClientConfiguration, writingTo path: String) async throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName("system:node:\(nodeName)")
        }
        let request = try X509.CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: .init(key), attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
        let csr = KubernetesModels.CertificateSigningRequest(
            metadata: ObjectMeta(name: "agent-e2e-\(nodeName)"),
            spec: CertificateSigningRequestSpec(
                request: Data(try request.serializeAsPEM().pemString.utf8).base64EncodedString(), signerName: signer,
                usages: ["digital signature", "client auth"]))
        let created = try await admin.create(csr)
        let name = created.metadata.name ?? ""
        let approval: JSONValue = [
            "status": ["conditions": [["type": "Approved", "status": "True", "reason": "AgentEndToEnd", "message": "node identity for an end-to-end test"]]]
        ]
        _ = try await admin.patch(KubernetesModels.CertificateSigningRequest.self, name: name, patch: .merge(approval), subresource: "approval")
        let certificate = try await eventually("the controller manager to sign CSR \(name) (\(signer))") { () -> String? in
            let latest = try await admin.get(KubernetesModels.CertificateSigningRequest.self, name: name)
            return latest.status?.certificate.flatMap { $0.isEmpty ? nil : $0 }
        }
        _ = try? await admin.delete(KubernetesModels.CertificateSigningRequest.self, name: name)
        let authority: String
        switch adminConfiguration.trust {
        case .certificates(let pem, _): authority = "certificate-authority-data: \(Data(pem).base64EncodedString())"
        default: authority = "insecure-skip-tls-verify: true"
        }
        let keyData = Data(key.pemRepresentation.utf8).base64EncodedString()
        try """
            apiVersion: v1
            kind: Config
            clusters:
            - name: e2e
              cluster:
                server: \(adminConfiguration.server)
                \(authority)
            users:
            - name: system:node:\(nodeName)
              user:
                client-certificate-data: \(certificate)
                client-key-data: \(keyData)
            contexts:
            - name: node
              context: {cluster: e2e, user: "system:node:\(nodeName)"}
            current-context: node

            """.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
