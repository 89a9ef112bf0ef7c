import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import ServiceLifecycle
import Translation

/// Storage settings (the `storage` section of the configuration; defaults as documented).
public struct VolumeControllerSettings: Sendable, Hashable {
    /// Whether the agent provisions and reclaims volumes at all (it always resolves claims of pods).
    public var enabled: Bool
    /// The main StorageClass of the provisioner (manifests/storageclass.yaml). Claims of every class
    /// whose provisioner is `nomad-kubelet.io/local` are provisioned; a claim of this class whose
    /// class names another provisioner gets an Event saying so.
    public var storageClassName: String
    /// Where volume directories go on a Nomad client, unless the client's meta
    /// `nomad_kubelet_volume_root` says otherwise.
    public var rootDirectory: String
    /// How long a directory job may take before the operation is retried.
    public var directoryJobTimeout: Duration
    /// Retry delay for claims that cannot be provisioned and volumes that cannot be reclaimed yet.
    public var retryInterval: Duration
    /// The Unix user new directories are given to when the Nomad client runs tasks as root (the
    /// user the pods' tasks run as, `policy.defaultUser`); `nil` keeps the client's user.
    public var directoryOwner: String?

    /// The documented defaults: class `nomad-local`, root `/var/lib/nomad-kubelet/volumes`.
    public init(
        enabled: Bool = true, storageClassName: String = "nomad-local", rootDirectory: String = "/var/lib/nomad-kubelet/volumes",
        directoryJobTimeout: Duration = .seconds(120), retryInterval: Duration = .seconds(10), directoryOwner: String? = nil
    ) {
        self.directoryOwner = directoryOwner
        self.enabled = enabled
        self.storageClassName = storageClassName
        self.rootDirectory = rootDirectory
        self.directoryJobTimeout = directoryJobTimeout
        self.retryInterval = retryInterval
    }
}

/// The provisioner of the `nomad-local` StorageClass, following the external-provisioner protocol:
/// a claim of the class that the scheduler selected for this virtual node
/// (`volume.kubernetes.io/selected-node`) gets a Nomad client with room, a directory made there by a
/// short batch job, and a PV `pvc-<claim uid>` bound to it (`claimRef`) that records the client and
/// the path; the PV controller then binds the claim and the scheduler binds the pod. A Released PV of
/// this node with reclaim policy Delete has its directory removed by another batch job, then is
/// deleted; when its client is down or gone the PV goes Failed with a message and is retried.
/// Everything it knows is in the PVs, so restarts and second instances need no local state.
public final class VolumeController: Service, Sendable {
    private let configuration: AgentConfiguration
    private let settings: VolumeControllerSettings
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let policy: TranslationPolicy
    private let claims: Informer<PersistentVolumeClaim>
    private let volumes: Informer<PersistentVolume>
    private let queue = WorkQueue()
    private let events: EventRecorder
    private let logger: Logger

