import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import Translation

/// A container of a pod this node runs, located in Nomad.
public struct LocatedContainer: Sendable {
    /// The pod as the API server has it.
    public var pod: Pod
    /// How the pod and its Nomad job name each other.
    public var identity: PodJobIdentity
    /// The container's name.
    public var containerName: String
    /// The Nomad task running the container.
    public var taskName: String
    /// The job's newest allocation (the pod's current incarnation).
    public var allocation: Allocation
    /// Older allocations of the job, newest first (earlier incarnations after a job update).
    public var olderAllocations: [AllocationListStub]

    /// The Nomad allocation ID.
    public var allocationID: String { allocation.id ?? "" }
    /// The Nomad job ID.
    public var jobID: String { identity.jobID }
    /// The task's state in the current allocation.
    public var taskState: TaskState? { allocation.taskStates?[taskName] }
    /// Whether the task runs now (exec and port-forward need that).
    public var isRunning: Bool { taskState?.state == .running }
}

/// Finds where a pod's container runs: the pod from Kubernetes (it must be bound to this node), its
/// Nomad job (``PodJobIdentity``), the job's current allocation and the container's task. Errors are
/// ``KubeletServerError``s worded like the kubelet's (`pod "x" does not exist`, 404; `container "c"
/// in pod "p" is waiting to start: ContainerCreating`, 400).
public final class PodLocator: Sendable {
    private let nodeName: String
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let logger: Logger

    /// A locator for the pods of `nodeName`.
    public init(nodeName: String, kubernetes: KubernetesClient, nomad: NomadClient, logger: Logger) {
        self.nodeName = nodeName
        self.kubernetes = kubernetes
        self.nomad = nomad
        self.logger = logger
    }

    /// The pod, if it exists and is bound to this node (404 otherwise).
    public func pod(namespace: String, name: String) async throws(KubeletServerError) -> Pod {
        let pod: Pod
        do {
            pod = try await kubernetes.get(Pod.self, name: name, namespace: namespace)
        } catch let error as KubernetesClientError where error.kind == .notFound || error.kind == .forbidden {
            // A node may read only its own pods; either way this node does not run it.
            throw .notFound("pod \"\(name)\" does not exist")
        } catch {
            KubeletServerMetrics.recordBackendError(.kubernetes)
            throw .serviceUnavailable("cannot read pod \(namespace)/\(name) from the API server: \(error)")
        }
        guard pod.spec?.nodeName == nodeName else { throw .notFound("pod \"\(name)\" does not exist") }
        return pod
    }

    /// Locates a container; `container` nil or empty means the pod's only container. The allocation
    /// may have finished (logs of terminated containers); see ``locateRunning(namespace:pod:container:)``.
    public func locate(namespace: String, pod name: String, container: String?) async throws(KubeletServerError) -> LocatedContainer {
        let pod = try await pod(namespace: namespace, name: name)
        let spec = pod.spec
        let appNames = (spec?.containers ?? []).map(\.name)
        let allNames = appNames + (spec?.initContainers ?? []).map(\.name)
        let containerName: String
        if let container, !container.isEmpty {
            guard allNames.contains(container) else { throw .notFound("container \"\(container)\" not found in pod \"\(name)\"") }
            containerName = container
        } else if appNames.count == 1 {
            containerName = appNames[0]
        } else {
            throw .badRequest("a container name must be specified for pod \(name), choose one of: [\(appNames.joined(separator: " "))]")
        }
        let identity = PodJobIdentity(namespace: namespace, name: name, uid: pod.metadata.uid ?? "", nodeName: nodeName)
        let stubs: [AllocationListStub]
        do {
            stubs = try await nomad.allocations(ofJob: identity.jobID).value
        } catch let error as NomadClientError where error.kind == .notFound {
            stubs = []
        } catch {
            KubeletServerMetrics.recordBackendError(.nomad)
            throw .serviceUnavailable("cannot read the allocations of Nomad job \(identity.jobID): \(error)")
        }
        let ordered = stubs.sorted { ($0.createIndex ?? 0) > ($1.createIndex ?? 0) }
        guard let newest = ordered.first, let id = newest.id else {
            throw .badRequest("container \"\(containerName)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        let allocation: Allocation
        do {
            allocation = try await nomad.allocation(id).value
        } catch {
            KubeletServerMetrics.recordBackendError(.nomad)
            throw .serviceUnavailable("cannot read Nomad allocation \(id) of pod \(namespace)/\(name): \(error)")
        }
        let taskName = PodJobIdentity.taskName(forContainer: containerName)
        let located = LocatedContainer(
            pod: pod, identity: identity, containerName: containerName, taskName: taskName, allocation: allocation,
            olderAllocations: Array(ordered.dropFirst()))
        let state = located.taskState
        if state == nil || (state?.state == .pending && (state?.startedAt?.date == nil)) {
            throw .badRequest("container \"\(containerName)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        return located
    }

    /// Locates a container that runs now (exec, port-forward); 400 when it does not.
    public func locateRunning(namespace: String, pod name: String, container: String?) async throws(KubeletServerError) -> LocatedContainer {
        let located = try await locate(namespace: namespace, pod: name, container: container)
        guard located.isRunning else {
            throw .badRequest(
                "container \"\(located.containerName)\" in pod \"\(name)\" is not running (Nomad task \"\(located.taskName)\" in allocation "
                    + "\(located.allocationID) is \(located.taskState?.state?.rawValue ?? "unknown"))")
        }
        return located
    }

    /// The Nomad jobs of the pods bound to this node (Meta `k8s.node`), with their identities.
    public func podJobs() async throws(KubeletServerError) -> [(identity: PodJobIdentity, job: Job)] {
        let jobs: [Job]
        do {
            jobs = try await nomad.jobs(meta: [PodJobIdentity.nodeMetaKey: nodeName])
        } catch {
            KubeletServerMetrics.recordBackendError(.nomad)
            throw .serviceUnavailable("cannot list the Nomad jobs of node \(nodeName): \(error)")
        }
        return jobs.compactMap { job in
            guard let id = job.id, let identity = try? PodJobIdentity(jobID: id, meta: job.meta) else { return nil }
            return (identity, job)
        }
    }
}
