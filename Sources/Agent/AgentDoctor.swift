import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NIOSSL
import NomadClient
import NomadModels

/// One line of `nomad-kubelet check`.
public struct CheckResult: Sendable, Hashable {
    /// How a check ended.
    public enum Outcome: String, Sendable, Hashable {
        /// Works.
        case passed
        /// Works now, but needs attention (an expiring certificate, a grace period Nomad caps).
        case warning
        /// Does not work; the agent cannot run properly until it is fixed.
        case failed
    }

    /// What was checked (`kubernetes`, `permission patch pods/status`, `tls nomad.tls.caFile`).
    public var name: String
    /// The outcome.
    public var outcome: Outcome
    /// What was found.
    public var detail: String
    /// What to do, for warnings and failures.
    public var fix: String?

    /// A result.
    public init(_ name: String, _ outcome: Outcome, _ detail: String, fix: String? = nil) {
        self.name = name
        self.outcome = outcome
        self.detail = detail
        self.fix = fix
    }
}

/// The connectivity and permission doctor behind `nomad-kubelet check`: reaches Kubernetes and
/// asks a SelfSubjectAccessReview for every permission the agent needs, reaches Nomad and reads its
/// version and client drivers, checks TLS files and the kubelet port. Changes nothing anywhere.
public struct AgentDoctor: Sendable {
    /// Certificates expiring within this are warnings.
    public static let expiryWarning: Duration = .seconds(30 * 24 * 3600)
    /// Nomad clients' default `max_kill_timeout`.
    public static let nomadMaxKillTimeoutSeconds: Int64 = 30

    let configuration: AgentConfiguration
    let logger: Logger

    /// A doctor for `configuration`.
    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs every check; never throws (a failure is a result).
    public func run(now: Date = Date()) async -> [CheckResult] {
        var results: [CheckResult] = []
        results += tlsFiles(now: now)
        results += await kubernetesChecks(now: now)
        results += await nomadChecks()
        results.append(kubeletPort())
        return results
    }

    // MARK: Kubernetes

    func kubernetesChecks(now: Date) async -> [CheckResult] {
        let clientConfiguration: ClientConfiguration
        do {
            clientConfiguration = try NomadKubeletAgent.kubernetesClientConfiguration(configuration.kubernetes)
        } catch {
            return [CheckResult("kubernetes", .failed, "\(error)", fix: "point kubernetes.kubeconfig at a readable kubeconfig (see /usr/share/nomad-kubelet/manifests/node-credentials.md)")]
        }
        var results: [CheckResult] = []
        if let certificate = clientConfiguration.clientCertificate {
            results.append(certificateExpiry("kubeconfig client certificate", pem: certificate.certificatePEM, now: now, renew: "renew the node certificate (node-credentials.md) and restart the agent"))
        }
        var settings = clientConfiguration
        settings.retry = .never
        settings.connectTimeout = .seconds(5)
        settings.requestTimeout = .seconds(10)
        let client: KubernetesClient
        do {
            client = try KubernetesClient(configuration: settings, logger: logger)
        } catch {
            return results + [CheckResult("kubernetes", .failed, "\(error)", fix: "fix the kubeconfig \(clientConfiguration.source)")]
        }
        defer { Task { try? await client.shutdown() } }
        let permissions = AgentPermissions.required(nodeName: configuration.node.name, configuration: configuration)
        var denied: [CheckResult] = []
        for permission in permissions {
            do {
                let status = try await review(permission, client: client)
                if !status.allowed {
                    denied.append(
                        CheckResult(
                            "permission \(permission)", .failed, "denied\(status.reason.map { ": \($0)" } ?? "") (needed to \(permission.purpose))",
                            fix: configuration.kubernetes.inCluster || clientConfiguration.bearerToken != nil
                                ? "apply /usr/share/nomad-kubelet/manifests/rbac-serviceaccount.yaml and bind it to this identity"
                                : "use a system:node:\(configuration.node.name) certificate (Node authorizer) or bind manifests/rbac-serviceaccount.yaml's ClusterRole"))
                }
            } catch {
                return results + [
                    CheckResult(
                        "kubernetes", .failed, "cannot reach \(clientConfiguration.server): \(error)",
                        fix: "check the server address and CA in \(clientConfiguration.source), and that this host can reach it")
                ]
            }
        }
        results.append(CheckResult("kubernetes", .passed, "\(clientConfiguration.server) answers (\(clientConfiguration.source))"))
        if denied.isEmpty {
            results.append(CheckResult("permissions", .passed, "all \(permissions.count) verbs the agent needs are allowed"))
        } else {
            results += denied
        }
        results += await graceWarnings(client: client)
        return results
    }

