import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

@Suite("PodTranslator: Pod → Nomad job")
struct PodTranslatorTests {
    @Test("the recorded web pod becomes a one-group service job with Meta, task config and defaults")
    func basicJob() throws {
        let translation = try Fixtures.translator.translate(Fixtures.pod())
        let job = translation.job
        #expect(job.id == "default.web-0.3f1c2a4e")
        #expect(job.name == job.id)
        #expect(job.type == .service)
        #expect(job.namespace == "default")
        #expect(job.region == "global")
        #expect(job.datacenters == ["dc1"])
        #expect(job.meta == ["k8s.namespace": "default", "k8s.pod": "web-0", "k8s.uid": Fixtures.uid, "k8s.node": "vk-nomad"])
        let group = try #require(job.taskGroups?.first)
        #expect(job.taskGroups?.count == 1)
        #expect(group.name == "pod")
        #expect(group.count == 1)
        #expect(group.reschedulePolicy == ReschedulePolicy(attempts: 0, unlimited: false))
        let task = try #require(group.tasks?.first)
        #expect(task.name == "web")
        #expect(task.driver == "raw_exec")
        #expect(task.config == TaskConfig(command: "/bin/sleep", args: ["3600"]))
        #expect(task.killTimeout == .seconds(30))
        #expect(task.killSignal == "SIGTERM")
        #expect(task.resources == Resources(cpu: 100, memoryMB: 300))
        #expect(NomadJobValidator.violations(of: job).isEmpty)
    }

    @Test(
        "restartPolicy picks the job type and the restart policy",
        arguments: [
            ("Always", JobType.service, RestartMode.delay, 3),
            ("OnFailure", JobType.batch, RestartMode.delay, 3),
            ("Never", JobType.batch, RestartMode.fail, 0),
            (nil, JobType.service, RestartMode.delay, 3),
        ] as [(String?, JobType, RestartMode, Int)])
    func restartPolicies(policy: String?, type: JobType, mode: RestartMode, attempts: Int) throws {
        let job = try Fixtures.translator.translate(Fixtures.pod(restartPolicy: policy)).job
        #expect(job.type == type)
        let restart = try #require(job.taskGroups?.first?.restartPolicy)
        #expect(restart.mode == mode)
        #expect(restart.attempts == attempts)
        #expect(restart.delay == .seconds(10))
        #expect(restart.interval == .seconds(300))
        #expect(job.taskGroups?.first?.reschedulePolicy?.attempts == 0)
        #expect(job.taskGroups?.first?.reschedulePolicy?.unlimited == false)
    }

    @Test(
        "kill timeout: terminationGracePeriodSeconds, a shorter deletion grace, the kubelet's 2 s floor",
        arguments: [
            (nil, nil, 30), (60, nil, 60), (60, 5, 5), (10, 30, 10), (0, nil, 2), (30, 0, 2), (1, nil, 2), (3600, nil, 3600),
        ] as [(Int64?, Int64?, Int64)])
    func killTimeout(spec: Int64?, override: Int64?, expected: Int64) throws {
        let pod = Fixtures.pod { $0.terminationGracePeriodSeconds = spec }
        let job = try Fixtures.translator.translate(pod, options: TranslationOptions(gracePeriodOverrideSeconds: override)).job
        #expect(job.taskGroups?.first?.tasks?.first?.killTimeout == .seconds(expected))
        let deadline = try #require(job.taskGroups?.first?.update?.progressDeadline)
        #expect(deadline >= .seconds(expected), "a service job's progress deadline must outlast its kill timeout")
        #expect(NomadJobValidator.violations(of: job).isEmpty)
    }

