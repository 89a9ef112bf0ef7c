import Foundation
import Logging
import NomadClient
import NomadModels
import Synchronization
import TestCleanup
import Testing
import TestSupport

@Suite("Nomad client end to end (simulator, or a real Nomad with NOMAD_KUBELET_E2E=1 and NOMAD_ADDR)", .awaitsCleanup, .serialized, .purgesTestJobs)
struct EndToEndTests {
    /// The story of issue 4: register a job running a real process, follow its logs, exec with a
    /// non-zero exit code, kill the process and see the restart counted, deregister and find no process.
    @Test func jobLifecycleWithARealProcess() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let client = agent.client
        let jobID = NomadTestAgent.uniqueJobID("life")

        // Start the change feed at the current index, before registering.
        let startIndex = try await client.jobs().index
        let feed = client.changes(NomadChangeFeedOptions(topics: [.jobs, .allocations], startIndex: startIndex))
        let script = "echo pid $$; i=0; while true; do echo line $i; echo err $i >&2; i=$((i+1)); sleep 0.2; done"
        let registered = try await client.register(NomadTestAgent.shellJob(id: jobID, script: script))
        #expect(registered.evalID?.isEmpty == false)

        // The feed sees the job and then its allocation running.
        var sawJob = false
        var runningAllocation: Allocation?
        for try await event in feed {
            #expect(event.index > startIndex)
            switch event.change {
            case .job(let job) where job.id == jobID: sawJob = true
            case .allocation(let allocation) where allocation.jobID == jobID && allocation.taskStates?["main"]?.state == .running:
                runningAllocation = allocation
            default: break
            }
            if runningAllocation != nil { break }
        }
        #expect(sawJob)
        let allocation = try #require(runningAllocation)
        let allocationID = try #require(allocation.id)

        // Follow stdout until a few lines arrived, then stop iterating (closes the stream).
        var followed = ""
        for try await chunk in client.logs(allocationID: allocationID, task: "main", follow: true) {
            followed += String(decoding: chunk.data, as: UTF8.self)
            if followed.contains("line 3\n") { break }
        }
        let firstPID = try #require(Self.pid(in: followed))
        #expect(processExists(firstPID))
        #expect(followed.contains("line 0\nline 1\nline 2\nline 3\n"))

        // Plain stderr.
        var stderr = ""
        for try await chunk in client.logs(allocationID: allocationID, task: "main", type: .stderr, plain: true) {
            stderr += String(decoding: chunk.data, as: UTF8.self)
        }
        #expect(stderr.hasPrefix("err 0\n"))

        // Exec: output on both streams, stdin, and the exit code.
        let result = try await client.execute(
            allocationID: allocationID, task: "main", command: ["/bin/sh", "-c", "read x; echo got $x; echo warn >&2; exit 7"], stdin: Data("hello\n".utf8)
        )
        #expect(result.exitCode == 7)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "got hello\n")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "warn\n")

        // Kill the process with the OS: Nomad restarts it in place and counts the restart.
        #expect(kill(firstPID, SIGKILL) == 0)
        let restarted = try await eventually("task main of \(allocationID) to be restarted and running again") {
            let state = try await client.allocation(allocationID).value.taskStates?["main"]
            return (state?.restarts ?? 0) >= 1 && state?.state == .running ? state : nil
        }
        #expect(restarted.restarts == 1)
        #expect(restarted.events?.contains { $0.type == "Restarting" } == true)
        let secondPID = try await eventually("the restarted process to log its pid") { () -> Int32? in
            var text = ""
            for try await chunk in client.logs(allocationID: allocationID, task: "main", plain: true) { text += String(decoding: chunk.data, as: UTF8.self) }
            return Self.pids(in: text).first { $0 != firstPID }
        }
        #expect(processExists(secondPID))

        // Stats of the running allocation.
        let stats = try await client.allocationStats(allocationID)
        #expect(stats.tasks?["main"] != nil)

