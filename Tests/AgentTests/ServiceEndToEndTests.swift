import Agent
import Foundation
import Glibc
import KubernetesClient
import KubernetesModels
import NomadModels
import TestCleanup
import Testing
import TestSupport
import Translation

/// One service example's world: ``StorageSetup`` (the provisioner's RBAC and StorageClasses,
/// renamed per run on a real cluster) with the agent's kubelet API, so `kubectl logs` and `exec`
/// work, the shipped CRD, agent RBAC and RuntimeClasses applied, and kubectl as the cluster's admin.
/// Against the simulators, or real servers with `NOMAD_KUBELET_E2E=1`.
final class ServiceSetup: Sendable {
    let storage: StorageSetup
    let kubectl: KubectlRunner
    var harness: AgentHarness { storage.harness }

    private init(storage: StorageSetup, kubectl: KubectlRunner) {
        self.storage = storage
        self.kubectl = kubectl
    }

    static func start() async throws -> ServiceSetup {
        let storage = try await StorageSetup.start(extraGrants: [PseudoContainerEndToEndTests.pseudoImageReader], kubeletServer: true) { harness in
            try await PseudoContainerEndToEndTests.applyManifest("manifests/pseudoimage-crd.yaml", harness: harness)
            try await PseudoContainerEndToEndTests.applyManifest("manifests/agent-rbac.yaml", harness: harness)
            try await eventually("the PseudoImage CRD to serve") { (try? await harness.admin.list(PseudoImage.self)) != nil ? true : nil }
            try await PseudoContainerEndToEndTests.applyManifest("manifests/runtimeclass.yaml", harness: harness)
        }
        do {
            return ServiceSetup(storage: storage, kubectl: try KubectlRunner(adminOf: storage.harness.kubernetesSimulator, namespace: storage.harness.namespace))
        } catch {
            await storage.cleanup()
            throw error
        }
    }

    /// Deletes what the test made (on a real cluster also the example's PseudoImage, which is
    /// cluster-scoped), then the harness.
    func cleanup(pseudoImage: String) async {
        if harness.kubernetesSimulator == nil { try? await self.kubectl(["delete", "pseudoimage", pseudoImage, "--ignore-not-found"]) }
        await storage.cleanup()
        kubectl.cleanUp()
    }

    /// The kustomize overlay of a service example for this run (ending in a newline): its PseudoImage
    /// and StatefulSet `service` run as `uid`, the container port `port` (with `listen`, the patch
    /// operation that makes the service listen there), a 20 s grace, a 1 Gi claim on this run's Delete
    /// StorageClass, and the pods pinned to this harness's node.
    func overlay(_ service: String, uid: Int, port: Int, listen: String) -> String {
        let placement: JSONValue = [
            ["op": "add", "path": "/spec/template/spec/affinity", "value": harness.nodeAffinity],
            ["op": "add", "path": "/spec/volumeClaimTemplates/0/spec/storageClassName", "value": .string(storage.deleteClass)],
        ]
        let placementJSON = (try? String(decoding: JSONEncoder().encode(placement), as: UTF8.self)) ?? "[]"
        return """
            patches:
              - target: {kind: PseudoImage, name: \(service)}
                patch: '[{"op": "replace", "path": "/spec/uid", "value": \(uid)}]'
              - target: {kind: StatefulSet, name: \(service)}
                patch: |-
                  - {op: replace, path: /spec/template/spec/securityContext/runAsUser, value: \(uid)}
                  - \(listen)
                  - {op: replace, path: /spec/template/spec/containers/0/ports/0/containerPort, value: \(port)}
                  - {op: replace, path: /spec/template/spec/terminationGracePeriodSeconds, value: 20}
                  - {op: replace, path: /spec/volumeClaimTemplates/0/spec/resources/requests/storage, value: 1Gi}
              - {target: {kind: StatefulSet}, patch: '\(placementJSON)'}

            """
    }

