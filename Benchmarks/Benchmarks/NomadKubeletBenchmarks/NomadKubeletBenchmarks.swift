// Micro-benchmarks of issue 10: the agent's per-pod CPU work without any I/O. Inputs come from the
// recorded traffic in Tests/Fixtures/recorded/ where one fits (a pod from the recorded watch, the
// recorded running allocation, the recorded framed log stream), enlarged where the benchmark asks
// for a size the recording does not have (1,000 pods, a 10-container pod).
import Benchmark
import Foundation
import KubernetesClient
import KubernetesModels
import NIOCore
import NomadClient
import NomadModels
import SPDY
import Translation

/// Reads inputs from Tests/Fixtures/recorded/. A few lines instead of TestSupport's
/// `RecordedTraffic`, which would pull the simulators (Hummingbird, swift-crypto...) into this
/// release build; the format read is the same (`#` header lines, then the body).
enum Recorded {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/recorded")

    static func text(_ path: String) -> String {
        guard let text = try? String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8) else {
            fatalError("benchmark input \(directory.path)/\(path) is missing; run from a checkout of nomad-kubelet")
        }
        return text
    }

    /// The body lines of a recorded stream (everything that is not a `#` header line).
    static func streamLines(_ path: String) -> [String] {
        text(path).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    /// The response body of the exchange titled `title` (`### title`, then headers, then the body
    /// up to the next `###`) in a Nomad recording.
    static func nomadResponseBody(_ path: String, titled title: String) -> String {
        let sections = text(path).components(separatedBy: "\n### ")
        guard let section = sections.first(where: { $0.hasPrefix(title + "\n") }) else {
            fatalError("no exchange titled '\(title)' in \(path)")
        }
        let bodyLines = section.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            .drop { $0.hasPrefix("#") || !($0.hasPrefix("{") || $0.hasPrefix("[")) }
        return bodyLines.joined(separator: "\n")
    }
}

/// The inputs, built once.
enum Inputs {
    static let policy = TranslationPolicy(nodeName: "vk-nomad")
    static let translator = PodTranslator(policy: policy)
    static let now = Date(timeIntervalSince1970: 1_795_639_700)

    /// The first pod of the recorded watch of a node's pods (kube-apiserver v1.36).
    static let watchEventLine = Recorded.streamLines("kubernetes/03-watch-own-pods.txt").first { $0.contains("\"type\":\"ADDED\"") }!
    static let recordedPod: Pod = {
        var pod = try! JSONDecoder().decode(WatchEvent<Pod>.self, from: Data(watchEventLine.utf8)).object!
        pod.spec?.nodeName = "vk-nomad"
        return pod
    }()

