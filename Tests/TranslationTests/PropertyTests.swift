import Foundation
import KubernetesModels
import NomadModels
import PropertyBased
import Testing
import Synchronization
import Translation

/// SplitMix64: a small deterministic generator, so a failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Generates pods from plausible and hostile pieces.
struct PodGenerator {
    var random: SplitMix64

    static let hostileStrings = [
        "", " ", "web", "a b", "line\nbreak", "nul\0byte", "../../etc/passwd", "alloc", "x/y", "back\\slash", String(repeating: "z", count: 300),
        "ünïcödé", "${node.unique.id}", "$(HOME)", "-", "UPPER", "tab\there", "a=b", "🙂", "$$(A)", "$(", "/abs/../path", "1bad", "bad key",
    ]
    /// Marks every generated Secret value, so a test can look for leaks.
    static let secretMarker = "SECRET-7f3a"
    static let images = [
        "nomad-kubelet.io/postgres:16", "nomad-kubelet.io/tool:1.0", "nomad-kubelet.io/tool:unverified", "nomad-kubelet.io/missing:1",
        "nomad-kubelet.io/hostile:x", "nomad-kubelet.io/", "nomad-kubelet.io/postgres",
    ]
    static let names = ["web", "db-0", "a", "alloc", "sidecar", "init-1"]
    static let quantities = ["100m", "1", "2", "64Mi", "1Gi", "0", "1e3", "512M", "1.5", "999Ei", "1Ki"]

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func text() -> String { chance(85) ? pick(Self.names) : pick(Self.hostileStrings) }

    mutating func container() -> Container {
        var container = Container(name: text())
        container.image = chance(70) ? ImageResolver.hostImage : chance(60) ? pick(Self.images) : pick(["postgres:16", "", "nomad-kubelet.io/host:latest", text()])
        if chance(90) { container.command = (0..<Int.random(in: 1...3, using: &random)).map { _ in chance(70) ? "/bin/sh" : text() } }
        if chance(50) { container.args = (0..<Int.random(in: 0...3, using: &random)).map { _ in text() } }
        if chance(20) { container.workingDir = pick(["/srv", "relative", "../up", "/with space", "/nul\0"]) }
        if chance(40) {
            container.env = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                chance(60) ? EnvVar(name: text(), value: text()) : EnvVar(name: text(), valueFrom: valueSource())
            }
        }
        if chance(20) {
            container.envFrom = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                chance(50)
                    ? EnvFromSource(prefix: chance(50) ? text() : nil, configMapRef: ConfigMapEnvSource(name: pick(["cfg", "absent", text()]), optional: chance(30)))
                    : EnvFromSource(prefix: chance(50) ? text() : nil, secretRef: SecretEnvSource(name: pick(["db", "absent", text()]), optional: chance(30)))
            }
        }
        if chance(15) {
            container.securityContext = SecurityContext(
                runAsUser: chance(50) ? pick([0, 999, 65534, -1]) : nil, runAsNonRoot: chance(50) ? true : nil, privileged: chance(20) ? true : nil,
                capabilities: chance(20) ? Capabilities(add: [text()], drop: ["ALL"]) : nil, readOnlyRootFilesystem: chance(30) ? true : nil)
        }
        if chance(40) {
            var requests: [String: Quantity] = [:]
            var limits: [String: Quantity] = [:]
            for resource in ["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"] where chance(30) {
                requests[resource] = try? Quantity(pick(Self.quantities))
                if chance(50) { limits[resource] = try? Quantity(pick(Self.quantities)) }
            }
            container.resources = ResourceRequirements(limits: limits, requests: requests)
        }
        if chance(30) {
            container.ports = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                ContainerPort(hostPort: chance(20) ? pick([0, 80, 70000]) : nil, containerPort: pick([80, 8080, 0, 65535, 65536, -1]), protocol: pick([nil, "TCP", "UDP"]))
            }
        }
        if chance(5) { container.readinessProbe = Probe(exec: ExecAction(command: ["true"])) }
        return container
    }

    mutating func valueSource() -> EnvVarSource {
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            return EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: pick(["metadata.name", "status.podIP", "metadata.labels['\(text())']", "spec.nodeName", text()])))
        case 1:
            return EnvVarSource(
                resourceFieldRef: ResourceFieldSelector(
                    containerName: chance(80) ? nil : text(), resource: pick(["limits.cpu", "requests.memory", "limits.ephemeral-storage", text()]),
                    divisor: chance(50) ? try? Quantity(pick(["1m", "1Mi", "0", "1", "1e3"])) : nil))
        case 2:
            return EnvVarSource(configMapKeyRef: ConfigMapKeySelector(name: pick(["cfg", "absent", text()]), key: pick(["MODE", "absent", text()]), optional: chance(30)))
        default:
            return EnvVarSource(secretKeyRef: SecretKeySelector(name: pick(["db", "absent", text()]), key: pick(["password", "absent", text()]), optional: chance(30)))
        }
    }

    /// ConfigMaps, Secrets and PseudoImages with hostile keys, values and sources.
    mutating func context() -> TranslationContext {
        var data: [String: String] = ["MODE": text()]
        for _ in 0..<Int.random(in: 0...3, using: &random) { data[text()] = text() }
        var secretData: [String: String] = ["password": Data("\(Self.secretMarker)-\(text())".utf8).base64EncodedString()]
        for _ in 0..<Int.random(in: 0...2, using: &random) { secretData[text()] = Data("\(Self.secretMarker)\(text())".utf8).base64EncodedString() }
        let hostile = PseudoImage(
            metadata: ObjectMeta(name: "hostile"),
            spec: PseudoImageSpec(
                tags: [PseudoImageTag(name: "x", hostPath: chance(50) ? pick(["/usr/bin", "../etc", "/a/../b", "/nul\0"]) : nil, url: chance(50) ? pick(["https://e.test/a.tgz", "ftp://x", "https://e.test/\n"]) : nil, checksum: chance(50) ? pick(["sha256:\(String(repeating: "a", count: 64))", text()]) : nil, command: chance(50) ? [text()] : nil)],
                command: chance(50) ? [text(), text()] : nil, user: chance(50) ? text() : nil, uid: chance(30) ? 0 : nil, allowedDrivers: chance(30) ? [text()] : nil))
        return TranslationContext(
            configMaps: ["cfg": ConfigMap(metadata: ObjectMeta(name: "cfg"), data: data)],
            secrets: ["db": Secret(metadata: ObjectMeta(name: "db"), data: secretData)],
            pseudoImages: ["postgres": PseudoFixtures.postgres, "tool": PseudoFixtures.tool, "hostile": hostile],
            nodeAllocatable: chance(50) ? ["cpu": "4", "memory": "8Gi"] : [:])
    }

    mutating func pod() -> Pod {
        var spec = PodSpec(containers: (0..<(chance(3) ? 0 : Int.random(in: 1...2, using: &random))).map { _ in container() })
        if chance(20) { spec.initContainers = (0..<Int.random(in: 1...2, using: &random)).map { _ in container() } }
        spec.restartPolicy = pick([nil, "Always", "OnFailure", "Never", "Sometimes"])
        if chance(40) { spec.terminationGracePeriodSeconds = pick([0, 1, 30, 3600, -5, Int64.max]) }
        if chance(10) { spec.runtimeClassName = pick(["nomad-exec", "nomad-raw-exec", "kata", text()]) }
        let uid = chance(80) ? "3f1c2a4e-0000-4000-8000-\(String(format: "%012d", Int.random(in: 0..<1_000_000, using: &random)))" : text()
        if chance(10) { spec.hostPID = true }
        var annotations: [String: String] = [:]
        if chance(10) { annotations[PodTranslator.userAnnotation] = pick(["root", "app", text()]) }
        if chance(10) { annotations[PodTranslator.driverAnnotation] = pick(["exec", "raw_exec", text()]) }
        return Pod(metadata: ObjectMeta(name: text(), namespace: chance(70) ? "default" : text(), annotations: annotations, uid: uid), spec: spec)
    }
}

