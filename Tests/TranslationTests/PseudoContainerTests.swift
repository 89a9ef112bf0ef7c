import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

/// Inputs shared by the pseudo-container tests: a ConfigMap, a Secret and two PseudoImages.
enum PseudoFixtures {
    static let secretValue = "s3cr3t-Pa55"
    static let configMap = ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default"), data: ["MODE": "fast", "1st-key": "x", "tab\there": "y", "LEVEL": "$(MODE)"])
    static let secret = Secret(metadata: ObjectMeta(name: "db", namespace: "default"), data: ["password": Data(secretValue.utf8).base64EncodedString()])
    static let sha = String(repeating: "ab", count: 32)
    static let postgres = PseudoImage(
        metadata: ObjectMeta(name: "postgres"),
        spec: PseudoImageSpec(
            tags: [PseudoImageTag(name: "16", hostPath: "/usr/lib/postgresql/16/bin"), PseudoImageTag(name: "17", hostPath: "/usr/lib/postgresql/17/bin/")],
            command: ["postgres"], args: ["-D", "/var/lib/postgresql/data"], user: "postgres", uid: 999, allowedDrivers: ["raw_exec"]))
    static let tool = PseudoImage(
        metadata: ObjectMeta(name: "tool"),
        spec: PseudoImageSpec(tags: [
            PseudoImageTag(name: "1.0", url: "https://example.test/tool-1.0.tar.gz", checksum: "sha256:\(sha)", command: ["bin/tool"]),
            PseudoImageTag(name: "unverified", url: "https://example.test/tool.tar.gz", command: ["bin/tool"]),
            PseudoImageTag(name: "badsum", url: "https://example.test/tool.tar.gz", checksum: "sha256:xyz"),
            PseudoImageTag(name: "nosource"),
            PseudoImageTag(
                name: "placeholder", url: "https://example.test/tool-2.0.tar.gz", checksum: "placeholder:https://example.test/tool-2.0.tar.gz.sha256",
                command: ["bin/tool"]),
        ]))
    static let context = TranslationContext(
        configMaps: ["cfg": configMap], secrets: ["db": secret], pseudoImages: ["postgres": postgres, "tool": tool],
        nodeAllocatable: ["cpu": "8", "memory": "32Gi"])

    static func translate(_ pod: Pod, policy: TranslationPolicy = Fixtures.policy, context: TranslationContext = context) throws -> PodTranslation {
        try PodTranslator(policy: policy).translate(pod, context: context)
    }

    static func task(_ translation: PodTranslation, _ index: Int = 0) -> NomadTask? { translation.job.taskGroups?.first?.tasks?[index] }

    static func problems(_ pod: Pod, policy: TranslationPolicy = Fixtures.policy, context: TranslationContext = context) -> [TranslationProblem] {
        do {
            _ = try PodTranslator(policy: policy).translate(pod, context: context)
            return []
        } catch {
            return error.problems
        }
    }
}

@Suite("Environment: values, $(VAR) expansion, valueFrom and envFrom by the kubelet's rules")
struct EnvironmentTranslationTests {
    @Test(
        "$(VAR) expansion: defined names expand, undefined stay, $$ escapes, lone $ stays",
        arguments: [
            ("$(A)", "1"), ("x$(A)y$(B)", "x1y2"), ("$(UNDEFINED)", "$(UNDEFINED)"), ("$$(A)", "$(A)"), ("$$", "$"), ("a$b", "a$b"), ("$(A", "$(A"),
            ("end$", "end$"), ("$()", "$()"), ("ü$(A)🙂", "ü1🙂"), ("$$$(A)", "$1"),
        ])
    func expansion(input: String, expected: String) {
        let env = ["A": "1", "B": "2"]
        #expect(VariableExpansion.expand(input) { env[$0] } == expected)
    }

