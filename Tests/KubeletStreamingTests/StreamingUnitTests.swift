import Foundation
import NIOCore
import TestSupport
import Testing

@testable import KubeletServer

/// The socket-free parts: request parsing, negotiation, the status encoding against the recording,
/// and the resize stream's parser.
@Suite("Kubelet streaming: requests, negotiation, statuses")
struct StreamingUnitTests {
    @Test("the recorded exec targets parse as the kubelet reads them")
    func recordedTargets() throws {
        let echo = try #require(StreamingRequest(target: "/exec/default/exec-target/main?command=echo&command=hi&error=1&output=1"))
        #expect(echo.kind == .exec && echo.namespace == "default" && echo.pod == "exec-target" && echo.container == "main")
        #expect(echo.command == ["echo", "hi"])
        #expect(echo.stdout && echo.stderr && !echo.stdin && !echo.tty)
        let tty = try #require(StreamingRequest(target: "/exec/default/exec-target/main?command=sh&input=1&output=1&tty=1&error=1"))
        #expect(tty.tty && tty.stdin && !tty.stderr, "stderr is dropped with a tty")
        #expect(tty.expectedStreamCount(version: .v4) == 4)
        #expect(tty.expectedStreamCount(version: .v2) == 3, "no resize stream before v3")
        let spaced = try #require(StreamingRequest(target: "/exec/ns/p/uid-1/c?command=sh&command=-c&command=echo+a%3Bb&output=true"))
        #expect(spaced.uid == "uid-1" && spaced.container == "c")
        #expect(spaced.command == ["sh", "-c", "echo a;b"])
        let forward = try #require(StreamingRequest(target: "/portForward/default/exec-target"))
        #expect(forward.kind == .portForward && forward.container == "")
        #expect(StreamingRequest(target: "/containerLogs/default/p/c") == nil)
        #expect(StreamingRequest(target: "/exec/default/p") == nil)
    }

    @Test("negotiation picks the first offered protocol the server has", arguments: [
        (["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"], "v4.channel.k8s.io"),
        (["v2.channel.k8s.io, channel.k8s.io"], "v2.channel.k8s.io"),
        (["v5.channel.k8s.io"], nil),
    ] as [([String], String?)])
    func negotiation(offered: [String], expected: String?) {
        let chosen = ProtocolNegotiation.negotiate(offered: ProtocolNegotiation.offered(offered), supported: ProtocolNegotiation.spdyProtocols(for: .exec))
        #expect(chosen == expected)
    }

    @Test("the exit status carries the recorded fields and values (the recording's spacing came from a Python stand-in)")
    func statusMatchesTheRecording() throws {
        let recording = try RecordedTraffic.text("kubernetes/07-kubelet-api-logs-exec-portforward.txt")
        let line = try #require(recording.split(separator: "\n").first { $0.contains("error stream: v4 Status") && $0.contains("DATA") })
        let start = try #require(line.range(of: "b'")?.upperBound)
        var recorded = String(line[start...].dropLast())
        // The recorder cut the description short; complete the JSON it shows.
        if !recorded.hasSuffix("}}") { recorded += "]}}" }
        let expected = try JSONSerialization.jsonObject(with: Data(recorded.utf8)) as? NSDictionary
        let ours = try JSONSerialization.jsonObject(with: Data(StreamStatus.exitCode(7).json.utf8)) as? NSDictionary
        #expect(ours == expected)
        #expect(StreamStatus.exitCode(0).json == #"{"metadata":{},"status":"Success"}"#)
        #expect(StreamStatus.exitCode(7).plainText == "command terminated with non-zero exit code: exit status 7")
        #expect(StreamStatus.success.plainText == nil)
    }

    @Test("resize objects are found across chunk boundaries; malformed ones are skipped")
    func terminalSizes() {
        var parser = TerminalSizeParser()
        #expect(parser.feed(ByteBuffer(string: "{\"Width\":100,")) == [])
        #expect(parser.feed(ByteBuffer(string: "\"Height\":30}\n{\"Width\":80,\"Height\":24}\n")) == [.init(width: 100, height: 30), .init(width: 80, height: 24)])
        #expect(parser.feed(ByteBuffer(string: "{\"Width\":\"x\"}{\"Width\":1,\"Height\":2}")) == [.init(width: 1, height: 2)])
    }
}
