import Foundation
import KubernetesModels
import NomadModels

/// The names nomad-kubelet's storage uses on Kubernetes objects and Nomad nodes (docs/storage.md).
public enum NomadVolumeKeys {
    /// The StorageClass `provisioner` and the PV's `pv.kubernetes.io/provisioned-by`.
    public static let provisioner = "nomad-kubelet.io/local"
    /// PV annotation: the ID of the Nomad client holding the directory (required for adoption).
    public static let nodeIDAnnotation = "nomad-kubelet.io/nomad-node-id"
    /// PV annotation: that client's name, for people (messages name it).
    public static let nodeNameAnnotation = "nomad-kubelet.io/nomad-node-name"
    /// PV annotation: the directory on the client, when the PV has neither `local` nor `hostPath`.
    public static let hostPathAnnotation = "nomad-kubelet.io/host-path"
    /// PV annotation: the virtual Node whose agent provisioned (and reclaims) the volume.
    public static let virtualNodeAnnotation = "nomad-kubelet.io/virtual-node"
    /// PV annotation set by provisioners (external-provisioner protocol).
    public static let provisionedByAnnotation = "pv.kubernetes.io/provisioned-by"
    /// PVC annotation the scheduler sets for a WaitForFirstConsumer claim.
    public static let selectedNodeAnnotation = "volume.kubernetes.io/selected-node"
    /// PVC annotation the PV controller sets to name the provisioner that should act.
    public static let storageProvisionerAnnotation = "volume.kubernetes.io/storage-provisioner"
    /// Nomad client meta key overriding the configured volume root on that client (a data disk
    /// mounted elsewhere, or distinct roots for clients sharing a host).
    public static let volumeRootMeta = "nomad_kubelet_volume_root"
    /// PVC annotation (usually on a StatefulSet's `volumeClaimTemplates`): the Unix user a new
    /// directory is given to, for services that run as their own user (`postgres`); without it the
    /// pods' default user (`policy.defaultUser`) gets it.
    public static let directoryOwnerAnnotation = "nomad-kubelet.io/directory-owner"
    /// Job Meta key of the short directory jobs: the PV they work for.
    public static let volumeJobMeta = "nomad-kubelet.io/volume"
}

/// Where a persistent volume's directory lives: a Nomad client and a path on it.
public struct VolumePlacement: Sendable, Hashable {
    /// The Nomad client node ID (`${node.unique.id}`).
    public var nodeID: String
    /// The client's name, when known.
    public var nodeName: String?
    /// The absolute directory on the client.
    public var path: String

    /// A placement.
    public init(nodeID: String, nodeName: String? = nil, path: String) {
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.path = path
    }

    /// The placement a PV records (annotations plus `spec.local.path`, `spec.hostPath.path` or the
    /// host-path annotation); `nil` when the PV names no Nomad client, i.e. is not nomad-kubelet's.
    public init?(volume: PersistentVolume) {
        let annotations = volume.metadata.annotations ?? [:]
        guard let nodeID = annotations[NomadVolumeKeys.nodeIDAnnotation], !nodeID.isEmpty,
            let path = volume.spec?.local?.path ?? volume.spec?.hostPath?.path ?? annotations[NomadVolumeKeys.hostPathAnnotation]
        else { return nil }
        self.init(nodeID: nodeID, nodeName: annotations[NomadVolumeKeys.nodeNameAnnotation], path: path)
    }

    /// The client as people know it: `name (id)`, or the ID.
    public var clientDescription: String { nodeName.map { "\($0) (\(nodeID))" } ?? nodeID }
}

/// A pod's claim volume resolved by the agent (claim → bound PV → placement).
public struct ClaimVolume: Sendable, Hashable {
    /// Where the directory is.
    public var placement: VolumePlacement
    /// The PV's name, for messages.
    public var volumeName: String

    /// A resolved claim volume.
    public init(placement: VolumePlacement, volumeName: String) {
        self.placement = placement
        self.volumeName = volumeName
    }
}

