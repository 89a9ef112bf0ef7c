import Foundation
import KubernetesModels
import TestSupport
import Testing

/// The real kubectl against the simulator: what the sandbox and end-to-end tests rely on.
@Suite("Kubernetes simulator: real kubectl", .enabled(if: Kubectl.path != nil, Kubectl.missingReason))
struct KubectlTests {
    private func withKubectl(_ body: (KubernetesSimulator, SimulatorHTTP, Kubectl) async throws -> Void) async throws {
        try await withSimulator { simulator, admin in
            let kubectl = try Kubectl(simulator)
            defer { kubectl.cleanUp() }
            try await body(simulator, admin, kubectl)
        }
    }

    private static let podYAML = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels:
            app: web
        spec:
          containers:
          - name: main
            image: busybox:1.36
            command: ["sleep", "3600"]
        """

    @Test("get, create -f, patch, label, get -o jsonpath, delete a pod")
    func podLifecycle() async throws {
        try await withKubectl { _, admin, kubectl in
            let empty = try await kubectl.run("get", "pods")
            #expect(empty.status == 0, "\(empty.stderr)")
            #expect(empty.stderr.contains("No resources found in default namespace."))

            let file = try kubectl.manifest("pod.yaml", Self.podYAML)
            let created = try await kubectl.run("create", "-f", file)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("pod/web created"))

            let listed = try await kubectl.run("get", "pods", "-o", "wide")
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.contains("NAME"))
            #expect(listed.stdout.contains("web") && listed.stdout.contains("0/1") && listed.stdout.contains("Pending"))

            let patched = try await kubectl.run("patch", "pod", "web", "-p", #"{"metadata":{"annotations":{"note":"patched"}}}"#)
            #expect(patched.status == 0, "\(patched.stderr)")
            #expect(patched.stdout.contains("pod/web patched"))

            let labelled = try await kubectl.run("label", "pod", "web", "tier=front")
            #expect(labelled.status == 0, "\(labelled.stderr)")
            #expect(labelled.stdout.contains("pod/web labeled"))

            let stored = try await admin.get("/api/v1/namespaces/default/pods/web").json
            #expect(stored["metadata"]?["annotations"]?["note"] == "patched")
            #expect(stored["metadata"]?["labels"]?["tier"] == "front")

            let selected = try await kubectl.run("get", "pods", "-l", "tier=front", "-o", "jsonpath={.items[*].metadata.name}")
            #expect(selected.stdout == "web")

            let deleted = try await kubectl.run("delete", "pod", "web")
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(deleted.stdout.contains("pod \"web\" deleted"))
            #expect(try await admin.get("/api/v1/namespaces/default/pods/web").status == 404)
        }
    }

    @Test("apply -f twice (create, then a patch), scale, delete a Deployment")
    func applyTwice() async throws {
        func deployment(replicas: Int, image: String) -> String {
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: kc-web
            spec:
              replicas: \(replicas)
              selector:
                matchLabels:
                  app: kc-web
              template:
                metadata:
                  labels:
                    app: kc-web
                spec:
                  containers:
                  - name: web
                    image: \(image)
            """
        }
        try await withKubectl { _, admin, kubectl in
            let first = try await kubectl.run("apply", "-f", try kubectl.manifest("deploy.yaml", deployment(replicas: 1, image: "nginx:1")))
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("deployment.apps/kc-web created"))

            let second = try await kubectl.run("apply", "-f", try kubectl.manifest("deploy.yaml", deployment(replicas: 2, image: "nginx:2")))
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout.contains("deployment.apps/kc-web configured"))
            let stored = try await admin.get("/apis/apps/v1/namespaces/default/deployments/kc-web").json
            #expect(stored["spec"]?["replicas"] == 2)
            #expect(stored["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["image"] == "nginx:2")
            #expect(stored["metadata"]?["generation"] == 2)

            let unchanged = try await kubectl.run("apply", "-f", try kubectl.manifest("deploy.yaml", deployment(replicas: 2, image: "nginx:2")))
            #expect(unchanged.stdout.contains("deployment.apps/kc-web unchanged"), "\(unchanged.stdout) \(unchanged.stderr)")

            let scaled = try await kubectl.run("scale", "deployment", "kc-web", "--replicas=3")
            #expect(scaled.status == 0, "\(scaled.stderr)")
            #expect(scaled.stdout.contains("deployment.apps/kc-web scaled"))
            #expect(try await admin.get("/apis/apps/v1/namespaces/default/deployments/kc-web").json["spec"]?["replicas"] == 3)

            let listed = try await kubectl.run("get", "deployments")
            #expect(listed.stdout.contains("kc-web"))

            let deleted = try await kubectl.run("delete", "deployment", "kc-web")
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(try await admin.get("/apis/apps/v1/namespaces/default/deployments/kc-web").status == 404)
        }
    }

    @Test("get -w shows an object created while it watches")
    func watch() async throws {
        try await withKubectl { _, admin, kubectl in
            // Once the initial list is printed, only the watch can show the new object.
            let outcome = try await kubectl.runUntilOutput(contains: "watched-config", ["get", "configmaps", "-w"], once: "kube-root-ca.crt") {
                _ = try await admin.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "watched-config"]])
            }
            #expect(outcome.found, "kubectl get -w printed: \(outcome.stdout) \(outcome.stderr)")
        }
    }

    @Test("wait --for=condition=Ready and wait --for=delete")
    func wait() async throws {
        try await withKubectl { _, admin, kubectl in
            let path = "/api/v1/namespaces/default/pods"
            _ = try await admin.post(path, podManifest("ready-pod", node: "vk"))
            async let waited = kubectl.run("wait", "--for=condition=Ready", "pod/ready-pod", "--timeout=30s")
            _ = try await admin.patch("\(path)/ready-pod/status", ["status": ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]]])
            let ready = try await waited
            #expect(ready.status == 0, "\(ready.stderr)")
            #expect(ready.stdout.contains("pod/ready-pod condition met"))

            _ = try await admin.delete("\(path)/ready-pod")  // graceful: the pod stays, Terminating
            async let gone = kubectl.run("wait", "--for=delete", "pod/ready-pod", "--timeout=30s")
            _ = try await admin.delete("\(path)/ready-pod", ["gracePeriodSeconds": 0])
            let deleted = try await gone
            #expect(deleted.status == 0, "\(deleted.stderr)")
        }
    }

    @Test("a CRD applied with kubectl makes its custom resources usable with kubectl")
    func customResources() async throws {
        let crd = """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: examplethings.example.test
            spec:
              group: example.test
              scope: Namespaced
              names: {plural: examplethings, singular: examplething, kind: ExampleThing, shortNames: [et]}
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        properties:
                          source: {type: string, pattern: '^(host|https)://'}
                additionalPrinterColumns:
                - {name: Source, type: string, jsonPath: .spec.source}
            """
        let thing = """
            apiVersion: example.test/v1
            kind: ExampleThing
            metadata:
              name: pg
            spec:
              source: host:///usr/bin/postgres
            """
        try await withKubectl { _, _, kubectl in
            let registered = try await kubectl.run("apply", "-f", try kubectl.manifest("crd.yaml", crd))
            #expect(registered.status == 0, "\(registered.stderr)")
            let created = try await kubectl.run("apply", "-f", try kubectl.manifest("thing.yaml", thing))
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("examplething.example.test/pg created"))
            let listed = try await kubectl.run("get", "et")
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.contains("SOURCE") && listed.stdout.contains("host:///usr/bin/postgres"))
        }
    }
}