    private func review(_ permission: AgentPermission, client: KubernetesClient) async throws -> SubjectAccessReviewStatus {
        var attributes: [String: JSONValue] = [
            "verb": .string(permission.verb), "group": .string(permission.group), "resource": .string(permission.resource),
        ]
        if let subresource = permission.subresource { attributes["subresource"] = .string(subresource) }
        if let namespace = permission.namespace { attributes["namespace"] = .string(namespace) }
        if let name = permission.name { attributes["name"] = .string(name) }
        if let selector = permission.fieldSelector { attributes["fieldSelector"] = .object(["rawSelector": .string(selector)]) }
        let review: JSONValue = [
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": .object(["resourceAttributes": .object(attributes)]),
        ]
        let type = ResourceType(group: "authorization.k8s.io", version: "v1", plural: "selfsubjectaccessreviews", isNamespaced: false)
        let answer = try await client.create(type, object: review)
        var allowed = false
        if case .bool(let value) = answer["status"]?["allowed"] { allowed = value }
        return SubjectAccessReviewStatus(allowed: allowed, reason: answer["status"]?["reason"]?.stringValue)
    }

    /// A warning per pod on this node whose grace period exceeds Nomad's default kill timeout cap.
    private func graceWarnings(client: KubernetesClient) async -> [CheckResult] {
        guard let pods = try? await client.list(Pod.self, options: ListOptions(fieldSelector: "spec.nodeName=\(configuration.node.name)")) else { return [] }
        return pods.items.compactMap { pod in
            guard let grace = pod.spec?.terminationGracePeriodSeconds, grace > Self.nomadMaxKillTimeoutSeconds else { return nil }
            return CheckResult(
                "grace \(pod.metadata.namespace ?? "")/\(pod.metadata.name ?? "")", .warning,
                "terminationGracePeriodSeconds is \(grace) s; Nomad clients kill after max_kill_timeout (30 s by default)",
                fix: "raise max_kill_timeout in the Nomad clients' client stanza to at least \(grace)s, or lower the pod's grace")
        }
    }

    // MARK: Nomad

    func nomadChecks() async -> [CheckResult] {
        var settings: NomadClientConfiguration
        do {
            settings = try NomadKubeletAgent.nomadClientConfiguration(configuration.nomad)
        } catch {
            return [CheckResult("nomad", .failed, "\(error)", fix: "make nomad.tokenFile readable by the nomad-kubelet user")]
        }
        settings.retry = .none
        settings.connectTimeout = .seconds(5)
        settings.requestTimeout = .seconds(10)
        let client: NomadClient
        do {
            client = try NomadClient(configuration: settings, logger: logger)
        } catch {
            return [CheckResult("nomad", .failed, "\(error)", fix: "fix nomad.tls in the configuration")]
        }
        defer { Task { try? await client.shutdown() } }
        var results: [CheckResult] = []
        do {
            let version = try await client.version()
            results.append(CheckResult("nomad", .passed, "\(configuration.nomad.address) answers, Nomad \(version)"))
        } catch {
            return [
                CheckResult(
                    "nomad", .failed, "cannot reach \(configuration.nomad.address): \(error)",
                    fix: "check nomad.address, nomad.tls and that this host can reach the Nomad HTTP API")
            ]
        }
        let nodes: [NodeListStub]
        do {
            nodes = try await client.nodes().value
        } catch {
            return results + [CheckResult("nomad clients", .failed, "cannot list client nodes: \(error)", fix: "give the token node:read (docs/install.md)")]
        }
        do {
            _ = try await client.jobs()
            results.append(CheckResult("nomad jobs", .passed, "may list jobs in namespace \(configuration.nomad.namespace)"))
        } catch {
            results.append(CheckResult("nomad jobs", .failed, "cannot list jobs: \(error)", fix: "give the token the namespace policy of docs/install.md"))
        }
        let filter = NomadClientFilter(datacenters: configuration.nomad.datacenters, nodePool: configuration.nomad.nodePool, nodeClass: configuration.nomad.nodeClass)
        let eligible = nodes.filter(filter.admits)
        if eligible.isEmpty {
            results.append(
                CheckResult(
                    "nomad clients", .failed, "none of \(nodes.count) client nodes is ready, eligible and in \(configuration.nomad.datacenters.joined(separator: ", "))",
                    fix: "start a Nomad client in those datacenters, or fix nomad.datacenters/nodePool/nodeClass"))
            return results
        }
        results.append(CheckResult("nomad clients", .passed, "\(eligible.count) eligible of \(nodes.count)"))
        for driver in configuration.nomad.allowedDrivers {
            let healthy = eligible.filter { $0.drivers?[driver]?.detected == true && $0.drivers?[driver]?.healthy == true }
            let required = driver == configuration.nomad.driver
            if healthy.isEmpty {
                results.append(
                    CheckResult(
                        "driver \(driver)", required ? .failed : .warning, "healthy on none of the \(eligible.count) eligible clients",
                        fix: "enable it in the Nomad clients' configuration (plugin \"\(driver)\" { config { enabled = true } })"))
            } else {
                results.append(CheckResult("driver \(driver)", .passed, "healthy on \(healthy.count) of \(eligible.count) eligible clients"))
            }
        }
        return results
    }

