import Metrics

/// The agent's own Prometheus metrics (served on `/metrics`): every name in one place. They are
/// recorded through swift-metrics; the executable bootstraps `MetricsSystem` once with a
/// swift-prometheus factory whose registry the server emits.
public enum KubeletServerMetrics {
    /// Kubelet API requests, labelled `method`, `route` (the path template) and `code`.
    public static let requestsTotal = "nomad_kubelet_kubelet_api_requests_total"
    /// Kubelet API request latency in seconds (until the response head), labelled `method` and `route`.
    public static let requestDurationSeconds = "nomad_kubelet_kubelet_api_request_duration_seconds"
    /// Pods this node runs as Nomad jobs (refreshed on each scrape of `/metrics` and `/pods`).
    public static let podsManaged = "nomad_kubelet_pods_managed"
    /// Failed calls to a backend, labelled `backend` (`nomad` or `kubernetes`).
    public static let backendErrorsTotal = "nomad_kubelet_backend_errors_total"

    /// A backend the agent calls.
    public enum Backend: String, Sendable {
        /// The Nomad HTTP API.
        case nomad
        /// The Kubernetes API server.
        case kubernetes
    }

    /// Counts a failed call to `backend`.
    public static func recordBackendError(_ backend: Backend) {
        Counter(label: backendErrorsTotal, dimensions: [("backend", backend.rawValue)]).increment()
    }

    /// Counts one served request and its latency.
    static func recordRequest(method: String, route: String, code: Int, duration: Duration) {
        Counter(label: requestsTotal, dimensions: [("method", method), ("route", route), ("code", String(code))]).increment()
        Timer(label: requestDurationSeconds, dimensions: [("method", method), ("route", route)]).recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Sets the number of pods this node runs.
    static func recordPodsManaged(_ count: Int) {
        Gauge(label: podsManaged).record(count)
    }
}
