import Crypto
import Foundation
import KubeletServer
import KubernetesModels
import NIOHTTP1
import NIOSSL
import SwiftASN1
import TestSupport
import Testing
import X509

/// Who may call the kubelet endpoint: the API server's client certificate, tokens reviewed by the
/// API server and authorized with SubjectAccessReviews on `nodes/<subresource>`; nobody else.
@Suite("Kubelet API: authentication and authorization", .timeLimit(.minutes(3)), .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason))
struct KubeletAuthTests {
    @Test("the API server's kubelet-client certificate is accepted; /healthz answers ok")
    func clientCertificateAuthenticates() async throws {
        try await KubeletHarness.with(agent: false) { harness in
            let answer = try await harness.get("/healthz")
            #expect(answer.status == 200)
            #expect(answer.body == "ok")
        }
    }

    @Test("a caller without credentials gets 401 with a Status body")
    func unauthenticatedIsRefused() async throws {
        try await KubeletHarness.with(agent: false) { harness in
            for path in ["/healthz", "/pods", "/containerLogs/default/web/main", "/metrics/resource", "/stats/summary"] {
                let answer = try await harness.get(path, as: .anonymous)
                #expect(answer.status == 401, "\(path)")
                let status = try KubeletHarness.status(answer.body)
                #expect(status.kind == "Status")
                #expect(status.code == 401)
                #expect(status.reason == "Unauthorized")
            }
        }
    }

    @Test("a token the API server does not know gets 401")
    func unknownTokenIsRefused() async throws {
        try await KubeletHarness.with(agent: false) { harness in
            let answer = try await harness.get("/healthz", as: .token("not-a-token"))
            #expect(answer.status == 401)
        }
    }

    @Test(
        "a valid token whose user may not use the node gets 403 from the SubjectAccessReview, worded like the kubelet",
        .enabled(if: E2EEnvironment.realKubeconfig == nil, "needs the simulator to mint a user token"))
    func unauthorizedTokenIsForbidden() async throws {
        try await KubeletHarness.with(agent: false) { harness in
            let simulator = try #require(harness.kubernetesSimulator)
            let token = simulator.token(for: .user("eve", groups: []))
            let answer = try await harness.get("/containerLogs/default/web/main", as: .token(token))
            #expect(answer.status == 403)
            let status = try KubeletHarness.status(answer.body)
            #expect(status.code == 403)
            #expect(status.reason == "Forbidden")
            #expect(status.message?.hasPrefix("Forbidden (user=eve, verb=get, resource=nodes, subresource=proxy)") == true, "\(status.message ?? "")")
        }
    }

    @Test(
        "a token granted nodes/metrics and nodes/stats reads metrics and stats but not logs or pods",
        .enabled(if: E2EEnvironment.realKubeconfig == nil, "needs the simulator to mint a user token"))
    func subresourcesAreAuthorizedSeparately() async throws {
        let grant = AccessGrant(users: ["metrics-reader"], rules: [AccessRule(verbs: ["get"], resources: ["nodes/metrics", "nodes/stats"])])
        try await KubeletHarness.with(agent: false, accessGrants: [grant]) { harness in
            let simulator = try #require(harness.kubernetesSimulator)
            let token = simulator.token(for: .user("metrics-reader", groups: []))
            #expect(try await harness.get("/metrics/resource", as: .token(token)).status == 200)
            #expect(try await harness.get("/stats/summary", as: .token(token)).status == 200)
            let logs = try await harness.get("/containerLogs/default/web/main", as: .token(token))
            #expect(logs.status == 403)
            let pods = try await harness.get("/pods", as: .token(token))
            #expect(pods.status == 403)
            #expect(try KubeletHarness.status(pods.body).message?.contains("subresource=proxy") == true, "the last question asked is nodes/proxy")
        }
    }

    @Test("a client certificate from another CA is refused during the TLS handshake")
    func foreignCertificateIsRefused() async throws {
        try await KubeletHarness.with(agent: false) { harness in
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName {
                OrganizationName("system:masters")
                CommonName("mallory")
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date().addingTimeInterval(-60),
                notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions { try ExtendedKeyUsage([.clientAuth]) }, issuerPrivateKey: .init(key))
            let pair = PEMKeyPair(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
            await #expect(throws: (any Error).self) {
                _ = try await harness.get("/healthz", as: .certificate(pair))
            }
        }
    }

    @Test("with anonymous access on and alwaysAllow, a caller without credentials is served")
    func anonymousWhenEnabled() async throws {
        try await KubeletHarness.with(agent: false, configure: { $0.anonymousAuth = true; $0.authorization = .alwaysAllow }) { harness in
            let answer = try await harness.get("/healthz", as: .anonymous)
            #expect(answer.status == 200)
        }
    }

    @Test(
        "with anonymous access on but webhook authorization, system:anonymous is asked about and refused (403)",
        .enabled(if: E2EEnvironment.realKubeconfig == nil, "a real cluster's RBAC may differ"))
    func anonymousIsStillAuthorized() async throws {
        try await KubeletHarness.with(agent: false, configure: { $0.anonymousAuth = true }) { harness in
            let answer = try await harness.get("/pods", as: .anonymous)
            #expect(answer.status == 403)
            #expect(try KubeletHarness.status(answer.body).message?.contains("user=system:anonymous") == true)
        }
    }
}