        // Deregister with purge: the process is gone (asked of the OS) and the job is 404.
        _ = try await client.deregister(jobID: jobID, purge: true)
        _ = try await eventually("process \(secondPID) to exit after deregistration") { processExists(secondPID) ? nil : true }
        #expect(!processExists(firstPID))
        let gone = try await eventually("job \(jobID) to be purged") { () -> NomadClientError? in
            do {
                _ = try await client.job(jobID)
                return nil
            } catch let error as NomadClientError {
                return error
            }
        }
        #expect(gone.kind == .notFound)
        #expect(gone.description.contains(jobID))
    }

    @Test func validateRegisterReadListAndEnforceIndex() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let client = agent.client
        let jobID = NomadTestAgent.uniqueJobID("crud")
        let job = NomadTestAgent.shellJob(id: jobID, script: "sleep 600")

        let validation = try await client.validate(job)
        #expect((validation.validationErrors ?? []).isEmpty)

        let first = try await client.register(job, enforceIndex: 0)
        let stored = try await client.job(jobID).value
        #expect(stored.jobModifyIndex == first.jobModifyIndex)
        #expect(stored.taskGroups?.first?.tasks?.first?.killTimeout == .seconds(2))
        #expect(stored.meta?["k8s.node"] == "nomad-client-tests")

        // A stale index loses; the current one wins.
        let conflict = await #expect(throws: NomadClientError.self) { try await client.register(job, enforceIndex: 1) }
        #expect(conflict?.kind == .enforceIndexConflict)
        var changed = job
        changed.meta?["changed"] = "yes"
        let second = try await client.register(changed, enforceIndex: try #require(stored.jobModifyIndex))
        #expect((second.jobModifyIndex ?? 0) > (first.jobModifyIndex ?? 0))

        let listed = try await client.jobs(options: NomadQueryOptions(prefix: jobID)).value
        #expect(listed.map(\.id) == [jobID])
        let byMeta = try await client.jobs(prefix: "nomad-client-crud", meta: ["changed": "yes"])
        #expect(byMeta.map(\.id) == [jobID])
        #expect(try await client.jobs(prefix: "nomad-client-crud", meta: ["changed": "no"]).isEmpty)

        let allocations = try await eventually("an allocation of \(jobID)") { try await client.allocations(ofJob: jobID).value.first }
        #expect(allocations.jobID == jobID)
        let evaluation = try await client.evaluation(try #require(second.evalID))
        #expect(evaluation.jobID == jobID)
        let nodes = try await client.nodes().value
        let node = try await client.node(try #require(nodes.first?.id))
        #expect(node.status == .ready)

        // Stop without purge keeps the job, with Stop = true.
        _ = try await client.deregister(jobID: jobID)
        #expect(try await client.job(jobID).value.stop == true)
        _ = try await client.deregister(jobID: jobID, purge: true)
    }

    @Test func unknownJobIsNotFound() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let error = await #expect(throws: NomadClientError.self) { try await agent.client.job("no-such-job-4a1e") }
        #expect(error?.kind == .notFound)
        #expect(error?.statusCode == 404)
        #expect(error?.description.contains("no-such-job-4a1e") == true)
    }

    @Test(.enabled(if: E2EEnvironment.realNomadAddress == nil, "needs a simulator with ACLs on"))
    func badTokenIsForbidden() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.aclTokens = [.init(secretID: "good-token", management: true)]
        let agent = try await NomadTestAgent.start(simulatorConfiguration: configuration, token: NomadToken("bad-token"))
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let error = await #expect(throws: NomadClientError.self) { try await agent.client.jobs() }
        #expect(error?.kind == .forbidden)
        #expect(error?.statusCode == 403)
        #expect(error?.description.contains("token") == true)
        #expect(error?.description.contains("bad-token") == false)
    }

    @Test func unreachableAddressSaysWhatToCheck() async throws {
        let client = try NomadClient(configuration: NomadClientConfiguration(address: "http://127.0.0.1:9", connectTimeout: .seconds(2), retry: .none))
        defer { DeferredCleanup.start { try? await client.shutdown() } }
        let error = await #expect(throws: NomadClientError.self) { try await client.jobs() }
        #expect(error?.kind == .unreachable)
        #expect(error?.description.contains("127.0.0.1:9") == true)
        #expect(error?.description.contains("NOMAD_ADDR") == true)
    }

    @Test(.enabled(if: E2EEnvironment.realNomadAddress == nil, "fault injection needs the simulator"))
    func unavailableAgentIsRetriedThenReported() async throws {
        let agent = try await NomadTestAgent.start(retry: .init(maxAttempts: 2, initialBackoff: .milliseconds(10)))
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let simulator = try #require(agent.simulator)
        await simulator.setAvailability(.serviceUnavailable)
        let error = await #expect(throws: NomadClientError.self) { try await agent.client.jobs() }
        #expect(error?.kind == .unavailable)
        #expect(error?.statusCode == 503)
        await simulator.setAvailability(.up)
        #expect(try await agent.client.jobs().value.isEmpty)
    }

    @Test func execErrorsAreTyped() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let client = agent.client
        let jobID = NomadTestAgent.uniqueJobID("exec")
        _ = try await client.register(NomadTestAgent.shellJob(id: jobID, script: "sleep 600"))
        let allocationID = try await Self.runningAllocation(of: jobID, client: client)

        let missing = await #expect(throws: NomadClientError.self) {
            try await client.execute(allocationID: allocationID, task: "main", command: ["/no/such/binary"])
        }
        #expect(missing?.kind == .execFailed, "\(String(describing: missing))")
        #expect(missing?.description.contains("/no/such/binary") == true)
        let unknownTask = await #expect(throws: NomadClientError.self) {
            try await client.execute(allocationID: allocationID, task: "nope", command: ["/bin/true"])
        }
        #expect(unknownTask?.kind == .unknownTask, "\(String(describing: unknownTask))")
        let logsOfUnknownTask = await #expect(throws: NomadClientError.self) {
            for try await _ in client.logs(allocationID: allocationID, task: "nope", plain: true) {}
        }
        #expect(logsOfUnknownTask?.kind == .unknownTask)
        // The real agent upgrades, then closes with 1008 `Unknown allocation "<id>"`.
        let unknownAllocation = await #expect(throws: NomadClientError.self) {
            try await client.execute(allocationID: "00000000-0000-0000-0000-000000000000", task: "main", command: ["/bin/true"])
        }
        #expect(unknownAllocation?.kind == .notFound, "\(String(describing: unknownAllocation))")

        // A tty session: the terminal size reaches the command.
        // As recorded: the size first, then a command typed on stdin (frames are handled in order).
        let session = try client.exec(allocationID: allocationID, task: "main", command: ["/bin/sh"], tty: true)
        session.resize(width: 120, height: 40)
        session.write(Data("stty size; exit 5\n".utf8))
        var output = ""
        for try await chunk in session.output {
            if case .stdout(let bytes) = chunk { output += String(decoding: bytes, as: UTF8.self) }
        }
        #expect(try await session.exitCode() == 5)
        #expect(output.contains("40 120"))
        _ = try await client.deregister(jobID: jobID, purge: true)
    }

    @Test(arguments: [NomadChangeFeedOptions.Mode.eventStream, .blockingQueries])
    func changeFeedSurvivesAnOutageWithoutLossOrRepeats(mode: NomadChangeFeedOptions.Mode) async throws {
        let agent = try await NomadTestAgent.start(retry: .init(maxAttempts: 2, initialBackoff: .milliseconds(10)))
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let client = agent.client
        let startIndex = try await client.jobs().index
        let feed = client.changes(NomadChangeFeedOptions(topics: [.jobs], startIndex: startIndex, mode: mode, blockingWait: .seconds(2), reconnectDelay: .milliseconds(50)))
        var iterator = feed.makeAsyncIterator()
        let firstID = NomadTestAgent.uniqueJobID("feed-a")
        let secondID = NomadTestAgent.uniqueJobID("feed-b")
        _ = try await client.register(NomadTestAgent.shellJob(id: firstID, script: "sleep 600"))
        var seen: [NomadChangeEvent] = []
        while let event = try await iterator.next() {
            seen.append(event)
            if case .job(let job) = event.change, job.id == firstID { break }
        }
        if let simulator = agent.simulator {
            await simulator.setAvailability(.refusingConnections)
            let probe = try NomadClient(configuration: NomadClientConfiguration(address: simulator.address, connectTimeout: .milliseconds(200), retry: .none))
            _ = try await eventually("the simulator to refuse connections") { () -> Bool? in
                do {
                    _ = try await probe.jobs()
                    return nil
                } catch let error as NomadClientError where error.kind == .unreachable {
                    return true
                }
            }
            try await probe.shutdown()
            await simulator.setAvailability(.up)
        }
        _ = try await client.register(NomadTestAgent.shellJob(id: secondID, script: "sleep 600"))
        while let event = try await iterator.next() {
            seen.append(event)
            if case .job(let job) = event.change, job.id == secondID { break }
        }
        let jobEvents = seen.compactMap { event -> String? in
            if case .job(let job) = event.change { return "\(event.index) \(job.id ?? "")" }
            return nil
        }
        #expect(Set(jobEvents).count == jobEvents.count, "no change delivered twice: \(jobEvents)")
        #expect(jobEvents.contains { $0.hasSuffix(firstID) })
        #expect(jobEvents.contains { $0.hasSuffix(secondID) })
        for id in [firstID, secondID] { _ = try await client.deregister(jobID: id, purge: true) }
    }

    @Test func restartOneTaskThenStopTheAllocation() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let client = agent.client
        let jobID = NomadTestAgent.uniqueJobID("restart")
        _ = try await client.register(NomadTestAgent.shellJob(id: jobID, script: "sleep 600"))
        let allocationID = try await Self.runningAllocation(of: jobID, client: client)

        try await client.restartAllocation(allocationID, task: "main")
        let restarted = try await eventually("task main to be restarted on request") { () -> TaskState? in
            let state = try await client.allocation(allocationID).value.taskStates?["main"]
            return state?.restarts == 1 && state?.state == .running ? state : nil
        }
        #expect(restarted.events?.contains { $0.type == "Restart Signaled" && $0.restartReason == "User requested restart" } == true)
        let unknownTask = await #expect(throws: NomadClientError.self) { try await client.restartAllocation(allocationID, task: "nope") }
        #expect(unknownTask != nil)

        let stop = try await client.stopAllocation(allocationID)
        #expect(stop.evalID?.isEmpty == false)
        let stopped = try await eventually("allocation \(allocationID) to stop") { () -> Allocation? in
            let allocation = try await client.allocation(allocationID).value
            return allocation.desiredStatus == .stop && allocation.taskStates?["main"]?.state == .dead ? allocation : nil
        }
        #expect(stopped.clientStatus == .complete)
        _ = try await client.deregister(jobID: jobID, purge: true)
    }

    @Test func hostStatsAndAgentVersion() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let version = try await agent.client.version()
        #expect(version >= NomadVersion(1, 1))
        let host = try await agent.client.hostStats()
        #expect((host.memory?.total ?? 0) > 0)
    }

    static func runningAllocation(of jobID: String, client: NomadClient) async throws -> String {
        try await eventually("a running allocation of \(jobID)") {
            let stubs = try await client.allocations(ofJob: jobID).value
            return stubs.first { $0.taskStates?["main"]?.state == .running }?.id
        }
    }

    static func pids(in log: String) -> [Int32] {
        log.split(separator: "\n").compactMap { line in line.hasPrefix("pid ") ? Int32(line.dropFirst(4)) : nil }
    }

    static func pid(in log: String) -> Int32? { pids(in: log).first }
}

