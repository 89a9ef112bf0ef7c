import Foundation
import KubernetesModels
import NomadModels
import Testing
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
        "ünïcödé", "${node.unique.id}", "$(HOME)", "-", "UPPER", "tab\there", "a=b", "🙂",
    ]
    static let names = ["web", "db-0", "a", "alloc", "sidecar", "init-1"]
    static let quantities = ["100m", "1", "2", "64Mi", "1Gi", "0", "1e3", "512M", "1.5", "999Ei", "1Ki"]

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func text() -> String { chance(85) ? pick(Self.names) : pick(Self.hostileStrings) }

    mutating func container() -> Container {
        var container = Container(name: text())
        container.image = chance(85) ? ImageResolver.hostImage : pick(["postgres:16", "", "nomad-kubelet.io/host:latest", text()])
        if chance(90) { container.command = (0..<Int.random(in: 1...3, using: &random)).map { _ in chance(70) ? "/bin/sh" : text() } }
        if chance(50) { container.args = (0..<Int.random(in: 0...3, using: &random)).map { _ in text() } }
        if chance(20) { container.workingDir = pick(["/srv", "relative", "../up", "/with space", "/nul\0"]) }
        if chance(40) {
            container.env = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                chance(90) ? EnvVar(name: text(), value: text()) : EnvVar(name: "REF", valueFrom: EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.name")))
            }
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

    mutating func pod() -> Pod {
        var spec = PodSpec(containers: (0..<(chance(3) ? 0 : Int.random(in: 1...2, using: &random))).map { _ in container() })
        if chance(20) { spec.initContainers = (0..<Int.random(in: 1...2, using: &random)).map { _ in container() } }
        spec.restartPolicy = pick([nil, "Always", "OnFailure", "Never", "Sometimes"])
        if chance(40) { spec.terminationGracePeriodSeconds = pick([0, 1, 30, 3600, -5, Int64.max]) }
        if chance(10) { spec.runtimeClassName = pick(["exec", "raw_exec", "kata", text()]) }
        let uid = chance(80) ? "3f1c2a4e-0000-4000-8000-\(String(format: "%012d", Int.random(in: 0..<1_000_000, using: &random)))" : text()
        return Pod(metadata: ObjectMeta(name: text(), namespace: chance(70) ? "default" : text(), uid: uid), spec: spec)
    }
}

@Suite("Property: translation never crashes and never yields a job Nomad would refuse")
struct PropertyTests {
    @Test("2000 generated pods (hostile strings included): a valid job or field-named problems", arguments: [1, 2, 3, 4] as [UInt64])
    func generatedPods(seed: UInt64) throws {
        var generator = PodGenerator(random: SplitMix64(state: seed))
        var jobs = 0
        for _ in 0..<500 {
            let pod = generator.pod()
            let translation: PodTranslation
            do {
                translation = try Fixtures.translator.translate(pod, options: TranslationOptions(gracePeriodOverrideSeconds: generator.chance(20) ? 5 : nil))
            } catch {
                #expect(error == .podNotTranslatable(namespace: "", name: "", problems: []), "\(error)")
                #expect(!error.problems.isEmpty)
                for problem in error.problems {
                    #expect(problem.field.hasPrefix("spec") || problem.field.hasPrefix("metadata"), "\(problem)")
                    #expect(!problem.reason.isEmpty && !problem.fix.isEmpty)
                }
                continue
            }
            let job = translation.job
            #expect(NomadJobValidator.violations(of: job) == [], "pod \(pod)")
            let id = try #require(job.id)
            #expect(id.utf8.count <= PodJobIdentity.maximumJobIDLength)
            #expect(!id.contains(" ") && !id.contains("\0") && !id.contains("\n") && !id.contains("/"))
            #expect(try PodJobIdentity(jobID: id, meta: job.meta) == translation.identity)
            #expect(job.taskGroups?.first?.tasks?.count == pod.spec!.containers.count + (pod.spec!.initContainers?.count ?? 0))
            jobs += 1
        }
        // The generator must exercise both outcomes, or the property says little.
        #expect(jobs > 20)
        #expect(jobs < 480)
    }
}
