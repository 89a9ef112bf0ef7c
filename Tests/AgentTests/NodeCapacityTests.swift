@testable import Agent
import Foundation
import KubernetesModels
import NomadModels
import Testing
import TestSupport

@Suite("Node capacity from Nomad clients")
struct NodeCapacityTests {
    @Test("the recorded Nomad 1.1.2 client becomes 2 cores, its memory and disk, and 110 pods")
    func recordedClient() throws {
        let exchange = try RecordedTraffic.exchange("nomad/01-agent-nodes-jobs.txt", titled: "one client node")
        let node = try JSONDecoder().decode(NomadNode.self, from: Data(exchange.responseBody.utf8))
        let capacity = NomadCapacity.capacity(of: [node])
        let memoryMB = Int64(node.nodeResources?.memory?.memoryMB ?? 0) - Int64(node.reservedResources?.memory?.memoryMB ?? 0)
        #expect(capacity["cpu"]?.milliValue == 2000)
        #expect(capacity["memory"]?.value == memoryMB * 1024 * 1024)
        #expect((capacity["ephemeral-storage"]?.value ?? 0) > 0)
        #expect(capacity["pods"]?.value == 110)
    }

    @Test("reservations are subtracted and clients are summed")
    func reservationsAndSums() {
        let node = NomadNode(
            nodeResources: NodeResources(cpu: NodeCPUResources(cpuShares: 4000, totalCpuCores: 4), memory: NodeMemoryResources(memoryMB: 2048), disk: NodeDiskResources(diskMB: 1024)),
            reservedResources: NodeReservedResources(cpu: NodeReservedCPUResources(cpuShares: 1000), memory: NodeMemoryResources(memoryMB: 1024)))
        let capacity = NomadCapacity.capacity(of: [node, node])
        #expect(capacity["cpu"]?.milliValue == 6000)
        #expect(capacity["memory"] == .bytes(2 * 1024 * 1024 * 1024))
        #expect(capacity["ephemeral-storage"] == .bytes(2 * 1024 * 1024 * 1024))
        #expect(capacity["pods"]?.value == 220)
    }

    @Test(
        "only ready, eligible, undrained clients of the configured datacenter, pool and class count",
        arguments: [
            (NodeListStub(datacenter: "dc1", nodeClass: "edge", nodePool: "gw", drain: false, schedulingEligibility: "eligible", status: "ready"), true),
            (NodeListStub(datacenter: "dc1", nodeClass: "edge", nodePool: "gw", schedulingEligibility: "eligible", status: "down"), false),
            (NodeListStub(datacenter: "dc1", nodeClass: "edge", nodePool: "gw", schedulingEligibility: "ineligible", status: "ready"), false),
            (NodeListStub(datacenter: "dc1", nodeClass: "edge", nodePool: "gw", drain: true, schedulingEligibility: "eligible", status: "ready"), false),
            (NodeListStub(datacenter: "dc9", nodeClass: "edge", nodePool: "gw", schedulingEligibility: "eligible", status: "ready"), false),
            (NodeListStub(datacenter: "dc1", nodeClass: "core", nodePool: "gw", schedulingEligibility: "eligible", status: "ready"), false),
            (NodeListStub(datacenter: "dc1", nodeClass: "edge", nodePool: "default", schedulingEligibility: "eligible", status: "ready"), false),
        ])
    func filter(node: NodeListStub, admitted: Bool) {
        let filter = NomadClientFilter(datacenters: ["dc1"], nodePool: "gw", nodeClass: "edge")
        #expect(filter.admits(node) == admitted)
    }
}
