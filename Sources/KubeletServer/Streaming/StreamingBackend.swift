import HTTPTypes
import Logging
import NIOCore
import NomadClient

/// An HTTP answer that refuses a streaming request instead of upgrading it (401, 403, 404, 400...).
public struct StreamingRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status code.
    public var code: Int
    /// The `Content-Type` of `body`.
    public var contentType: String
    /// The body.
    public var body: String
    /// Extra response headers.
    public var headers: [String: String]

    /// A refusal with a body of any type.
    public init(code: Int, contentType: String, body: String, headers: [String: String] = [:]) {
        self.code = code
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// A refusal whose body is a meta/v1 Status (JSON).
    public init(code: Int, reason: String, message: String) {
        self.init(code: code, contentType: "application/json", body: StreamStatus.refusal(code: code, reason: reason, message: message).json)
    }

    /// A refusal as Go's `http.Error` writes it: plain text and a newline.
    public static func plainText(code: Int, _ text: String, headers: [String: String] = [:]) -> StreamingRefusal {
        StreamingRefusal(code: code, contentType: "text/plain; charset=utf-8", body: text + "\n", headers: headers.merging(["X-Content-Type-Options": "nosniff"]) { $1 })
    }

    public var description: String { "HTTP \(code): \(body)" }
}

/// Decides whether the caller of a streaming endpoint may use it (authentication and
/// authorization, as the kubelet's filters do before the handler runs).
public protocol StreamingAuthorizer: Sendable {
    /// `nil` when the caller may go on, else the refusal to answer (401/403 with a Status body).
    /// `channel` is the connection (its TLS handler holds the client certificate).
    func authorize(_ request: HTTPRequest, channel: any Channel) async -> StreamingRefusal?
}

/// Where in Nomad a container runs.
public struct ExecTarget: Sendable, Hashable {
    /// The Nomad allocation of the pod.
    public var allocationID: String
    /// The Nomad task of the container.
    public var task: String

    /// A target.
    public init(allocationID: String, task: String) {
        self.allocationID = allocationID
        self.task = task
    }
}

/// Finds the Nomad side of a pod for exec and port-forward.
public protocol StreamingPodLocator: Sendable {
    /// The allocation and task running `container` of the pod; throws a `StreamingRefusal` (404
    /// when the pod or container is unknown) when there is none.
    func execTarget(namespace: String, pod: String, container: String) async throws -> ExecTarget
    /// The address port-forward dials for the pod (its Nomad client's address, the pod's hostIP);
    /// throws a `StreamingRefusal` when there is none.
    func portForwardHost(namespace: String, pod: String) async throws -> String
}

/// Limits and timeouts of the streaming endpoints; the defaults are the kubelet's.
public struct StreamingConfiguration: Sendable {
    /// How long the client has to open every stream an exec or a port-forward request needs
    /// (the kubelet's `streamCreationTimeout`, 30 s).
    public var streamCreationTimeout: Duration
    /// How long after its last exec stream ended the server waits for the client's GOAWAY before
    /// it closes the connection itself.
    public var closeGracePeriod: Duration
    /// How long a port-forward may take to connect to the pod's port.
    public var portForwardConnectTimeout: Duration
    /// The largest WebSocket frame accepted.
    public var maxWebSocketFrameSize: Int
    /// The largest SPDY frame accepted.
    public var maxSPDYFrameSize: Int

    /// A configuration with the kubelet's defaults.
    public init(
        streamCreationTimeout: Duration = .seconds(30), closeGracePeriod: Duration = .seconds(5),
        portForwardConnectTimeout: Duration = .seconds(10), maxWebSocketFrameSize: Int = 1 << 20, maxSPDYFrameSize: Int = 1 << 20
    ) {
        self.streamCreationTimeout = streamCreationTimeout
        self.closeGracePeriod = closeGracePeriod
        self.portForwardConnectTimeout = portForwardConnectTimeout
        self.maxWebSocketFrameSize = maxWebSocketFrameSize
        self.maxSPDYFrameSize = maxSPDYFrameSize
    }
}

/// The kubelet's streaming endpoints (exec, attach, port-forward) bridged to Nomad: what
/// `KubeletStreamingChannel` needs to decide on an upgrade and to run the session after it.
public struct KubeletStreaming: Sendable {
    /// Authentication and authorization.
    public var authorizer: any StreamingAuthorizer
    /// Pod → allocation/task and host address.
    public var locator: any StreamingPodLocator
    /// Runs commands in tasks (`/v1/client/allocation/:id/exec`).
    public var nomad: NomadClient
    /// Timeouts and limits.
    public var configuration: StreamingConfiguration
    /// Where sessions log.
    public var logger: Logger

    /// The streaming endpoints with their collaborators.
    public init(authorizer: any StreamingAuthorizer, locator: any StreamingPodLocator, nomad: NomadClient, configuration: StreamingConfiguration = .init(), logger: Logger) {
        self.authorizer = authorizer
        self.locator = locator
        self.nomad = nomad
        self.configuration = configuration
        self.logger = logger
    }
}
