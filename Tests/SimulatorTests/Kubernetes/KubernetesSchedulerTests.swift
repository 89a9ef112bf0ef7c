import Foundation
import KubernetesModels
@testable import TestSupport
import Testing

/// The scheduler: node selection by selector, affinity, taints and RuntimeClass, the Unschedulable
/// condition, the binding subresource and PVCs of WaitForFirstConsumer classes.
@Suite("Kubernetes simulator: scheduler")
struct KubernetesSchedulerTests {
    private static let pods = "/api/v1/namespaces/default/pods"

    private func scheduled(_ admin: SimulatorHTTP, _ name: String) async throws -> JSONValue {
        try await waitUntil("pod \(name) bound to a node") { () -> JSONValue? in
            let pod = try await admin.get("\(Self.pods)/\(name)").json
            return pod["spec"]?["nodeName"]?.stringValue != nil ? pod : nil
        }
    }

    private func unschedulable(_ admin: SimulatorHTTP, _ name: String) async throws -> JSONValue {
        try await waitUntil("pod \(name) marked Unschedulable") { () -> JSONValue? in
            let pod = try await admin.get("\(Self.pods)/\(name)").json
            return pod["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "PodScheduled" && $0["reason"] == "Unschedulable" }
        }
    }

    @Test("a pod that does not tolerate the node's taint stays Pending with the scheduler's message; a tolerating pod lands there")
    func untoleratedTaint() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", taints: [virtualKubeletTaint]))
            _ = try await admin.post(Self.pods, podManifest("intolerant"))
            let condition = try await unschedulable(admin, "intolerant")
            #expect(condition["status"] == "False")
            #expect(
                condition["message"]
                    == "0/1 nodes are available: 1 node(s) had untolerated taint {virtual-kubelet.io/provider: nomad}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
            )
            let pod = try await admin.get("\(Self.pods)/intolerant").json
            #expect(pod["spec"]?["nodeName"] == nil)
            #expect(pod["status"]?["phase"] == "Pending")

