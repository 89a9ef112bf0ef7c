import Foundation
import NIOSSL
import Yams

/// Builds a ``ClientConfiguration`` from a kubeconfig file or from a pod's service account.
///
/// Supports `clusters`, `users`, `contexts`, `current-context` or an explicit context; the CA,
/// client certificate and key as files or `-data`; `token` and `tokenFile`;
/// `insecure-skip-tls-verify`; a `server` with a path prefix. Relative paths are resolved
/// against the kubeconfig's folder. Errors name the file and the field.
public enum KubeconfigLoader {
    /// Loads the kubeconfig at `path`, using `context` or else its `current-context`.
    public static func load(path: String, context: String? = nil) throws -> ClientConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubernetesClientError.invalidConfiguration(
                file: path, field: nil, problem: "cannot read the file (\(error.localizedDescription)); check KUBECONFIG or the path given")
        }
        return try parse(yaml: text, path: path, context: context)
    }

    /// Loads from `KUBECONFIG` (the first of several `:`-separated files that exists) or `~/.kube/config`.
    public static func loadDefault(context: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ClientConfiguration
    {
        if let variable = environment["KUBECONFIG"], !variable.isEmpty {
            let paths = variable.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            let existing = paths.first { FileManager.default.fileExists(atPath: $0) } ?? paths.first ?? variable
            return try load(path: existing, context: context)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return try load(path: home + "/.kube/config", context: context)
    }

    /// Parses kubeconfig YAML text; `path` names it in errors and anchors relative file paths.
    public static func parse(yaml: String, path: String, context explicitContext: String? = nil) throws -> ClientConfiguration {
        let document = KubeconfigDocument(path: path)
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: yaml) as? [String: Any] else {
                throw document.error(nil, "not a YAML mapping; expected a kubeconfig with clusters, users and contexts")
            }
            root = loaded
        } catch let error as KubernetesClientError {
            throw error
        } catch {
            throw document.error(nil, "not valid YAML: \(error)")
        }

        let contextName: String
        if let explicitContext {
            contextName = explicitContext
        } else {
            guard let current = root["current-context"] as? String, !current.isEmpty else {
                throw document.error("current-context", "missing; name a context explicitly or set current-context")
            }
            contextName = current
        }
        let (contextIndex, contextEntry) = try document.namedEntry(root, list: "contexts", name: contextName, referencedBy: explicitContext == nil ? "current-context" : "the requested context")
        let contextField = "contexts[\(contextIndex)].context"
        guard let clusterName = contextEntry["cluster"] as? String else {
            throw document.error("\(contextField).cluster", "missing")
        }
        let (clusterIndex, cluster) = try document.namedEntry(root, list: "clusters", name: clusterName, referencedBy: "\(contextField).cluster")
        let clusterField = "clusters[\(clusterIndex)].cluster"

        guard let server = cluster["server"] as? String, !server.isEmpty else {
            throw document.error("\(clusterField).server", "missing; set it to the API server URL, e.g. https://host:6443")
        }
        guard let serverURL = URL(string: server), let scheme = serverURL.scheme, ["https", "http"].contains(scheme), serverURL.host != nil else {
            throw document.error("\(clusterField).server", "'\(server)' is not an http(s) URL")
        }

        var trust = ClientConfiguration.ServerTrust.system
        if try document.bool(cluster, "insecure-skip-tls-verify", field: "\(clusterField).insecure-skip-tls-verify") == true {
            trust = .insecureSkipVerify
        } else if let ca = try document.fileOrData(cluster, base: "certificate-authority", field: clusterField) {
            try document.validateCertificates(ca.bytes, field: ca.field)
            trust = .certificates(pem: ca.bytes, source: ca.sourceDescription)
        }

        var configuration = ClientConfiguration(server: server, trust: trust, source: "kubeconfig \(path) (context \(contextName))")
        if let namespace = contextEntry["namespace"] as? String, !namespace.isEmpty {
            configuration.namespace = namespace
        }

        guard let userName = contextEntry["user"] as? String else {
            return configuration
        }
        let (userIndex, user) = try document.namedEntry(root, list: "users", name: userName, referencedBy: "\(contextField).user")
        let userField = "users[\(userIndex)].user"
        let certificate = try document.fileOrData(user, base: "client-certificate", field: userField)
        let key = try document.fileOrData(user, base: "client-key", field: userField)
        switch (certificate, key) {
        case (let certificate?, let key?):
            try document.validateCertificates(certificate.bytes, field: certificate.field)
            try document.validatePrivateKey(key.bytes, field: key.field)
            configuration.clientCertificate = .init(certificatePEM: certificate.bytes, privateKeyPEM: key.bytes)
        case (.some, nil):
            throw document.error("\(userField).client-key-data", "missing; a client certificate needs its key (client-key or client-key-data)")
        case (nil, .some):
            throw document.error("\(userField).client-certificate-data", "missing; a client key needs its certificate (client-certificate or client-certificate-data)")
        case (nil, nil):
            break
        }
        if let token = user["token"] {
            guard let token = token as? String, !token.isEmpty else {
                throw document.error("\(userField).token", "must be a non-empty string")
            }
            configuration.bearerToken = .token(token)
        } else if let tokenFile = user["tokenFile"] {
            guard let tokenFile = tokenFile as? String, !tokenFile.isEmpty else {
                throw document.error("\(userField).tokenFile", "must be a file path")
            }
            let resolved = document.resolve(tokenFile)
            guard FileManager.default.isReadableFile(atPath: resolved) else {
                throw document.error("\(userField).tokenFile", "cannot read \(resolved)")
            }
            configuration.bearerToken = .file(path: resolved)
        }
        for unsupported in ["exec", "auth-provider"] where user[unsupported] != nil && configuration.clientCertificate == nil && configuration.bearerToken == nil {
            throw document.error("\(userField).\(unsupported)", "credential plugins are not supported; use a token, tokenFile or client certificate")
        }
        return configuration
    }

    /// The configuration of a pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT` and the
    /// token, CA and namespace files under `root` (normally `/var/run/secrets/kubernetes.io/serviceaccount`).
    public static func inCluster(
        root: String = "/var/run/secrets/kubernetes.io/serviceaccount",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesClientError.invalidInClusterConfiguration(
                file: "environment", problem: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; not running in a pod? Use a kubeconfig instead")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let tokenPath = root + "/token"
        let caPath = root + "/ca.crt"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesClientError.invalidInClusterConfiguration(file: tokenPath, problem: "cannot read the service account token; is automountServiceAccountToken off?")
        }
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw KubernetesClientError.invalidInClusterConfiguration(file: caPath, problem: "cannot read the cluster CA certificate")
        }
        guard (try? NIOSSLCertificate.fromPEMBytes(Array(ca)))?.isEmpty == false else {
            throw KubernetesClientError.invalidInClusterConfiguration(file: caPath, problem: "not a PEM certificate")
        }
        var configuration = ClientConfiguration(
            server: "https://\(hostPart):\(port)", trust: .certificates(pem: Array(ca), source: caPath),
            bearerToken: .file(path: tokenPath), source: "in-cluster service account (\(root))")
        if let namespace = try? String(contentsOfFile: root + "/namespace", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !namespace.isEmpty
        {
            configuration.namespace = namespace
        }
        return configuration
    }
}

