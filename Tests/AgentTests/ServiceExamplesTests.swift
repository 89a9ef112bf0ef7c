import Foundation
import KubernetesModels
import NomadModels
import Testing
import TestSupport
import Translation

/// What the shipped examples of vendor-archive services (examples/mongodb, minio, weaviate, loki,
/// kafka) must translate to: one row per service, checked against `kubectl kustomize` output by
/// ``ServiceExampleTranslationTests`` and run with stand-ins by ``ServiceExamplesEndToEndTests``.
struct ServiceExample: Sendable, CustomTestStringConvertible {
    /// A PseudoImage of the example: its name and where its vendor publishes the checksum.
    struct Image: Sendable {
        var name: String
        var tag: String
        /// The vendor's download (the PseudoImage's `url`).
        var url: String
        /// Where the vendor publishes the checksum (the placeholder's URL).
        var checksumLocation: String
        /// The digest type the example's patch file sets (`sha256`, or `sha512` for Apache releases).
        var digest: String = "sha256"
        /// The example's patch file setting this image's checksum.
        var patchFile: String = "set-checksum.patch.yaml"
        /// Paths in the vendor's archive where the stand-in goes (empty: the download is the program itself).
        var programs: [String]
    }

    /// The example directory, StatefulSet and (by convention) label `app`.
    var name: String
    /// The container running the server.
    var container: String
    var images: [Image]
    /// The server's task user (the PseudoImage's) and the pod's `runAsUser`.
    var user: String
    var uid: Int64
    /// What the server's launch line must contain (the data directory, the configuration file).
    var launch: [String]
    /// The server's ports, first the one its clients (and the stand-in's test API) use.
    var ports: [Int]
    var killTimeoutSeconds: Int64
    /// `httpGet` path of the readiness probe, or nil for a `tcpSocket` probe on the first port.
    var readinessPath: String?
    var livenessPath: String?
    /// An init container that must run first (Kafka's storage format), and what its command holds.
    var initContainer: (name: String, launch: String)?

    var testDescription: String { name }