    @Test(
        "resources: cpu to MHz (1000 per core), memory to MB rounded up, a higher memory limit to MemoryMaxMB",
        arguments: [
            ([:], [:], 100, 300, nil),
            (["cpu": "250m", "memory": "64Mi"], [:], 250, 64, nil),
            (["cpu": "2", "memory": "1Gi"], ["memory": "2Gi"], 2000, 1024, 2048),
            ([:], ["cpu": "500m", "memory": "128Mi"], 500, 128, nil),
            (["cpu": "1m", "memory": "1"], [:], 1, 10, nil),
            (["memory": "100M"], ["memory": "100M"], 100, 96, nil),
            (["cpu": "0.1"], [:], 100, 300, nil),
        ] as [([String: Quantity], [String: Quantity], Int, Int, Int?)])
    func resources(requests: [String: Quantity], limits: [String: Quantity], cpu: Int, memory: Int, memoryMax: Int?) throws {
        let pod = Fixtures.pod { $0.resources = ResourceRequirements(limits: limits, requests: requests) }
        let resources = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks?.first?.resources)
        #expect(resources.cpu == cpu)
        #expect(resources.memoryMB == memory)
        #expect(resources.memoryMaxMB == memoryMax)
    }

    @Test("ephemeral-storage requests size the allocation disk, never below the policy default")
    func ephemeralDisk() throws {
        let small = Fixtures.pod { $0.resources = ResourceRequirements(requests: ["ephemeral-storage": "10Mi"]) }
        let large = Fixtures.pod { $0.resources = ResourceRequirements(requests: ["ephemeral-storage": "2Gi"]) }
        #expect(try Fixtures.translator.translate(small).job.taskGroups?.first?.ephemeralDisk?.sizeMB == 300)
        #expect(try Fixtures.translator.translate(large).job.taskGroups?.first?.ephemeralDisk?.sizeMB == 2048)
    }

    @Test("ports become static ports; TCP and UDP on one number share a reservation")
    func ports() throws {
        let pod = Fixtures.pod(containers: [
            Container(name: "dns", image: ImageResolver.hostImage, command: ["/usr/sbin/dnsd"], ports: [
                ContainerPort(containerPort: 53, protocol: "UDP"), ContainerPort(containerPort: 53, protocol: "TCP"),
            ]),
            Container(name: "web", image: ImageResolver.hostImage, command: ["/usr/bin/web"], ports: [ContainerPort(name: "http", hostPort: 8080, containerPort: 8080)]),
        ])
        let group = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first)
        #expect(group.networks == [NetworkResource(reservedPorts: [Port(label: "port-53", value: 53), Port(label: "port-8080", value: 8080)])])
    }

    @Test("env values, workingDir through a shell wrapper, command + args")
    func programAndEnvironment() throws {
        let pod = Fixtures.pod { container in
            container.command = ["/usr/bin/postgres"]
            container.args = ["-D", "/var/lib/pg data"]
            container.workingDir = "/var/lib/pg data"
            container.env = [EnvVar(name: "PGPORT", value: "5432"), EnvVar(name: "EMPTY")]
        }
        let task = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks?.first)
        #expect(task.config?.command == "/bin/sh")
        #expect(task.config?.args == ["-c", "cd -- \"$0\" && exec \"$@\"", "/var/lib/pg data", "/usr/bin/postgres", "-D", "/var/lib/pg data"])
        #expect(task.env == ["PGPORT": "5432", "EMPTY": ""])
    }

    @Test("init containers become prestart tasks; sidecars (restartPolicy Always) prestart sidecars")
    func initContainers() throws {
        let pod = Fixtures.pod(initContainers: [
            Container(name: "proxy", image: ImageResolver.hostImage, command: ["/usr/bin/proxy"], restartPolicy: "Always"),
            Container(name: "migrate", image: ImageResolver.hostImage, command: ["/usr/bin/migrate"]),
        ])
        let tasks = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks)
        #expect(tasks.map(\.name) == ["proxy", "migrate", "web"])
        #expect(tasks.map(\.lifecycle) == [TaskLifecycle(hook: .prestart, sidecar: true), TaskLifecycle(hook: .prestart, sidecar: false), nil])
    }

    @Test(
        "driver from the RuntimeClass handler through the policy map",
        arguments: [(nil, nil, "raw_exec"), ("nomad-exec", nil, "exec"), ("nomad-isolated", "nomad-exec", "exec"), ("nomad-host", "nomad-raw-exec", "raw_exec")]
            as [(String?, String?, String)])
    func drivers(runtimeClass: String?, handler: String?, driver: String) throws {
        let pod = Fixtures.pod { $0.runtimeClassName = runtimeClass }
        let job = try Fixtures.translator.translate(pod, options: TranslationOptions(runtimeHandler: handler)).job
        #expect(job.taskGroups?.first?.tasks?.first?.driver == driver)
    }

    @Test("pinning adds a ${node.unique.id} constraint; restart count bases go to task Meta")
    func pinningAndRestartBase() throws {
        let options = TranslationOptions(pinnedNodeID: "2b3401d4-968d-712c-f964-58559da47414", restartCountBase: ["web": 4])
        let job = try Fixtures.translator.translate(Fixtures.pod(), options: options).job
        #expect(job.constraints == [Constraint(lTarget: "${node.unique.id}", rTarget: "2b3401d4-968d-712c-f964-58559da47414", operand: "=")])
        #expect(job.taskGroups?.first?.tasks?.first?.meta == ["k8s.restart-count-base": "4"])
    }

    @Test("a container named alloc (reserved by Nomad) becomes task alloc_, and back")
    func reservedTaskName() throws {
        let pod = Fixtures.pod(containers: [Container(name: "alloc", image: ImageResolver.hostImage, command: ["/bin/true"])])
        let task = try #require(try Fixtures.translator.translate(pod).job.taskGroups?.first?.tasks?.first)
        #expect(task.name == "alloc_")
        #expect(PodJobIdentity.containerName(forTask: "alloc_") == "alloc")
        #expect(PodJobIdentity.containerName(forTask: "web") == "web")
    }

    @Test("the job encodes to JSON Nomad reads: PascalCase keys, nanosecond durations, no nulls")
    func encoding() throws {
        let job = try Fixtures.translator.translate(Fixtures.pod()).job
        let text = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        #expect(text.contains("\"KillTimeout\":30000000000"))
        #expect(text.contains("\"TaskGroups\":["))
        #expect(!text.contains("null"))
        #expect(try JSONDecoder().decode(Job.self, from: Data(text.utf8)) == job)
    }
}

