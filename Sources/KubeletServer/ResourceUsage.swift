import Foundation
import Logging
import NomadClient
import NomadModels
import Synchronization
import Translation

/// Resource usage of the node and its pods at one moment, from Nomad's statistics.
struct UsageSnapshot: Sendable {
    struct Node: Sendable {
        var time: Date
        var startTime: Date
        var cpuSeconds: Double
        var cpuCores: Double
        var memoryWorkingSet: UInt64
        var memoryUsage: UInt64
        var memoryAvailable: UInt64
        var fsCapacity: UInt64?
        var fsAvailable: UInt64?
        var fsUsed: UInt64?
    }

    struct Container: Sendable {
        var name: String
        var time: Date
        var startTime: Date?
        var cpuSeconds: Double
        var cpuCores: Double
        var memoryWorkingSet: UInt64
        var memoryRSS: UInt64
        var processCount: Int
    }

    struct Pod: Sendable {
        var namespace: String
        var name: String
        var uid: String
        var startTime: Date?
        var containers: [Container]
    }

    var time: Date
    var node: Node?
    var pods: [Pod]
    /// Whether some statistics could not be read (the kubelet's `resource_scrape_error`).
    var scrapeError: Bool
}

/// Reads Nomad's allocation statistics (`/v1/client/allocation/:id/stats`) for every pod of the
/// node and the host statistics (`/v1/client/stats`) of the Nomad clients running them.
///
/// Nomad reports CPU as a percentage over its last sampling interval (100 = one core), while the
/// kubelet's metrics are cumulative core-seconds (metrics-server derives rates from them), so the
/// collector integrates: each scrape adds `percent/100 × seconds since the previous scrape`; the
/// first scrape of a task assumes its current rate since the task started.
final class ResourceUsageCollector: Sendable {
    private let nodeName: String
    private let locator: PodLocator
    private let nomad: NomadClient
    private let logger: Logger
    private let cumulative = Mutex<[String: (seconds: Double, at: Date)]>([:])

    init(nodeName: String, locator: PodLocator, nomad: NomadClient, logger: Logger) {
        self.nodeName = nodeName
        self.locator = locator
        self.nomad = nomad
        self.logger = logger
    }

    func collect() async -> UsageSnapshot {
        let now = Date()
        var snapshot = UsageSnapshot(time: now, node: nil, pods: [], scrapeError: false)
        var nomadNodes = Set<String>()
        var seenKeys = Set<String>()
        do {
            for (identity, _) in try await locator.podJobs() {
                guard let (pod, nodeID) = await podUsage(identity, now: now, seen: &seenKeys, failed: &snapshot.scrapeError) else { continue }
                snapshot.pods.append(pod)
                if let nodeID { nomadNodes.insert(nodeID) }
            }
        } catch {
            logger.warning("cannot list the node's pods for statistics", metadata: ["error": "\(error)"])
            snapshot.scrapeError = true
        }
        snapshot.node = await nodeUsage(nomadNodes: nomadNodes, now: now, seen: &seenKeys, failed: &snapshot.scrapeError)
        cumulative.withLock { state in state = state.filter { seenKeys.contains($0.key) } }
        snapshot.pods.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        return snapshot
    }

