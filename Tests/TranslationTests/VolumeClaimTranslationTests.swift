import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

@Suite("Storage: client choice, PV construction, claim volumes in the job")
struct VolumeClaimTranslationTests {
    static let gib: Int64 = 1 << 30

    struct ChoiceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var candidates: [VolumeClientCandidate]
        var requirements: VolumeClientRequirements
        var promised: [String: Int64] = [:]
        /// The chosen client's name, or a fragment of the failure message.
        var chosen: String?
        var failureContains: String?
        var testDescription: String { name }
    }

    static let choiceCases: [ChoiceCase] = [
        ChoiceCase(
            name: "the client with the most free space wins", candidates: [.init(id: "1", name: "a", freeBytes: 5 * gib), .init(id: "2", name: "b", freeBytes: 8 * gib)],
            requirements: .init(requestBytes: gib), chosen: "b"),
        ChoiceCase(
            name: "ties go to the first name", candidates: [.init(id: "2", name: "b", freeBytes: 5 * gib), .init(id: "1", name: "a", freeBytes: 5 * gib)],
            requirements: .init(requestBytes: gib), chosen: "a"),
        ChoiceCase(
            name: "space promised to existing volumes counts", candidates: [.init(id: "1", name: "a", freeBytes: 10 * gib), .init(id: "2", name: "b", freeBytes: 8 * gib)],
            requirements: .init(requestBytes: gib), promised: ["1": 4 * gib], chosen: "b"),
        ChoiceCase(
            name: "a request larger than any free space fails naming the sizes", candidates: [.init(id: "1", name: "a", freeBytes: 2 * gib)],
            requirements: .init(requestBytes: 5 * gib), failureContains: "a: 2.0 GiB free, 5.0 GiB requested"),
        ChoiceCase(
            name: "down and ineligible clients are skipped",
            candidates: [.init(id: "1", name: "a", status: "down", freeBytes: 50 * gib), .init(id: "2", name: "b", eligibility: "ineligible", freeBytes: 50 * gib), .init(id: "3", name: "c", freeBytes: 2 * gib)],
            requirements: .init(requestBytes: gib), chosen: "c"),
        ChoiceCase(
            name: "the node configuration's datacenter, pool and class filters hold",
            candidates: [
                .init(id: "1", name: "a", datacenter: "dc2", freeBytes: 50 * gib), .init(id: "2", name: "b", nodePool: "other", freeBytes: 50 * gib),
                .init(id: "3", name: "c", nodeClass: "ssd", freeBytes: 50 * gib), .init(id: "4", name: "d", nodeClass: "hdd", freeBytes: 50 * gib),
            ],
            requirements: .init(requestBytes: gib, datacenters: ["dc1"], nodePool: "default", nodeClass: "ssd"), chosen: "c"),
        ChoiceCase(
            name: "a client without raw_exec cannot run the directory job", candidates: [.init(id: "1", name: "a", drivers: ["exec"], freeBytes: 50 * gib)],
            requirements: .init(requestBytes: gib), failureContains: "a: no raw_exec driver"),
        ChoiceCase(
            name: "a client reporting no free space is not guessed at", candidates: [.init(id: "1", name: "a", freeBytes: nil)],
            requirements: .init(requestBytes: gib), failureContains: "reports no free disk space"),
        ChoiceCase(
            name: "the pod's other volumes fix the client", candidates: [.init(id: "1", name: "a", freeBytes: 50 * gib), .init(id: "2", name: "b", freeBytes: 2 * gib)],
            requirements: .init(requestBytes: gib, requiredNodeID: "2"), chosen: "b"),
        ChoiceCase(name: "no clients at all", candidates: [], requirements: .init(requestBytes: gib), failureContains: "Nomad has no client nodes"),
    ]

    @Test("client choice", arguments: choiceCases)
    func clientChoice(_ row: ChoiceCase) {
        switch VolumeClientChoice.choose(row.candidates, requirements: row.requirements, promisedBytes: row.promised) {
        case .success(let candidate): #expect(candidate.name == row.chosen)
        case .failure(let failure):
            #expect(row.chosen == nil)
            #expect(failure.description.contains(row.failureContains ?? "<expected success>"), "\(failure)")
        }
    }

    @Test("a candidate reads free space, status and the volume root from a Nomad node")
    func candidateFromNode() throws {
        let node = try JSONDecoder().decode(
            NomadNode.self,
            from: Data(
                #"{"ID":"n1","Name":"a","Datacenter":"dc1","NodeClass":"","Status":"ready","SchedulingEligibility":"eligible","Drivers":{"raw_exec":{"Detected":true}},"Attributes":{"unique.storage.bytesfree":"78902366208"},"Meta":{"nomad_kubelet_volume_root":"/data/volumes"}}"#
                    .utf8))
        let candidate = VolumeClientCandidate(node: node)
        #expect(candidate.freeBytes == 78_902_366_208 && candidate.volumeRoot == "/data/volumes" && candidate.drivers == ["raw_exec"] && candidate.nodePool == "default")
    }

    static func claim() -> PersistentVolumeClaim {
        var spec = PersistentVolumeClaimSpec()
        spec.accessModes = ["ReadWriteOnce"]
        spec.storageClassName = "nomad-local"
        spec.resources = VolumeResourceRequirements(requests: ["storage": "2Gi"])
        return PersistentVolumeClaim(metadata: ObjectMeta(name: "data-db-0", namespace: "shop", uid: "1234", resourceVersion: "77"), spec: spec)
    }

    @Test("the PV records the client and path, binds the claim by uid, and is pinned to the virtual node")
    func persistentVolume() throws {
        let storageClass = StorageClass(metadata: ObjectMeta(name: "nomad-local"), provisioner: NomadVolumeKeys.provisioner, reclaimPolicy: "Retain")
        let placement = VolumePlacement(nodeID: "n1", nodeName: "a", path: VolumeProvisioning.hostPath(root: "/var/lib/nomad-kubelet/volumes/", volumeName: "pvc-1234"))
        let bytes = try VolumeProvisioning.requestedBytes(of: Self.claim()).get()
        let volume = VolumeProvisioning.persistentVolume(
            claim: Self.claim(), storageClass: storageClass, placement: placement, capacityBytes: bytes, virtualNode: "vk-nomad", hostnameLabel: "vk-nomad")
        #expect(volume.metadata.name == "pvc-1234")
        #expect(volume.spec?.local?.path == "/var/lib/nomad-kubelet/volumes/pvc-1234")
        #expect(volume.spec?.claimRef?.uid == "1234" && volume.spec?.claimRef?.namespace == "shop" && volume.spec?.claimRef?.name == "data-db-0")
        #expect(volume.spec?.persistentVolumeReclaimPolicy == "Retain" && volume.spec?.storageClassName == "nomad-local")
        #expect(volume.spec?.capacity?["storage"]?.value == 2 * Self.gib)
        #expect(volume.metadata.annotations?["pv.kubernetes.io/provisioned-by"] == "nomad-kubelet.io/local")
        #expect(volume.spec?.nodeAffinity?.required?.nodeSelectorTerms.first?.matchExpressions?.first?.values == ["vk-nomad"])
        // The PV alone is enough to find the data again (agent restart, new gateway host).
        #expect(VolumePlacement(volume: volume) == placement)
    }

    @Test("a claim without a storage request is refused with the field named")
    func claimWithoutRequest() {
        var claim = Self.claim()
        claim.spec?.resources = nil
        #expect(throws: VolumeProvisioningFailure.self) { try VolumeProvisioning.requestedBytes(of: claim).get() }
    }

    @Test(
        "a claim's directory-owner annotation names who gets the new directory; without it the default owner; malformed names and root (unless privileged) are refused",
        arguments: [
            (nil, "nobody", false, "nobody"), ("postgres", "nobody", false, "postgres"), ("prometheus", nil, false, "prometheus"),
            ("root", "nobody", true, "root"), ("root", "nobody", false, nil), ("Postgres", "nobody", false, nil), ("a b", "nobody", false, nil),
            ("x;rm -rf /", "nobody", false, nil), ("", "nobody", false, nil),
        ] as [(String?, String?, Bool, String?)])
    func directoryOwner(annotation: String?, defaultOwner: String?, privileged: Bool, expected: String?) {
        var claim = Self.claim()
        if let annotation { claim.metadata.annotations = [NomadVolumeKeys.directoryOwnerAnnotation: annotation] }
        let result = VolumeProvisioning.directoryOwner(of: claim, defaultOwner: defaultOwner, policy: TranslationPolicy(nodeName: "vk", allowPrivileged: privileged))
        switch result {
        case .success(let owner): #expect(owner == expected)
        case .failure(let failure):
            #expect(expected == nil, "refused: \(failure)")
            #expect(failure.description.contains(NomadVolumeKeys.directoryOwnerAnnotation))
        }
    }

    @Test("directory jobs are batch jobs pinned to the client; unsafe paths are refused", arguments: ["/", "relative/dir", "/data/../etc", "/data/x\ny"])
    func directoryJobs(unsafe: String) throws {
        let placement = VolumePlacement(nodeID: "n1", path: "/data/pvc-1")
        let job = try VolumeProvisioning.directoryJob(.remove, volumeName: "pvc-1", placement: placement, datacenter: "dc2", owner: nil, policy: Fixtures.policy).get()
        #expect(job.type == .batch && job.datacenters == ["dc2"] && job.id == "nomad-kubelet-volume-remove-pvc-1")
        #expect(job.constraints == [Constraint(lTarget: "${node.unique.id}", rTarget: "n1", operand: "=")])
        #expect(job.taskGroups?.first?.tasks?.first?.config?.args?.contains("/data/pvc-1") == true)
        #expect(job.meta?[PodJobIdentity.nodeMetaKey] == nil, "the orphan scan must not take it for a pod's job")
        #expect(NomadJobValidator.violations(of: job).isEmpty)
        let bad = VolumePlacement(nodeID: "n1", path: unsafe)
        #expect(throws: VolumeProvisioningFailure.self) {
            try VolumeProvisioning.directoryJob(.remove, volumeName: "pvc-1", placement: bad, datacenter: "dc1", owner: nil, policy: Fixtures.policy).get()
        }
    }

    static func podWithClaim(subPath: String? = nil, runtimeClass: String? = nil) -> Pod {
        var container = Container(name: "db", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"])
        container.volumeMounts = [VolumeMount(name: "data", mountPath: "/var/lib/postgresql/data", subPath: subPath)]
        return Fixtures.pod(containers: [container]) { spec in
            spec.volumes = [Volume(name: "data", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: "data-db-0"))]
            spec.runtimeClassName = runtimeClass
        }
    }

    static let claimVolumes = ["data": ClaimVolume(placement: VolumePlacement(nodeID: "n1", nodeName: "a", path: "/srv/pvc-1"), volumeName: "pvc-1")]

    @Test("a claim volume pins the job to its client and hands the directory to the mounting container: in the environment and linked at the mount path")
    func pinsAndHandsOver() throws {
        let job = try Fixtures.translator.translate(Self.podWithClaim(subPath: "pgdata"), options: TranslationOptions(claimVolumes: Self.claimVolumes)).job
        #expect(job.constraints == [Constraint(lTarget: "${node.unique.id}", rTarget: "n1", operand: "=")])
        let task = try #require(job.taskGroups?.first?.tasks?.first)
        #expect(task.env?["NOMAD_KUBELET_VOLUME_DATA"] == "/srv/pvc-1/pgdata")
        // The volume wrapper's step: directory, subPath, mount path; then the program.
        let args = task.config?.args ?? []
        let step = try #require(args.firstIndex(of: "C"))
        #expect(Array(args[step...].prefix(6)) == ["C", "/srv/pvc-1", "pgdata", "/var/lib/postgresql/data", "--", "/bin/sleep"])
        #expect(VolumeClaimTranslation.environmentName(forVolume: "pg-data.1") == "NOMAD_KUBELET_VOLUME_PG_DATA_1")
    }

    @Test("refused: an unresolved claim, the exec driver, volumes on two clients, a subPath leaving the volume, a pin to another client")
    func refusals() {
        func problems(_ pod: Pod, _ options: TranslationOptions) -> [TranslationProblem] {
            do {
                _ = try Fixtures.translator.translate(pod, options: options)
                return []
            } catch { return error.problems }
        }
        #expect(problems(Self.podWithClaim(), TranslationOptions()).contains { $0.field == "spec.volumes[0].persistentVolumeClaim" && $0.kind == .policy })
        #expect(problems(Self.podWithClaim(runtimeClass: "nomad-exec"), TranslationOptions(runtimeHandler: "nomad-exec", claimVolumes: Self.claimVolumes)).contains { $0.field == "spec.runtimeClassName" })
        var twoClients = Self.claimVolumes
        twoClients["logs"] = ClaimVolume(placement: VolumePlacement(nodeID: "n2", path: "/srv/pvc-2"), volumeName: "pvc-2")
        #expect(problems(Self.podWithClaim(), TranslationOptions(claimVolumes: twoClients)).contains { $0.reason.contains("different Nomad clients") })
        #expect(problems(Self.podWithClaim(subPath: "../other"), TranslationOptions(claimVolumes: Self.claimVolumes)).contains { $0.field.hasSuffix(".subPath") })
        #expect(problems(Self.podWithClaim(), TranslationOptions(pinnedNodeID: "n9", claimVolumes: Self.claimVolumes)).contains { $0.reason.contains("n9") })
    }
}
