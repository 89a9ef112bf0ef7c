import Crypto
import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// The kubelet endpoint's TLS identity: the serving certificate from files (re-read when they
/// change), from a CertificateSigningRequest (`kubernetes.io/kubelet-serving`, renewed at 80% of its
/// lifetime), or self-signed. New connections use the newest certificate; open ones keep theirs.
/// Client certificates are requested (not required) and verified against the client CA when one is
/// configured.
public final class ServingCertificate: Sendable {
    private struct Current {
        var context: NIOSSLContext
        var certificatePEM: String
        var notAfter: Date
        var source: String
        var fileStamp: String?
    }

    private let configuration: KubeletServerConfiguration
    private let node: KubeletNodeIdentity
    private let kubernetes: KubernetesClient?
    private let logger: Logger
    private let clientCAs: [NIOSSLCertificate]
    private let current: Mutex<Current>

    /// Loads (or creates) the first certificate. Throws when a configured file cannot be used.
    public init(configuration: KubeletServerConfiguration, node: KubeletNodeIdentity, kubernetes: KubernetesClient?, logger: Logger) throws(KubeletServerError) {
        self.configuration = configuration
        self.node = node
        self.kubernetes = kubernetes
        self.logger = logger
        var clientCAs: [NIOSSLCertificate] = []
        if let file = configuration.clientCAFile {
            do {
                clientCAs = try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw .invalidConfiguration(setting: "clientCAFile", "cannot read the client CA bundle \(file): \(error); give a PEM file with the CA that signs the API server's kubelet-client certificate")
            }
            if clientCAs.isEmpty { throw .invalidConfiguration(setting: "clientCAFile", "\(file) holds no PEM certificate") }
        }
        self.clientCAs = clientCAs
        let first: Current
        switch configuration.tlsSource {
        case .files:
            first = try Self.loadFiles(configuration, clientCAs: clientCAs)
        case .selfSigned:
            logger.warning(
                "serving the kubelet API with a self-signed certificate; metrics-server and clients that verify kubelets will refuse it",
                metadata: ["node": "\(node.name)"])
            first = try Self.selfSigned(node: node, clientCAs: clientCAs)
        case .csr:
            logger.warning(
                "serving the kubelet API with a self-signed certificate until the cluster issues the requested one (approve the node's kubelet-serving CSR)",
                metadata: ["node": "\(node.name)"])
            first = try Self.selfSigned(node: node, clientCAs: clientCAs)
        }
        self.current = Mutex(first)
    }

    /// The TLS context for a new connection.
    public var sslContext: NIOSSLContext { current.withLock { $0.context } }

    /// The PEM of the certificate being served.
    public var certificatePEM: String { current.withLock { $0.certificatePEM } }

    /// Keeps the certificate fresh until cancelled: re-reads changed files, or requests (and renews)
    /// the certificate with CSRs. Returns at once for self-signed certificates.
    public func maintain() async {
        switch configuration.tlsSource {
        case .selfSigned:
            return
        case .files:
            while !Task.isCancelled {
                do { try await Task.sleep(for: configuration.certificateCheckInterval) } catch { return }
                reloadFilesIfChanged()
            }
        case .csr:
            while !Task.isCancelled {
                let renewAt = current.withLock { current -> Date in
                    guard current.source == "csr" else { return .distantPast }
                    let lifetime = current.notAfter.timeIntervalSince(Date())
                    return Date().addingTimeInterval(max(0, lifetime * 0.8))
                }
                if renewAt > Date() {
                    let wait = min(renewAt.timeIntervalSinceNow, Double(configuration.certificateCheckInterval.components.seconds) * 30)
                    do { try await Task.sleep(for: .seconds(max(1, wait))) } catch { return }
                    continue
                }
                do {
                    try await requestCertificate()
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("requesting the serving certificate failed; retrying", metadata: ["error": "\(error)"])
                    KubeletServerMetrics.recordBackendError(.kubernetes)
                    do { try await Task.sleep(for: configuration.certificateCheckInterval) } catch { return }
                }
            }
        }
    }

    // MARK: Files

    private static func fileStamp(_ configuration: KubeletServerConfiguration) -> String {
        [configuration.certFile, configuration.keyFile].compactMap { $0 }.map { path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
            return "\(path):\(modified):\(size)"
        }.joined(separator: "|")
    }

