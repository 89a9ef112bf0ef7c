import Foundation
import NIOHTTP1
import Testing

@testable import TestSupport

/// Fails with the recorded key paths the simulated answer lacks.
func expectShape(_ recorded: WireJSON, _ simulated: WireJSON, sourceLocation: SourceLocation = #_sourceLocation) {
    let missing = NomadWireShape.missing(recorded: recorded, simulated: simulated)
    #expect(missing == [], sourceLocation: sourceLocation)
}

/// Replays the requests of `Tests/Fixtures/recorded/nomad/` against the simulator and checks the
/// answers have the recorded status codes, headers, error texts and JSON shapes.
@Suite("Nomad simulator answers like the recorded Nomad 1.1.2", .serialized)
struct NomadRecordingConformanceTests {
    static let file = "nomad/01-agent-nodes-jobs.txt"

    static func recorded(_ title: String, in file: String = file) throws -> RecordedExchange {
        try RecordedTraffic.exchange(file, titled: title)
    }

    static func recordedJSON(_ title: String, in file: String = file) throws -> WireJSON {
        try WireJSON.parse(Data(recorded(title, in: file).responseBody.utf8))
    }

    /// Starts a simulator, replays the web-0 registration and waits for its task to run.
    static func startWithWeb0() async throws -> (NomadSimulator, RawNomadHTTP, String) {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let register = try recorded("register a service job")
        let answer = try await http.request(.POST, register.target, body: register.requestBody)
        #expect(answer.status == 200)
        let alloc = try await http.firstAllocation(of: "default.web-0")
        let id = alloc["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "web", state: "running")
        _ = try await http.waitForTask(id, "init", state: "dead")
        return (simulator, http, id)
    }

    @Test func agentSelfReportsTheConfiguredVersion() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.version = "1.6.3"
        let simulator = try await NomadSimulator.start(configuration)
        let answer = try await RawNomadHTTP(address: simulator.address).get("/v1/agent/self")
        await simulator.shutdown()
        #expect(answer.json["config"]?["Version"]?["Version"]?.string == "1.6.3")
    }

