import Foundation
import KubernetesClient
import KubernetesModels
import Synchronization
import Testing
import TestSupport

/// The API server an end-to-end test talks to: a real cluster when `E2EEnvironment.realKubeconfig`
/// is set, else a fresh ``KubernetesSimulator``. Tests use unique names and a per-test label so
/// they can share a real cluster.
struct TestCluster {
    let simulator: KubernetesSimulator?
    let adminConfiguration: ClientConfiguration
    let admin: KubernetesClient
    /// Unique per test: object name prefix and the value of the `test-run` label.
    let runID: String
    let namespace = "default"

    var isSimulator: Bool { simulator != nil }
    var runLabel: String { "test-run=\(runID)" }

    /// Starts a simulator (bookmarks every 100 ms) or connects to the real cluster.
    static func start() async throws -> TestCluster {
        let runID = "kc-" + UUID().uuidString.prefix(8).lowercased()
        if let path = E2EEnvironment.realKubeconfig {
            var configuration = try KubeconfigLoader.load(path: path)
            configuration.retry = .fast
            return TestCluster(simulator: nil, adminConfiguration: configuration, admin: try KubernetesClient(configuration: configuration), runID: runID)
        }
        var simulatorConfiguration = KubernetesSimulator.Configuration()
        simulatorConfiguration.bookmarkInterval = .milliseconds(100)
        let simulator = try await KubernetesSimulator.start(simulatorConfiguration)
        do {
            var configuration = try KubeconfigLoader.parse(yaml: try simulator.kubeconfig(for: .admin), path: "simulator-admin.kubeconfig")
            configuration.retry = .fast
            return TestCluster(simulator: simulator, adminConfiguration: configuration, admin: try KubernetesClient(configuration: configuration), runID: runID)
        } catch {
            try await simulator.shutdown()
            throw error
        }
    }

    /// A client for another identity of the simulator.
    func client(for identity: KubernetesSimulator.Identity, credential: KubernetesSimulator.CredentialKind = .clientCertificate) throws -> KubernetesClient {
        guard let simulator else { throw SimulatorOnly() }
        var configuration = try KubeconfigLoader.parse(yaml: try simulator.kubeconfig(for: identity, credential: credential), path: "simulator.kubeconfig")
        configuration.retry = .fast
        return try KubernetesClient(configuration: configuration)
    }

    /// A ConfigMap named `<runID>-<suffix>` carrying the run label.
    func configMap(_ suffix: String, data: [String: String] = [:], labels: [String: String] = [:]) -> ConfigMap {
        var allLabels = labels
        allLabels["test-run"] = runID
        return ConfigMap(metadata: ObjectMeta(name: "\(runID)-\(suffix)", namespace: namespace, labels: allLabels), data: data)
    }

    /// Deletes this run's ConfigMaps and stops the simulator.
    func shutdown() async {
        if let list = try? await admin.list(ConfigMap.self, namespace: namespace, options: ListOptions(labelSelector: runLabel)) {
            for item in list.items {
                _ = try? await admin.delete(ConfigMap.self, name: item.metadata.name ?? "", namespace: namespace, options: DeleteOptions(gracePeriodSeconds: 0))
            }
        }
        try? await admin.shutdown()
        try? await simulator?.shutdown()
    }

    /// Runs `body` against a started cluster and always cleans up.
    static func with(_ body: (TestCluster) async throws -> Void) async throws {
        let cluster = try await start()
        do {
            try await body(cluster)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }
}

/// Thrown when a simulator-only helper is used against a real cluster.
struct SimulatorOnly: Error, CustomStringConvertible {
    var description: String { "this step needs the simulator" }
}

/// Whether the simulator is in use (tests that inject faults or impersonate identities need it).
let usesSimulator = E2EEnvironment.realKubeconfig == nil

extension RetryPolicy {
    /// Short, real delays: keeps tests fast while still exercising the retry path.
    static var fast: RetryPolicy { RetryPolicy(maximumRetries: 3, initialDelay: .milliseconds(5), maximumDelay: .milliseconds(50)) }
}

/// Records the delays a client asked to wait, without waiting.
final class DelayRecorder: Sendable {
    private let recorded = Mutex<[Duration]>([])
    var delays: [Duration] { recorded.withLock { $0 } }

    func policy(maximumRetries: Int = 3) -> RetryPolicy {
        RetryPolicy(maximumRetries: maximumRetries, initialDelay: .milliseconds(5), maximumDelay: .seconds(60)) { delay in
            self.recorded.withLock { $0.append(delay) }
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes; the failure names `what` was awaited.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout) waiting for \(what)")
    throw CancellationError()
}

/// Collects an informer's events for assertions.
actor EventLog<Resource: KubernetesResource> {
    private(set) var events: [InformerEvent<Resource>] = []

    func append(_ event: InformerEvent<Resource>) { events.append(event) }

    /// `added a@5`, `updated a@7`, `deleted a@9`: name and resourceVersion of each event.
    var summary: [String] {
        events.map { event in
            switch event {
            case .added(let object): "added \(object.metadata.name ?? "")"
            case .updated(_, let new): "updated \(new.metadata.name ?? "")"
            case .deleted(let object): "deleted \(object.metadata.name ?? "")"
            case .resynced(let object): "resynced \(object.metadata.name ?? "")"
            }
        }
    }

    /// Events whose resourceVersion did not increase for their object: duplicates or replays.
    var nonIncreasing: [String] {
        var last: [String: UInt64] = [:]
        var problems: [String] = []
        for event in events {
            let object: Resource
            var isDeletion = false
            switch event {
            case .added(let value), .resynced(let value): object = value
            case .deleted(let value): object = value; isDeletion = true
            case .updated(_, let new): object = new
            }
            let name = object.metadata.name ?? ""
            let version = UInt64(object.metadata.resourceVersion ?? "") ?? 0
            // A deletion found by a re-list carries the last state seen, so its version may repeat.
            if let previous = last[name], isDeletion ? version < previous : version <= previous {
                problems.append("\(name)@\(version) after @\(previous)")
            }
            last[name] = version
        }
        return problems
    }
}