@Suite("Log streams", .awaitsCleanup, .serialized, .purgesTestJobs)
struct LogStreamTests {
    /// Established TCP connections from this machine to `port` (client side), from `/proc/net/tcp`.
    static func establishedConnections(toPort port: Int) -> Int {
        // Read to the end: procfs reports size 0, and the table can span several reads.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else { return -1 }
        try? handle.close()
        let table = String(decoding: data, as: UTF8.self)
        let hexPort = String(format: "%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2].hasSuffix(":\(hexPort)") && fields[3] == "01"
        }.count
    }

    @Test(.enabled(if: E2EEnvironment.realNomadAddress == nil, "counts connections to the simulator's port"))
    func stoppingAFollowedLogClosesTheConnection() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let simulator = try #require(agent.simulator)
        let jobID = NomadTestAgent.uniqueJobID("follow")
        _ = try await agent.client.register(NomadTestAgent.shellJob(id: jobID, script: "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"))
        let allocationID = try await EndToEndTests.runningAllocation(of: jobID, client: agent.client)
        let port = try #require(URLComponents(string: simulator.address)?.port)

        // A client of its own, so the follow gets a connection of its own; the other client's pooled
        // connections are the baseline.
        let baseline = Self.establishedConnections(toPort: port)
        let logClient = try NomadClient(configuration: NomadClientConfiguration(address: simulator.address))
        defer { DeferredCleanup.start { try? await logClient.shutdown() } }
        var connectionsWhileFollowing = 0
        var text = ""
        for try await chunk in logClient.logs(allocationID: allocationID, task: "main", origin: .end, offset: 0, follow: true, plain: true) {
            text += String(decoding: chunk.data, as: UTF8.self)
            connectionsWhileFollowing = Self.establishedConnections(toPort: port)
            if text.split(separator: "\n").count >= 2 { break }
        }
        #expect(connectionsWhileFollowing == baseline + 1)
        _ = try await eventually("the followed log's connection to close") {
            Self.establishedConnections(toPort: port) <= baseline ? true : nil
        }
        _ = try await agent.client.deregister(jobID: jobID, purge: true)
    }

    @Test func originEndReadsTheLastBytes() async throws {
        let agent = try await NomadTestAgent.start()
        defer { DeferredCleanup.start { await agent.shutdown() } }
        let jobID = NomadTestAgent.uniqueJobID("tail")
        _ = try await agent.client.register(NomadTestAgent.shellJob(id: jobID, script: "echo first; echo second; echo third; sleep 600"))
        let allocationID = try await EndToEndTests.runningAllocation(of: jobID, client: agent.client)
        let tail = try await eventually("the task to write three lines") { () -> String? in
            var text = ""
            for try await chunk in agent.client.logs(allocationID: allocationID, task: "main", origin: .end, offset: 6) {
                text += String(decoding: chunk.data, as: UTF8.self)
            }
            return text.isEmpty ? nil : text
        }
        #expect(tail == "third\n")
        _ = try await agent.client.deregister(jobID: jobID, purge: true)
    }
}

