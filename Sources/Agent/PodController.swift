import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import ServiceLifecycle
import Synchronization
import Translation

/// Runs the pods bound to this node as Nomad jobs and reports their status.
///
/// An informer on `spec.nodeName=<node>` and Nomad's change feed both queue pod keys; one worker
/// reconciles each key idempotently: exactly one job per pod (deterministic job ID, registered with
/// `EnforceIndex`), status mapped from the job's allocation and PATCHed only when it changed,
/// Events for what Nomad did, and kubelet-like deletion (stop with the grace as kill timeout, wait
/// for every task to be dead, delete the pod with grace 0 and a uid precondition). Jobs of this
/// node whose pod is gone are stopped after the orphan grace. The periodic resync is only a safety
/// net: status follows Nomad's change feed.
public final class PodController: Service, Sendable {
    /// Job Meta key holding a hash of the translated job, to re-register only on a real change.
    static let specHashMetaKey = "k8s.spec-hash"
    /// How many pods are reconciled at once. A reconcile mostly waits on the Nomad and Kubernetes
    /// APIs; one at a time made a burst of pods queue behind each other's round trips.
    static let reconcileWorkers = 16
    /// Condition type set when a pod cannot be translated into a job.
    public static let translatedCondition = PodStatusMapper.translatedCondition

    private let configuration: AgentConfiguration
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let translator: PodTranslator
    private let volumeSync: PodVolumeSync
    /// How often pods with configMap, secret, downwardAPI or projected volumes are checked for changed sources.
    private let volumeSyncInterval: Duration
    private let informer: Informer<Pod>
    /// The PseudoImage catalogue (cluster-scoped; needs the RBAC in manifests/agent-rbac.yaml).
    private let pseudoImages: Informer<PseudoImage>
    private let volumeClaims: VolumeClaimResolver
    private let queue = WorkQueue()
    private let state = Mutex(State())
    private let logger: Logger
    /// Probes, postStart and preStop hooks: what the kubelet runs beside the containers.
    private let runtime: PodRuntimeSupervisor

    private struct State {
        /// Pods removed from Kubernetes whose jobs may still need stopping, by pod key.
        var tombstones: [String: Pod] = [:]
        /// Job ID → pod key, for routing Nomad changes.
        var podKeyByJobID: [String: String] = [:]
        /// The allocation last seen per job, for deriving Events.
        var lastAllocation: [String: Allocation] = [:]
        /// The evaluation of the last register per job (explains placement failures).
        var lastEvaluationID: [String: String] = [:]
        /// Retry delay per pod key.
        var backoff: [String: Duration] = [:]
        /// Re-translation delay per pod key waiting for objects it references.
        var waitingBackoff: [String: Duration] = [:]
        /// When each orphan job was first seen.
        var orphanSince: [String: ContinuousClock.Instant] = [:]
        /// Nomad node ID → address.
        var nodeAddresses: [String: String] = [:]
        /// Pods (by uid) with a reconcile queued for their active deadline.
        var deadlineScheduled: Set<String> = []
        /// When the tasks of a deleted pod's job get SIGKILL if still alive: the deletion's grace
        /// after the agent first saw it (Nomad's kill_timeout alone cannot be shortened once stopping).
        var killDeadline: [String: ContinuousClock.Instant] = [:]
    }

