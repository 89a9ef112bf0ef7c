import Foundation
import KubernetesModels

/// The scheduler, minimally: each pending pod (no `spec.nodeName`, default scheduler) is bound to a
/// Ready, schedulable node that matches its `nodeSelector` and required node affinity and whose
/// NoSchedule/NoExecute taints it tolerates, the node with the fewest pods first. Pods whose
/// PersistentVolumeClaims are missing, or unbound with an Immediate storage class, wait; bound claims
/// rule out nodes their volume's `nodeAffinity` does not admit. Unbound claims of a
/// WaitForFirstConsumer class get a fitting static volume (its `claimRef`) or, when the class has a
/// provisioner, `volume.kubernetes.io/selected-node`; the pod is bound only once every claim is
/// Bound (the VolumeBinding plugin's PreBind). A pod that fits nowhere gets
/// `PodScheduled=False` (`Unschedulable`) with the real scheduler's summary message.
struct Scheduler: SimulatedController {
    static let selectedNodeAnnotation = "volume.kubernetes.io/selected-node"

    func reconcile(_ cluster: Cluster) async {
        let pods = await cluster.all(cluster.pods)
        let pending = pods.filter { pod in
            (pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty && !pod.isTerminating
                && ["default-scheduler", nil].contains(pod["spec"]?["schedulerName"]?.stringValue)
        }
        guard !pending.isEmpty else { return }
        let nodes = await cluster.all(cluster.nodes)
        var load = Dictionary(grouping: pods.compactMap { $0["spec"]?["nodeName"]?.stringValue }, by: { $0 }).mapValues(\.count)
        let claims = await cluster.all(cluster.claims)
        var classes: [JSONValue] = []
        if let storageClasses = cluster.storageClasses { classes = await cluster.all(storageClasses) }
        var volumes: [JSONValue] = []
        if let volumeType = cluster.volumes { volumes = await cluster.all(volumeType) }
        for pod in pending {
            let podClaims: [PodClaim]
            switch Self.claims(of: pod, claims: claims, classes: classes) {
            case .failure(let message):
                await markUnschedulable(pod, message: "0/\(nodes.count) nodes are available: \(message). preemption: 0/\(nodes.count) nodes are available: \(nodes.count) Preemption is not helpful for scheduling.", cluster)
                continue
            case .success(let found): podClaims = found
            }
            var reasons: [String: Int] = [:]
            let fitting = nodes.filter { node in
                guard let reason = Self.misfit(pod, on: node) ?? Self.volumeMisfit(podClaims, on: node, volumes: volumes) else { return true }
                reasons[reason, default: 0] += 1
                return false
            }
            guard let node = fitting.min(by: { (load[$0.name] ?? 0, $0.name) < (load[$1.name] ?? 0, $1.name) }) else {
                await markUnschedulable(pod, message: Self.summary(nodes: nodes.count, reasons: reasons), cluster)
                continue
            }
            // PreBind: claims still unbound get a volume (a fitting static one) or a node to provision on;
            // the pod is bound only once the PV controller has bound every claim.
            let unbound = podClaims.filter { !$0.bound }
            for volume in unbound where !volume.hasSelectedNode && !volume.hasVolume(in: volumes) {
                if let staticVolume = PersistentVolumeController.smallestFitting(volume.claim, in: volumes, node: node), let volumeType = cluster.volumes {
                    do {
                        try await cluster.store.mutate(volumeType, namespace: nil, name: staticVolume.name) { object in
                            object["spec"]?["claimRef"] = [
                                "kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": .string(volume.claim.namespace ?? ""),
                                "name": .string(volume.claim.name), "uid": .string(volume.claim.uid),
                            ]
                        }
                        volumes = await cluster.all(volumeType)
                    } catch { cluster.note(error, "bind static volume", staticVolume.name) }
                    continue
                }
                do {
                    try await cluster.store.mutate(cluster.claims, namespace: volume.claim.namespace, name: volume.claim.name) { claim in
                        if claim["metadata"]?["annotations"] == nil { claim["metadata"]?["annotations"] = [:] }
                        claim["metadata"]?["annotations"]?[Self.selectedNodeAnnotation] = .string(node.name)
                    }
                } catch { cluster.note(error, "select node for claim", volume.claim.name) }
            }
            guard unbound.isEmpty else { continue }
            do {
                try await cluster.store.bind(pod: pod.name, namespace: pod.namespace, to: node.name)
                load[node.name, default: 0] += 1
            } catch { cluster.note(error, "bind", pod.name) }
        }
    }

    /// A claim of a pod being scheduled.
    private struct PodClaim {
        var claim: JSONValue
        var bound: Bool
        var provisionable: Bool

        var hasSelectedNode: Bool { claim["metadata"]?["annotations"]?[Scheduler.selectedNodeAnnotation] != nil }
        var selectedNode: String? { claim["metadata"]?["annotations"]?[Scheduler.selectedNodeAnnotation]?.stringValue }

        /// A volume already promised to the claim (its claimRef names it).
        func hasVolume(in volumes: [JSONValue]) -> Bool {
            volumes.contains { $0["spec"]?["claimRef"]?["uid"]?.stringValue == claim.uid && $0["status"]?["phase"]?.stringValue != "Released" }
        }
    }

    /// Why the pod's claims rule a node out (the VolumeBinding plugin's reasons), or `nil`.
    private static func volumeMisfit(_ claims: [PodClaim], on node: JSONValue, volumes: [JSONValue]) -> String? {
        for podClaim in claims {
            if podClaim.bound {
                let name = podClaim.claim["spec"]?["volumeName"]?.stringValue ?? ""
                if let volume = volumes.first(where: { $0.name == name }), !volumeFits(volume, on: node) {
                    return "node(s) had volume node affinity conflict"
                }
            } else if let promised = volumes.first(where: { $0["spec"]?["claimRef"]?["uid"]?.stringValue == podClaim.claim.uid }) {
                if !volumeFits(promised, on: node) { return "node(s) had volume node affinity conflict" }
            } else if let selected = podClaim.selectedNode {
                // kube-scheduler's checkVolumeProvisions: a claim being provisioned for another node
                // leaves this one's unbound volumes unsatisfied (ErrReasonBindConflict).
                if selected != node.name { return "node(s) didn't find available persistent volumes to bind" }
            } else if !podClaim.provisionable && PersistentVolumeController.smallestFitting(podClaim.claim, in: volumes, node: node) == nil {
                return "node(s) didn't find available persistent volumes to bind"
            }
        }
        return nil
    }

    /// A volume's `nodeAffinity` (if any) admits the node.
    static func volumeFits(_ volume: JSONValue, on node: JSONValue) -> Bool {
        guard let terms = volume["spec"]?["nodeAffinity"]?["required"]?["nodeSelectorTerms"]?.arrayValue else { return true }
        return terms.contains { matches($0, labels: node.labels, nodeName: node.name) }
    }

    /// The claims of a pod's volumes, or why the pod cannot be scheduled yet.
    private static func claims(of pod: JSONValue, claims: [JSONValue], classes: [JSONValue]) -> Result<[PodClaim], Misfit> {
        var found: [PodClaim] = []
        for volume in pod["spec"]?["volumes"]?.arrayValue ?? [] {
            guard let claimName = volume["persistentVolumeClaim"]?["claimName"]?.stringValue else { continue }
            guard let claim = claims.first(where: { $0.name == claimName && $0.namespace == pod.namespace }) else {
                return .failure(Misfit("persistentvolumeclaim \"\(claimName)\" not found"))
            }
            if claim["status"]?["phase"]?.stringValue == "Bound" {
                found.append(PodClaim(claim: claim, bound: true, provisionable: false))
                continue
            }
            let className = PersistentVolumeController.className(of: claim, classes: classes)
            let storageClass = classes.first { $0.name == className }
            guard storageClass?["volumeBindingMode"]?.stringValue == "WaitForFirstConsumer" else {
                return .failure(Misfit("pod has unbound immediate PersistentVolumeClaims"))
            }
            let provisioner = storageClass?["provisioner"]?.stringValue ?? ""
            found.append(PodClaim(claim: claim, bound: false, provisionable: !provisioner.isEmpty && provisioner != "kubernetes.io/no-provisioner"))
        }
        return .success(found)
    }

    struct Misfit: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Why a pod does not fit a node (the scheduler's per-node reason), or `nil` when it fits.
    static func misfit(_ pod: JSONValue, on node: JSONValue) -> String? {
        if node["spec"]?["unschedulable"] == .bool(true) { return "node(s) were unschedulable" }
        var taints = (node["spec"]?["taints"]?.arrayValue ?? []).filter { ["NoSchedule", "NoExecute"].contains($0["effect"]?.stringValue) }
        let ready = (node["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
        if !ready, !taints.contains(where: { $0["key"] == "node.kubernetes.io/not-ready" }) {
            // What the node lifecycle controller puts on a node that is not Ready.
            taints.append(["key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"])
        }
        let tolerations = pod["spec"]?["tolerations"]?.arrayValue ?? []
        if let taint = taints.first(where: { taint in !tolerations.contains { tolerates($0, taint) } }) {
            return "node(s) had untolerated taint {\(taint["key"]?.stringValue ?? ""): \(taint["value"]?.stringValue ?? "")}"
        }
        let labels = node.labels
        let selector = (pod["spec"]?["nodeSelector"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        let terms = pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?.arrayValue
        let affinityMatches = terms.map { terms in terms.contains { term in matches(term, labels: labels, nodeName: node.name) } } ?? true
        if !selector.allSatisfy({ labels[$0.key] == $0.value }) || !affinityMatches {
            return "node(s) didn't match Pod's node affinity/selector"
        }
        return nil
    }

    /// A toleration covers a taint: same key (or an empty key with Exists), operator, value and effect.
    static func tolerates(_ toleration: JSONValue, _ taint: JSONValue) -> Bool {
        if let effect = toleration["effect"]?.stringValue, !effect.isEmpty, effect != taint["effect"]?.stringValue { return false }
        let key = toleration["key"]?.stringValue ?? ""
        let exists = toleration["operator"]?.stringValue == "Exists"
        if key.isEmpty { return exists }
        guard key == taint["key"]?.stringValue else { return false }
        return exists || (toleration["value"]?.stringValue ?? "") == (taint["value"]?.stringValue ?? "")
    }

    /// A node selector term: all its matchExpressions (labels) and matchFields (`metadata.name`) hold.
    private static func matches(_ term: JSONValue, labels: [String: String], nodeName: String) -> Bool {
        func holds(_ requirement: JSONValue, _ value: String?) -> Bool {
            let values = (requirement["values"]?.arrayValue ?? []).compactMap(\.stringValue)
            switch requirement["operator"]?.stringValue {
            case "In": return value.map(values.contains) ?? false
            case "NotIn": return !(value.map(values.contains) ?? false)
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            case "Gt": return value.flatMap(Int.init).flatMap { v in values.first.flatMap(Int.init).map { v > $0 } } ?? false
            case "Lt": return value.flatMap(Int.init).flatMap { v in values.first.flatMap(Int.init).map { v < $0 } } ?? false
            default: return false
            }
        }
        let expressions = term["matchExpressions"]?.arrayValue ?? []
        let fields = term["matchFields"]?.arrayValue ?? []
        guard !expressions.isEmpty || !fields.isEmpty else { return false }
        return expressions.allSatisfy { holds($0, labels[$0["key"]?.stringValue ?? ""]) }
            && fields.allSatisfy { holds($0, $0["key"] == "metadata.name" ? nodeName : nil) }
    }

    /// `0/2 nodes are available: 1 node(s) had untolerated taint {k: v}, 1 node(s) were unschedulable. preemption: …`
    static func summary(nodes: Int, reasons: [String: Int]) -> String {
        guard nodes > 0 else { return "no nodes available to schedule pods" }
        let parts = reasons.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", ")
        return "0/\(nodes) nodes are available: \(parts). preemption: 0/\(nodes) nodes are available: \(nodes) Preemption is not helpful for scheduling."
    }

    private func markUnschedulable(_ pod: JSONValue, message: String, _ cluster: Cluster) async {
        let conditions = pod["status"]?["conditions"]?.arrayValue ?? []
        if let current = conditions.first(where: { $0["type"] == "PodScheduled" }), current["status"] == "False", current["message"]?.stringValue == message {
            return
        }
        var condition = JSONValue.setting(condition: "PodScheduled", status: "False", reason: "Unschedulable", message: message, in: conditions)
        if let index = condition.firstIndex(where: { $0["type"] == "PodScheduled" }) { condition[index]["lastProbeTime"] = .null }
        do {
            try await cluster.store.mutate(cluster.pods, namespace: pod.namespace, name: pod.name) { object in
                if object["status"] == nil { object["status"] = ["phase": "Pending"] }
                object["status"]?["conditions"] = .array(condition)
            }
        } catch { cluster.note(error, "mark unschedulable", pod.name) }
    }
}

extension KubernetesStore {
    /// What `POST pods/NAME/binding` does: sets `spec.nodeName` of an unbound pod and its
    /// `PodScheduled=True` condition; 409 when the pod is already bound.
    @discardableResult
    public func bind(pod name: String, namespace: String?, to node: String) throws -> JSONValue {
        guard let podType = resourceType(group: "", version: "v1", resource: "pods") else {
            throw KubernetesAPIStatus.internalError("the simulator serves no pods")
        }
        let pod = try get(podType, namespace: namespace, name: name)
        if let current = pod["spec"]?["nodeName"]?.stringValue, !current.isEmpty {
            throw KubernetesAPIStatus(
                code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on pods/binding \"\(name)\": pod \(name) is already assigned to node \"\(current)\"",
                details: ["name": .string(name), "kind": "pods/binding"])
        }
        return try mutate(podType, namespace: namespace, name: name) { pod in
            pod["spec"]?["nodeName"] = .string(node)
            var conditions = pod["status"]?["conditions"]?.arrayValue ?? []
            conditions.removeAll { $0["type"] == "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": nil, "lastTransitionTime": .string(KubernetesStore.timestamp())])
            if pod["status"] == nil { pod["status"] = ["phase": "Pending"] }
            pod["status"]?["conditions"] = .array(conditions)
        }
    }
}
