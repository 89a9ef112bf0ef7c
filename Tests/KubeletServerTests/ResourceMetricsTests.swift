import Foundation
import KubeletServer
import KubernetesModels
import TestSupport
import Testing

/// A small parser of the Prometheus text format (what metrics-server's textparse reads).
struct PrometheusSample: Sendable, Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
    var timestampMilliseconds: Int64?

    static func parse(_ text: String) throws -> (samples: [PrometheusSample], types: [String: String]) {
        var samples: [PrometheusSample] = []
        var types: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            let match = try #require(
                line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( (-?\d+))?/), "not a sample line: \(line)")
            var labels: [String: String] = [:]
            if let body = match.output.3 {
                for pair in body.matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/) {
                    labels[String(pair.output.1)] = String(pair.output.2)
                }
            }
            let value = try #require(Double(match.output.4), "not a number: \(match.output.4)")
            samples.append(PrometheusSample(name: String(match.output.1), labels: labels, value: value, timestampMilliseconds: match.output.6.flatMap { Int64($0) }))
        }
        return (samples, types)
    }
}

/// `/metrics/resource`, `/stats/summary`, `/pods` and `/metrics` for a node running a busy pod.
@Suite("Kubelet API: metrics, stats and pods", .timeLimit(.minutes(3)), .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason))
struct ResourceMetricsTests {
    @Test("/metrics/resource has the names, labels and millisecond timestamps metrics-server decodes, with usage of a busy process")
    func resourceMetrics() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("busy", script: "while :; do :; done")
            let ns = harness.namespace
            let labels = ["container": "main", "namespace": ns, "pod": "busy"]
            // The first scrape starts the CPU integration; the busy loop shows in a later one.
            let parsed = try await eventually("the busy pod's CPU and memory to show in /metrics/resource") { () -> (samples: [PrometheusSample], types: [String: String])? in
                let answer = try await harness.get("/metrics/resource")
                guard answer.status == 200 else { return nil }
                let parsed = try PrometheusSample.parse(answer.body)
                let cpu = parsed.samples.first { $0.name == "container_cpu_usage_seconds_total" && $0.labels == labels }
                return (cpu?.value ?? 0) > 0.05 ? parsed : nil
            }
            let samples = parsed.samples
            let types = parsed.types
            func sample(_ name: String, _ labels: [String: String] = [:]) -> PrometheusSample? {
                samples.first { $0.name == name && $0.labels == labels }
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for name in ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds"] {
                let found = try #require(sample(name, labels), "\(name) for the busy container")
                #expect(found.value > 0, "\(name)")
                let stamp = try #require(found.timestampMilliseconds, "\(name) has a timestamp")
                #expect(abs(stamp - now) < 120_000, "\(name) is stamped in milliseconds near now")
            }
            for name in ["pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes"] {
                #expect((sample(name, ["namespace": ns, "pod": "busy"])?.value ?? 0) > 0, "\(name)")
            }
            for name in ["node_cpu_usage_seconds_total", "node_memory_working_set_bytes"] {
                #expect((sample(name)?.value ?? 0) > 0, "\(name)")
                #expect(sample(name)?.timestampMilliseconds != nil)
            }
            #expect(sample("resource_scrape_error")?.value == 0)
            #expect(types["container_cpu_usage_seconds_total"] == "counter")
            #expect(types["container_memory_working_set_bytes"] == "gauge")
            #expect(types["node_cpu_usage_seconds_total"] == "counter")

            let next = try PrometheusSample.parse(try await harness.get("/metrics/resource").body).samples
            let later = try #require(next.first { $0.name == "container_cpu_usage_seconds_total" && $0.labels == labels })
            #expect(later.value >= sample("container_cpu_usage_seconds_total", labels)?.value ?? 0, "cumulative CPU never goes back")
        }
    }

    @Test("/stats/summary decodes as the kubelet's Summary with the pod's CPU and memory")
    func statsSummary() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("busy", script: "while :; do :; done")
            let pod = try await eventually("the busy pod in /stats/summary with CPU usage") { () -> [String: Any]? in
                let answer = try await harness.get("/stats/summary")
                guard answer.status == 200, let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else { return nil }
                #expect((json["node"] as? [String: Any])?["nodeName"] as? String == harness.nodeName)
                let pods = json["pods"] as? [[String: Any]] ?? []
                let busy = pods.first { ($0["podRef"] as? [String: Any])?["name"] as? String == "busy" }
                let nanoCores = ((busy?["cpu"] as? [String: Any])?["usageNanoCores"] as? NSNumber)?.uint64Value ?? 0
                return nanoCores > 0 ? busy : nil
            }
            let reference = try #require(pod["podRef"] as? [String: Any])
            #expect(reference["namespace"] as? String == harness.namespace)
            #expect((reference["uid"] as? String)?.isEmpty == false)
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            #expect(container["name"] as? String == "main")
            let memory = try #require(container["memory"] as? [String: Any])
            #expect(((memory["workingSetBytes"] as? NSNumber)?.uint64Value ?? 0) > 0)
            let cpu = try #require(container["cpu"] as? [String: Any])
            #expect(((cpu["usageCoreNanoSeconds"] as? NSNumber)?.uint64Value ?? 0) > 0)
            #expect((cpu["time"] as? String).flatMap { MicroTime(rawValue: $0).date } != nil)
            let typed = try JSONDecoder().decode(StatsSummary.self, from: Data(try await harness.get("/stats/summary").body.utf8))
            #expect(typed.pods.contains { $0.podRef.name == "busy" })
        }
    }

    @Test("/pods lists the pods bound to the node as a PodList; /metrics counts the API requests")
    func podsAndAgentMetrics() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("listed", script: "exec sleep 3600")
            let answer = try await harness.get("/pods")
            #expect(answer.status == 200)
            let list = try JSONDecoder().decode(ResourceList<Pod>.self, from: Data(answer.body.utf8))
            #expect(list.kind == "PodList")
            #expect(list.apiVersion == "v1")
            #expect(list.items.map { $0.metadata.name } == ["listed"])

            let metrics = try await harness.get("/metrics")
            #expect(metrics.status == 200)
            let samples = try PrometheusSample.parse(metrics.body).samples
            let podsRequests = samples.filter { $0.name == KubeletServerMetrics.requestsTotal && $0.labels["route"] == "/pods" && $0.labels["code"] == "200" }
            #expect(podsRequests.reduce(0) { $0 + $1.value } >= 1)
            #expect(samples.contains { $0.name == KubeletServerMetrics.podsManaged && $0.value >= 1 })
            #expect(samples.contains { $0.name.hasPrefix(KubeletServerMetrics.requestDurationSeconds) })
        }
    }
}