    /// A controller for the pods of `configuration.node.name`; `imageResolver` says which images
    /// can run (the host image only by default); volume sources (ConfigMaps, Secrets, tokens) are
    /// checked for changes every `volumeSyncInterval`.
    public init(
        configuration: AgentConfiguration, kubernetes: KubernetesClient, nomad: NomadClient, imageResolver: ImageResolver = .standard, logger: Logger,
        volumeSyncInterval: Duration = .seconds(10)
    ) {
        self.configuration = configuration
        self.volumeSync = PodVolumeSync(kubernetes: kubernetes, nomad: nomad)
        self.volumeSyncInterval = volumeSyncInterval
        self.kubernetes = kubernetes
        self.nomad = nomad
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.node.name)"
        self.logger = logger
        self.runtime = PodRuntimeSupervisor(nomad: nomad, logger: logger)
        self.translator = PodTranslator(policy: configuration.translationPolicy, imageResolver: imageResolver)
        self.volumeClaims = VolumeClaimResolver(kubernetes: kubernetes, nomad: nomad)
        self.informer = Informer<Pod>(
            client: kubernetes,
            configuration: .init(fieldSelector: "spec.nodeName=\(configuration.node.name)", resyncInterval: configuration.timings.resyncInterval))
        self.pseudoImages = Informer<PseudoImage>(client: kubernetes, configuration: .init(resyncInterval: configuration.timings.resyncInterval))
    }

    /// Watches pods and Nomad until shutdown. Leaves every job running when it stops.
    public func run() async throws {
        try await Self.untilGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.informer.run() }
                group.addTask { await self.pseudoImages.run() }
                group.addTask { await self.consumeInformer() }
                group.addTask { await self.consumePseudoImages() }
                group.addTask { await self.consumeNomadChanges() }
                group.addTask { await self.queue.process(workers: Self.reconcileWorkers) { await self.reconcile(key: $0) } }
                group.addTask { await self.scanOrphansPeriodically() }
                group.addTask { await self.syncVolumesPeriodically() }
                await group.waitForAll()
            }
        }
        await runtime.shutdown()
    }

    // MARK: Inputs

    private func consumeInformer() async {
        for await event in await informer.events() {
            switch event {
            case .updated(let old, let pod) where !Self.needsReconcile(from: old, to: pod):
                // Only the status moved, mostly this agent's own write echoed by the watch: as the
                // kubelet, nothing to do (Nomad's changes and the resync still queue the pod).
                continue
            case .added(let pod), .updated(_, let pod), .resynced(let pod):
                remember(pod)
                queue.add(Self.key(pod))
            case .deleted(let pod):
                state.withLock { $0.tombstones[Self.key(pod)] = pod }
                queue.add(Self.key(pod))
            }
            if Task.isCancelled { return }
        }
    }

    /// A PseudoImage that appears, changes or goes re-translates the pods whose images name it.
    private func consumePseudoImages() async {
        for await event in await pseudoImages.events() {
            let name: String?
            switch event {
            case .added(let image), .updated(_, let image), .resynced(let image), .deleted(let image): name = image.metadata.name
            }
            guard let name else { continue }
            for pod in await informer.cachedObjects() where PodReferences(of: pod).pseudoImages.contains(name) {
                queue.add(Self.key(pod))
            }
            if Task.isCancelled { return }
        }
    }

    /// Whether a pod changed in more than its status (and the bookkeeping every write moves):
    /// spec, labels, annotations, deletion, finalizers, owners.
    static func needsReconcile(from old: Pod, to new: Pod) -> Bool {
        func relevant(_ pod: Pod) -> Pod {
            var pod = pod
            pod.status = nil
            pod.metadata.resourceVersion = nil
            pod.metadata.managedFields = nil
            return pod
        }
        return relevant(old) != relevant(new)
    }

    private func remember(_ pod: Pod) {
        let jobID = PodJobIdentity.jobID(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "")
        state.withLock { $0.podKeyByJobID[jobID] = Self.key(pod) }
    }

    /// Allocation changes queue the pod of their job: this is what makes status event-driven.
    private func consumeNomadChanges() async {
        while !Task.isCancelled {
            do {
                for try await event in nomad.changes(NomadChangeFeedOptions(topics: [.allocations, .jobs])) {
                    let jobID: String?
                    switch event.change {
                    case .allocation(let allocation): jobID = allocation.jobID
                    case .job(let job), .jobDeregistered(let job): jobID = job.id
                    case .node: jobID = nil
                    }
                    if let jobID, let key = state.withLock({ $0.podKeyByJobID[jobID] }) { queue.add(key) }
                }
            } catch {
                logger.warning("Nomad change feed ended; restarting it", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func scanOrphansPeriodically() async {
        await informer.waitUntilSynced()
        let interval = min(configuration.timings.resyncInterval, max(configuration.timings.orphanGrace / 2, .seconds(1)))
        while !Task.isCancelled {
            await scanOrphans()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// Queues the pods whose volume files follow sources Kubernetes does not tell the node about
    /// (ConfigMaps and Secrets are read with GET, as the Node authorizer allows) and whose tokens age.
    private func syncVolumesPeriodically() async {
        await informer.waitUntilSynced()
        while !Task.isCancelled {
            do { try await Task.sleep(for: volumeSyncInterval) } catch { return }
            for pod in await informer.cachedObjects() where pod.metadata.deletionTimestamp == nil && PodVolumeSync.hasSyncedVolumes(pod) {
                queue.add(Self.key(pod))
            }
        }
    }

    // MARK: Orphans

    /// Stops jobs of this node whose pod no longer exists, once they have been orphans for the grace.
    func scanOrphans() async {
        let pods = await informer.cachedObjects()
        let live = Set(pods.map { PodJobIdentity.jobID(namespace: $0.metadata.namespace ?? "", name: $0.metadata.name ?? "", uid: $0.metadata.uid ?? "") })
        let jobs: [Job]
        do {
            // The jobs of live pods are not orphans: not read at all (with Nomad before 1.6 the scan
            // otherwise read every job of the node, each time).
            jobs = try await nomad.jobs(meta: [PodJobIdentity.nodeMetaKey: configuration.node.name], excluding: live)
        } catch {
            logger.debug("orphan scan skipped: Nomad unavailable", metadata: ["error": "\(error)"])
            return
        }
        let now = ContinuousClock.now
        var present: Set<String> = []
        for job in jobs where job.stop != true {
            guard let id = job.id, !live.contains(id) else { continue }
            present.insert(id)
            let since = state.withLock { state in
                if let since = state.orphanSince[id] { return since }
                state.orphanSince[id] = now
                return now
            }
            if since == now {
                logger.notice("job has no pod; stopping it after the orphan grace", metadata: ["job": "\(id)", "grace": "\(configuration.timings.orphanGrace)"])
            }
            guard now - since >= configuration.timings.orphanGrace else { continue }
            do {
                try await stopJob(id, logger: logger)
                logger.notice("stopped orphan job", metadata: ["job": "\(id)", "pod": "\(job.meta?[PodJobIdentity.namespaceMetaKey] ?? "")/\(job.meta?[PodJobIdentity.podMetaKey] ?? "")"])
                present.remove(id)
            } catch {
                logger.warning("could not stop orphan job", metadata: ["job": "\(id)", "error": "\(error)"])
            }
        }
        state.withLock { state in state.orphanSince = state.orphanSince.filter { present.contains($0.key) } }
        await deleteLeftoverSecretVariables(stoppedJobs: Set(jobs.filter { $0.stop == true }.compactMap(\.id)))
    }

    /// Deletes the secret Variables still held for this node's stopped jobs (a stop whose variable
    /// deletion failed, or an agent killed in between).
    private func deleteLeftoverSecretVariables(stoppedJobs: Set<String>) async {
        guard !stoppedJobs.isEmpty, (try? await nomad.version().hasVariables) == true,
            let variables = try? await nomad.variables(prefix: SecretVariable.pathPrefix)
        else { return }
        for variable in variables {
            guard let path = variable.path, path.hasPrefix(SecretVariable.pathPrefix) else { continue }
            let jobID = String(path.dropFirst(SecretVariable.pathPrefix.count))
            if stoppedJobs.contains(jobID) { await deleteSecretVariable(of: jobID, logger: logger) }
        }
    }

    // MARK: Reconcile

    static func key(_ pod: Pod) -> String { "\(pod.metadata.namespace ?? "")/\(pod.metadata.name ?? "")" }

    private func reconcile(key: String) async {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        var logger = self.logger
        logger[metadataKey: "pod"] = "\(key)"
        do {
            if let tombstone = state.withLock({ $0.tombstones.removeValue(forKey: key) }) {
                await runtime.forget(podUID: tombstone.metadata.uid ?? "")
                try await stopJobOfRemovedPod(tombstone, logger: logger)
            }
            if let pod = await informer.cached(name: parts[1], namespace: parts[0]) {
                if pod.metadata.deletionTimestamp != nil {
                    try await reconcileDeletion(pod, logger: logger)
                } else {
                    try await reconcileRunning(pod, logger: logger)
                }
            }
            state.withLock { _ = $0.backoff.removeValue(forKey: key) }
        } catch {
            let delay = state.withLock { state -> Duration in
                let delay = min((state.backoff[key] ?? .milliseconds(250)) * 2, .seconds(30))
                state.backoff[key] = delay
                return delay
            }
            logger.warning("reconcile failed; retrying", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
            queue.add(key, after: delay)
        }
    }

    /// The pod is gone from Kubernetes (deleted with grace 0, possibly forced): its job must not run
    /// on. A forced deletion (grace 0) kills the tasks at once, as `kubectl delete --force` expects.
    private func stopJobOfRemovedPod(_ pod: Pod, logger: Logger) async throws {
        let jobID = PodJobIdentity.jobID(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "")
        volumeSync.forget(podUID: pod.metadata.uid ?? "", jobID: jobID)
        guard let job = try await existingJob(jobID), job.stop != true else { return }
        try await stopJob(jobID, logger: logger)
        logger.notice("pod removed from Kubernetes; stopped its job", metadata: ["job": "\(jobID)"])
        if pod.metadata.deletionGracePeriodSeconds == 0 {
            await killLiveAllocations(of: jobID, logger: logger)
        }
    }

    /// The job's allocations whose tasks may still run.
    private func liveAllocations(of jobID: String) async throws -> [AllocationListStub] {
        let stubs: [AllocationListStub]
        do {
            stubs = try await nomad.allocations(ofJob: jobID).value
        } catch let error as NomadClientError where error.kind == .notFound {
            stubs = []
        }
        let terminal: Set<String> = ["complete", "failed", "lost"]
        return stubs.filter { !terminal.contains($0.clientStatus?.rawValue ?? "") }
    }

    /// Sends SIGKILL to every task of the job's live allocations (the end of a deletion's grace).
    private func killLiveAllocations(of jobID: String, logger: Logger) async {
        for stub in (try? await liveAllocations(of: jobID)) ?? [] {
            guard let id = stub.id else { continue }
            do {
                try await nomad.signalAllocation(id, signal: "SIGKILL")
                logger.notice("grace period over; killed the pod's tasks", metadata: ["job": "\(jobID)", "allocation": "\(id)"])
            } catch {
                logger.debug("could not signal the allocation (its tasks may have ended)", metadata: ["allocation": "\(id)", "error": "\(error)"])
            }
        }
    }

    private func existingJob(_ jobID: String) async throws -> Job? {
        do {
            return try await nomad.job(jobID).value
        } catch let error as NomadClientError where error.kind == .notFound {
            return nil
        }
    }

    private func reconcileRunning(_ pod: Pod, logger: Logger) async throws {
        remember(pod)
        var baseOptions = TranslationOptions(runtimeHandler: try await runtimeHandler(of: pod))
        if pod.spec?.volumes?.contains(where: { $0.persistentVolumeClaim != nil }) == true {
            // Claim volumes pin the job to their Nomad client; before a job exists, a client that is
            // down keeps the pod Pending (it must never start elsewhere with an empty directory).
            let jobID = PodJobIdentity.jobID(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "")
            let running = try await existingJob(jobID).map { $0.stop != true } ?? false
            switch try await volumeClaims.resolve(pod, checkClients: !running) {
            case .ready(let claims): baseOptions.claimVolumes = claims
            case .waiting(let wait):
                if pod.status?.reason != wait.reason || pod.status?.message != wait.message {
                    logger.notice("pod waits for its volumes", metadata: ["reason": "\(wait.reason)", "message": "\(wait.message)"])
                    await record("FailedMount", type: "Warning", message: wait.message, fieldPath: nil, key: "volumes/\(wait.message)", at: Date(), pod: pod)
                }
                try await patchStatus(pod, VolumeClaimResolver.waitingStatus(pod, wait, now: Date()), logger: logger)
                queue.add(Self.key(pod), after: .seconds(5))
                return
            }
        }
        let context: TranslationContext
        do {
            context = try await translationContext(for: pod)
        } catch let error as AgentError where error.kind == .volumeSourceUnavailable {
            // As the kubelet: the pod waits for its token, with a FailedMount Event, and is retried.
            await record("FailedMount", type: "Warning", message: error.message, fieldPath: nil, key: "mount/\(pod.metadata.uid ?? "")/\(error.message)", at: Date(), pod: pod)
            throw error
        }
        var plain: PodTranslation
        var hashBasis: Job
        do {
            plain = try translator.translate(pod, context: context, options: baseOptions)
            // Hashed without the ConfigMap/Secret values and without volume file content: as in
            // Kubernetes, changed values reach the process at its next start and changed files are
            // written into the running tasks, neither by restarting it.
            hashBasis = try translator.translate(pod, context: context.withValuesHidden(), options: baseOptions).jobIgnoringVolumeContent
        } catch {
            if error.isTransient, !["Succeeded", "Failed"].contains(pod.status?.phase ?? "") {
                try await reportWaiting(pod, error: error, logger: logger)
            } else {
                try await reportTranslationFailure(pod, error: error, logger: logger)
            }
            return
        }
        state.withLock { _ = $0.waitingBackoff.removeValue(forKey: Self.key(pod)) }
        Self.recordImages(of: pod, in: &plain.job)
        Self.recordImages(of: pod, in: &hashBasis)
        let jobID = plain.identity.jobID
        let hash = Self.specHash(hashBasis)
        let existing = try await existingJob(jobID)
        // A pod that ended (Succeeded/Failed, or past its active deadline) never runs again,
        // whatever became of its job.
        let ended =
            ["Succeeded", "Failed"].contains(pod.status?.phase ?? "")
            || ActiveDeadline.isExceeded(pod: pod, startTime: pod.status?.startTime?.date, now: Date())
        if !ended, existing == nil || existing?.stop == true || existing?.meta?[Self.specHashMetaKey] != hash {
            var options = baseOptions
            if let existing, existing.stop != true {
                // A changed spec (image): restart in place on the same client, counting restarts on.
                let allocation = try await currentAllocation(jobID: jobID)
                options.pinnedNodeID = allocation?.nodeID
                for status in pod.status?.containerStatuses ?? [] { options.restartCountBase[status.name] = status.restartCount + 1 }
            }
            let translation = (try? translator.translate(pod, context: context, options: options)) ?? plain
            var job = try await deliverSecrets(of: translation, pod: pod, logger: logger)
            Self.recordImages(of: pod, in: &job)
            job.meta = (job.meta ?? [:]).merging([Self.specHashMetaKey: hash]) { $1 }
            let enforceIndex = existing?.jobModifyIndex ?? 0
            do {
                let response = try await nomad.register(job, enforceIndex: enforceIndex)
                if let evalID = response.evalID { state.withLock { $0.lastEvaluationID[jobID] = evalID } }
                volumeSync.registered(translation)
                logger.info(existing == nil ? "registered job" : "updated job", metadata: ["job": "\(jobID)", "enforceIndex": "\(enforceIndex)"])
                for warning in plain.warnings {
                    logger.warning("pod field not carried out as written", metadata: ["field": "\(warning.field)", "reason": "\(warning.reason)"])
                    await record(
                        warning.eventReason ?? "TranslationWarning", type: "Warning", message: warning.reason, fieldPath: nil,
                        key: "warning/\(pod.metadata.uid ?? "")/\(warning.field)/\(warning.reason)", at: Date(), pod: pod)
                }
            } catch let error as NomadClientError where error.kind == .enforceIndexConflict {
                logger.debug("job changed while registering; reconciling again", metadata: ["job": "\(jobID)"])
                queue.add(Self.key(pod), after: .milliseconds(100))
                return
            }
        }
        if ended, existing == nil { return }
        let allocation = try await updateStatus(pod, jobID: jobID, logger: logger)
        if !ended { await volumeSync.sync(plain, allocation: allocation, logger: logger) }
    }

    /// The job to register: on Nomad 1.4+ its Secret values move into the job's Nomad Variable,
    /// written here first (the templates wait for it); on older Nomad they stay inline in the job,
    /// which a Warning Event on the pod says once.
    private func deliverSecrets(of translation: PodTranslation, pod: Pod, logger: Logger) async throws -> Job {
        let delivered = translation.deliveringSecretsThroughVariable(nodeName: configuration.node.name)
        guard let variable = delivered.variable else { return translation.job }
        let version = try await nomad.version()
        if version.hasVariables {
            try await nomad.putVariable(path: variable.path, items: variable.items)
            return delivered.job
        }
        let message =
            "Nomad \(version) has no Variables (1.4+): the pod's Secret values are inline in job \(translation.identity.jobID), readable by anyone who may read the job in Nomad"
        logger.warning("Secret values inline in the job", metadata: ["job": "\(translation.identity.jobID)", "nomadVersion": "\(version)"])
        await record("SecretsInline", type: "Warning", message: message, fieldPath: nil, key: "secrets-inline/\(pod.metadata.uid ?? "")", at: Date(), pod: pod)
        return translation.job
    }

    /// Stops a job (deregisters it, without purging) and deletes its secret Variable, if any.
    private func stopJob(_ jobID: String, logger: Logger) async throws {
        _ = try await nomad.deregister(jobID: jobID)
        await deleteSecretVariable(of: jobID, logger: logger)
    }

    /// Deletes a job's secret Variable on Nomad 1.4+ (best effort: a failure is logged, and the
    /// orphan scan tries again while the stopped job is listed).
    private func deleteSecretVariable(of jobID: String, logger: Logger) async {
        guard (try? await nomad.version().hasVariables) == true else { return }
        do {
            try await nomad.deleteVariable(path: SecretVariable.path(jobID: jobID))
        } catch {
            logger.warning("could not delete the job's secret variable", metadata: ["job": "\(jobID)", "error": "\(error)"])
        }
    }

    /// What the pod references, read with the node's own identity (the Node authorizer lets a node
    /// GET the ConfigMaps and Secrets of pods bound to it, and request their service-account
    /// tokens): absent objects are left out, so translation reports them missing; any other error
    /// is retried.
    private func translationContext(for pod: Pod) async throws -> TranslationContext {
        let references = PodReferences(of: pod)
        // ConfigMaps, Secrets and service-account tokens (absent objects left out).
        var context = try await volumeSync.context(for: pod)
        if !references.pseudoImages.isEmpty, !(await pseudoImages.hasSynced) {
            logger.warning(
                "the PseudoImage catalogue is not readable yet; apply manifests/agent-rbac.yaml if this lasts",
                metadata: ["pod": "\(Self.key(pod))"])
        }
        for name in references.pseudoImages {
            if let image = await pseudoImages.cached(name: name) { context.pseudoImages[name] = image }
        }
        let usesResourceFields = ((pod.spec?.initContainers ?? []) + (pod.spec?.containers ?? [])).contains { container in
            container.env?.contains { $0.valueFrom?.resourceFieldRef != nil } ?? false
        }
        if usesResourceFields, let node = try? await kubernetes.get(Node.self, name: configuration.node.name) {
            context.nodeAllocatable = node.status?.allocatable ?? [:]
        }
        return context
    }

    /// A pod whose PseudoImage, ConfigMap, Secret or key does not exist yet: Pending with the
    /// kubelet's waiting reasons and an Event, no job; translated again after a back-off (and at
    /// once when a PseudoImage changes).
    private func reportWaiting(_ pod: Pod, error: TranslationError, logger: Logger) async throws {
        let key = Self.key(pod)
        let delay = state.withLock { state -> Duration in
            let delay = min((state.waitingBackoff[key] ?? .seconds(1)) * 2, .seconds(60))
            state.waitingBackoff[key] = delay
            return delay
        }
        queue.add(key, after: delay)
        let status = PodStatusMapper.waitingStatus(for: pod, error: error, now: Date())
        guard status.containerStatuses != pod.status?.containerStatuses || status.phase != pod.status?.phase else { return }
        logger.notice("pod waits for objects it references", metadata: ["missing": "\(error.problems.map(\.reason))"])
        for problem in error.problems {
            let isImage = problem.field.hasSuffix(".image")
            await record(
                problem.field.hasPrefix("spec.volumes") ? "FailedMount" : "Failed", type: "Warning", message: isImage ? "Failed to pull image: \(problem.reason)" : "Error: \(problem.reason)", fieldPath: nil,
                key: "waiting/\(pod.metadata.uid ?? "")/\(problem.field)/\(problem.reason)", at: Date(), pod: pod)
        }
        try await patchStatus(pod, status, logger: logger)
    }

    /// The handler of the pod's RuntimeClass, which picks the Nomad driver; `nil` when the pod names
    /// none or its RuntimeClass does not exist (translation then refuses it, naming the class).
    private func runtimeHandler(of pod: Pod) async throws -> String? {
        guard let name = pod.spec?.runtimeClassName else { return nil }
        do {
            return try await kubernetes.get(RuntimeClass.self, name: name).handler
        } catch let error as KubernetesClientError where error.kind == .notFound {
            return nil
        }
    }

    /// The newest allocation of the job, fully read, or `nil` when none exists.
    private func currentAllocation(jobID: String) async throws -> Allocation? {
        let stubs: [AllocationListStub]
        do {
            stubs = try await nomad.allocations(ofJob: jobID).value
        } catch let error as NomadClientError where error.kind == .notFound {
            return nil
        }
        guard let newest = stubs.max(by: { ($0.createIndex ?? 0) < ($1.createIndex ?? 0) }), let id = newest.id else { return nil }
        return try await nomad.allocation(id).value
    }

    /// The job's newest evaluation that failed to place it, else its newest evaluation. The
    /// scheduling evaluation wins over the blocked one it created (both carry `FailedTGAllocs`;
    /// only the former names the blocked evaluation that retries).
    private func placementEvaluation(jobID: String) async throws -> Evaluation? {
        let evaluations = try await nomad.evaluations(ofJob: jobID).sorted { ($0.createIndex ?? 0) > ($1.createIndex ?? 0) }
        let failed = evaluations.filter { !($0.failedTGAllocs?.isEmpty ?? true) }
        return failed.first { $0.status != "blocked" } ?? failed.first ?? evaluations.first
    }

    private func nodeAddress(_ nodeID: String?) async -> String? {
        guard let nodeID else { return nil }
        if let known = state.withLock({ $0.nodeAddresses[nodeID] }) { return known }
        guard let node = try? await nomad.node(nodeID), let address = node.address ?? node.httpAddr?.split(separator: ":").first.map(String.init) else { return nil }
        state.withLock { $0.nodeAddresses[nodeID] = address }
        return address
    }

    /// Maps the job's allocation to a PodStatus, PATCHes it when it changed, and records Events;
    /// returns the allocation it read.
    @discardableResult
    private func updateStatus(_ pod: Pod, jobID: String, logger: Logger) async throws -> Allocation? {
        let allocation = try await currentAllocation(jobID: jobID)
        var evaluation: Evaluation?
        if allocation == nil {
            if let evalID = state.withLock({ $0.lastEvaluationID[jobID] }) {
                evaluation = try? await nomad.evaluation(evalID)
            } else {
                // Registered before this agent started: Nomad's evaluations still tell why nothing runs.
                evaluation = try? await placementEvaluation(jobID: jobID)
                if let id = evaluation?.id { state.withLock { $0.lastEvaluationID[jobID] = id } }
            }
        }
        if allocation == nil, let evaluation, evaluation.failedTGAllocs?.isEmpty ?? true, [nil, "pending"].contains(evaluation.status) {
            // Nomad has not placed the job yet, nor said why: the evaluation's outcome is not in the
            // change feed, so look again shortly (this job only).
            queue.add(Self.key(pod), after: .seconds(1))
        }
        let address = await nodeAddress(allocation?.nodeID)
        var input = PodStatusInput(pod: pod, allocation: allocation, evaluation: evaluation, nodeAddress: address, now: Date())
        // Which containers run is known from Nomad alone; probes then say whether they started and are ready.
        let probeResults = await runtime.sync(
            pod: pod, status: PodStatusMapper.status(for: input), allocationID: allocation?.id, podIP: address, reporter: reporter(for: pod))
        input.readiness = probeResults.readiness
        input.started = probeResults.started
        var status = PodStatusMapper.status(for: input)
        // The pod has a job now: a condition left from waiting for its references is over.
        status.conditions?.removeAll { $0.type == Self.translatedCondition && $0.reason == "ReferencesMissing" }
        if let allocation {
            let previous = state.withLock { state -> Allocation? in
                let previous = state.lastAllocation[jobID]
                state.lastAllocation[jobID] = allocation
                return previous?.id == allocation.id ? previous : nil
            }
            for event in PodEventDeriver.events(pod: pod, previous: previous, current: allocation) {
                await record(event.reason, type: event.type.rawValue, message: event.message, fieldPath: event.fieldPath, key: event.key, at: event.time, pod: pod)
            }
        }
        try await patchStatus(pod, status, logger: logger)
        try await enforceActiveDeadline(pod, status: status, jobID: jobID, logger: logger)
        return allocation
    }

    /// The pod's probe workers and hooks report through this: status changes queue the pod,
    /// events are recorded on it.
    private func reporter(for pod: Pod) -> PodRuntimeReporter {
        let key = Self.key(pod)
        return PodRuntimeReporter(
            statusChanged: { [queue] in queue.add(key) },
            event: { [weak self] reason, type, message, fieldPath, eventKey in
                await self?.record(reason, type: type, message: message, fieldPath: fieldPath, key: eventKey, at: Date(), pod: pod)
            })
    }

    /// `activeDeadlineSeconds`: once the mapped status says the deadline passed, the job is
    /// stopped (the kubelet kills the containers) and the pod stays Failed; before that, the pod
    /// is queued again for the moment the deadline passes.
    private func enforceActiveDeadline(_ pod: Pod, status: PodStatus, jobID: String, logger: Logger) async throws {
        let uid = pod.metadata.uid ?? ""
        if status.reason == ActiveDeadline.reason {
            await runtime.stop(podUID: uid)
            // Recorded whoever stops the job (another path may have, once the pod read Failed); the key makes it once.
            await record("DeadlineExceeded", type: "Normal", message: ActiveDeadline.message, fieldPath: nil, key: "deadline/\(uid)", at: Date(), pod: pod)
            guard let job = try await existingJob(jobID), job.stop != true else { return }
            try await stopJob(jobID, logger: logger)
            logger.info("active deadline passed; stopped the pod's job", metadata: ["job": "\(jobID)"])
        } else if let remaining = ActiveDeadline.remaining(pod: pod, startTime: status.startTime?.date, now: Date()), remaining > 0,
            state.withLock({ $0.deadlineScheduled.insert(uid).inserted })
        {
            queue.add(Self.key(pod), after: .milliseconds(Int64(remaining * 1000) + 100))
        }
    }

    private func patchStatus(_ pod: Pod, _ status: PodStatus, logger: Logger) async throws {
        guard status != pod.status,
            let statusPatch = StrategicMergeDiff.patch(from: try pod.status.map { try JSONValue(encoding: $0) }, to: try JSONValue(encoding: status))
        else { return }
        let body = JSONValue.object(["metadata": .object(["uid": .string(pod.metadata.uid ?? "")]), "status": statusPatch])
        _ = try await kubernetes.patchStatus(Pod.self, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace, patch: .strategicMerge(body))
        logger.debug("pod status updated", metadata: ["phase": "\(status.phase ?? "")"])
    }

    /// A pod that cannot become a job: Failed with a condition and an Event naming the field; no job.
    private func reportTranslationFailure(_ pod: Pod, error: TranslationError, logger: Logger) async throws {
        let message = error.description
        if pod.status?.phase == "Failed", pod.status?.message == message { return }
        logger.warning("pod cannot run as a Nomad job", metadata: ["error": "\(message)"])
        var status = pod.status ?? PodStatus()
        status.phase = "Failed"
        status.reason = "NomadTranslationFailed"
        status.message = message
        var conditions = (status.conditions ?? []).filter { $0.type != Self.translatedCondition }
        conditions.append(PodCondition(type: Self.translatedCondition, status: "False", lastTransitionTime: Time(Date()), reason: "NomadTranslationFailed", message: message))
        status.conditions = conditions
        await record("Failed", type: "Warning", message: message, fieldPath: nil, key: "translation/\(message)", at: Date(), pod: pod)
        try await patchStatus(pod, status, logger: logger)
    }

    /// Kubelet-style deletion: stop the job (Nomad sends the kill signal and SIGKILL after the
    /// job's kill_timeout, the spec's grace), SIGKILL what still runs once the deletion's own grace
    /// (`deletionGracePeriodSeconds`, shorter with `kubectl delete --grace-period`) is over, and
    /// remove the pod with grace 0 once every task is dead.
    private func reconcileDeletion(_ pod: Pod, logger: Logger) async throws {
        let identity = PodJobIdentity(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "", nodeName: configuration.node.name)
        let jobID = identity.jobID
        let grace = [pod.metadata.deletionGracePeriodSeconds, pod.spec?.terminationGracePeriodSeconds].compactMap { $0 }.min() ?? 30
        var killDeadline = state.withLock { state -> ContinuousClock.Instant in
            if let deadline = state.killDeadline[jobID] { return deadline }
            let deadline = ContinuousClock.now + .seconds(max(grace, 0))
            state.killDeadline[jobID] = deadline
            return deadline
        }
        await runtime.stop(podUID: pod.metadata.uid ?? "")
        if let job = try await existingJob(jobID), job.stop != true {
            // preStop hooks run first, within the grace period (the kill deadline counts them); a
            // hook that used it all leaves the containers 2 s more, as the kubelet gives.
            let allocation = try await currentAllocation(jobID: jobID)
            let key = Self.key(pod)
            let preStop = await runtime.preStop(
                pod: pod, allocationID: allocation?.id, podIP: await nodeAddress(allocation?.nodeID), grace: TimeInterval(max(grace, 0)),
                reporter: reporter(for: pod)
            ) { [queue] in queue.add(key) }
            if preStop == .running {
                logger.debug("running preStop hooks", metadata: ["job": "\(jobID)"])
                return  // their end queues the pod again
            }
            if preStop != nil {
                let extended = max(killDeadline, ContinuousClock.now + .seconds(PodTranslator.minimumGracePeriodSeconds))
                killDeadline = state.withLock { state in
                    state.killDeadline[jobID] = extended
                    return extended
                }
            }
            try await stopJob(jobID, logger: logger)
            for container in pod.spec?.containers ?? [] {
                await record(
                    "Killing", type: "Normal", message: "Stopping container \(container.name)", fieldPath: "spec.containers{\(container.name)}",
                    key: "killing/\(pod.metadata.uid ?? "")/\(container.name)", at: Date(), pod: pod)
            }
            logger.info("pod deleted; stopped its job", metadata: ["job": "\(jobID)", "grace": "\(grace)"])
        }
        guard try await liveAllocations(of: jobID).isEmpty else {
            let now = ContinuousClock.now
            if now >= killDeadline {
                await killLiveAllocations(of: jobID, logger: logger)
                queue.add(Self.key(pod), after: .seconds(1))
            } else {
                logger.debug("waiting for the job's tasks to stop", metadata: ["job": "\(jobID)"])
                // The allocation change that follows queues the pod again; this wakes it at the deadline.
                queue.add(Self.key(pod), after: killDeadline - now)
            }
            return
        }
        do {
            try await kubernetes.delete(
                Pod.self, name: pod.metadata.name ?? "", namespace: pod.metadata.namespace,
                options: DeleteOptions(gracePeriodSeconds: 0, preconditions: .init(uid: pod.metadata.uid)))
            logger.info("every task stopped; pod removed")
        } catch let error as KubernetesClientError where error.kind == .notFound || error.kind == .conflict {
            logger.debug("pod already gone", metadata: ["error": "\(error)"])
        }
        state.withLock { state in
            state.lastAllocation[jobID] = nil
            state.lastEvaluationID[jobID] = nil
            state.deadlineScheduled.remove(pod.metadata.uid ?? "")
            state.killDeadline[jobID] = nil
        }
        await runtime.forget(podUID: pod.metadata.uid ?? "")
        volumeSync.forget(podUID: pod.metadata.uid ?? "", jobID: jobID)
    }

    // MARK: Events

    /// Creates a core/v1 Event on the pod, named after `key` so the same happening is recorded once.
    private func record(_ reason: String, type: String, message: String, fieldPath: String?, key: String, at time: Date, pod: Pod) async {
        let name = "\(pod.metadata.name ?? "pod").\(Self.fnv1a(key))"
        let event = Event(
            metadata: ObjectMeta(name: name, namespace: pod.metadata.namespace),
            involvedObject: ObjectReference(
                kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: "v1", fieldPath: fieldPath),
            reason: reason, message: message, source: EventSource(component: "kubelet", host: configuration.node.name),
            firstTimestamp: Time(time), lastTimestamp: Time(time), count: 1, type: type,
            reportingComponent: "kubelet", reportingInstance: configuration.node.name)
        do {
            _ = try await kubernetes.create(event, namespace: pod.metadata.namespace)
        } catch let error as KubernetesClientError where error.kind == .alreadyExists {
            return
        } catch {
            logger.debug("could not record event", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    // MARK: Hashing

    /// Task Meta key holding the container's image.
    static let imageMetaKey = "k8s.image"

    /// Writes each container's image into its task's Meta. Two images may run the same program
    /// (the host image under another name, a PseudoImage tag pointing at the same files), yet an
    /// image change must restart the container: with the image in the job it is a new job version.
    static func recordImages(of pod: Pod, in job: inout Job) {
        var images: [String: String] = [:]
        for container in (pod.spec?.initContainers ?? []) + (pod.spec?.containers ?? []) {
            images[PodJobIdentity.taskName(forContainer: container.name)] = container.image ?? ""
        }
        job.taskGroups = job.taskGroups?.map { group in
            var group = group
            group.tasks = group.tasks?.map { task in
                var task = task
                if let name = task.name, let image = images[name] { task.meta = (task.meta ?? [:]).merging([imageMetaKey: image]) { $1 } }
                return task
            }
            return group
        }
    }

    static func specHash(_ job: Job) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(job)) ?? Data()
        return fnv1a(data)
    }

    static func fnv1a(_ text: String) -> String { fnv1a(Data(text.utf8)) }

    static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