            var tolerant = podManifest("tolerant")
            tolerant["spec"]?["tolerations"] = [["key": "virtual-kubelet.io/provider", "operator": "Exists"]]
            _ = try await admin.post(Self.pods, tolerant)
            #expect(try await scheduled(admin, "tolerant")["spec"]?["nodeName"] == "vk-nomad")
            #expect(try await admin.get("\(Self.pods)/intolerant").json["spec"]?["nodeName"] == nil)
        }
    }

    @Test("RuntimeClass scheduling: its nodeSelector and tolerations are merged into the pod at create; a missing class is refused")
    func runtimeClass() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("plain"))
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", labels: ["type": "virtual-kubelet"], taints: [virtualKubeletTaint]))
            let created = try await admin.post("/apis/node.k8s.io/v1/runtimeclasses", [
                "metadata": ["name": "nomad"], "handler": "nomad",
                "scheduling": [
                    "nodeSelector": ["type": "virtual-kubelet"],
                    "tolerations": [["key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "nomad", "effect": "NoSchedule"]],
                ],
            ])
            #expect(created.status == 201)
            var pod = podManifest("runs-on-nomad")
            pod["spec"]?["runtimeClassName"] = "nomad"
            let answer = try await admin.post(Self.pods, pod)
            #expect(answer.status == 201)
            #expect(answer.json["spec"]?["nodeSelector"]?["type"] == "virtual-kubelet")
            #expect(answer.json["spec"]?["tolerations"]?.arrayValue?.contains { $0["key"] == "virtual-kubelet.io/provider" && $0["value"] == "nomad" } == true)
            #expect(try await scheduled(admin, "runs-on-nomad")["spec"]?["nodeName"] == "vk-nomad")

            var missing = podManifest("no-class")
            missing["spec"]?["runtimeClassName"] = "absent"
            let refused = try await admin.post(Self.pods, missing)
            #expect(refused.status == 403)
            #expect(refused.json["message"] == "pods \"no-class\" is forbidden: pod rejected: RuntimeClass \"absent\" not found")
        }
    }

    @Test("required node affinity (In, NotIn, Exists) and nodeSelector pick the node; no match is Unschedulable")
    func nodeAffinity() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("zone-a", labels: ["zone": "a"]))
            _ = try await admin.post("/api/v1/nodes", nodeManifest("zone-b", labels: ["zone": "b", "gpu": "yes"]))
            _ = try await admin.post("/api/v1/nodes", nodeManifest("not-ready", labels: ["zone": "b", "gpu": "yes"], ready: false))
            func pod(_ name: String, _ expressions: [JSONValue]) -> JSONValue {
                var pod = podManifest(name)
                pod["spec"]?["affinity"] = [
                    "nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [["matchExpressions": .array(expressions)]]]]
                ]
                return pod
            }
            _ = try await admin.post(Self.pods, pod("in-b", [["key": "zone", "operator": "In", "values": ["b"]]]))
            _ = try await admin.post(Self.pods, pod("not-in-b", [["key": "zone", "operator": "NotIn", "values": ["b"]]]))
            _ = try await admin.post(Self.pods, pod("has-gpu", [["key": "gpu", "operator": "Exists"]]))
            _ = try await admin.post(Self.pods, pod("nowhere", [["key": "zone", "operator": "In", "values": ["c"]]]))
            var selected = podManifest("selected-a")
            selected["spec"]?["nodeSelector"] = ["zone": "a"]
            _ = try await admin.post(Self.pods, selected)

            #expect(try await scheduled(admin, "in-b")["spec"]?["nodeName"] == "zone-b")
            #expect(try await scheduled(admin, "not-in-b")["spec"]?["nodeName"] == "zone-a")
            #expect(try await scheduled(admin, "has-gpu")["spec"]?["nodeName"] == "zone-b")
            #expect(try await scheduled(admin, "selected-a")["spec"]?["nodeName"] == "zone-a")
            let condition = try await unschedulable(admin, "nowhere")
            #expect(
                condition["message"]
                    == "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
            )
        }
    }

    @Test("POST pods/NAME/binding binds a pending pod with PodScheduled=True; binding it again is 409")
    func bindingSubresource() async throws {
        var configuration = KubernetesSimulator.Configuration()
        configuration.controllers = []
        try await withSimulator(configuration) { _, admin in
            _ = try await admin.post(Self.pods, podManifest("manual"))
            let binding: JSONValue = ["apiVersion": "v1", "kind": "Binding", "metadata": ["name": "manual"], "target": ["apiVersion": "v1", "kind": "Node", "name": "vk-nomad"]]
            let bound = try await admin.post("\(Self.pods)/manual/binding", binding)
            #expect(bound.status == 201)
            let pod = try await admin.get("\(Self.pods)/manual").json
            #expect(pod["spec"]?["nodeName"] == "vk-nomad")
            #expect(pod["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "PodScheduled" && $0["status"] == "True" } == true)
            let again = try await admin.post("\(Self.pods)/manual/binding", binding)
            #expect(again.status == 409)
        }
    }

    @Test("a WaitForFirstConsumer claim gets selected-node and the provisioner annotation; the pod is bound once a provisioned PV binds the claim; an Immediate unbound claim keeps it Pending")
    func claims() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("node-a"))
            _ = try await admin.post("/apis/storage.k8s.io/v1/storageclasses", ["metadata": ["name": "late"], "provisioner": "example.test/x", "volumeBindingMode": "WaitForFirstConsumer"])
            _ = try await admin.post("/apis/storage.k8s.io/v1/storageclasses", ["metadata": ["name": "early"], "provisioner": "example.test/absent", "volumeBindingMode": "Immediate"])
            for (claim, storageClass) in [("late-claim", "late"), ("early-claim", "early")] {
                _ = try await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", [
                    "metadata": ["name": .string(claim)],
                    "spec": ["accessModes": ["ReadWriteOnce"], "storageClassName": .string(storageClass), "resources": ["requests": ["storage": "1Gi"]]],
                ])
                var pod = podManifest("uses-\(claim)")
                pod["spec"]?["volumes"] = [["name": "data", "persistentVolumeClaim": ["claimName": .string(claim)]]]
                _ = try await admin.post(Self.pods, pod)
            }
            let handed = try await waitUntil("the PV controller hands late-claim to its provisioner") { () -> JSONValue? in
                let claim = try await admin.get("/api/v1/namespaces/default/persistentvolumeclaims/late-claim").json
                return claim["metadata"]?["annotations"]?["volume.kubernetes.io/storage-provisioner"] == "example.test/x" ? claim : nil
            }
            #expect(handed["metadata"]?["annotations"]?["volume.kubernetes.io/selected-node"] == "node-a")
            // PreBind: no binding of the pod while its claim is unbound.
            #expect(try await admin.get("/api/v1/namespaces/default/pods/uses-late-claim").json["spec"]?["nodeName"] == nil)
            try await admin.actAsProvisioner("example.test/x")
            #expect(try await scheduled(admin, "uses-late-claim")["spec"]?["nodeName"] == "node-a")
            let claim = try await admin.get("/api/v1/namespaces/default/persistentvolumeclaims/late-claim").json
            #expect(claim["status"]?["phase"] == "Bound" && claim["spec"]?["volumeName"] == .string("pvc-\(claim["metadata"]?["uid"]?.stringValue ?? "")"))
            #expect(claim["metadata"]?["annotations"]?["pv.kubernetes.io/bind-completed"] == "yes")
            let condition = try await unschedulable(admin, "uses-early-claim")
            #expect(condition["message"]?.stringValue?.contains("pod has unbound immediate PersistentVolumeClaims") == true)
        }
    }

    @Test("a hand-made PV with node affinity binds a WaitForFirstConsumer claim and pulls the pod to its node; deleting the claim releases the PV")
    func staticVolume() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("node-a"))
            _ = try await admin.post("/api/v1/nodes", nodeManifest("node-b"))
            _ = try await admin.post("/apis/storage.k8s.io/v1/storageclasses", ["metadata": ["name": "manual"], "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"])
            for (name, node, size) in [("small-on-a", "node-a", "1Gi"), ("big-on-b", "node-b", "10Gi")] {
                _ = try await admin.post("/api/v1/persistentvolumes", [
                    "metadata": ["name": .string(name)],
                    "spec": [
                        "capacity": ["storage": .string(size)], "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": "manual", "local": ["path": "/data"],
                        "nodeAffinity": ["required": ["nodeSelectorTerms": [["matchExpressions": [["key": "kubernetes.io/hostname", "operator": "In", "values": [.string(node)]]]]]]],
                    ],
                ])
            }
            _ = try await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", [
                "metadata": ["name": "wants-5g"],
                "spec": ["accessModes": ["ReadWriteOnce"], "storageClassName": "manual", "resources": ["requests": ["storage": "5Gi"]]],
            ])
            var pod = podManifest("uses-static")
            pod["spec"]?["volumes"] = [["name": "data", "persistentVolumeClaim": ["claimName": "wants-5g"]]]
            _ = try await admin.post(Self.pods, pod)
            #expect(try await scheduled(admin, "uses-static")["spec"]?["nodeName"] == "node-b")
            let volume = try await waitUntil("big-on-b Bound") { () -> JSONValue? in
                let volume = try await admin.get("/api/v1/persistentvolumes/big-on-b").json
                return volume["status"]?["phase"] == "Bound" ? volume : nil
            }
            #expect(volume["spec"]?["claimRef"]?["name"] == "wants-5g")
            #expect(try await admin.get("/api/v1/persistentvolumes/small-on-a").json["status"]?["phase"] == "Available")

            _ = try await admin.delete("/api/v1/namespaces/default/pods/uses-static", ["gracePeriodSeconds": 0])
            _ = try await admin.delete("/api/v1/namespaces/default/persistentvolumeclaims/wants-5g")
            try await waitUntil("big-on-b Released, its claimRef kept") { () -> Bool? in
                let volume = try await admin.get("/api/v1/persistentvolumes/big-on-b").json
                return volume["status"]?["phase"] == "Released" && volume["spec"]?["claimRef"]?["name"] == "wants-5g" ? true : nil
            }
        }
    }
}

