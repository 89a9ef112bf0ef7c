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

/// The agent's user stories, end to end: a real agent in-process with a node identity, against the
/// simulators (or real servers with `NOMAD_KUBELET_E2E=1`). Every wait names what it waits for.
/// The harness sets the periodic resync to an hour, so every pod status change seen here came
/// through Nomad's change feed.
@Suite("Agent end to end", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct AgentEndToEndTests {
    @Test("the Node appears Ready with capacity from Nomad, and its Lease renews")
    func nodeReadyWithCapacityAndLease() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let node = try await eventually("Node \(harness.nodeName) to be Ready") { () -> Node? in
            guard let node = try? await harness.admin.get(Node.self, name: harness.nodeName),
                node.status?.conditions?.contains(where: { $0.type == "Ready" && $0.status == "True" }) == true
            else { return nil }
            return node
        }
        #expect(node.metadata.labels?["type"] == "virtual-kubelet")
        #expect(node.metadata.labels?["kubernetes.io/hostname"] == harness.nodeName)
        #expect(node.spec?.taints?.contains(AgentConfiguration.defaultTaint) == true)
        #expect((node.status?.capacity?["cpu"]?.milliValue ?? 0) > 0)
        #expect((node.status?.capacity?["memory"]?.value ?? 0) > 0)
        #expect(node.status?.capacity?["pods"]?.value == 110)
        #expect(node.status?.allocatable == node.status?.capacity)
        #expect(node.status?.nodeInfo?.kubeletVersion == AgentVersion.kubeletVersion)
        #expect(node.status?.daemonEndpoints?.kubeletEndpoint?.port == 10250)
        let first = try await harness.admin.get(Lease.self, name: harness.nodeName, namespace: "kube-node-lease")
        #expect(first.spec?.holderIdentity == harness.nodeName)
        try await eventually("Lease \(harness.nodeName) to be renewed") { () -> Bool? in
            let lease = try await harness.admin.get(Lease.self, name: harness.nodeName, namespace: "kube-node-lease")
            return lease.spec?.renewTime != first.spec?.renewTime ? true : nil
        }
    }

    @Test(
        "Lease renewal reads the Lease again and retries when another writer updated it first (409)",
        .enabled(if: E2EEnvironment.realKubeconfig == nil, "injects conflicts into the API: simulator only"))
    func leaseRenewalRetriesConflicts() async throws {
        // A renew interval of a minute: only retries within the first heartbeat renew the Lease in time.
        let harness = try await AgentHarness.start(leaseRenewInterval: .seconds(60))
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let simulator = try #require(harness.kubernetesSimulator)
        let stale = MicroTime(Date(timeIntervalSinceNow: -3600))
        _ = try await harness.admin.create(
            Lease(
                metadata: ObjectMeta(name: harness.nodeName, namespace: "kube-node-lease"),
                spec: LeaseSpec(holderIdentity: harness.nodeName, leaseDurationSeconds: 40, renewTime: stale)),
            namespace: "kube-node-lease")
        let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(harness.nodeName)"
        await simulator.injectUpdateConflicts(count: 2, path: path)
        try harness.startAgent()
        try await eventually("the Lease renewed in the agent's first heartbeat despite two conflicts", timeout: .seconds(20)) {
            try await harness.admin.get(Lease.self, name: harness.nodeName, namespace: "kube-node-lease").spec?.renewTime != stale
        }
        #expect(await simulator.remainingUpdateConflicts(path: path) == 0, "both conflicts were answered")
    }

    @Test("an existing Node is adopted: its taints stay, the standard labels are added")
    func adoptsExistingNode() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let adminTaint = Taint(key: "example.com/dedicated", value: "gateway", effect: "NoSchedule")
        _ = try await harness.admin.create(
            Node(metadata: ObjectMeta(name: harness.nodeName, labels: ["site": "lab"]), spec: NodeSpec(taints: [adminTaint])))
        try harness.startAgent()
        let node = try await eventually("Node \(harness.nodeName) to be adopted and Ready") { () -> Node? in
            guard let node = try? await harness.admin.get(Node.self, name: harness.nodeName),
                node.metadata.labels?["type"] == "virtual-kubelet",
                node.status?.conditions?.contains(where: { $0.type == "Ready" && $0.status == "True" }) == true
            else { return nil }
            return node
        }
        #expect(node.metadata.labels?["site"] == "lab")
        // The agent never changes an adopted Node's taints (a real cluster's node lifecycle
        // controller may add node.kubernetes.io/not-ready meanwhile).
        #expect(node.spec?.taints?.contains(adminTaint) == true)
        #expect(node.spec?.taints?.contains(AgentConfiguration.defaultTaint) != true)
    }

    @Test("scaling a set of pods up and down leaves exactly the right processes")
    func scaleUpAndDown() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let names = ["replica-0", "replica-1", "replica-2"]
        for name in names {
            _ = try await harness.admin.create(harness.pod(name, script: harness.pidScript("\(name).pid", then: "sleep 300"), grace: 2))
        }
        var pids: [String: Int32] = [:]
        for name in names {
            try await harness.waitForPod(name, "Running") { $0.status?.phase == "Running" }
            pids[name] = try await harness.pid("\(name).pid")
        }
        #expect(pids.values.allSatisfy(processExists))
        for name in names.dropFirst() {
            try await harness.admin.delete(Pod.self, name: name, namespace: harness.namespace)
        }
        for name in names.dropFirst() {
            try await eventually("pod \(name) to be removed") { try await harness.readPod(name) == nil ? true : nil }
        }
        #expect(processExists(pids["replica-0"]!))
        #expect(!processExists(pids["replica-1"]!))
        #expect(!processExists(pids["replica-2"]!))
        let running = try await harness.jobsOfNode().filter { $0.stop != true }
        #expect(running.compactMap { $0.meta?[PodJobIdentity.podMetaKey] } == ["replica-0"])
    }

    @Test("a pod bound to the node runs as a real process and becomes Running and Ready")
    func boundPodRunsAsProcess() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("web", script: harness.pidScript("web.pid", then: "sleep 300")))
        let pod = try await harness.waitForPod("web", "Running and Ready") { $0.status?.phase == "Running" && $0.isReady }
        let pid = try await harness.pid("web.pid")
        #expect(processExists(pid))
        #expect(pod.mainStatus?.state?.running != nil)
        #expect(pod.mainStatus?.containerID?.hasPrefix("nomad://") == true)
        #expect(pod.status?.hostIP != nil)
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.count == 1)
        #expect(jobs.first?.meta?[PodJobIdentity.podMetaKey] == "web")
    }

    @Test("deleting a pod stops its process within the grace period and removes the pod")
    func deletionStopsProcessAndRemovesPod() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("doomed", script: harness.pidScript("doomed.pid", then: "sleep 300"), grace: 5))
        try await harness.waitForPod("doomed", "Running") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("doomed.pid")
        let deletedAt = ContinuousClock.now
        try await harness.admin.delete(Pod.self, name: "doomed", namespace: harness.namespace)
        try await eventually("pod doomed to be removed") { try await harness.readPod("doomed") == nil ? true : nil }
        #expect(!processExists(pid))
        #expect(ContinuousClock.now - deletedAt < .seconds(5 + 10))
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.allSatisfy { $0.stop == true })
    }

    @Test(
        "a shorter deletion grace (kubectl delete --grace-period=2, or --force: 0) kills a process that ignores SIGTERM within it",
        arguments: [2, 0])
    func shorterDeletionGraceHonoured(grace: Int) async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let script = "trap '' TERM; echo $$$$ > \(harness.workDirectory.appendingPathComponent("stubborn.pid").path); while true; do sleep 1; done"
        _ = try await harness.admin.create(harness.pod("stubborn", script: script, grace: 60))
        try await harness.waitForPod("stubborn", "Running") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("stubborn.pid")
        let deletedAt = ContinuousClock.now
        try await harness.admin.delete(Pod.self, name: "stubborn", namespace: harness.namespace, options: DeleteOptions(gracePeriodSeconds: grace))
        // Well under the spec's 60 s and under a Nomad client's 30 s max_kill_timeout: only the
        // agent's SIGKILL at the end of the shorter grace can end the process this early.
        try await eventually("the stubborn task's process group \(pid) to be gone (SIGTERM is ignored)", timeout: .seconds(15)) {
            !processGroupExists(pid)
        }
        try await eventually("pod stubborn to be removed", timeout: .seconds(15)) { try await harness.readPod("stubborn") == nil }
        #expect(ContinuousClock.now - deletedAt < .seconds(grace + 15))
        #expect(try await harness.jobsOfNode().allSatisfy { $0.stop == true })
    }

    @Test("a container image change restarts that container in place: new job version, same Nomad client, restartCount + 1")
    func imageChangeRestartsContainer() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let pids = harness.workDirectory.appendingPathComponent("upgraded.pids")
        _ = try await harness.admin.create(harness.pod("upgraded", script: "echo $$$$ >> \(pids.path); exec sleep 300"))
        try await harness.waitForPod("upgraded", "Running and Ready") { $0.status?.phase == "Running" && $0.isReady }
        let firstPID = try await harness.pid("upgraded.pids")
        let before = try #require(try await harness.jobsOfNode().first)
        let firstAllocation = try #require(try await harness.nomad.allocations(ofJob: before.id ?? "").value.first)

        let patch: JSONValue = ["spec": ["containers": [["name": "main", "image": .string(AgentHarness.secondImage)]]]]
        _ = try await harness.admin.patch(Pod.self, name: "upgraded", namespace: harness.namespace, patch: .strategicMerge(patch))
        let pod = try await harness.waitForPod("upgraded", "restarted with the new image, restartCount 1, Ready") {
            $0.mainStatus?.image == AgentHarness.secondImage && $0.mainStatus?.restartCount == 1 && $0.mainStatus?.state?.running != nil && $0.isReady
        }
        #expect(pod.status?.phase == "Running")
        let after = try #require(try await harness.jobsOfNode().first)
        #expect((after.version ?? 0) > (before.version ?? 0), "a new job version")
        #expect(after.constraints?.contains { $0.lTarget == "${node.unique.id}" && $0.rTarget == firstAllocation.nodeID } == true, "pinned to its client")
        let running = try await harness.nomad.allocations(ofJob: after.id ?? "").value.filter { $0.clientStatus?.rawValue == "running" }
        #expect(running.count == 1)
        #expect(running.first?.nodeID == firstAllocation.nodeID, "restarted on the same Nomad client")
        let secondPID = try await eventually("the restarted container to write its PID") { () -> Int32? in
            let lines = (try? String(contentsOf: pids, encoding: .utf8))?.split(separator: "\n").compactMap { Int32($0) } ?? []
            return lines.count >= 2 ? lines.last : nil
        }
        #expect(secondPID != firstPID)
        #expect(processExists(secondPID))
        try await eventually("the old container's process \(firstPID) to be gone") { !processExists(firstPID) }
    }

    @Test("a crashing container shows restarts and CrashLoopBackOff")
    func crashingContainer() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("crasher", script: "echo failing; exit 1"))
        let pod = try await harness.waitForPod("crasher", "a restart and CrashLoopBackOff", timeout: .seconds(60)) {
            ($0.mainStatus?.restartCount ?? 0) >= 1 && $0.mainStatus?.state?.waiting?.reason == "CrashLoopBackOff"
        }
        #expect(pod.mainStatus?.lastState?.terminated?.exitCode == 1)
        #expect(!pod.isReady)
    }

    @Test("a batch pod ends Succeeded or Failed with its exit code", arguments: [(0, "Succeeded"), (3, "Failed")])
    func batchPod(exitCode: Int, phase: String) async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("batch", script: "exit \(exitCode)", restartPolicy: "Never"))
        let pod = try await harness.waitForPod("batch", "phase \(phase)") { $0.status?.phase == phase }
        #expect(pod.mainStatus?.state?.terminated?.exitCode == exitCode)
        #expect(pod.mainStatus?.restartCount == 0)
    }

    @Test("a pod that ended is never run again, even when its job is gone from Nomad")
    func endedPodNeverRerun() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("once", script: "exit 0", restartPolicy: "Never"))
        try await harness.waitForPod("once", "Succeeded") { $0.status?.phase == "Succeeded" }
        await harness.stopAgent()
        let job = try #require(try await harness.jobsOfNode().first?.id)
        _ = try await harness.nomad.deregister(jobID: job, purge: true)
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("marker", script: "sleep 300"))
        try await harness.waitForPod("marker", "Running (the restarted agent has reconciled)") { $0.status?.phase == "Running" }
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.compactMap { $0.meta?[PodJobIdentity.podMetaKey] } == ["marker"])
        #expect(try await harness.readPod("once")?.status?.phase == "Succeeded")
    }

    @Test("an agent stopped abruptly and started again makes no duplicate job and keeps the status right")
    func restartMakesNoDuplicate() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("survivor", script: harness.pidScript("survivor.pid", then: "sleep 300")))
        try await harness.waitForPod("survivor", "Running and Ready") { $0.status?.phase == "Running" && $0.isReady }
        let pid = try await harness.pid("survivor.pid")
        let before = try #require(try await harness.jobsOfNode().first)
        await harness.stopAgent()
        #expect(processExists(pid), "workloads keep running while the agent is away")

        try harness.startAgent()
        // Only the new agent can act on this deletion, so its removal proves the agent is back.
        _ = try await harness.admin.create(harness.pod("probe", script: "sleep 300"))
        try await harness.waitForPod("probe", "Running (the restarted agent is working)") { $0.status?.phase == "Running" }
        let jobs = try await harness.jobsOfNode()
        #expect(jobs.count == 2)
        let survivorJobs = jobs.filter { $0.meta?[PodJobIdentity.podMetaKey] == "survivor" }
        #expect(survivorJobs.count == 1)
        #expect(survivorJobs.first?.jobModifyIndex == before.jobModifyIndex, "the restarted agent re-registered an unchanged job")
        #expect(processExists(pid))
        let pod = try #require(try await harness.readPod("survivor"))
        #expect(pod.status?.phase == "Running" && pod.isReady)
    }

    @Test("Nomad down turns the node NotReady with a reason, touching no pod or job; back up, Ready again")
    func nomadOutage() async throws {
        // Nomad "goes down" for the agent only: the proxy between them refuses connections, so the
        // same test runs against a real Nomad, which keeps running the workload meanwhile.
        let harness = try await AgentHarness.start(nomadThroughProxy: true)
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let nomadProxy = try #require(harness.nomadProxy)
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("steady", script: harness.pidScript("steady.pid", then: "sleep 300")))
        try await harness.waitForPod("steady", "Running") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("steady.pid")
        let jobBefore = try #require(try await harness.jobsOfNode().first)

        func readyCondition() async throws -> NodeCondition? {
            try await harness.admin.get(Node.self, name: harness.nodeName).status?.conditions?.first { $0.type == "Ready" }
        }
        try await eventually("the node to be Ready before the outage") { try await readyCondition()?.status == "True" }
        let podBefore = try #require(try await harness.readPod("steady"))
        await nomadProxy.down()
        let notReady = try await eventually("the node to turn NotReady while Nomad refuses connections") { () -> NodeCondition? in
            guard let ready = try await readyCondition(), ready.status == "False" else { return nil }
            return ready
        }
        #expect(notReady.reason == "NomadUnreachable")
        #expect(notReady.message?.isEmpty == false)
        let pod = try #require(try await harness.readPod("steady"), "no pod is deleted during the outage")
        #expect(pod.metadata.deletionTimestamp == nil)
        #expect(pod.metadata.uid == podBefore.metadata.uid)
        #expect(processExists(pid))
        let jobDuring = try #require(try await harness.jobsOfNode().first)
        #expect(jobDuring.jobModifyIndex == jobBefore.jobModifyIndex, "no job is touched during the outage")
        #expect(jobDuring.stop != true)

        try await nomadProxy.up()
        try await eventually("the node to be Ready again after Nomad returns") { try await readyCondition()?.status == "True" ? true : nil }
        let jobAfter = try #require(try await harness.jobsOfNode().first)
        #expect(jobAfter.jobModifyIndex == jobBefore.jobModifyIndex, "the job is untouched by the outage")
        #expect(jobAfter.stop != true)
        #expect(processExists(pid))
    }

    @Test("a pod that cannot be translated fails with the field named and no job")
    func untranslatablePod() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        var pod = harness.pod("bad", script: "true")
        pod.spec?.hostUsers = false
        _ = try await harness.admin.create(pod)
        let failed = try await harness.waitForPod("bad", "Failed for translation") { $0.status?.phase == "Failed" }
        #expect(failed.status?.message?.contains("spec.hostUsers") == true)
        #expect(failed.status?.conditions?.contains { $0.type == PodController.translatedCondition && $0.status == "False" } == true)
        #expect(try await harness.jobsOfNode().isEmpty)
    }
}