    /// A provisioner for `configuration.node.name`.
    public init(configuration: AgentConfiguration, settings: VolumeControllerSettings, kubernetes: KubernetesClient, nomad: NomadClient, logger: Logger) {
        self.configuration = configuration
        self.settings = settings
        self.kubernetes = kubernetes
        self.nomad = nomad
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.node.name)"
        self.logger = logger
        self.policy = TranslationPolicy(
            nodeName: configuration.node.name, datacenters: configuration.nomad.datacenters, namespace: configuration.nomad.namespace,
            region: configuration.nomad.region ?? "global")
        self.claims = Informer(client: kubernetes, configuration: .init(resyncInterval: configuration.timings.resyncInterval))
        self.volumes = Informer(client: kubernetes, configuration: .init(resyncInterval: configuration.timings.resyncInterval))
        self.events = EventRecorder(kubernetes: kubernetes, component: "nomad-kubelet-provisioner", host: configuration.node.name, logger: logger)
    }

    /// Provisions and reclaims until shutdown.
    public func run() async throws {
        guard settings.enabled else { return }
        try await Self.untilGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.claims.run() }
                group.addTask { await self.volumes.run() }
                group.addTask {
                    for await event in await self.claims.events() {
                        switch event {
                        case .added(let claim), .updated(_, let claim), .resynced(let claim): self.queue.add("claim/\(claim.metadata.namespace ?? "")/\(claim.metadata.name ?? "")")
                        case .deleted: break
                        }
                    }
                }
                group.addTask {
                    for await event in await self.volumes.events() {
                        switch event {
                        case .added(let volume), .updated(_, let volume), .resynced(let volume): self.queue.add("volume/\(volume.metadata.name ?? "")")
                        case .deleted: break
                        }
                    }
                }
                group.addTask { await self.queue.process { await self.reconcile(key: $0) } }
                await group.waitForAll()
            }
        }
    }

    private func reconcile(key: String) async {
        let parts = key.split(separator: "/").map(String.init)
        do {
            if parts.first == "claim", parts.count == 3 {
                try await reconcileClaim(namespace: parts[1], name: parts[2])
            } else if parts.first == "volume", parts.count == 2 {
                try await reconcileVolume(name: parts[1])
            }
        } catch {
            logger.warning("volume reconcile failed; retrying", metadata: ["key": "\(key)", "error": "\(error)", "retryIn": "\(settings.retryInterval)"])
            queue.add(key, after: settings.retryInterval)
        }
    }

    // MARK: Provisioning

    private func reconcileClaim(namespace: String, name: String) async throws {
        await volumes.waitUntilSynced()
        guard let claim = await claims.cached(name: name, namespace: namespace), claim.metadata.deletionTimestamp == nil,
            (claim.spec?.volumeName ?? "").isEmpty, claim.status?.phase != "Bound",
            let className = claim.spec?.storageClassName, !className.isEmpty,
            let selectedNode = claim.metadata.annotations?[NomadVolumeKeys.selectedNodeAnnotation]
        else { return }
        let provisioner = claim.metadata.annotations?[NomadVolumeKeys.storageProvisionerAnnotation]
        if let provisioner, provisioner != NomadVolumeKeys.provisioner { return }
        guard selectedNode == configuration.node.name else {
            if provisioner == NomadVolumeKeys.provisioner { try await rescheduleIfGone(claim, selectedNode: selectedNode) }
            return
        }
        let volumeName = VolumeProvisioning.volumeName(claimUID: claim.metadata.uid ?? "")
        if await volumes.cached(name: volumeName) != nil { return }
        let storageClass = try await kubernetes.get(StorageClass.self, name: className)
        guard storageClass.provisioner == NomadVolumeKeys.provisioner else {
            if className == settings.storageClassName {
                await events.record(
                    on: claim, reason: "ProvisioningFailed", type: "Warning",
                    message: "StorageClass \(className) names provisioner \(storageClass.provisioner), not \(NomadVolumeKeys.provisioner); set `provisioner: \(NomadVolumeKeys.provisioner)`")
            }
            return
        }
        var logger = self.logger
        logger[metadataKey: "claim"] = "\(namespace)/\(name)"
        let bytes: Int64
        switch VolumeProvisioning.requestedBytes(of: claim) {
        case .success(let value): bytes = value
        case .failure(let failure):
            await events.record(on: claim, reason: "ProvisioningFailed", type: "Warning", message: failure.description)
            return
        }
        let owner: String?
        switch VolumeProvisioning.directoryOwner(of: claim, defaultOwner: settings.directoryOwner, policy: policy) {
        case .success(let value): owner = value
        case .failure(let failure):
            await events.record(on: claim, reason: "ProvisioningFailed", type: "Warning", message: failure.description)
            return
        }
        let requirements = VolumeClientRequirements(
            requestBytes: bytes, datacenters: configuration.nomad.datacenters, nodePool: configuration.nomad.nodePool, nodeClass: configuration.nomad.nodeClass,
            driver: "raw_exec", requiredNodeID: await clientOfSiblingClaims(of: claim))
        let candidates = try await clientCandidates()
        var promised: [String: Int64] = [:]
        for volume in await volumes.cachedObjects() where volume.status?.phase != "Released" {
            guard let placement = VolumePlacement(volume: volume) else { continue }
            promised[placement.nodeID, default: 0] += volume.spec?.capacity?["storage"]?.value ?? 0
        }
        let client: VolumeClientCandidate
        switch VolumeClientChoice.choose(candidates, requirements: requirements, promisedBytes: promised) {
        case .success(let chosen): client = chosen
        case .failure(let failure):
            await events.record(on: claim, reason: "ProvisioningFailed", type: "Warning", message: failure.description)
            logger.warning("cannot provision the claim", metadata: ["reason": "\(failure)"])
            queue.add("claim/\(namespace)/\(name)", after: settings.retryInterval)
            return
        }
        let placement = VolumePlacement(
            nodeID: client.id, nodeName: client.name,
            path: VolumeProvisioning.hostPath(root: client.volumeRoot ?? settings.rootDirectory, volumeName: volumeName))
        await events.record(
            on: claim, reason: "Provisioning", type: "Normal",
            message: "External provisioner is provisioning volume for claim \"\(namespace)/\(name)\" on Nomad client \(placement.clientDescription)")
        try await runDirectoryJob(.create, volumeName: volumeName, placement: placement, datacenter: client.datacenter, owner: owner)
        let volume = VolumeProvisioning.persistentVolume(
            claim: claim, storageClass: storageClass, placement: placement, capacityBytes: bytes, virtualNode: configuration.node.name,
            hostnameLabel: configuration.node.addresses.hostname ?? configuration.node.name)
        do {
            _ = try await kubernetes.create(volume)
        } catch let error as KubernetesClientError where error.kind == .alreadyExists {
            return
        }
        logger.notice("provisioned volume", metadata: ["volume": "\(volumeName)", "client": "\(placement.clientDescription)", "path": "\(placement.path)"])
        await events.record(
            on: claim, reason: "ProvisioningSucceeded", type: "Normal",
            message: "Successfully provisioned volume \(volumeName) on Nomad client \(placement.clientDescription) at \(placement.path)")
    }

    /// The external-provisioner's rule for a claim of this provisioner selected for another node:
    /// while that node exists its agent provisions (looked at again later, in case it goes away);
    /// once the node is gone (its agent removed for good), the selected-node annotation is cleared
    /// so the scheduler picks a node again, instead of the pod waiting forever.
    private func rescheduleIfGone(_ claim: PersistentVolumeClaim, selectedNode: String) async throws {
        let namespace = claim.metadata.namespace ?? ""
        let name = claim.metadata.name ?? ""
        do {
            _ = try await kubernetes.get(Node.self, name: selectedNode)
            queue.add("claim/\(namespace)/\(name)", after: settings.retryInterval * 3)
            return
        } catch let error as KubernetesClientError where error.kind == .notFound {}
        let patch: JSONValue = [
            "metadata": [
                "resourceVersion": .string(claim.metadata.resourceVersion ?? ""),
                "annotations": [.init(NomadVolumeKeys.selectedNodeAnnotation): .null],
            ]
        ]
        do {
            _ = try await kubernetes.patch(PersistentVolumeClaim.self, name: name, namespace: namespace, patch: .merge(patch))
        } catch let error as KubernetesClientError where error.kind == .forbidden {
            // A node identity under NodeRestriction may change only a claim's status.
            await events.record(
                on: claim, reason: "ProvisioningFailed", type: "Warning",
                message: "selected node \(selectedNode) no longer exists, and this agent may not remove \(NomadVolumeKeys.selectedNodeAnnotation) (\(error.status?.message ?? error.message)): "
                    + "run `kubectl annotate pvc -n \(namespace) \(name) \(NomadVolumeKeys.selectedNodeAnnotation)-` so the scheduler places the pod again, "
                    + "or run the agent as a ServiceAccount bound to the provisioner's ClusterRole (docs/storage.md)")
            queue.add("claim/\(namespace)/\(name)", after: settings.retryInterval * 3)
            return
        }
        logger.notice("claim was selected for a node that no longer exists; rescheduling", metadata: ["claim": "\(namespace)/\(name)", "selectedNode": "\(selectedNode)"])
        await events.record(
            on: claim, reason: "ProvisioningFailed", type: "Warning",
            message: "selected node \(selectedNode) no longer exists: removed \(NomadVolumeKeys.selectedNodeAnnotation) so the scheduler places the pod again")
    }

    /// The client holding the volumes of the other claims of the pods using `claim`, if any: one
    /// process runs on one client, so all of a pod's volumes must be there.
    private func clientOfSiblingClaims(of claim: PersistentVolumeClaim) async -> String? {
        guard let pods = try? await kubernetes.list(Pod.self, namespace: claim.metadata.namespace).items else { return nil }
        let cachedVolumes = await volumes.cachedObjects()
        for pod in pods {
            let names = (pod.spec?.volumes ?? []).compactMap { $0.persistentVolumeClaim?.claimName }
            guard names.contains(claim.metadata.name ?? "") else { continue }
            for other in names where other != claim.metadata.name {
                guard let sibling = await claims.cached(name: other, namespace: claim.metadata.namespace) else { continue }
                let volume = cachedVolumes.first {
                    $0.metadata.name == sibling.spec?.volumeName || $0.spec?.claimRef?.uid == sibling.metadata.uid
                }
                if let placement = volume.flatMap(VolumePlacement.init(volume:)) { return placement.nodeID }
            }
        }
        return nil
    }

    private func clientCandidates() async throws -> [VolumeClientCandidate] {
        var candidates: [VolumeClientCandidate] = []
        for stub in try await nomad.nodes().value {
            guard let id = stub.id else { continue }
            candidates.append(VolumeClientCandidate(node: try await nomad.node(id)))
        }
        return candidates
    }

    // MARK: Reclaiming

    private func reconcileVolume(name: String) async throws {
        guard let volume = await volumes.cached(name: name), volume.metadata.deletionTimestamp == nil,
            volume.metadata.annotations?[NomadVolumeKeys.provisionedByAnnotation] == NomadVolumeKeys.provisioner,
            volume.metadata.annotations?[NomadVolumeKeys.virtualNodeAnnotation] == configuration.node.name,
            volume.spec?.persistentVolumeReclaimPolicy == "Delete",
            ["Released", "Failed"].contains(volume.status?.phase ?? ""),
            let placement = VolumePlacement(volume: volume)
        else { return }
        if volume.status?.phase == "Failed", let reference = volume.spec?.claimRef,
            let claim = await claims.cached(name: reference.name ?? "", namespace: reference.namespace), claim.metadata.uid == reference.uid
        {
            return  // failed for another reason while still claimed: not ours to delete
        }
        var logger = self.logger
        logger[metadataKey: "volume"] = "\(name)"
        let client: NomadNode?
        do {
            client = try await nomad.node(placement.nodeID)
        } catch let error as NomadClientError where error.kind == .notFound {
            client = nil
        }
        guard let client, client.status == .ready else {
            let state = client == nil ? "is gone from Nomad" : "is \(client?.status?.rawValue ?? "unknown")"
            let message = "Nomad client \(placement.clientDescription) \(state), so the directory \(placement.path) was not removed; "
                + "bring the client back (the agent retries), or remove the directory by hand and delete this PV"
            try await markFailed(volume, message: message)
            logger.warning("cannot reclaim volume: its client is not ready", metadata: ["client": "\(placement.clientDescription)"])
            queue.add("volume/\(name)", after: settings.retryInterval)
            return
        }
        try await runDirectoryJob(.remove, volumeName: name, placement: placement, datacenter: client.datacenter ?? "dc1", owner: nil)
        do {
            try await kubernetes.delete(PersistentVolume.self, name: name, options: DeleteOptions(preconditions: .init(uid: volume.metadata.uid)))
        } catch let error as KubernetesClientError where error.kind == .notFound {
            return
        }
        logger.notice("reclaimed volume: directory removed, PV deleted", metadata: ["client": "\(placement.clientDescription)", "path": "\(placement.path)"])
    }

    private func markFailed(_ volume: PersistentVolume, message: String) async throws {
        guard volume.status?.phase != "Failed" || volume.status?.message != message else { return }
        let patch = JSONValue.object(["status": .object(["phase": "Failed", "reason": "NomadClientUnavailable", "message": .string(message)])])
        _ = try await kubernetes.patchStatus(PersistentVolume.self, name: volume.metadata.name ?? "", patch: .merge(patch))
        await events.record(on: volume, reason: "VolumeFailedDelete", type: "Warning", message: message)
    }

    // MARK: Directory jobs

    /// Runs a directory job on the volume's client and waits for it to end; purges it afterwards.
    /// `owner` gets a created directory (when the client runs tasks as root).
    private func runDirectoryJob(
        _ action: VolumeProvisioning.DirectoryAction, volumeName: String, placement: VolumePlacement, datacenter: String, owner: String?
    ) async throws {
        let job: Job
        switch VolumeProvisioning.directoryJob(action, volumeName: volumeName, placement: placement, datacenter: datacenter, owner: owner, policy: policy) {
        case .success(let built): job = built
        case .failure(let failure):
            throw AgentError.volumeOperationFailed(volume: volumeName, action: action.rawValue, client: placement.clientDescription, detail: failure.description)
        }
        let jobID = job.id ?? ""
        // A job left by an earlier attempt (crash, timeout) is replaced, so the outcome read is this run's.
        _ = try? await nomad.deregister(jobID: jobID, purge: true)
        _ = try await nomad.register(job)
        defer { Task { [nomad] in _ = try? await nomad.deregister(jobID: jobID, purge: true) } }
        let deadline = ContinuousClock.now + settings.directoryJobTimeout
        var index: UInt64 = 0
        while ContinuousClock.now < deadline {
            let response: NomadResponse<[AllocationListStub]>
            do {
                response = try await nomad.allocations(ofJob: jobID, options: NomadQueryOptions(waitIndex: index, waitTime: .seconds(5)))
            } catch let error as NomadClientError where error.kind == .notFound {
                throw AgentError.volumeOperationFailed(volume: volumeName, action: action.rawValue, client: placement.clientDescription, detail: "the job vanished")
            }
            index = max(index, response.index)
            if response.value.contains(where: { $0.clientStatus == .complete }) { return }
            if let failed = response.value.first(where: { $0.clientStatus == .failed || $0.clientStatus == .lost }) {
                let allocation = try? await nomad.allocation(failed.id ?? "").value
                let detail = allocation?.taskStates?.values.flatMap { $0.events ?? [] }.compactMap(\.displayMessage).last ?? "allocation \(failed.id ?? "") failed"
                throw AgentError.volumeOperationFailed(volume: volumeName, action: action.rawValue, client: placement.clientDescription, detail: detail)
            }
        }
        throw AgentError.volumeOperationFailed(
            volume: volumeName, action: action.rawValue, client: placement.clientDescription, detail: "the job did not finish within \(settings.directoryJobTimeout)")
    }
}

