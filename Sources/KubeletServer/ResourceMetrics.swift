import Foundation

/// `/metrics/resource` in the Prometheus text format, with the kubelet's metric names, labels and
/// help texts, each sample stamped with its time in milliseconds, as metrics-server decodes them
/// (`pkg/scraper/client/resource/decode.go`).
enum ResourceMetricsFormatter {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Family {
        var name: String
        var help: String
        var type: String
        var samples: [(labels: [(String, String)], value: Double, time: Date?)] = []
    }

    static func format(_ snapshot: UsageSnapshot) -> String {
        var families = [
            Family(name: "container_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", type: "counter"),
            Family(name: "container_memory_working_set_bytes", help: "[STABLE] Current working set of the container in bytes", type: "gauge"),
            Family(name: "container_start_time_seconds", help: "[STABLE] Start time of the container since unix epoch in seconds", type: "gauge"),
            Family(name: "node_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", type: "counter"),
            Family(name: "node_memory_working_set_bytes", help: "[STABLE] Current working set of the node in bytes", type: "gauge"),
            Family(name: "pod_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", type: "counter"),
            Family(name: "pod_memory_working_set_bytes", help: "[STABLE] Current working set of the pod in bytes", type: "gauge"),
            Family(name: "resource_scrape_error", help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", type: "gauge"),
            Family(
                name: "scrape_error", help: "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
                type: "gauge"),
        ]
        func add(_ name: String, _ labels: [(String, String)], _ value: Double, _ time: Date?) {
            guard let index = families.firstIndex(where: { $0.name == name }) else { return }
            families[index].samples.append((labels, value, time))
        }
        for pod in snapshot.pods {
            var cpu = 0.0
            var memory: UInt64 = 0
            for container in pod.containers {
                let labels = [("container", container.name), ("namespace", pod.namespace), ("pod", pod.name)]
                add("container_cpu_usage_seconds_total", labels, container.cpuSeconds, container.time)
                add("container_memory_working_set_bytes", labels, Double(container.memoryWorkingSet), container.time)
                if let start = container.startTime { add("container_start_time_seconds", labels, start.timeIntervalSince1970, container.time) }
                cpu += container.cpuSeconds
                memory += container.memoryWorkingSet
            }
            guard let time = pod.containers.map(\.time).max() else { continue }
            let labels = [("namespace", pod.namespace), ("pod", pod.name)]
            add("pod_cpu_usage_seconds_total", labels, cpu, time)
            add("pod_memory_working_set_bytes", labels, Double(memory), time)
        }
        if let node = snapshot.node {
            add("node_cpu_usage_seconds_total", [], node.cpuSeconds, node.time)
            add("node_memory_working_set_bytes", [], Double(node.memoryWorkingSet), node.time)
        }
        add("resource_scrape_error", [], snapshot.scrapeError ? 1 : 0, nil)
        add("scrape_error", [], snapshot.scrapeError ? 1 : 0, nil)
        var text = ""
        for family in families where !family.samples.isEmpty {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            for sample in family.samples {
                text += family.name
                if !sample.labels.isEmpty {
                    text += "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                }
                text += " \(number(sample.value))"
                if let time = sample.time { text += " \(Int64((time.timeIntervalSince1970 * 1000).rounded()))" }
                text += "\n"
            }
        }
        return text
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Shortest round-tripping form, integral values without a fraction.
    private static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
