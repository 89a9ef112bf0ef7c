import Foundation
import KubernetesModels
import TestSupport
import Testing

/// Qualified: TestSupport's simulator has a `WatchEvent` of its own.
private typealias PodWatchEvent = KubernetesModels.WatchEvent<Pod>

/// Every JSON body a real kube-apiserver v1.36 sent or received in the recordings decodes into its
/// model, and encoding the model gives the same JSON back: no field the server writes is lost.
@Suite("Recorded Kubernetes traffic")
struct RecordedTrafficTests {
    static let exchangeFiles = [
        "kubernetes/01-node-and-lease.txt",
        "kubernetes/02-pods-as-node.txt",
        "kubernetes/04-authn-authz-reviews.txt",
        "kubernetes/08-crd-tokens-csr-storage.txt",
    ]

    /// Kinds in the recordings this module deliberately does not model (the client handles them as
    /// `JSONValue`): custom resources and their definitions, kubectl's tables, DeleteOptions.
    static let unmodelledKinds: Set<String> = ["CustomResourceDefinition", "ExampleThing", "Table", "DeleteOptions"]

    /// Round-trips `data` through the model of `kind`; `nil` when no model handles that kind.
    static func roundTripDifferences(kind: String, _ data: Data) throws -> [String]? {
        switch kind {
        case "Pod": try JSONComparison.roundTripDifferences(Pod.self, data)
        case "PodList": try JSONComparison.roundTripDifferences(ResourceList<Pod>.self, data)
        case "Node": try JSONComparison.roundTripDifferences(Node.self, data)
        case "Lease": try JSONComparison.roundTripDifferences(Lease.self, data)
        case "Event": try JSONComparison.roundTripDifferences(Event.self, data)
        case "Status": try JSONComparison.roundTripDifferences(Status.self, data)
        case "ConfigMap": try JSONComparison.roundTripDifferences(ConfigMap.self, data)
        case "PersistentVolume": try JSONComparison.roundTripDifferences(PersistentVolume.self, data)
        case "TokenReview": try JSONComparison.roundTripDifferences(TokenReview.self, data)
        case "SubjectAccessReview": try JSONComparison.roundTripDifferences(SubjectAccessReview.self, data)
        case "TokenRequest": try JSONComparison.roundTripDifferences(TokenRequest.self, data)
        case "CertificateSigningRequest": try JSONComparison.roundTripDifferences(CertificateSigningRequest.self, data)
        default: nil
        }
    }

    /// The kind a patch body (which names none) applies to, from the request path.
    static func patchedKind(_ path: String) -> String? {
        if path.contains("/pods/") { return "Pod" }
        if path.contains("/nodes/") { return "Node" }
        return nil
    }

    @Test("every JSON body decodes and re-encodes to the same JSON", arguments: exchangeFiles)
    func everyBody(file: String) throws {
        var modelled = 0
        for exchange in try RecordedTraffic.exchanges(file) {
            for body in [exchange.requestBody, exchange.responseBody] {
                guard let body, body.hasPrefix("{") else { continue }
                let data = Self.withoutComments(body)
                let json = try JSONValue(parsing: data)
                let kind = try #require(json["kind"]?.stringValue ?? Self.patchedKind(exchange.path), "\(exchange.title): no kind")
                guard let differences = try Self.roundTripDifferences(kind: kind, data) else {
                    #expect(Self.unmodelledKinds.contains(kind), "\(exchange.title): no model for \(kind)")
                    continue
                }
                #expect(differences.isEmpty, "\(exchange.title) (\(kind)): \(differences)")
                modelled += 1
            }
        }
        #expect(modelled >= 5, "\(file): only \(modelled) bodies were modelled")
    }

    @Test("watch streams decode line by line into WatchEvent<Pod>", arguments: [
        "kubernetes/03-watch-own-pods.txt", "kubernetes/05-watch-too-old-resource-version.txt",
    ])
    func watchStreams(file: String) throws {
        let lines = try RecordedTraffic.stream(file).lines
        #expect(lines.count > 5)
        for line in lines {
            let data = Data(line.utf8)
            let differences = try JSONComparison.roundTripDifferences(PodWatchEvent.self, data)
            #expect(differences.isEmpty, "\(line.prefix(80)): \(differences)")
        }
    }

