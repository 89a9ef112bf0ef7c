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

/// The storage story end to end: the shipped StorageClasses and RBAC (read from manifests/), the
/// agent as provisioner, the Kubernetes side (scheduler, PV controller, StatefulSet controller) and
/// Nomad clients with their own volume roots. Against the simulators by default; against a real
/// cluster and Nomad with the E2E variables (stories needing two clients or a client taken down
/// are simulator-only).
@Suite("Agent end to end: storage", .awaitsCleanup, .serialized)
struct StorageEndToEndTests {
    static let statefulSets = ResourceType(group: "apps", version: "v1", plural: "statefulsets")
    static let twoClientsReason = "needs two Nomad clients and takes one down: simulator only"

    @Test("a StatefulSet with volumeClaimTemplates gets its claims bound and pods Running on the pinned clients; db-0's data survives deleting the pod and db-0 always returns to its own client")
    func statefulSetKeepsItsData() async throws {
        let setup = try await StorageSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup() } }
        try await setup.createStatefulSet("db", replicas: 2)
        var placements: [String: VolumePlacement] = [:]
        for pod in ["db-0", "db-1"] {
            try await setup.harness.waitForPod(pod, "Running", timeout: .seconds(90)) { $0.status?.phase == "Running" }
            let placement = try await setup.placement(ofClaim: "data-\(pod)")
            placements[pod] = placement
            #expect(try await setup.clientRunning(pod) == placement.nodeID)
            let boots = try await setup.lines(placement.path + "/boots", count: 1)
            #expect(boots.count == 1)
        }
        let home = try #require(placements["db-0"])
        if setup.harness.nomadSimulator != nil {
            // Two clients with 10 GiB each: db-0 takes the first, db-1 the one with more room left.
            #expect(home.nodeName == "client-a" && placements["db-1"]?.nodeName == "client-b")
            #expect(home.path.hasPrefix(setup.harness.workDirectory.appendingPathComponent("client-a").path))
            #expect(placements["db-1"]?.path.hasPrefix(setup.harness.workDirectory.appendingPathComponent("client-b").path) == true)
        }
        let firstBoot = try String(contentsOfFile: home.path + "/first-boot", encoding: .utf8)
        for round in 2...3 {
            let old = try #require(try await setup.harness.readPod("db-0"))
            try await setup.harness.admin.delete(Pod.self, name: "db-0", namespace: setup.harness.namespace)
            try await setup.harness.waitForPod("db-0", "recreated and Running (round \(round))", timeout: .seconds(90)) {
                $0.metadata.uid != old.metadata.uid && $0.status?.phase == "Running"
            }
            #expect(try await setup.clientRunning("db-0") == home.nodeID)
            #expect(try await setup.lines(home.path + "/boots", count: round).count == round)
            #expect(try String(contentsOfFile: home.path + "/first-boot", encoding: .utf8) == firstBoot)
        }
    }

    @Test("a claim selected for a node that no longer exists (its agent gone): the node identity may not hand it back, so the claim's Event says how; done, it is provisioned for this node")
    func claimOfVanishedNodeIsRescheduled() async throws {
        let setup = try await StorageSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup() } }
        let harness = setup.harness
        let vanished = "vk-gone-\(setup.suffix)"
        try await setup.createClaim("orphaned", storageClass: setup.deleteClass, annotations: [NomadVolumeKeys.selectedNodeAnnotation: vanished])
        _ = try await harness.admin.create(setup.pod("orphaned", claim: "orphaned"))
        // NodeRestriction lets a node change only a claim's status: the agent says what to run.
        let claim = try await harness.admin.get(PersistentVolumeClaim.self, name: "orphaned", namespace: harness.namespace)
        let advice = try await eventually("a Warning on the claim naming the vanished node and the fix") { () -> Event? in
            try await harness.admin.listAll(Event.self, namespace: harness.namespace).items.first {
                $0.involvedObject.uid == claim.metadata.uid && $0.reason == "ProvisioningFailed" && $0.message?.contains("selected node \(vanished) no longer exists") == true
            }
        }
        #expect(advice.message?.contains("may only update PVC status") == true, "\(advice.message ?? "")")
        #expect(advice.message?.contains("kubectl annotate pvc -n \(harness.namespace) orphaned \(NomadVolumeKeys.selectedNodeAnnotation)-") == true)
        // What the Event says to do (`kubectl annotate … selected-node-`): the scheduler picks this node.
        _ = try await harness.admin.patch(
            PersistentVolumeClaim.self, name: "orphaned", namespace: harness.namespace,
            patch: .merge(["metadata": ["annotations": [.init(NomadVolumeKeys.selectedNodeAnnotation): .null]]]))
        try await harness.waitForPod("orphaned", "Running with the claim provisioned for this node", timeout: .seconds(90)) { $0.status?.phase == "Running" }
        let provisioned = try await harness.admin.get(PersistentVolumeClaim.self, name: "orphaned", namespace: harness.namespace)
        #expect(provisioned.metadata.annotations?[NomadVolumeKeys.selectedNodeAnnotation] == harness.nodeName)
        #expect(try await setup.clientRunning("orphaned") == setup.placement(ofClaim: "orphaned").nodeID)
    }

    @Test("with its Nomad client down, a recreated db-0 stays Pending with a reason naming the client, and runs there again once it is back", .enabled(if: E2EEnvironment.realNomadAddress == nil, Comment(rawValue: twoClientsReason)))
    func clientDownKeepsPodPending() async throws {
        let setup = try await StorageSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup() } }
        let nomad = try #require(setup.harness.nomadSimulator)
        try await setup.createStatefulSet("db", replicas: 1)
        try await setup.harness.waitForPod("db-0", "Running", timeout: .seconds(90)) { $0.status?.phase == "Running" }
        let home = try await setup.placement(ofClaim: "data-db-0")
        let first = try #require(try await setup.harness.readPod("db-0"))
        await nomad.setNodeDown(home.nodeName ?? "", true)
        let waiting = try await setup.harness.waitForPod("db-0", "recreated and Pending for its client", timeout: .seconds(90)) {
            $0.metadata.uid != first.metadata.uid && $0.status?.reason == "NomadClientDown"
        }
        #expect(waiting.status?.phase == "Pending")
        #expect(waiting.status?.message?.contains(home.nodeName ?? "?") == true)
        #expect(waiting.status?.conditions?.contains { $0.type == "nomad-kubelet.io/VolumesReady" && $0.status == "False" } == true)
        // Never started elsewhere: no job for the new pod has an allocation on another client.
        let jobID = PodJobIdentity.jobID(namespace: setup.harness.namespace, name: "db-0", uid: waiting.metadata.uid ?? "")
        let elsewhere = ((try? await setup.harness.nomad.allocations(ofJob: jobID).value) ?? []).filter { $0.nodeID != home.nodeID }
        #expect(elsewhere.isEmpty)

        await nomad.setNodeDown(home.nodeName ?? "", false)
        try await setup.harness.waitForPod("db-0", "Running again on its client", timeout: .seconds(90)) { $0.status?.phase == "Running" }
        #expect(try await setup.clientRunning("db-0") == home.nodeID)
        #expect(try await setup.lines(home.path + "/boots", count: 2).count == 2)
    }

    @Test("deleting the claim of a Delete class removes its directory on its client and the PV; a Retain class keeps both")
    func reclaimPolicies() async throws {
        let setup = try await StorageSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup() } }
        var paths: [String: String] = [:]
        var volumeNames: [String: String] = [:]
        for (pod, storageClass) in [("scratch", setup.deleteClass), ("keeper", setup.retainClass)] {
            try await setup.createClaim(pod, storageClass: storageClass)
            _ = try await setup.harness.admin.create(setup.pod(pod, claim: pod))
        }
        for pod in ["scratch", "keeper"] {
            try await setup.harness.waitForPod(pod, "Running", timeout: .seconds(90)) { $0.status?.phase == "Running" }
            let placement = try await setup.placement(ofClaim: pod)
            paths[pod] = placement.path
            _ = try await setup.lines(placement.path + "/boots", count: 1)
            volumeNames[pod] = try await setup.harness.admin.get(PersistentVolumeClaim.self, name: pod, namespace: setup.harness.namespace).spec?.volumeName
        }
        for pod in ["scratch", "keeper"] {
            try await setup.harness.admin.delete(Pod.self, name: pod, namespace: setup.harness.namespace)
            _ = try await eventually("pod \(pod) to be removed", timeout: .seconds(60)) { try await setup.harness.readPod(pod) == nil ? true : nil }
            try await setup.harness.admin.delete(PersistentVolumeClaim.self, name: pod, namespace: setup.harness.namespace)
        }
        let scratchPath = try #require(paths["scratch"])
        _ = try await eventually("the Delete volume's directory \(scratchPath) and PV to be gone", timeout: .seconds(60)) { () -> Bool? in
            let pvGone = try await setup.volume(volumeNames["scratch"] ?? "") == nil
            return pvGone && !FileManager.default.fileExists(atPath: scratchPath) ? true : nil
        }
        let kept = try await eventually("the Retain volume to be Released", timeout: .seconds(60)) { () -> PersistentVolume? in
            let volume = try await setup.volume(volumeNames["keeper"] ?? "")
            return volume?.status?.phase == "Released" ? volume : nil
        }
        #expect(kept.spec?.persistentVolumeReclaimPolicy == "Retain")
        #expect(FileManager.default.fileExists(atPath: (paths["keeper"] ?? "") + "/boots"))
    }

    @Test("a hand-made PV naming a Nomad client and a path is adopted: its claim binds and the pod runs on that client with the data")
    func adoptsHandMadeVolume() async throws {
        let setup = try await StorageSetup.start()
        defer { DeferredCleanup.start { await setup.cleanup() } }
        let clients = try await setup.harness.nomad.nodes().value.sorted { ($0.name ?? "") < ($1.name ?? "") }
        let client = try #require(clients.last)
        let directory = setup.harness.workDirectory.appendingPathComponent("existing-data")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "hello from bare metal\n".write(to: directory.appendingPathComponent("data.txt"), atomically: true, encoding: .utf8)
        let volumeName = "adopted-\(setup.suffix)"
        var spec = PersistentVolumeSpec()
        spec.capacity = ["storage": "1Gi"]
        spec.accessModes = ["ReadWriteOnce"]
        spec.persistentVolumeReclaimPolicy = "Retain"
        spec.storageClassName = ""
        spec.local = LocalVolumeSource(path: directory.path)
        spec.nodeAffinity = VolumeNodeAffinity(
            required: NodeSelector(nodeSelectorTerms: [
                NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: "In", values: [setup.harness.nodeName])])
            ]))
        _ = try await setup.harness.admin.create(
            PersistentVolume(
                metadata: ObjectMeta(
                    name: volumeName,
                    annotations: [NomadVolumeKeys.nodeIDAnnotation: client.id ?? "", NomadVolumeKeys.nodeNameAnnotation: client.name ?? ""]),
                spec: spec))
        setup.createdVolumes.append(volumeName)
        var claimSpec = PersistentVolumeClaimSpec()
        claimSpec.accessModes = ["ReadWriteOnce"]
        claimSpec.storageClassName = ""
        claimSpec.volumeName = volumeName
        claimSpec.resources = VolumeResourceRequirements(requests: ["storage": "1Gi"])
        _ = try await setup.harness.admin.create(
            PersistentVolumeClaim(metadata: ObjectMeta(name: "adopted", namespace: setup.harness.namespace), spec: claimSpec))
        _ = try await setup.harness.admin.create(
            setup.pod("reader", claim: "adopted", script: "cat \"$NOMAD_KUBELET_VOLUME_DATA/data.txt\" > \"$NOMAD_KUBELET_VOLUME_DATA/seen-by-pod\"; exec sleep 300"))
        try await setup.harness.waitForPod("reader", "Running", timeout: .seconds(90)) { $0.status?.phase == "Running" }
        #expect(try await setup.clientRunning("reader") == client.id)
        let seen = try await eventually("the pod to copy data.txt") {
            try? String(contentsOf: directory.appendingPathComponent("seen-by-pod"), encoding: .utf8)
        }
        #expect(seen == "hello from bare metal\n")
        #expect(try await setup.volume(volumeName)?.status?.phase == "Bound")
    }
}

