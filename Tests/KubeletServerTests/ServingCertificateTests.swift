import AsyncHTTPClient
import Crypto
import Foundation
import KubeletServer
import KubernetesClient
import KubernetesModels
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SwiftASN1
import TestSupport
import Testing
import X509

/// Where the serving certificate comes from: a CSR the cluster issues, or files that change.
@Suite("Kubelet API: serving certificate", .timeLimit(.minutes(3)), .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason))
struct ServingCertificateTests {
    /// Whether a client trusting only `roots` (and checking the name 127.0.0.1) can call /healthz.
    private func verifies(_ harness: KubeletHarness, trusting roots: [NIOSSLCertificate]) async -> Bool {
        guard let client = try? harness.client(.apiServer, trusting: roots) else { return false }
        defer { _ = client.shutdown() }
        let request = HTTPClientRequest(url: "https://127.0.0.1:\(harness.port)/healthz")
        guard let response = try? await client.execute(request, timeout: .seconds(10)) else { return false }
        return response.status.code == 200
    }

    @Test(
        "csr: the node asks for a kubelet-serving certificate, serves self-signed meanwhile, and serves the issued one once approved",
        .enabled(if: E2EEnvironment.realKubeconfig == nil || ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLUSTER_CA"] != nil,
            "a real cluster needs NOMAD_KUBELET_E2E_CLUSTER_CA (the CA its controller-manager signs with)"))
    func certificateFromCSR() async throws {
        try await KubeletHarness.with(agent: false, configure: { $0.tlsSource = .csr }) { harness in
            let caPEM = try harness.kubernetesSimulator?.caCertificatePEM
                ?? String(contentsOfFile: ProcessInfo.processInfo.environment["NOMAD_KUBELET_E2E_CLUSTER_CA"] ?? "", encoding: .utf8)
            let roots = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))
            let csr = try await eventually("the node's kubelet-serving CSR") { () -> KubernetesModels.CertificateSigningRequest? in
                let list = try await harness.admin.list(KubernetesModels.CertificateSigningRequest.self)
                return list.items.first { $0.spec.signerName == "kubernetes.io/kubelet-serving" && $0.spec.username == "system:node:\(harness.nodeName)" }
            }
            #expect(Set(csr.spec.usages ?? []) == ["digital signature", "key encipherment", "server auth"])
            let requestPEM = String(decoding: try #require(Data(base64Encoded: csr.spec.request)), as: UTF8.self)
            let request = try X509.CertificateSigningRequest(pemEncoded: requestPEM)
            #expect(request.subject.description.contains("CN=system:node:\(harness.nodeName)"))
            #expect(request.subject.description.contains("O=system:nodes"))
            let names = try request.attributes.extensionRequest?.extensions.subjectAlternativeNames.map(Array.init) ?? []
            #expect(names.contains(.dnsName(harness.nodeName)))
            #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))))

            #expect(await verifies(harness, trusting: roots) == false, "before approval the certificate is self-signed")
            var approved = csr
            approved.status = CertificateSigningRequestStatus(conditions: [
                CertificateSigningRequestCondition(type: "Approved", status: "True", reason: "TestApproval", message: "approved by the test")
            ])
            _ = try await harness.admin.update(
                ResourceType(KubernetesModels.CertificateSigningRequest.self), object: try JSONValue(encoding: approved), subresource: "approval")
            try await eventually("the server to present the certificate the cluster issued") {
                await verifies(harness, trusting: roots) ? true : nil
            }
            _ = try? await harness.admin.delete(KubernetesModels.CertificateSigningRequest.self, name: csr.metadata.name ?? "")
        }
    }

    @Test("files: a replaced certificate is served to new connections without a restart")
    func filesAreReloaded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serving-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certFile = directory.appendingPathComponent("kubelet.crt").path
        let keyFile = directory.appendingPathComponent("kubelet.key").path
        let first = try TestCA(name: "first")
        let second = try TestCA(name: "second")
        try first.writeServing(certFile: certFile, keyFile: keyFile)
        try await KubeletHarness.with(
            agent: false,
            configure: {
                $0.tlsSource = .files
                $0.certFile = certFile
                $0.keyFile = keyFile
                $0.certificateCheckInterval = .milliseconds(200)
            }
        ) { harness in
            #expect(await verifies(harness, trusting: [first.certificate]))
            #expect(await verifies(harness, trusting: [second.certificate]) == false)
            try second.writeServing(certFile: certFile, keyFile: keyFile)
            try await eventually("the server to serve the replaced certificate") {
                await verifies(harness, trusting: [second.certificate]) ? true : nil
            }
        }
    }

    @Test("files: a missing key file is a configuration error naming the setting")
    func missingFilesAreReported() async throws {
        let configuration = KubeletServerConfiguration(tlsSource: .files, certFile: "/nonexistent/kubelet.crt", keyFile: "/nonexistent/kubelet.key")
        #expect {
            _ = try ServingCertificate(configuration: configuration, node: KubeletNodeIdentity(name: "n"), kubernetes: nil, logger: .init(label: "test"))
        } throws: { error in
            guard let error = error as? KubeletServerError else { return false }
            return error.kind == .invalidConfiguration && error.message.contains("kubeletServer.tls.certFile") && error.message.contains("/nonexistent/kubelet.crt")
        }
    }
}

/// A throwaway CA that issues a serving certificate for 127.0.0.1.
struct TestCA {
    let key = P256.Signing.PrivateKey()
    let name: DistinguishedName
    let certificate: NIOSSLCertificate
    private let x509: Certificate

    init(name commonName: String) throws {
        name = try DistinguishedName { CommonName(commonName) }
        x509 = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: .init(key))
        certificate = try NIOSSLCertificate(bytes: Array(try x509.serializeAsPEM().pemString.utf8), format: .pem)
    }

    func writeServing(certFile: String, keyFile: String) throws {
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey), notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: try DistinguishedName { CommonName("kubelet") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            }, issuerPrivateKey: .init(key))
        try leafKey.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try leaf.serializeAsPEM().pemString.write(toFile: certFile, atomically: true, encoding: .utf8)
    }
}