    @Test("the watch of own pods: bind, bookmark, status, graceful deletion, final delete")
    func watchOfOwnPods() throws {
        let events = try RecordedTraffic.stream("kubernetes/03-watch-own-pods.txt").lines.map {
            try JSONDecoder().decode(PodWatchEvent.self, from: Data($0.utf8))
        }
        #expect(events.map(\.type) == [.added, .bookmark, .modified, .added, .modified, .modified, .deleted, .bookmark])
        let bookmark = try #require(events[1].object)
        #expect(bookmark.metadata.resourceVersion == "631")
        #expect(bookmark.spec?.containers == [])
        let running = try #require(events[2].object)
        #expect(running.status?.phase == "Running")
        #expect(running.status?.containerStatuses?.first?.state?.running?.startedAt?.date != nil)
        let terminating = try #require(events[4].object)
        #expect(terminating.metadata.deletionGracePeriodSeconds == 30)
        #expect(terminating.metadata.deletionTimestamp == "2026-11-25T20:51:15Z")
        #expect(events[6].object?.metadata.uid == "78c27131-ede4-4af6-adec-0d183a762bf8")
    }

    @Test("node registration: taints, status patch, daemon endpoint, capacity")
    func node() throws {
        let created = try decode(Node.self, "kubernetes/01-node-and-lease.txt", "node creates its own Node")
        #expect(created.spec?.taints?.map(\.key) == ["virtual-kubelet.io/provider", "node.kubernetes.io/not-ready"])
        #expect(created.status?.daemonEndpoints?.kubeletEndpoint?.port == 0)
        let patched = try decode(Node.self, "kubernetes/01-node-and-lease.txt", "node patches its status")
        let status = try #require(patched.status)
        #expect(status.daemonEndpoints?.kubeletEndpoint?.port == 10250)
        #expect(status.capacity?["cpu"]?.milliValue == 16_000)
        let memory = try #require(status.allocatable?["memory"])
        #expect(memory.value == 68_719_476_736)
        #expect(status.capacity?["pods"]?.value == 110)
        let ready = try #require(status.conditions?.first { $0.type == "Ready" })
        #expect(ready.status == "True")
        #expect(ready.lastHeartbeatTime?.date == Date(timeIntervalSince1970: 1_795_639_781))
        #expect(status.addresses?.first { $0.type == "InternalIP" }?.address == "127.0.0.1")
        #expect(status.nodeInfo?.containerRuntimeVersion == "nomad://1.1.2")
    }

    @Test("lease create, renew and the 409 on a stale resourceVersion")
    func lease() throws {
        let renewed = try decode(Lease.self, "kubernetes/01-node-and-lease.txt", "node renews its Lease")
        #expect(renewed.metadata.resourceVersion == "602")
        #expect(renewed.spec?.leaseDurationSeconds == 40)
        #expect(renewed.metadata.ownerReferences?.first?.kind == "Node")
        let renewTime = try #require(renewed.spec?.renewTime).parsedDate()
        #expect(abs(renewTime.timeIntervalSince1970 - 1_795_639_781.965805) < 0.000_001)
        let conflict = try decode(Status.self, "kubernetes/01-node-and-lease.txt", "stale resourceVersion: 409")
        #expect(conflict.code == 409)
        #expect(conflict.reason == "Conflict")
        #expect(conflict.details?.group == "coordination.k8s.io")
    }

    @Test("403 bodies name the refused object and the reason")
    func forbidden() throws {
        let label = try decode(Status.self, "kubernetes/01-node-and-lease.txt", "NodeRestriction refuses")
        #expect(label.code == 403)
        #expect(label.reason == "Forbidden")
        #expect(label.message?.contains("is not allowed to modify labels: node-restriction.kubernetes.io/pool") == true)
        #expect(label.details?.kind == "nodes")
        let audience = try decode(Status.self, "kubernetes/08-crd-tokens-csr-storage.txt", "audience that no volume")
        #expect(audience.message?.contains("audience \"vault\" not found in pod spec volume") == true)
    }

