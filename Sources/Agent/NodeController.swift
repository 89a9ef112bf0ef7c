import Foundation
import KubernetesClient
import KubernetesModels
import Logging
import NomadClient
import NomadModels
import ServiceLifecycle
import Synchronization

/// Keeps the virtual Node alive: registers (or adopts) it, renews its Lease, and reports its
/// status — capacity from the Nomad clients it fronts, and Ready only while Nomad answers and has
/// an eligible client. Uses only the calls NodeRestriction allows a `system:node:<name>` identity.
public final class NodeController: Service, Sendable {
    private let configuration: AgentConfiguration
    private let kubernetes: KubernetesClient
    private let nomad: NomadClient
    private let logger: Logger
    private let filter: NomadClientFilter
    private let observer: (any AgentLifecycleObserver)?
    private let state = Mutex(State())

    private struct State {
        var nodeUID: String?
        var lastReported: NomadHealth?
        var lastStatusUpdate: ContinuousClock.Instant?
        var readySince: Date = Date()
        var lastCapacity: [String: Quantity]?
        var nomadVersion: String?
    }

    /// A controller for the Node named in `configuration.node.name`.
    public init(
        configuration: AgentConfiguration, kubernetes: KubernetesClient, nomad: NomadClient, logger: Logger, observer: (any AgentLifecycleObserver)? = nil
    ) {
        self.observer = observer
        self.configuration = configuration
        self.kubernetes = kubernetes
        self.nomad = nomad
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.node.name)"
        self.logger = logger
        self.filter = NomadClientFilter(datacenters: configuration.nomad.datacenters, nodePool: configuration.nomad.nodePool, nodeClass: configuration.nomad.nodeClass)
    }

    /// Registers the Node, then renews the Lease and the status until shutdown. Retries Kubernetes
    /// failures; never deletes the Node (its pods keep running in Nomad).
    public func run() async throws {
        try await Self.untilGracefulShutdown {
            while true {
                do {
                    try await self.registerNode()
                    self.observer?.nodeRegistered(name: self.nodeName)
                    break
                } catch {
                    self.logger.error("node registration failed; retrying", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: self.configuration.timings.leaseRenewInterval)
                }
            }
            while true {
                await self.heartbeat()
                self.observer?.heartbeatCompleted()
                try await Task.sleep(for: self.configuration.timings.leaseRenewInterval)
            }
        }
        observer?.stopping()
    }

    /// One heartbeat: renew the Lease, probe Nomad, patch the status when it changed or is due.
    func heartbeat() async {
        do {
            try await renewLease()
        } catch {
            logger.warning("lease renewal failed", metadata: ["error": "\(error)"])
        }
        let health = await probeNomad()
        let (changed, due) = state.withLock { state -> (Bool, Bool) in
            let due = state.lastStatusUpdate.map { ContinuousClock.now - $0 >= configuration.timings.statusUpdateInterval } ?? true
            return (state.lastReported != health, due)
        }
        guard changed || due else { return }
        do {
            try await patchStatus(health)
            if changed {
                logger.notice("node status changed", metadata: ["ready": "\(health.ready)", "reason": "\(health.reason)", "message": "\(health.message)"])
            }
        } catch {
            logger.warning("node status update failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Node

    private var nodeName: String { configuration.node.name }

    private var labels: [String: String] {
        var labels = configuration.node.labels
        labels["type"] = "virtual-kubelet"
        labels["kubernetes.io/hostname"] = configuration.node.addresses.hostname ?? nodeName
        labels["kubernetes.io/os"] = configuration.node.operatingSystem
        labels["kubernetes.io/arch"] = configuration.node.architecture
        return labels
    }

    /// Creates the Node, or adopts an existing one by adding missing labels (taints of an existing
    /// Node are an admin's: NodeRestriction forbids a node to change them).
    func registerNode() async throws {
        let existing: Node
        do {
            existing = try await kubernetes.get(Node.self, name: nodeName)
        } catch let error as KubernetesClientError where error.kind == .notFound {
            let node = Node(metadata: ObjectMeta(name: nodeName, labels: labels), spec: NodeSpec(taints: configuration.node.taints))
            do {
                let created = try await kubernetes.create(node)
                state.withLock { $0.nodeUID = created.metadata.uid }
                logger.notice("registered node", metadata: ["uid": "\(created.metadata.uid ?? "")"])
                return
            } catch let error as KubernetesClientError where error.kind == .alreadyExists {
                try await registerNode()
                return
            }
        }
        let missing = labels.filter { existing.metadata.labels?[$0.key] != $0.value }
        if !missing.isEmpty {
            let patch = JSONValue.object(["metadata": .object(["labels": .object(missing.mapValues { .string($0) })])])
            _ = try await kubernetes.patch(Node.self, name: nodeName, patch: .strategicMerge(patch))
        }
        state.withLock { $0.nodeUID = existing.metadata.uid }
        logger.notice("adopted existing node", metadata: ["uid": "\(existing.metadata.uid ?? "")"])
    }

    // MARK: Lease

    /// Renews the Lease (PUT with the resourceVersion read); creates it when missing; on 409 reads
    /// it again and retries.
    func renewLease() async throws {
        let namespace = "kube-node-lease"
        let durationSeconds = Int(configuration.timings.leaseDuration.components.seconds)
        for _ in 0..<3 {
            var lease: Lease
            do {
                lease = try await kubernetes.get(Lease.self, name: nodeName, namespace: namespace)
            } catch let error as KubernetesClientError where error.kind == .notFound {
                let uid = state.withLock { $0.nodeUID }
                let owner = uid.map { [OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: $0)] }
                let new = Lease(
                    metadata: ObjectMeta(name: nodeName, namespace: namespace, ownerReferences: owner),
                    spec: LeaseSpec(holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: MicroTime(Date())))
                do {
                    _ = try await kubernetes.create(new, namespace: namespace)
                    return
                } catch let error as KubernetesClientError where error.kind == .alreadyExists {
                    continue
                }
            }
            var spec = lease.spec ?? LeaseSpec()
            spec.holderIdentity = nodeName
            spec.leaseDurationSeconds = durationSeconds
            spec.renewTime = MicroTime(Date())
            lease.spec = spec
            do {
                _ = try await kubernetes.update(lease)
                return
            } catch let error as KubernetesClientError where error.kind == .conflict {
                logger.debug("lease renewal conflicted; reading it again")
            }
        }
    }

    // MARK: Status

    /// Asks Nomad for its version and eligible clients.
    func probeNomad() async -> NomadHealth {
        do {
            let version = try await nomad.version()
            let stubs = try await nomad.nodes().value.filter(filter.admits)
            var nodes: [NomadNode] = []
            for stub in stubs {
                guard let id = stub.id else { continue }
                nodes.append(try await nomad.node(id))
            }
            if nodes.isEmpty {
                let scope = "datacenters \(filter.datacenters.joined(separator: ","))"
                    + (filter.nodePool.map { ", node pool \($0)" } ?? "") + (filter.nodeClass.map { ", node class \($0)" } ?? "")
                return NomadHealth(
                    ready: false, reason: "NoEligibleNomadClient", message: "Nomad has no ready, eligible client node in \(scope)",
                    capacity: NomadCapacity.capacity(of: []), nomadVersion: version.description)
            }
            return NomadHealth(
                ready: true, reason: "NomadReachable", message: "\(nodes.count) eligible Nomad client\(nodes.count == 1 ? "" : "s")",
                capacity: NomadCapacity.capacity(of: nodes), nomadVersion: version.description)
        } catch {
            return .unreachable(error)
        }
    }

    private func patchStatus(_ health: NomadHealth) async throws {
        let now = Date()
        let (transition, capacity, nomadVersion) = state.withLock { state -> (Date, [String: Quantity], String?) in
            if state.lastReported?.ready != health.ready { state.readySince = now }
            if let capacity = health.capacity { state.lastCapacity = capacity }
            if let version = health.nomadVersion { state.nomadVersion = version }
            var capacity = state.lastCapacity ?? [:]
            for (key, value) in configuration.node.capacity { capacity[key] = value }
            return (state.readySince, capacity, state.nomadVersion)
        }
        let heartbeat = Time(now)
        func pressure(_ type: String, _ reason: String, _ message: String) -> NodeCondition {
            NodeCondition(type: type, status: "False", lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat, reason: reason, message: message)
        }
        let status = NodeStatus(
            capacity: capacity, allocatable: capacity,
            conditions: [
                NodeCondition(
                    type: "Ready", status: health.ready ? "True" : "False", lastHeartbeatTime: heartbeat, lastTransitionTime: Time(transition),
                    reason: health.reason, message: health.message),
                pressure("MemoryPressure", "NomadSchedules", "Nomad places pods only where memory is free"),
                pressure("DiskPressure", "NomadSchedules", "Nomad places pods only where disk is free"),
                pressure("PIDPressure", "NomadSchedules", "Nomad places pods only where processes are available"),
            ],
            addresses: [
                NodeAddress(type: "InternalIP", address: configuration.node.addresses.internalIP),
                NodeAddress(type: "Hostname", address: configuration.node.addresses.hostname ?? nodeName),
            ],
            daemonEndpoints: NodeDaemonEndpoints(kubeletEndpoint: DaemonEndpoint(port: configuration.kubeletServer.port)),
            nodeInfo: NodeSystemInfo(
                machineID: "", systemUUID: "", bootID: "", kernelVersion: "", osImage: "",
                containerRuntimeVersion: "nomad://\(nomadVersion ?? "unknown")", kubeletVersion: AgentVersion.kubeletVersion, kubeProxyVersion: "",
                operatingSystem: configuration.node.operatingSystem, architecture: configuration.node.architecture))
        let body = JSONValue.object(["status": try JSONValue(encoding: status)])
        _ = try await kubernetes.patchStatus(Node.self, name: nodeName, patch: .strategicMerge(body))
        state.withLock {
            $0.lastReported = health
            $0.lastStatusUpdate = .now
        }
    }
}
