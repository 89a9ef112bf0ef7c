import Foundation
import KubernetesModels
import NomadModels
import TestSupport
import Testing
import Translation

@Suite("The recorded Kubernetes pod, translated and reported as the recorded kubelet status patch")
struct RecordedPodTests {
    static func recordedPod() throws -> Pod {
        let exchange = try RecordedTraffic.exchange("kubernetes/02-pods-as-node.txt", titled: "GET one of its own pods")
        return try Fixtures.decode(Pod.self, exchange.responseBody)
    }

    /// The `status` the recorded `PATCH pods/status` sent.
    static func recordedPatchStatus() throws -> PodStatus {
        struct Patch: Decodable { var status: PodStatus }
        let exchange = try RecordedTraffic.exchange("kubernetes/02-pods-as-node.txt", titled: "report the pod Running and Ready")
        return try Fixtures.decode(Patch.self, try #require(exchange.requestBody)).status
    }

    @Test("the Deployment's pod (host image, service-account volume) becomes a valid job")
    func translates() throws {
        let pod = try Self.recordedPod()
        let translation = try Fixtures.translator.translate(pod)
        #expect(translation.job.id == "default.web-6ddb9c647c-fhn9x.bb807acb")
        #expect(translation.job.type == .service)
        #expect(translation.job.taskGroups?.first?.tasks?.first?.config == TaskConfig(command: "/bin/sleep", args: ["3600"]))
        #expect(translation.warnings.map(\.field) == ["spec.volumes[0]"])
    }

    @Test("a running allocation for it maps to the status the recorded patch reported")
    func statusMatchesRecordedPatch() throws {
        let pod = try Self.recordedPod()
        let expected = try Self.recordedPatchStatus()
        let startedAt = try #require(expected.startTime?.date)
        let nanos = Int64(startedAt.timeIntervalSince1970) * 1_000_000_000
        let allocation = Allocation(
            id: "5d0e...", nodeName: "vm", taskGroup: "pod", clientStatus: .running,
            taskStates: ["host": TaskState(state: .running, restarts: 0, startedAt: NomadTime(startedAt), events: [TaskEvent(type: "Started", time: nanos)])],
            createTime: nanos)
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, nodeAddress: "127.0.0.1", now: startedAt))
        #expect(status.phase == expected.phase)
        #expect(status.hostIP == expected.hostIP)
        #expect(status.hostIPs == expected.hostIPs)
        #expect(status.podIP == expected.podIP)
        #expect(status.podIPs == expected.podIPs)
        #expect(status.startTime == expected.startTime)
        #expect(status.containerStatuses?.map { $0.name } == expected.containerStatuses?.map(\.name))
        let container = try #require(status.containerStatuses?.first)
        let recorded = try #require(expected.containerStatuses?.first)
        #expect(container.state == recorded.state)
        #expect(container.ready == recorded.ready)
        #expect(container.started == recorded.started)
        #expect(container.restartCount == recorded.restartCount)
        #expect(container.image == recorded.image)
        #expect(container.imageID == recorded.imageID)
        #expect(container.containerID == "nomad://5d0e.../host")
        // The recorded patch's conditions, plus PodScheduled kept from the pod and the placement condition.
        let kubeletTypes: Set<String> = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"]
        let kubeletConditions: [PodCondition] = (status.conditions ?? []).filter { kubeletTypes.contains($0.type) }
        #expect(kubeletConditions == expected.conditions)
        #expect(status.conditions?.first { $0.type == "PodScheduled" }?.lastTransitionTime == "2026-11-25T20:49:42Z")
    }
}