    @Test("a pod as the node reads it, and as it reports it running")
    func pod() throws {
        let pending = try decode(Pod.self, "kubernetes/02-pods-as-node.txt", "GET one of its own pods")
        #expect(pending.status?.phase == "Pending")
        #expect(pending.status?.conditions?.first?.lastProbeTime == nil)
        let spec = try #require(pending.spec)
        #expect(spec.nodeName == "vk-nomad")
        #expect(spec.containers.first?.command == ["/bin/sleep", "3600"])
        #expect(spec.containers.first?.volumeMounts?.first?.mountPath == "/var/run/secrets/kubernetes.io/serviceaccount")
        #expect(spec.tolerations?.last?.tolerationSeconds == 300)
        let projected = try #require(spec.volumes?.first?.projected)
        #expect(projected.defaultMode == 420)
        #expect(projected.sources?.first?.serviceAccountToken?.expirationSeconds == 3607)
        #expect(projected.sources?[1].configMap?.items?.first?.key == "ca.crt")
        #expect(projected.sources?[2].downwardAPI?.items?.first?.fieldRef?.fieldPath == "metadata.namespace")

        let running = try decode(Pod.self, "kubernetes/02-pods-as-node.txt", "report the pod Running and Ready")
        let status = try #require(running.status)
        #expect(status.phase == "Running")
        #expect(status.podIPs == [PodIP(ip: "127.0.0.1")])
        let container = try #require(status.containerStatuses?.first)
        #expect(container.restartCount == 0)
        #expect(container.ready)
        #expect(container.containerID == "nomad://5d0e.../web")
        #expect(container.lastState == ContainerState())

        let list = try decode(ResourceList<Pod>.self, "kubernetes/02-pods-as-node.txt", "list own pods")
        #expect(list.items.isEmpty)
        #expect(list.metadata.resourceVersion == "602")
    }

    @Test("event, failed log proxy, delete preconditions")
    func eventAndDelete() throws {
        let event = try decode(Event.self, "kubernetes/02-pods-as-node.txt", "record an Event")
        #expect(event.involvedObject.fieldPath == "spec.containers{host}")
        #expect(event.count == 1)
        #expect(event.eventTime == nil)
        #expect(event.source?.component == "kubelet")
        let logs = try decode(Status.self, "kubernetes/02-pods-as-node.txt", "proxies `kubectl logs`")
        #expect(logs.code == 500)
        #expect(logs.message?.contains("connect: connection refused") == true)
        let wrongUID = try decode(Status.self, "kubernetes/02-pods-as-node.txt", "wrong uid precondition")
        #expect(wrongUID.reason == "Conflict")
        #expect(wrongUID.details?.kind == "Pod")
        let deleted = try decode(Pod.self, "kubernetes/02-pods-as-node.txt", "final delete, grace 0")
        #expect(deleted.metadata.deletionGracePeriodSeconds == 0)
    }

    @Test("token and access reviews")
    func reviews() throws {
        let valid = try decode(TokenReview.self, "kubernetes/04-authn-authz-reviews.txt", "TokenReview of a valid token")
        #expect(valid.status?.authenticated == true)
        #expect(valid.status?.user?.username == "viewer")
        #expect(valid.status?.user?.groups == ["viewers", "system:authenticated"])
        let invalid = try decode(TokenReview.self, "kubernetes/04-authn-authz-reviews.txt", "TokenReview of an invalid token")
        #expect(invalid.status?.authenticated == nil)
        #expect(invalid.status?.error == "invalid bearer token")
        let review = try decode(SubjectAccessReview.self, "kubernetes/04-authn-authz-reviews.txt", "may viewer create nodes/proxy")
        #expect(review.spec.resourceAttributes?.subresource == "proxy")
        #expect(review.status?.allowed == false)
    }

    @Test("token request, root CA config map and the kubelet serving CSR")
    func tokensAndCertificates() throws {
        let file = "kubernetes/08-crd-tokens-csr-storage.txt"
        let token = try decode(TokenRequest.self, file, "TokenRequest by the node for the service account")
        #expect(token.spec.audiences == ["https://kubernetes.default.svc.cluster.local"])
        #expect(token.spec.boundObjectRef?.name == "token-demo")
        #expect(token.status?.token.hasPrefix("eyJ") == true)
        #expect(token.status?.expirationTimestamp.date == Date(timeIntervalSince1970: 1_795_644_639))
        let configMap = try decode(ConfigMap.self, file, "kube-root-ca.crt ConfigMap")
        #expect(configMap.data?["ca.crt"]?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
        let csr = try decode(CertificateSigningRequest.self, file, "the node reads it back")
        #expect(csr.spec.signerName == "kubernetes.io/kubelet-serving")
        #expect(csr.spec.usages == ["digital signature", "server auth"])
        #expect(csr.status?.conditions?.first?.type == "Approved")
        let certificate = try #require(csr.status?.certificate.flatMap { Data(base64Encoded: $0) })
        #expect(String(decoding: certificate, as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----"))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ file: String, _ title: String) throws -> T {
        let exchange = try RecordedTraffic.exchange(file, titled: title)
        return try JSONDecoder().decode(T.self, from: Self.withoutComments(exchange.responseBody))
    }

    /// A recorded body without the `# ` commentary lines the recordings put between exchanges.
    static func withoutComments(_ body: String) -> Data {
        Data(body.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n").utf8)
    }
}