    /// A typical pod: one container running a host command, a few env vars, one claimed volume
    /// (claims of the nomad-local StorageClass are the one volume kind translated today).
    static let typicalPod: Pod = {
        var spec = PodSpec(containers: [Container(
            name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"],
            env: [EnvVar(name: "MODE", value: "production"), EnvVar(name: "PORT", value: "8080")],
            volumeMounts: [VolumeMount(name: "data", mountPath: "/data")])], restartPolicy: "Always")
        spec.volumes = [Volume(name: "data", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: "data-web-0"))]
        spec.nodeName = "vk-nomad"
        return Pod(metadata: ObjectMeta(name: "web-0", namespace: "default", uid: "3f1c2a4e-0000-4000-8000-000000000001"), spec: spec)
    }()

    /// The large pod of issue 10: 10 containers, 50 env vars each, 20 volumes mounted in each.
    static let largePod: Pod = {
        let volumes = (0..<20).map { Volume(name: "data-\($0)", persistentVolumeClaim: PersistentVolumeClaimVolumeSource(claimName: "claim-\($0)")) }
        let containers = (0..<10).map { index in
            Container(
                name: "c\(index)", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"],
                env: (0..<50).map { EnvVar(name: "VAR_\($0)", value: "value-\($0)-of-container-\(index)") },
                volumeMounts: volumes.map { VolumeMount(name: $0.name, mountPath: "/mnt/\($0.name)") })
        }
        var spec = PodSpec(containers: containers, restartPolicy: "Always")
        spec.volumes = volumes
        spec.nodeName = "vk-nomad"
        return Pod(metadata: ObjectMeta(name: "large-0", namespace: "default", uid: "3f1c2a4e-0000-4000-8000-000000000002"), spec: spec)
    }()

    /// The claimed volumes of both pods, as VolumeController hands them to the translator.
    static let claimOptions = TranslationOptions(claimVolumes: Dictionary(
        uniqueKeysWithValues: (["data"] + (0..<20).map { "data-\($0)" }).map { name in
            (name, ClaimVolume(placement: VolumePlacement(nodeID: "f5e1c1a0-0000-4000-8000-000000000001", path: "/var/lib/nomad-kubelet/volumes/\(name)"), volumeName: "pv-\(name)"))
        }))

    /// The recorded running allocation of Nomad 1.1.2 (init task done, web task running).
    static let allocation: Allocation = try! JSONDecoder().decode(
        Allocation.self,
        from: Data(Recorded.nomadResponseBody("nomad/01-agent-nodes-jobs.txt", titled: "the allocation in full (TaskStates with Events, AllocatedResources, NetworkStatus)").utf8))
    static let statusPod: Pod = {
        var spec = PodSpec(
            containers: [Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sh"])],
            initContainers: [Container(name: "init", image: ImageResolver.hostImage, command: ["/bin/sh"])], restartPolicy: "Always")
        spec.nodeName = "vk-nomad"
        return Pod(metadata: ObjectMeta(name: "web-0", namespace: "default", uid: "3f1c2a4e-0000-4000-8000-000000000001"), spec: spec)
    }()

    /// A `GET /api/v1/pods` body of 1,000 copies of the recorded pod, each with its own name and uid.
    static let podListBody: Data = {
        let podJSON = try! JSONEncoder().encode(recordedPod)
        let podText = String(decoding: podJSON, as: UTF8.self)
        let items = (0..<1000).map { index in
            podText.replacingOccurrences(of: recordedPod.metadata.name!, with: "pod-\(index)")
                .replacingOccurrences(of: recordedPod.metadata.uid!, with: String(format: "00000000-0000-4000-8000-%012d", index))
        }
        return Data("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1000\"},\"items\":[\(items.joined(separator: ","))]}".utf8)
    }()

    /// The recorded framed log stream (`follow=true`, base64 frames and `{}` heartbeats), repeated to ~1 MB.
    static let framedLogBody: [UInt8] = {
        let body = Recorded.streamLines("nomad/04-logs-follow-framed.txt").joined()
        let copies = max(1, (1 << 20) / max(1, body.utf8.count))
        return Array(String(repeating: body, count: copies).utf8)
    }()

    static let synStreamHeaders: SPDYHeaders = [
        ":method": "POST", ":path": "/exec/default/web-0/web?command=sh&input=1&output=1&tty=1", ":version": "HTTP/1.1",
        ":host": "127.0.0.1:10250", ":scheme": "https", "streamtype": "stdin", "port": "", "x-stream-protocol-version": "v4.channel.k8s.io",
    ]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        maxDuration: .seconds(ProcessInfo.processInfo.environment["BENCH_QUICK"] == "1" ? 1 : 3),
        maxIterations: 100_000)

    Benchmark("Translate typical pod to Nomad job") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Inputs.translator.translate(Inputs.typicalPod, options: Inputs.claimOptions)) }
    }
    Benchmark("Translate large pod (10 containers, 50 env, 20 claimed volumes)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Inputs.translator.translate(Inputs.largePod, options: Inputs.claimOptions)) }
    }
    Benchmark("Translate recorded pod (kube-apiserver watch)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Inputs.translator.translate(Inputs.recordedPod)) }
    }
    Benchmark("Map recorded Nomad allocation to PodStatus") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PodStatusMapper.status(for: PodStatusInput(pod: Inputs.statusPod, allocation: Inputs.allocation, nodeAddress: "127.0.0.1", now: Inputs.now)))
        }
    }
    Benchmark("Decode 1,000-pod list", configuration: .init(maxIterations: 1_000)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JSONDecoder().decode(ResourceList<Pod>.self, from: Inputs.podListBody)) }
    }
    Benchmark("Decode recorded watch event") { benchmark in
        let line = Data(Inputs.watchEventLine.utf8)
        for _ in benchmark.scaledIterations { blackHole(try JSONDecoder().decode(WatchEvent<Pod>.self, from: line)) }
    }
    Benchmark("Encode status patch (strategic merge diff + JSON)") { benchmark in
        let status = PodStatusMapper.status(for: PodStatusInput(pod: Inputs.statusPod, allocation: Inputs.allocation, nodeAddress: "127.0.0.1", now: Inputs.now))
        let previous = Inputs.recordedPod.status
        for _ in benchmark.scaledIterations {
            let diff = StrategicMergeDiff.patch(from: try previous.map { try JSONValue(encoding: $0) }, to: try JSONValue(encoding: status))
            let body = JSONValue.object(["metadata": .object(["uid": .string("3f1c2a4e-0000-4000-8000-000000000001")]), "status": diff ?? .object([:])])
            blackHole(try JSONEncoder().encode(body))
        }
    }
    Benchmark("SPDY SYN_STREAM encode + decode (zlib header block)") { benchmark in
        var encoder = SPDYFrameEncoder()
        var parser = SPDYFrameParser()
        var buffer = ByteBuffer()
        var streamID: UInt32 = 1
        for _ in benchmark.scaledIterations {
            buffer.clear()
            try encoder.encode(SPDYFrame(streamID: SPDYStreamID(streamID), payload: .synStream(.init(headers: Inputs.synStreamHeaders))), into: &buffer)
            blackHole(try parser.nextFrame(from: &buffer))
            streamID &+= 2
        }
    }
    Benchmark("SPDY DATA frame 16 KiB encode + decode", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        var encoder = SPDYFrameEncoder()
        var parser = SPDYFrameParser()
        var buffer = ByteBuffer()
        let payload = ByteBuffer(repeating: 0x61, count: 16 << 10)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            try encoder.encode(SPDYFrame(streamID: 1, payload: .data(payload, fin: false)), into: &buffer)
            blackHole(try parser.nextFrame(from: &buffer))
        }
    }
    Benchmark("Nomad framed log decoding (1 MB of recorded frames)", configuration: .init(maxIterations: 1_000)) { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = LogFrameDecoder(plain: false)
            blackHole(try decoder.feed(Inputs.framedLogBody))
        }
    }
}
