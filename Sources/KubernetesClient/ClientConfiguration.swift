import Foundation

/// Everything a ``KubernetesClient`` needs to reach and authenticate to one API server.
///
/// Usually built by ``KubeconfigLoader``; tests and embedders may fill it in directly.
public struct ClientConfiguration: Sendable {
    /// How the server's certificate is verified.
    public enum ServerTrust: Sendable {
        /// The system's trust store.
        case system
        /// Only these PEM certificates; `source` names where they came from (for error messages),
        /// e.g. `kubeconfig /x/config: clusters[0].cluster.certificate-authority-data`.
        case certificates(pem: [UInt8], source: String)
        /// No verification (`insecure-skip-tls-verify: true`). Never use outside tests.
        case insecureSkipVerify
    }

    /// A bearer token, given inline or read from a file that may be rotated.
    public enum BearerToken: Sendable {
        /// A fixed token.
        case token(String)
        /// A file holding the token; re-read whenever it changes (projected tokens rotate).
        case file(path: String)
    }

    /// A client certificate and its private key, both PEM.
    public struct ClientCertificate: Sendable {
        /// The certificate chain, PEM.
        public var certificatePEM: [UInt8]
        /// The private key, PEM.
        public var privateKeyPEM: [UInt8]

        /// Creates a client certificate from PEM bytes.
        public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) {
            self.certificatePEM = certificatePEM
            self.privateKeyPEM = privateKeyPEM
        }
    }

    /// The API server URL, possibly with a path prefix (`https://host:6443/k8s/clusters/c-1`).
    public var server: String
    /// How the server's certificate is verified.
    public var trust: ServerTrust
    /// The client certificate, when the user authenticates with one.
    public var clientCertificate: ClientCertificate?
    /// The bearer token, when the user authenticates with one.
    public var bearerToken: BearerToken?
    /// The namespace the context (or service account) names; `default` otherwise.
    public var namespace: String
    /// Retries of throttled and failed requests.
    public var retry: RetryPolicy
    /// How long to wait for a connection.
    public var connectTimeout: Duration
    /// How long a single non-watch request may take.
    public var requestTimeout: Duration
    /// Where this configuration came from, for messages (a kubeconfig path and context, or `in-cluster`).
    public var source: String

    /// Creates a configuration; `server` is required, everything else has a default.
    public init(
        server: String, trust: ServerTrust = .system, clientCertificate: ClientCertificate? = nil,
        bearerToken: BearerToken? = nil, namespace: String = "default", retry: RetryPolicy = RetryPolicy(),
        connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(60), source: String = "explicit configuration"
    ) {
        self.server = server
        self.trust = trust
        self.clientCertificate = clientCertificate
        self.bearerToken = bearerToken
        self.namespace = namespace
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.source = source
    }
}

/// When and how long the client waits before retrying a failed request.
///
/// 429 and 5xx answers are retried for every verb, connection failures only for idempotent verbs
/// (GET, PUT with resourceVersion, DELETE with preconditions are safe; POST and PATCH are not).
/// The delay doubles from `initialDelay` up to `maximumDelay`, with full jitter; a `Retry-After`
/// header (or `details.retryAfterSeconds`) replaces the computed delay, capped at `maximumDelay`.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt; 0 disables retrying.
    public var maximumRetries: Int
    /// The delay before the first retry (before jitter).
    public var initialDelay: Duration
    /// The longest delay, also the cap for `Retry-After`.
    public var maximumDelay: Duration
    /// Waits for the given delay; tests inject a recorder that returns at once.
    public var sleep: @Sendable (Duration) async throws -> Void

    /// Creates a policy; the defaults retry 5 times, from 200 ms up to 30 s.
    public init(
        maximumRetries: Int = 5, initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(30),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maximumRetries = maximumRetries
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.sleep = sleep
    }

    /// A policy that never retries.
    public static var never: RetryPolicy { RetryPolicy(maximumRetries: 0) }

    /// The delay before retry number `attempt` (0-based), honouring a server-requested delay.
    func delay(beforeRetry attempt: Int, retryAfterSeconds: Int?) -> Duration {
        if let retryAfterSeconds, retryAfterSeconds >= 0 {
            return min(.seconds(retryAfterSeconds), maximumDelay)
        }
        let exponential = initialDelay * (1 << min(attempt, 20))
        let capped = min(exponential, maximumDelay)
        let cappedSeconds = Double(capped.components.seconds) + Double(capped.components.attoseconds) / 1e18
        // Half fixed, half random: never zero, and concurrent clients spread out.
        return .seconds(cappedSeconds / 2 + Double.random(in: 0...(cappedSeconds / 2)))
    }
}
