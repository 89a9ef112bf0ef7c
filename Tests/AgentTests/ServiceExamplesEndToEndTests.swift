import Foundation
import KubernetesClient
import KubernetesModels
import NomadClient
import NomadModels
import TestCleanup
import Testing
import TestSupport
import Translation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The five vendor-archive examples end to end, with stand-ins: the real MongoDB, MinIO, Weaviate,
/// Loki and Kafka servers are neither in Debian nor on PyPI, and nothing else can be downloaded here.
/// Each example is rendered by `kubectl kustomize` and applied as a user would (its own ConfigMap,
/// Secret, Services, PseudoImages and StatefulSet; the shipped CRD, RuntimeClass and StorageClass),
/// with the PseudoImages pointed at a local artifact server that serves archives laid out like the
/// vendor's, holding `Tests/Fixtures/standins/service-standin.py` where the vendor's programs are.
/// The stand-in reads the example's real command line and configuration file, serves the health
/// endpoints the example's probes use and keeps data in the claim's directory.
@Suite(
    "Service examples end to end with stand-ins (MongoDB, MinIO, Weaviate, Loki, Kafka)", .awaitsCleanup, .serialized, .timeLimit(.minutes(5)),
    .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "the stand-in is a Python 3 program: /usr/bin/python3 is missing"))
struct ServiceExamplesEndToEndTests {
    static let standIn = ExampleManifests.repositoryRoot.appendingPathComponent("Tests/Fixtures/standins/service-standin.py")
    static let pseudoImages = ResourceType(group: PseudoImage.group, version: PseudoImage.version, plural: PseudoImage.plural, isNamespaced: false)

