import Foundation
import KubernetesModels
import TestSupport
import Testing

/// The workload controllers: Deployments, ReplicaSets, StatefulSets, scaling and garbage collection,
/// with the test playing the node's kubelet (Ready status, grace-0 deletes).
@Suite("Kubernetes simulator: workload controllers")
struct KubernetesWorkloadTests {
    private static func deploymentYAML(replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: \(replicas)
          selector:
            matchLabels:
              app: web
          template:
            metadata:
              labels:
                app: web
            spec:
              nodeSelector:
                type: virtual-kubelet
              tolerations:
              - key: virtual-kubelet.io/provider
                operator: Equal
                value: nomad
                effect: NoSchedule
              containers:
              - name: web
                image: host:///usr/bin/python3
        """
    }

    @Test(
        "kubectl apply a Deployment: pods bound to the tainted virtual node; rollout status; scale up and down leaves exactly that many",
        .enabled(if: Kubectl.path != nil, Kubectl.missingReason))
    func deploymentScale() async throws {
        try await withSimulator { _, admin in
            let kubectl = try Kubectl(admin.simulator)
            defer { kubectl.cleanUp() }
            #expect(try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", labels: ["type": "virtual-kubelet"], taints: [virtualKubeletTaint])).status == 201)
            #expect(try await admin.post("/api/v1/nodes", nodeManifest("plain")).status == 201)

            let applied = try await kubectl.run("apply", "-f", try kubectl.manifest("web.yaml", Self.deploymentYAML(replicas: 3)))
            #expect(applied.status == 0, "\(applied.stderr)")
            let pods = try await waitUntil("3 web pods bound to a node") { () -> [JSONValue]? in
                let pods = try await admin.pods(selector: "app=web")
                return pods.count == 3 && pods.allSatisfy({ $0["spec"]?["nodeName"]?.stringValue != nil }) ? pods : nil
            }
            let set = try #require(try await admin.get("/apis/apps/v1/namespaces/default/replicasets").json["items"]?.arrayValue?.first)
            let hash = try #require(set["metadata"]?["labels"]?["pod-template-hash"]?.stringValue)
            #expect(set.objectName == "web-\(hash)")
            for pod in pods {
                #expect(pod["spec"]?["nodeName"] == "vk-nomad")
                #expect(pod.objectName.hasPrefix("web-\(hash)-") && pod.objectName.count == "web-\(hash)-".count + 5)
                #expect(pod["metadata"]?["labels"]?["pod-template-hash"]?.stringValue == hash)
                #expect(pod["metadata"]?["ownerReferences"]?.arrayValue?.first?["uid"] == set["metadata"]?["uid"])
                #expect(pod["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "PodScheduled" && $0["status"] == "True" } == true)
            }

            try await admin.actAsKubelet()
            let rollout = try await kubectl.run("rollout", "status", "deployment/web", "--timeout=30s")
            #expect(rollout.status == 0, "\(rollout.stdout) \(rollout.stderr)")
            #expect(rollout.stdout.contains("successfully rolled out"))
            let deployment = try await admin.get("/apis/apps/v1/namespaces/default/deployments/web").json
            #expect(deployment["status"]?["availableReplicas"] == 3)
            #expect(deployment["status"]?["observedGeneration"] == deployment["metadata"]?["generation"])

            #expect(try await kubectl.run("scale", "deployment/web", "--replicas=5").status == 0)
            try await waitUntil("5 running web pods") { () -> Bool? in
                try await admin.actAsKubelet()
                let pods = try await admin.pods(selector: "app=web")
                return pods.count == 5 && pods.allSatisfy { $0["status"]?["phase"] == "Running" } ? true : nil
            }

            #expect(try await kubectl.run("scale", "deployment/web", "--replicas=2").status == 0)
            let terminating = try await waitUntil("3 web pods marked for deletion") { () -> Int? in
                let count = try await admin.pods(selector: "app=web").filter(\.terminating).count
                return count == 3 ? count : nil
            }
            #expect(terminating == 3)
            try await waitUntil("exactly 2 web pods after the kubelet's final deletes") { () -> Bool? in
                try await admin.actAsKubelet()
                return try await admin.pods(selector: "app=web").count == 2 ? true : nil
            }
            try await waitUntil("the ReplicaSet reporting 2 replicas") { () -> Bool? in
                try await admin.get("/apis/apps/v1/namespaces/default/replicasets/web-\(hash)").json["status"]?["replicas"] == 2 ? true : nil
            }
        }
    }

    @Test(
        "kubectl apply with a new image rolls the Deployment over to a second ReplicaSet; rollout status completes",
        .enabled(if: Kubectl.path != nil, Kubectl.missingReason))
    func rollingUpdate() async throws {
        try await withSimulator { _, admin in
            let kubectl = try Kubectl(admin.simulator)
            defer { kubectl.cleanUp() }
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", labels: ["type": "virtual-kubelet"], taints: [virtualKubeletTaint]))
            let first = Self.deploymentYAML(replicas: 2)
            #expect(try await kubectl.run("apply", "-f", try kubectl.manifest("web.yaml", first)).status == 0)
            try await waitUntil("2 running web pods") { () -> Bool? in
                try await admin.actAsKubelet()
                let pods = try await admin.pods(selector: "app=web")
                return pods.count == 2 && pods.allSatisfy { $0["status"]?["phase"] == "Running" } ? true : nil
            }
            let oldHash = try await admin.pods(selector: "app=web").first?["metadata"]?["labels"]?["pod-template-hash"]?.stringValue

            let second = first.replacingOccurrences(of: "host:///usr/bin/python3", with: "host:///usr/bin/python3.12")
            #expect(try await kubectl.run("apply", "-f", try kubectl.manifest("web.yaml", second)).status == 0)
            try await waitUntil("only new-template web pods, running") { () -> Bool? in
                try await admin.actAsKubelet()
                let pods = try await admin.pods(selector: "app=web")
                let hashes = Set(pods.map { $0["metadata"]?["labels"]?["pod-template-hash"]?.stringValue })
                return pods.count == 2 && !hashes.contains(oldHash) && pods.allSatisfy { $0["status"]?["phase"] == "Running" } ? true : nil
            }
            let rollout = try await kubectl.run("rollout", "status", "deployment/web", "--timeout=30s")
            #expect(rollout.status == 0, "\(rollout.stdout) \(rollout.stderr)")
            #expect(rollout.stdout.contains("successfully rolled out"))
            let sets = try await admin.get("/apis/apps/v1/namespaces/default/replicasets").json["items"]?.arrayValue ?? []
            #expect(sets.count == 2)
            #expect(sets.map { $0["spec"]?["replicas"]?.intValue ?? -1 }.sorted() == [0, 2])
            let deployment = try await admin.get("/apis/apps/v1/namespaces/default/deployments/web").json
            #expect(deployment["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] == "2")
            let progressing = deployment["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Progressing" }
            #expect(progressing?["reason"] == "NewReplicaSetAvailable")
        }
    }

    @Test(
        "kubectl delete deployment removes its ReplicaSets and (after the kubelet) its pods",
        .enabled(if: Kubectl.path != nil, Kubectl.missingReason))
    func deleteDeployment() async throws {
        try await withSimulator { _, admin in
            let kubectl = try Kubectl(admin.simulator)
            defer { kubectl.cleanUp() }
            _ = try await admin.post("/api/v1/nodes", nodeManifest("vk-nomad", labels: ["type": "virtual-kubelet"], taints: [virtualKubeletTaint]))
            #expect(try await kubectl.run("apply", "-f", try kubectl.manifest("web.yaml", Self.deploymentYAML(replicas: 2))).status == 0)
            try await waitUntil("2 web pods") { try await admin.pods(selector: "app=web").count == 2 ? true : nil }

            let deleted = try await kubectl.run("delete", "deployment", "web")
            #expect(deleted.status == 0, "\(deleted.stderr)")
            try await waitUntil("the ReplicaSet garbage-collected") { () -> Bool? in
                try await admin.get("/apis/apps/v1/namespaces/default/replicasets").json["items"]?.arrayValue?.isEmpty == true ? true : nil
            }
            try await waitUntil("the bound pods marked for deletion") { () -> Bool? in
                try await admin.pods(selector: "app=web").allSatisfy(\.terminating) ? true : nil
            }
            try await waitUntil("no web pods after the kubelet's final deletes") { () -> Bool? in
                try await admin.actAsKubelet()
                return try await admin.pods(selector: "app=web").isEmpty ? true : nil
            }
        }
    }

    @Test("propagationPolicy Orphan keeps the pods without owner; Foreground deletes them before the owner")
    func propagationPolicies() async throws {
        try await withSimulator { _, admin in
            let path = "/apis/apps/v1/namespaces/default/replicasets"
            func replicaSet(_ name: String) -> JSONValue {
                [
                    "metadata": ["name": .string(name)],
                    "spec": [
                        "replicas": 2, "selector": ["matchLabels": ["set": .string(name)]],
                        "template": ["metadata": ["labels": ["set": .string(name)]], "spec": ["containers": [["name": "c", "image": "x"]]]],
                    ],
                ]
            }
            _ = try await admin.post(path, replicaSet("kept"))
            try await waitUntil("2 pods of the kept set") { try await admin.pods(selector: "set=kept").count == 2 ? true : nil }
            #expect(try await admin.delete("\(path)/kept?propagationPolicy=Orphan").status == 200)
            try await waitUntil("the kept set gone and its pods orphaned") { () -> Bool? in
                let pods = try await admin.pods(selector: "set=kept")
                let orphaned = pods.count == 2 && pods.allSatisfy { $0["metadata"]?["ownerReferences"] == nil }
                return try await admin.get("\(path)/kept").status == 404 && orphaned ? true : nil
            }

            _ = try await admin.post(path, replicaSet("gone"))
            try await waitUntil("2 pods of the gone set") { try await admin.pods(selector: "set=gone").count == 2 ? true : nil }
            #expect(try await admin.delete("\(path)/gone", ["propagationPolicy": "Foreground"]).status == 200)
            try await waitUntil("the gone set and its pods deleted") { () -> Bool? in
                let setGone = try await admin.get("\(path)/gone").status == 404
                let podsGone = try await admin.pods(selector: "set=gone").isEmpty
                return setGone && podsGone ? true : nil
            }
            #expect(try await admin.pods(selector: "set=kept").count == 2)
        }
    }

    @Test("a StatefulSet: ordinal pods in order, each after its PVC; scale down from the top keeps the PVCs; a deleted pod comes back")
    func statefulSet() async throws {
        try await withSimulator { _, admin in
            _ = try await admin.post("/api/v1/nodes", nodeManifest("node-a"))
            _ = try await admin.post("/apis/storage.k8s.io/v1/storageclasses", [
                "metadata": ["name": "local"], "provisioner": "example.test/local", "volumeBindingMode": "WaitForFirstConsumer",
            ])
            let set: JSONValue = [
                "metadata": ["name": "db"],
                "spec": [
                    "replicas": 3, "serviceName": "db", "selector": ["matchLabels": ["app": "db"]],
                    "template": ["metadata": ["labels": ["app": "db"]], "spec": ["containers": [["name": "pg", "image": "host:///usr/bin/postgres"]]]],
                    "volumeClaimTemplates": [[
                        "metadata": ["name": "data"],
                        "spec": ["accessModes": ["ReadWriteOnce"], "storageClassName": "local", "resources": ["requests": ["storage": "1Gi"]]],
                    ]],
                ],
            ]
            #expect(try await admin.post("/apis/apps/v1/namespaces/default/statefulsets", set).status == 201)
            let first = try await waitUntil("pod db-0 scheduled") { () -> JSONValue? in
                try await admin.actAsProvisioner("example.test/local")
                let pod = try await admin.get("/api/v1/namespaces/default/pods/db-0").json
                return pod["spec"]?["nodeName"] == "node-a" ? pod : nil
            }
            #expect(first["spec"]?["volumes"]?.arrayValue?.first?["persistentVolumeClaim"]?["claimName"] == "data-db-0")
            #expect(first["spec"]?["hostname"] == "db-0" && first["spec"]?["subdomain"] == "db")
            let claim = try await admin.get("/api/v1/namespaces/default/persistentvolumeclaims/data-db-0").json
            #expect(claim["metadata"]?["annotations"]?["volume.kubernetes.io/selected-node"] == "node-a")
            // OrderedReady: db-1 waits until db-0 is Running and Ready.
            #expect(try await admin.get("/api/v1/namespaces/default/pods/db-1").status == 404)

            try await waitUntil("db-0, db-1, db-2 running") { () -> Bool? in
                try await admin.actAsProvisioner("example.test/local")
                try await admin.actAsKubelet()
                let names = try await admin.pods(selector: "app=db").filter { $0["status"]?["phase"] == "Running" }.map(\.objectName)
                return names == ["db-0", "db-1", "db-2"] ? true : nil
            }
            try await waitUntil("status.readyReplicas 3") { () -> Bool? in
                let status = try await admin.get("/apis/apps/v1/namespaces/default/statefulsets/db").json["status"]
                return status?["readyReplicas"] == 3 && status?["currentReplicas"] == 3 && status?["updatedReplicas"] == 3 ? true : nil
            }

            let scaled = try await admin.patch(
                "/apis/apps/v1/namespaces/default/statefulsets/db/scale", ["spec": ["replicas": 1]], type: "application/merge-patch+json")
            #expect(scaled.status == 200)
            #expect(scaled.json["kind"] == "Scale" && scaled.json["spec"]?["replicas"] == 1)
            let highestFirst = try await waitUntil("db-2 marked for deletion") { () -> [String]? in
                let terminating = try await admin.pods(selector: "app=db").filter(\.terminating).map(\.objectName)
                return terminating.isEmpty ? nil : terminating
            }
            #expect(highestFirst == ["db-2"])
            try await waitUntil("only db-0 left") { () -> Bool? in
                try await admin.actAsKubelet()
                return try await admin.pods(selector: "app=db").map(\.objectName) == ["db-0"] ? true : nil
            }
            let claims = try await admin.get("/api/v1/namespaces/default/persistentvolumeclaims").json["items"]?.arrayValue?.map(\.objectName)
            #expect(claims == ["data-db-0", "data-db-1", "data-db-2"])

            let oldUID = try await admin.get("/api/v1/namespaces/default/pods/db-0").json["metadata"]?["uid"]
            _ = try await admin.delete("/api/v1/namespaces/default/pods/db-0")
            try await waitUntil("db-0 recreated with a new uid") { () -> Bool? in
                try await admin.actAsKubelet()
                let pod = try await admin.get("/api/v1/namespaces/default/pods/db-0")
                return pod.status == 200 && pod.json["metadata"]?["uid"] != oldUID ? true : nil
            }
        }
    }
}
