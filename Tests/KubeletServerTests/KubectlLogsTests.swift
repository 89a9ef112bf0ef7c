import Foundation
import KubernetesModels
import TestSupport
import Testing

/// The real `kubectl logs` through the API server's kubelet proxy (the simulator's, or a real
/// cluster's), which dials the Node's InternalIP and daemon endpoint port with its kubelet-client
/// certificate, to the agent's kubelet server.
@Suite(
    "Kubelet API: kubectl logs end to end", .timeLimit(.minutes(3)),
    .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason),
    .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct KubectlLogsTests {
    @Test("kubectl logs, --tail, -f and --previous show the pseudo-container's output")
    func kubectlLogs() async throws {
        try await KubeletHarness.with { harness in
            let kubectl = try KubectlRunner(adminOf: harness.kubernetesSimulator, namespace: harness.namespace)
            defer { kubectl.cleanUp() }
            let trigger = harness.workDirectory.appendingPathComponent("go").path
            try await harness.run(
                "web", script: "echo first; echo second; while true; do if [ -f \(trigger) ]; then echo third; rm -f \(trigger); fi; sleep 0.1; done")
            try await eventually("kubectl logs to show both lines") { () -> Bool? in
                let logs = try await kubectl.run(["logs", "web"])
                return logs.status == 0 && logs.stdout == "first\nsecond\n" ? true : nil
            }
            let tail = try await kubectl.run(["logs", "web", "--tail=1"])
            #expect(tail.status == 0, "\(tail.stderr)")
            #expect(tail.stdout == "second\n")

            let follow = try kubectl.start(["logs", "-f", "web"])
            defer { follow.stop() }
            try await eventually("kubectl logs -f to print the existing lines") { follow.stdout.contains("second\n") ? true : nil }
            FileManager.default.createFile(atPath: trigger, contents: Data())
            try await eventually("kubectl logs -f to print the line written after it started") { follow.stdout.contains("third\n") ? true : nil }
            #expect(follow.stdout == "first\nsecond\nthird\n")

            let noPrevious = try await kubectl.run(["logs", "web", "--previous"])
            #expect(noPrevious.status != 0)
            // The kubelet's plain-text 400, made a BadRequest Status by the API server's pods/log proxy.
            #expect(
                noPrevious.stderr.hasSuffix("Error from server (BadRequest): previous terminated container \"main\" in pod \"web\" not found\n"),
                "\(noPrevious.stderr)")

            try await harness.run("crashy", script: "echo crashed once; exit 2", restarts: 1)
            let previous = try await kubectl.run(["logs", "crashy", "--previous"])
            #expect(previous.status == 0, "\(previous.stderr)")
            #expect(previous.stdout.hasPrefix("crashed once\n"))
        }
    }
}