/// One kubeconfig being parsed: knows its path for messages and relative file resolution.
private struct KubeconfigDocument {
    /// Bytes read from a `X` file or `X-data` field, and where they came from.
    struct Material {
        var bytes: [UInt8]
        var field: String
        var sourceDescription: String
    }

    let path: String

    func error(_ field: String?, _ problem: String) -> KubernetesClientError {
        .invalidConfiguration(file: path, field: field, problem: problem)
    }

    func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return folder.appendingPathComponent(file).standardizedFileURL.path
    }

    /// Finds `name` in the list `list` (each entry `{name:, <singular>: {...}}`).
    func namedEntry(_ root: [String: Any], list: String, name: String, referencedBy: String) throws -> (Int, [String: Any]) {
        let singular = String(list.dropLast())
        guard let entries = root[list] as? [Any] else {
            throw error(list, "missing; \(referencedBy) names '\(name)'")
        }
        for (index, entry) in entries.enumerated() {
            guard let entry = entry as? [String: Any], entry["name"] as? String == name else { continue }
            guard let body = entry[singular] as? [String: Any] else {
                throw error("\(list)[\(index)].\(singular)", "missing or not a mapping")
            }
            return (index, body)
        }
        let known = entries.compactMap { ($0 as? [String: Any])?["name"] as? String }
        throw error(list, "no entry named '\(name)' (\(referencedBy) refers to it); known: \(known.joined(separator: ", "))")
    }

    func bool(_ map: [String: Any], _ key: String, field: String) throws -> Bool? {
        guard let value = map[key] else { return nil }
        guard let flag = value as? Bool else { throw error(field, "must be true or false") }
        return flag
    }

    /// Reads `base-data` (base64) or the file named by `base`.
    func fileOrData(_ map: [String: Any], base: String, field: String) throws -> Material? {
        if let data = map["\(base)-data"] {
            let dataField = "\(field).\(base)-data"
            guard let text = data as? String,
                let decoded = Data(base64Encoded: text.filter { !$0.isWhitespace })
            else {
                throw error(dataField, "not valid base64")
            }
            return Material(bytes: Array(decoded), field: dataField, sourceDescription: "kubeconfig \(path): \(dataField)")
        }
        if let file = map[base] {
            let fileField = "\(field).\(base)"
            guard let name = file as? String, !name.isEmpty else { throw error(fileField, "must be a file path") }
            let resolved = resolve(name)
            guard let contents = FileManager.default.contents(atPath: resolved) else {
                throw error(fileField, "cannot read \(resolved)")
            }
            return Material(bytes: Array(contents), field: fileField, sourceDescription: "\(resolved) (kubeconfig \(path): \(fileField))")
        }
        return nil
    }

    func validateCertificates(_ pem: [UInt8], field: String) throws {
        let certificates = try? NIOSSLCertificate.fromPEMBytes(pem)
        guard let certificates, !certificates.isEmpty else {
            throw error(field, "not a PEM certificate")
        }
    }

    func validatePrivateKey(_ pem: [UInt8], field: String) throws {
        do {
            _ = try NIOSSLPrivateKey(bytes: pem, format: .pem)
        } catch {
            throw self.error(field, "not a PEM private key")
        }
    }
}
