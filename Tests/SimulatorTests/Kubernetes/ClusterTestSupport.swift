import Foundation
import KubernetesModels
import TestSupport
import Testing

/// A poll that ran out of time; names what it waited for.
struct WaitTimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `check` every 20 ms until it returns a value, or fails naming `what` after `timeout`.
@discardableResult
func waitUntil<T>(_ what: String, timeout: Duration = .seconds(20), _ check: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await check() { return value }
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A Ready node as a kubelet registers it, with labels, taints and its kubelet endpoint.
func nodeManifest(
    _ name: String, labels: [String: String] = [:], taints: [JSONValue] = [], ready: Bool = true, address: String = "127.0.0.1",
    kubeletPort: Int = 10250
) -> JSONValue {
    var allLabels = labels
    allLabels["kubernetes.io/hostname"] = name
    return [
        "apiVersion": "v1", "kind": "Node",
        "metadata": ["name": .string(name), "labels": .object(allLabels.mapValues(JSONValue.string))],
        "spec": ["taints": .array(taints)],
        "status": [
            "conditions": [["type": "Ready", "status": ready ? "True" : "False", "reason": "KubeletReady", "message": "kubelet is posting ready status"]],
            "addresses": [["type": "InternalIP", "address": .string(address)], ["type": "Hostname", "address": .string(name)]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": .number(Double(kubeletPort))]],
        ],
    ]
}

/// The taint virtual-kubelet nodes carry.
let virtualKubeletTaint: JSONValue = ["key": "virtual-kubelet.io/provider", "value": "nomad", "effect": "NoSchedule"]

extension SimulatorHTTP {
    /// The pods of a namespace (optionally selected by labels), sorted by name.
    func pods(in namespace: String = "default", selector: String? = nil) async throws -> [JSONValue] {
        let query = selector.map { "?labelSelector=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        let items = try await get("/api/v1/namespaces/\(namespace)/pods\(query)").json["items"]?.arrayValue ?? []
        return items.sorted { ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "") }
    }

    /// One pass of what a node's kubelet does: bound pods become Running and Ready, and terminating
    /// pods are deleted for good (grace 0, with a uid precondition, as recorded).
    func actAsKubelet(in namespace: String = "default") async throws {
        for pod in try await pods(in: namespace) where !(pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty {
            let name = pod["metadata"]?["name"]?.stringValue ?? ""
            let path = "/api/v1/namespaces/\(namespace)/pods/\(name)"
            if pod["metadata"]?["deletionTimestamp"] != nil {
                try await delete(path, ["gracePeriodSeconds": 0, "preconditions": ["uid": pod["metadata"]?["uid"] ?? ""]])
            } else if pod["status"]?["phase"] != "Running" {
                try await patch("\(path)/status", [
                    "status": [
                        "phase": "Running",
                        "conditions": [["type": "Ready", "status": "True"], ["type": "ContainersReady", "status": "True"]],
                    ]
                ])
            }
        }
    }

    /// One pass of what an external provisioner does: each claim the PV controller handed to
    /// `provisioner` (`volume.kubernetes.io/storage-provisioner`) that has no volume yet gets a PV
    /// `pvc-<uid>` bound to it by `claimRef`, with node affinity to the selected node.
    func actAsProvisioner(_ provisioner: String, in namespace: String = "default") async throws {
        let volumes = try await get("/api/v1/persistentvolumes").json["items"]?.arrayValue ?? []
        for claim in try await get("/api/v1/namespaces/\(namespace)/persistentvolumeclaims").json["items"]?.arrayValue ?? [] {
            let annotations = claim["metadata"]?["annotations"]
            guard annotations?["volume.kubernetes.io/storage-provisioner"]?.stringValue == provisioner, claim["status"]?["phase"] != "Bound",
                let uid = claim["metadata"]?["uid"]?.stringValue, !volumes.contains(where: { $0.objectName == "pvc-\(uid)" })
            else { continue }
            let node = annotations?["volume.kubernetes.io/selected-node"]?.stringValue ?? ""
            _ = try await post("/api/v1/persistentvolumes", [
                "metadata": ["name": .string("pvc-\(uid)"), "annotations": ["pv.kubernetes.io/provisioned-by": .string(provisioner)]],
                "spec": [
                    "capacity": claim["spec"]?["resources"]?["requests"] ?? [:], "accessModes": claim["spec"]?["accessModes"] ?? [],
                    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": claim["spec"]?["storageClassName"] ?? "",
                    "hostPath": ["path": .string("/tmp/pvc-\(uid)")],
                    "claimRef": ["namespace": .string(namespace), "name": claim["metadata"]?["name"] ?? "", "uid": .string(uid)],
                    "nodeAffinity": ["required": ["nodeSelectorTerms": [["matchExpressions": [["key": "kubernetes.io/hostname", "operator": "In", "values": [.string(node)]]]]]]],
                ],
            ])
        }
    }
}

extension JSONValue {
    /// `metadata.name`, for assertions.
    var objectName: String { self["metadata"]?["name"]?.stringValue ?? "" }
    /// `true` when `metadata.deletionTimestamp` is set.
    var terminating: Bool { self["metadata"]?["deletionTimestamp"] != nil }
}
