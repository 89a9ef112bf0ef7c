import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

/// Volumes and ConfigMaps/Secrets shared by the volume tests.
enum VolumeFixtures {
    /// The projected volume the API server adds for the service-account token (as recorded from v1.36).
    static let serviceAccountVolume = Volume(
        name: "kube-api-access-6j4cg",
        projected: ProjectedVolumeSource(
            sources: [
                VolumeProjection(serviceAccountToken: ServiceAccountTokenProjection(expirationSeconds: 3607, path: "token")),
                VolumeProjection(configMap: ConfigMapProjection(name: "kube-root-ca.crt", items: [KeyToPath(key: "ca.crt", path: "ca.crt")])),
                VolumeProjection(downwardAPI: DownwardAPIProjection(items: [DownwardAPIVolumeFile(path: "namespace", fieldRef: ObjectFieldSelector(apiVersion: "v1", fieldPath: "metadata.namespace"))])),
            ], defaultMode: 420))

    static let configMap = ConfigMap(metadata: ObjectMeta(name: "app-config"), data: ["app.conf": "level=debug\n", "motd": "hello"])
    static let secret = Secret(metadata: ObjectMeta(name: "db"), data: ["password": Data("s3cr3t".utf8).base64EncodedString()])
    static let tokenKey = ServiceAccountTokenKey(audience: nil, expirationSeconds: 3607)
    static let inputs: TranslationContext = {
        var context = TranslationContext(
            configMaps: ["app-config": configMap, "kube-root-ca.crt": ConfigMap(metadata: ObjectMeta(name: "kube-root-ca.crt"), data: ["ca.crt": "-----BEGIN CERTIFICATE-----\n"])],
            secrets: ["db": secret])
        context.serviceAccountTokens = [tokenKey: "eyJhbGciOi.token.sig"]
        return context
    }()

    /// A pod whose one container mounts `volume` at `mountPath`.
    static func pod(_ volume: Volume, mountPath: String = "/etc/app", subPath: String? = nil, labels: [String: String]? = nil) -> Pod {
        var pod = Fixtures.pod(containers: [
            Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"], volumeMounts: [VolumeMount(name: volume.name, mountPath: mountPath, subPath: subPath)])
        ]) { $0.volumes = [volume] }
        pod.metadata.labels = labels
        return pod
    }

    static func translate(_ pod: Pod, inputs: TranslationContext = inputs, policy: TranslationPolicy = Fixtures.policy, handler: String? = nil) throws(TranslationError) -> PodTranslation {
        var pod = pod
        pod.spec?.runtimeClassName = handler
        return try PodTranslator(policy: policy).translate(pod, context: inputs, options: TranslationOptions(runtimeHandler: handler))
    }

    static func task(_ translation: PodTranslation) -> NomadTask { translation.job.taskGroups![0].tasks![0] }

    /// The volume setup steps of the task's wrapper (between the script's `$0` and `--`).
    static func setupSteps(_ task: NomadTask) -> [String] {
        let args = task.config?.args ?? []
        guard let start = args.firstIndex(of: "nomad-kubelet-volumes"), let end = args.firstIndex(of: "--") else { return [] }
        return Array(args[(start + 1)..<end])
    }
}

@Suite("Volumes: Pod volumes → templates, setup steps and synced files")
struct VolumeTranslationTests {
    @Test("a configMap becomes one template per key under local/, 0644, and a ..data mount the agent keeps in step")
    func configMapAllKeys() throws {
        let translation = try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config"))))
        let task = VolumeFixtures.task(translation)
        let templates = try #require(task.templates)
        #expect(templates.map(\.destPath) == ["local/nomad-kubelet-volumes/config/app.conf", "local/nomad-kubelet-volumes/config/motd"])
        #expect(templates.map(\.embeddedTmpl) == ["level=debug\n", "hello"])
        #expect(templates.allSatisfy { $0.perms == "0644" && $0.changeMode == "noop" })
        #expect(VolumeFixtures.setupSteps(task) == ["V", "local", "config", "/etc/app"])
        #expect(task.config?.command == "/bin/sh")
        #expect(task.config?.args?.suffix(3) == ["--", "/bin/sleep", "3600"])
        #expect(task.env?[VolumeSetup.rootVariable] == "${NOMAD_TASK_DIR}/..")
        let files = try #require(translation.volumeFiles.first)
        #expect(translation.volumeFiles.count == 1)
        #expect(files.task == "web" && files.volume == "config" && files.mountPaths == ["/etc/app"] && !files.sensitive)
        #expect(files.files.map(\.path) == ["app.conf", "motd"])
    }

