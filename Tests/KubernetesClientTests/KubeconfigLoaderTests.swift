import Foundation
import Testing

@testable import KubernetesClient

@Suite("Kubeconfig and in-cluster configuration")
struct KubeconfigLoaderTests {
    static func kubeconfig(cluster: String = "", user: String = "", contextExtra: String = "", currentContext: String = "current-context: main") -> String {
        """
        apiVersion: v1
        kind: Config
        \(currentContext)
        clusters:
        - name: prod
          cluster:
            server: https://10.0.0.1:6443/k8s/clusters/c-1
        \(cluster)
        - name: lab
          cluster:
            server: https://lab.example:6443
            insecure-skip-tls-verify: true
        users:
        - name: alice
          user:
        \(user)
        - name: bob
          user:
            token: bob-token
        contexts:
        - name: main
          context:
            cluster: prod
            user: alice
            namespace: team-a
        \(contextExtra)
        - name: lab
          context:
            cluster: lab
            user: bob
        """
    }

    @Test func tokenAndInlineCertificateAuthority() throws {
        let yaml = Self.kubeconfig(
            cluster: "    certificate-authority-data: \(TestCredentials.certificateBase64)",
            user: "    token: secret-token")
        let configuration = try KubeconfigLoader.parse(yaml: yaml, path: "/x/config")
        #expect(configuration.server == "https://10.0.0.1:6443/k8s/clusters/c-1")
        #expect(configuration.namespace == "team-a")
        guard case .token("secret-token") = configuration.bearerToken else {
            Issue.record("expected the inline token, got \(String(describing: configuration.bearerToken))")
            return
        }
        guard case .certificates(let pem, let source) = configuration.trust else {
            Issue.record("expected the inline CA")
            return
        }
        #expect(pem == Array(TestCredentials.certificatePEM.utf8))
        #expect(source == "kubeconfig /x/config: clusters[0].cluster.certificate-authority-data")
    }

    @Test func explicitContextWithInsecureSkipVerify() throws {
        let configuration = try KubeconfigLoader.parse(yaml: Self.kubeconfig(user: "    token: t"), path: "/x/config", context: "lab")
        #expect(configuration.server == "https://lab.example:6443")
        #expect(configuration.namespace == "default")
        guard case .insecureSkipVerify = configuration.trust else {
            Issue.record("expected insecure-skip-tls-verify")
            return
        }
        guard case .token("bob-token") = configuration.bearerToken else {
            Issue.record("expected bob's token")
            return
        }
    }

    @Test func inlineClientCertificateAndKey() throws {
        let yaml = Self.kubeconfig(
            user: """
                    client-certificate-data: \(TestCredentials.certificateBase64)
                    client-key-data: \(TestCredentials.privateKeyBase64)
                """)
        let configuration = try KubeconfigLoader.parse(yaml: yaml, path: "/x/config")
        #expect(configuration.clientCertificate?.certificatePEM == Array(TestCredentials.certificatePEM.utf8))
        #expect(configuration.clientCertificate?.privateKeyPEM == Array(TestCredentials.privateKeyPEM.utf8))
        #expect(configuration.bearerToken == nil)
    }

