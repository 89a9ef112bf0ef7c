import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@testable import TestSupport

@Suite("Nomad simulator: restarts, kills, nodes, events, blocking queries, faults", .serialized)
struct NomadSimulatorBehaviourTests {
    static let fastRestart = #"{"Attempts": 3, "Interval": 60000000000, "Delay": 200000000, "Mode": "delay"}"#

    static func taskPID(_ http: RawNomadHTTP, _ allocID: String, _ task: String) async throws -> Int32? {
        let stats = try await http.get("/v1/client/allocation/\(allocID)/stats").json
        return stats["Tasks"]?[task]?["Pids"]?.object?.keys.compactMap { Int32($0) }.min()
    }

    @Test func killingTheProcessWithTheOSCountsARestart() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "victim", script: "exec sleep 300", restart: Self.fastRestart))
        let id = try await http.firstAllocation(of: "victim")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "main", state: "running")
        let pid = try #require(try await Self.taskPID(http, id, "main"))
        #expect(OSProcess.alive(pid))
        kill(pid, SIGKILL)
        let restarted = try await http.waitFor("Restarts to reach 1 and the task to run again") {
            try await http.get("/v1/allocation/\(id)").json["TaskStates"]?["main"] ?? .null
        } until: { $0["Restarts"]?.int == 1 && $0["State"]?.string == "running" }
        let newPID = try await Self.taskPID(http, id, "main")
        await simulator.shutdown()
        let events = restarted["Events"]?.array ?? []
        let terminated = events.first { $0["Type"]?.string == "Terminated" }
        #expect(terminated?["Signal"]?.int == 9)
        #expect(terminated?["ExitCode"]?.int == 137)
        let restarting = events.first { $0["Type"]?.string == "Restarting" }
        #expect(restarting?["RestartReason"]?.string == "Restart within policy")
        #expect(restarting?["DisplayMessage"]?.string?.hasPrefix("Task restarting in ") == true)
        #expect(restarted["LastRestart"]?.string != nil)
        #expect(newPID != nil && newPID != pid)
        #expect(!OSProcess.alive(pid))
        if let newPID { #expect(!OSProcess.alive(newPID)) }
    }

    @Test func restartPolicyModeFailEndsTheAllocationFailed() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(
            TestJobs.job(id: "crash", script: "echo crashing; exit 1", restart: #"{"Attempts": 1, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#))
        let id = try await http.firstAllocation(of: "crash")["ID"]?.string ?? ""
        let failed = try await http.waitFor("the crashing allocation to fail") {
            try await http.get("/v1/allocation/\(id)").json
        } until: { $0["ClientStatus"]?.string == "failed" }
        let summary = try await http.get("/v1/job/crash/summary").json
        await simulator.shutdown()
        let task = failed["TaskStates"]?["main"]
        #expect(task?["Restarts"]?.int == 1)
        #expect(task?["Failed"]?.bool == true)
        #expect(task?["State"]?.string == "dead")
        let last = task?["Events"]?.array?.last
        #expect(last?["Type"]?.string == "Not Restarting")
        #expect(last?["DisplayMessage"]?.string == #"Exceeded allowed attempts 1 in interval 1m0s and mode is "fail""#)
        #expect(last?["FailsTask"]?.bool == true)
        #expect(summary["Summary"]?["pod"]?["Failed"]?.int == 1)
    }

    @Test func killTimeoutEscalatesToSIGKILLAndLeavesNoProcess() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let marker = "NSIM_STUBBORN=\(UUID().uuidString)"
        let job = TestJobs.job(id: "stubborn", script: "trap '' TERM; while true; do sleep 0.1; done")
            .replacingOccurrences(of: #""POD_NAME": "web-0""#, with: #""NSIM_STUBBORN": "\#(marker.dropFirst(14))""#)
            .replacingOccurrences(of: #""KillTimeout": 2000000000"#, with: #""KillTimeout": 500000000"#)
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "stubborn")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "main", state: "running")
        #expect(!OSProcess.pids(withEnvironment: marker).isEmpty)
        let started = ContinuousClock.now
        _ = try await http.request(.DELETE, "/v1/job/stubborn")
        let dead = try await http.waitForTask(id, "main", state: "dead")
        let elapsed = ContinuousClock.now - started
        let left = OSProcess.pids(withEnvironment: marker)
        await simulator.shutdown()
        #expect(elapsed >= .milliseconds(450))
        let terminated = dead["TaskStates"]?["main"]?["Events"]?.array?.first { $0["Type"]?.string == "Terminated" }
        #expect(terminated?["Signal"]?.int == 9)
        #expect(left.isEmpty)
    }

    @Test func shutdownKillsStubbornTasksAndWhatTheyStartedAtOnce() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("nsim-grandchild-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        // A task that ignores SIGTERM and starts a grandchild that ignores it too, in its group.
        let script = "trap '' TERM; (trap '' TERM; while true; do sleep 0.1; done) & echo $$ $! > \(pidFile.path); wait"
        let job = TestJobs.job(id: "stubborn-tree", script: script).replacingOccurrences(of: #""KillTimeout": 2000000000"#, with: #""KillTimeout": 60000000000"#)
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "stubborn-tree")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "main", state: "running")
        let pids = try await eventually("the task to write its and its child's pid") { () -> [Int32]? in
            let found = (try? String(contentsOf: pidFile, encoding: .utf8))?.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) } ?? []
            return found.count == 2 ? found : nil
        }
        let started = ContinuousClock.now
        await simulator.shutdown()
        #expect(ContinuousClock.now - started < .seconds(30), "shutdown does not wait out the 60 s kill timeout")
        try await eventually("no process of the task's group \(pids[0]) left after shutdown") { !processGroupExists(pids[0]) }
        #expect(!processExists(pids[1]))
    }

    @Test func lifecycleOrderEnvironmentAndTaskDirectory() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let prestart = """
            {"Name": "init", "Driver": "raw_exec", "Config": {"command": "/bin/sh", "args": ["-c", "echo ready > $NOMAD_ALLOC_DIR/ready"]},
             "Resources": {"CPU": 50, "MemoryMB": 32}, "Lifecycle": {"Hook": "prestart", "Sidecar": false}},
            {"Name": "side", "Driver": "raw_exec", "Config": {"command": "/bin/sh", "args": ["-c", "while true; do sleep 0.1; done"]},
             "Resources": {"CPU": 50, "MemoryMB": 32}, "Lifecycle": {"Hook": "prestart", "Sidecar": true}},
            {"Name": "after", "Driver": "raw_exec", "Config": {"command": "/bin/sh", "args": ["-c", "echo poststop ran > $NOMAD_ALLOC_DIR/after"]},
             "Resources": {"CPU": 50, "MemoryMB": 32}, "Lifecycle": {"Hook": "poststop"}},
            """
        let script = "cat $NOMAD_ALLOC_DIR/ready; echo task=$NOMAD_TASK_NAME job=$NOMAD_JOB_NAME port=$NOMAD_PORT_http; echo admin=$NOMAD_PORT_admin; pwd; cat local/greeting"
        let job = TestJobs.job(
            id: "ordered", type: "batch", script: script, restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#,
            extraTasks: prestart, groupExtras: #""Networks": [{"ReservedPorts": [{"Label": "http", "Value": 18181}], "DynamicPorts": [{"Label": "admin"}]}],"#,
            taskExtras: #""Templates": [{"EmbeddedTmpl": "hello {{ env \"NOMAD_TASK_NAME\" }}", "DestPath": "local/greeting"}],"#)
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "ordered")["ID"]?.string ?? ""
        let done = try await http.waitFor("the batch allocation to complete") {
            try await http.get("/v1/allocation/\(id)").json
        } until: { $0["ClientStatus"]?.string == "complete" || $0["ClientStatus"]?.string == "failed" }
        let output = try await http.get("/v1/client/fs/logs/\(id)?task=main&type=stdout&plain=true").text
        let after = try await http.waitFor("the poststop task to finish") {
            try await http.get("/v1/allocation/\(id)").json["TaskStates"]?["after"]?["State"]?.string
        } until: { $0 == "dead" }
        await simulator.shutdown()
        #expect(done["ClientStatus"]?.string == "complete")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "ready")
        #expect(lines.dropFirst().first == "task=main job=ordered port=18181")
        let admin = Int(lines.dropFirst(2).first?.replacingOccurrences(of: "admin=", with: "") ?? "") ?? 0
        #expect((20000...32000).contains(admin))
        let network = done["AllocatedResources"]?["Shared"]?["Networks"]?.array?.first
        #expect(network?["DynamicPorts"]?.array?.first?["Value"]?.int == Int64(admin))
        #expect(network?["ReservedPorts"]?.array?.first?["Value"]?.int == 18181)
        #expect(lines.dropFirst(3).first?.hasSuffix("/\(id)/main") == true)
        #expect(lines.last == "hello main")
        // The sidecar was stopped once the main task finished.
        #expect(done["TaskStates"]?["side"]?["State"]?.string == "dead")
        #expect(after == "dead")
    }

    @Test func userRestartOfOneTaskIsSignaledAndCounted() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "restartable", script: "exec sleep 300", taskName: "web"))
        let id = try await http.firstAllocation(of: "restartable")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "web", state: "running")
        let answer = try await http.request(.PUT, "/v1/client/allocation/\(id)/restart", body: #"{"TaskName": "web"}"#)
        let state = try await http.waitFor("the restarted task to run again") {
            try await http.get("/v1/allocation/\(id)").json["TaskStates"]?["web"] ?? .null
        } until: { $0["Restarts"]?.int == 1 && $0["State"]?.string == "running" }
        await simulator.shutdown()
        #expect(answer.json == ["Index": 0])
        let types = state["Events"]?.array?.compactMap { $0["Type"]?.string } ?? []
        #expect(types == ["Received", "Task Setup", "Started", "Restart Signaled", "Terminated", "Restarting", "Started"])
        let restarting = state["Events"]?.array?.first { $0["Type"]?.string == "Restarting" }
        #expect(restarting?["DisplayMessage"]?.string == "Task restarting in 0s")
    }

    @Test func updatingAJobCreatesANewVersionAndReplacesTheAllocation() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "versioned", script: "exec sleep 300"))
        let first = try await http.firstAllocation(of: "versioned")["ID"]?.string ?? ""
        _ = try await http.waitForTask(first, "main", state: "running")
        let current = try await http.get("/v1/job/versioned").json["JobModifyIndex"]?.int ?? 0
        let update = #"{"Job": \#(TestJobs.job(id: "versioned", script: "exec sleep 301")), "EnforceIndex": true, "JobModifyIndex": \#(current)}"#
        let answer = try await http.request(.POST, "/v1/job/versioned", body: update)
        let replaced = try await http.waitFor("a running allocation of version 1") {
            try await http.get("/v1/job/versioned/allocations").json.array ?? []
        } until: { $0.contains { $0["JobVersion"]?.int == 1 && $0["ClientStatus"]?.string == "running" } }
        let old = try await http.waitForTask(first, "main", state: "dead")
        await simulator.shutdown()
        #expect(answer.status == 200)
        #expect(replaced.count == 2)
        #expect(old["DesiredStatus"]?.string == "stop")
        #expect(old["DesiredDescription"]?.string == "alloc not needed due to job update")
    }

    @Test func staticPortsCannotBeSharedOnOneNode() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let port = #""Networks": [{"ReservedPorts": [{"Label": "http", "Value": 18099}]}],"#
        _ = try await http.register(TestJobs.job(id: "first", script: "exec sleep 300", groupExtras: port))
        let second = try await http.register(TestJobs.job(id: "second", script: "exec sleep 300", groupExtras: port))
        let eval = try await http.get("/v1/evaluation/\(second.json["EvalID"]?.string ?? "")").json
        let allocations = try await http.get("/v1/job/second/allocations").json
        await simulator.shutdown()
        #expect(eval["FailedTGAllocs"]?["pod"]?["DimensionExhausted"]?["network: reserved port collision"]?.int == 1)
        #expect(eval["BlockedEval"]?.string?.isEmpty == false)
        #expect(allocations.array?.isEmpty == true)
    }

    @Test func constraintsSelectTheNode() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.nodes = [
            .init(name: "a", meta: ["rack": "r1"]), .init(name: "b", nodeClass: "gpu", meta: ["rack": "r2"]),
        ]
        let simulator = try await NomadSimulator.start(configuration)
        let http = RawNomadHTTP(address: simulator.address)
        let constraints = [
            #"{"LTarget": "${meta.rack}", "RTarget": "r2", "Operand": "="}"#, #"{"LTarget": "${node.class}", "RTarget": "gp.*", "Operand": "regexp"}"#,
            #"{"LTarget": "${attr.unique.hostname}", "RTarget": "a", "Operand": "!="}"#,
        ]
        _ = try await http.register(TestJobs.job(id: "picky", script: "exec sleep 300", jobExtras: #""Constraints": [\#(constraints.joined(separator: ","))],"#))
        let alloc = try await http.firstAllocation(of: "picky")
        await simulator.shutdown()
        #expect(alloc["NodeName"]?.string == "b")
    }

    @Test func aNodeGoingDownLosesItsAllocationsAndKillsTheirProcesses() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.nodes = [.init(name: "a"), .init(name: "b")]
        let simulator = try await NomadSimulator.start(configuration)
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "mobile", script: "exec sleep 300"))
        let first = try await http.firstAllocation(of: "mobile")
        let firstID = first["ID"]?.string ?? ""
        _ = try await http.waitForTask(firstID, "main", state: "running")
        let pid = try #require(try await Self.taskPID(http, firstID, "main"))
        let nodeName = first["NodeName"]?.string ?? ""
        await simulator.setNodeDown(nodeName, true)
        let lost = try await http.get("/v1/allocation/\(firstID)").json
        let replacement = try await http.waitFor("a replacement allocation running on the other node") {
            try await http.get("/v1/job/mobile/allocations").json.array ?? []
        } until: { $0.contains { $0["ClientStatus"]?.string == "running" && $0["NodeName"]?.string != nodeName } }
        let nodes = try await http.get("/v1/nodes").json.array ?? []
        let gone = try await http.waitFor("the lost allocation's process to be gone") { OSProcess.alive(pid) } until: { !$0 }
        await simulator.shutdown()
        #expect(lost["ClientStatus"]?.string == "lost")
        #expect(replacement.count == 2)
        #expect(nodes.first { $0["Name"]?.string == nodeName }?["Status"]?.string == "down")
        #expect(!gone)
    }

    /// Reads event-stream lines until `enough` holds or the deadline passes.
    static func readEvents(_ url: String, until enough: @escaping ([WireJSON]) -> Bool) async throws -> [WireJSON] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        var buffer = ""
        var lines: [WireJSON] = []
        let deadline = ContinuousClock.now + .seconds(15)
        for try await chunk in response.body {
            buffer += String(buffer: chunk)
            while let newline = buffer.firstIndex(of: "\n") {
                lines.append((try? WireJSON.parse(Data(buffer[..<newline].utf8))) ?? .null)
                buffer = String(buffer[buffer.index(after: newline)...])
            }
            if enough(lines) || ContinuousClock.now > deadline { break }
        }
        return lines
    }

    @Test func eventStreamCarriesChangesWithIncreasingIndexesAndResumes() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let register = try RecordedTraffic.exchange("nomad/01-agent-nodes-jobs.txt", titled: "register a service job")
        _ = try await http.request(.POST, register.target, body: register.requestBody)
        let url = "\(simulator.address)/v1/event/stream?topic=Job&topic=Allocation&topic=Evaluation&topic=Node"
        let lines = try await Self.readEvents(url) { lines in
            lines.contains { line in
                line["Events"]?.array?.contains { $0["Topic"]?.string == "Allocation" && $0["Payload"]?["Allocation"]?["ClientStatus"]?.string == "running" } == true
            }
        }
        let batches = lines.filter { $0["Index"] != nil }
        let indexes = batches.compactMap { $0["Index"]?.int }
        let middle = indexes[indexes.count / 2]
        let resumed = try await Self.readEvents(url + "&index=\(middle)") { !$0.filter { $0["Index"] != nil }.isEmpty }
        let jobOnly = try await Self.readEvents("\(simulator.address)/v1/event/stream?topic=Job:default.web-0") { !$0.filter { $0["Index"] != nil }.isEmpty }
        await simulator.shutdown()
        #expect(lines.first == .object([:]))
        #expect(indexes == indexes.sorted())
        let types = Set(batches.flatMap { $0["Events"]?.array ?? [] }.compactMap { "\($0["Topic"]?.string ?? "")/\($0["Type"]?.string ?? "")" })
        #expect(types.isSuperset(of: ["Job/JobRegistered", "Evaluation/JobRegistered", "Allocation/PlanResult", "Allocation/AllocationUpdated", "Node/NodeRegistration"]))
        let recorded = try RecordedTraffic.stream("nomad/02-event-stream.txt")
        func runningUpdate(_ event: WireJSON) -> Bool {
            event["Type"]?.string == "AllocationUpdated" && event["Payload"]?["Allocation"]?["ClientStatus"]?.string == "running"
                && event["Payload"]?["Allocation"]?["JobID"]?.string == "default.web-0"
        }
        let recordedEvent = recorded.lines.compactMap { try? WireJSON.parse(Data($0.utf8)) }.flatMap { $0["Events"]?.array ?? [] }.first(where: runningUpdate)
        let simulatedEvent = batches.flatMap { $0["Events"]?.array ?? [] }.first(where: runningUpdate)
        expectShape(try #require(recordedEvent), try #require(simulatedEvent))
        #expect(resumed.first { $0["Index"] != nil }?["Index"]?.int == middle)
        #expect(jobOnly.filter { $0["Index"] != nil }.allSatisfy { $0["Events"]?.array?.allSatisfy { $0["Topic"]?.string == "Job" } == true })
    }

    @Test func blockingQueriesReturnOnChangeOrAfterWait() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "blocker", script: "exec sleep 300"))
        let id = try await http.firstAllocation(of: "blocker")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "main", state: "running")
        let idle = try await http.get("/v1/job/blocker/allocations")
        let index = try #require(idle.index)
        let started = ContinuousClock.now
        let unchanged = try await http.get("/v1/job/blocker/allocations?index=\(index)&wait=1s")
        let waited = ContinuousClock.now - started
        let pending = Task { try await http.get("/v1/job/blocker/allocations?index=\(index)&wait=20s") }
        try await Task.sleep(for: .milliseconds(200))
        let changeStarted = ContinuousClock.now
        _ = try await http.request(.DELETE, "/v1/job/blocker")
        let changed = try await pending.value
        let changeWait = ContinuousClock.now - changeStarted
        await simulator.shutdown()
        #expect(unchanged.index == index)
        #expect(waited >= .milliseconds(950))
        #expect(waited < .seconds(5))
        #expect((changed.index ?? 0) > index)
        #expect(changeWait < .seconds(5))
        #expect(changed.json.array?.first?["DesiredStatus"]?.string == "stop")
    }

    @Test func faultsOnDemand() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        await simulator.setAvailability(.serviceUnavailable)
        let unavailable = try await http.get("/v1/jobs")
        await simulator.setAvailability(.refusingConnections)
        await #expect(throws: (any Error).self) { try await http.get("/v1/jobs", timeout: .seconds(5)) }
        await simulator.setAvailability(.up)
        let back = try await http.get("/v1/jobs")
        await simulator.setResponseDelay(.milliseconds(400))
        let started = ContinuousClock.now
        _ = try await http.get("/v1/status/leader")
        let slow = ContinuousClock.now - started
        await simulator.shutdown()
        #expect(unavailable.status == 503)
        #expect(unavailable.text == "No cluster leader")
        #expect(back.status == 200)
        #expect(RawNomadHTTP(address: simulator.address).address == http.address)
        #expect(slow >= .milliseconds(400))
    }

    @Test func aclTokensAreEnforced() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.aclTokens = [
            .init(secretID: "root", management: true), .init(secretID: "reader", capabilities: ["read-job", "list-jobs"]),
        ]
        let simulator = try await NomadSimulator.start(configuration)
        var http = RawNomadHTTP(address: simulator.address)
        let anonymous = try await http.get("/v1/jobs")
        http.token = "reader"
        let read = try await http.get("/v1/jobs")
        let write = try await http.register(TestJobs.job(id: "denied", script: "true"))
        http.token = "wrong"
        let unknown = try await http.get("/v1/jobs")
        http.token = "root"
        let allowed = try await http.register(TestJobs.job(id: "allowed", script: "true"))
        await simulator.shutdown()
        #expect(anonymous.status == 403)
        #expect(anonymous.text == "Permission denied")
        #expect(read.status == 200)
        #expect(write.status == 403)
        #expect(write.text == "Permission denied")
        #expect(unknown.status == 403)
        #expect(unknown.text == "ACL token not found")
        #expect(allowed.status == 200)
    }

    @Test func shutdownLeavesNoProcessBehind() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let marker = "NSIM_SHUTDOWN=\(UUID().uuidString)"
        let job = TestJobs.job(id: "lingering", script: "sleep 300 & sleep 300")
            .replacingOccurrences(of: #""POD_NAME": "web-0""#, with: #""NSIM_SHUTDOWN": "\#(marker.dropFirst(14))""#)
        _ = try await http.register(job)
        _ = try await http.waitFor("two task processes in /proc") { OSProcess.pids(withEnvironment: marker) } until: { $0.count >= 3 }
        await simulator.shutdown()
        let left = OSProcess.pids(withEnvironment: marker)
        #expect(left.isEmpty)
    }
}