    private func podUsage(_ identity: PodJobIdentity, now: Date, seen: inout Set<String>, failed: inout Bool) async -> (UsageSnapshot.Pod, String?)? {
        let stubs: [AllocationListStub]
        do {
            stubs = try await nomad.allocations(ofJob: identity.jobID).value
        } catch {
            failed = true
            KubeletServerMetrics.recordBackendError(.nomad)
            return nil
        }
        guard let allocation = stubs.filter({ $0.clientStatus?.rawValue == "running" }).max(by: { ($0.createIndex ?? 0) < ($1.createIndex ?? 0) }),
            let allocationID = allocation.id
        else { return nil }
        let stats: AllocResourceUsage
        do {
            stats = try await nomad.allocationStats(allocationID)
        } catch {
            failed = true
            KubeletServerMetrics.recordBackendError(.nomad)
            logger.debug("cannot read allocation statistics", metadata: ["allocation": "\(allocationID)", "error": "\(error)"])
            return nil
        }
        var containers: [UsageSnapshot.Container] = []
        for (task, usage) in (stats.tasks ?? [:]).sorted(by: { $0.key < $1.key }) {
            let state = allocation.taskStates?[task]
            guard state?.state == .running else { continue }
            let started = state?.startedAt?.date
            let percent = usage.resourceUsage?.cpuStats?.percent ?? 0
            let key = "\(allocationID)/\(task)"
            seen.insert(key)
            let time = usage.timestamp.map { NomadTime.date(fromUnixNanoseconds: $0) } ?? now
            let memory = usage.resourceUsage?.memoryStats
            let rss = memory?.rss ?? 0
            let workingSet = (memory?.measured ?? []).contains("RSS") || (memory?.usage ?? 0) == 0 ? rss : (memory?.usage ?? 0)
            containers.append(
                UsageSnapshot.Container(
                    name: PodJobIdentity.containerName(forTask: task), time: time, startTime: started,
                    cpuSeconds: integrate(key, percent: percent, now: now, startedAt: started), cpuCores: percent / 100,
                    memoryWorkingSet: workingSet, memoryRSS: rss, processCount: usage.pids?.count ?? 0))
        }
        let podStart = allocation.createTime.map { NomadTime.date(fromUnixNanoseconds: $0) }
        return (UsageSnapshot.Pod(namespace: identity.namespace, name: identity.name, uid: identity.uid, startTime: podStart, containers: containers), allocation.nodeID)
    }

    private func nodeUsage(nomadNodes: Set<String>, now: Date, seen: inout Set<String>, failed: inout Bool) async -> UsageSnapshot.Node? {
        // The clients running this node's pods; with none, the Nomad agent the client talks to.
        let targets: [String?] = nomadNodes.isEmpty ? [nil] : nomadNodes.sorted().map { Optional($0) }
        var node: UsageSnapshot.Node?
        for target in targets {
            let host: HostStats
            do {
                host = try await nomad.hostStats(nodeID: target)
            } catch {
                failed = true
                KubeletServerMetrics.recordBackendError(.nomad)
                logger.debug("cannot read host statistics", metadata: ["nomadNode": "\(target ?? "local")", "error": "\(error)"])
                continue
            }
            let percent = (host.cpu ?? []).reduce(0) { $0 + ($1.total ?? 0) }
            let total = host.memory?.total ?? 0
            let available = host.memory?.available ?? 0
            let used = host.memory?.used ?? (total >= available ? total - available : 0)
            let start = now.addingTimeInterval(-Double(host.uptime ?? 0))
            let disk = host.allocDirStats
            var next = node ?? UsageSnapshot.Node(
                time: host.timestamp.map { NomadTime.date(fromUnixNanoseconds: $0) } ?? now, startTime: start, cpuSeconds: 0, cpuCores: 0,
                memoryWorkingSet: 0, memoryUsage: 0, memoryAvailable: 0)
            next.startTime = min(next.startTime, start)
            next.cpuCores += percent / 100
            next.memoryWorkingSet += used
            next.memoryUsage += used
            next.memoryAvailable += available
            if let disk {
                next.fsCapacity = (next.fsCapacity ?? 0) + (disk.size ?? 0)
                next.fsAvailable = (next.fsAvailable ?? 0) + (disk.available ?? 0)
                next.fsUsed = (next.fsUsed ?? 0) + (disk.used ?? 0)
            }
            node = next
        }
        guard var node else { return nil }
        seen.insert("node")
        node.cpuSeconds = integrate("node", percent: node.cpuCores * 100, now: now, startedAt: node.startTime)
        return node
    }

    /// Cumulative core-seconds of `key` after this sample. Never zero (metrics-server drops series
    /// whose cumulative CPU is 0), never decreasing.
    private func integrate(_ key: String, percent: Double, now: Date, startedAt: Date?) -> Double {
        let cores = max(0, percent) / 100
        return cumulative.withLock { state in
            let seconds: Double
            if let previous = state[key] {
                seconds = previous.seconds + cores * max(0, now.timeIntervalSince(previous.at))
            } else {
                seconds = max(1e-6, cores * max(0, now.timeIntervalSince(startedAt ?? now)))
            }
            state[key] = (seconds, now)
            return seconds
        }
    }
}
