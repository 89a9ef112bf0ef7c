import Foundation

/// An authentication.k8s.io/v1 TokenReview: asks the API server who a bearer token belongs to (a kubelet's
/// webhook authentication).
public struct TokenReview: KubernetesResource, Hashable {
    public static let group = "authentication.k8s.io"
    public static let version = "v1"
    public static let kind = "TokenReview"
    public static let plural = "tokenreviews"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: TokenReviewSpec
    public var status: TokenReviewStatus?

    /// Creates a `TokenReview`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        spec: TokenReviewSpec = TokenReviewSpec(),
        status: TokenReviewStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `spec` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(TokenReviewSpec.self, forKey: .spec) ?? TokenReviewSpec()
        status = try container.decodeIfPresent(TokenReviewStatus.self, forKey: .status)
    }
}

/// The token to review.
public struct TokenReviewSpec: Codable, Sendable, Hashable {
    public var token: String
    public var audiences: [String]?

    /// Creates a `TokenReviewSpec`.
    public init(token: String = "", audiences: [String]? = nil) {
        self.token = token
        self.audiences = audiences
    }

    /// Decodes leniently: `token` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decodeIfPresent(String.self, forKey: .token) ?? ""
        audiences = try container.decodeIfPresent([String].self, forKey: .audiences)
    }
}

/// The verdict on a token: `authenticated` and the user, or an `error`.
public struct TokenReviewStatus: Codable, Sendable, Hashable {
    public var authenticated: Bool?
    public var user: UserInfo?
    public var audiences: [String]?
    public var error: String?

    /// Creates a `TokenReviewStatus`.
    public init(authenticated: Bool? = nil, user: UserInfo? = nil, audiences: [String]? = nil, error: String? = nil) {
        self.authenticated = authenticated
        self.user = user
        self.audiences = audiences
        self.error = error
    }
}

/// An authenticated user.
public struct UserInfo: Codable, Sendable, Hashable {
    public var username: String?
    public var uid: String?
    public var groups: [String]?
    public var extra: [String: [String]]?

    /// Creates an `UserInfo`.
    public init(username: String? = nil, uid: String? = nil, groups: [String]? = nil, extra: [String: [String]]? = nil) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }
}

/// An authorization.k8s.io/v1 SubjectAccessReview: asks the API server whether a user may do something (a
/// kubelet's webhook authorization).
public struct SubjectAccessReview: KubernetesResource, Hashable {
    public static let group = "authorization.k8s.io"
    public static let version = "v1"
    public static let kind = "SubjectAccessReview"
    public static let plural = "subjectaccessreviews"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: SubjectAccessReviewSpec
    public var status: SubjectAccessReviewStatus?

    /// Creates a `SubjectAccessReview`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        spec: SubjectAccessReviewSpec = SubjectAccessReviewSpec(),
        status: SubjectAccessReviewStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `spec` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(SubjectAccessReviewSpec.self, forKey: .spec) ?? SubjectAccessReviewSpec()
        status = try container.decodeIfPresent(SubjectAccessReviewStatus.self, forKey: .status)
    }
}

/// Who wants to do what: exactly one of `resourceAttributes` and `nonResourceAttributes` is set.
public struct SubjectAccessReviewSpec: Codable, Sendable, Hashable {
    public var resourceAttributes: ResourceAttributes?
    public var nonResourceAttributes: NonResourceAttributes?
    public var user: String?
    public var groups: [String]?
    public var extra: [String: [String]]?
    public var uid: String?

    /// Creates a `SubjectAccessReviewSpec`.
    public init(
        resourceAttributes: ResourceAttributes? = nil,
        nonResourceAttributes: NonResourceAttributes? = nil,
        user: String? = nil,
        groups: [String]? = nil,
        extra: [String: [String]]? = nil,
        uid: String? = nil
    ) {
        self.resourceAttributes = resourceAttributes
        self.nonResourceAttributes = nonResourceAttributes
        self.user = user
        self.groups = groups
        self.extra = extra
        self.uid = uid
    }
}

