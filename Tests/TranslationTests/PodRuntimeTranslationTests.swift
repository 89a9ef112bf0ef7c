import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

/// Init-container ordering, probe/hook validation, probe timing, status with probe results and
/// the active deadline: the pure parts of the pod runtime.
@Suite("Pod runtime: init ordering, probes, hooks, deadline (pure)")
struct PodRuntimeTranslationTests {
    static func host(_ name: String, _ program: String, restartPolicy: String? = nil) -> Container {
        Container(name: name, image: ImageResolver.hostImage, command: [program], restartPolicy: restartPolicy)
    }

    // MARK: Init container ordering

    @Test("init containers and sidecars are chained through markers in the allocation directory")
    func sequencing() throws {
        let pod = Fixtures.pod(initContainers: [Self.host("a", "/bin/a"), Self.host("s", "/bin/s", restartPolicy: "Always"), Self.host("b", "/bin/b")])
        let tasks = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks)
        #expect(tasks.map(\.name) == ["a", "s", "b", "web"])
        for task in tasks {
            #expect(task.config?.command == "/bin/sh")
            #expect(task.config?.args?.first == "-c")
            #expect(task.config?.args?[2] == "nomad-kubelet-init")
        }
        #expect(tasks.map { $0.config?.args?[3] } == ["/bin/a", "/bin/s", "/bin/b", "/bin/sleep"])
        #expect(tasks[3].config?.args?.last == "3600")
        let scripts = tasks.map { $0.config?.args?[1] ?? "" }
        // a: no gate, leaves done-a on success; s: waits for done-a, marks started-s, execs.
        #expect(!scripts[0].contains("while [ ! -e"))
        #expect(scripts[0].contains(#"then : > "$d/done-a""#))
        #expect(scripts[1].contains(#"while [ ! -e "$d/done-a" ]"#))
        #expect(scripts[1].hasSuffix(#": > "$d/started-s"; exec "$@""#))
        #expect(scripts[2].contains(#"while [ ! -e "$d/started-s" ]"#))
        #expect(scripts[2].contains(#"trap 'kill -s TERM "$p" 2>/dev/null' TERM"#))
        // s waited for an init container, so the app containers wait for s's program to start.
        #expect(scripts[3].contains(#"while [ ! -e "$d/started-s" ]"#))
        #expect(scripts[3].hasSuffix(#"exec "$@""#))
        // No Nomad interpolation (`${`) in what the wrappers add.
        #expect(scripts.allSatisfy { !$0.contains("${") })
    }

    @Test("one init container, or sidecars that wait for nothing, keep the app containers' commands")
    func noSequencingNeeded() throws {
        let single = Fixtures.pod(initContainers: [Self.host("a", "/bin/a")])
        let tasks = try #require(try Fixtures.translator.translate(single).job.taskGroups?.first?.tasks)
        #expect(tasks.map { $0.config?.command } == ["/bin/a", "/bin/sleep"])
        let sidecarsFirst = Fixtures.pod(initContainers: [Self.host("s", "/bin/s", restartPolicy: "Always"), Self.host("a", "/bin/a")])
        let ordered = try #require(try Fixtures.translator.translate(sidecarsFirst).job.taskGroups?.first?.tasks)
        #expect(ordered[2].config?.command == "/bin/sleep")
        #expect(ordered[1].config?.args?[1].contains(#"while [ ! -e "$d/started-s" ]"#) == true)
    }

    @Test("the stop signal of a regular init container is forwarded to its program")
    func forwardedSignal() throws {
        var first = Self.host("a", "/bin/a")
        first.lifecycle = nil
        var second = Self.host("b", "/bin/b")
        second.lifecycle = Lifecycle(stopSignal: "SIGINT")
        let pod = Fixtures.pod(initContainers: [first, second])
        let tasks = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks)
        #expect(tasks[1].config?.args?[1].contains(#"trap 'kill -s INT "$p" 2>/dev/null' INT"#) == true)
    }

    // MARK: Validation

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var container: Container
        var field: String
        var kind: TranslationProblem.Kind
        var testDescription: String { label }
    }

    static let webWithPorts = Container(
        name: "web", image: ImageResolver.hostImage, command: ["/bin/web"], ports: [ContainerPort(name: "http", containerPort: 8080)])

    static func web(_ change: (inout Container) -> Void) -> Container {
        var container = webWithPorts
        change(&container)
        return container
    }

    static let refusals: [Case] = [
        Case(label: "no handler", container: web { $0.livenessProbe = Probe() }, field: "spec.containers[0].livenessProbe", kind: .invalid),
        Case(
            label: "unknown port name", container: web { $0.readinessProbe = Probe(httpGet: HTTPGetAction(port: "admin")) },
            field: "spec.containers[0].readinessProbe.httpGet.port", kind: .invalid),
        Case(
            label: "port out of range", container: web { $0.startupProbe = Probe(tcpSocket: TCPSocketAction(port: 70000)) },
            field: "spec.containers[0].startupProbe.tcpSocket.port", kind: .invalid),
        Case(
            label: "liveness successThreshold 2", container: web { $0.livenessProbe = Probe(tcpSocket: TCPSocketAction(port: 8080), successThreshold: 2) },
            field: "spec.containers[0].livenessProbe.successThreshold", kind: .invalid),
        Case(
            label: "period 0", container: web { $0.readinessProbe = Probe(tcpSocket: TCPSocketAction(port: 8080), periodSeconds: 0) },
            field: "spec.containers[0].readinessProbe.periodSeconds", kind: .invalid),
        Case(
            label: "bad scheme", container: web { $0.readinessProbe = Probe(httpGet: HTTPGetAction(port: 8080, scheme: "FTP")) },
            field: "spec.containers[0].readinessProbe.httpGet.scheme", kind: .invalid),
        Case(
            label: "empty exec", container: web { $0.livenessProbe = Probe(exec: ExecAction(command: [])) },
            field: "spec.containers[0].livenessProbe.exec.command", kind: .invalid),
        Case(
            label: "tcpSocket hook", container: web { $0.lifecycle = Lifecycle(preStop: LifecycleHandler(tcpSocket: TCPSocketAction(port: 8080))) },
            field: "spec.containers[0].lifecycle.preStop.tcpSocket", kind: .unsupported),
        Case(
            label: "negative sleep", container: web { $0.lifecycle = Lifecycle(preStop: LifecycleHandler(sleep: SleepAction(seconds: -1))) },
            field: "spec.containers[0].lifecycle.preStop.sleep.seconds", kind: .invalid),
    ]

    @Test("probes and hooks the agent could not run are refused with their field", arguments: refusals)
    func refusal(_ testCase: Case) throws {
        let error = try #require(throws: TranslationError.self) { try Fixtures.translator.translate(Fixtures.pod(containers: [testCase.container])) }
        let problem = try #require(error.problems.first { $0.field == testCase.field }, "problems: \(error.problems)")
        #expect(problem.kind == testCase.kind)
    }

    @Test("every probe handler and hook kind is accepted and leaves the job unchanged")
    func accepted() throws {
        let container = Self.web {
            $0.livenessProbe = Probe(exec: ExecAction(command: ["/bin/true"]), initialDelaySeconds: 3)
            $0.readinessProbe = Probe(httpGet: HTTPGetAction(path: "/ready", port: "http", httpHeaders: [HTTPHeader(name: "X-Probe", value: "1")]))
            $0.startupProbe = Probe(grpc: GRPCAction(port: 9090))
            $0.lifecycle = Lifecycle(postStart: LifecycleHandler(exec: ExecAction(command: ["/bin/true"])), preStop: LifecycleHandler(sleep: SleepAction(seconds: 2)))
        }
        let withHooks = try Fixtures.translator.translate(Fixtures.pod(containers: [container])).job
        let plain = try Fixtures.translator.translate(Fixtures.pod(containers: [Self.webWithPorts])).job
        #expect(withHooks == plain)
        #expect(ProbeTarget.port("http", in: Self.webWithPorts) == 8080)
        #expect(ProbeTarget.port("8081", in: Self.webWithPorts) == 8081)
        #expect(ProbeTarget.port(0, in: Self.webWithPorts) == nil)
    }

    // MARK: Probe timing (test clock)

    static let t0 = Date(timeIntervalSince1970: 1_795_639_700)

    @Test("readiness: not ready until the first success, after initialDelaySeconds; ready lost after failureThreshold failures in a row")
    func readinessTiming() throws {
        let container = Container(
            name: "web", readinessProbe: Probe(exec: ExecAction(command: ["/bin/true"]), initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 2))
        var probes = try #require(ContainerProbes(container: container, startedAt: Self.t0))
        #expect(probes.started && !probes.ready)
        #expect(probes.nextProbe()?.kind == .readiness)
        #expect(probes.nextProbe()?.due == Self.t0.addingTimeInterval(5))
        #expect(probes.record(.success, for: .readiness, at: Self.t0.addingTimeInterval(5)) == [.statusChanged])
        #expect(probes.ready)
        #expect(probes.nextProbe()?.due == Self.t0.addingTimeInterval(7))
        #expect(probes.record(.failure("HTTP probe failed with statuscode: 500"), for: .readiness, at: Self.t0.addingTimeInterval(7)) == [
            .unhealthy(message: "Readiness probe failed: HTTP probe failed with statuscode: 500")
        ])
        #expect(probes.ready)
        #expect(probes.record(.failure("x"), for: .readiness, at: Self.t0.addingTimeInterval(9)) == [.unhealthy(message: "Readiness probe failed: x"), .statusChanged])
        #expect(!probes.ready)
        // A success in between resets the failure run; readiness never restarts anything.
        #expect(probes.record(.success, for: .readiness, at: Self.t0.addingTimeInterval(11)) == [.statusChanged])
        #expect(probes.ready && !probes.onHold)
    }

    @Test("successThreshold needs that many successes in a row")
    func successThreshold() throws {
        let container = Container(name: "web", readinessProbe: Probe(tcpSocket: TCPSocketAction(port: 80), successThreshold: 3))
        var probes = try #require(ContainerProbes(container: container, startedAt: Self.t0))
        #expect(probes.record(.success, for: .readiness, at: Self.t0) == [])
        #expect(probes.record(.success, for: .readiness, at: Self.t0.addingTimeInterval(10)) == [])
        #expect(!probes.ready)
        #expect(probes.record(.success, for: .readiness, at: Self.t0.addingTimeInterval(20)) == [.statusChanged])
        #expect(probes.ready)
    }

    @Test("the startup probe gates liveness and readiness; its success starts them")
    func startupGates() throws {
        let container = Container(
            name: "web",
            livenessProbe: Probe(tcpSocket: TCPSocketAction(port: 80), initialDelaySeconds: 1),
            readinessProbe: Probe(tcpSocket: TCPSocketAction(port: 80), initialDelaySeconds: 30),
            startupProbe: Probe(tcpSocket: TCPSocketAction(port: 80), periodSeconds: 1, failureThreshold: 30))
        var probes = try #require(ContainerProbes(container: container, startedAt: Self.t0))
        #expect(!probes.started && !probes.ready)
        #expect(probes.activeKinds == [.startup])
        #expect(probes.record(.success, for: .liveness, at: Self.t0) == [], "a gated probe's result is ignored")
        #expect(probes.record(.failure("refused"), for: .startup, at: Self.t0) == [.unhealthy(message: "Startup probe failed: refused")])
        #expect(probes.record(.success, for: .startup, at: Self.t0.addingTimeInterval(4)) == [.statusChanged])
        #expect(probes.started && !probes.ready)
        #expect(probes.activeKinds == [.liveness, .readiness])
        // Liveness's own delay has passed: due now; readiness keeps its 30 s.
        #expect(probes.nextProbe()?.kind == .liveness)
        #expect(probes.nextProbe()?.due == Self.t0.addingTimeInterval(4))
        #expect(probes.timeout(.readiness) == 1)
    }

    @Test("liveness failing failureThreshold times restarts the container and holds the probes")
    func livenessRestart() throws {
        let container = Container(
            name: "web", livenessProbe: Probe(exec: ExecAction(command: ["/bin/false"]), timeoutSeconds: 3, failureThreshold: 2, terminationGracePeriodSeconds: 5))
        var probes = try #require(ContainerProbes(container: container, startedAt: Self.t0))
        #expect(probes.ready, "liveness alone does not gate readiness")
        #expect(probes.timeout(.liveness) == 3)
        #expect(probes.record(.failure(""), for: .liveness, at: Self.t0) == [.unhealthy(message: "Liveness probe failed: ")])
        #expect(
            probes.record(.failure("boom"), for: .liveness, at: Self.t0.addingTimeInterval(10)) == [
                .unhealthy(message: "Liveness probe failed: boom"),
                .restart(message: "Container web failed liveness probe, will be restarted", gracePeriodSeconds: 5),
            ])
        #expect(probes.onHold)
        #expect(probes.nextProbe() == nil)
    }

    @Test("a container without probes needs no prober")
    func noProbes() {
        #expect(ContainerProbes(container: Container(name: "web"), startedAt: Self.t0) == nil)
    }

    // MARK: Status with probe results

    static func runningAllocation(_ tasks: [String: TaskState]) -> Allocation {
        Allocation(id: "a1", nodeName: "vm", taskGroup: "pod", clientStatus: .running, taskStates: tasks)
    }

    static let running = TaskState(state: .running, startedAt: NomadTime(rawValue: "2026-11-25T20:46:34Z"), events: [TaskEvent(type: "Started", time: 1)])

    @Test("readiness false makes the container, ContainersReady and Ready false; startup pending makes started false")
    func probeResultsInStatus() throws {
        let pod = Fixtures.pod()
        let allocation = Self.runningAllocation(["web": Self.running])
        let unready = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, readiness: ["web": false], now: Fixtures.now))
        #expect(unready.phase == "Running")
        #expect(unready.containerStatuses?.first?.ready == false)
        #expect(unready.containerStatuses?.first?.started == true)
        let ready = unready.conditions?.first { $0.type == "Ready" }
        #expect(ready?.status == "False")
        #expect(ready?.reason == "ContainersNotReady")
        #expect(unready.conditions?.first { $0.type == "ContainersReady" }?.message == "containers with unready status: [web]")
        let notStarted = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, readiness: ["web": true], started: ["web": false], now: Fixtures.now))
        #expect(notStarted.containerStatuses?.first?.started == false)
        #expect(notStarted.containerStatuses?.first?.ready == false)
        let back = PodStatusMapper.status(for: PodStatusInput(pod: pod, previous: unready, allocation: allocation, readiness: ["web": true], now: Fixtures.now))
        #expect(back.conditions?.first { $0.type == "Ready" }?.status == "True")
    }

    @Test("an init container whose wrapper waits for its predecessor reads waiting PodInitializing (kubectl: Init:0/2)")
    func gatedInitContainer() throws {
        let pod = Fixtures.pod(initContainers: [Self.host("a", "/bin/a"), Self.host("b", "/bin/b")])
        let allocation = Self.runningAllocation(["a": Self.running, "b": Self.running, "web": TaskState(state: .pending)])
        let status = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: Fixtures.now))
        let initStatuses = try #require(status.initContainerStatuses)
        #expect(initStatuses.map(\.name) == ["a", "b"])
        #expect(initStatuses[0].state?.running != nil)
        #expect(initStatuses[1].state?.waiting?.reason == "PodInitializing")
        #expect(status.phase == "Pending")
        // a completed: b runs for real now.
        let done = TaskState(state: .dead, events: [TaskEvent(type: "Started", time: 1), TaskEvent(type: "Terminated", time: 2, exitCode: 0)])
        let next = PodStatusMapper.status(
            for: PodStatusInput(pod: pod, allocation: Self.runningAllocation(["a": done, "b": Self.running, "web": TaskState(state: .pending)]), now: Fixtures.now))
        #expect(next.initContainerStatuses?[0].state?.terminated?.reason == "Completed")
        #expect(next.initContainerStatuses?[1].state?.running != nil)
        #expect(next.conditions?.first { $0.type == "Initialized" }?.message == "containers with incomplete status: [b]")
    }

    // MARK: Active deadline

    @Test("past activeDeadlineSeconds the pod is Failed with DeadlineExceeded, and stays so")
    func activeDeadline() throws {
        var pod = Fixtures.pod { $0.activeDeadlineSeconds = 10 }
        let start = Fixtures.now
        pod.status = PodStatus(phase: "Running", startTime: Time(start))
        let allocation = Self.runningAllocation(["web": Self.running])
        let before = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: start.addingTimeInterval(9)))
        #expect(before.phase == "Running")
        #expect(ActiveDeadline.remaining(pod: pod, startTime: start, now: start.addingTimeInterval(9)) == 1)
        let after = PodStatusMapper.status(for: PodStatusInput(pod: pod, allocation: allocation, now: start.addingTimeInterval(10)))
        #expect(after.phase == "Failed")
        #expect(after.reason == "DeadlineExceeded")
        #expect(after.message == "Pod was active on the node longer than the specified deadline")
        #expect(after.conditions?.first { $0.type == "Ready" }?.reason == "PodFailed")
        // Once the job is stopped the allocation completes; the pod stays failed for the deadline.
        var stopped = Self.runningAllocation(["web": TaskState(state: .dead, events: [TaskEvent(type: "Started", time: 1), TaskEvent(type: "Terminated", time: 2, exitCode: 0)])])
        stopped.clientStatus = .complete
        let later = PodStatusMapper.status(for: PodStatusInput(pod: pod, previous: after, allocation: stopped, now: start.addingTimeInterval(30)))
        #expect(later.phase == "Failed")
        #expect(later.reason == "DeadlineExceeded")
    }
}