    @Test(
        "unpatched the pod waits on the checksum placeholder; with the checksum set it becomes Ready through the example's probes, and what was written through the service survives deleting the pod and recreating the StatefulSet",
        arguments: ServiceExample.all)
    func exampleRunsAndKeepsItsData(example: ServiceExample) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(example.name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // The vendor's archives, with the stand-in inside, served under the vendor's file names.
        var files: [String: Data] = [:]
        var digests: [String: String] = [:]
        for image in example.images {
            let name = try #require(URL(string: image.url)?.lastPathComponent)
            let bytes = try Self.vendorArchive(name, programs: image.programs, in: work)
            files[name] = bytes
            digests[image.name] = image.digest == "sha512" ? ArtifactServer.sha512Checksum(bytes) : ArtifactServer.sha256Checksum(bytes)
        }
        let server = try await ArtifactServer.start(files: files)
        let setup: StorageSetup
        do {
            setup = try await StorageSetup.start(extraGrants: [PseudoContainerEndToEndTests.pseudoImageReader]) { harness in
                try await PseudoContainerEndToEndTests.applyManifest("manifests/pseudoimage-crd.yaml", harness: harness)
                try await PseudoContainerEndToEndTests.applyManifest("manifests/agent-rbac.yaml", harness: harness)
                try await eventually("the PseudoImage CRD to serve") { (try? await harness.admin.list(PseudoImage.self)) != nil ? true : nil }
                try await PseudoContainerEndToEndTests.applyManifest("manifests/runtimeclass.yaml", harness: harness)
            }
        } catch {
            await server.shutdown()
            throw error
        }
        defer {
            DeferredCleanup.start {
                await setup.cleanup()
                await server.shutdown()
            }
        }
        let harness = setup.harness
        let namespace = harness.namespace

        // The example as the user applies it, the checksum set with its own patch file; for the
        // test also the URL (the local server), the user (the test's) and free ports.
        let uid = getuid()
        let user = ProcessInfo.processInfo.userName
        var extra: [String: [String]] = [:]
        for image in example.images {
            let name = try #require(URL(string: image.url)?.lastPathComponent)
            extra[image.name] = [
                "- {op: replace, path: /spec/tags/0/url, value: \"\(server.baseURL)/\(name)\"}",
                "- {op: replace, path: /spec/user, value: \(user)}",
                "- {op: replace, path: /spec/uid, value: \(uid)}",
            ]
        }
        let rendered = try await ExampleManifests.render(example.name, overlay: try example.overlay(digests: digests, extra: extra))
        var ports: [Int: Int] = [:]
        for port in example.ports { ports[port] = try PodRuntimeEndToEndTests.freePort() }
        var documents = try ManifestYAML.documents(Self.replacingPorts(ports, in: rendered.yaml))
        let clientPort = try #require(ports[example.ports[0]])
        for index in documents.indices where documents[index]["kind"]?.stringValue == "StatefulSet" {
            var set = documents[index]
            // runAsNonRoot cannot hold when the test runs as root; the uid is the test's.
            set["spec"]?["template"]?["spec"]?["securityContext"] = ["runAsUser": .number(Double(uid))]
            set["spec"]?["template"]?["spec"]?["affinity"] = harness.nodeAffinity
            let templates = (set["spec"]?["volumeClaimTemplates"]?.arrayValue ?? []).map { template in
                var template = template
                template["spec"]?["storageClassName"] = .string(setup.deleteClass)
                // The simulated clients have 10 GiB each.
                template["spec"]?["resources"]?["requests"]?["storage"] = "1Gi"
                // The directory's owner: the test's user (root may not be named there; it is the node's default then).
                template["metadata"]?["annotations"]?[NomadVolumeKeys.directoryOwnerAnnotation] = uid == 0 ? nil : .string(user)
                return template
            }
            set["spec"]?["volumeClaimTemplates"] = .array(templates)
            documents[index] = set
        }
        let statefulSet = try #require(documents.first { $0["kind"]?.stringValue == "StatefulSet" })
        let patchedImages = documents.filter { $0["kind"]?.stringValue == "PseudoImage" }

        // 1. Applied with the shipped placeholder: the pod waits, saying where the checksum is published.
        for var image in patchedImages {
            let original = try #require(example.images.first { $0.name == image["metadata"]?["name"]?.stringValue })
            let tags = (image["spec"]?["tags"]?.arrayValue ?? []).map { tag in
                var tag = tag
                tag["checksum"] = .string(ChecksumPlaceholder.prefix + original.checksumLocation)
                return tag
            }
            image["spec"]?["tags"] = .array(tags)
            // The example fixes the name (its layout on disk follows it): replaced if an earlier run left it.
            try await harness.createPseudoImage(image["metadata"]?["name"]?.stringValue ?? "", spec: try image.decode(as: PseudoImage.self).spec)
        }
        for document in documents where document["kind"]?.stringValue != "PseudoImage" {
            try await Self.create(document, namespace: namespace, admin: harness.admin)
        }
        let pod = "\(example.name)-0"
        let waiting = try await harness.waitForPod(pod, "Pending on the checksum placeholder", timeout: .seconds(90)) {
            $0.status?.containerStatuses?.contains { $0.state?.waiting?.reason == "ErrImagePull" } == true
        }
        let message = waiting.status?.containerStatuses?.compactMap { $0.state?.waiting?.message }.joined(separator: "\n") ?? ""
        #expect(message.contains("has a checksum placeholder"), "\(message)")
        #expect(message.contains(example.images[0].checksumLocation), "\(message)")

        // 2. The checksum set (as the patch file does): downloaded, verified, unpacked, started, Ready.
        for image in patchedImages {
            let name = image["metadata"]?["name"]?.stringValue ?? ""
            _ = try await harness.admin.patch(Self.pseudoImages, name: name, patch: .merge(["spec": ["tags": image["spec"]?["tags"] ?? .null]]))
        }
        let first: Pod
        do {
            first = try await harness.waitForPod(pod, "Ready through the example's readiness probe", timeout: .seconds(120)) { $0.isReady }
        } catch {
            // Say what the processes said, so a failure explains itself.
            Issue.record("standard error of pod \(pod)'s tasks:\n\(await Self.taskErrors(pod, harness: harness))")
            throw error
        }
        let placement = try await setup.placement(ofClaim: "data-\(pod)")
        #expect(try await setup.clientRunning(pod) == placement.nodeID)
        let written = "written through \(example.name) by \(first.metadata.uid ?? "?")"
        try await Self.put(written, port: clientPort)
        let info = try await Self.info(port: clientPort)
        #expect(info["service"] as? String == Self.standInName(example))
        let dataDirectory = try #require(info["dataDirectory"] as? String)
        #expect(dataDirectory.hasPrefix(placement.path), "the server keeps its data in the claim's directory \(placement.path): \(dataDirectory)")
        let formatted = example.name == "kafka" ? try String(contentsOfFile: dataDirectory + "/meta.properties", encoding: .utf8) : nil
        if example.name == "mongodb" {
            let replicaSet = try await eventually("the replica set to be initiated") { try? String(contentsOfFile: dataDirectory + "/replset.json", encoding: .utf8) }
            #expect(replicaSet.contains("\"_id\": \"rs0\"") && replicaSet.contains(":\(clientPort)\""), "\(replicaSet)")
        }

        // 3. The pod deleted: stopped with SIGTERM, recreated on the same client, the data still there.
        _ = try await harness.admin.delete(Pod.self, name: pod, namespace: namespace)
        let second = try await harness.waitForPod(pod, "recreated by its StatefulSet and Ready", timeout: .seconds(120)) {
            $0.metadata.uid != first.metadata.uid && $0.isReady
        }
        #expect(try await Self.get(port: clientPort) == written)
        #expect(try await setup.lines(dataDirectory + "/standin-shutdowns", count: 1) == ["clean SIGTERM"])

        // 4. The StatefulSet deleted and applied again: its claim, and so its data, come back.
        _ = try await harness.admin.delete(StorageEndToEndTests.statefulSets, name: example.name, namespace: namespace)
        try await eventually("pod \(pod) to be removed with its StatefulSet", timeout: .seconds(120)) { try await harness.readPod(pod) == nil }
        try await Self.create(statefulSet, namespace: namespace, admin: harness.admin)
        try await harness.waitForPod(pod, "Ready again under the recreated StatefulSet", timeout: .seconds(120)) {
            $0.metadata.uid != second.metadata.uid && $0.isReady
        }
        #expect(try await Self.get(port: clientPort) == written)
        #expect(try await setup.placement(ofClaim: "data-\(pod)").path == placement.path)
        #expect(try await setup.lines(dataDirectory + "/standin-boots", count: 3).count == 3)
        if let formatted {
            #expect(try String(contentsOfFile: dataDirectory + "/meta.properties", encoding: .utf8) == formatted, "formatted once, never again")
        }
    }

