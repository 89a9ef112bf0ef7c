import Agent
import Foundation
import KubernetesClient
import KubernetesModels
import NomadClient
import NomadModels
import TestCleanup
import Testing
import TestSupport
import Translation

/// Volumes end to end: files a process reads at its mount path (relative to `$NOMAD_KUBELET_ROOT`
/// with raw_exec), kept in step with their sources without restarting it.
@Suite("Agent end to end: volumes", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct VolumeEndToEndTests {
    /// A shell loop that copies `source` (relative to the container's root) to `output` of the work
    /// directory every 200 ms, after writing its PID to `pidFile`.
    static func copyLoop(_ harness: AgentHarness, source: String, output: String, pidFile: String) -> String {
        let out = harness.workDirectory.appendingPathComponent(output).path
        return harness.pidScript(
            pidFile, then: "/bin/sh -c 'while true; do cat \"$NOMAD_KUBELET_ROOT\(source)\" > \(out).tmp 2>/dev/null && mv \(out).tmp \(out); sleep 0.2; done'")
    }

    static func contents(_ harness: AgentHarness, _ file: String) -> String? {
        try? String(contentsOfFile: harness.workDirectory.appendingPathComponent(file).path, encoding: .utf8)
    }

    @Test("a config file from a ConfigMap is readable by the process, and an update reaches it without a restart")
    func configMapFileAndUpdate() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(ConfigMap(metadata: ObjectMeta(name: "app-config"), data: ["app.conf": "version=1\n"]), namespace: harness.namespace)
        var pod = harness.pod("configured", script: Self.copyLoop(harness, source: "/etc/app/app.conf", output: "app.conf", pidFile: "configured.pid"))
        pod.spec?.volumes = [Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config"))]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "config", mountPath: "/etc/app")]
        _ = try await harness.admin.create(pod)

        try await eventually("the process to read version=1 from /etc/app/app.conf") { Self.contents(harness, "app.conf") == "version=1\n" ? true : nil }
        let pid = try await harness.pid("configured.pid")

        _ = try await harness.admin.patch(
            ConfigMap.self, name: "app-config", namespace: harness.namespace, patch: .merge(["data": ["app.conf": "version=2\n"]]))
        try await eventually("the process to read version=2 after the ConfigMap update", timeout: .seconds(90)) {
            Self.contents(harness, "app.conf") == "version=2\n" ? true : nil
        }
        #expect(processExists(pid), "the same process reads the new file")
        #expect(try await harness.pid("configured.pid") == pid)
        let current = try #require(try await harness.readPod("configured"))
        #expect(current.mainStatus?.restartCount == 0)
        #expect(try await harness.jobsOfNode().first?.version == 0, "the job was not re-registered")
    }

    @Test("a ConfigMap that does not exist yet keeps the pod waiting with FailedMount; created, the pod runs")
    func missingConfigMapWaits() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        var pod = harness.pod("waiting", script: Self.copyLoop(harness, source: "/etc/app/app.conf", output: "late.conf", pidFile: "waiting.pid"))
        pod.spec?.volumes = [Volume(name: "config", configMap: ConfigMapVolumeSource(name: "late-config"))]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "config", mountPath: "/etc/app")]
        let created = try await harness.admin.create(pod)
        try await eventually("a FailedMount event naming configmap late-config") { () -> Bool? in
            let events = try await harness.admin.listAll(Event.self, namespace: harness.namespace).items
            return events.contains { $0.involvedObject.uid == created.metadata.uid && $0.reason == "FailedMount" && $0.message?.contains("configmap \"late-config\" not found") == true }
                ? true : nil
        }
        #expect(try await harness.readPod("waiting")?.status?.phase != "Failed")
        _ = try await harness.admin.create(ConfigMap(metadata: ObjectMeta(name: "late-config"), data: ["app.conf": "late\n"]), namespace: harness.namespace)
        try await eventually("the process to read the ConfigMap created late", timeout: .seconds(60)) { Self.contents(harness, "late.conf") == "late\n" ? true : nil }
    }

    @Test("the service-account token file is readable by the process and valid (TokenReview), with ca.crt and namespace")
    func serviceAccountToken() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let directory = "/var/run/secrets/kubernetes.io/serviceaccount"
        let out = harness.workDirectory.path
        let script = "cp \"$NOMAD_KUBELET_ROOT\(directory)/namespace\" \(out)/namespace && cp \"$NOMAD_KUBELET_ROOT\(directory)/ca.crt\" \(out)/ca.crt && "
            + "cp \"$NOMAD_KUBELET_ROOT\(directory)/token\" \(out)/token.tmp && mv \(out)/token.tmp \(out)/token; exec sleep 300"
        let created = try await harness.admin.create(harness.pod("tokened", script: script))
        #expect(created.spec?.volumes?.contains { $0.name.hasPrefix("kube-api-access-") } == true, "the API server adds the token volume")

        let token = try await eventually("the process to copy its service-account token") { Self.contents(harness, "token").flatMap { $0.isEmpty ? nil : $0 } }
        #expect(Self.contents(harness, "namespace") == harness.namespace)
        #expect(Self.contents(harness, "ca.crt")?.contains("BEGIN CERTIFICATE") == true)
        let review = try await harness.admin.create(TokenReview(spec: TokenReviewSpec(token: token)))
        #expect(review.status?.authenticated == true, "\(String(describing: review.status))")
        #expect(review.status?.user?.username == "system:serviceaccount:\(harness.namespace):default")
    }

    @Test("automountServiceAccountToken: false leaves the token out")
    func noAutomount() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let out = harness.workDirectory.appendingPathComponent("listing").path
        var pod = harness.pod("untokened", script: "ls \"$NOMAD_KUBELET_ROOT/var/run/secrets\" > \(out) 2>&1; echo done >> \(out); exec sleep 300")
        pod.spec?.automountServiceAccountToken = false
        _ = try await harness.admin.create(pod)
        let listing = try await eventually("the process to list its secrets directory") { Self.contents(harness, "listing").flatMap { $0.contains("done") ? $0 : nil } }
        #expect(!listing.contains("kubernetes.io"))
        let task = try #require(try await harness.jobsOfNode().first?.taskGroups?.first?.tasks?.first)
        #expect(task.templates == nil)
    }

    @Test("a downwardAPI volume holds the pod's labels as the kubelet writes them")
    func downwardAPILabels() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        var pod = harness.pod("labelled", script: Self.copyLoop(harness, source: "/etc/podinfo/labels", output: "labels", pidFile: "labelled.pid"))
        pod.metadata.labels = ["app": "labelled", "tier": "db"]
        pod.spec?.volumes = [Volume(name: "podinfo", downwardAPI: DownwardAPIVolumeSource(items: [DownwardAPIVolumeFile(path: "labels", fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels"))]))]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "podinfo", mountPath: "/etc/podinfo")]
        _ = try await harness.admin.create(pod)
        try await eventually("the process to read the labels file") { Self.contents(harness, "labels") == "app=\"labelled\"\ntier=\"db\"" ? true : nil }
        _ = try await harness.admin.patch(Pod.self, name: "labelled", namespace: harness.namespace, patch: .merge(["metadata": ["labels": ["tier": "cache"]]]))
        try await eventually("the labels file to follow the label change", timeout: .seconds(60)) {
            Self.contents(harness, "labels") == "app=\"labelled\"\ntier=\"cache\"" ? true : nil
        }
    }

    @Test("an emptyDir is shared by the pod's two containers")
    func emptyDirSharedByTwoContainers() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let out = harness.workDirectory.appendingPathComponent("shared").path
        var pod = harness.pod("sharing", script: "echo from-writer > \"$NOMAD_KUBELET_ROOT/data/message\"; exec sleep 300")
        pod.spec?.containers.append(
            Container(
                name: "reader", image: ImageResolver.hostImage,
                command: ["/bin/sh", "-c", "while ! cp \"$NOMAD_KUBELET_ROOT/in/message\" \(out) 2>/dev/null; do sleep 0.2; done; exec sleep 300"]))
        pod.spec?.volumes = [Volume(name: "scratch", emptyDir: EmptyDirVolumeSource())]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "scratch", mountPath: "/data")]
        pod.spec?.containers[1].volumeMounts = [VolumeMount(name: "scratch", mountPath: "/in")]
        _ = try await harness.admin.create(pod)
        try await eventually("the reader to see the writer's file") { Self.contents(harness, "shared") == "from-writer\n" ? true : nil }
    }

    @Test("a hostPath outside the node's roots is refused: Failed with a condition and an Event naming the field, no job")
    func hostPathOutsideRootsRefused() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        var pod = harness.pod("hosty", script: "exec sleep 300")
        pod.spec?.volumes = [Volume(name: "etc", hostPath: HostPathVolumeSource(path: "/etc", type: "Directory"))]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "etc", mountPath: "/host-etc")]
        let created = try await harness.admin.create(pod)
        let failed = try await harness.waitForPod("hosty", "Failed for the hostPath") { $0.status?.phase == "Failed" }
        #expect(failed.status?.message?.contains("spec.volumes[0].hostPath.path") == true)
        #expect(failed.status?.conditions?.contains { $0.type == PodController.translatedCondition && $0.status == "False" } == true)
        try await eventually("a Failed event naming spec.volumes[0].hostPath.path") { () -> Bool? in
            let events = try await harness.admin.listAll(Event.self, namespace: harness.namespace).items
            return events.contains { $0.involvedObject.uid == created.metadata.uid && $0.reason == "Failed" && $0.message?.contains("spec.volumes[0].hostPath.path") == true }
                ? true : nil
        }
        #expect(try await harness.jobsOfNode().isEmpty)
    }
}