@Suite("PodTranslator refusals: every problem, with its field path")
struct PodTranslatorRefusalTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var pod: Pod
        var field: String
        var kind: TranslationProblem.Kind
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "OCI image", pod: Fixtures.pod { $0.image = "postgres:16" }, field: "spec.containers[0].image", kind: .unsupported),
        Case(label: "no image", pod: Fixtures.pod { $0.image = nil }, field: "spec.containers[0].image", kind: .unsupported),
        Case(label: "host image without command", pod: Fixtures.pod { $0.command = nil }, field: "spec.containers[0].command", kind: .invalid),
        Case(label: "NUL in args", pod: Fixtures.pod { $0.args = ["a\0b"] }, field: "spec.containers[0].args[0]", kind: .invalid),
        Case(label: "relative workingDir", pod: Fixtures.pod { $0.workingDir = "../etc" }, field: "spec.containers[0].workingDir", kind: .invalid),
        Case(
            label: "env fieldRef to an unknown field", pod: Fixtures.pod { $0.env = [EnvVar(name: "PHASE", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "status.phase")))] },
            field: "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", kind: .invalid),
        Case(label: "env name with =", pod: Fixtures.pod { $0.env = [EnvVar(name: "A=B", value: "x")] }, field: "spec.containers[0].env[0].name", kind: .invalid),
        Case(
            label: "envFrom a missing ConfigMap", pod: Fixtures.pod { $0.envFrom = [EnvFromSource(configMapRef: ConfigMapEnvSource(name: "cfg"))] },
            field: "spec.containers[0].envFrom[0].configMapRef", kind: .missing),
        Case(
            label: "GPU request", pod: Fixtures.pod { $0.resources = ResourceRequirements(limits: ["nvidia.com/gpu": "1"]) },
            field: "spec.containers[0].resources.limits.nvidia.com/gpu", kind: .unsupported),
        Case(
            label: "memory request above limit", pod: Fixtures.pod { $0.resources = ResourceRequirements(limits: ["memory": "1Gi"], requests: ["memory": "2Gi"]) },
            field: "spec.containers[0].resources.requests.memory", kind: .invalid),
        Case(
            label: "hostPort differs", pod: Fixtures.pod { $0.ports = [ContainerPort(hostPort: 80, containerPort: 8080)] },
            field: "spec.containers[0].ports[0].hostPort", kind: .unsupported),
        Case(label: "port 0", pod: Fixtures.pod { $0.ports = [ContainerPort(containerPort: 0)] }, field: "spec.containers[0].ports[0].containerPort", kind: .invalid),
        Case(
            label: "probe with two handlers",
            pod: Fixtures.pod { $0.readinessProbe = Probe(exec: ExecAction(command: ["/bin/true"]), tcpSocket: TCPSocketAction(port: 80)) },
            field: "spec.containers[0].readinessProbe", kind: .invalid),
        Case(
            label: "nfs volume", pod: Fixtures.pod(containers: [Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/true"], volumeMounts: [VolumeMount(name: "data", mountPath: "/data")])]) {
                $0.volumes = [Volume(name: "data", nfs: ["server": "nas", "path": "/export"])]
            }, field: "spec.volumes[0]", kind: .unsupported),
        Case(label: "bad restartPolicy", pod: Fixtures.pod(restartPolicy: "Sometimes"), field: "spec.restartPolicy", kind: .invalid),
        Case(label: "no containers", pod: Fixtures.pod(containers: []), field: "spec.containers", kind: .invalid),
        Case(label: "unknown RuntimeClass", pod: Fixtures.pod { $0.runtimeClassName = "kata" }, field: "spec.runtimeClassName", kind: .policy),
        Case(label: "activeDeadlineSeconds 0", pod: Fixtures.pod { $0.activeDeadlineSeconds = 0 }, field: "spec.activeDeadlineSeconds", kind: .invalid),
        Case(label: "negative grace", pod: Fixtures.pod { $0.terminationGracePeriodSeconds = -1 }, field: "spec.terminationGracePeriodSeconds", kind: .invalid),
        Case(
            label: "runAsNonRoot without a task user", pod: Fixtures.pod { $0.securityContext = PodSecurityContext(runAsNonRoot: true) },
            field: "spec.securityContext.runAsNonRoot", kind: .policy),
        Case(
            label: "duplicate container names",
            pod: Fixtures.pod(containers: [
                Container(name: "a", image: ImageResolver.hostImage, command: ["/bin/true"]), Container(name: "a", image: ImageResolver.hostImage, command: ["/bin/true"]),
            ]), field: "spec.containers[1].name", kind: .invalid),
        Case(
            label: "container name with a slash",
            pod: Fixtures.pod(containers: [Container(name: "../etc", image: ImageResolver.hostImage, command: ["/bin/true"])]), field: "spec.containers[0].name", kind: .invalid),
        Case(
            label: "same port twice",
            pod: Fixtures.pod(containers: [
                Container(name: "a", image: ImageResolver.hostImage, command: ["/bin/true"], ports: [ContainerPort(containerPort: 80)]),
                Container(name: "b", image: ImageResolver.hostImage, command: ["/bin/true"], ports: [ContainerPort(containerPort: 80)]),
            ]), field: "spec.containers[1].ports[0]", kind: .invalid),
        Case(
            label: "probe on a regular init container",
            pod: Fixtures.pod(initContainers: [
                Container(name: "one", image: ImageResolver.hostImage, command: ["/bin/true"], livenessProbe: Probe(exec: ExecAction(command: ["/bin/true"])))
            ]), field: "spec.initContainers[0].livenessProbe", kind: .invalid),
        Case(label: "missing uid", pod: Fixtures.pod(uid: ""), field: "metadata.uid", kind: .invalid),
    ]

    @Test("each field that cannot be honoured is refused, named and explained", arguments: cases)
    func refusal(_ testCase: Case) throws {
        let error = try #require(throws: TranslationError.self) { try Fixtures.translator.translate(testCase.pod) }
        let problem = try #require(error.problems.first { $0.field == testCase.field }, "problems: \(error.problems)")
        #expect(problem.kind == testCase.kind)
        #expect(!problem.reason.isEmpty)
        #expect(!problem.fix.isEmpty)
        #expect(error.description.contains(testCase.field))
    }

    @Test("all problems are listed at once, across containers")
    func allProblems() throws {
        let pod = Fixtures.pod(restartPolicy: "Sometimes", containers: [
            Container(name: "a", image: "nginx", command: ["/bin/true"]),
            Container(name: "b", image: ImageResolver.hostImage, command: ["/bin/true"], env: [EnvVar(name: "X", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "s", key: "k")))]),
        ])
        let error = try #require(throws: TranslationError.self) { try Fixtures.translator.translate(pod) }
        #expect(error == .podNotTranslatable(namespace: "", name: "", problems: []))
        #expect(Set(error.problems.map(\.field)) == ["spec.restartPolicy", "spec.containers[0].image", "spec.containers[1].env[0].valueFrom.secretKeyRef"])
        #expect(!error.isTransient, "a pod with a permanent problem fails even when a reference is also missing")
    }

    @Test("the service-account token volume without a token (translate, no cluster) is skipped with a warning, not refused")
    func serviceAccountVolume() throws {
        let pod = Fixtures.pod(containers: [
            Container(
                name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "1"],
                volumeMounts: [VolumeMount(name: "kube-api-access-6j4cg", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount")]),
        ]) { $0.volumes = [VolumeFixtures.serviceAccountVolume] }
        let translation = try Fixtures.translator.translate(pod)
        #expect(translation.warnings.map(\.field) == ["spec.volumes[0]"])
    }

    @Test("a policy Nomad would refuse surfaces as jobRejectedByValidator, not as a job")
    func badPolicy() throws {
        var policy = Fixtures.policy
        policy.logMaxFiles = 100
        let error = try #require(throws: TranslationError.self) { try PodTranslator(policy: policy).translate(Fixtures.pod()) }
        #expect(error == .jobRejectedByValidator(jobID: "", problems: []))
        #expect(error.problems.contains { $0.field == "TaskGroups[0].Tasks[0].LogConfig" })
    }
}
