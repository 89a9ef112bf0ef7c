import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import Synchronization
import Translation

/// The agent side of configMap, secret, downwardAPI and projected volumes: fetches what a pod
/// references (ConfigMaps and Secrets by GET, which the Node authorizer allows for objects its
/// pods reference) into the ``TranslationContext``, requests bound service-account tokens (TokenRequest) and renews them at 80% of
/// their life as the kubelet does, and writes changed files into running tasks through Nomad's exec
/// API (``VolumeFileSync``) so processes see updates without a restart.
///
/// Secret values and tokens are held in memory only and never logged.
final class PodVolumeSync: Sendable {
    /// A token the agent holds for a pod, and when it was issued and expires.
    struct HeldToken: Sendable {
        var token: String
        var issued: Date
        var expires: Date
    }

    /// What the files of one mount hold, as far as the agent knows.
    private struct Written {
        /// The allocation the files were written in; `nil` right after registering: the next
        /// allocation starts with the seeded content.
        var allocationID: String?
        var contentHash: String
    }

    private struct State {
        /// Pod uid → tokens by projection.
        var tokens: [String: [ServiceAccountTokenKey: HeldToken]] = [:]
        /// `<job>/<task>/<mount path>` → what its files hold.
        var written: [String: Written] = [:]
    }

    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let state = Mutex(State())

    init(kubernetes: KubernetesClient, nomad: NomadClient) {
        self.kubernetes = kubernetes
        self.nomad = nomad
    }

    // MARK: Inputs

    /// What `pod` references, fetched: its ConfigMaps and Secrets (absent ones left out: the
    /// translation says which are missing and the pod waits) and fresh tokens for its projected
    /// volumes. Throws ``AgentError/volumeSourceUnavailable(volume:reason:)`` when a token is refused.
    func context(for pod: Pod, now: Date = Date()) async throws -> TranslationContext {
        let references = PodReferences(of: pod)
        let namespace = pod.metadata.namespace ?? ""
        var context = TranslationContext()
        for name in references.configMaps.sorted() {
            if let configMap = try await fetch(ConfigMap.self, name: name, namespace: namespace) { context.configMaps[name] = configMap }
        }
        for name in references.secrets.sorted() {
            if let secret = try await fetch(Secret.self, name: name, namespace: namespace) { context.secrets[name] = secret }
        }
        for key in references.serviceAccountTokens {
            context.serviceAccountTokens[key] = try await token(key, for: pod, now: now)
        }
        return context
    }

    private func fetch<Resource: KubernetesResource>(_ type: Resource.Type, name: String, namespace: String) async throws -> Resource? {
        do {
            return try await kubernetes.get(type, name: name, namespace: namespace)
        } catch let error as KubernetesClientError where error.kind == .notFound {
            return nil
        }
    }

    /// A token for `key`, the held one while it is fresh, else a new one from the TokenRequest API.
    private func token(_ key: ServiceAccountTokenKey, for pod: Pod, now: Date) async throws -> String {
        let uid = pod.metadata.uid ?? ""
        if let held = state.withLock({ $0.tokens[uid]?[key] }), !Self.needsRefresh(held, now: now) { return held.token }
        let account = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? "default"
        let request = TokenRequest(
            spec: TokenRequestSpec(
                audiences: key.audience.map { [$0] }, expirationSeconds: key.expirationSeconds,
                boundObjectRef: BoundObjectReference(kind: "Pod", apiVersion: "v1", name: pod.metadata.name, uid: pod.metadata.uid)))
        let response: TokenRequest
        do {
            response = try await kubernetes.create(subresource: "token", of: ServiceAccount.self, name: account, namespace: pod.metadata.namespace, body: request)
        } catch let error as KubernetesClientError where error.kind == .notFound || error.kind == .forbidden {
            throw AgentError.volumeSourceUnavailable(
                volume: Self.volumeName(referencingTokenIn: pod), reason: "failed to fetch token: \(error)")
        }
        guard let status = response.status, let expires = status.expirationTimestamp.date else {
            throw AgentError.volumeSourceUnavailable(volume: Self.volumeName(referencingTokenIn: pod), reason: "the TokenRequest answer has no token or expiry")
        }
        let held = HeldToken(token: status.token, issued: now, expires: expires)
        state.withLock { $0.tokens[uid, default: [:]][key] = held }
        return held.token
    }