/// Records core/v1 Events on any object, named after a key so one happening is recorded once.
struct EventRecorder: Sendable {
    let kubernetes: KubernetesClient
    let component: String
    let host: String
    let logger: Logger

    func record<Resource: KubernetesResource>(on object: Resource, reason: String, type: String, message: String) async {
        let name = "\(object.metadata.name ?? "object").\(PodController.fnv1a("\(object.metadata.uid ?? "")/\(reason)/\(message)"))"
        let now = Date()
        let event = Event(
            metadata: ObjectMeta(name: name, namespace: object.metadata.namespace ?? "default"),
            involvedObject: ObjectReference(
                kind: Resource.kind, namespace: object.metadata.namespace, name: object.metadata.name, uid: object.metadata.uid, apiVersion: Resource.group.isEmpty ? Resource.version : "\(Resource.group)/\(Resource.version)",
                resourceVersion: object.metadata.resourceVersion),
            reason: reason, message: message, source: EventSource(component: component, host: host), firstTimestamp: Time(now), lastTimestamp: Time(now),
            count: 1, type: type, reportingComponent: component, reportingInstance: host)
        do {
            _ = try await kubernetes.create(event, namespace: object.metadata.namespace ?? "default")
        } catch let error as KubernetesClientError where error.kind == .alreadyExists {
            return
        } catch {
            logger.debug("could not record event", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}