    // MARK: Local

    func tlsFiles(now: Date) -> [CheckResult] {
        var results: [CheckResult] = []
        let certificates = [
            ("nomad.tls.caFile", configuration.nomad.tls.caFile), ("nomad.tls.certFile", configuration.nomad.tls.certFile),
            ("kubeletServer.tls.certFile", configuration.kubeletServer.tls.certFile), ("kubeletServer.clientCAFile", configuration.kubeletServer.clientCAFile),
        ]
        for (key, path) in certificates {
            guard let path else { continue }
            guard let data = FileManager.default.contents(atPath: path) else {
                results.append(CheckResult("tls \(key)", .failed, "cannot read \(path)", fix: "create it, readable by the nomad-kubelet user"))
                continue
            }
            results.append(certificateExpiry("tls \(key)", pem: Array(data), now: now, renew: "renew \(path) and restart the agent"))
        }
        for (key, path) in [("nomad.tls.keyFile", configuration.nomad.tls.keyFile), ("kubeletServer.tls.keyFile", configuration.kubeletServer.tls.keyFile)] {
            guard let path else { continue }
            do {
                _ = try NIOSSLPrivateKey(file: path, format: .pem)
                results.append(CheckResult("tls \(key)", .passed, "\(path) is a PEM private key"))
            } catch {
                results.append(CheckResult("tls \(key)", .failed, "\(path) is not a readable PEM private key: \(error)", fix: "point \(key) at the key of the certificate"))
            }
        }
        return results
    }

    func certificateExpiry(_ name: String, pem: [UInt8], now: Date, renew: String) -> CheckResult {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch {
            return CheckResult(name, .failed, "not a PEM certificate: \(error)", fix: "replace it with a PEM certificate")
        }
        guard let first = certificates.min(by: { $0.notValidAfter < $1.notValidAfter }) else {
            return CheckResult(name, .failed, "holds no certificate", fix: "replace it with a PEM certificate")
        }
        let expiry = Date(timeIntervalSince1970: TimeInterval(first.notValidAfter))
        let day = expiry.formatted(.iso8601.year().month().day())
        if expiry <= now { return CheckResult(name, .failed, "expired on \(day)", fix: renew) }
        if expiry.timeIntervalSince(now) < TimeInterval(Self.expiryWarning.components.seconds) {
            return CheckResult(name, .warning, "expires on \(day), within 30 days", fix: renew)
        }
        return CheckResult(name, .passed, "valid until \(day)")
    }

    /// Binds the kubelet port briefly to see that it is free.
    func kubeletPort() -> CheckResult {
        let server = configuration.kubeletServer
        let name = "kubelet port \(server.address):\(server.port)"
        let ipv6 = server.address.contains(":")
        let descriptor = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return CheckResult(name, .failed, "cannot open a socket (errno \(errno))") }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(server.port).bigEndian)
            inet_pton(AF_INET6, server.address, &address.sin6_addr)
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(server.port).bigEndian)
            inet_pton(AF_INET, server.address, &address.sin_addr)
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if result == 0 { return CheckResult(name, .passed, "free") }
        let reason = String(cString: strerror(errno))
        if errno == EACCES {
            return CheckResult(name, .failed, "cannot bind: \(reason)", fix: "ports below 1024 need CAP_NET_BIND_SERVICE (see the unit's comment), or choose kubeletServer.port above 1023")
        }
        return CheckResult(
            name, .failed, "cannot bind: \(reason)",
            fix: "stop what listens there (a running nomad-kubelet: `systemctl stop nomad-kubelet` before checking), or change kubeletServer.port")
    }
}