    @Test("env values expand against earlier variables only; command and args against the final environment")
    func valueExpansion() throws {
        let pod = Fixtures.pod { container in
            container.env = [
                EnvVar(name: "LATER_REF", value: "$(B)"), EnvVar(name: "B", value: "b"), EnvVar(name: "C", value: "$(B)-$(NOPE)"), EnvVar(name: "ESC", value: "$$(B)"),
            ]
            container.command = ["/bin/echo", "$(C)"]
            container.args = ["$(B)", "$$(B)"]
        }
        let task = try #require(PseudoFixtures.task(try PseudoFixtures.translate(pod)))
        #expect(task.env == ["LATER_REF": "$(B)", "B": "b", "C": "b-$(NOPE)", "ESC": "$(B)"])
        #expect(task.config?.command == "/bin/echo")
        #expect(task.config?.args == ["b-$(NOPE)", "b", "$(B)"])
    }

    @Test(
        "fieldRef: each supported field",
        arguments: [
            ("metadata.name", "web-0"), ("metadata.namespace", "default"), ("metadata.uid", Fixtures.uid), ("metadata.labels['app']", "web"),
            ("metadata.labels['absent']", ""), ("metadata.annotations['team']", "db"), ("spec.nodeName", "vk-nomad"), ("spec.serviceAccountName", "runner"),
            ("status.podIP", "${attr.unique.network.ip-address}"), ("status.hostIP", "${attr.unique.network.ip-address}"),
            ("status.podIPs", "${attr.unique.network.ip-address}"),
        ])
    func fieldRef(path: String, expected: String) throws {
        var pod = Fixtures.pod { $0.env = [EnvVar(name: "V", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: path)))] }
        pod.metadata.labels = ["app": "web"]
        pod.metadata.annotations = ["team": "db"]
        pod.spec?.serviceAccountName = "runner"
        let task = try #require(PseudoFixtures.task(try PseudoFixtures.translate(pod)))
        #expect(task.env?["V"] == expected)
    }

    @Test(
        "resourceFieldRef: requests and limits with divisors, rounded up; an unset limit is the node's allocatable",
        arguments: [
            ("limits.cpu", nil, "2"), ("requests.cpu", "1m", "250"), ("requests.cpu", nil, "1"), ("limits.memory", "1Mi", "512"), ("requests.memory", nil, "268435456"),
            ("limits.ephemeral-storage", "1Gi", "32"), ("requests.ephemeral-storage", nil, "0"),
        ] as [(String, String?, String)])
    func resourceFieldRef(resource: String, divisor: String?, expected: String) throws {
        let divisorQuantity = try divisor.map { try Quantity($0) }
        let pod = Fixtures.pod { container in
            container.resources = ResourceRequirements(limits: ["cpu": "1500m", "memory": "512Mi"], requests: ["cpu": "250m", "memory": "256Mi"])
            container.env = [EnvVar(name: "V", valueFrom: EnvVarSource(resourceFieldRef: ResourceFieldSelector(resource: resource, divisor: divisorQuantity)))]
        }
        var context = PseudoFixtures.context
        context.nodeAllocatable["ephemeral-storage"] = "32Gi"
        let task = try #require(PseudoFixtures.task(try PseudoFixtures.translate(pod, context: context)))
        #expect(task.env?["V"] == expected)
    }

    @Test("configMapKeyRef and secretKeyRef read their keys; optional references to missing things leave the variable out")
    func keyRefs() throws {
        let pod = Fixtures.pod { container in
            container.env = [
                EnvVar(name: "MODE", valueFrom: EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "cfg", key: "MODE"))),
                EnvVar(name: "PASSWORD", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "db", key: "password"))),
                EnvVar(name: "GONE", valueFrom: EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "nope", key: "x", optional: true))),
                EnvVar(name: "NOKEY", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "db", key: "user", optional: true))),
                EnvVar(name: "DSN", value: "postgres://app:$(PASSWORD)@db"),
            ]
        }
        let translation = try PseudoFixtures.translate(pod)
        let task = try #require(PseudoFixtures.task(translation))
        #expect(task.env == ["MODE": "fast", "PASSWORD": PseudoFixtures.secretValue, "DSN": "postgres://app:\(PseudoFixtures.secretValue)@db"])
    }

    @Test(
        "a missing ConfigMap, Secret or key keeps the pod waiting (transient), with the kubelet's words",
        arguments: [
            (EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "nope", key: "x")), "spec.containers[0].env[0].valueFrom.configMapKeyRef", "configmap \"nope\" not found"),
            (EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "cfg", key: "x")), "spec.containers[0].env[0].valueFrom.configMapKeyRef.key", "couldn't find key x in ConfigMap default/cfg"),
            (EnvVarSource(secretKeyRef: SecretKeySelector(name: "nope", key: "x")), "spec.containers[0].env[0].valueFrom.secretKeyRef", "secret \"nope\" not found"),
            (EnvVarSource(secretKeyRef: SecretKeySelector(name: "db", key: "x")), "spec.containers[0].env[0].valueFrom.secretKeyRef.key", "couldn't find key x in Secret default/db"),
        ])
    func missingReferences(source: EnvVarSource, field: String, reason: String) throws {
        let pod = Fixtures.pod { $0.env = [EnvVar(name: "V", valueFrom: source)] }
        let error = try #require(throws: TranslationError.self) { try PseudoFixtures.translate(pod) }
        #expect(error.isTransient)
        #expect(error.problems.map(\.field) == [field])
        #expect(error.problems.first?.kind == .missing)
        #expect(error.problems.first?.reason == reason)
    }

    @Test("envFrom: every key with the prefix (v1.34+ rules: '1st-key' too), env overrides envFrom, a name an environment cannot hold skipped with a kubelet-worded warning")
    func envFrom() throws {
        let pod = Fixtures.pod { container in
            container.envFrom = [
                EnvFromSource(configMapRef: ConfigMapEnvSource(name: "cfg")), EnvFromSource(prefix: "DB_", secretRef: SecretEnvSource(name: "db")),
                EnvFromSource(configMapRef: ConfigMapEnvSource(name: "absent", optional: true)),
            ]
            container.env = [EnvVar(name: "MODE", value: "slow-$(MODE)")]
        }
        let translation = try PseudoFixtures.translate(pod)
        let task = try #require(PseudoFixtures.task(translation))
        #expect(task.env == ["MODE": "slow-fast", "LEVEL": "$(MODE)", "1st-key": "x", "DB_password": PseudoFixtures.secretValue])
        let warning = try #require(translation.warnings.first { $0.eventReason == "InvalidEnvironmentVariableNames" })
        #expect(warning.reason == "Keys [tab\there] from the EnvFrom configMap default/cfg were skipped since they are considered invalid environment variable names.")
        #expect(warning.field == "spec.containers[0].envFrom[0]")
    }

    @Test("Secret values never appear in the redacted job, in problems or in warnings")
    func redaction() throws {
        let pod = Fixtures.pod { container in
            container.envFrom = [EnvFromSource(secretRef: SecretEnvSource(name: "db"))]
            container.env = [
                EnvVar(name: "PW", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "db", key: "password"))), EnvVar(name: "URL", value: "x://u:$(PW)@h"),
            ]
            container.args = ["--password=$(PW)"]
        }
        let translation = try PseudoFixtures.translate(pod)
        let real = String(decoding: try JSONEncoder().encode(translation.job), as: UTF8.self)
        let redacted = String(decoding: try JSONEncoder().encode(translation.redactedJob), as: UTF8.self)
        #expect(real.contains(PseudoFixtures.secretValue))
        #expect(!redacted.contains(PseudoFixtures.secretValue))
        let task = try #require(translation.redactedJob.taskGroups?.first?.tasks?.first)
        #expect(task.env?["PW"] == PodTranslator.redactedValue)
        #expect(task.env?["URL"] == "x://u:\(PodTranslator.redactedValue)@h")
        #expect(task.config?.args?.last == "--password=\(PodTranslator.redactedValue)")

        // A Secret value with a NUL: refused, without quoting the value.
        var context = PseudoFixtures.context
        context.secrets["db"] = Secret(metadata: ObjectMeta(name: "db"), stringData: ["password": "\(PseudoFixtures.secretValue)\0"])
        let error = try #require(throws: TranslationError.self) { try PseudoFixtures.translate(pod, context: context) }
        #expect(!error.description.contains(PseudoFixtures.secretValue))
    }

    @Test("on Nomad 1.4+ Secret env and files move into the job's Variable; the job keeps only nomadVar references")
    func secretsThroughVariable() throws {
        var container = Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"])
        container.env = [
            EnvVar(name: "PW", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "db", key: "password"))), EnvVar(name: "URL", value: "x://u:$(PW)@h"),
            EnvVar(name: "PLAIN", value: "visible"),
        ]
        container.volumeMounts = [VolumeMount(name: "creds", mountPath: "/etc/creds")]
        let pod = Fixtures.pod(containers: [container]) { spec in
            spec.volumes = [Volume(name: "creds", secret: SecretVolumeSource(secretName: "db"))]
        }
        let translation = try PseudoFixtures.translate(pod)
        let (job, variable) = translation.deliveringSecretsThroughVariable(nodeName: "vk-1")
        let secretVariable = try #require(variable)
        #expect(secretVariable.path == "nomad/jobs/\(translation.identity.jobID)")
        #expect(!String(decoding: try JSONEncoder().encode(job), as: UTF8.self).contains(PseudoFixtures.secretValue))
        let decoded = Set(secretVariable.items.values.compactMap { Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) } })
        #expect(decoded.isSuperset(of: [PseudoFixtures.secretValue, "x://u:\(PseudoFixtures.secretValue)@h", "vk-1"]))
        let task = try #require(job.taskGroups?.first?.tasks?.first)
        #expect(task.env?["PW"] == nil && task.env?["URL"] == nil)
        #expect(task.env?["PLAIN"] == "visible", "values not from a Secret stay in the job")
        let environment = try #require(task.templates?.first { $0.destPath == SecretVariable.environmentTemplatePath })
        #expect(environment.envvars == true && environment.changeMode == "noop")
        #expect(environment.embeddedTmpl?.contains("PW={{ (index . \"t0_env_0\").Value | base64Decode | toJSON }}") == true)
        #expect(environment.embeddedTmpl?.hasPrefix("{{ with nomadVar \"\(secretVariable.path)\" }}") == true)
        let file = try #require(task.templates?.first { ($0.destPath ?? "").hasSuffix("/creds/password") })
        #expect(file.embeddedTmpl == "{{ with nomadVar \"\(secretVariable.path)\" }}{{ (index . \"t0_file_0\").Value | base64Decode }}{{ end }}")
        #expect(secretVariable.items["t0_file_0"] == Data(PseudoFixtures.secretValue.utf8).base64EncodedString())

        // A pod without Secrets: the job as it was, no variable.
        let plain = try PseudoFixtures.translate(Fixtures.pod { $0.env = [EnvVar(name: "A", value: "b")] })
        let unchanged = plain.deliveringSecretsThroughVariable(nodeName: "vk-1")
        #expect(unchanged.variable == nil)
        #expect(unchanged.job == plain.job)
    }

    @Test("the references a pod makes are what the agent fetches")
    func references() {
        let pod = Fixtures.pod(
            containers: [
                Container(
                    name: "web", image: "nomad-kubelet.io/postgres:16",
                    envFrom: [EnvFromSource(configMapRef: ConfigMapEnvSource(name: "a")), EnvFromSource(secretRef: SecretEnvSource(name: "b"))],
                    env: [EnvVar(name: "X", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "c", key: "k")))])
            ],
            initContainers: [Container(name: "init", image: "nomad-kubelet.io/tool", env: [EnvVar(name: "Y", valueFrom: EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "d", key: "k")))])])
        let references = PodReferences(of: pod)
        #expect(references.configMaps == ["a", "d"])
        #expect(references.secrets == ["b", "c"])
        #expect(references.pseudoImages == ["postgres", "tool"])
    }
}

