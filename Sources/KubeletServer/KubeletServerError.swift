import KubernetesModels

/// Errors of the kubelet endpoint. Request failures carry the meta/v1 Status the caller receives
/// (``apiStatus``, whose `code` is the HTTP status); setup failures name the file or setting involved.
public struct KubeletServerError: Error, Sendable, CustomStringConvertible {
    fileprivate enum Code: Sendable, Hashable {
        case unauthorized
        case forbidden
        case notFound
        case badRequest
        case invalid
        case serviceUnavailable
        case internalError
        case invalidConfiguration
        case certificate
    }

    /// The kind of failure, for callers that branch on it (`error.kind == .notFound`).
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let code: Code
        /// No (valid) credentials: HTTP 401.
        public static let unauthorized = Kind(code: .unauthorized)
        /// Authenticated but not allowed: HTTP 403.
        public static let forbidden = Kind(code: .forbidden)
        /// The pod or container is not on this node: HTTP 404.
        public static let notFound = Kind(code: .notFound)
        /// The request cannot be served as asked (container not running, bad parameter): HTTP 400.
        public static let badRequest = Kind(code: .badRequest)
        /// The request decodes but its values are not valid together or in range: HTTP 422.
        public static let invalid = Kind(code: .invalid)
        /// A backend (Kubernetes, Nomad) could not answer: HTTP 503.
        public static let serviceUnavailable = Kind(code: .serviceUnavailable)
        /// Something failed inside the agent: HTTP 500.
        public static let internalError = Kind(code: .internalError)
        /// A setting or a file it names cannot be used; the server does not start.
        public static let invalidConfiguration = Kind(code: .invalidConfiguration)
        /// The serving certificate could not be obtained.
        public static let certificate = Kind(code: .certificate)
        public var description: String { "\(code)" }
    }

    /// What went wrong.
    public let kind: Kind
    /// A message that says what happened and what to do.
    public let message: String
    /// The HTTP status code the caller receives.
    public let httpStatus: Int
    private let reason: String

    private init(_ kind: Kind, httpStatus: Int, reason: String, message: String) {
        self.kind = kind
        self.httpStatus = httpStatus
        self.reason = reason
        self.message = message
    }

    public var description: String { message }

    /// The meta/v1 Status sent as the response body.
    public var apiStatus: Status {
        Status(status: "Failure", message: message, reason: reason, code: httpStatus)
    }

    /// 401: the request carries no credentials the node accepts.
    public static func unauthorized(_ message: String = "Unauthorized") -> KubeletServerError {
        KubeletServerError(.unauthorized, httpStatus: 401, reason: "Unauthorized", message: message)
    }

    /// 403 in the kubelet's words: `Forbidden (user=…, verb=…, resource=nodes, subresource=…)`.
    public static func forbidden(user: String, verb: String, subresource: String, reason: String? = nil) -> KubeletServerError {
        var message = "Forbidden (user=\(user), verb=\(verb), resource=nodes, subresource=\(subresource))"
        if let reason, !reason.isEmpty { message += ": \(reason)" }
        return KubeletServerError(.forbidden, httpStatus: 403, reason: "Forbidden", message: message)
    }

    /// 404: a pod or container this node does not run.
    public static func notFound(_ message: String) -> KubeletServerError {
        KubeletServerError(.notFound, httpStatus: 404, reason: "NotFound", message: message)
    }

    /// 400: the request cannot be served as asked.
    public static func badRequest(_ message: String) -> KubeletServerError {
        KubeletServerError(.badRequest, httpStatus: 400, reason: "BadRequest", message: message)
    }

    /// 422: the request's values decode but are not valid (a negative `tailLines`, both `sinceTime` and `sinceSeconds`).
    public static func invalid(_ message: String) -> KubeletServerError {
        KubeletServerError(.invalid, httpStatus: 422, reason: "Invalid", message: message)
    }

    /// 503: Kubernetes or Nomad did not answer.
    public static func serviceUnavailable(_ message: String) -> KubeletServerError {
        KubeletServerError(.serviceUnavailable, httpStatus: 503, reason: "ServiceUnavailable", message: message)
    }

    /// 500: an unexpected failure.
    public static func internalError(_ message: String) -> KubeletServerError {
        KubeletServerError(.internalError, httpStatus: 500, reason: "InternalError", message: message)
    }

    /// A setting (or the file it names) that cannot be used.
    public static func invalidConfiguration(setting: String, _ problem: String) -> KubeletServerError {
        KubeletServerError(.invalidConfiguration, httpStatus: 500, reason: "InternalError", message: "kubeletServer.\(setting): \(problem)")
    }

    /// The serving certificate could not be obtained or loaded.
    public static func certificate(_ message: String) -> KubeletServerError {
        KubeletServerError(.certificate, httpStatus: 500, reason: "InternalError", message: message)
    }

    /// The answer `/attach` gets: Nomad tasks have no attachable console. Shared by the plain-HTTP
    /// route and the streaming upgrades.
    public static func attachUnsupported(namespace: String, pod: String, container: String) -> KubeletServerError {
        badRequest(
            "attach is not supported for container \"\(container)\" in pod \"\(namespace)/\(pod)\": it runs as a Nomad task, and Nomad "
                + "offers no way to attach to a running task's console; use `kubectl exec -it \(pod) -c \(container) -- sh` for a shell, "
                + "or `kubectl logs -f \(pod) -c \(container)` to follow its output")
    }
}
