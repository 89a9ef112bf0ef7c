import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

@Suite("PodStatusMapper: Nomad state → PodStatus by the kubelet's rules")
struct PodStatusMapperTests {
    static let webPod = Fixtures.pod(
        containers: [Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sh"])],
        initContainers: [Container(name: "init", image: ImageResolver.hostImage, command: ["/bin/sh"])])

    static func condition(_ status: PodStatus, _ type: String) -> PodCondition? { status.conditions?.first { $0.type == type } }

    @Test("the recorded running allocation (init done, web running) reads Running and Ready")
    func recordedRunning() throws {
        let allocation = try Fixtures.allocation("the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)")
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, allocation: allocation, nodeAddress: "127.0.0.1", now: Fixtures.now))
        #expect(status.phase == "Running")
        #expect(status.hostIP == "127.0.0.1")
        #expect(status.hostIPs == [HostIP(ip: "127.0.0.1")])
        #expect(status.podIP == "127.0.0.1")
        #expect(status.podIPs == [PodIP(ip: "127.0.0.1")])
        #expect(status.startTime == "2026-11-25T20:46:34Z")
        let web = try #require(status.containerStatuses?.first)
        #expect(web.state == ContainerState(running: ContainerStateRunning(startedAt: "2026-11-25T20:46:34Z")))
        #expect(web.ready && web.started == true && web.restartCount == 0)
        #expect(web.containerID == "nomad://d5daa190-d5dd-4802-e267-3a6a3beefc0c/web")
        #expect(web.image == ImageResolver.hostImage)
        let initStatus = try #require(status.initContainerStatuses?.first)
        #expect(initStatus.state?.terminated?.exitCode == 0)
        #expect(initStatus.state?.terminated?.reason == "Completed")
        #expect(initStatus.ready)
        for type in ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled", PodStatusMapper.placedCondition] {
            #expect(Self.condition(status, type)?.status == "True", "\(type)")
        }
    }

    @Test("the recorded batch allocation that exited 3 (restartPolicy Never) reads Failed with the exit code")
    func recordedExit3() throws {
        let allocation = try Fixtures.allocation("its allocation after the task failed (exit code in the Terminated event)")
        let pod = Fixtures.pod(name: "exit3", restartPolicy: "Never", containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh"])])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, nodeAddress: "127.0.0.1", now: Fixtures.now))
        #expect(status.phase == "Failed")
        let terminated = try #require(status.containerStatuses?.first?.state?.terminated)
        #expect(terminated.exitCode == 3)
        #expect(terminated.reason == "Error")
        #expect(terminated.message == "Exit Code: 3")
        #expect(terminated.startedAt == "2026-11-25T20:46:36Z")
        #expect(terminated.finishedAt == "2026-11-25T20:46:36Z")
        #expect(terminated.containerID == "nomad://53aa3e94-81dc-d5e4-0e97-9451db8aee84/main")
        #expect(Self.condition(status, "Ready")?.reason == "PodFailed")
        #expect(Self.condition(status, "ContainersReady")?.reason == "PodFailed")
        #expect(Self.condition(status, "PodReadyToStartContainers")?.status == "False")
    }

    @Test("the recorded batch allocation that exited 0 reads Succeeded")
    func recordedExit0() throws {
        let allocation = try Fixtures.allocation("a batch allocation that completed with exit 0")
        let task = try #require(allocation.taskStates?.keys.first)
        let pod = Fixtures.pod(name: "ok", restartPolicy: "Never", containers: [Container(name: task, image: ImageResolver.hostImage, command: ["/bin/true"])])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: Fixtures.now))
        #expect(status.phase == "Succeeded")
        #expect(status.containerStatuses?.first?.state?.terminated?.reason == "Completed")
        #expect(Self.condition(status, "Ready")?.reason == "PodCompleted")
        #expect(Self.condition(status, "Initialized") == PodCondition(type: "Initialized", status: "True", lastTransitionTime: Time(Fixtures.now), reason: "PodCompleted"))
    }

    @Test("the recorded crash loop reads Running with CrashLoopBackOff, restarts and the last exit")
    func recordedCrashLoop() throws {
        let allocation = try Fixtures.allocation("the crashing allocation after ~9 s (Restarts, 'Restarting' events, delay)")
        let pod = Fixtures.pod(name: "crash", containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh"])])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: Fixtures.now))
        #expect(status.phase == "Running")
        let main = try #require(status.containerStatuses?.first)
        #expect(main.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(main.state?.waiting?.message == "back-off 54.799s restarting failed container=main pod=crash_default(\(Fixtures.uid))")
        #expect(main.restartCount == 3)
        #expect(main.lastState?.terminated?.exitCode == 1)
        #expect(main.lastState?.terminated?.reason == "Error")
        #expect(!main.ready)
        #expect(Self.condition(status, "Ready") == PodCondition(
            type: "Ready", status: "False", lastTransitionTime: Time(Fixtures.now), reason: "ContainersNotReady", message: "containers with unready status: [main]"))
    }

    @Test(
        "placement failures from the recorded evaluations keep the pod Pending and quote Nomad",
        arguments: [
            ("its evaluation: FailedTGAllocs explains the placement failure, BlockedEval waits for capacity", "Constraint \"${attr.kernel.name} = windows\": 1 nodes excluded by filter"),
            ("its evaluation", "Resources exhausted on 1 nodes; Dimension \"memory\" exhausted on 1 nodes"),
        ])
    func placementFailure(title: String, quote: String) throws {
        let evaluation = try Fixtures.evaluation(title)
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Fixtures.pod(), evaluation: evaluation, now: Fixtures.now))
        #expect(status.phase == "Pending")
        #expect(status.reason == PodStatusMapper.placementFailedReason)
        #expect(status.message?.contains(quote) == true, "\(status.message ?? "")")
        #expect(status.message?.contains("Task group \"pod\" (failed to place 1 allocation)") == true)
        let placed = try #require(Self.condition(status, PodStatusMapper.placedCondition))
        #expect(placed.status == "False")
        #expect(placed.message == status.message)
        #expect(status.containerStatuses?.first?.state?.waiting?.reason == PodStatusMapper.placementFailedReason)
        #expect(Self.condition(status, "Ready")?.status == "False")
    }

    @Test("a lost Nomad client fails the pod with NomadClientLost")
    func lostClient() throws {
        var allocation = try Fixtures.allocation("the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)")
        allocation.clientStatus = .lost
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, allocation: allocation, nodeAddress: "127.0.0.1", now: Fixtures.now))
        #expect(status.phase == "Failed")
        #expect(status.reason == "NomadClientLost")
        #expect(status.message?.contains("vm") == true)
        #expect(status.containerStatuses?.first?.state?.terminated?.reason == "ContainerStatusUnknown")
        #expect(status.containerStatuses?.first?.state?.terminated?.exitCode == 137)
        #expect(Self.condition(status, "Ready")?.reason == "PodFailed")
    }

    @Test("transition times are kept while a condition's status is unchanged and move when it changes")
    func transitionTimes() throws {
        let running = try Fixtures.allocation("the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)")
        let first = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, allocation: running, now: Fixtures.now))
        let later = Fixtures.now.addingTimeInterval(60)
        let second = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, previous: first, allocation: running, now: later))
        #expect(second.conditions == first.conditions)
        #expect(second.startTime == first.startTime)
        var stopped = running
        stopped.taskStates?["web"]?.state = .pending
        let third = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, previous: second, allocation: stopped, now: later))
        #expect(Self.condition(third, "Ready")?.lastTransitionTime == Time(later))
        #expect(Self.condition(third, "Initialized")?.lastTransitionTime == Time(Fixtures.now))
    }

    @Test("the readiness input (probes) drives Ready; readiness gates are honoured")
    func readiness() throws {
        let running = try Fixtures.allocation("the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)")
        let notReady = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, allocation: running, readiness: ["web": false], now: Fixtures.now))
        #expect(Self.condition(notReady, "ContainersReady")?.status == "False")
        #expect(notReady.containerStatuses?.first?.ready == false)
        var gated = Self.webPod
        gated.spec?.readinessGates = [PodReadinessGate(conditionType: "example.com/lb")]
        let missing = PodStatusMapper.status(for: PodStatusInput(pod: gated, allocation: running, now: Fixtures.now))
        #expect(Self.condition(missing, "Ready")?.reason == "ReadinessGatesNotReady")
        let previous = PodStatus(conditions: [PodCondition(type: "example.com/lb", status: "True")])
        let satisfied = PodStatusMapper.status(for: PodStatusInput(pod: gated, previous: previous, allocation: running, now: Fixtures.now))
        #expect(Self.condition(satisfied, "Ready")?.status == "True")
        #expect(Self.condition(satisfied, "example.com/lb")?.status == "True")
    }

    @Test("a restart count base in task Meta (image change) adds to Nomad's restarts")
    func restartBase() throws {
        var allocation = try Fixtures.allocation("the crashing allocation after ~9 s (Restarts, 'Restarting' events, delay)")
        allocation.job?.taskGroups?[0].tasks?[0].meta = [PodJobIdentity.restartCountBaseMetaKey: "5"]
        let pod = Fixtures.pod(name: "crash", containers: [Container(name: "main", image: ImageResolver.hostImage, command: ["/bin/sh"])])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: Fixtures.now))
        #expect(status.containerStatuses?.first?.restartCount == 8)
    }

    // MARK: - Phase table

    static func started(_ at: Int64) -> TaskEvent { TaskEvent(type: "Started", time: at) }
    static func terminated(_ at: Int64, exit: Int) -> TaskEvent { TaskEvent(type: "Terminated", time: at, displayMessage: "Exit Code: \(exit)", exitCode: exit) }
    static func restarting(_ at: Int64) -> TaskEvent { TaskEvent(type: "Restarting", time: at, startDelay: 10_000_000_000) }

    enum Outcome: String, CaseIterable, Sendable {
        case notStarted, running, exited0, exited1, restartingAfter1, restartingAfter0
        var taskState: TaskState {
            switch self {
            case .notStarted: TaskState(state: .pending, events: [TaskEvent(type: "Received", time: 1)])
            case .running: TaskState(state: .running, startedAt: NomadTime(rawValue: "2026-11-25T20:46:34Z"), events: [started(1)])
            case .exited0: TaskState(state: .dead, events: [started(1), terminated(2, exit: 0)])
            case .exited1: TaskState(state: .dead, failed: true, events: [started(1), terminated(2, exit: 1)])
            case .restartingAfter1: TaskState(state: .pending, restarts: 1, events: [started(1), terminated(2, exit: 1), restarting(3)])
            case .restartingAfter0: TaskState(state: .pending, restarts: 1, events: [started(1), terminated(2, exit: 0), restarting(3)])
            }
        }
    }

    @Test(
        "phase for each restart policy × task outcome × allocation status",
        arguments: [
            ("Always", Outcome.notStarted, AllocationClientStatus.pending, "Pending"),
            ("Always", .running, .running, "Running"),
            ("Always", .restartingAfter1, .pending, "Running"),
            ("Always", .restartingAfter0, .pending, "Running"),
            ("Always", .exited0, .complete, "Succeeded"),
            ("Always", .exited1, .failed, "Failed"),
            ("OnFailure", .running, .running, "Running"),
            ("OnFailure", .exited0, .complete, "Succeeded"),
            ("OnFailure", .restartingAfter1, .pending, "Running"),
            ("OnFailure", .exited1, .failed, "Failed"),
            ("Never", .notStarted, .pending, "Pending"),
            ("Never", .running, .running, "Running"),
            ("Never", .exited0, .complete, "Succeeded"),
            ("Never", .exited1, .failed, "Failed"),
            ("Never", .exited1, .running, "Failed"),
            ("Always", .running, .lost, "Failed"),
            ("Never", .exited0, .lost, "Failed"),
        ] as [(String, Outcome, AllocationClientStatus, String)])
    func phase(restartPolicy: String, outcome: Outcome, clientStatus: AllocationClientStatus, expected: String) {
        let pod = Fixtures.pod(restartPolicy: restartPolicy)
        let allocation = Allocation(id: "a1", nodeName: "vm", taskGroup: "pod", clientStatus: clientStatus, taskStates: ["web": outcome.taskState])
        #expect(PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: Fixtures.now)).phase == expected)
    }

    // A start failure counts as a run that ended (the kubelet's StartError), so restartPolicy Always reads Running.
    @Test(
        "waiting reasons before the task runs",
        arguments: [
            (nil, nil, "ContainerCreating", "Pending"),
            ([String: TaskState](), nil, "ContainerCreating", "Pending"),
            (["web": TaskState(state: .pending, events: [TaskEvent(type: "Task Setup", time: 1)])], nil, "ContainerCreating", "Pending"),
            (["web": TaskState(state: .pending, events: [TaskEvent(type: "Driver Failure", time: 1, driverError: "no such file")])], "no such file", "CreateContainerError", "Running"),
        ] as [([String: TaskState]?, String?, String, String)])
    func waiting(states: [String: TaskState]?, message: String?, reason: String, phase: String) {
        let allocation = states.map { Allocation(id: "a1", taskGroup: "pod", clientStatus: .pending, taskStates: $0) }
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Fixtures.pod(), allocation: allocation, now: Fixtures.now))
        #expect(status.phase == phase)
        #expect(status.containerStatuses?.first?.state?.waiting == ContainerStateWaiting(reason: reason, message: message))
    }

    @Test("app containers wait with PodInitializing while an init container runs; Initialized says which")
    func initializing() {
        let allocation = Allocation(
            id: "a1", taskGroup: "pod", clientStatus: .running,
            taskStates: ["init": TaskState(state: .running, events: [Self.started(1)]), "web": TaskState(state: .pending)])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Self.webPod, allocation: allocation, now: Fixtures.now))
        #expect(status.phase == "Pending")
        #expect(status.containerStatuses?.first?.state?.waiting?.reason == "PodInitializing")
        #expect(Self.condition(status, "Initialized")?.message == "containers with incomplete status: [init]")
        #expect(Self.condition(status, "PodReadyToStartContainers")?.status == "True")
    }
}