    @Test func nodesAndNodeHaveTheRecordedShapeAndIndexHeaders() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let list = try await http.get("/v1/nodes")
        let id = list.json.array?.first?["ID"]?.string ?? ""
        let node = try await http.get("/v1/node/\(id)")
        await simulator.shutdown()
        #expect(list.status == 200)
        #expect(list.index != nil)
        #expect(list.headers.first(name: "X-Nomad-Knownleader") == "true")
        expectShape(try Self.recordedJSON("list client nodes"), list.json)
        let recordedNode = try Self.recordedJSON("one client node")
        expectShape(recordedNode, node.json)
        #expect(node.json["Status"]?.string == "ready")
        #expect(node.json["Attributes"]?["unique.hostname"]?.string == "vm")
    }

    @Test func registerAllocationsJobAndSummaryMatchTheRecording() async throws {
        let (simulator, http, allocID) = try await Self.startWithWeb0()
        let register = try Self.recorded("register a service job")
        let again = try await http.request(.POST, register.target, body: register.requestBody)
        let allocations = try await http.get("/v1/job/default.web-0/allocations")
        let allocation = try await http.get("/v1/allocation/\(allocID)")
        let job = try await http.get("/v1/job/default.web-0")
        let summary = try await http.get("/v1/job/default.web-0/summary")
        await simulator.shutdown()

        #expect(Set(again.json.object?.keys.map { $0 } ?? []) == Set(try Self.recordedJSON("register a service job").object?.keys.map { $0 } ?? []))
        #expect(again.index != nil)
        expectShape(try Self.recordedJSON("allocations of the job"), allocations.json)
        expectShape(try Self.recordedJSON("the allocation in full"), allocation.json)
        expectShape(try Self.recordedJSON("the job as stored"), job.json)
        expectShape(try Self.recordedJSON("job summary"), summary.json)
        // The stored job carries Nomad's defaults and the kill-signal constraint.
        #expect(job.json["Priority"]?.int == 50)
        #expect(job.json["Region"]?.string == "global")
        // Registering an unchanged job keeps its version and does not replace the allocation.
        #expect(job.json["Version"]?.int == 0)
        #expect(allocations.json.array?.count == 1)
        let constraint = job.json["TaskGroups"]?.array?.first?["Constraints"]?.array?.first
        #expect(constraint?["LTarget"]?.string == "${attr.os.signals}")
        #expect(constraint?["RTarget"]?.string == "SIGTERM")
        #expect(summary.json["Summary"]?["pod"]?["Running"]?.int == 1)
        let initEvents = allocation.json["TaskStates"]?["init"]?["Events"]?.array?.compactMap { $0["Type"]?.string }
        #expect(initEvents == ["Received", "Task Setup", "Started", "Terminated"])
    }

    @Test func errorBodiesMatchTheRecording() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        for title in ["an unknown job", "malformed JSON in a job registration", "a job with no task groups"] {
            let exchange = try Self.recorded(title)
            let answer = try await http.request(HTTPMethod(rawValue: exchange.method), exchange.target, body: exchange.requestBody)
            #expect(answer.status == exchange.status, "\(title)")
            #expect(answer.text.trimmingCharacters(in: .newlines) == exchange.responseBody.trimmingCharacters(in: .newlines), "\(title)")
            #expect(answer.headers.first(name: "Content-Type") == exchange.responseHeader("Content-Type"), "\(title)")
        }
        await simulator.shutdown()
    }

    @Test func enforceIndexWithAStaleIndexFailsWithTheRecordedText() async throws {
        let (simulator, http, _) = try await Self.startWithWeb0()
        let exchange = try Self.recorded("register with EnforceIndex and a stale JobModifyIndex")
        let answer = try await http.request(.POST, exchange.target, body: exchange.requestBody)
        let current = try await http.get("/v1/job/default.web-0").json["JobModifyIndex"]?.int ?? -1
        await simulator.shutdown()
        #expect(answer.status == 500)
        #expect(answer.text == "Enforcing job modify index 1: job exists with conflicting job modify index: \(current)")
    }

    @Test func unplaceableJobsGetBlockedEvaluationsWithTheRecordedMetrics() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let constraint = try Self.recorded("register a job no client can run")
        let constraintEval = try await http.request(.POST, constraint.target, body: constraint.requestBody).json["EvalID"]?.string ?? ""
        let memory = try Self.recorded("register a job that asks for more memory")
        let memoryEval = try await http.request(.POST, memory.target, body: memory.requestBody).json["EvalID"]?.string ?? ""
        let first = try await http.get("/v1/evaluation/\(constraintEval)")
        let second = try await http.get("/v1/evaluation/\(memoryEval)")
        let summary = try await http.get("/v1/job/default.unplaceable/summary")
        await simulator.shutdown()

        expectShape(try Self.recordedJSON("its evaluation: FailedTGAllocs"), first.json)
        #expect(first.json["FailedTGAllocs"]?["pod"]?["ConstraintFiltered"]?["${attr.kernel.name} = windows"]?.int == 1)
        #expect(first.json["BlockedEval"]?.string?.isEmpty == false)
        #expect(first.json["Status"]?.string == "complete")
        #expect(second.json["FailedTGAllocs"]?["pod"]?["DimensionExhausted"]?["memory"]?.int == 1)
        #expect(second.json["FailedTGAllocs"]?["pod"]?["ResourcesExhausted"]?["main"]?["MemoryMB"]?.int == 10_000_000)
        #expect(summary.json["Summary"]?["pod"]?["Queued"]?.int == 1)
    }

    @Test func batchTasksFailOrCompleteWithTheRecordedEvents() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let exit3 = try Self.recorded("register a batch job whose task exits 3")
        _ = try await http.request(.POST, exit3.target, body: exit3.requestBody)
        let failedID = try await http.firstAllocation(of: "default.exit3")["ID"]?.string ?? ""
        let failed = try await http.waitFor("the exit-3 allocation to fail") {
            try await http.get("/v1/allocation/\(failedID)").json
        } until: { $0["ClientStatus"]?.string == "failed" }
        let okJob = TestJobs.job(id: "default.ok", type: "batch", script: "echo fine", restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 1000000000, "Mode": "fail"}"#)
        _ = try await http.register(okJob)
        let okID = try await http.firstAllocation(of: "default.ok")["ID"]?.string ?? ""
        let complete = try await http.waitFor("the exit-0 allocation to complete") {
            try await http.get("/v1/allocation/\(okID)").json
        } until: { $0["ClientStatus"]?.string == "complete" }
        await simulator.shutdown()

        expectShape(try Self.recordedJSON("its allocation after the task failed"), failed)
        #expect(failed["ClientDescription"]?.string == "Failed tasks")
        let events = failed["TaskStates"]?["main"]?["Events"]?.array ?? []
        #expect(events.compactMap { $0["Type"]?.string } == ["Received", "Task Setup", "Started", "Terminated", "Not Restarting"])
        #expect(events.first { $0["Type"]?.string == "Terminated" }?["ExitCode"]?.int == 3)
        #expect(events.last?["DisplayMessage"]?.string == "Policy allows no restarts")
        #expect(failed["TaskStates"]?["main"]?["Failed"]?.bool == true)
        #expect(complete["ClientDescription"]?.string == "All tasks have completed")
        #expect(complete["TaskStates"]?["main"]?["Failed"]?.bool == false)
    }

    @Test func validateReportsNomadsMessages() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let bad = #"{"Job": {"ID": "bad", "Name": "bad", "Type": "nope", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g", "Count": -1, "Tasks": [{"Name": "t", "Driver": "raw_exec"}, {"Name": "t"}]}]}}"#
        let answer = try await http.request(.POST, "/v1/validate/job", body: bad)
        let good = try await http.request(.POST, "/v1/validate/job", body: #"{"Job": \#(TestJobs.job(id: "fine", script: "true"))}"#)
        await simulator.shutdown()
        let errors = answer.json["ValidationErrors"]?.array?.compactMap(\.string) ?? []
        #expect(errors.first == "Invalid job type: \"nope\"")
        let group = errors.last ?? ""
        #expect(group.hasPrefix("Task group g validation failed: 3 errors occurred:"))
        #expect(group.contains("* Task group count can't be negative"))
        #expect(group.contains("* Task 2 redefines 't' from task 1"))
        #expect(group.contains("* Task t validation failed: 1 error occurred:\n\t* Missing task driver"))
        #expect(answer.json["Error"]?.string?.hasPrefix("2 errors occurred:\n\t* Invalid job type") == true)
        #expect(good.json["ValidationErrors"] == .null)
        #expect(good.json["DriverConfigValidated"]?.bool == true)
    }

    @Test func deregisterStopsAndPurgeRemovesTheJob() async throws {
        let (simulator, http, allocID) = try await Self.startWithWeb0()
        let stop = try await http.request(.DELETE, "/v1/job/default.web-0")
        let stopped = try await http.get("/v1/job/default.web-0")
        let alloc = try await http.waitForTask(allocID, "web", state: "dead")
        let purge = try await http.request(.DELETE, "/v1/job/default.web-0?purge=true")
        let gone = try await http.get("/v1/job/default.web-0")
        await simulator.shutdown()
        let recordedStop = try WireJSON.parse(Data(try Self.recorded("deregister (stop) the job", in: "nomad/07-stats-restart-stop-deregister.txt").responseBody.utf8))
        #expect(Set(stop.json.object?.keys.map { $0 } ?? []) == Set(recordedStop.object?.keys.map { $0 } ?? []))
        #expect(stopped.json["Stop"]?.bool == true)
        #expect(stopped.json["Status"]?.string == "dead")
        #expect(alloc["DesiredStatus"]?.string == "stop")
        #expect(alloc["DesiredDescription"]?.string == "alloc not needed due to job update")
        let killing = alloc["TaskStates"]?["web"]?["Events"]?.array?.first { $0["Type"]?.string == "Killing" }
        #expect(killing?["DisplayMessage"]?.string == "Sent interrupt. Waiting 5s before force killing")
        #expect(killing?["KillTimeout"]?.int == 5_000_000_000)
        // init had finished: it only gets the Killing event, as recorded.
        #expect(alloc["TaskStates"]?["init"]?["Events"]?.array?.last?["Type"]?.string == "Killing")
        #expect(purge.status == 200)
        #expect(gone.status == 404)
        #expect(gone.text == "job not found")
    }
}