/// Records log messages so a test can wait for something the client only logs.
final class RecordingLogHandler: LogHandler, Sendable {
    private let recorded = Mutex<[String]>([])
    var metadata: Logger.Metadata {
        get { [:] }
        set {}  // metadata is not recorded
    }
    var logLevel: Logger.Level {
        get { .debug }
        set {}  // always records from debug up
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}  // metadata is not recorded
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let details = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        recorded.withLock { $0.append("\(message) \(details)") }
    }

    var messages: [String] { recorded.withLock { $0 } }
}

@Suite("Change feed watchdog", .awaitsCleanup, .serialized, .purgesTestJobs)
struct ChangeFeedWatchdogTests {
    @Test(.enabled(if: E2EEnvironment.realNomadAddress == nil, "needs the simulator's heartbeat setting"))
    func aSilentEventStreamIsReconnectedWithoutLossOrRepeats() async throws {
        var configuration = NomadSimulator.Configuration()
        configuration.heartbeatInterval = .seconds(30)  // far beyond the feed's idle timeout
        let simulator = try await NomadSimulator.start(configuration)
        defer { DeferredCleanup.start { await simulator.shutdown() } }
        let handler = RecordingLogHandler()
        let client = try NomadClient(configuration: NomadClientConfiguration(address: simulator.address), logger: Logger(label: "test") { _ in handler })
        defer { DeferredCleanup.start { try? await client.shutdown() } }

        let feed = client.changes(NomadChangeFeedOptions(topics: [.jobs], mode: .eventStream, reconnectDelay: .milliseconds(20), streamIdleTimeout: .milliseconds(300)))
        var iterator = feed.makeAsyncIterator()
        let firstID = NomadTestAgent.uniqueJobID("idle-a")
        let secondID = NomadTestAgent.uniqueJobID("idle-b")
        _ = try await client.register(NomadTestAgent.shellJob(id: firstID, script: "sleep 600"))
        var jobEvents: [String] = []
        while let event = try await iterator.next() {
            guard case .job(let job) = event.change else { continue }
            jobEvents.append("\(event.index) \(job.id ?? "")")
            if job.id == firstID { break }
        }
        _ = try await eventually("the watchdog to reconnect the silent stream") {
            handler.messages.contains { $0.contains("reconnecting") && $0.contains("no data or heartbeat") } ? true : nil
        }
        _ = try await client.register(NomadTestAgent.shellJob(id: secondID, script: "sleep 600"))
        while let event = try await iterator.next() {
            guard case .job(let job) = event.change else { continue }
            jobEvents.append("\(event.index) \(job.id ?? "")")
            if job.id == secondID { break }
        }
        #expect(Set(jobEvents).count == jobEvents.count, "no change delivered twice: \(jobEvents)")
        #expect(jobEvents.filter { $0.hasSuffix(firstID) }.count >= 1)
        #expect(jobEvents.last?.hasSuffix(secondID) == true)
        for id in [firstID, secondID] { _ = try await client.deregister(jobID: id, purge: true) }
    }
}
