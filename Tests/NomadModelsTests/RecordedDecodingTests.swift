import Foundation
import NomadModels
import Testing
import TestSupport

private let agentFile = "nomad/01-agent-nodes-jobs.txt"
private let statsFile = "nomad/07-stats-restart-stop-deregister.txt"

private func decode<T: Decodable>(_ type: T.Type, _ file: String, titled title: String) throws -> T {
    let exchange = try RecordedTraffic.exchange(file, titled: title)
    return try JSONDecoder().decode(T.self, from: Data(exchange.responseBody.utf8))
}

@Suite("Decoding recorded Nomad 1.1.2 bodies")
struct RecordedDecodingTests {
    @Test func nodeListStubs() throws {
        let nodes = try decode([NodeListStub].self, agentFile, titled: "list client nodes")
        let node = try #require(nodes.first)
        #expect(node.name == "vm")
        #expect(node.status == .ready)
        #expect(node.schedulingEligibility == "eligible")
        #expect(node.drivers?["raw_exec"]?.healthy == true)
        #expect(node.drivers?["raw_exec"]?.updateTime?.date != nil)
        #expect(node.nodePool == nil)  // 1.6+ only
    }

    @Test func fullNode() throws {
        let node = try decode(NomadNode.self, agentFile, titled: "one client node")
        #expect(node.httpAddr == "127.0.0.1:4646")
        #expect(node.attributes?["kernel.name"] == "linux")
        #expect(node.nodeResources?.cpu?.cpuShares == 5192)
        #expect(node.nodeResources?.memory?.memoryMB == 24105)
        #expect(node.nodeResources?.cpu?.reservableCpuCores == [0, 1])
        #expect(node.resources?.cpu == 5192)
        #expect(node.reservedResources?.networks?.reservedHostPorts == "")
        #expect(node.drainStrategy == nil)
        #expect(node.events?.first?.message == "Node registered")
        #expect(node.statusUpdatedAt == 1_795_639_288)
    }