@Suite("Property: translation never crashes, never yields a job Nomad would refuse, never leaks a Secret")
struct PropertyTests {
    /// Node configurations the properties hold under: the defaults, and everything allowed.
    static let policies: [TranslationPolicy] = {
        var permissive = Fixtures.policy
        permissive.allowPrivileged = true
        permissive.allowUnverifiedArtifacts = true
        permissive.allowDriverOverride = true
        permissive.taskUser = "nobody"
        return [Fixtures.policy, permissive]
    }()

    @Test("generated pods and contexts (hostile strings included): a valid job, or problems naming Pod fields; Secret values only in the real job")
    func generatedPods() async throws {
        let outcomes = Mutex((jobs: 0, refusals: 0))
        await propertyCheck(count: 1500, input: Gen<UInt64>.value(in: 0...UInt64.max), Gen.int(in: 0...1)) { seed, policyIndex in
            var generator = PodGenerator(random: SplitMix64(state: seed))
            let pod = generator.pod()
            let context = generator.context()
            let translator = PodTranslator(policy: Self.policies[policyIndex])
            let options = TranslationOptions(gracePeriodOverrideSeconds: generator.chance(20) ? 5 : nil)
            let translation: PodTranslation
            do {
                translation = try translator.translate(pod, context: context, options: options)
            } catch let error as TranslationError {
                outcomes.withLock { $0.refusals += 1 }
                #expect(error == .podNotTranslatable(namespace: "", name: "", problems: []), "\(error)")
                #expect(!error.problems.isEmpty)
                #expect(!error.description.contains(PodGenerator.secretMarker), "a Secret value leaked into an error")
                for problem in error.problems {
                    #expect(problem.field.hasPrefix("spec") || problem.field.hasPrefix("metadata"), "\(problem)")
                    #expect(!problem.reason.isEmpty && !problem.fix.isEmpty)
                }
                return
            } catch {
                Issue.record("translation threw something other than a TranslationError: \(error)")
                return
            }
            outcomes.withLock { $0.jobs += 1 }
            let job = translation.job
            #expect(NomadJobValidator.violations(of: job) == [], "pod \(pod)")
            #expect(NomadJobValidator.violations(of: translation.redactedJob) == [])
            let redacted = String(decoding: try JSONEncoder().encode(translation.redactedJob), as: UTF8.self)
            #expect(!redacted.contains(PodGenerator.secretMarker), "a Secret value leaked into the redacted job")
            #expect(!translation.warnings.map(\.reason).joined().contains(PodGenerator.secretMarker))
            let id = try #require(job.id)
            #expect(id.utf8.count <= PodJobIdentity.maximumJobIDLength)
            #expect(!id.contains(" ") && !id.contains("\0") && !id.contains("\n") && !id.contains("/"))
            #expect(try PodJobIdentity(jobID: id, meta: job.meta) == translation.identity)
            #expect(job.taskGroups?.first?.tasks?.count == pod.spec!.containers.count + (pod.spec!.initContainers?.count ?? 0))
        }
        // The generator must exercise both outcomes, or the property says little.
        let (jobs, refusals) = outcomes.withLock { $0 }
        #expect(jobs > 50, "only \(jobs) jobs")
        #expect(refusals > 50, "only \(refusals) refusals")
    }
}
