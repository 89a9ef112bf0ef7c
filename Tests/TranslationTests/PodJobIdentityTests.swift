import NomadModels
import Testing
import Translation

@Suite("PodJobIdentity: job IDs and Meta, stable across releases")
struct PodJobIdentityTests {
    // Golden values: computed once and frozen. If one changes, jobs created by older agents are orphaned.
    @Test(
        "job IDs are readable, uid-suffixed, and fixed forever",
        arguments: [
            ("default", "web-0", "3f1c2a4e-0000-4000-8000-000000000001", "default.web-0.3f1c2a4e"),
            ("kube-system", "db.main-1", "3F1C2A4E-0000-4000-8000-000000000001", "kube-system.db.main-1.3f1c2a4e"),
            ("default", "web-0", "abc", "default.web-0.1a47e90b"),
            ("default", "we b\n0/../x", "3f1c2a4e-0000-4000-8000-000000000001", "default.we-b-0-..-x-7ff6f350e7.3f1c2a4e"),
            (
                "ns", String(repeating: "a", count: 253), "3f1c2a4e-0000-4000-8000-000000000001",
                "ns." + String(repeating: "a", count: 105) + "-f166b10aa2.3f1c2a4e"
            ),
        ])
    func jobIDs(namespace: String, name: String, uid: String, expected: String) {
        let id = PodJobIdentity.jobID(namespace: namespace, name: name, uid: uid)
        #expect(id == expected)
        #expect(id.utf8.count <= PodJobIdentity.maximumJobIDLength)
        #expect(!id.contains(" ") && !id.contains("\0"))
    }

    @Test("pods differing only in uid (a StatefulSet pod recreated) get different jobs")
    func recreatedPod() {
        let first = PodJobIdentity.jobID(namespace: "default", name: "db-0", uid: "11111111-0000-4000-8000-000000000001")
        let second = PodJobIdentity.jobID(namespace: "default", name: "db-0", uid: "22222222-0000-4000-8000-000000000001")
        #expect(first != second)
    }

    @Test("Meta round-trips; a job without it is not ours")
    func metaRoundTrip() throws {
        let identity = PodJobIdentity(namespace: "default", name: "web-0", uid: "u", nodeName: "vk-nomad")
        #expect(try PodJobIdentity(jobID: identity.jobID, meta: identity.meta) == identity)
        let error = try #require(throws: TranslationError.self) { try PodJobIdentity(jobID: "default.exit3", meta: [:]) }
        #expect(error.description.contains("k8s.namespace, k8s.pod, k8s.uid, k8s.node"))
    }

    @Test("the recorded job's Meta reads back as its pod")
    func recordedMeta() throws {
        let job = try Fixtures.registeredJob("register a service job (prestart task + main task, static port, Meta)")
        let identity = try PodJobIdentity(jobID: job.id ?? "", meta: job.meta)
        #expect(identity == PodJobIdentity(namespace: "default", name: "web-0", uid: Fixtures.uid, nodeName: "vk-nomad"))
    }

    @Test("containerID names the allocation and task")
    func containerID() {
        #expect(PodJobIdentity.containerID(allocationID: "d5daa190", task: "web") == "nomad://d5daa190/web")
    }
}
