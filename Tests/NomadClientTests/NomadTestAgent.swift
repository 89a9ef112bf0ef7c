import Foundation
import Synchronization
import Testing
import NomadClient
import NomadModels
import TestSupport

/// The Nomad agent an end-to-end test talks to: a real one when `E2EEnvironment.realNomadAddress`
/// is set (token from `NOMAD_TOKEN`), else a fresh ``NomadSimulator``.
struct NomadTestAgent {
    let client: NomadClient
    let simulator: NomadSimulator?

    static func start(simulatorConfiguration: NomadSimulator.Configuration = .init(), token: NomadToken? = nil, retry: NomadClientConfiguration.Retry = .init()) async throws -> NomadTestAgent {
        if let address = E2EEnvironment.realNomadAddress {
            var configuration = NomadClientConfiguration.fromEnvironment()
            configuration.address = address
            if let token { configuration.token = token }
            configuration.retry = retry
            return NomadTestAgent(client: try NomadClient(configuration: configuration), simulator: nil)
        }
        let simulator = try await NomadSimulator.start(simulatorConfiguration)
        let configuration = NomadClientConfiguration(address: simulator.address, token: token, retry: retry)
        return NomadTestAgent(client: try NomadClient(configuration: configuration), simulator: simulator)
    }

    func shutdown() async {
        try? await client.shutdown()
        await simulator?.shutdown()
    }

    /// A service job running `script` with `/bin/sh -c` in task `main` (raw_exec), restarted in place on failure.
    static func shellJob(id: String, script: String) -> Job {
        let task = NomadTask(
            name: "main", driver: "raw_exec", config: TaskConfig(command: "/bin/sh", args: ["-c", script]),
            env: ["NOMAD_CLIENT_TEST": id], resources: Resources(cpu: 100, memoryMB: 64),
            killTimeout: .seconds(2), killSignal: "SIGTERM", logConfig: LogConfig(maxFiles: 2, maxFileSizeMB: 1)
        )
        let group = TaskGroup(
            name: "pod", count: 1, tasks: [task],
            restartPolicy: RestartPolicy(attempts: 3, interval: .seconds(120), delay: .seconds(1), mode: .delay),
            reschedulePolicy: ReschedulePolicy(attempts: 0, unlimited: false), ephemeralDisk: EphemeralDisk(sizeMB: 50)
        )
        return Job(id: id, name: id, type: .service, datacenters: ["dc1"], meta: ["k8s.node": "nomad-client-tests"], taskGroups: [group])
    }

    /// A job ID of its own for a test; recorded so ``PurgesTestJobs`` removes the job after the test.
    static func uniqueJobID(_ name: String) -> String {
        let id = "nomad-client-\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        TestJobs.current?.record(id)
        return id
    }
}


/// The job IDs a test named, for ``PurgesTestJobs``.
final class TestJobs: Sendable {
    /// The recorder of the running test, if its suite has the trait.
    @TaskLocal static var current: TestJobs?
    private let ids = Mutex<[String]>([])
    func record(_ id: String) { ids.withLock { $0.append(id) } }
    var recorded: [String] { ids.withLock { $0 } }
}

/// After each test, passed or failed, purges the jobs it named with ``NomadTestAgent/uniqueJobID(_:)``
/// from a real agent, so no `nomad-client-*` job outlives its test (a simulator dies with its test).
struct PurgesTestJobs: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil, let address = E2EEnvironment.realNomadAddress else { return try await function() }
        let jobs = TestJobs()
        do {
            try await TestJobs.$current.withValue(jobs) { try await function() }
        } catch {
            await Self.purge(jobs.recorded, address: address)
            throw error
        }
        await Self.purge(jobs.recorded, address: address)
    }

    private static func purge(_ ids: [String], address: String) async {
        guard !ids.isEmpty else { return }
        var configuration = NomadClientConfiguration.fromEnvironment()
        configuration.address = address
        guard let client = try? NomadClient(configuration: configuration) else { return }
        for id in ids { _ = try? await client.deregister(jobID: id, purge: true) }
        try? await client.shutdown()
    }
}

extension Trait where Self == PurgesTestJobs {
    /// Purges the test's jobs from a real agent after each test, even a failed one.
    static var purgesTestJobs: PurgesTestJobs { PurgesTestJobs() }
}