/// An action on a resource, e.g. `create` on `nodes/proxy`.
public struct ResourceAttributes: Codable, Sendable, Hashable {
    public var namespace: String?
    public var verb: String?
    public var group: String?
    public var version: String?
    public var resource: String?
    public var subresource: String?
    public var name: String?
    public var fieldSelector: JSONValue?
    public var labelSelector: JSONValue?

    /// Creates a `ResourceAttributes`.
    public init(
        namespace: String? = nil,
        verb: String? = nil,
        group: String? = nil,
        version: String? = nil,
        resource: String? = nil,
        subresource: String? = nil,
        name: String? = nil,
        fieldSelector: JSONValue? = nil,
        labelSelector: JSONValue? = nil
    ) {
        self.namespace = namespace
        self.verb = verb
        self.group = group
        self.version = version
        self.resource = resource
        self.subresource = subresource
        self.name = name
        self.fieldSelector = fieldSelector
        self.labelSelector = labelSelector
    }
}

/// An action on a non-resource path, e.g. `get` on `/healthz`.
public struct NonResourceAttributes: Codable, Sendable, Hashable {
    public var path: String?
    public var verb: String?

    /// Creates a `NonResourceAttributes`.
    public init(path: String? = nil, verb: String? = nil) {
        self.path = path
        self.verb = verb
    }
}

/// The verdict: `allowed`, or not, with the reason.
public struct SubjectAccessReviewStatus: Codable, Sendable, Hashable {
    public var allowed: Bool
    /// True when an authorizer explicitly denied (no other authorizer is asked).
    public var denied: Bool?
    public var reason: String?
    public var evaluationError: String?

    /// Creates a `SubjectAccessReviewStatus`.
    public init(allowed: Bool = false, denied: Bool? = nil, reason: String? = nil, evaluationError: String? = nil) {
        self.allowed = allowed
        self.denied = denied
        self.reason = reason
        self.evaluationError = evaluationError
    }

    /// Decodes leniently: `allowed` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        allowed = try container.decodeIfPresent(Bool.self, forKey: .allowed) ?? false
        denied = try container.decodeIfPresent(Bool.self, forKey: .denied)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        evaluationError = try container.decodeIfPresent(String.self, forKey: .evaluationError)
    }
}

/// An authentication.k8s.io/v1 TokenRequest: a bound service account token.
/// It is not a resource of its own: POST it to the `token` subresource of a core/v1 ServiceAccount
/// (`serviceAccountTokenPath(namespace:serviceAccount:)`); `plural` names that subresource.
public struct TokenRequest: KubernetesResource, Hashable {
    public static let group = "authentication.k8s.io"
    public static let version = "v1"
    public static let kind = "TokenRequest"
    public static let plural = "token"
    public static let isNamespaced = true

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: TokenRequestSpec
    public var status: TokenRequestStatus?

    /// Creates a `TokenRequest`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        spec: TokenRequestSpec = TokenRequestSpec(),
        status: TokenRequestStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `spec` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(TokenRequestSpec.self, forKey: .spec) ?? TokenRequestSpec()
        status = try container.decodeIfPresent(TokenRequestStatus.self, forKey: .status)
    }
}

/// The token wanted: audiences, lifetime and the object it is bound to.
public struct TokenRequestSpec: Codable, Sendable, Hashable {
    /// Empty: the API server's own audience.
    public var audiences: [String]?
    public var expirationSeconds: Int64?
    /// A node may only ask for tokens bound to a Pod on it.
    public var boundObjectRef: BoundObjectReference?

    /// Creates a `TokenRequestSpec`.
    public init(audiences: [String]? = nil, expirationSeconds: Int64? = nil, boundObjectRef: BoundObjectReference? = nil) {
        self.audiences = audiences
        self.expirationSeconds = expirationSeconds
        self.boundObjectRef = boundObjectRef
    }
}

/// The object a token is bound to: the token dies with it.
public struct BoundObjectReference: Codable, Sendable, Hashable {
    public var kind: String?
    public var apiVersion: String?
    public var name: String?
    public var uid: String?

    /// Creates a `BoundObjectReference`.
    public init(kind: String? = nil, apiVersion: String? = nil, name: String? = nil, uid: String? = nil) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.name = name
        self.uid = uid
    }
}

