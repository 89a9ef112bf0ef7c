import KubernetesModels

/// Every error the Kubernetes client throws: configuration problems, transport failures and API
/// errors, each with a message that says what happened and what to do.
///
/// Compare ``kind`` with the static members of ``Kind`` (`error.kind == .notFound`). API errors
/// carry the decoded meta/v1 `Status` when the server sent one.
public struct KubernetesClientError: Error, Sendable, CustomStringConvertible {
    fileprivate enum Code: Sendable, Hashable {
        case invalidConfiguration
        case serverUnreachable
        case tlsVerificationFailed
        case unauthorized
        case forbidden
        case notFound
        case conflict
        case alreadyExists
        case resourceExpired
        case invalid
        case badRequest
        case tooManyRequests
        case serverError
        case unexpectedStatus
        case malformedResponse
        case encodingFailed
    }

    /// The category of an error, for `switch` and comparison (new categories may be added).
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let code: Code
        public static let invalidConfiguration = Kind(code: .invalidConfiguration)
        public static let serverUnreachable = Kind(code: .serverUnreachable)
        public static let tlsVerificationFailed = Kind(code: .tlsVerificationFailed)
        public static let unauthorized = Kind(code: .unauthorized)
        public static let forbidden = Kind(code: .forbidden)
        public static let notFound = Kind(code: .notFound)
        public static let conflict = Kind(code: .conflict)
        public static let alreadyExists = Kind(code: .alreadyExists)
        public static let resourceExpired = Kind(code: .resourceExpired)
        public static let invalid = Kind(code: .invalid)
        public static let badRequest = Kind(code: .badRequest)
        public static let tooManyRequests = Kind(code: .tooManyRequests)
        public static let serverError = Kind(code: .serverError)
        public static let unexpectedStatus = Kind(code: .unexpectedStatus)
        public static let malformedResponse = Kind(code: .malformedResponse)
        public static let encodingFailed = Kind(code: .encodingFailed)
        public var description: String { "\(code)" }
    }

    /// The category of this error.
    public let kind: Kind
    /// The human-readable explanation (also `description`).
    public let message: String
    /// The meta/v1 Status the server answered with, when there was one.
    public let status: Status?
    /// The HTTP status code, for errors that come from a response.
    public let httpStatus: Int?
    /// The kubeconfig (or service-account) file involved, for configuration errors.
    public let file: String?
    /// The field within `file`, e.g. `users[0].user.client-key-data`.
    public let field: String?
    /// The request URL, for transport and API errors.
    public let url: String?
    /// The lower-level error, when one caused this error.
    public let underlying: (any Error & Sendable)?
    /// Seconds the server asked to wait before retrying (`Retry-After` or `details.retryAfterSeconds`).
    public let retryAfterSeconds: Int?

    private init(
        _ code: Code, message: String, status: Status? = nil, httpStatus: Int? = nil, file: String? = nil,
        field: String? = nil, url: String? = nil, underlying: (any Error & Sendable)? = nil, retryAfterSeconds: Int? = nil
    ) {
        self.kind = Kind(code: code)
        self.message = message
        self.status = status
        self.httpStatus = httpStatus
        self.file = file
        self.field = field
        self.url = url
        self.underlying = underlying
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { message }

    // MARK: Configuration

    /// A kubeconfig or in-cluster file is missing, unreadable or has a bad field.
    public static func invalidConfiguration(file: String, field: String?, problem: String) -> Self {
        let location = field.map { "kubeconfig \(file): \($0)" } ?? "kubeconfig \(file)"
        return Self(.invalidConfiguration, message: "\(location): \(problem)", file: file, field: field)
    }

    /// In-cluster configuration could not be loaded (not running in a pod, or files missing).
    static func invalidInClusterConfiguration(file: String, problem: String) -> Self {
        Self(.invalidConfiguration, message: "in-cluster configuration \(file): \(problem)", file: file)
    }

    // MARK: Transport

    /// The server could not be reached (connection refused, DNS failure, timeout).
    static func serverUnreachable(url: String, underlying: any Error & Sendable) -> Self {
        Self(
            .serverUnreachable,
            message: "cannot reach the Kubernetes API server at \(url): \(underlying). Is the API server running, and is the kubeconfig's `server` right?",
            url: url, underlying: underlying)
    }

    /// An open watch stream broke (the server went away or a proxy cut the connection).
    static func watchInterrupted(url: String, underlying: any Error & Sendable) -> Self {
        Self(
            .serverUnreachable,
            message: "the watch \(url) broke: \(underlying). Watch again from the last resourceVersion (an Informer does this itself).",
            url: url, underlying: underlying)
    }

    /// The server's certificate did not verify against the configured CA.
    static func tlsVerificationFailed(url: String, caSource: String, underlying: any Error & Sendable) -> Self {
        Self(
            .tlsVerificationFailed,
            message: "TLS verification of \(url) failed against the CA from \(caSource): \(underlying). Check that this CA signed the API server's certificate (or that `server` names the right cluster).",
            url: url, underlying: underlying)
    }

    // MARK: Responses

    /// Maps an error response to the matching error, keeping the server's Status.
    static func response(httpStatus: Int, status: Status?, method: String, url: String, retryAfterSeconds: Int?) -> Self {
        let serverSays = status?.message.map { ": \($0)" } ?? ""
        let request = "\(method) \(url)"
        switch httpStatus {
        case 401:
            return Self(.unauthorized, message: "\(request): 401 Unauthorized\(serverSays). The credentials were rejected: the token may be expired or invalid, or the client certificate is not trusted by this cluster; refresh the kubeconfig's user credentials.", status: status, httpStatus: httpStatus, url: url)
        case 403:
            return Self(.forbidden, message: "\(request): 403 Forbidden\(serverSays). Grant this identity the permission (RBAC) or use another identity.", status: status, httpStatus: httpStatus, url: url)
        case 404:
            return Self(.notFound, message: "\(request): 404 Not Found\(serverSays)", status: status, httpStatus: httpStatus, url: url)
        case 409 where status?.reason == "AlreadyExists":
            return Self(.alreadyExists, message: "\(request): 409 AlreadyExists\(serverSays)", status: status, httpStatus: httpStatus, url: url)
        case 409:
            return Self(.conflict, message: "\(request): 409 Conflict\(serverSays). Read the object again and retry with its current resourceVersion.", status: status, httpStatus: httpStatus, url: url)
        case 410:
            return Self(.resourceExpired, message: "\(request): 410 \(status?.reason ?? "Gone")\(serverSays). The resourceVersion is too old; list again to get a fresh one.", status: status, httpStatus: httpStatus, url: url)
        case 422:
            let causes = (status?.details?.causes ?? []).map { "\($0.field ?? "?"): \($0.message ?? $0.reason ?? "invalid")" }
            let causeText = causes.isEmpty ? "" : " (" + causes.joined(separator: "; ") + ")"
            return Self(.invalid, message: "\(request): 422 Invalid\(serverSays)\(causeText)", status: status, httpStatus: httpStatus, url: url)
        case 400:
            return Self(.badRequest, message: "\(request): 400 Bad Request\(serverSays)", status: status, httpStatus: httpStatus, url: url)
        case 429:
            return Self(.tooManyRequests, message: "\(request): 429 Too Many Requests\(serverSays). The API server is throttling this client; retries were exhausted.", status: status, httpStatus: httpStatus, url: url, retryAfterSeconds: retryAfterSeconds)
        case 500...599:
            return Self(.serverError, message: "\(request): \(httpStatus) server error\(serverSays)", status: status, httpStatus: httpStatus, url: url, retryAfterSeconds: retryAfterSeconds)
        default:
            return Self(.unexpectedStatus, message: "\(request): unexpected HTTP status \(httpStatus)\(serverSays)", status: status, httpStatus: httpStatus, url: url)
        }
    }

    /// A watch stream delivered an ERROR event.
    static func watchError(status: Status, url: String) -> Self {
        let code = status.code ?? 500
        if code == 410 || status.reason == "Expired" || status.reason == "Gone" {
            return Self(.resourceExpired, message: "watch \(url): \(status.reason ?? "Gone"): \(status.message ?? "resourceVersion too old"). List again to get a fresh resourceVersion.", status: status, httpStatus: 410, url: url)
        }
        return response(httpStatus: code, status: status, method: "WATCH", url: url, retryAfterSeconds: status.details?.retryAfterSeconds)
    }

    /// The response could not be decoded (truncated JSON, wrong content type, unexpected shape).
    static func malformedResponse(url: String, problem: String, underlying: (any Error & Sendable)? = nil) -> Self {
        Self(.malformedResponse, message: "malformed response from \(url): \(problem)", url: url, underlying: underlying)
    }

    /// A request body could not be encoded.
    static func encodingFailed(what: String, underlying: any Error & Sendable) -> Self {
        Self(.encodingFailed, message: "cannot encode \(what) as JSON: \(underlying)", underlying: underlying)
    }
}