    @Test func registerRequestAndResponse() throws {
        let exchange = try RecordedTraffic.exchange(agentFile, titled: "register a service job")
        let request = try JSONDecoder().decode(JobRegisterRequest.self, from: Data(try #require(exchange.requestBody).utf8))
        let job = try #require(request.job)
        #expect(job.type == .service)
        #expect(job.meta?["k8s.pod"] == "web-0")
        let group = try #require(job.taskGroups?.first)
        #expect(group.restartPolicy?.interval == .seconds(60))
        #expect(group.restartPolicy?.mode == .delay)
        #expect(group.networks?.first?.reservedPorts?.first?.value == 18081)
        let initTask = try #require(group.tasks?.first)
        #expect(initTask.lifecycle?.hook == .prestart)
        #expect(initTask.config?.command == "/bin/sh")
        #expect(initTask.config?.args == ["-c", "echo init done"])
        #expect(initTask.killTimeout == .seconds(5))

        let response = try JSONDecoder().decode(JobRegisterResponse.self, from: Data(exchange.responseBody.utf8))
        #expect(response.evalID == "0e9589d6-d2af-efed-8fee-4e0ccaeb7b92")
        #expect(response.jobModifyIndex == 73)
        #expect(response.warnings == "")
    }

    @Test func jobAsStoredRoundTrips() throws {
        let exchange = try RecordedTraffic.exchange(agentFile, titled: "the job as stored")
        let job = try JSONDecoder().decode(Job.self, from: Data(exchange.responseBody.utf8))
        #expect(job.jobModifyIndex == 73)
        #expect(job.region == "global")
        #expect(job.stop == false)
        let group = try #require(job.taskGroups?.first)
        #expect(group.shutdownDelay == nil)  // sent as null
        #expect(group.constraints?.first?.operand == "set_contains")
        #expect(group.reschedulePolicy?.maxDelay == .seconds(3600))
        #expect(group.tasks?.last?.lifecycle == nil)
        // Encoding and decoding again keeps every modelled field.
        let again = try JSONDecoder().decode(Job.self, from: JSONEncoder().encode(job))
        #expect(again == job)
    }

    @Test func allocationStubsWithTaskStates() throws {
        let allocations = try decode([AllocationListStub].self, agentFile, titled: "allocations of the job")
        let allocation = try #require(allocations.first)
        #expect(allocation.clientStatus == .running)
        #expect(allocation.desiredStatus == .run)
        #expect(allocation.jobType == .service)
        let web = try #require(allocation.taskStates?["web"])
        #expect(web.state == .running)
        #expect(web.finishedAt == nil)
        #expect(web.startedAt?.date != nil)
        #expect(web.events?.map(\.type) == ["Received", "Task Setup", "Started"])
        let initState = try #require(allocation.taskStates?["init"])
        #expect(initState.state == .dead)
        #expect(initState.events?.last?.details?["exit_code"] == "0")
    }

    @Test func fullAllocation() throws {
        let allocation = try decode(Allocation.self, agentFile, titled: "the allocation in full")
        #expect(allocation.allocatedResources?.shared?.ports?.first?.value == 18081)
        #expect(allocation.allocatedResources?.shared?.ports?.first?.hostIP == "127.0.0.1")
        #expect(allocation.allocatedResources?.taskLifecycles?["init"]??.hook == .prestart)
        #expect(allocation.allocatedResources?.taskLifecycles?["web"] == .some(nil))
        #expect(allocation.allocatedResources?.tasks?["web"]?.memory?.memoryMB == 64)
        #expect(allocation.job?.id == "default.web-0")
        #expect(allocation.metrics?.nodesEvaluated == 1)
        #expect(allocation.networkStatus?.address == "")
        #expect(allocation.createTime == 1_795_639_594_048_036_521)
        #expect(allocation.deploymentID == "769f5d1a-1600-023a-2f79-1d7155c39058")
    }

    @Test func batchExitCodeInTerminatedEvent() throws {
        let allocation = try decode(Allocation.self, agentFile, titled: "its allocation after the task failed")
        #expect(allocation.clientStatus == .failed)
        let main = try #require(allocation.taskStates?["main"])
        #expect(main.failed == true)
        let terminated = try #require(main.events?.last { $0.type == "Terminated" })
        #expect(terminated.exitCode == 3)
        #expect(terminated.details?["exit_code"] == "3")
    }

    @Test func batchCompleted() throws {
        let allocation = try decode(Allocation.self, agentFile, titled: "a batch allocation that completed with exit 0")
        #expect(allocation.clientStatus == .complete)
        #expect(allocation.taskStates?.values.allSatisfy { $0.failed == false } == true)
    }

    @Test func crashLoopCountsRestarts() throws {
        let allocation = try decode(Allocation.self, agentFile, titled: "the crashing allocation")
        let state = try #require(allocation.taskStates?.values.first)
        #expect(state.restarts == 3)
        #expect(state.state == .pending)
        #expect(state.lastRestart?.date != nil)
        let restarting = (state.events ?? []).filter { $0.type == "Restarting" }
        #expect(restarting.last?.restartReason == "Exceeded allowed attempts, applying a delay")
        #expect(restarting.last?.startDelay == 54_798_742_685)
        #expect((state.events ?? []).contains { $0.type == "Terminated" && $0.exitCode == 1 })
    }

    @Test func placementFailureConstraint() throws {
        let evaluation = try decode(Evaluation.self, agentFile, titled: "its evaluation: FailedTGAllocs")
        #expect(evaluation.blockedEval == "9db12f6e-0332-38fc-6ee0-6c1b2ba2d3b7")
        #expect(evaluation.triggeredBy == "job-register")
        let metric = try #require(evaluation.failedTGAllocs?["pod"])
        #expect(metric.nodesEvaluated == 1)
        #expect(metric.nodesFiltered == 1)
        #expect(metric.constraintFiltered?["${attr.kernel.name} = windows"] == 1)
        #expect(evaluation.queuedAllocations?["pod"] == 1)
    }

    @Test func placementFailureMemory() throws {
        let exchange = try #require(RecordedTraffic.exchanges(agentFile).first { $0.title == "its evaluation" })
        let tooBig = try JSONDecoder().decode(Evaluation.self, from: Data(exchange.responseBody.utf8))
        let metric = try #require(tooBig.failedTGAllocs?["pod"])
        #expect(metric.dimensionExhausted?["memory"] == 1)
        #expect(metric.nodesExhausted == 1)
        #expect(metric.resourcesExhausted?["main"]?.memoryMB == 10_000_000)
    }

    @Test func jobSummaries() throws {
        let summary = try decode(JobSummary.self, agentFile, titled: "job summary of the unplaceable job")
        #expect(summary.summary?["pod"]?.queued == 1)
        let running = try decode(JobSummary.self, agentFile, titled: "job summary")
        #expect(running.summary?["pod"]?.running == 1)
    }

    @Test func allocationAndHostStats() throws {
        let usage = try decode(AllocResourceUsage.self, statsFile, titled: "allocation resource usage")
        #expect(usage.resourceUsage?.memoryStats?.rss == 128_745_472)
        #expect(usage.tasks?["web"]?.pids?.keys.sorted() == ["23554", "23564"])
        #expect(usage.resourceUsage?.cpuStats?.measured?.contains("Percent") == true)
        let host = try decode(HostStats.self, statsFile, titled: "client host stats")
        #expect(host.cpu?.count == 2)
        #expect(host.memory?.total == 25_276_510_208)
        #expect(host.uptime == 897)
        #expect(host.diskStats?.first?.mountpoint == "/")
    }

    @Test func restartAndKillEvents() throws {
        let restarted = try decode(Allocation.self, statsFile, titled: "the allocation after the restart")
        #expect(restarted.taskStates?["web"]?.events?.contains { $0.type == "Restart Signaled" } == true)
        let stopped = try decode(Allocation.self, statsFile, titled: "its allocation after the stop")
        #expect(stopped.desiredStatus == .stop)
        let killing = try #require(stopped.taskStates?["web"]?.events?.first { $0.type == "Killing" })
        #expect(killing.killTimeout == .seconds(5))
        let job = try decode(Job.self, statsFile, titled: "the stopped job")
        #expect(job.stop == true)
        let deregister = try decode(JobRegisterResponse.self, statsFile, titled: "deregister with purge")
        #expect(deregister.evalID == "e6436281-ac2a-2926-6b16-997290993992")
    }

    @Test func eventStreamLines() throws {
        let stream = try RecordedTraffic.stream("nomad/02-event-stream.txt")
        var heartbeats = 0
        var topics: Set<EventTopic> = []
        var allocationRunning = false
        for line in stream.lines {
            let batch = try JSONDecoder().decode(EventBatch.self, from: Data(line.utf8))
            if batch.isHeartbeat {
                heartbeats += 1
                continue
            }
            let index = try #require(batch.index)
            for event in batch.events ?? [] {
                #expect(event.index == index)
                if let topic = event.topic { topics.insert(topic) }
                if event.topic == .allocation, event.payload?.allocation?.clientStatus == .running { allocationRunning = true }
                if event.topic == .job { #expect(event.payload?.job?.id == event.key) }
                if event.topic == .node { #expect(event.payload?.node?.id == event.key) }
            }
        }
        #expect(heartbeats == 3)
        #expect(topics == [.job, .allocation, .node, .evaluation])
        #expect(allocationRunning)
    }

    @Test func agentSelfVersion() throws {
        let body = #"{"config": {"Version": {"Revision": "", "Version": "1.1.2", "VersionMetadata": "", "VersionPrerelease": ""}, "Region": "global"}, "member": {"Name": "vm.global"}, "stats": {}}"#
        let agent = try JSONDecoder().decode(AgentSelf.self, from: Data(body.utf8))
        #expect(agent.config?.version?.version == "1.1.2")
    }
}