/// The issued token and when it expires.
public struct TokenRequestStatus: Codable, Sendable, Hashable {
    public var token: String
    public var expirationTimestamp: Time

    /// Creates a `TokenRequestStatus`.
    public init(token: String, expirationTimestamp: Time) {
        self.token = token
        self.expirationTimestamp = expirationTimestamp
    }
}

/// A certificates.k8s.io/v1 CertificateSigningRequest, e.g. the kubelet asking for its serving certificate.
public struct CertificateSigningRequest: KubernetesResource, Hashable {
    public static let group = "certificates.k8s.io"
    public static let version = "v1"
    public static let kind = "CertificateSigningRequest"
    public static let plural = "certificatesigningrequests"
    public static let isNamespaced = false

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: CertificateSigningRequestSpec
    public var status: CertificateSigningRequestStatus?

    /// Creates a `CertificateSigningRequest`; `apiVersion` and `kind` are filled in.
    public init(
        metadata: ObjectMeta = ObjectMeta(),
        spec: CertificateSigningRequestSpec = CertificateSigningRequestSpec(),
        status: CertificateSigningRequestStatus? = nil
    ) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Decodes leniently: a missing `metadata` reads as empty; `spec` missing or `null` reads as its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try container.decodeIfPresent(CertificateSigningRequestSpec.self, forKey: .spec) ?? CertificateSigningRequestSpec()
        status = try container.decodeIfPresent(CertificateSigningRequestStatus.self, forKey: .status)
    }
}

/// The request: a PEM CSR (base64 on the wire), the signer and the usages.
public struct CertificateSigningRequestSpec: Codable, Sendable, Hashable {
    /// Base64 of a PEM `CERTIFICATE REQUEST`.
    public var request: String
    /// e.g. `kubernetes.io/kubelet-serving`.
    public var signerName: String
    public var expirationSeconds: Int?
    /// e.g. `digital signature`, `server auth`.
    public var usages: [String]?
    /// Filled in by the server: who asked.
    public var username: String?
    public var uid: String?
    public var groups: [String]?
    public var extra: [String: [String]]?

    /// Creates a `CertificateSigningRequestSpec`.
    public init(
        request: String = "",
        signerName: String = "",
        expirationSeconds: Int? = nil,
        usages: [String]? = nil,
        username: String? = nil,
        uid: String? = nil,
        groups: [String]? = nil,
        extra: [String: [String]]? = nil
    ) {
        self.request = request
        self.signerName = signerName
        self.expirationSeconds = expirationSeconds
        self.usages = usages
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    /// Decodes leniently: `request`, `signerName` missing or `null` read as their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        request = try container.decodeIfPresent(String.self, forKey: .request) ?? ""
        signerName = try container.decodeIfPresent(String.self, forKey: .signerName) ?? ""
        expirationSeconds = try container.decodeIfPresent(Int.self, forKey: .expirationSeconds)
        usages = try container.decodeIfPresent([String].self, forKey: .usages)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        uid = try container.decodeIfPresent(String.self, forKey: .uid)
        groups = try container.decodeIfPresent([String].self, forKey: .groups)
        extra = try container.decodeIfPresent([String: [String]].self, forKey: .extra)
    }
}

/// Approval conditions and, once signed, the certificate.
public struct CertificateSigningRequestStatus: Codable, Sendable, Hashable {
    public var conditions: [CertificateSigningRequestCondition]?
    /// Base64 of the PEM certificate chain.
    public var certificate: String?

    /// Creates a `CertificateSigningRequestStatus`.
    public init(conditions: [CertificateSigningRequestCondition]? = nil, certificate: String? = nil) {
        self.conditions = conditions
        self.certificate = certificate
    }
}

/// `Approved`, `Denied` or `Failed`.
public struct CertificateSigningRequestCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastUpdateTime: Time?
    public var lastTransitionTime: Time?

    /// Creates a `CertificateSigningRequestCondition`.
    public init(
        type: String,
        status: String,
        reason: String? = nil,
        message: String? = nil,
        lastUpdateTime: Time? = nil,
        lastTransitionTime: Time? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastUpdateTime = lastUpdateTime
        self.lastTransitionTime = lastTransitionTime
    }
}