/// Secret delivery: through the job's Nomad Variable where Nomad has Variables (1.4+; the simulator
/// reports such a version), inline in the job with a `SecretsInline` Warning before that (the real
/// Nomad 1.1.2 here). Either way the process sees the values.
@Suite("Agent end to end: Secret delivery", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct SecretDeliveryEndToEndTests {
    @Test("Secret env and files reach the process; on Nomad 1.4+ only through the job's Variable, which goes with the job", arguments: ["1.1.2", "1.8.0"])
    func secretDelivery(simulatedVersion: String) async throws {
        let harness = try await AgentHarness.start(nomadVersion: simulatedVersion)
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let secretValue = "hunter2 \"quoted\" <&> $HOME"
        _ = try await harness.admin.create(
            Secret(metadata: ObjectMeta(name: "db-credentials"), values: ["password": Data(secretValue.utf8), "user": Data("app".utf8)]), namespace: harness.namespace)
        let out = harness.workDirectory.appendingPathComponent("seen").path
        var pod = harness.pod(
            "secretive",
            script: "{ printf '%s\\n' \"$PASSWORD\"; cat \"$NOMAD_KUBELET_ROOT/etc/creds/user\"; echo; } > \(out).tmp && mv \(out).tmp \(out); exec sleep 300")
        pod.spec?.volumes = [Volume(name: "creds", secret: SecretVolumeSource(secretName: "db-credentials"))]
        pod.spec?.containers[0].volumeMounts = [VolumeMount(name: "creds", mountPath: "/etc/creds")]
        pod.spec?.containers[0].env = [EnvVar(name: "PASSWORD", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "db-credentials", key: "password")))]
        let created = try await harness.admin.create(pod)

        let seen = try await eventually("the process to write what it sees", timeout: .seconds(60)) { VolumeEndToEndTests.contents(harness, "seen") }
        #expect(seen == "\(secretValue)\napp\n")
        let jobID = PodJobIdentity.jobID(namespace: harness.namespace, name: "secretive", uid: created.metadata.uid ?? "")
        let job = try await harness.nomad.job(jobID).value
        let jobText = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        let variablePath = SecretVariable.path(jobID: jobID)
        if try await harness.nomad.version().hasVariables {
            #expect(!jobText.contains("hunter2"), "no Secret value in the registered job")
            let variable = try #require(try await harness.nomad.variable(path: variablePath), "the job's variable exists")
            #expect(variable.items?.values.contains(Data(secretValue.utf8).base64EncodedString()) == true)
            try await harness.admin.delete(Pod.self, name: "secretive", namespace: harness.namespace, options: DeleteOptions(gracePeriodSeconds: 0))
            try await eventually("the job's variable to be deleted with the job", timeout: .seconds(60)) {
                try await harness.nomad.variable(path: variablePath) == nil ? true : nil
            }
        } else {
            #expect(jobText.contains("hunter2"), "before Variables the value is inline in the job")
            try await eventually("a SecretsInline warning on the pod") {
                let events = try await harness.admin.list(Event.self, namespace: harness.namespace).items
                return events.contains { $0.reason == "SecretsInline" && $0.involvedObject.name == "secretive" && !($0.message ?? "").contains("hunter2") } ? true : nil
            }
        }
    }
}