    static let all: [ServiceExample] = [
        ServiceExample(
            name: "minio", container: "minio",
            images: [
                Image(
                    name: "minio", tag: "server",
                    url: "https://dl.min.io/server/minio/release/linux-amd64/archive/minio.RELEASE.2025-04-22T22-12-26Z",
                    checksumLocation: "https://dl.min.io/server/minio/release/linux-amd64/archive/minio.RELEASE.2025-04-22T22-12-26Z.sha256sum",
                    programs: [])
            ],
            user: "minio-user", uid: 29000,
            launch: ["MINIO_CONFIG_ENV_FILE=\"$NOMAD_KUBELET_ROOT/etc/minio/config.env\"", "server --address :9000 --console-address :9001 \"$NOMAD_KUBELET_VOLUME_DATA\""],
            ports: [9000, 9001], killTimeoutSeconds: 30, readinessPath: "/minio/health/ready", livenessPath: "/minio/health/live"),
        ServiceExample(
            name: "loki", container: "loki",
            images: [
                Image(
                    name: "loki", tag: "3", url: "https://github.com/grafana/loki/releases/download/v3.3.2/loki-linux-amd64.zip",
                    checksumLocation: "https://github.com/grafana/loki/releases/download/v3.3.2/SHA256SUMS", programs: ["loki-linux-amd64"])
            ],
            user: "loki", uid: 23100, launch: ["-config.file=\"$NOMAD_KUBELET_ROOT/etc/loki/loki.yaml\" -config.expand-env=true -target=all"],
            ports: [3100, 9095], killTimeoutSeconds: 60, readinessPath: "/ready", livenessPath: "/ready"),
        ServiceExample(
            name: "kafka", container: "kafka",
            images: [
                Image(
                    name: "kafka", tag: "3", url: "https://archive.apache.org/dist/kafka/3.9.0/kafka_2.13-3.9.0.tgz",
                    checksumLocation: "https://archive.apache.org/dist/kafka/3.9.0/kafka_2.13-3.9.0.tgz.sha512", digest: "sha512",
                    programs: ["kafka_2.13-3.9.0/bin/kafka-server-start.sh", "kafka_2.13-3.9.0/bin/kafka-storage.sh"])
            ],
            user: "kafka", uid: 29092,
            launch: ["log.dirs=$NOMAD_KUBELET_VOLUME_DATA/kafka-logs", "advertised.listeners=PLAINTEXT://$HOST_IP:9092", "exec \"$home/bin/kafka-server-start.sh\" \"$config\""],
            ports: [9092, 9093], killTimeoutSeconds: 120, readinessPath: nil, livenessPath: nil,
            initContainer: (name: "format-storage", launch: "kafka-storage.sh\" format --ignore-formatted --cluster-id \"$KAFKA_CLUSTER_ID\"")),
        ServiceExample(
            name: "mongodb", container: "mongod",
            images: [
                Image(
                    name: "mongodb", tag: "8.0", url: "https://fastdl.mongodb.org/linux/mongodb-linux-x86_64-debian12-8.0.4.tgz",
                    checksumLocation: "https://fastdl.mongodb.org/linux/mongodb-linux-x86_64-debian12-8.0.4.tgz.sha256",
                    programs: ["mongodb-linux-x86_64-debian12-8.0.4/bin/mongod"]),
                Image(
                    name: "mongosh", tag: "2", url: "https://downloads.mongodb.com/compass/mongosh-2.3.8-linux-x64.tgz",
                    checksumLocation: "https://www.mongodb.com/try/download/shell", patchFile: "set-mongosh-checksum.patch.yaml",
                    programs: ["mongosh-2.3.8-linux-x64/bin/mongosh"]),
            ],
            user: "mongodb", uid: 27017,
            launch: ["--config \"$NOMAD_KUBELET_ROOT/etc/mongodb/mongod.conf\"", "--dbpath \"$NOMAD_KUBELET_VOLUME_DATA/db\" --keyFile \"$NOMAD_TASK_DIR/keyfile\""],
            ports: [27017], killTimeoutSeconds: 60, readinessPath: nil, livenessPath: nil),
        ServiceExample(
            name: "weaviate", container: "weaviate",
            images: [
                Image(
                    name: "weaviate", tag: "1", url: "https://github.com/weaviate/weaviate/releases/download/v1.28.2/weaviate-v1.28.2-linux-amd64.tar.gz",
                    checksumLocation: "https://github.com/weaviate/weaviate/releases/tag/v1.28.2", programs: ["weaviate"])
            ],
            user: "weaviate", uid: 28080,
            launch: ["PERSISTENCE_DATA_PATH=\"$NOMAD_KUBELET_VOLUME_DATA/data\"", "exec \"$NOMAD_TASK_DIR/weaviate/weaviate\" --host 0.0.0.0 --port 8080 --scheme http"],
            ports: [8080, 50051, 7946, 7947, 8300, 8301], killTimeoutSeconds: 60, readinessPath: "/v1/.well-known/ready", livenessPath: "/v1/.well-known/live"),
    ]

    /// The example's shipped patch file for `image`, with `digest` in place of its fill-in value, as
    /// an overlay's inline patch (kustomize reads patch files only below the overlay's directory).
    func checksumPatch(_ image: Image, digest: String, extraOperations: [String] = []) throws -> String {
        let file = ExampleManifests.repositoryRoot.appendingPathComponent("examples/\(name)/\(image.patchFile)")
        let shipped = try String(contentsOf: file, encoding: .utf8)
        let fillIn = try #require(shipped.split(separator: "\n").first { $0.contains("value: \(image.digest):PUT-") }, "\(image.patchFile) sets no \(image.digest) value")
        let operations = shipped.replacingOccurrences(of: String(fillIn), with: "  value: \(digest)") + extraOperations.joined(separator: "\n")
        let indented = operations.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }.joined(separator: "\n")
        return """
              - target: {kind: PseudoImage, name: \(image.name)}
                patch: |
            \(indented)
            """
    }

    /// An overlay setting every image's checksum through the shipped patch files (plus `extra` operations per image).
    func overlay(digests: [String: String], extra: [String: [String]] = [:]) throws -> String {
        "patches:\n" + (try images.map { try checksumPatch($0, digest: digests[$0.name] ?? "", extraOperations: extra[$0.name] ?? []) }.joined(separator: "\n"))
    }

    /// A made-up digest of the image's digest type (translate never downloads).
    func testDigest(_ image: Image) -> String {
        image.digest == "sha512" ? "sha512:" + String(repeating: "5", count: 128) : "sha256:" + String(repeating: "2", count: 64)
    }
}