/// The scheduler's per-node filter as a table: no sockets, one row per rule.
@Suite("Kubernetes simulator: scheduler filter rules")
struct SchedulerFilterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var node: JSONValue
        var podSpec: JSONValue
        var misfit: String?
        var testDescription: String { name }
    }

    static let tainted = nodeManifest("vk", labels: ["type": "virtual-kubelet", "zone": "a"], taints: [virtualKubeletTaint])
    static let exists: JSONValue = ["key": "virtual-kubelet.io/provider", "operator": "Exists"]

    static let cases: [Case] = [
        Case(name: "untolerated NoSchedule taint", node: tainted, podSpec: [:], misfit: "node(s) had untolerated taint {virtual-kubelet.io/provider: nomad}"),
        Case(name: "Exists toleration", node: tainted, podSpec: ["tolerations": [exists]], misfit: nil),
        Case(name: "Equal toleration with the wrong value", node: tainted,
             podSpec: ["tolerations": [["key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "other"]]],
             misfit: "node(s) had untolerated taint {virtual-kubelet.io/provider: nomad}"),
        Case(name: "toleration for another effect", node: tainted,
             podSpec: ["tolerations": [["key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoExecute"]]],
             misfit: "node(s) had untolerated taint {virtual-kubelet.io/provider: nomad}"),
        Case(name: "empty key with Exists tolerates everything", node: tainted, podSpec: ["tolerations": [["operator": "Exists"]]], misfit: nil),
        Case(name: "PreferNoSchedule taint is ignored", node: nodeManifest("n", taints: [["key": "k", "effect": "PreferNoSchedule"]]), podSpec: [:], misfit: nil),
        Case(name: "not Ready", node: nodeManifest("n", ready: false), podSpec: [:], misfit: "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"),
        Case(name: "cordoned", node: { var node = nodeManifest("n"); node["spec"]?["unschedulable"] = true; return node }(), podSpec: [:], misfit: "node(s) were unschedulable"),
        Case(name: "nodeSelector mismatch", node: tainted, podSpec: ["tolerations": [exists], "nodeSelector": ["type": "kubelet"]], misfit: "node(s) didn't match Pod's node affinity/selector"),
        Case(name: "nodeSelector match", node: tainted, podSpec: ["tolerations": [exists], "nodeSelector": ["type": "virtual-kubelet"]], misfit: nil),
        Case(name: "affinity NotIn", node: tainted,
             podSpec: ["tolerations": [exists], "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [["matchExpressions": [["key": "zone", "operator": "NotIn", "values": ["a"]]]]]]]]],
             misfit: "node(s) didn't match Pod's node affinity/selector"),
        Case(name: "affinity terms are ORed", node: tainted,
             podSpec: ["tolerations": [exists], "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchExpressions": [["key": "zone", "operator": "In", "values": ["b"]]]],
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["vk"]]]],
             ]]]]],
             misfit: nil),
    ]

    @Test("a pod fits a node, or the reason the scheduler reports", arguments: cases)
    func filter(_ row: Case) {
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": row.podSpec]
        #expect(Scheduler.misfit(pod, on: row.node) == row.misfit)
    }

    @Test("the summary counts reasons per node, sorted, with the preemption sentence")
    func summary() {
        #expect(
            Scheduler.summary(nodes: 3, reasons: ["node(s) were unschedulable": 1, "node(s) didn't match Pod's node affinity/selector": 2])
                == "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
        #expect(Scheduler.summary(nodes: 0, reasons: [:]) == "no nodes available to schedule pods")
    }
}
