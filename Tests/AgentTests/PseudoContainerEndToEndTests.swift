import Agent
import Foundation
import KubernetesClient
import KubernetesModels
import NomadModels
import TestCleanup
import Testing
import TestSupport
import Translation

/// Pseudo-container stories end to end: what a pod references reaches its process, PseudoImages
/// are downloaded (checksum-checked), unpacked and run, and what is missing keeps the pod Pending.
@Suite("Pseudo-containers end to end", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct PseudoContainerEndToEndTests {
    /// The shipped manifests, applied as an administrator would (CRD, then the agent's RBAC), and the
    /// simulator's flattened equivalent of that RBAC.
    static let pseudoImageReader = AccessGrant(
        groups: ["system:nodes"], rules: [AccessRule(verbs: ["get", "list", "watch"], apiGroups: ["nomad-kubelet.io"], resources: ["pseudoimages"])])

    static func startHarness() async throws -> AgentHarness {
        var configuration = KubernetesSimulator.Configuration()
        configuration.accessGrants = [pseudoImageReader]
        let harness = try await AgentHarness.start(kubernetesConfiguration: configuration)
        do {
            try await applyManifest("manifests/pseudoimage-crd.yaml", harness: harness)
            try await applyManifest("manifests/agent-rbac.yaml", harness: harness)
            // The CRD serves once established.
            try await eventually("the PseudoImage CRD to serve") {
                (try? await harness.admin.list(PseudoImage.self)) != nil ? true : nil
            }
        } catch {
            await harness.shutdown()
            throw error
        }
        return harness
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func applyManifest(_ path: String, harness: AgentHarness) async throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        for document in try ManifestYAML.documents(text) where document != .null {
            let apiVersion = document["apiVersion"]?.stringValue ?? ""
            let parts = apiVersion.split(separator: "/").map(String.init)
            let plural = [
                "CustomResourceDefinition": "customresourcedefinitions", "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
                "RuntimeClass": "runtimeclasses",
            ][document["kind"]?.stringValue ?? ""]
            let type = ResourceType(group: parts.count == 2 ? parts[0] : "", version: parts.last ?? "v1", plural: plural ?? "", isNamespaced: false)
            do {
                _ = try await harness.admin.create(type, object: document)
            } catch let error as KubernetesClientError where error.kind == .alreadyExists {
                // A reused cluster holds an earlier run's copy, perhaps of an older manifest: replace it
                // (tests running side by side may replace it at the same time: retry on a conflict).
                for attempt in 1...5 {
                    let current = try await harness.admin.get(type, name: document["metadata"]?["name"]?.stringValue ?? "")
                    var replacement = document
                    replacement["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
                    do {
                        _ = try await harness.admin.update(type, object: replacement)
                        break
                    } catch let error as KubernetesClientError where error.kind == .conflict && attempt < 5 {
                        continue
                    }
                }
            } catch let error as KubernetesClientError where error.kind == .notFound && harness.kubernetesSimulator != nil && plural != "customresourcedefinitions" {
                continue  // the simulator has no RBAC objects; its grant above stands in for them
            }
        }
    }

    func file(_ harness: AgentHarness, _ name: String) -> String { harness.workDirectory.appendingPathComponent(name).path }

    func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("env from a value, fieldRef, resourceFieldRef, ConfigMap, Secret and envFrom reaches the process")
    func environmentReachesProcess() async throws {
        let harness = try await Self.startHarness()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try await harness.startAgent()
        let namespace = harness.namespace
        _ = try await harness.admin.create(ConfigMap(metadata: ObjectMeta(name: "app-config", namespace: namespace), data: ["MODE": "fast", "1st-key": "kept"]), namespace: namespace)
        _ = try await harness.admin.create(Secret(metadata: ObjectMeta(name: "app-secret", namespace: namespace), values: ["password": Data("hunter2".utf8)]), namespace: namespace)
        let output = file(harness, "env.txt")
        var pod = harness.pod("envy", script: "env > \(output).tmp && mv \(output).tmp \(output); exec sleep 300")
        pod.spec?.containers[0].resources = ResourceRequirements(limits: ["memory": "128Mi"], requests: ["memory": "64Mi"])
        // Without a prefix, "1st-key" (a valid ConfigMap key) is not a C identifier; a v1.34+ kubelet passes it on all the same.
        pod.spec?.containers[0].envFrom = [
            EnvFromSource(prefix: "CFG_", configMapRef: ConfigMapEnvSource(name: "app-config")),
            EnvFromSource(configMapRef: ConfigMapEnvSource(name: "app-config")),
        ]
        pod.spec?.containers[0].env = [
            EnvVar(name: "GREETING", value: "hello $(POD_NAME)"),  // defined later: stays as written
            EnvVar(name: "POD_NAME", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name"))),
            EnvVar(name: "POD_IP", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "status.podIP"))),
            EnvVar(name: "MEMORY_MI", valueFrom: EnvVarSource(resourceFieldRef: ResourceFieldSelector(resource: "limits.memory", divisor: "1Mi"))),
            EnvVar(name: "MODE", valueFrom: EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: "app-config", key: "MODE"))),
            EnvVar(name: "PASSWORD", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "app-secret", key: "password"))),
            EnvVar(name: "OPTIONAL", valueFrom: EnvVarSource(secretKeyRef: SecretKeySelector(name: "absent", key: "x", optional: true))),
            EnvVar(name: "WHO", value: "$(POD_NAME) in $(MODE)"),
        ]
        _ = try await harness.admin.create(pod, namespace: namespace)
        let text = try await eventually("the pod's process to write its environment to \(output)", timeout: .seconds(60)) { contents(output) }
        let env = Dictionary(text.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { $1 })
        #expect(env["POD_NAME"] == "envy")
        #expect(env["GREETING"] == "hello $(POD_NAME)")
        #expect(env["WHO"] == "envy in fast")
        #expect(env["MEMORY_MI"] == "128")
        #expect(env["MODE"] == "fast")
        #expect(env["CFG_MODE"] == "fast")
        // The job carries names that are not C identifiers (as a v1.34+ kubelet passes them on);
        // Debian's /bin/sh, which runs this script, leaves them out of what it passes to `env`.
        let job = try #require(try await harness.jobsOfNode().first { $0.meta?[PodJobIdentity.podMetaKey] == "envy" })
        let taskEnv = job.taskGroups?.first?.tasks?.first?.env ?? [:]
        #expect(taskEnv["1st-key"] == "kept")
        #expect(taskEnv["CFG_1st-key"] == "kept")
        #expect(env["PASSWORD"] == "hunter2")
        #expect(env["OPTIONAL"] == nil)
        let podIP = try #require(env["POD_IP"])
        #expect(!podIP.isEmpty && !podIP.contains("${"), "Nomad interpolates the client's address: \(podIP)")
        // The Secret's value never reaches an Event.
        let events = try await harness.admin.list(Event.self, namespace: namespace).items
        #expect(!events.contains { ($0.message ?? "").contains("hunter2") })
    }

    @Test("a PseudoImage artifact from a local HTTP server is checksum-checked, unpacked and run; a bad checksum is refused with the reason")
    func artifactImage() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pseudoimage-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("pkg/bin"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let script = work.appendingPathComponent("pkg/bin/hello")
        try "#!/bin/sh\necho \"hello from the artifact: $1\" > \"$2\"\nexec sleep 300\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let archive = work.appendingPathComponent("hello.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", archive.path, "-C", work.appendingPathComponent("pkg").path, "bin"]
        try tar.run()
        tar.waitUntilExit()
        try #require(tar.terminationStatus == 0, "tar could not build the artifact")
        let bytes = try Data(contentsOf: archive)
        let server = try await ArtifactServer.start(files: ["hello-1.0.tar.gz": bytes])
        let harness = try await Self.startHarness()
        defer {
            DeferredCleanup.start {
                await harness.shutdown()
                await server.shutdown()
            }
        }
        try await harness.startAgent()
        let badChecksum = "sha256:" + String(repeating: "0", count: 64)
        let image = harness.uniqueName("hello")
        try await harness.createPseudoImage(
            image,
            spec: PseudoImageSpec(
                description: "a test program",
                tags: [
                    PseudoImageTag(name: "1.0", url: "\(server.baseURL)/hello-1.0.tar.gz", checksum: ArtifactServer.sha256Checksum(bytes)),
                    PseudoImageTag(name: "tampered", url: "\(server.baseURL)/hello-1.0.tar.gz", checksum: badChecksum),
                ],
                command: ["bin/hello"]))
        let output = file(harness, "artifact.txt")
        var pod = harness.pod("artifact", script: "")
        pod.spec?.containers[0].image = "nomad-kubelet.io/\(image):1.0"
        pod.spec?.containers[0].command = nil
        pod.spec?.containers[0].args = ["1.0", output]
        _ = try await harness.admin.create(pod, namespace: harness.namespace)
        // `echo … > file` creates the file before writing to it: wait for the line, not the file.
        let text = try await eventually("the artifact's program to write \(output)", timeout: .seconds(60)) { contents(output).flatMap { $0.isEmpty ? nil : $0 } }
        #expect(text.contains("hello from the artifact: 1.0"))
        try await harness.waitForPod("artifact", "Running") { $0.status?.phase == "Running" }

        var tampered = harness.pod("tampered", script: "")
        tampered.spec?.containers[0].image = "nomad-kubelet.io/\(image):tampered"
        tampered.spec?.containers[0].command = nil
        tampered.spec?.containers[0].args = ["tampered", file(harness, "tampered.txt")]
        _ = try await harness.admin.create(tampered, namespace: harness.namespace)
        let refused = try await harness.waitForPod("tampered", "the container to tell of the checksum mismatch", timeout: .seconds(60)) { pod in
            let status = pod.mainStatus
            let text = [status?.state?.waiting?.message, status?.state?.terminated?.message, status?.lastState?.terminated?.message].compactMap { $0 }.joined()
            return text.lowercased().contains("checksum")
        }
        #expect(refused.status?.phase != "Running" || refused.mainStatus?.state?.running == nil)
        #expect(contents(file(harness, "tampered.txt")) == nil, "the tampered program must never run")
    }

    @Test("a missing PseudoImage keeps the pod Pending like an image pull error, until the PseudoImage appears")
    func missingPseudoImage() async throws {
        let harness = try await Self.startHarness()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try await harness.startAgent()
        let output = file(harness, "late.txt")
        let image = harness.uniqueName("late-tool")
        var pod = harness.pod("late", script: "")
        pod.spec?.containers[0].image = "nomad-kubelet.io/\(image):2"
        pod.spec?.containers[0].command = nil
        pod.spec?.containers[0].args = ["-c", "echo started > \(output); exec sleep 300"]
        _ = try await harness.admin.create(pod, namespace: harness.namespace)
        let waiting = try await harness.waitForPod("late", "Pending with ErrImagePull") { $0.mainStatus?.state?.waiting?.reason == "ErrImagePull" }
        #expect(waiting.status?.phase == "Pending")
        #expect(waiting.mainStatus?.state?.waiting?.message?.contains("PseudoImage \"\(image)\" not found") == true)
        #expect(waiting.status?.conditions?.contains { $0.type == PodController.translatedCondition && $0.reason == "ReferencesMissing" } == true)
        let jobsOfPod = try await harness.jobsOfNode().filter { $0.meta?[PodJobIdentity.uidMetaKey] == waiting.metadata.uid }
        #expect(jobsOfPod.isEmpty, "no job while the image is missing")
        try await eventually("a Failed event telling the image is missing") {
            let events = try await harness.admin.list(Event.self, namespace: harness.namespace).items
            return events.contains { $0.reason == "Failed" && ($0.message ?? "").contains(image) } ? true : nil
        }
        try await harness.createPseudoImage(image, spec: PseudoImageSpec(tags: [PseudoImageTag(name: "2", hostPath: "/bin")], command: ["sh"]))
        _ = try await eventually("the pod to run once its PseudoImage exists", timeout: .seconds(60)) { contents(output) }
        let running = try await harness.waitForPod("late", "Running without the waiting condition") { $0.status?.phase == "Running" }
        #expect(running.status?.conditions?.contains { $0.type == PodController.translatedCondition } != true)
    }
}