@Suite(
    "Service examples (MongoDB, MinIO, Weaviate, Loki, Kafka): kubectl kustomize output through nomad-kubelet translate",
    .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct ServiceExampleTranslationTests {
    @Test("unpatched, the checksum placeholder is refused with a message naming the PseudoImage, the tag and where the vendor publishes the checksum", arguments: ServiceExample.all)
    func placeholderRefused(example: ServiceExample) async throws {
        let rendered = try await ExampleManifests.render(example.name)
        for image in example.images {
            let pseudoImage = try #require(rendered.object("PseudoImage", image.name))
            #expect(pseudoImage["spec"]?["tags"]?.arrayValue?.first?["checksum"]?.stringValue == ChecksumPlaceholder.prefix + image.checksumLocation)
            #expect(pseudoImage["spec"]?["tags"]?.arrayValue?.first?["url"]?.stringValue == image.url, "the version is pinned in the url")
        }
        let refusal = try rendered.refusal(of: "StatefulSet", example.name)
        #expect(refusal.isTransient, "the agent keeps the pod Pending (ErrImagePull) until the checksum is set: \(refusal)")
        for image in example.images {
            let problem = try #require(refusal.problems.first { $0.reason.contains("PseudoImage \"\(image.name)\"") }, "\(refusal)")
            #expect(problem.kind == .missing)
            #expect(problem.reason.contains("PseudoImage \"\(image.name)\" tag \"\(image.tag)\" has a checksum placeholder"))
            #expect(problem.reason.contains(image.url))
            #expect(problem.fix.contains("publishes at \(image.checksumLocation)"))
        }
    }

    @Test("with the checksum set by the example's own patch file, the job has the service's command, user, volume path, ports, kill signal and timeout; the pod its probes", arguments: ServiceExample.all)
    func translatedJobFacts(example: ServiceExample) async throws {
        let digests = Dictionary(uniqueKeysWithValues: example.images.map { ($0.name, example.testDigest($0)) })
        let rendered = try await ExampleManifests.render(example.name, overlay: try example.overlay(digests: digests))
        let job = try rendered.job(of: "StatefulSet", example.name)
        let task = try #require(job.task(example.container))
        let image = try #require(example.images.first)

        #expect(task.driver == "raw_exec")
        #expect(task.user == example.user)
        #expect(task.killSignal == "SIGTERM")
        #expect(task.killTimeout == NomadDuration(.seconds(example.killTimeoutSeconds)))
        #expect(task.artifacts?.first?.getterSource == image.url)
        #expect(task.artifacts?.first?.getterOptions?["checksum"] == digests[image.name])
        #expect(task.artifacts?.first?.relativeDest == "local/\(image.name)")
        let words = [task.config?.command ?? ""] + (task.config?.args ?? [])
        #expect(words.contains("/bin/sh"), "the example's launch script runs under sh: \(words)")
        let script = words.joined(separator: " ")
        for fragment in example.launch {
            #expect(script.contains(fragment), "launch line of \(example.name) lacks \(fragment): \(script)")
        }
        // The claim's directory reaches the process, the job is pinned to its client.
        let volume = try #require(task.env?[VolumeClaimTranslation.environmentName(forVolume: "data")], "no NOMAD_KUBELET_VOLUME_DATA in \(task.env ?? [:])")
        #expect(volume.hasPrefix("/"))
        #expect(job.constraints?.contains { $0.lTarget == "${node.unique.id}" } == true)
        let reserved = Set(job.podGroup?.networks?.flatMap { $0.reservedPorts ?? [] }.compactMap(\.value) ?? [])
        #expect(reserved == Set(example.ports))

        if let initContainer = example.initContainer {
            let initTask = try #require(job.task(initContainer.name))
            #expect(initTask.lifecycle?.hook == "prestart")
            let initScript = ([initTask.config?.command ?? ""] + (initTask.config?.args ?? [])).joined(separator: " ")
            #expect(initScript.contains(initContainer.launch), "\(initScript)")
            #expect(initTask.env?[VolumeClaimTranslation.environmentName(forVolume: "data")] == volume, "the init container formats the same directory")
        }

        // Probes are the agent's (nothing in the job): the pod the agent supervises carries them.
        let pod = try #require(try rendered.translations().first { $0.workload.source.hasPrefix("StatefulSet ") }?.workload.pod)
        let container = try #require(pod.spec?.containers.first { $0.name == example.container })
        #expect(pod.spec?.securityContext?.runAsUser == example.uid)
        #expect(pod.spec?.runtimeClassName == "nomad-raw-exec")
        #expect(container.lifecycle?.stopSignal == "SIGTERM")
        for (probe, path) in [(container.readinessProbe, example.readinessPath), (container.livenessProbe, example.livenessPath)] {
            let probe = try #require(probe)
            if let path {
                #expect(probe.httpGet?.path == path)
            } else {
                #expect(probe.tcpSocket != nil)
            }
        }
    }
}