    /// Runs kubectl (admin, the harness's namespace) and requires it to succeed; returns its output.
    @discardableResult
    func kubectl(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(60)) async throws -> String {
        let result = try await kubectl.run(arguments, stdin: stdin.map { Data($0.utf8) }, timeout: timeout)
        guard result.status == 0 else {
            throw ExampleError(description: "kubectl \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }

    /// `kubectl apply -f -` of the rendered example, as `kubectl apply -k` would send it.
    func apply(_ example: ExampleManifests) async throws {
        try await kubectl(["apply", "-f", "-"], stdin: example.yaml)
    }

    /// Waits until pod `name` (a new one when `replacing` is given) is Ready, i.e. its readiness probe passed.
    @discardableResult
    func waitUntilReady(_ name: String, replacing old: String? = nil, timeout: Duration = .seconds(120)) async throws -> Pod {
        try await harness.waitForPod(name, old == nil ? "Ready through its probe" : "recreated and Ready through its probe", timeout: timeout) {
            $0.isReady && (old == nil || $0.metadata.uid != old)
        }
    }

    /// Deletes pod `name` with kubectl (its StatefulSet recreates it) and returns the old uid.
    func deletePod(_ name: String) async throws -> String? {
        let old = try await harness.readPod(name)?.metadata.uid
        try await kubectl(["delete", "pod", name, "--wait=false"])
        return old
    }
}

/// A program installed on this machine from its Debian package, which a test runs for real.
struct HostProgram {
    let path: String
    let user: String
    let package: String

    static let postgresql = HostProgram(path: "/usr/lib/postgresql/15/bin/postgres", user: "postgres", package: "postgresql-15")
    static let prometheus = HostProgram(path: "/usr/bin/prometheus", user: "prometheus", package: "prometheus")

    /// The program's user's uid, when the user exists.
    var uid: Int? {
        guard let entry = getpwnam(user) else { return nil }
        return Int(entry.pointee.pw_uid)
    }

    /// Whether the story can run: the program and its user exist, and the tests run as root (the
    /// simulated Nomad client starts tasks as their user only then, as a real one does).
    var available: Bool { FileManager.default.isExecutableFile(atPath: path) && uid != nil && geteuid() == 0 }

    var missingReason: Comment {
        Comment(
            rawValue: "needs \(path) and the user \(user) (Debian package \(package): scripts/install-test-deps.sh installs it) and root, "
                + "so the simulated Nomad client can run it as \(user)")
    }
}

/// The shipped service examples with their real programs (Debian's PostgreSQL 15 and Prometheus),
/// end to end against the simulators: `kubectl apply` of the rendered example, the pod Ready
/// through its real probe, data written through the service kept across the pod's deletion and
/// re-creation by its StatefulSet, and `kubectl logs` / `kubectl exec` against it.
@Suite(
    "Service examples end to end: real PostgreSQL and Prometheus", .awaitsCleanup, .serialized, .timeLimit(.minutes(4)),
    .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct ServiceEndToEndTests {
    @Test(
        "PostgreSQL: initdb once, Ready through pg_isready, rows written with psql through kubectl exec survive the pod's re-creation, kubectl logs shows the server",
        .enabled(if: HostProgram.postgresql.available, HostProgram.postgresql.missingReason))
    func postgresql() async throws {
        let setup = try await ServiceSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup(pseudoImage: "postgresql") } }
        let port = try freeLoopbackPort()
        let uid = try #require(HostProgram.postgresql.uid)
        let example = try await ExampleManifests.render(
            "postgresql", overlay: setup.overlay("postgresql", uid: uid, port: port, listen: "{op: replace, path: /spec/template/spec/containers/0/env/0/value, value: \"\(port)\"}"))
        try await setup.apply(example)
        try await setup.waitUntilReady("postgresql-0")
        let initdb = try await setup.kubectl(["logs", "postgresql-0", "-c", "initdb"])
        #expect(initdb.contains("initdb: created the database cluster"), "\(initdb)")
        try await eventually("kubectl logs to show the server accepting connections") {
            (try? await setup.kubectl(["logs", "postgresql-0", "-c", "postgresql"]))?.contains("database system is ready to accept connections") == true
        }
        let psql = ["exec", "postgresql-0", "-c", "postgresql", "--", "psql", "-v", "ON_ERROR_STOP=1", "-At", "-c"]
        try await setup.kubectl(psql + ["CREATE TABLE visits (id int PRIMARY KEY, who text); INSERT INTO visits VALUES (1, 'ada'), (2, 'grace');"])
        #expect(try await setup.kubectl(psql + ["SELECT current_user, count(*) FROM visits"]) == "postgres|2\n")

        // The data directory is the claim's, owned by postgres, on the pod's Nomad client.
        let placement = try await setup.storage.placement(ofClaim: "data-postgresql-0")
        #expect(try await setup.storage.clientRunning("postgresql-0") == placement.nodeID)
        let path = placement.path
        #expect(FileManager.default.fileExists(atPath: path + "/pgdata/PG_VERSION"))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.ownerAccountName] as? String == "postgres")

        let old = try await setup.deletePod("postgresql-0")
        try await setup.waitUntilReady("postgresql-0", replacing: old)
        #expect(try await setup.kubectl(psql + ["SELECT string_agg(who, ',' ORDER BY id) FROM visits"]) == "ada,grace\n")
        let again = try await setup.kubectl(["logs", "postgresql-0", "-c", "initdb"])
        #expect(again.contains("already in"), "\(again)")
    }

    @Test(
        "Prometheus: Ready through /-/ready, a scraped series is still queryable (promtool through kubectl exec) after the pod's re-creation, kubectl logs shows the server",
        .enabled(if: HostProgram.prometheus.available, HostProgram.prometheus.missingReason))
    func prometheus() async throws {
        let setup = try await ServiceSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup(pseudoImage: "prometheus") } }
        let port = try freeLoopbackPort()
        let uid = try #require(HostProgram.prometheus.uid)
        let example = try await ExampleManifests.render(
            "prometheus",
            overlay: setup.overlay("prometheus", uid: uid, port: port, listen: "{op: replace, path: /spec/template/spec/containers/0/args/4, value: \"--web.listen-address=127.0.0.1:\(port)\"}")
                + """
                configMapGenerator:
                  - name: prometheus-config
                    behavior: replace
                    files: [prometheus.yml]
                """,
            files: [
                "prometheus.yml": """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: prometheus
                    static_configs: [{targets: ["127.0.0.1:\(port)"]}]
                """
            ])
        try await setup.apply(example)
        try await setup.waitUntilReady("prometheus-0")
        try await eventually("kubectl logs to show the server ready") {
            (try? await setup.kubectl(["logs", "prometheus-0"]))?.contains("Server is ready to receive web requests.") == true
        }
        let server = "http://127.0.0.1:\(port)"
        // A moment that has a scraped sample, asked again after the re-creation.
        let scraped = try await eventually("a scraped sample of up{job=\"prometheus\"}") { () -> String? in
            let now = Int(Date().timeIntervalSince1970)
            let output = try? await setup.kubectl(["exec", "prometheus-0", "--", "promtool", "query", "instant", "--time=\(now)", server, "up{job=\"prometheus\"}"])
            return output?.contains("=> 1 @[") == true ? "\(now)" : nil
        }
        let old = try await setup.deletePod("prometheus-0")
        try await setup.waitUntilReady("prometheus-0", replacing: old)
        let after = try await setup.kubectl(["exec", "prometheus-0", "--", "promtool", "query", "instant", "--time=\(scraped)", server, "up{job=\"prometheus\"}"])
        #expect(after.contains("=> 1 @["), "\(after)")
        // The TSDB is on the claim's directory: its write-ahead log is there.
        #expect(FileManager.default.fileExists(atPath: try await setup.storage.placement(ofClaim: "data-prometheus-0").path + "/wal"))
    }
}