/// One storage test's world: a harness whose simulated Nomad has two clients with their own volume
/// roots (`client-a`, `client-b`, 10 GiB each), the StorageClasses of manifests/storageclass.yaml
/// (renamed per run on a real cluster) and, on the simulator, the ClusterRole of
/// manifests/storage-rbac.yaml granted to the node identity.
final class StorageSetup: @unchecked Sendable {
    // @unchecked: `createdVolumes` is only touched by the test's own task, before `cleanup`.
    let harness: AgentHarness
    let deleteClass: String
    let retainClass: String
    let suffix: String
    var createdVolumes: [String] = []

    private init(harness: AgentHarness, deleteClass: String, retainClass: String, suffix: String) {
        self.harness = harness
        self.deleteClass = deleteClass
        self.retainClass = retainClass
        self.suffix = suffix
    }

    /// `extraGrants`: what the simulated cluster grants besides the provisioner's role (e.g. reading
    /// PseudoImages); `prepare` runs before the agent starts (e.g. to apply CRDs it watches);
    /// `kubeletServer` also serves the agent's kubelet API (for `kubectl logs` and `exec`).
    static func start(
        extraGrants: [AccessGrant] = [], kubeletServer: Bool = false, prepare: (AgentHarness) async throws -> Void = { _ in }
    ) async throws -> StorageSetup {
        let harness = try await AgentHarness.start(
            nomadNodes: { work in
                ["client-a", "client-b"].map { name in
                    NomadSimulator.Node(name: name, diskMB: 10240, meta: [NomadVolumeKeys.volumeRootMeta: work.appendingPathComponent(name).path])
                }
            },
            grants: { node in ((try? provisionerGrants(node: node)) ?? []) + extraGrants }, kubeletServer: kubeletServer)
        let suffix = harness.namespace == "default" ? String(UUID().uuidString.prefix(8)).lowercased() : String(harness.namespace.suffix(8))
        let real = harness.kubernetesSimulator == nil
        if real {
            // The agent runs as system:node:<name> there too: bind the shipped ClusterRole to it.
            for var object in try manifest("storage-rbac.yaml") {
                let plural = object["kind"] == "ClusterRole" ? "clusterroles" : "clusterrolebindings"
                if plural == "clusterrolebindings" {
                    object["metadata"]?["name"] = .string("nomad-kubelet:provisioner:\(harness.nodeName)")
                    object["subjects"] = [["apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": .string("system:node:\(harness.nodeName)")]]
                }
                do {
                    _ = try await harness.admin.create(ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: plural, isNamespaced: false), object: object)
                } catch let error as KubernetesClientError where error.kind == .alreadyExists {}
            }
        }
        var names: [String: String] = [:]
        for var storageClass in try manifest("storageclass.yaml") {
            let name = storageClass["metadata"]?["name"]?.stringValue ?? ""
            let renamed = real ? "\(name)-\(suffix)" : name
            storageClass["metadata"]?["name"] = .string(renamed)
            names[name] = renamed
            _ = try await harness.admin.create(ResourceType(StorageClass.self), object: storageClass)
        }
        do {
            try await prepare(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        try harness.startAgent()
        return StorageSetup(harness: harness, deleteClass: names["nomad-local"] ?? "", retainClass: names["nomad-local-retain"] ?? "", suffix: suffix)
    }

    /// Deletes what the test made on a real cluster (the harness removes the rest), then the harness.
    func cleanup() async {
        let admin = harness.admin
        if harness.kubernetesSimulator == nil {
            _ = try? await admin.delete(ResourceType(group: "apps", version: "v1", plural: "statefulsets"), name: "db", namespace: harness.namespace)
            for claim in (try? await admin.list(PersistentVolumeClaim.self, namespace: harness.namespace).items) ?? [] {
                _ = try? await admin.delete(PersistentVolumeClaim.self, name: claim.metadata.name ?? "", namespace: harness.namespace)
            }
            for name in [deleteClass, retainClass] { _ = try? await admin.delete(StorageClass.self, name: name) }
            _ = try? await admin.delete(
                ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", isNamespaced: false),
                name: "nomad-kubelet:provisioner:\(harness.nodeName)")
            for volume in (try? await admin.list(PersistentVolume.self).items) ?? []
            where volume.metadata.annotations?[NomadVolumeKeys.virtualNodeAnnotation] == harness.nodeName || createdVolumes.contains(volume.metadata.name ?? "") {
                _ = try? await admin.delete(PersistentVolume.self, name: volume.metadata.name ?? "")
            }
        }
        await harness.shutdown()
    }

    /// The documents of a file in manifests/.
    static func manifest(_ file: String) throws -> [JSONValue] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("manifests").appendingPathComponent(file), encoding: .utf8)
        return try ManifestYAML.documents(text).filter { $0 != .null }
    }

    /// The shipped provisioner ClusterRole as simulator grants for `system:node:<node>`.
    static func provisionerGrants(node: String) throws -> [AccessGrant] {
        guard let role = try manifest("storage-rbac.yaml").first(where: { $0["kind"] == "ClusterRole" }) else { return [] }
        let rules = (role["rules"]?.arrayValue ?? []).map { rule in
            AccessRule(
                verbs: (rule["verbs"]?.arrayValue ?? []).compactMap(\.stringValue), apiGroups: (rule["apiGroups"]?.arrayValue ?? []).compactMap(\.stringValue),
                resources: (rule["resources"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        return [AccessGrant(users: ["system:node:\(node)"], rules: rules)]
    }

    /// A pod on the harness's node mounting `claim` at /data; by default it records each boot in
    /// the volume (`first-boot` once, a line in `boots` per start) and sleeps.
    func pod(_ name: String, claim: String, script: String? = nil) -> Pod {
        Pod(metadata: ObjectMeta(name: name, namespace: harness.namespace, labels: ["app": name]), spec: podSpec(claim: claim, script: script))
    }

    private func podSpec(claim: String?, script: String? = nil) -> PodSpec {
        let boot = """
            D="$NOMAD_KUBELET_VOLUME_DATA"; [ -d "$D" ] || exit 3
            [ "$(readlink -f "$NOMAD_KUBELET_ROOT/data")" = "$(readlink -f "$D")" ] || exit 4
            [ -f "$D/first-boot" ] || echo "$NOMAD_ALLOC_ID" > "$D/first-boot"
            echo "$NOMAD_ALLOC_ID" >> "$D/boots"
            exec sleep 300
            """
        return PodSpec(
            containers: [
                Container(
                    name: "main", image: ImageResolver.hostImage, command: ["/bin/sh", "-c", script ?? boot],
                    volumeMounts: [VolumeMount(name: "data", mountPath: "/data")])
            ],
            volumes: claim.map { [Volume(name: "data", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: $0))] },
            restartPolicy: "Always", terminationGracePeriodSeconds: 2, nodeSelector: ["kubernetes.io/hostname": harness.nodeName],
            tolerations: [Toleration(key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule")])
    }

    func createClaim(_ name: String, storageClass: String, annotations: [String: String]? = nil) async throws {
        var spec = PersistentVolumeClaimSpec()
        spec.accessModes = ["ReadWriteOnce"]
        spec.storageClassName = storageClass
        spec.resources = VolumeResourceRequirements(requests: ["storage": "1Gi"])
        _ = try await harness.admin.create(PersistentVolumeClaim(metadata: ObjectMeta(name: name, namespace: harness.namespace, annotations: annotations), spec: spec))
    }

    /// A StatefulSet `name` whose pods mount the claim template `data` of the Delete class.
    func createStatefulSet(_ name: String, replicas: Int) async throws {
        let template = try JSONValue(encoding: podSpec(claim: nil))
        var spec = template
        spec["volumes"] = nil
        let set: JSONValue = [
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": ["name": .string(name), "namespace": .string(harness.namespace)],
            "spec": [
                "replicas": .number(Double(replicas)), "serviceName": .string(name), "selector": ["matchLabels": ["app": .string(name)]],
                "template": ["metadata": ["labels": ["app": .string(name)]], "spec": spec],
                "volumeClaimTemplates": [[
                    "metadata": ["name": "data"],
                    "spec": ["accessModes": ["ReadWriteOnce"], "storageClassName": .string(deleteClass), "resources": ["requests": ["storage": "1Gi"]]],
                ]],
            ],
        ]
        _ = try await harness.admin.create(StorageEndToEndTests.statefulSets, object: set, namespace: harness.namespace)
    }

    /// Where the PV bound to `claim` says its directory is.
    func placement(ofClaim claim: String) async throws -> VolumePlacement {
        let volumeName = try await eventually("claim \(claim) Bound") { () -> String? in
            let found = try await harness.admin.get(PersistentVolumeClaim.self, name: claim, namespace: harness.namespace)
            return found.status?.phase == "Bound" ? found.spec?.volumeName : nil
        }
        let volume = try #require(try await volume(volumeName))
        return try #require(VolumePlacement(volume: volume))
    }

    func volume(_ name: String) async throws -> PersistentVolume? {
        do {
            return try await harness.admin.get(PersistentVolume.self, name: name)
        } catch let error as KubernetesClientError where error.kind == .notFound {
            return nil
        }
    }

    /// The Nomad client running the current pod `name`'s allocation.
    func clientRunning(_ name: String) async throws -> String? {
        let pod = try #require(try await harness.readPod(name))
        let jobID = PodJobIdentity.jobID(namespace: harness.namespace, name: name, uid: pod.metadata.uid ?? "")
        return try await harness.nomad.allocations(ofJob: jobID).value.first { $0.clientStatus == .running }?.nodeID
    }

    /// The lines of a file once it has at least `count`.
    func lines(_ path: String, count: Int) async throws -> [String] {
        try await eventually("\(path) to have \(count) line(s)") { () -> [String]? in
            let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            return lines.count >= count ? lines : nil
        }
    }
}