@Suite("Images: nomad-kubelet.io/host and PseudoImages")
struct PseudoImageTranslationTests {
    @Test("image references parse to name and tag (latest by default); other images are not references")
    func references() {
        #expect(PseudoImageReference("nomad-kubelet.io/postgres:16") == PseudoImageReference("nomad-kubelet.io/postgres:16"))
        #expect(PseudoImageReference("nomad-kubelet.io/postgres:16")?.tag == "16")
        #expect(PseudoImageReference("nomad-kubelet.io/postgres")?.tag == "latest")
        #expect(PseudoImageReference("nomad-kubelet.io/host") == nil)
        #expect(PseudoImageReference("postgres:16") == nil)
        #expect(PseudoImageReference("nomad-kubelet.io/a/b:1") == nil)
    }

    @Test("a host-path tag runs its default command from that directory, as the image's user")
    func hostPathImage() throws {
        let pod = Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:16"; $0.command = nil }
        let task = try #require(PseudoFixtures.task(try PseudoFixtures.translate(pod)))
        #expect(task.config?.command == "/usr/lib/postgresql/16/bin/postgres")
        #expect(task.config?.args == ["-D", "/var/lib/postgresql/data"])
        #expect(task.user == "postgres")
        #expect(task.artifacts == nil)
        // args replace the image's default args; a trailing slash on hostPath is harmless.
        let other = Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:17"; $0.command = nil; $0.args = ["--version"] }
        let otherTask = try #require(PseudoFixtures.task(try PseudoFixtures.translate(other)))
        #expect(otherTask.config?.command == "/usr/lib/postgresql/17/bin/postgres")
        #expect(otherTask.config?.args == ["--version"])
    }

