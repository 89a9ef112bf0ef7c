import Foundation
import KubernetesModels
import NomadModels

/// What the Nomad clients this node fronts offer, and whether the node can take pods.
struct NomadHealth: Sendable, Hashable {
    /// Ready (True) with `reason`/`message`, or not.
    var ready: Bool
    var reason: String
    var message: String
    /// Summed capacity of the eligible, ready clients; `nil` when Nomad could not be asked.
    var capacity: [String: Quantity]?
    /// The Nomad version, for `nodeInfo.containerRuntimeVersion`.
    var nomadVersion: String?

    static func unreachable(_ error: any Error) -> NomadHealth {
        NomadHealth(ready: false, reason: "NomadUnreachable", message: "cannot reach the Nomad API: \(error)", capacity: nil, nomadVersion: nil)
    }
}

/// Which Nomad client nodes count for this virtual node.
struct NomadClientFilter: Sendable, Hashable {
    var datacenters: [String]
    var nodePool: String?
    var nodeClass: String?

    /// Ready, eligible, not draining, and in the configured datacenter/pool/class.
    func admits(_ node: NodeListStub) -> Bool {
        guard node.status?.rawValue == "ready", node.schedulingEligibility == "eligible", node.drain != true else { return false }
        if !datacenters.isEmpty, !datacenters.contains(node.datacenter ?? "") { return false }
        if let nodePool, (node.nodePool ?? "default") != nodePool { return false }
        if let nodeClass, (node.nodeClass ?? "") != nodeClass { return false }
        return true
    }
}

/// Sums the resources of client nodes into Kubernetes capacity.
enum NomadCapacity {
    /// Pods a Nomad client is assumed to hold, as a kubelet's default `maxPods`.
    static let podsPerClient: Int64 = 110

    /// cpu (cores), memory and ephemeral-storage (bytes) after Nomad's reservations, and pods.
    static func capacity(of nodes: [NomadNode]) -> [String: Quantity] {
        var millicores: Int64 = 0
        var memoryBytes: Int64 = 0
        var diskBytes: Int64 = 0
        for node in nodes {
            let cores = node.nodeResources?.cpu?.totalCpuCores ?? node.attributes?["cpu.numcores"].flatMap { Int($0) }
            let shares = node.nodeResources?.cpu?.cpuShares ?? node.resources?.cpu ?? 0
            let reservedShares = node.reservedResources?.cpu?.cpuShares ?? 0
            if let cores, cores > 0, shares > 0 {
                millicores += Int64(cores) * 1000 * Int64(max(shares - reservedShares, 0)) / Int64(shares)
            }
            let memoryMB = node.nodeResources?.memory?.memoryMB ?? node.resources?.memoryMB ?? 0
            let reservedMemoryMB = node.reservedResources?.memory?.memoryMB ?? 0
            memoryBytes += Int64(max(memoryMB - reservedMemoryMB, 0)) * 1024 * 1024
            let diskMB = node.nodeResources?.disk?.diskMB ?? node.resources?.diskMB ?? 0
            let reservedDiskMB = node.reservedResources?.disk?.diskMB ?? 0
            diskBytes += Int64(max(diskMB - reservedDiskMB, 0)) * 1024 * 1024
        }
        return [
            "cpu": .milli(millicores),
            "memory": .bytes(memoryBytes),
            "ephemeral-storage": .bytes(diskBytes),
            "pods": Quantity(integerLiteral: podsPerClient * Int64(nodes.count)),
        ]
    }
}
