import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A certificate and its private key, both PEM-encoded.
public struct PEMKeyPair: Sendable, Hashable {
    /// The certificate (`-----BEGIN CERTIFICATE-----`).
    public var certificatePEM: String
    /// The PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`).
    public var privateKeyPEM: String

    /// A pair from its two PEM texts.
    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// The simulator's certificate authority: it signs the serving certificate, the client certificates
/// of identities, and the kubelet-client certificate the API server presents to kubelets.
struct SimulatorPKI: Sendable {
    let caCertificate: Certificate
    let caKey: P256.Signing.PrivateKey
    let caCertificatePEM: String
    let serving: PEMKeyPair

    init() throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("nomad-kubelet-simulator-ca") }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: .init(key)
        )
        caKey = key
        caCertificatePEM = try caCertificate.serializeAsPEM().pemString
        serving = try Self.sign(commonName: "kube-apiserver", organizations: [], server: true, ca: caCertificate, caKey: key)
    }

    /// Issues a certificate signed by the CA. Client certificates carry the user as CN and the
    /// groups as O, as the Kubernetes x509 authenticator reads them.
    func issue(commonName: String, organizations: [String], server: Bool) throws -> PEMKeyPair {
        try Self.sign(commonName: commonName, organizations: organizations, server: server, ca: caCertificate, caKey: caKey)
    }

    private static func sign(
        commonName: String, organizations: [String], server: Bool, ca: Certificate, caKey: P256.Signing.PrivateKey
    ) throws -> PEMKeyPair {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            for organization in organizations { OrganizationName(organization) }
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: ca.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(server ? [.serverAuth] : [.clientAuth])
                if server {
                    SubjectAlternativeNames([
                        .dnsName("localhost"),
                        .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    ])
                }
            },
            issuerPrivateKey: .init(caKey)
        )
        return PEMKeyPair(
            certificatePEM: try certificate.serializeAsPEM().pemString,
            privateKeyPEM: key.pemRepresentation
        )
    }

    /// Signs a PKCS#10 request (PEM) as the controller-manager's signers do: subject, key and SANs
    /// from the request, extended key usages from the CSR's `usages`. Returns the certificate PEM.
    func sign(csrPEM: String, usages: [String], days: Int = 365) throws -> String {
        let request = try CertificateSigningRequest(pemEncoded: csrPEM)
        let alternativeNames = try request.attributes.extensionRequest?.extensions.subjectAlternativeNames
        var extendedUsages: [ExtendedKeyUsage.Usage] = []
        if usages.contains("server auth") { extendedUsages.append(.serverAuth) }
        if usages.contains("client auth") { extendedUsages.append(.clientAuth) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: request.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: caCertificate.subject,
            subject: request.subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: usages.contains("key encipherment")))
                if !extendedUsages.isEmpty { try ExtendedKeyUsage(extendedUsages) }
                if let alternativeNames { alternativeNames }
            },
            issuerPrivateKey: .init(caKey)
        )
        return try certificate.serializeAsPEM().pemString
    }

    /// A compact JWS (ES256, signed by the CA key) with these claims, shaped like a service-account token.
    func signedToken(claims: Data) -> String {
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let header = base64URL(Data(#"{"alg":"ES256","kid":"simulator"}"#.utf8))
        let input = header + "." + base64URL(claims)
        let signature = (try? caKey.signature(for: Data(input.utf8)).rawRepresentation) ?? Data()
        return input + "." + base64URL(signature)
    }

    /// The TLS configuration of the API server: serves `serving`, asks for (but does not require)
    /// a client certificate and verifies a presented one against the CA.
    func serverTLSConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(serving.certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem))
        )
        configuration.certificateVerification = .optionalVerification
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(caCertificatePEM.utf8), format: .pem)])
        configuration.applicationProtocols = ["http/1.1"]
        return configuration
    }

    /// The user (CN) and groups (O) of a verified peer certificate.
    static func subject(ofDER der: [UInt8]) -> (user: String, groups: [String])? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        var user: String?
        var groups: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName {
                    user = String(attribute.value) ?? attribute.value.description
                } else if attribute.type == .RDNAttributeType.organizationName {
                    groups.append(String(attribute.value) ?? attribute.value.description)
                }
            }
        }
        guard let user else { return nil }
        return (user, groups)
    }
}
