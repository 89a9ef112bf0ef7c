import Foundation
import NIOHTTP1
import TestCleanup
import Testing

@testable import TestSupport

@Suite("Nomad simulator: job life cycle with real processes", .awaitsCleanup, .serialized)
struct NomadSimulatorCoreTests {
    @Test func registeredJobRunsARealProcessAndDeregisterKillsIt() async throws {
        let simulator = try await NomadSimulator.start()
        defer { DeferredCleanup.start { await simulator.shutdown() } }
        let http = RawNomadHTTP(address: simulator.address)
        let marker = "NSIM_TEST=\(UUID().uuidString)"
        let job = TestJobs.job(
            id: "default.web-0", script: "trap 'echo got TERM; exit 0' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done",
            taskExtras: #""User": "","#
        ).replacingOccurrences(of: #""Env": {"POD_NAME": "web-0"}"#, with: #""Env": {"POD_NAME": "web-0", "NSIM_TEST": "\#(marker.dropFirst(10))"}"#)
        let registered = try await http.register(job)
        #expect(registered.status == 200)
        #expect(registered.json["EvalID"]?.string?.isEmpty == false)
        #expect(registered.index == UInt64(registered.json["JobModifyIndex"]?.int ?? -1))

        let alloc = try await http.firstAllocation(of: "default.web-0")
        let allocID = try #require(alloc["ID"]?.string)
        let running = try await http.waitForTask(allocID, "main", state: "running")
        #expect(running["ClientStatus"]?.string == "running")
        let events = running["TaskStates"]?["main"]?["Events"]?.array?.compactMap { $0["Type"]?.string } ?? []
        #expect(events == ["Received", "Task Setup", "Started"])

        let pids = try await http.waitFor("the task process to appear in /proc") {
            OSProcess.pids(withEnvironment: marker)
        } until: { !$0.isEmpty }
        #expect(!pids.isEmpty)

        let stopped = try await http.request(.DELETE, "/v1/job/default.web-0")
        #expect(stopped.status == 200)
        let dead = try await http.waitForTask(allocID, "main", state: "dead")
        #expect(dead["DesiredStatus"]?.string == "stop")
        let types = dead["TaskStates"]?["main"]?["Events"]?.array?.compactMap { $0["Type"]?.string } ?? []
        #expect(types.suffix(3) == ["Killing", "Terminated", "Killed"])
        let remaining = try await http.waitFor("no task process left") { OSProcess.pids(withEnvironment: marker) } until: { $0.isEmpty }
        #expect(remaining.isEmpty)
        await simulator.shutdown()
    }
}
