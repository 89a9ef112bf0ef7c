import Foundation

/// An ACL token. Its description never shows the secret, so it is safe to log a configuration.
public struct NomadToken: Sendable, Hashable, CustomStringConvertible {
    /// The secret ID sent as `X-Nomad-Token`.
    public let secret: String

    /// A token given by value.
    public init(_ secret: String) { self.secret = secret }

    /// Reads a token from a file (as written by `nomad acl token create` tooling), trimming whitespace.
    public init(contentsOfFile path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw NomadClientError.configuration("cannot read the Nomad ACL token file \(path): \(error.localizedDescription); check the path and its permissions")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else {
            throw NomadClientError.configuration("the Nomad ACL token file \(path) is empty; write the token's SecretID into it")
        }
        self.secret = secret
    }

    public var description: String { "<redacted>" }
}

/// How to connect to a Nomad agent. A plain struct: change fields, then create a ``NomadClient``.
public struct NomadClientConfiguration: Sendable {
    /// TLS settings for `https://` addresses (paths to PEM files).
    public struct TLS: Sendable {
        /// CA bundle that signed the agent's certificate (`NOMAD_CACERT`); `nil` uses the system roots.
        public var caFile: String?
        /// Client certificate for mutual TLS (`NOMAD_CLIENT_CERT`).
        public var clientCertificateFile: String?
        /// Key of the client certificate (`NOMAD_CLIENT_KEY`).
        public var clientKeyFile: String?
        /// Name to verify the agent's certificate against instead of the address host, e.g.
        /// `server.global.nomad` (`NOMAD_TLS_SERVER_NAME`).
        public var serverName: String?
        /// Skip certificate verification (`NOMAD_SKIP_VERIFY`); for tests only.
        public var insecureSkipVerify: Bool

        /// TLS with the given files; all optional.
        public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil, serverName: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
            self.serverName = serverName
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// Retries of failed requests: connection errors and 502/503/504 always; 500 only for reads,
    /// because Nomad answers 500 for rejected writes too (validation errors, EnforceIndex conflicts).
    /// 4xx answers are never retried.
    public struct Retry: Sendable {
        /// Attempts in total, including the first.
        public var maxAttempts: Int
        /// Delay before the first retry; doubled for each further one.
        public var initialBackoff: Duration
        /// Upper bound of the delay.
        public var maxBackoff: Duration

        /// A retry policy.
        public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(5)) {
            self.maxAttempts = max(1, maxAttempts)
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
        }

        /// No retries.
        public static let none = Retry(maxAttempts: 1)

        func backoff(afterAttempt attempt: Int) -> Duration {
            var delay = initialBackoff
            for _ in 1..<max(1, attempt) where delay < maxBackoff { delay = delay * 2 }
            return min(delay, maxBackoff)
        }
    }

    /// The agent's address, `http://host:port` or `https://host:port` (`NOMAD_ADDR`).
    public var address: String
    /// Region to forward requests to (`NOMAD_REGION`); `nil` uses the agent's region.
    public var region: String?
    /// Namespace of jobs and allocations (`NOMAD_NAMESPACE`); `nil` means `default`.
    public var namespace: String?
    /// ACL token (`NOMAD_TOKEN`); `nil` when ACLs are off.
    public var token: NomadToken?
    /// TLS settings, used for `https://` addresses.
    public var tls: TLS
    /// Time allowed to establish a connection.
    public var connectTimeout: Duration
    /// Time allowed for an ordinary request (blocking queries get their wait time on top).
    public var requestTimeout: Duration
    /// Retries of failed requests.
    public var retry: Retry

    /// A configuration for the agent at `address`.
    public init(
        address: String = "http://127.0.0.1:4646", region: String? = nil, namespace: String? = nil, token: NomadToken? = nil,
        tls: TLS = TLS(), connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(30), retry: Retry = Retry()
    ) {
        self.address = address
        self.region = region
        self.namespace = namespace
        self.token = token
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.retry = retry
    }

    /// Reads the variables the `nomad` CLI reads: `NOMAD_ADDR`, `NOMAD_REGION`, `NOMAD_NAMESPACE`,
    /// `NOMAD_TOKEN`, `NOMAD_CACERT`, `NOMAD_CLIENT_CERT`, `NOMAD_CLIENT_KEY`, `NOMAD_TLS_SERVER_NAME`,
    /// `NOMAD_SKIP_VERIFY`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> NomadClientConfiguration {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return NomadClientConfiguration(
            address: value("NOMAD_ADDR") ?? "http://127.0.0.1:4646",
            region: value("NOMAD_REGION"),
            namespace: value("NOMAD_NAMESPACE"),
            token: value("NOMAD_TOKEN").map(NomadToken.init),
            tls: TLS(
                caFile: value("NOMAD_CACERT"), clientCertificateFile: value("NOMAD_CLIENT_CERT"), clientKeyFile: value("NOMAD_CLIENT_KEY"),
                serverName: value("NOMAD_TLS_SERVER_NAME"), insecureSkipVerify: ["1", "true"].contains(value("NOMAD_SKIP_VERIFY")?.lowercased() ?? "")
            )
        )
    }
}
