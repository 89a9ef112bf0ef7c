import KubeletServer
import Testing

/// The SubjectAccessReview questions per path and method, as `pkg/kubelet/server/auth.go` asks them.
@Suite struct AuthorizationAttributesTests {
    @Test(arguments: [
        ("GET", "/stats/summary", ["get nodes/stats"]),
        ("GET", "/metrics", ["get nodes/metrics"]),
        ("GET", "/metrics/resource", ["get nodes/metrics"]),
        ("GET", "/logs/syslog", ["get nodes/log"]),
        ("GET", "/containerLogs/default/web/main", ["get nodes/proxy"]),
        ("POST", "/exec/default/web/main", ["create nodes/proxy"]),
        ("GET", "/exec/default/web/main", ["get nodes/proxy"]),
        ("POST", "/portForward/default/web", ["create nodes/proxy"]),
        ("GET", "/pods", ["get nodes/pods", "get nodes/proxy"]),
        ("GET", "/healthz", ["get nodes/healthz", "get nodes/proxy"]),
        ("GET", "/configz", ["get nodes/configz", "get nodes/proxy"]),
        ("GET", "/statsfoo", ["get nodes/proxy"]),
    ])
    func questionsFollowTheKubelet(method: String, path: String, expected: [String]) {
        let questions = KubeletRequestAuthorizer.attributes(method: method, path: path).map { "\($0.verb) nodes/\($0.subresource)" }
        #expect(questions == expected)
    }
}
