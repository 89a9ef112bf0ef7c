import AsyncHTTPClient
import Foundation
@testable import KubeletServer
import KubernetesModels
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// `/containerLogs` with every parameter the API server passes, over HTTPS as the API server calls it.
@Suite("Kubelet API: container logs", .timeLimit(.minutes(3)), .enabled(if: KubeletHarness.available, KubeletHarness.unavailableReason))
struct ContainerLogsTests {
    private static let script = "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exec sleep 3600"
    private static let lines = "line 1\nline 2\nline 3\nline 4\nline 5\noops\n"

    /// Waits until the container's whole output is in Nomad's log.
    private func waitForOutput(_ harness: KubeletHarness, _ pod: String) async throws {
        try await eventually("pod \(pod) to have written all its lines") { () -> Bool? in
            let answer = try await harness.get("/containerLogs/\(harness.namespace)/\(pod)/main")
            return answer.body == Self.lines ? true : nil
        }
    }

    @Test("logs: stdout then stderr; tailLines, limitBytes, timestamps, sinceSeconds; refusals as the kubelet words them: plain text, 400/422/404")
    func parameters() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("logs", script: Self.script)
            try await waitForOutput(harness, "logs")
            let base = "/containerLogs/\(harness.namespace)/logs/main"

            #expect(try await harness.get("\(base)?tailLines=2").body == "line 5\noops\n")
            #expect(try await harness.get("\(base)?tailLines=0").body == "")
            #expect(try await harness.get("\(base)?limitBytes=9").body == "line 1\nli")
            #expect(try await harness.get("\(base)?sinceSeconds=3600").body == Self.lines)

            let stamped = try await harness.get("\(base)?timestamps=true&tailLines=3").body
            let stampedLines = stamped.split(separator: "\n").map(String.init)
            #expect(stampedLines.count == 3)
            for (line, text) in zip(stampedLines, ["line 4", "line 5", "oops"]) {
                #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (.*)/)?.output.2 == Substring(text), "\(line)")
            }

            // As the kubelet answers (go-restful's WriteError): the code and a plain-text message, no Status object.
            let refused: [(query: String, code: Int, message: String)] = [
                ("tailLines=-1", 422, "invalid request: tailLines=-1 must be at least 0"),
                ("limitBytes=0", 422, "invalid request: limitBytes=0 must be at least 1"),
                ("sinceTime=yesterday", 400, "unable to decode query: sinceTime=yesterday is not an RFC 3339 time"),
                ("sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z", 422, "invalid request: at most one of sinceTime or sinceSeconds may be specified"),
                ("follow=maybe", 400, "unable to decode query: follow=maybe is not a boolean"),
            ]
            for (query, code, message) in refused {
                let answer = try await harness.get("\(base)?\(query)")
                #expect(answer.status == code, "\(query)")
                #expect(answer.body == message, "\(query)")
            }

            let missingPod = try await harness.get("/containerLogs/\(harness.namespace)/nope/main")
            #expect(missingPod.status == 404)
            #expect(missingPod.body == "pod \"nope\" does not exist")
            let missingContainer = try await harness.get("/containerLogs/\(harness.namespace)/logs/other")
            #expect(missingContainer.status == 404)
            #expect(missingContainer.body == "container \"other\" not found in pod \"logs\"")

            let noPrevious = try await harness.get("\(base)?previous=true")
            #expect(noPrevious.status == 400)
            #expect(noPrevious.body == "previous terminated container \"main\" in pod \"logs\" not found")
        }
    }

    @Test("follow streams lines written after the request")
    func follow() async throws {
        try await KubeletHarness.with { harness in
            let trigger = harness.workDirectory.appendingPathComponent("go").path
            let script = "echo ready; while true; do if [ -f \(trigger) ]; then echo fresh line; rm -f \(trigger); fi; sleep 0.1; done"
            try await harness.run("follow", script: script)
            let client = try harness.client(.apiServer)
            defer { _ = client.shutdown() }
            let request = HTTPClientRequest(url: "https://127.0.0.1:\(harness.port)/containerLogs/\(harness.namespace)/follow/main?follow=true")
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status.code == 200)
            var received = ""
            var iterator = response.body.makeAsyncIterator()
            while !received.contains("ready\n") {
                guard let chunk = try await iterator.next() else { Issue.record("the stream ended before `ready`"); return }
                received += String(buffer: chunk)
            }
            FileManager.default.createFile(atPath: trigger, contents: Data())
            while !received.contains("fresh line\n") {
                guard let chunk = try await iterator.next() else { Issue.record("the stream ended before the new line"); return }
                received += String(buffer: chunk)
            }
            #expect(received == "ready\nfresh line\n")
        }
    }

    @Test("previous: after the container restarted, its earlier runs' output")
    func previousAfterRestart() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("crashy", script: "echo run at $(date +%s%N); exit 3", restarts: 1)
            let answer = try await harness.get("/containerLogs/\(harness.namespace)/crashy/main?previous=true")
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.body.hasPrefix("run at "))
        }
    }

    @Test("attach answers a Status that says Nomad cannot attach and suggests kubectl exec")
    func attach() async throws {
        try await KubeletHarness.with { harness in
            try await harness.run("attach", script: "exec sleep 3600")
            let answer = try await harness.get("/attach/\(harness.namespace)/attach/main?output=1", method: .POST)
            #expect(answer.status == 400)
            let message = try KubeletHarness.status(answer.body).message ?? ""
            #expect(message.contains("kubectl exec"))
            #expect(message.contains("Nomad"))
        }
    }
}

@Suite("Kubelet API: the tail of a log kept while reading it")
struct TailBufferTests {
    @Test("the last N lines of a log read in chunks are those of the whole log, and what is kept stays near their size", arguments: [0, 1, 3, 1000])
    func tailOfChunks(lines: Int) {
        var text = ""
        for number in 0..<20_000 { text += "line \(number) " + String(repeating: "x", count: number % 50) + "\n" }
        text += "a last line without its newline"
        let log = Array(text.utf8)
        let expected = LogWriter.lastLines(log, count: lines)
        var tail = TailBuffer(lines: lines)
        var peak = 0
        var start = 0
        while start < log.count {
            let end = min(start + 4096, log.count)
            tail.append(Data(log[start..<end]))
            peak = max(peak, tail.bytes.count)
            start = end
        }
        #expect(LogWriter.lastLines(tail.bytes, count: lines) == expected)
        // The whole log is ~880 KB; the buffer never holds much more than twice the tail.
        #expect(peak <= 2 * expected.count + 65_536 + 4096, "peak \(peak) for a tail of \(expected.count) bytes")
    }
}
