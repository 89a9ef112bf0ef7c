import Crypto
import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// Who is calling the kubelet endpoint.
public struct KubeletUser: Sendable, Hashable {
    /// The user name (`kube-apiserver-kubelet-client`, `system:serviceaccount:…`, `system:anonymous`).
    public var name: String
    /// The groups, e.g. `system:masters`, `system:authenticated`.
    public var groups: [String]
    /// The user's UID when the authenticator knows it (TokenReview).
    public var uid: String?
    /// Extra attributes from a TokenReview, passed on to the SubjectAccessReview.
    public var extra: [String: [String]]?

    /// A user.
    public init(name: String, groups: [String], uid: String? = nil, extra: [String: [String]]? = nil) {
        self.name = name
        self.groups = groups
        self.uid = uid
        self.extra = extra
    }

    /// The unauthenticated caller let through when anonymous access is enabled.
    public static let anonymous = KubeletUser(name: "system:anonymous", groups: ["system:unauthenticated"])
}

/// Authenticates and authorizes kubelet API requests as the kubelet does: a client certificate
/// (already verified by TLS against the client CA) or a bearer token (TokenReview) names the user;
/// callers without either are refused (401) unless anonymous access is on; then a
/// SubjectAccessReview on `nodes/<subresource>` of this node decides (403 when denied). Decisions
/// are cached for the configured TTLs. The streaming routes (exec, attach, port-forward) call the
/// same ``authorize(method:path:authorization:peerCertificates:)`` before upgrading.
public final class KubeletRequestAuthorizer: Sendable {
    /// One SubjectAccessReview question the kubelet asks for a request.
    public struct Attributes: Sendable, Hashable {
        /// `get`, `create`, `update`, `patch` or `delete`, from the HTTP method.
        public var verb: String
        /// `stats`, `metrics`, `log`, `pods`, `healthz`, `configz`, `checkpoint` or `proxy`.
        public var subresource: String
    }

    private let configuration: KubeletServerConfiguration
    private let nodeName: String
    private let kubernetes: KubernetesClient
    private let logger: Logger
    private let tokenCache = Mutex<[Data: (user: KubeletUser?, expires: ContinuousClock.Instant)]>([:])
    private let decisionCache = Mutex<[DecisionKey: (allowed: Bool, reason: String?, expires: ContinuousClock.Instant)]>([:])

    private struct DecisionKey: Hashable {
        var user: KubeletUser
        var attributes: Attributes
    }

    /// An authorizer for `nodeName`, asking `kubernetes` (the agent's node identity) for reviews.
    public init(configuration: KubeletServerConfiguration, nodeName: String, kubernetes: KubernetesClient, logger: Logger) {
        self.configuration = configuration
        self.nodeName = nodeName
        self.kubernetes = kubernetes
        self.logger = logger
    }

    /// Authenticates and authorizes one request. `path` is the URL path without the query;
    /// `authorization` the `Authorization` header, if any; `peerCertificates` the client's verified
    /// certificate chain, leaf first (empty when it sent none). Returns the caller, or throws a
    /// ``KubeletServerError`` whose ``KubeletServerError/apiStatus`` is the 401/403 answer.
    public func authorize(method: String, path: String, authorization: String?, peerCertificates: [NIOSSLCertificate]) async throws(KubeletServerError)
        -> KubeletUser
    {
        let user = try await authenticate(authorization: authorization, peerCertificates: peerCertificates)
        if configuration.authorization == .alwaysAllow { return user }
        let questions = Self.attributes(method: method, path: path)
        var lastDenial: (Attributes, String?)?
        for attributes in questions {
            let decision = try await decide(user: user, attributes: attributes)
            if decision.allowed { return user }
            lastDenial = (attributes, decision.reason)
        }
        let denied = lastDenial ?? (questions.last ?? Attributes(verb: "", subresource: "proxy"), nil)
        logger.info(
            "kubelet API request forbidden",
            metadata: ["user": "\(user.name)", "verb": "\(denied.0.verb)", "subresource": "\(denied.0.subresource)", "path": "\(path)"])
        throw .forbidden(user: user.name, verb: denied.0.verb, subresource: denied.0.subresource, reason: denied.1)
    }

    /// Like ``authorize(method:path:authorization:peerCertificates:)`` for a request arriving on
    /// `channel`: the peer certificate is read from the channel's TLS handler.
    public func authorize(method: String, path: String, authorization: String?, channel: any Channel) async throws(KubeletServerError)
        -> KubeletUser
    {
        let certificate: NIOSSLCertificate?
        do {
            certificate = try await channel.nioSSL_peerCertificate().get()
        } catch {
            certificate = nil
        }
        return try await authorize(method: method, path: path, authorization: authorization, peerCertificates: certificate.map { [$0] } ?? [])
    }

    /// The user of a request: the client certificate's CN and O, else the bearer token's TokenReview
    /// user, else anonymous when enabled. Throws 401 otherwise.
    public func authenticate(authorization: String?, peerCertificates: [NIOSSLCertificate]) async throws(KubeletServerError) -> KubeletUser {
        if let leaf = peerCertificates.first, configuration.clientCAFile != nil, let user = Self.user(of: leaf) {
            return user
        }
        if let authorization, let token = Self.bearerToken(authorization) {
            if let user = try await review(token: token) { return user }
            throw .unauthorized()
        }
        if configuration.anonymousAuth { return .anonymous }
        throw .unauthorized()
    }

