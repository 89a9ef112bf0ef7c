import AsyncHTTPClient
import Foundation
import KubeletServer
import KubernetesModels
import NIOCore
import NIOHTTP1
import NIOPosix
import TestCleanup
import TestSupport
import Testing

/// The real `kubectl exec` and `kubectl port-forward` through the API server (the Kubernetes
/// simulator's kubelet proxy, or a real cluster) to the kubelet endpoint with the streaming child
/// channel, bridged to Nomad.
@Suite(
    "Kubelet API: kubectl exec and port-forward", .awaitsCleanup, .timeLimit(.minutes(3)),
    .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason),
    .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct KubectlStreamingTests {
    private static var python: String? { ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) } }

    @Test("kubectl exec: output, stderr, exit code, stdin; kubectl port-forward: an HTTP request to the pod's port",
          .enabled(if: python != nil, "needs python3 for the pod's HTTP server"))
    func execAndPortForward() async throws {
        try await KubeletHarness.with(childChannel: KubeletServer.streaming) { harness in
            let port = try freeLoopbackPort()
            try await harness.run("web", script: "echo 'hello from pseudo-pod' > index.html; exec \(Self.python!) -m http.server \(port) --bind 127.0.0.1")
            let kubectl = try KubectlRunner(adminOf: harness.kubernetesSimulator, namespace: harness.namespace)
            defer { kubectl.cleanUp() }

            let exec = try await kubectl.run(["exec", "web", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(exec.status == 3, "\(exec.stderr)")
            #expect(exec.stdout == "out\n")
            #expect(exec.stderr.contains("err\n"), "\(exec.stderr)")

            let ok = try await kubectl.run(["exec", "web", "--", "/bin/sh", "-c", "echo fine"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout == "fine\n")

            let piped = try await kubectl.run(["exec", "-i", "web", "--", "cat"], stdin: Data("typed line\n".utf8))
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout == "typed line\n")

            let local = try freeLoopbackPort()
            let forward = try kubectl.start(["port-forward", "pod/web", "\(local):\(port)"])
            defer { forward.stop() }
            _ = try await eventually("kubectl port-forward to listen on \(local)") { forward.stdout.contains("Forwarding from 127.0.0.1:\(local)") ? true : nil }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { DeferredCleanup.start { try? await client.shutdown() } }
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(local)/index.html"), timeout: .seconds(20))
            let body = try await response.body.collect(upTo: 1 << 16)
            #expect(response.status.code == 200)
            #expect(String(buffer: body) == "hello from pseudo-pod\n")
            try await client.shutdown()
        }
    }
}