    @Test("a URL tag becomes an artifact with its checksum, unpacked into the task directory, run from there")
    func artifactImage() throws {
        let pod = Fixtures.pod { $0.image = "nomad-kubelet.io/tool:1.0"; $0.command = nil }
        let task = try #require(PseudoFixtures.task(try PseudoFixtures.translate(pod)))
        #expect(task.artifacts == [TaskArtifact(getterSource: "https://example.test/tool-1.0.tar.gz", getterOptions: ["checksum": "sha256:\(PseudoFixtures.sha)"], relativeDest: "local/tool")])
        #expect(task.config?.command == "${NOMAD_TASK_DIR}/tool/bin/tool")
    }

    @Test("changing the tag changes the job (an image change, rolled out like one)")
    func tagChange() throws {
        let sixteen = try PseudoFixtures.translate(Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:16"; $0.command = nil })
        let seventeen = try PseudoFixtures.translate(Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:17"; $0.command = nil })
        #expect(sixteen.job != seventeen.job)
    }

    @Test(
        "a missing PseudoImage or tag waits like an image pull; a broken tag is refused",
        arguments: [
            ("nomad-kubelet.io/mysql:8", TranslationProblem.Kind.missing, "PseudoImage \"mysql\" not found"), ("nomad-kubelet.io/postgres:9", .missing, "has no tag \"9\""),
            ("nomad-kubelet.io/tool:unverified", .unsupported, "no checksum"), ("nomad-kubelet.io/tool:badsum", .unsupported, "not <type>:<hex digest>"),
            ("nomad-kubelet.io/tool:nosource", .unsupported, "neither hostPath nor url"), ("postgres:16", .unsupported, "not OCI images"),
        ])
    func imageProblems(image: String, kind: TranslationProblem.Kind, reason: String) {
        let problems = PseudoFixtures.problems(Fixtures.pod { $0.image = image })
        #expect(problems.map(\.field) == ["spec.containers[0].image"])
        #expect(problems.first?.kind == kind)
        #expect(problems.first?.reason.contains(reason) == true, "\(problems)")
    }

    @Test("a checksum placeholder keeps the pod waiting with a message naming the PseudoImage, the tag and where the vendor publishes the checksum, even on a node allowing unverified artifacts")
    func checksumPlaceholder() throws {
        var lenient = Fixtures.policy
        lenient.allowUnverifiedArtifacts = true
        for policy in [Fixtures.policy, lenient] {
            let problems = PseudoFixtures.problems(Fixtures.pod { $0.image = "nomad-kubelet.io/tool:placeholder"; $0.command = nil }, policy: policy)
            let problem = try #require(problems.first)
            #expect(problems.map(\.field) == ["spec.containers[0].image"])
            #expect(problem.kind == .missing, "waits (ErrImagePull) until the PseudoImage gets its checksum, instead of failing the pod")
            #expect(problem.reason.contains("PseudoImage \"tool\" tag \"placeholder\" has a checksum placeholder"))
            #expect(problem.reason.contains("https://example.test/tool-2.0.tar.gz"))
            #expect(problem.reason.contains("publishes at https://example.test/tool-2.0.tar.gz.sha256"))
            #expect(problem.fix.contains("publishes at https://example.test/tool-2.0.tar.gz.sha256"))
            #expect(problem.fix.contains("sha256:<64 hex digits>"))
        }
        #expect(ChecksumPlaceholder.checksumLocation("placeholder:https://vendor.test/SHA256SUMS") == "https://vendor.test/SHA256SUMS")
        #expect(ChecksumPlaceholder.checksumLocation("sha256:\(PseudoFixtures.sha)") == nil)
    }

    @Test("policy.allowUnverifiedArtifacts accepts a tag without checksum, with a warning to event")
    func unverifiedAllowed() throws {
        var policy = Fixtures.policy
        policy.allowUnverifiedArtifacts = true
        let translation = try PseudoFixtures.translate(Fixtures.pod { $0.image = "nomad-kubelet.io/tool:unverified"; $0.command = nil }, policy: policy)
        #expect(PseudoFixtures.task(translation)?.artifacts?.first?.getterOptions == nil)
        #expect(translation.warnings.contains { $0.eventReason == "UnverifiedArtifact" && $0.field == "spec.containers[0].image" })
    }

    @Test("a PseudoImage's allowed drivers are enforced")
    func allowedDrivers() {
        let problems = PseudoFixtures.problems(Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:16"; $0.command = nil } .with { $0.spec?.runtimeClassName = "nomad-exec" })
        #expect(problems.map(\.field) == ["spec.containers[0].image"])
        #expect(problems.first?.kind == .policy)
    }
}

@Suite("Driver, user and security settings")
struct SecurityTranslationTests {
    @Test("the driver annotation is refused unless policy.allowDriverOverride, and then must be a known driver")
    func driverOverride() throws {
        let pod = Fixtures.pod().with { $0.metadata.annotations = [PodTranslator.driverAnnotation: "exec"] }
        #expect(PseudoFixtures.problems(pod).map(\.field) == ["metadata.annotations['nomad-kubelet.io/driver']"])
        var policy = Fixtures.policy
        policy.allowDriverOverride = true
        #expect(PseudoFixtures.task(try PseudoFixtures.translate(pod, policy: policy))?.driver == "exec")
        let unknown = Fixtures.pod().with { $0.metadata.annotations = [PodTranslator.driverAnnotation: "docker"] }
        #expect(PseudoFixtures.problems(unknown, policy: policy).first?.kind == .policy)
    }

    @Test("the task user: annotation, else the PseudoImage's, else policy.taskUser (defaultUser)")
    func taskUser() throws {
        var policy = Fixtures.policy
        policy.taskUser = "nobody"
        #expect(PseudoFixtures.task(try PseudoFixtures.translate(Fixtures.pod(), policy: policy))?.user == "nobody")
        let image = Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:16"; $0.command = nil }
        #expect(PseudoFixtures.task(try PseudoFixtures.translate(image, policy: policy))?.user == "postgres")
        let annotated = image.with { $0.metadata.annotations = [PodTranslator.userAnnotation: "app"] }
        #expect(PseudoFixtures.task(try PseudoFixtures.translate(annotated, policy: policy))?.user == "app")
        let root = Fixtures.pod().with { $0.metadata.annotations = [PodTranslator.userAnnotation: "root"] }
        #expect(PseudoFixtures.problems(root, policy: policy).first?.kind == .policy)
    }

    @Test("runAsUser is checked against a known uid; unknown uids are accepted with a warning; runAsNonRoot refuses root")
    func runAs() throws {
        let image = Fixtures.pod { $0.image = "nomad-kubelet.io/postgres:16"; $0.command = nil }
        let matching = PseudoFixtures.problems(image.with { $0.spec?.securityContext = PodSecurityContext(runAsUser: 999, runAsNonRoot: true) })
        #expect(matching.isEmpty)
        let mismatched = PseudoFixtures.problems(image.with { $0.spec?.containers[0].securityContext = SecurityContext(runAsUser: 1000) })
        #expect(mismatched.map(\.field) == ["spec.containers[0].securityContext.runAsUser"])
        var policy = Fixtures.policy
        policy.taskUser = "nobody"
        let unknownPod = Fixtures.pod().with { $0.spec?.securityContext = PodSecurityContext(runAsUser: 65534) }
        let unknown = try PseudoFixtures.translate(unknownPod, policy: policy)
        #expect(unknown.warnings.contains { $0.field == "spec.securityContext.runAsUser" })
        policy.taskUser = "root"
        let nonRoot = PseudoFixtures.problems(Fixtures.pod().with { $0.spec?.securityContext = PodSecurityContext(runAsNonRoot: true) }, policy: policy)
        #expect(nonRoot.first?.kind == .invalid)
        let group = PseudoFixtures.problems(Fixtures.pod().with { $0.spec?.securityContext = PodSecurityContext(runAsGroup: 5) })
        #expect(group.map(\.field) == ["spec.securityContext.runAsGroup"])
    }

    @Test(
        "privileged requests are refused unless policy.allowPrivileged",
        arguments: [
            "spec.containers[0].securityContext.privileged", "spec.containers[0].securityContext.capabilities.add",
            "spec.containers[0].securityContext.allowPrivilegeEscalation", "spec.hostPID", "spec.hostIPC",
        ])
    func privileged(field: String) throws {
        var pod = Fixtures.pod()
        switch field {
        case "spec.containers[0].securityContext.privileged": pod.spec?.containers[0].securityContext = SecurityContext(privileged: true)
        case "spec.containers[0].securityContext.capabilities.add": pod.spec?.containers[0].securityContext = SecurityContext(capabilities: Capabilities(add: ["NET_ADMIN"]))
        case "spec.containers[0].securityContext.allowPrivilegeEscalation": pod.spec?.containers[0].securityContext = SecurityContext(allowPrivilegeEscalation: true)
        case "spec.hostPID": pod.spec?.hostPID = true
        default: pod.spec?.hostIPC = true
        }
        let problems = PseudoFixtures.problems(pod)
        #expect(problems.map(\.field) == [field])
        #expect(problems.first?.kind == .policy)
        var policy = Fixtures.policy
        policy.allowPrivileged = true
        #expect(PseudoFixtures.problems(pod, policy: policy).isEmpty)
    }

    @Test("restrictions a host process cannot honour are accepted with a warning")
    func unenforced() throws {
        let pod = Fixtures.pod().with { $0.spec?.containers[0].securityContext = SecurityContext(capabilities: Capabilities(drop: ["ALL"]), readOnlyRootFilesystem: true) }
        let translation = try PseudoFixtures.translate(pod)
        #expect(translation.warnings.contains { $0.eventReason == "SecurityContextNotEnforced" })
    }
}

extension Pod {
    /// A copy changed by `change`.
    func with(_ change: (inout Pod) -> Void) -> Pod {
        var copy = self
        change(&copy)
        return copy
    }
}