    @Test("items pick keys to paths with their own modes; defaultMode applies to the rest")
    func itemsAndModes() throws {
        let source = ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "app.conf", path: "conf/app.conf", mode: 0o600), KeyToPath(key: "motd", path: "motd.txt")], defaultMode: 0o440)
        let task = VolumeFixtures.task(try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: source))))
        let templates = try #require(task.templates)
        #expect(templates.map(\.destPath) == ["local/nomad-kubelet-volumes/config/conf/app.conf", "local/nomad-kubelet-volumes/config/motd.txt"])
        #expect(templates.map(\.perms) == ["0600", "0440"])
    }

    @Test("optional: a missing optional ConfigMap is an empty volume, a missing optional key is skipped; required ones are refused")
    func optional() throws {
        let missing = try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "nope", optional: true))))
        #expect(VolumeFixtures.task(missing).templates == nil)
        #expect(VolumeFixtures.setupSteps(VolumeFixtures.task(missing)) == ["V", "local", "config", "/etc/app"])

        let missingKey = try VolumeFixtures.translate(
            VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "absent", path: "a"), KeyToPath(key: "motd", path: "m")], optional: true))))
        #expect(VolumeFixtures.task(missingKey).templates?.map(\.destPath) == ["local/nomad-kubelet-volumes/config/m"])

        let required = try #require(throws: TranslationError.self) {
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "nope"))))
        }
        #expect(required.problems.map(\.field) == ["spec.volumes[0].configMap.name"])
        #expect(required.isTransient, "a missing ConfigMap keeps the pod waiting")
        #expect(required.description.contains("configmap \"nope\" not found"))

        let requiredKey = try #require(throws: TranslationError.self) {
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "absent", path: "a")]))))
        }
        #expect(requiredKey.problems.map(\.field) == ["spec.volumes[0].configMap.items[0].key"])
    }

    @Test("a secret goes under the task's secrets/, is sensitive, and is redacted in what may be printed")
    func secretIsRedacted() throws {
        let translation = try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "creds", secret: SecretVolumeSource(secretName: "db", defaultMode: 0o400)), mountPath: "/run/creds"))
        let template = try #require(VolumeFixtures.task(translation).templates?.first)
        #expect(template.destPath == "secrets/nomad-kubelet-volumes/creds/password")
        #expect(template.embeddedTmpl == "s3cr3t")
        #expect(template.perms == "0400")
        #expect(translation.volumeFiles.first?.sensitive == true)
        let redacted = try String(decoding: JSONEncoder().encode(translation.redactedJob), as: UTF8.self)
        #expect(!redacted.contains("s3cr3t"))
        #expect(redacted.contains("<redacted>"))
    }

    @Test("content consul-template would interpret, binary and empty values render through one escaped string literal", arguments: [
        (Data("a {{ key \"x\" }} b".utf8), "{{ \"a {{ key \\\"x\\\" }} b\" }}"),
        (Data([0xFF, 0x00, 0x41]), "{{ \"\\xff\\x00A\" }}"),
        (Data(), "{{ \"\" }}"),
        (Data("plain\ntext".utf8), "plain\ntext"),
    ])
    func templateEscaping(data: Data, expected: String) throws {
        let configMap = ConfigMap(metadata: ObjectMeta(name: "bin"), binaryData: ["f": data.base64EncodedString()])
        let translation = try VolumeFixtures.translate(
            VolumeFixtures.pod(Volume(name: "bin", configMap: ConfigMapVolumeSource(name: "bin"))), inputs: TranslationContext(configMaps: ["bin": configMap]))
        #expect(VolumeFixtures.task(translation).templates?.first?.embeddedTmpl == expected)
    }

    @Test("downwardAPI files hold labels and annotations as the kubelet writes them (sorted key=\"value\" lines)")
    func downwardAPILabels() throws {
        let volume = Volume(
            name: "podinfo",
            downwardAPI: DownwardAPIVolumeSource(items: [
                DownwardAPIVolumeFile(path: "labels", fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels")),
                DownwardAPIVolumeFile(path: "name", fieldRef: ObjectFieldSelector(fieldPath: "metadata.name")),
                DownwardAPIVolumeFile(path: "tier", fieldRef: ObjectFieldSelector(fieldPath: "metadata.labels['tier']")),
            ]))
        let translation = try VolumeFixtures.translate(VolumeFixtures.pod(volume, mountPath: "/etc/podinfo", labels: ["tier": "db", "app": "pg \"main\""]))
        let contents = VolumeFixtures.task(translation).templates?.map(\.embeddedTmpl)
        #expect(contents == ["app=\"pg \\\"main\\\"\"\ntier=\"db\"", "web-0", "db"])
    }

    @Test("downwardAPI refuses fields a volume cannot hold, and resource fields for now")
    func downwardAPIRefusals() throws {
        let volume = Volume(
            name: "podinfo",
            downwardAPI: DownwardAPIVolumeSource(items: [
                DownwardAPIVolumeFile(path: "ip", fieldRef: ObjectFieldSelector(fieldPath: "status.podIP")),
                DownwardAPIVolumeFile(path: "cpu", resourceFieldRef: ResourceFieldSelector(containerName: "web", resource: "limits.cpu")),
            ]))
        let error = try #require(throws: TranslationError.self) { try VolumeFixtures.translate(VolumeFixtures.pod(volume)) }
        #expect(error.problems.map(\.field) == ["spec.volumes[0].downwardAPI.items[0].fieldRef", "spec.volumes[0].downwardAPI.items[1].resourceFieldRef"])
        #expect(error.problems.map(\.kind) == [.invalid, .notYetSupported])
    }

    @Test("the kube-api-access volume: token, ca.crt and namespace, 0644, under secrets/, kept in step")
    func serviceAccountToken() throws {
        let pod = VolumeFixtures.pod(VolumeFixtures.serviceAccountVolume, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount")
        let translation = try VolumeFixtures.translate(pod)
        #expect(translation.warnings.isEmpty)
        let templates = try #require(VolumeFixtures.task(translation).templates)
        let prefix = "secrets/nomad-kubelet-volumes/kube-api-access-6j4cg/"
        #expect(templates.map(\.destPath) == ["token", "ca.crt", "namespace"].map { prefix + $0 })
        #expect(templates.map(\.embeddedTmpl) == ["eyJhbGciOi.token.sig", "-----BEGIN CERTIFICATE-----\n", "default"])
        #expect(templates.allSatisfy { $0.perms == "0644" })
        #expect(PodReferences(of: pod).serviceAccountTokens == [VolumeFixtures.tokenKey])
        #expect(PodReferences(of: pod).configMaps == ["kube-root-ca.crt"])
        #expect(!(try JSONEncoder().encode(translation.redactedJob).contains(Data("eyJhbGciOi".utf8))))
    }

    @Test("a token projection asking less than 600 seconds is refused")
    func shortToken() throws {
        let volume = Volume(name: "t", projected: ProjectedVolumeSource(sources: [VolumeProjection(serviceAccountToken: ServiceAccountTokenProjection(audience: "vault", expirationSeconds: 60, path: "token"))]))
        let error = try #require(throws: TranslationError.self) { try VolumeFixtures.translate(VolumeFixtures.pod(volume)) }
        #expect(error.problems.map(\.field) == ["spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds"])
    }

    @Test("emptyDir is a directory of the allocation shared by the pod's tasks; at /tmp it is the task's own /tmp")
    func emptyDir() throws {
        var pod = Fixtures.pod(containers: [
            Container(name: "writer", image: ImageResolver.hostImage, command: ["/bin/true"], volumeMounts: [VolumeMount(name: "shared", mountPath: "/data")]),
            Container(name: "reader", image: ImageResolver.hostImage, command: ["/bin/true"], volumeMounts: [VolumeMount(name: "shared", mountPath: "/in", subPath: "sub"), VolumeMount(name: "scratch", mountPath: "/tmp")]),
        ]) { $0.volumes = [Volume(name: "shared", emptyDir: EmptyDirVolumeSource(medium: "Memory")), Volume(name: "scratch", emptyDir: EmptyDirVolumeSource())] }
        pod.metadata.labels = nil
        let tasks = try VolumeFixtures.translate(pod).job.taskGroups![0].tasks!
        #expect(VolumeFixtures.setupSteps(tasks[0]) == ["L", "alloc", "shared", "", "/data"])
        #expect(VolumeFixtures.setupSteps(tasks[1]) == ["L", "alloc", "shared", "sub", "/in"])
        #expect(tasks.allSatisfy { $0.templates == nil })
    }

    @Test("hostPath: allowed under policy.hostPathRoots with its type checked at start; outside, with '..', or with exec refused", arguments: [
        ("/srv/data/pg", nil as String?, "nomad-raw-exec", nil as TranslationProblem.Kind?, "spec.volumes[0].hostPath.path"),
        ("/srv/data", "Directory", "nomad-raw-exec", nil, ""),
        ("/etc", nil, "nomad-raw-exec", .policy, "spec.volumes[0].hostPath.path"),
        ("/srv/data/../../etc", nil, "nomad-raw-exec", .invalid, "spec.volumes[0].hostPath.path"),
        ("/srv/database", nil, "nomad-raw-exec", .policy, "spec.volumes[0].hostPath.path"),
        ("srv/data", nil, "nomad-raw-exec", .invalid, "spec.volumes[0].hostPath.path"),
        ("/srv/data", "Pipe", "nomad-raw-exec", .invalid, "spec.volumes[0].hostPath.type"),
        ("/srv/data", nil, "nomad-exec", .unsupported, "spec.volumes[0].hostPath"),
    ])
    func hostPath(path: String, type: String?, handler: String, kind: TranslationProblem.Kind?, field: String) throws {
        var policy = Fixtures.policy
        policy.hostPathRoots = ["/srv/data/", "/var/log"]
        let pod = VolumeFixtures.pod(Volume(name: "host", hostPath: HostPathVolumeSource(path: path, type: type)), mountPath: "/var/lib/app")
        if let kind {
            let error = try #require(throws: TranslationError.self) { try VolumeFixtures.translate(pod, policy: policy, handler: handler) }
            let problem = try #require(error.problems.first)
            #expect(problem.field == field && problem.kind == kind, "\(error.problems)")
            #expect(!problem.fix.isEmpty)
        } else {
            let task = VolumeFixtures.task(try VolumeFixtures.translate(pod, policy: policy, handler: handler))
            #expect(VolumeFixtures.setupSteps(task) == ["H", type ?? "", path, "/srv/data", "/var/lib/app"])
        }
    }

    @Test("hostile paths are refused with their field: '..', relative and interpolated mount paths, item paths, modes", arguments: [
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "/etc/../../x"), "spec.containers[0].volumeMounts[0].mountPath"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "etc/app"), "spec.containers[0].volumeMounts[0].mountPath"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "/${NOMAD_ALLOC_DIR}"), "spec.containers[0].volumeMounts[0].mountPath"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "/local/app"), "spec.containers[0].volumeMounts[0].mountPath"),
        (VolumeFixtures.pod(Volume(name: "c", emptyDir: EmptyDirVolumeSource()), subPath: "../../etc"), "spec.containers[0].volumeMounts[0].subPath"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "motd", path: "../../etc/passwd")]))), "spec.volumes[0].configMap.items[0].path"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "motd", path: "/abs")]))), "spec.volumes[0].configMap.items[0].path"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config", items: [KeyToPath(key: "motd", path: "..data")]))), "spec.volumes[0].configMap.items[0].path"),
        (VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config", defaultMode: 0o4755))), "spec.volumes[0].configMap.defaultMode"),
        (VolumeFixtures.pod(Volume(name: "c", secret: SecretVolumeSource(secretName: "db", items: [KeyToPath(key: "password", path: "p\0x")]))), "spec.volumes[0].secret.items[0].path"),
        (VolumeFixtures.pod(Volume(name: "c", emptyDir: EmptyDirVolumeSource()), mountPath: "/"), "spec.containers[0].volumeMounts[0].mountPath"),
    ])
    func hostilePaths(pod: Pod, field: String) throws {
        let error = try #require(throws: TranslationError.self) { try VolumeFixtures.translate(pod) }
        #expect(error.problems.map(\.field) == [field], "\(error.problems)")
    }

    @Test("unsupported sources are refused naming the volume type and a fix; a mount of an unknown volume too", arguments: [
        (Volume(name: "v", nfs: ["server": "nas", "path": "/x"]), "spec.volumes[0]", TranslationProblem.Kind.unsupported, "nfs"),
        (Volume(name: "v", csi: ["driver": "x"]), "spec.volumes[0]", .unsupported, "csi"),
        (Volume(name: "v", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: "data")), "spec.volumes[0].persistentVolumeClaim", .policy, "claim"),
    ])
    func unsupportedSources(volume: Volume, field: String, kind: TranslationProblem.Kind, word: String) throws {
        let error = try #require(throws: TranslationError.self) { try VolumeFixtures.translate(VolumeFixtures.pod(volume)) }
        let problem = try #require(error.problems.first)
        #expect(problem.field == field && problem.kind == kind && problem.reason.contains(word))
        #expect(error.problems.count == 1, "the mount of a refused volume is not reported again: \(error.problems)")
        let unknown = try #require(throws: TranslationError.self) {
            try VolumeFixtures.translate(Fixtures.pod(containers: [Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/true"], volumeMounts: [VolumeMount(name: "ghost", mountPath: "/g")])]))
        }
        #expect(unknown.problems.map(\.field) == ["spec.containers[0].volumeMounts[0].name"])
    }

    @Test("with the exec driver a non-root task cannot mount under the chroot's system directories")
    func execChrootSystemDirectories() throws {
        let error = try #require(throws: TranslationError.self) {
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "/etc/app"), handler: "nomad-exec")
        }
        #expect(error.problems.map(\.field) == ["spec.containers[0].volumeMounts[0].mountPath"])
        _ = try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "c", configMap: ConfigMapVolumeSource(name: "app-config")), mountPath: "/config"), handler: "nomad-exec")
    }

    @Test("changed ConfigMap content, even a new key, changes only the job's templates (the agent writes it into the task instead)")
    func contentChangesDoNotChangeTheJob() throws {
        let pod = VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config")))
        var changed = VolumeFixtures.inputs
        changed.configMaps["app-config"]?.data = ["app.conf": "level=info\n", "motd": "hello", "new": "key"]
        let before = try VolumeFixtures.translate(pod)
        let after = try VolumeFixtures.translate(pod, inputs: changed)
        #expect(before.job != after.job)
        #expect(before.jobIgnoringVolumeContent == after.jobIgnoringVolumeContent)
        #expect(before.volumeFiles.first?.contentHash != after.volumeFiles.first?.contentHash)
    }

    @Test("every translated volume job passes Nomad's job rules")
    func jobsAreValid() throws {
        let pod = VolumeFixtures.pod(VolumeFixtures.serviceAccountVolume, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount")
        #expect(NomadJobValidator.violations(of: try VolumeFixtures.translate(pod).job).isEmpty)
    }
}