    /// The questions the kubelet asks for a request, in order; any allowed one admits it. Mirrors
    /// `pkg/kubelet/server/auth.go` with fine-grained kubelet authorization (GA).
    public static func attributes(method: String, path: String) -> [Attributes] {
        let verb: String
        switch method.uppercased() {
        case "POST": verb = "create"
        case "GET": verb = "get"
        case "PUT": verb = "update"
        case "PATCH": verb = "patch"
        case "DELETE": verb = "delete"
        default: verb = ""
        }
        func isSubpath(_ base: String) -> Bool {
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            return path == trimmed || path.hasPrefix(trimmed + "/")
        }
        if isSubpath("/stats/") { return [Attributes(verb: verb, subresource: "stats")] }
        if isSubpath("/metrics") { return [Attributes(verb: verb, subresource: "metrics")] }
        if isSubpath("/logs/") { return [Attributes(verb: verb, subresource: "log")] }
        if isSubpath("/checkpoint") { return [Attributes(verb: verb, subresource: "checkpoint")] }
        let proxy = Attributes(verb: verb, subresource: "proxy")
        if isSubpath("/pods") || isSubpath("/runningpods/") { return [Attributes(verb: verb, subresource: "pods"), proxy] }
        if isSubpath("/healthz") { return [Attributes(verb: verb, subresource: "healthz"), proxy] }
        if isSubpath("/configz") { return [Attributes(verb: verb, subresource: "configz"), proxy] }
        return [proxy]
    }

    // MARK: Authentication

    private static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// CN as the user and each O as a group, as the Kubernetes x509 authenticator reads them.
    static func user(of certificate: NIOSSLCertificate) -> KubeletUser? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        var name: String?
        var groups: [String] = []
        for rdn in parsed.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName {
                    name = String(attribute.value) ?? attribute.value.description
                } else if attribute.type == .RDNAttributeType.organizationName {
                    groups.append(String(attribute.value) ?? attribute.value.description)
                }
            }
        }
        guard let name, !name.isEmpty else { return nil }
        return KubeletUser(name: name, groups: groups + ["system:authenticated"])
    }

    private func review(token: String) async throws(KubeletServerError) -> KubeletUser? {
        let key = Data(SHA256.hash(data: Data(token.utf8)))
        let now = ContinuousClock.now
        if let cached = tokenCache.withLock({ $0[key] }), cached.expires > now { return cached.user }
        let answer: TokenReview
        do {
            answer = try await kubernetes.create(TokenReview(spec: TokenReviewSpec(token: token)))
        } catch {
            logger.warning("TokenReview failed", metadata: ["error": "\(error)"])
            KubeletServerMetrics.recordBackendError(.kubernetes)
            throw .unauthorized("Unauthorized: the token could not be reviewed (\(error))")
        }
        var user: KubeletUser?
        if answer.status?.authenticated == true, let info = answer.status?.user, let name = info.username {
            user = KubeletUser(name: name, groups: info.groups ?? [], uid: info.uid, extra: info.extra)
        }
        // Failed reviews are remembered briefly too, so a flood of bad tokens does not flood the API server.
        let ttl = user == nil ? configuration.unauthorizedCacheTTL : configuration.authenticationCacheTTL
        tokenCache.withLock { cache in
            cache = cache.filter { $0.value.expires > now }
            cache[key] = (user, now + ttl)
        }
        return user
    }

    // MARK: Authorization

    private func decide(user: KubeletUser, attributes: Attributes) async throws(KubeletServerError) -> (allowed: Bool, reason: String?) {
        let key = DecisionKey(user: user, attributes: attributes)
        let now = ContinuousClock.now
        if let cached = decisionCache.withLock({ $0[key] }), cached.expires > now { return (cached.allowed, cached.reason) }
        let review = SubjectAccessReview(
            spec: SubjectAccessReviewSpec(
                resourceAttributes: ResourceAttributes(
                    namespace: "", verb: attributes.verb, group: "", version: "v1", resource: "nodes", subresource: attributes.subresource, name: nodeName),
                user: user.name, groups: user.groups, extra: user.extra, uid: user.uid))
        let answer: SubjectAccessReview
        do {
            answer = try await kubernetes.create(review)
        } catch {
            logger.warning("SubjectAccessReview failed", metadata: ["error": "\(error)"])
            KubeletServerMetrics.recordBackendError(.kubernetes)
            throw .internalError("Authorization error (user=\(user.name), verb=\(attributes.verb), resource=nodes, subresource=\(attributes.subresource)): \(error)")
        }
        let allowed = answer.status?.allowed ?? false
        let reason = answer.status?.reason
        let ttl = allowed ? configuration.authorizedCacheTTL : configuration.unauthorizedCacheTTL
        decisionCache.withLock { cache in
            cache = cache.filter { $0.value.expires > now }
            cache[key] = (allowed, reason, now + ttl)
        }
        return (allowed, reason)
    }
}
