import Foundation

/// Settings of the kubelet HTTPS endpoint (the `kubeletServer:` section of the agent configuration).
public struct KubeletServerConfiguration: Sendable, Hashable {
    /// Where the serving certificate comes from.
    public enum TLSSource: String, Sendable, Hashable, CaseIterable {
        /// `certFile` and `keyFile` (PEM), re-read when they change on disk.
        case files
        /// A CertificateSigningRequest for signer `kubernetes.io/kubelet-serving`; a self-signed
        /// certificate serves until the cluster approves and issues it.
        case csr
        /// A self-signed certificate (metrics-server and anything else verifying kubelets refuse it).
        case selfSigned
    }

    /// How requests are authorized once authenticated.
    public enum AuthorizationMode: String, Sendable, Hashable, CaseIterable {
        /// A SubjectAccessReview per request (cached briefly), as the kubelet's `Webhook` mode.
        case webhook
        /// Every authenticated caller may do everything.
        case alwaysAllow
    }

    /// Address to listen on (`0.0.0.0` for all IPv4 interfaces).
    public var address: String
    /// Port to listen on; also the Node's `status.daemonEndpoints.kubeletEndpoint.Port`. 0 picks a free port.
    public var port: Int
    /// Where the serving certificate comes from.
    public var tlsSource: TLSSource
    /// PEM certificate (chain) for `tlsSource == .files`.
    public var certFile: String?
    /// PEM private key for `tlsSource == .files`.
    public var keyFile: String?
    /// PEM bundle of CAs whose client certificates are accepted (the API server's kubelet-client
    /// certificate is signed by one); without it, client certificates are not requested.
    public var clientCAFile: String?
    /// Whether callers without credentials are let through as `system:anonymous` (then authorized).
    public var anonymousAuth: Bool
    /// How authenticated requests are authorized.
    public var authorization: AuthorizationMode
    /// How long a successful TokenReview is remembered (kubelet default 2 minutes).
    public var authenticationCacheTTL: Duration
    /// How long an allowed SubjectAccessReview is remembered (kubelet default 5 minutes).
    public var authorizedCacheTTL: Duration
    /// How long a denied SubjectAccessReview is remembered (kubelet default 30 seconds).
    public var unauthorizedCacheTTL: Duration
    /// How often certificate files are checked for changes, and the CSR certificate for renewal.
    public var certificateCheckInterval: Duration

    /// Settings with the documented defaults (those of `kubeletServer:`): `0.0.0.0:10250`, a
    /// self-signed certificate, webhook authorization, no anonymous access.
    public init(
        address: String = "0.0.0.0", port: Int = 10250, tlsSource: TLSSource = .selfSigned, certFile: String? = nil, keyFile: String? = nil,
        clientCAFile: String? = nil, anonymousAuth: Bool = false, authorization: AuthorizationMode = .webhook,
        authenticationCacheTTL: Duration = .seconds(120), authorizedCacheTTL: Duration = .seconds(300),
        unauthorizedCacheTTL: Duration = .seconds(30), certificateCheckInterval: Duration = .seconds(10)
    ) {
        self.address = address
        self.port = port
        self.tlsSource = tlsSource
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.anonymousAuth = anonymousAuth
        self.authorization = authorization
        self.authenticationCacheTTL = authenticationCacheTTL
        self.authorizedCacheTTL = authorizedCacheTTL
        self.unauthorizedCacheTTL = unauthorizedCacheTTL
        self.certificateCheckInterval = certificateCheckInterval
    }
}

/// The node the endpoint serves: its name (the SubjectAccessReview's `name`, the CSR's
/// `system:node:<name>`) and the addresses its serving certificate must name.
public struct KubeletNodeIdentity: Sendable, Hashable {
    /// The Node's name.
    public var name: String
    /// IP addresses of the node (`InternalIP`, `ExternalIP`), SANs of the serving certificate.
    public var ipAddresses: [String]
    /// DNS names of the node (`Hostname`), SANs of the serving certificate besides `name`.
    public var dnsNames: [String]

    /// A node identity.
    public init(name: String, ipAddresses: [String] = [], dnsNames: [String] = []) {
        self.name = name
        self.ipAddresses = ipAddresses
        self.dnsNames = dnsNames
    }
}