/// How claim volumes reach a host process: the job is pinned to the volume's Nomad client and each
/// container mounting it gets `NOMAD_KUBELET_VOLUME_<NAME>` = the directory (plus the mount's
/// `subPath`), which the volume wrapper also links at the mount path under the task directory
/// (raw_exec cannot bind-mount onto the host's own path); `exec` (chroot) could not see a host path
/// at all and is refused. See docs/storage.md.
public enum VolumeClaimTranslation {
    /// `NOMAD_KUBELET_VOLUME_` plus the volume name upper-cased, other characters as `_`.
    public static func environmentName(forVolume name: String) -> String {
        "NOMAD_KUBELET_VOLUME_" + String(name.uppercased().unicodeScalars.map { ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" })
    }

    /// Problems with the pod's claim volumes that no job could fix.
    static func problems(claims: [String: ClaimVolume], spec: PodSpec, driver: String, pinnedNodeID: String?) -> [TranslationProblem] {
        guard !claims.isEmpty else { return [] }
        var problems: [TranslationProblem] = []
        let nodes = Set(claims.values.map(\.placement.nodeID))
        if nodes.count > 1 {
            let list = claims.sorted { $0.key < $1.key }.map { "'\($0.key)' on \($0.value.placement.clientDescription)" }.joined(separator: ", ")
            problems.append(
                TranslationProblem(
                    field: "spec.volumes", kind: .unsupported, reason: "the pod's volumes live on different Nomad clients (\(list)); one process runs on one client",
                    fix: "use claims whose volumes are on one client, or one claim"))
        }
        if let pinned = pinnedNodeID, let node = nodes.first, nodes.count == 1, pinned != node {
            problems.append(
                TranslationProblem(
                    field: "spec.volumes", kind: .invalid, reason: "the pod runs on Nomad client \(pinned) but its volume lives on \(node)",
                    fix: "delete the pod so that it is recreated on its volume's client"))
        }
        if driver != "raw_exec" {
            problems.append(
                TranslationProblem(
                    field: "spec.runtimeClassName", kind: .unsupported,
                    reason: "driver '\(driver)' runs the task in a chroot, where the volume's host directory is not visible (Nomad 1.1 has no dynamic host volumes)",
                    fix: "use the raw_exec RuntimeClass (nomad-raw-exec) for pods with persistent volumes"))
        }
        for container in (spec.initContainers ?? []) + spec.containers {
            for mount in container.volumeMounts ?? [] where claims[mount.name] != nil {
                if let subPath = mount.subPath, subPath.hasPrefix("/") || subPath.split(separator: "/").contains("..") || subPath.contains("\0") {
                    problems.append(
                        TranslationProblem(
                            field: "spec.containers[name=\(container.name)].volumeMounts[name=\(mount.name)].subPath", kind: .invalid,
                            reason: "subPath '\(subPath.debugDescription)' leaves the volume", fix: "use a relative path without '..'"))
                }
            }
        }
        return problems
    }

    /// Pins `job` to the claims' client and gives each task the directories it mounts.
    static func apply(claims: [String: ClaimVolume], spec: PodSpec, to job: inout Job) {
        guard let node = claims.values.first?.placement.nodeID else { return }
        var constraints = job.constraints ?? []
        let pin = Constraint(lTarget: "${node.unique.id}", rTarget: node, operand: "=")
        if !constraints.contains(pin) { constraints.append(pin) }
        job.constraints = constraints
        let containers = Dictionary(((spec.initContainers ?? []) + spec.containers).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard var group = job.taskGroups?.first else { return }
        for index in (group.tasks ?? []).indices {
            guard let taskName = group.tasks?[index].name, let container = containers[PodJobIdentity.containerName(forTask: taskName)] else { continue }
            for mount in container.volumeMounts ?? [] {
                guard let claim = claims[mount.name] else { continue }
                var path = claim.placement.path
                if let subPath = mount.subPath, !subPath.isEmpty { path += "/" + subPath }
                var env = group.tasks?[index].env ?? [:]
                env[environmentName(forVolume: mount.name)] = path
                group.tasks?[index].env = env
            }
        }
        job.taskGroups?[0] = group
    }
}

// MARK: - Provisioning

/// A Nomad client as a home for a new volume: what the choice looks at.
public struct VolumeClientCandidate: Sendable, Hashable {
    /// Node ID.
    public var id: String
    /// Node name.
    public var name: String
    /// Datacenter, node pool and class, for the node configuration's filters.
    public var datacenter: String
    /// Node pool (Nomad 1.6+; `default` before).
    public var nodePool: String
    /// Node class.
    public var nodeClass: String
    /// `ready`, `down`, ...
    public var status: String
    /// `eligible` or `ineligible`.
    public var eligibility: String
    /// Detected drivers.
    public var drivers: Set<String>
    /// Free bytes on the client's data file system (`attr.unique.storage.bytesfree`), when reported.
    public var freeBytes: Int64?
    /// The client's volume root from its meta (``NomadVolumeKeys/volumeRootMeta``), if set.
    public var volumeRoot: String?

    /// A candidate from a Nomad node as `GET /v1/node/:id` returns it.
    public init(node: NomadNode) {
        id = node.id ?? ""
        name = node.name ?? ""
        datacenter = node.datacenter ?? ""
        nodePool = node.nodePool ?? "default"
        nodeClass = node.nodeClass ?? ""
        status = node.status?.rawValue ?? ""
        eligibility = node.schedulingEligibility ?? "eligible"
        drivers = Set((node.drivers ?? [:]).filter { $0.value.detected ?? true }.keys)
        freeBytes = node.attributes?["unique.storage.bytesfree"].flatMap { Int64($0) }
        volumeRoot = node.meta?[NomadVolumeKeys.volumeRootMeta].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A candidate from its parts (tests).
    public init(
        id: String, name: String, datacenter: String = "dc1", nodePool: String = "default", nodeClass: String = "", status: String = "ready",
        eligibility: String = "eligible", drivers: Set<String> = ["raw_exec"], freeBytes: Int64?, volumeRoot: String? = nil
    ) {
        self.id = id
        self.name = name
        self.datacenter = datacenter
        self.nodePool = nodePool
        self.nodeClass = nodeClass
        self.status = status
        self.eligibility = eligibility
        self.drivers = drivers
        self.freeBytes = freeBytes
        self.volumeRoot = volumeRoot
    }
}

/// What a new volume's client must offer.
public struct VolumeClientRequirements: Sendable, Hashable {
    /// The claim's `resources.requests.storage`.
    public var requestBytes: Int64
    /// Allowed datacenters (the node configuration's); empty for any.
    public var datacenters: [String]
    /// Required node pool / class (the node configuration's filters), if any.
    public var nodePool: String?
    /// Required node class.
    public var nodeClass: String?
    /// The driver the pod's tasks (and the directory job) need.
    public var driver: String
    /// A client the volume must be on (the pod's other volumes are there).
    public var requiredNodeID: String?

    /// Requirements.
    public init(requestBytes: Int64, datacenters: [String] = [], nodePool: String? = nil, nodeClass: String? = nil, driver: String = "raw_exec", requiredNodeID: String? = nil) {
        self.requestBytes = requestBytes
        self.datacenters = datacenters
        self.nodePool = nodePool
        self.nodeClass = nodeClass
        self.driver = driver
        self.requiredNodeID = requiredNodeID
    }
}

/// Picking the Nomad client for a new volume: pure, so every rule is a table row in the tests.
public enum VolumeClientChoice {
    /// The fitting client with the most room (free bytes minus `promisedBytes` of volumes already on
    /// it), ties by name; or a message saying, per client, why none fits.
    public static func choose(
        _ candidates: [VolumeClientCandidate], requirements: VolumeClientRequirements, promisedBytes: [String: Int64] = [:]
    ) -> Result<VolumeClientCandidate, VolumeProvisioningFailure> {
        var reasons: [String] = []
        var fitting: [(candidate: VolumeClientCandidate, room: Int64)] = []
        for candidate in candidates.sorted(by: { $0.name < $1.name }) {
            let room = (candidate.freeBytes ?? 0) - (promisedBytes[candidate.id] ?? 0)
            let reason: String? =
                if let required = requirements.requiredNodeID, candidate.id != required { "not the client of the pod's other volumes" }
                else if candidate.status != "ready" { "status \(candidate.status)" }
                else if candidate.eligibility != "eligible" { "ineligible for scheduling" }
                else if !requirements.datacenters.isEmpty && !requirements.datacenters.contains(candidate.datacenter) { "datacenter \(candidate.datacenter) not in \(requirements.datacenters.joined(separator: ","))" }
                else if let pool = requirements.nodePool, pool != candidate.nodePool { "node pool \(candidate.nodePool), not \(pool)" }
                else if let nodeClass = requirements.nodeClass, nodeClass != candidate.nodeClass { "node class '\(candidate.nodeClass)', not '\(nodeClass)'" }
                else if !candidate.drivers.contains(requirements.driver) { "no \(requirements.driver) driver" }
                else if candidate.freeBytes == nil { "reports no free disk space (attr.unique.storage.bytesfree)" }
                else if room < requirements.requestBytes { "\(formatBytes(max(0, room))) free, \(formatBytes(requirements.requestBytes)) requested" }
                else { nil }
            if let reason {
                reasons.append("\(candidate.name): \(reason)")
            } else {
                fitting.append((candidate, room))
            }
        }
        guard let best = fitting.max(by: { $0.room < $1.room || ($0.room == $1.room && $0.candidate.name > $1.candidate.name) }) else {
            let detail = reasons.isEmpty ? "Nomad has no client nodes" : reasons.joined(separator: "; ")
            return .failure(.noClient("no Nomad client can hold \(formatBytes(requirements.requestBytes)): \(detail)"))
        }
        return .success(best.candidate)
    }

    /// `1.5 GiB`, `512 MiB`, `100 B`.
    public static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }
}

/// Why a volume could not be provisioned (for the claim's Event).
public struct VolumeProvisioningFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A message naming what is missing.
    public let description: String

    /// No client fits.
    public static func noClient(_ message: String) -> Self { Self(description: message) }
    /// The claim or class cannot be served.
    public static func invalidClaim(_ message: String) -> Self { Self(description: message) }
}

/// Building the PV and the directory jobs of a provisioned volume.
public enum VolumeProvisioning {
    /// What a directory job does.
    public enum DirectoryAction: String, Sendable {
        /// `mkdir`, owner and mode.
        case create
        /// `rm -rf` (reclaim policy Delete).
        case remove
    }

    /// The PV name for a claim, as external provisioners name them: `pvc-<claim uid>`.
    public static func volumeName(claimUID: String) -> String { "pvc-\(claimUID)" }

    /// The directory of a new volume: `<root>/<pv name>`.
    public static func hostPath(root: String, volumeName: String) -> String {
        (root.hasSuffix("/") ? String(root.dropLast()) : root) + "/" + volumeName
    }

    /// Who a new directory for `claim` belongs to: the claim's ``NomadVolumeKeys/directoryOwnerAnnotation``,
    /// else `defaultOwner`. A malformed user name, or root without `policy.allowPrivileged`, is a failure.
    public static func directoryOwner(of claim: PersistentVolumeClaim, defaultOwner: String?, policy: TranslationPolicy) -> Result<String?, VolumeProvisioningFailure> {
        guard let owner = claim.metadata.annotations?[NomadVolumeKeys.directoryOwnerAnnotation] else { return .success(defaultOwner) }
        let first = owner.unicodeScalars.first
        let valid = !owner.isEmpty && owner.count <= 32 && first.map { ("a"..."z").contains($0) || $0 == "_" } == true
            && owner.unicodeScalars.enumerated().allSatisfy { index, scalar in
                ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || "_.-".unicodeScalars.contains(scalar) || (scalar == "$" && index == owner.unicodeScalars.count - 1)
            }
        guard valid else {
            return .failure(.invalidClaim("annotation \(NomadVolumeKeys.directoryOwnerAnnotation) '\(owner.debugDescription)' is not a Unix user name; set it to the user the pods run as (e.g. postgres)"))
        }
        if owner == "root", !policy.allowPrivileged {
            return .failure(.invalidClaim("annotation \(NomadVolumeKeys.directoryOwnerAnnotation) asks for a root-owned directory, which this node allows only with policy.allowPrivileged"))
        }
        return .success(owner)
    }

    /// The claim's requested bytes, or a failure naming the field.
    public static func requestedBytes(of claim: PersistentVolumeClaim) -> Result<Int64, VolumeProvisioningFailure> {
        guard let storage = claim.spec?.resources?.requests?["storage"] else {
            return .failure(.invalidClaim("the claim sets no spec.resources.requests.storage; nomad-kubelet needs it to pick a client with room"))
        }
        return .success(max(0, storage.value))
    }

    /// The PV for a claim provisioned on `placement`: bound to the claim (`claimRef` with uid), the
    /// class's reclaim policy, `spec.local.path`, node affinity to the virtual node (`hostnameLabel`
    /// is the Node's `kubernetes.io/hostname`), and the annotations that make it the durable record.
    public static func persistentVolume(
        claim: PersistentVolumeClaim, storageClass: StorageClass, placement: VolumePlacement, capacityBytes: Int64, virtualNode: String,
        hostnameLabel: String
    ) -> PersistentVolume {
        let name = volumeName(claimUID: claim.metadata.uid ?? "")
        var annotations = [
            NomadVolumeKeys.provisionedByAnnotation: NomadVolumeKeys.provisioner,
            NomadVolumeKeys.nodeIDAnnotation: placement.nodeID,
            NomadVolumeKeys.virtualNodeAnnotation: virtualNode,
        ]
        if let nodeName = placement.nodeName { annotations[NomadVolumeKeys.nodeNameAnnotation] = nodeName }
        var spec = PersistentVolumeSpec()
        spec.capacity = ["storage": Quantity(integerLiteral: capacityBytes)]
        spec.accessModes = claim.spec?.accessModes ?? ["ReadWriteOnce"]
        spec.claimRef = ObjectReference(
            kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: "v1",
            resourceVersion: claim.metadata.resourceVersion)
        spec.persistentVolumeReclaimPolicy = storageClass.reclaimPolicy ?? "Delete"
        spec.storageClassName = storageClass.metadata.name
        spec.volumeMode = "Filesystem"
        spec.local = LocalVolumeSource(path: placement.path)
        spec.nodeAffinity = VolumeNodeAffinity(
            required: NodeSelector(nodeSelectorTerms: [
                NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: "In", values: [hostnameLabel])])
            ]))
        return PersistentVolume(metadata: ObjectMeta(name: name, annotations: annotations), spec: spec)
    }

    /// The Nomad job ID of a directory job.
    public static func directoryJobID(_ action: DirectoryAction, volumeName: String) -> String {
        "nomad-kubelet-volume-\(action.rawValue)-\(volumeName)"
    }

    /// A short batch job pinned to the volume's client that creates the directory (mode 0750,
    /// owned by `owner` when the client runs tasks as root) or removes it. Refuses paths that are
    /// not absolute, are `/`, or contain `..`, so a bad PV can never remove more than its directory.
    public static func directoryJob(
        _ action: DirectoryAction, volumeName: String, placement: VolumePlacement, datacenter: String, owner: String?, policy: TranslationPolicy
    ) -> Result<Job, VolumeProvisioningFailure> {
        let path = placement.path
        guard path.hasPrefix("/"), path != "/", !path.split(separator: "/").contains(".."), !path.contains("\0"), !path.contains("\n") else {
            return .failure(.invalidClaim("volume \(volumeName): '\(path.debugDescription)' is not a safe absolute directory"))
        }
        let script =
            switch action {
            case .create:
                """
                set -e
                mkdir -p -- "$1"
                if [ -n "$2" ] && [ "$(id -u)" = 0 ]; then chown -- "$2" "$1"; fi
                chmod 0750 -- "$1"
                """
            case .remove:
                """
                set -e
                rm -rf -- "$1"
                """
            }
        var task = NomadTask(name: action.rawValue)
        task.driver = "raw_exec"
        task.config = TaskConfig(command: "/bin/sh", args: ["-c", script, "nomad-kubelet-volume", path, owner ?? ""])
        task.resources = Resources(cpu: 20, memoryMB: 32)
        task.logConfig = LogConfig(maxFiles: 1, maxFileSizeMB: 1)
        task.killTimeout = .seconds(5)
        let group = TaskGroup(
            name: "volume", count: 1, tasks: [task], restartPolicy: RestartPolicy(attempts: 0, interval: .seconds(60), delay: .seconds(1), mode: .fail),
            reschedulePolicy: ReschedulePolicy(attempts: 0, unlimited: false), ephemeralDisk: EphemeralDisk(sizeMB: 10))
        let id = directoryJobID(action, volumeName: volumeName)
        var job = Job(
            id: id, name: id, namespace: policy.namespace, type: .batch, region: policy.region, datacenters: [datacenter], priority: policy.priority,
            meta: [NomadVolumeKeys.volumeJobMeta: volumeName, NomadVolumeKeys.virtualNodeAnnotation: policy.nodeName], taskGroups: [group])
        job.constraints = [Constraint(lTarget: "${node.unique.id}", rTarget: placement.nodeID, operand: "=")]
        return .success(job)
    }
}