@Suite("Agent end to end: Nomad-side happenings", .awaitsCleanup, .serialized, .timeLimit(.minutes(3)))
struct AgentNomadSideTests {
    @Test("a change only Nomad knows (a task restarted in Nomad) reaches pods/status with the resync at an hour")
    func nomadChangeReachesStatusWithoutResync() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        #expect(harness.configuration.timings.resyncInterval == .seconds(3600))
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("restarted", script: "sleep 300"))
        try await harness.waitForPod("restarted", "Running") { $0.status?.phase == "Running" && $0.mainStatus?.state?.running != nil }
        let job = try #require(try await harness.jobsOfNode().first?.id)
        let allocation = try #require(try await harness.nomad.allocations(ofJob: job).value.first?.id)
        try await harness.nomad.restartAllocation(allocation, task: "main")
        let pod = try await harness.waitForPod("restarted", "restartCount 1 after the restart in Nomad") { ($0.mainStatus?.restartCount ?? 0) >= 1 }
        #expect(pod.mainStatus?.restartCount == 1)
    }

    @Test("the pod's story is told in Events (Created, Started, Killing)")
    func eventsTellTheStory() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let created = try await harness.admin.create(harness.pod("storied", script: "sleep 300"))
        try await harness.waitForPod("storied", "Running") { $0.status?.phase == "Running" }
        func reasons() async throws -> Set<String> {
            let events = try await harness.admin.listAll(Event.self, namespace: harness.namespace)
            return Set(events.items.filter { $0.involvedObject.uid == created.metadata.uid }.compactMap { $0.reason })
        }
        try await eventually("Created and Started events on pod storied") { try await reasons().isSuperset(of: ["Created", "Started"]) ? true : nil }
        try await harness.admin.delete(Pod.self, name: "storied", namespace: harness.namespace)
        try await eventually("a Killing event on pod storied") { try await reasons().contains("Killing") ? true : nil }
    }

    /// Creates pod `huge`, asking for more memory than any Nomad client has, and waits until it is
    /// Pending with Nomad's placement failure.
    static func createUnplaceablePod(_ harness: AgentHarness) async throws -> Pod {
        var pod = harness.pod("huge", script: "sleep 300")
        pod.spec?.containers[0].resources = ResourceRequirements(requests: ["memory": Quantity(integerLiteral: 64 * 1024 * 1024 * 1024 * 1024)])
        _ = try await harness.admin.create(pod)
        return try await harness.waitForPod("huge", "Pending with the placement failure") {
            $0.status?.phase == "Pending" && $0.status?.reason == PodStatusMapper.placementFailedReason
        }
    }

    @Test("a pod Nomad cannot place stays Pending, quoting the placement failure")
    func unplaceablePodStaysPending() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let pending = try await Self.createUnplaceablePod(harness)
        #expect(pending.status?.message?.isEmpty == false)
        #expect(pending.mainStatus?.state?.running == nil)
    }

    @Test("an agent started after Nomad failed to place a pod still quotes the placement failure (from the job's evaluations)")
    func placementFailureSurvivesRestart() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        let pending = try await Self.createUnplaceablePod(harness)
        await harness.stopAgent()
        try harness.startAgent()
        // The restarted agent reconciles "huge" (listed at its start) before this later pod.
        _ = try await harness.admin.create(harness.pod("marker", script: "sleep 300"))
        try await harness.waitForPod("marker", "Running (the restarted agent has reconciled huge)") { $0.status?.phase == "Running" }
        let after = try #require(try await harness.readPod("huge"))
        #expect(after.status?.phase == "Pending")
        #expect(after.status?.reason == PodStatusMapper.placementFailedReason)
        #expect(after.status?.message == pending.status?.message)
    }

    @Test("a lost Nomad client fails its pods with reason NomadClientLost", .enabled(if: E2EEnvironment.realNomadAddress == nil, "takes Nomad down: simulator only"))
    func lostClientFailsPod() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        let nomadSimulator = try #require(harness.nomadSimulator, "needs the Nomad simulator to lose a client")
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("stranded", script: "sleep 300"))
        try await harness.waitForPod("stranded", "Running") { $0.status?.phase == "Running" }
        await nomadSimulator.setNodeDown("vm", true)
        let failed = try await harness.waitForPod("stranded", "Failed with NomadClientLost") { $0.status?.phase == "Failed" }
        #expect(failed.status?.reason == PodStatusMapper.clientLostReason)
        let ready = try await eventually("the node to turn NotReady without an eligible client") { () -> NodeCondition? in
            let condition = try await harness.admin.get(Node.self, name: harness.nodeName).status?.conditions?.first { $0.type == "Ready" }
            return condition?.status == "False" ? condition : nil
        }
        #expect(ready.reason == "NoEligibleNomadClient")
    }

    @Test("a job whose pod vanished while the agent was away is stopped after the orphan grace")
    func orphanJobStopped() async throws {
        let harness = try await AgentHarness.start()
        defer { DeferredCleanup.start { await harness.shutdown() } }
        try harness.startAgent()
        _ = try await harness.admin.create(harness.pod("forgotten", script: harness.pidScript("forgotten.pid", then: "sleep 300")))
        try await harness.waitForPod("forgotten", "Running") { $0.status?.phase == "Running" }
        let pid = try await harness.pid("forgotten.pid")
        await harness.stopAgent()
        try await harness.admin.delete(Pod.self, name: "forgotten", namespace: harness.namespace, options: DeleteOptions(gracePeriodSeconds: 0))
        #expect(processExists(pid), "nothing stops the job while the agent is away")
        try harness.startAgent()
        try await eventually("the orphan job to be stopped") { try await harness.jobsOfNode().allSatisfy { $0.stop == true } ? true : nil }
        try await eventually("the orphan's process to exit") { processExists(pid) ? nil : true }
    }
}
