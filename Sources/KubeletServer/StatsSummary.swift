import Foundation
import KubernetesModels

/// The kubelet's `/stats/summary` (stats API `v1alpha1` `Summary`), the fields Nomad can fill.
public struct StatsSummary: Codable, Sendable, Hashable {
    /// Node-level statistics.
    public var node: NodeStats
    /// Per-pod statistics.
    public var pods: [PodStats]
}

/// `NodeStats`.
public struct NodeStats: Codable, Sendable, Hashable {
    public var nodeName: String
    public var startTime: Time?
    public var cpu: CPUStats?
    public var memory: MemoryStats?
    public var fs: FsStats?
}

/// `PodReference`.
public struct PodReference: Codable, Sendable, Hashable {
    public var name: String
    public var namespace: String
    public var uid: String
}

/// `PodStats`.
public struct PodStats: Codable, Sendable, Hashable {
    public var podRef: PodReference
    public var startTime: Time?
    public var containers: [ContainerStats]
    public var cpu: CPUStats?
    public var memory: MemoryStats?
    public var processStats: ProcessStats?

    enum CodingKeys: String, CodingKey {
        case podRef, startTime, containers, cpu, memory
        case processStats = "process_stats"
    }
}

/// `ContainerStats`.
public struct ContainerStats: Codable, Sendable, Hashable {
    public var name: String
    public var startTime: Time?
    public var cpu: CPUStats?
    public var memory: MemoryStats?
}

/// `CPUStats`: the rate in nano-cores and the cumulative core-nanoseconds.
public struct CPUStats: Codable, Sendable, Hashable {
    public var time: MicroTime
    public var usageNanoCores: UInt64?
    public var usageCoreNanoSeconds: UInt64?
}

/// `MemoryStats`.
public struct MemoryStats: Codable, Sendable, Hashable {
    public var time: MicroTime
    public var availableBytes: UInt64?
    public var usageBytes: UInt64?
    public var workingSetBytes: UInt64?
    public var rssBytes: UInt64?
}

/// `FsStats`.
public struct FsStats: Codable, Sendable, Hashable {
    public var time: MicroTime
    public var availableBytes: UInt64?
    public var capacityBytes: UInt64?
    public var usedBytes: UInt64?
}

/// `ProcessStats`.
public struct ProcessStats: Codable, Sendable, Hashable {
    public var processCount: UInt64?

    enum CodingKeys: String, CodingKey {
        case processCount = "process_count"
    }
}

enum StatsSummaryBuilder {
    static func summary(_ snapshot: UsageSnapshot, nodeName: String) -> StatsSummary {
        func cpu(_ seconds: Double, _ cores: Double, _ time: Date) -> CPUStats {
            CPUStats(time: MicroTime(time), usageNanoCores: UInt64(max(0, cores) * 1e9), usageCoreNanoSeconds: UInt64(max(0, seconds) * 1e9))
        }
        var node = NodeStats(nodeName: nodeName)
        if let usage = snapshot.node {
            node.startTime = Time(usage.startTime)
            node.cpu = cpu(usage.cpuSeconds, usage.cpuCores, usage.time)
            node.memory = MemoryStats(
                time: MicroTime(usage.time), availableBytes: usage.memoryAvailable, usageBytes: usage.memoryUsage, workingSetBytes: usage.memoryWorkingSet,
                rssBytes: nil)
            if usage.fsCapacity != nil {
                node.fs = FsStats(time: MicroTime(usage.time), availableBytes: usage.fsAvailable, capacityBytes: usage.fsCapacity, usedBytes: usage.fsUsed)
            }
        }
        let pods = snapshot.pods.map { pod in
            let containers = pod.containers.map { container in
                ContainerStats(
                    name: container.name, startTime: container.startTime.map(Time.init), cpu: cpu(container.cpuSeconds, container.cpuCores, container.time),
                    memory: MemoryStats(
                        time: MicroTime(container.time), usageBytes: container.memoryRSS, workingSetBytes: container.memoryWorkingSet,
                        rssBytes: container.memoryRSS))
            }
            let time = pod.containers.map(\.time).max() ?? snapshot.time
            return PodStats(
                podRef: PodReference(name: pod.name, namespace: pod.namespace, uid: pod.uid), startTime: pod.startTime.map(Time.init),
                containers: containers,
                cpu: cpu(pod.containers.reduce(0) { $0 + $1.cpuSeconds }, pod.containers.reduce(0) { $0 + $1.cpuCores }, time),
                memory: MemoryStats(
                    time: MicroTime(time), usageBytes: pod.containers.reduce(0) { $0 + $1.memoryRSS },
                    workingSetBytes: pod.containers.reduce(0) { $0 + $1.memoryWorkingSet }, rssBytes: pod.containers.reduce(0) { $0 + $1.memoryRSS }),
                processStats: ProcessStats(processCount: UInt64(pod.containers.reduce(0) { $0 + $1.processCount })))
        }
        return StatsSummary(node: node, pods: pods)
    }
}
