import Foundation
import Testing

@testable import TestSupport

/// Lifecycle hooks as Nomad 1.1.2's task hook coordinator runs them
/// (`client/allocrunner/task_hook_coordinator.go`, `alloc_runner.go`).
@Suite("Nomad simulator: lifecycle hooks as in Nomad 1.1.2", .serialized)
struct NomadSimulatorLifecycleTests {
    static func prestart(_ name: String, _ script: String, sidecar: Bool = false) -> String {
        """
        {"Name": "\(name)", "Driver": "raw_exec", "Config": {"command": "/bin/sh", "args": ["-c", \(TestJobs.jsonString(script))]},
         "Resources": {"CPU": 50, "MemoryMB": 32}, "KillTimeout": 1000000000, "Lifecycle": {"Hook": "prestart", "Sidecar": \(sidecar)}},
        """
    }

    @Test("prestart tasks start at once; the main task starts after every one of them succeeded and the sidecar started")
    func prestartTasksRunConcurrently() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        // `first` waits for a file `second` writes: run one after the other, they would never end.
        let tasks =
            Self.prestart("first", #"while [ ! -e "$NOMAD_ALLOC_DIR/second" ]; do sleep 0.05; done; echo first >> "$NOMAD_ALLOC_DIR/order""#)
            + Self.prestart("second", #"echo second >> "$NOMAD_ALLOC_DIR/order"; : > "$NOMAD_ALLOC_DIR/second""#)
            + Self.prestart("side", #"echo side-started >> "$NOMAD_ALLOC_DIR/side"; exec sleep 300"#, sidecar: true)
        let job = TestJobs.job(
            id: "concurrent", type: "batch", script: #"cat "$NOMAD_ALLOC_DIR/order" "$NOMAD_ALLOC_DIR/side""#,
            restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#, extraTasks: tasks)
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "concurrent")["ID"]?.string ?? ""
        let done = try await http.waitFor("the allocation to end") {
            try await http.get("/v1/allocation/\(id)").json
        } until: { ["complete", "failed"].contains($0["ClientStatus"]?.string ?? "") }
        let output = try await http.get("/v1/client/fs/logs/\(id)?task=main&type=stdout&plain=true").text
        await simulator.shutdown()
        #expect(done["ClientStatus"]?.string == "complete")
        #expect(output == "second\nfirst\nside-started\n")
        // The sidecar was killed once the main task was done.
        #expect(done["TaskStates"]?["side"]?["State"]?.string == "dead")
    }

    @Test("a prestart task that fails for good fails the allocation: siblings get 'Sibling Task Failed' and the main task never starts")
    func failedPrestartKillsSiblings() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let tasks = Self.prestart("broken", "exit 7") + Self.prestart("side", "exec sleep 300", sidecar: true)
        let job = TestJobs.job(
            id: "broken-init", type: "batch", script: "echo main ran",
            restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#, extraTasks: tasks)
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "broken-init")["ID"]?.string ?? ""
        let failed = try await http.waitFor("the allocation to fail and every task to be dead") {
            try await http.get("/v1/allocation/\(id)").json
        } until: { alloc in
            alloc["ClientStatus"]?.string == "failed" && ["broken", "side", "main"].allSatisfy { alloc["TaskStates"]?[$0]?["State"]?.string == "dead" }
        }
        await simulator.shutdown()
        #expect(failed["ClientStatus"]?.string == "failed")
        #expect(failed["TaskStates"]?["broken"]?["Failed"]?.bool == true)
        let sideEvents = failed["TaskStates"]?["side"]?["Events"]?.array ?? []
        let sibling = sideEvents.first { $0["Type"]?.string == "Sibling Task Failed" }
        #expect(sibling?["FailedSibling"]?.string == "broken")
        #expect(sibling?["DisplayMessage"]?.string == #"Task's sibling "broken" failed"#)
        #expect(failed["TaskStates"]?["main"]?["StartedAt"] == .null)
    }

    @Test("an allocation whose only running task is a prestart task reads running, as Nomad's getClientStatus says")
    func runningPrestartMakesTheAllocationRunning() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let job = TestJobs.job(id: "slow-init", script: "exec sleep 300", extraTasks: Self.prestart("init", "exec sleep 300"))
        _ = try await http.register(job)
        let id = try await http.firstAllocation(of: "slow-init")["ID"]?.string ?? ""
        let alloc = try await http.waitForTask(id, "init", state: "running")
        await simulator.shutdown()
        #expect(alloc["ClientStatus"]?.string == "running")
        #expect(alloc["TaskStates"]?["main"]?["State"]?.string == "pending")
    }

    @Test("a job change of only KillTimeout updates the allocation in place (Nomad's tasksUpdated ignores it); a command change replaces it")
    func killTimeoutChangeIsInPlace() async throws {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        let job = TestJobs.job(id: "inplace", script: "exec sleep 300")
        _ = try await http.register(job)
        let first = try await http.firstAllocation(of: "inplace")
        let id = first["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "main", state: "running")
        _ = try await http.register(job.replacingOccurrences(of: #""KillTimeout": 2000000000"#, with: #""KillTimeout": 9000000000"#))
        let updated = try await http.waitFor("the allocation to move to job version 1") {
            try await http.get("/v1/allocation/\(id)").json
        } until: { $0["Job"]?["Version"]?.int == 1 }
        let allocations = try await http.get("/v1/job/inplace/allocations").json.array ?? []
        _ = try await http.register(job.replacingOccurrences(of: "exec sleep 300", with: "exec sleep 301"))
        let replaced = try await http.waitFor("a second allocation for the command change") {
            try await http.get("/v1/job/inplace/allocations").json.array ?? []
        } until: { $0.count == 2 }
        await simulator.shutdown()
        #expect(allocations.count == 1)
        #expect(updated["DesiredStatus"]?.string == "run")
        #expect(updated["TaskStates"]?["main"]?["Restarts"]?.int == 0)
        #expect(updated["Job"]?["TaskGroups"]?.array?.first?["Tasks"]?.array?.first?["KillTimeout"]?.int == 9_000_000_000)
        #expect(replaced.count == 2)
    }
}
