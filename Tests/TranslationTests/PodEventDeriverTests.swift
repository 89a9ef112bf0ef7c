import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

@Suite("PodEventDeriver: Nomad task events → Kubernetes Events, never twice")
struct PodEventDeriverTests {
    static let crashPod = Fixtures.pod(name: "crash", containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh"])])

    @Test("the recorded crash loop tells its story: Created, Started, Failed, BackOff for each run")
    func crashLoop() throws {
        let allocation = try Fixtures.allocation("the crashing allocation after ~9 s (Restarts, 'Restarting' events, delay)")
        let events = PodEventDeriver.events(pod: Self.crashPod, previous: nil, current: allocation)
        #expect(events.map(\.reason) == ["Created", "Started", "Failed", "BackOff", "Created", "Started", "Failed", "BackOff", "Created", "Started", "Failed", "BackOff"])
        #expect(events.filter { $0.reason == "BackOff" }.allSatisfy { $0.type == .warning })
        #expect(events.last?.message.contains("Exceeded allowed attempts, applying a delay - Task restarting in 54.798742685s") == true)
        #expect(events.first?.fieldPath == "spec.containers{main}")
        #expect(Set(events.map(\.key)).count == events.count)
    }

    @Test("events already seen are not derived again; only what follows is")
    func incremental() throws {
        let allocation = try Fixtures.allocation("the crashing allocation after ~9 s (Restarts, 'Restarting' events, delay)")
        #expect(PodEventDeriver.events(pod: Self.crashPod, previous: allocation, current: allocation).isEmpty)
        var earlier = allocation
        earlier.taskStates?["main"]?.events = Array(allocation.taskStates?["main"]?.events?.prefix(5) ?? [])
        let all = PodEventDeriver.events(pod: Self.crashPod, previous: nil, current: allocation)
        let first = PodEventDeriver.events(pod: Self.crashPod, previous: nil, current: earlier)
        let rest = PodEventDeriver.events(pod: Self.crashPod, previous: earlier, current: allocation)
        #expect(first.map(\.key) + rest.map(\.key) == all.map(\.key))
    }

    @Test("a batch failure with no restarts yields Failed with Nomad's DisplayMessage")
    func batchFailure() throws {
        let allocation = try Fixtures.allocation("its allocation after the task failed (exit code in the Terminated event)")
        let pod = Fixtures.pod(name: "exit3", restartPolicy: "Never", containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh"])])
        let events = PodEventDeriver.events(pod: pod, previous: nil, current: allocation)
        #expect(events.map(\.reason) == ["Created", "Started", "Failed", "Failed"])
        #expect(events.map(\.message).last == "Error: Policy allows no restarts")
    }

    @Test("a new allocation (new job version) is read from its first event")
    func newAllocation() throws {
        let old = try Fixtures.allocation("the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)")
        var new = old
        new.id = "another"
        let events = PodEventDeriver.events(pod: PodStatusMapperTests.webPod, previous: old, current: new)
        #expect(events.map(\.reason) == ["Created", "Started", "Created", "Started"])
        #expect(events.map(\.fieldPath) == ["spec.initContainers{init}", "spec.initContainers{init}", "spec.containers{web}", "spec.containers{web}"])
    }

    @Test("stopping the job yields Killing")
    func killing() {
        let allocation = Allocation(
            id: "a1", taskGroup: "pod",
            taskStates: ["web": TaskState(state: .dead, events: [TaskEvent(type: "Killing", time: 5, displayMessage: "Sent interrupt. Waiting 5s before force killing")])])
        let events = PodEventDeriver.events(pod: Fixtures.pod(), previous: nil, current: allocation)
        #expect(events.map(\.reason) == ["Killing"])
        #expect(events.first?.type == .normal)
        #expect(events.first?.message == "Stopping container web (Nomad: Sent interrupt. Waiting 5s before force killing)")
    }
}