    // MARK: Helpers

    /// The stand-in's name for the service (the program it was started as).
    static func standInName(_ example: ServiceExample) -> String {
        ["kafka": "kafka-server-start.sh", "mongodb": "mongod"][example.name] ?? example.name
    }

    /// An archive (or the single file) named like the vendor's download, with the stand-in at each of `programs`.
    static func vendorArchive(_ name: String, programs: [String], in work: URL) throws -> Data {
        let program = try Data(contentsOf: standIn)
        guard !programs.isEmpty else { return program }
        let root = work.appendingPathComponent("pack-\(name)")
        for path in programs {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try program.write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        let archive = work.appendingPathComponent(name)
        let topLevel = Array(Set(programs.map { String($0.split(separator: "/")[0]) })).sorted()
        let (tool, arguments) = name.hasSuffix(".zip") ? ("/usr/bin/zip", ["-q", "-r", archive.path] + topLevel) : ("/bin/tar", ["-czf", archive.path] + topLevel)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = root
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(tool) could not pack \(name)")
        return try Data(contentsOf: archive)
    }

    /// Every port number of the example (as a whole word, in one pass) replaced by its free
    /// counterpart, so tests never collide with servers on the well-known ports.
    static func replacingPorts(_ ports: [Int: Int], in yaml: String) throws -> String {
        let pattern = try Regex("\\b(" + ports.keys.map(String.init).joined(separator: "|") + ")\\b")
        return yaml.replacing(pattern) { match in ports[Int(yaml[match.range]) ?? 0].map(String.init) ?? String(yaml[match.range]) }
    }

    static func create(_ document: JSONValue, namespace: String, admin: KubernetesClient) async throws {
        let kind = document["kind"]?.stringValue ?? ""
        let types = [
            "ConfigMap": ResourceType(ConfigMap.self), "Secret": ResourceType(Secret.self),
            "Service": ResourceType(group: "", version: "v1", plural: "services"), "StatefulSet": StorageEndToEndTests.statefulSets,
        ]
        let type = try #require(types[kind], "the example renders a \(kind) the test does not apply")
        var object = document
        object["metadata"]?["namespace"] = .string(namespace)
        _ = try await admin.create(type, object: object, namespace: namespace)
    }

    /// The standard error of every task of the pod's current allocation (tail), for failure messages.
    static func taskErrors(_ pod: String, harness: AgentHarness) async -> String {
        guard let found = try? await harness.readPod(pod) else { return "(no pod)" }
        let jobID = PodJobIdentity.jobID(namespace: harness.namespace, name: pod, uid: found.metadata.uid ?? "")
        guard let allocation = (try? await harness.nomad.allocations(ofJob: jobID).value)?.first, let allocationID = allocation.id else { return "(no allocation)" }
        var text = ""
        for task in (allocation.taskStates ?? [:]).keys.sorted() {
            var bytes = Data()
            do {
                for try await chunk in harness.nomad.logs(allocationID: allocationID, task: task, type: .stderr, plain: true) { bytes.append(chunk.data) }
            } catch {
                bytes.append(Data("(logs unreadable: \(error))".utf8))
            }
            text += "--- \(task):\n\(String(decoding: bytes.suffix(2000), as: UTF8.self))\n"
        }
        return text
    }

    static func url(_ port: Int, _ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    static func put(_ value: String, port: Int) async throws {
        var request = URLRequest(url: url(port, "/standin/kv/e2e"))
        request.httpMethod = "PUT"
        request.httpBody = Data(value.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 201)
    }

    static func get(port: Int) async throws -> String? {
        let (body, response) = try await URLSession.shared.data(from: url(port, "/standin/kv/e2e"))
        return (response as? HTTPURLResponse)?.statusCode == 200 ? String(decoding: body, as: UTF8.self) : nil
    }

    static func info(port: Int) async throws -> [String: Any] {
        let (body, _) = try await URLSession.shared.data(from: url(port, "/standin/info"))
        return try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }
}