    @Test func relativeFilesResolveAgainstTheKubeconfigFolder() throws {
        let folder = try TestCredentials.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("pki"), withIntermediateDirectories: true)
        try TestCredentials.certificatePEM.write(to: folder.appendingPathComponent("pki/ca.crt"), atomically: true, encoding: .utf8)
        try TestCredentials.certificatePEM.write(to: folder.appendingPathComponent("pki/client.crt"), atomically: true, encoding: .utf8)
        try TestCredentials.privateKeyPEM.write(to: folder.appendingPathComponent("pki/client.key"), atomically: true, encoding: .utf8)
        let yaml = Self.kubeconfig(
            cluster: "    certificate-authority: pki/ca.crt",
            user: """
                    client-certificate: pki/client.crt
                    client-key: pki/client.key
                """)
        let path = folder.appendingPathComponent("config").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)

        let configuration = try KubeconfigLoader.load(path: path)
        guard case .certificates(_, let source) = configuration.trust else {
            Issue.record("expected the CA file")
            return
        }
        #expect(source.contains(folder.appendingPathComponent("pki/ca.crt").standardizedFileURL.path))
        #expect(source.contains("clusters[0].cluster.certificate-authority"))
        #expect(configuration.clientCertificate?.privateKeyPEM == Array(TestCredentials.privateKeyPEM.utf8))
    }

    @Test func tokenFileIsReadAgainWhenItRotates() throws {
        let folder = try TestCredentials.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenPath = folder.appendingPathComponent("token").path
        try "first-token\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        let path = folder.appendingPathComponent("config").path
        try Self.kubeconfig(user: "    tokenFile: token").write(toFile: path, atomically: true, encoding: .utf8)

        let configuration = try KubeconfigLoader.load(path: path)
        guard case .file(let resolved) = configuration.bearerToken else {
            Issue.record("expected a token file")
            return
        }
        #expect(resolved == URL(fileURLWithPath: tokenPath).standardizedFileURL.path)
        let reader = TokenFileReader(path: resolved)
        #expect(try reader.token() == "first-token")
        // A rotated token has a different size here, so the change is seen even within one mtime tick.
        try "second-token-rotated\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        #expect(try reader.token() == "second-token-rotated")
    }

    @Test func inClusterServiceAccount() throws {
        let root = try TestCredentials.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try "sa-token".write(to: root.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try TestCredentials.certificatePEM.write(to: root.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try "kube-system\n".write(to: root.appendingPathComponent("namespace"), atomically: true, encoding: .utf8)

        let configuration = try KubeconfigLoader.inCluster(
            root: root.path, environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"])
        #expect(configuration.server == "https://10.96.0.1:443")
        #expect(configuration.namespace == "kube-system")
        guard case .file(let tokenPath) = configuration.bearerToken else {
            Issue.record("expected the token file")
            return
        }
        #expect(tokenPath == root.path + "/token")

        let ipv6 = try KubeconfigLoader.inCluster(root: root.path, environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"])
        #expect(ipv6.server == "https://[fd00::1]:443")
    }

    @Test func inClusterOutsideAPodSaysSo() throws {
        let error = try #require(throws: KubernetesClientError.self) {
            try KubeconfigLoader.inCluster(root: "/nonexistent", environment: [:])
        }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.message.contains("KUBERNETES_SERVICE_HOST"))

        let missingToken = try #require(throws: KubernetesClientError.self) {
            try KubeconfigLoader.inCluster(root: "/nonexistent", environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"])
        }
        #expect(missingToken.file == "/nonexistent/token")
    }

    @Test func unreadableFileNamesIt() throws {
        let error = try #require(throws: KubernetesClientError.self) {
            try KubeconfigLoader.load(path: "/nonexistent/kubeconfig")
        }
        #expect(error.file == "/nonexistent/kubeconfig")
        #expect(error.message.hasPrefix("kubeconfig /nonexistent/kubeconfig: cannot read"))
    }

    /// A malformed kubeconfig, the field the error must name and a fragment of its message.
    struct MalformedCase: Sendable, CustomStringConvertible {
        var name: String
        var yaml: String
        var field: String?
        var message: String
        var description: String { name }
    }

    static let malformedCases: [MalformedCase] = [
        MalformedCase(name: "not a mapping", yaml: "- just\n- a list", field: nil, message: "not a YAML mapping"),
        MalformedCase(name: "not YAML", yaml: "clusters: [unclosed", field: nil, message: "not valid YAML"),
        MalformedCase(
            name: "no current context", yaml: kubeconfig(user: "    token: t", currentContext: ""), field: "current-context", message: "missing"),
        MalformedCase(
            name: "unknown context", yaml: kubeconfig(user: "    token: t", currentContext: "current-context: nope"), field: "contexts",
            message: "no entry named 'nope'"),
        MalformedCase(
            name: "context names an unknown cluster", yaml: kubeconfig(user: "    token: t", contextExtra: "- name: x\n  context:\n    cluster: ghost\n    user: alice", currentContext: "current-context: x"),
            field: "clusters", message: "no entry named 'ghost'"),
        MalformedCase(
            name: "CA data is not base64", yaml: kubeconfig(cluster: "    certificate-authority-data: '!!!'", user: "    token: t"),
            field: "clusters[0].cluster.certificate-authority-data", message: "not valid base64"),
        MalformedCase(
            name: "CA data is not a certificate", yaml: kubeconfig(cluster: "    certificate-authority-data: aGVsbG8=", user: "    token: t"),
            field: "clusters[0].cluster.certificate-authority-data", message: "not a PEM certificate"),
        MalformedCase(
            name: "CA file missing", yaml: kubeconfig(cluster: "    certificate-authority: missing/ca.crt", user: "    token: t"),
            field: "clusters[0].cluster.certificate-authority", message: "cannot read /x/missing/ca.crt"),
        MalformedCase(
            name: "client key data is not base64",
            yaml: kubeconfig(user: "    client-certificate-data: \(TestCredentials.certificateBase64)\n    client-key-data: '%%%'"),
            field: "users[0].user.client-key-data", message: "not valid base64"),
        MalformedCase(
            name: "client key is not a key",
            yaml: kubeconfig(user: "    client-certificate-data: \(TestCredentials.certificateBase64)\n    client-key-data: \(TestCredentials.certificateBase64)"),
            field: "users[0].user.client-key-data", message: "not a PEM private key"),
        MalformedCase(
            name: "certificate without key", yaml: kubeconfig(user: "    client-certificate-data: \(TestCredentials.certificateBase64)"),
            field: "users[0].user.client-key-data", message: "a client certificate needs its key"),
        MalformedCase(
            name: "insecure flag not a boolean", yaml: kubeconfig(cluster: "    insecure-skip-tls-verify: maybe", user: "    token: t"),
            field: "clusters[0].cluster.insecure-skip-tls-verify", message: "must be true or false"),
        MalformedCase(name: "empty token", yaml: kubeconfig(user: "    token: ''"), field: "users[0].user.token", message: "non-empty"),
        MalformedCase(
            name: "token file missing", yaml: kubeconfig(user: "    tokenFile: /nonexistent/token"), field: "users[0].user.tokenFile",
            message: "cannot read /nonexistent/token"),
        MalformedCase(
            name: "server not a URL",
            yaml: kubeconfig(user: "    token: t").replacingOccurrences(of: "https://10.0.0.1:6443/k8s/clusters/c-1", with: "10.0.0.1:6443"),
            field: "clusters[0].cluster.server", message: "not an http(s) URL"),
    ]

    @Test(arguments: malformedCases)
    func malformedKubeconfigNamesFileAndField(_ testCase: MalformedCase) throws {
        let error = try #require(throws: KubernetesClientError.self) {
            try KubeconfigLoader.parse(yaml: testCase.yaml, path: "/x/config")
        }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.file == "/x/config")
        #expect(error.field == testCase.field)
        let location = testCase.field.map { "kubeconfig /x/config: \($0): " } ?? "kubeconfig /x/config: "
        #expect(error.message.hasPrefix(location), "message: \(error.message)")
        #expect(error.message.contains(testCase.message), "message: \(error.message)")
    }
}