/// The shipped service examples as `nomad-kubelet translate` sees them (real `kubectl kustomize`
/// output): the key facts of each job, so a change to an example or to the translation that breaks
/// a service fails here, without any server.
@Suite("Service examples from Debian packages (PostgreSQL, Prometheus): the translated jobs' key facts", .awaitsCleanup, .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct PackagedServiceTranslationTests {
    @Test("PostgreSQL: postgres from the PseudoImage as user postgres on the claim's directory, port 5432, SIGINT with 120 s, initdb first, pg_isready and tcp probes")
    func postgresql() async throws {
        let example = try await ExampleManifests.render("postgresql")
        let job = try example.job(of: "StatefulSet", "postgresql")
        let server = try #require(job.task("postgresql"))
        let arguments = server.config?.args ?? []
        let program = try #require(arguments.firstIndex(of: "--")).advanced(by: 1)
        #expect(Array(arguments[program...]) == [
            "/usr/lib/postgresql/15/bin/postgres", "-D", "${NOMAD_KUBELET_VOLUME_DATA}",
            "-c", "config_file=${NOMAD_KUBELET_ROOT}/etc/postgresql/postgresql.conf", "-c", "hba_file=${NOMAD_KUBELET_ROOT}/etc/postgresql/pg_hba.conf",
        ])
        #expect(server.user == "postgres")
        #expect(server.killSignal == "SIGINT")
        #expect(server.killTimeout == NomadDuration(.seconds(120)))
        #expect(server.env?["PGPORT"] == "5432")
        let volume = try #require(server.env?["NOMAD_KUBELET_VOLUME_DATA"])
        #expect(volume.hasPrefix(AgentConfiguration.Storage().rootDirectory + "/pvc-") && volume.hasSuffix("/pgdata"))
        #expect(job.podGroup?.networks?.first?.reservedPorts?.map(\.value) == [5432])
        #expect(job.constraints?.contains { $0.lTarget == "${node.unique.id}" } == true)
        let initdb = try #require(job.task("initdb"))
        #expect(initdb.lifecycle?.hook == "prestart" && initdb.lifecycle?.sidecar != true)
        #expect(initdb.user == "postgres")
        #expect(initdb.env?["INITDB"] == "/usr/lib/postgresql/15/bin/initdb")
        #expect(initdb.env?["NOMAD_KUBELET_VOLUME_DATA"] == volume)
        // The probes are the agent's (they are in the pod, not the job): pg_isready for readiness.
        let pod = try #require(try example.translations().first?.workload.pod)
        #expect(pod.spec?.containers.first?.readinessProbe?.exec?.command?.first == "pg_isready")
        #expect(pod.spec?.containers.first?.livenessProbe?.tcpSocket != nil)
        #expect(pod.spec?.securityContext?.runAsUser == 101 && example.object("PseudoImage", "postgresql")?["spec"]?["uid"] == 101)
        #expect(example.object("Service", "postgresql-headless")?["spec"]?["clusterIP"] == "None")
    }

    @Test("Prometheus: /usr/bin/prometheus as user prometheus with its TSDB on the claim and a retention limit, port 9090, SIGTERM with 60 s, /-/ready and /-/healthy probes")
    func prometheus() async throws {
        let example = try await ExampleManifests.render("prometheus")
        let job = try example.job(of: "StatefulSet", "prometheus")
        let server = try #require(job.task("prometheus"))
        let arguments = server.config?.args ?? []
        let program = try #require(arguments.firstIndex(of: "--")).advanced(by: 1)
        #expect(arguments[program] == "/usr/bin/prometheus")
        #expect(arguments.contains("--storage.tsdb.path=${NOMAD_KUBELET_VOLUME_DATA}"))
        #expect(arguments.contains("--config.file=${NOMAD_KUBELET_ROOT}/etc/prometheus/prometheus.yml"))
        #expect(arguments.contains { $0.hasPrefix("--storage.tsdb.retention.time=") } && arguments.contains { $0.hasPrefix("--storage.tsdb.retention.size=") })
        #expect(server.user == "prometheus")
        #expect(server.killSignal == "SIGTERM")
        #expect(server.killTimeout == NomadDuration(.seconds(60)))
        #expect(server.env?["NOMAD_KUBELET_VOLUME_DATA"]?.hasPrefix(AgentConfiguration.Storage().rootDirectory + "/pvc-") == true)
        #expect(job.podGroup?.networks?.first?.reservedPorts?.map(\.value) == [9090])
        let container = try #require(try example.translations().first?.workload.pod.spec?.containers.first)
        #expect(container.readinessProbe?.httpGet?.path == "/-/ready")
        #expect(container.livenessProbe?.httpGet?.path == "/-/healthy")
    }
}