    private static func loadFiles(_ configuration: KubeletServerConfiguration, clientCAs: [NIOSSLCertificate]) throws(KubeletServerError) -> Current {
        guard let certFile = configuration.certFile, let keyFile = configuration.keyFile else {
            throw .invalidConfiguration(setting: "tls", "source is files but certFile or keyFile is missing; give both, or use source csr or selfSigned")
        }
        let stamp = fileStamp(configuration)
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certFile)
        } catch {
            throw .invalidConfiguration(setting: "tls.certFile", "cannot read the serving certificate \(certFile): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw .invalidConfiguration(setting: "tls.keyFile", "cannot read the serving key \(keyFile): \(error)")
        }
        guard let leaf = chain.first else { throw .invalidConfiguration(setting: "tls.certFile", "\(certFile) holds no PEM certificate") }
        let pem = (try? String(contentsOfFile: certFile, encoding: .utf8)) ?? ""
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        var current = try makeCurrent(chain: chain, key: key, pem: pem, notAfter: notAfter, source: "files", clientCAs: clientCAs)
        current.fileStamp = stamp
        return current
    }

    private func reloadFilesIfChanged() {
        let stamp = Self.fileStamp(configuration)
        guard stamp != current.withLock({ $0.fileStamp }) else { return }
        do {
            let loaded = try Self.loadFiles(configuration, clientCAs: clientCAs)
            current.withLock { $0 = loaded }
            logger.notice("reloaded the kubelet serving certificate", metadata: ["file": "\(configuration.certFile ?? "")"])
        } catch {
            // Keep serving the old certificate; a half-written pair is common during rotation.
            current.withLock { $0.fileStamp = stamp }
            logger.error("cannot reload the kubelet serving certificate; keeping the previous one", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Self-signed

    private static func subjectAlternativeNames(_ node: KubeletNodeIdentity) -> SubjectAlternativeNames {
        var names: [GeneralName] = []
        for dns in [node.name] + node.dnsNames where !dns.isEmpty && !names.contains(.dnsName(dns)) { names.append(.dnsName(dns)) }
        for address in node.ipAddresses {
            if let bytes = ipBytes(address) {
                let name = GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
                if !names.contains(name) { names.append(name) }
            }
        }
        return SubjectAlternativeNames(names)
    }

    private static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func selfSigned(node: KubeletNodeIdentity, clientCAs: [NIOSSLCertificate]) throws(KubeletServerError) -> Current {
        do {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName("\(node.name)@\(Int(Date().timeIntervalSince1970))") }
            let now = Date()
            let notAfter = now.addingTimeInterval(365 * 86400)
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: notAfter, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true, keyCertSign: true))
                    try ExtendedKeyUsage([.serverAuth])
                    subjectAlternativeNames(node)
                }, issuerPrivateKey: .init(key))
            let pem = try certificate.serializeAsPEM().pemString
            let chain = [try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)]
            let privateKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
            return try makeCurrent(chain: chain, key: privateKey, pem: pem, notAfter: notAfter, source: "selfSigned", clientCAs: clientCAs)
        } catch let error as KubeletServerError {
            throw error
        } catch {
            throw .certificate("cannot create a self-signed serving certificate for node \(node.name): \(error)")
        }
    }

    private static func makeCurrent(
        chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, pem: String, notAfter: Date, source: String, clientCAs: [NIOSSLCertificate]
    ) throws(KubeletServerError) -> Current {
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.applicationProtocols = ["http/1.1"]
        if !clientCAs.isEmpty {
            tls.certificateVerification = .optionalVerification
            tls.trustRoots = .certificates(clientCAs)
        }
        do {
            return Current(context: try NIOSSLContext(configuration: tls), certificatePEM: pem, notAfter: notAfter, source: source)
        } catch {
            throw .certificate("the serving certificate and key do not form a usable TLS identity: \(error)")
        }
    }

    // MARK: CertificateSigningRequest

    /// The usages the kubelet asks for on its serving certificate.
    static let servingUsages = ["digital signature", "key encipherment", "server auth"]
    /// The signer of kubelet serving certificates.
    static let servingSigner = "kubernetes.io/kubelet-serving"

    /// Creates a CSR, waits for its certificate and installs it.
    private func requestCertificate() async throws {
        guard let kubernetes else { throw KubeletServerError.certificate("no Kubernetes client to request the serving certificate with") }
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName("system:node:\(node.name)")
        }
        let request = try X509.CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: .init(key),
            attributes: .init([try .init(ExtensionRequest(extensions: try Certificate.Extensions { Self.subjectAlternativeNames(node) }))]),
            signatureAlgorithm: .ecdsaWithSHA256)
        let requestPEM = try request.serializeAsPEM().pemString
        let csr = KubernetesModels.CertificateSigningRequest(
            metadata: ObjectMeta(generateName: "csr-"),
            spec: CertificateSigningRequestSpec(
                request: Data(requestPEM.utf8).base64EncodedString(), signerName: Self.servingSigner, usages: Self.servingUsages))
        let created = try await kubernetes.create(csr)
        let name = created.metadata.name ?? ""
        logger.notice("requested a kubelet serving certificate; waiting for approval", metadata: ["csr": "\(name)", "signer": "\(Self.servingSigner)"])
        while true {
            try Task.checkCancellation()
            let latest = try await kubernetes.get(KubernetesModels.CertificateSigningRequest.self, name: name)
            let conditions = latest.status?.conditions ?? []
            if let refusal = conditions.first(where: { ["Denied", "Failed"].contains($0.type) && $0.status != "False" }) {
                throw KubeletServerError.certificate(
                    "the serving certificate request \(name) was \(refusal.type.lowercased()): \(refusal.reason ?? "") \(refusal.message ?? "")")
            }
            if let encoded = latest.status?.certificate, !encoded.isEmpty, let data = Data(base64Encoded: encoded) {
                let pem = String(decoding: data, as: UTF8.self)
                let chain = try NIOSSLCertificate.fromPEMBytes(Array(data))
                guard let leaf = chain.first else { throw KubeletServerError.certificate("CSR \(name) was issued an empty certificate") }
                let privateKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
                let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
                let installed = try Self.makeCurrent(chain: chain, key: privateKey, pem: pem, notAfter: notAfter, source: "csr", clientCAs: clientCAs)
                current.withLock { $0 = installed }
                logger.notice("serving the kubelet API with the issued certificate", metadata: ["csr": "\(name)", "notAfter": "\(notAfter)"])
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