    /// The kubelet's rule: renew once 80% of the token's life has passed, or after 24 hours.
    static func needsRefresh(_ token: HeldToken, now: Date) -> Bool {
        let life = token.expires.timeIntervalSince(token.issued)
        return now >= token.issued.addingTimeInterval(life * 0.8) || now >= token.issued.addingTimeInterval(24 * 3600)
    }

    private static func volumeName(referencingTokenIn pod: Pod) -> String {
        pod.spec?.volumes?.first { $0.projected?.sources?.contains { $0.serviceAccountToken != nil } == true }?.name ?? "token"
    }

    // MARK: Files

    /// Records that `translation`'s job was registered: its next allocation starts with these files.
    func registered(_ translation: PodTranslation) {
        state.withLock { state in
            for set in translation.volumeFiles {
                for mountPath in set.mountPaths {
                    state.written[Self.key(translation.identity.jobID, set.task, mountPath)] = Written(allocationID: nil, contentHash: set.contentHash)
                }
            }
        }
    }

    /// Writes every changed volume file set of `translation` into its running task of `allocation`.
    /// A task that is not running is left alone: it will get the files when it runs again (a restart
    /// keeps the last written files, a new allocation starts from the job's templates).
    func sync(_ translation: PodTranslation, allocation: Allocation?, logger: Logger) async {
        guard let allocation, let allocationID = allocation.id, allocation.clientStatus?.rawValue == "running" else { return }
        for set in translation.volumeFiles {
            guard allocation.taskStates?[set.task]?.state == .running else { continue }
            let hash = set.contentHash
            for mountPath in set.mountPaths {
                let key = Self.key(translation.identity.jobID, set.task, mountPath)
                let current = state.withLock { state -> String? in
                    guard var written = state.written[key] else { return nil }
                    if written.allocationID == nil {
                        written.allocationID = allocationID
                        state.written[key] = written
                    }
                    return written.allocationID == allocationID ? written.contentHash : nil
                }
                if current == hash { continue }
                await write(set, mountPath: mountPath, allocationID: allocationID, key: key, hash: hash, logger: logger)
            }
        }
    }

    private func write(_ set: VolumeFileSet, mountPath: String, allocationID: String, key: String, hash: String, logger: Logger) async {
        let metadata: Logger.Metadata = ["task": "\(set.task)", "volume": "\(set.volume)", "mountPath": "\(mountPath)", "alloc": "\(allocationID)"]
        guard let archive = VolumeFileSync.archive(set.files) else {
            logger.warning("volume files not updated: a path is longer than 255 bytes", metadata: metadata)
            return
        }
        do {
            let result = try await nomad.execute(allocationID: allocationID, task: set.task, command: VolumeFileSync.updateCommand(mountPath: mountPath), stdin: archive)
            guard result.exitCode == 0 else {
                // The script's stderr names paths, never file content.
                logger.warning(
                    "volume files not updated; retrying at the next sync",
                    metadata: metadata.merging(["exitCode": "\(result.exitCode)", "stderr": "\(String(decoding: result.stderr.prefix(500), as: UTF8.self))"]) { $1 })
                return
            }
            state.withLock { $0.written[key] = Written(allocationID: allocationID, contentHash: hash) }
            logger.info("volume files updated in the running task", metadata: metadata)
        } catch {
            logger.warning("volume files not updated; retrying at the next sync", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// Forgets a pod's tokens and files (it was deleted).
    func forget(podUID: String, jobID: String) {
        state.withLock { state in
            state.tokens[podUID] = nil
            state.written = state.written.filter { !$0.key.hasPrefix(jobID + "/") }
        }
    }

    private static func key(_ jobID: String, _ task: String, _ mountPath: String) -> String { "\(jobID)/\(task)/\(mountPath)" }

    /// Whether a pod has volume files that follow their sources (checked at every volume sync period).
    static func hasSyncedVolumes(_ pod: Pod) -> Bool {
        (pod.spec?.volumes ?? []).contains { $0.configMap != nil || $0.secret != nil || $0.downwardAPI != nil || $0.projected != nil }
    }
}
