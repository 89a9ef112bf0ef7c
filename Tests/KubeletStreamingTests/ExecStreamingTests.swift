import Foundation
import KubeletServer
import NIOCore
import SPDY
import TestSupport
import Testing

/// Exec, port-forward and the refusals over SPDY/3.1, driven as kube-apiserver drives a kubelet,
/// bridged to a Nomad agent (the simulator, or a real one under `NOMAD_KUBELET_E2E=1`).
@Suite("Kubelet streaming: exec and port-forward over SPDY", .timeLimit(.minutes(1)))
struct ExecStreamingTests {
    @Test("exec without a tty: output, stderr and a non-zero exit code as the recorded v4 Status")
    func execNonZeroExit() async throws {
        try await StreamingHarness.with { harness in
            let result = try await harness.exec(["/bin/sh", "-c", "echo hello from pseudo-container; echo a line on stderr >&2; exit 7"])
            #expect(result.stdoutText == "hello from pseudo-container\n")
            #expect(result.stderrText == "a line on stderr\n")
            #expect(result.exitCode == 7)
            #expect(result.status == #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 7","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}"#)
        }
    }

    @Test("exec exiting 0 writes the Success status")
    func execSuccess() async throws {
        try await StreamingHarness.with { harness in
            let result = try await harness.exec(["/bin/sh", "-c", "echo hi"])
            #expect(result.stdoutText == "hi\n")
            #expect(result.status == #"{"metadata":{},"status":"Success"}"#)
            #expect(result.exitCode == 0)
        }
    }

    @Test("stdin is piped through to the command and its end closes the command's input")
    func stdinPipedThrough() async throws {
        try await StreamingHarness.with { harness in
            let input = Data((0..<20_000).map { "line \($0)\n" }.joined().utf8)
            let result = try await harness.exec(["cat"], stdin: input, stderr: false)
            #expect(result.stdout == input)
            #expect(result.exitCode == 0)
        }
    }

    @Test("a command that cannot start reports an InternalError status")
    func missingBinary() async throws {
        try await StreamingHarness.with { harness in
            let result = try await harness.exec(["/no/such/binary"])
            #expect(result.status.contains(#""reason":"InternalError""#), "\(result.status)")
            #expect(result.status.contains("/no/such/binary"), "\(result.status)")
            #expect(result.exitCode == nil)
        }
    }

    @Test("exec with a tty: the resize stream reaches the terminal (stty size) and the exit code comes back")
    func ttyResize() async throws {
        try await StreamingHarness.with { harness in
            let connection = try await harness.upgrade(StreamingHarness.execTarget(["/bin/sh"], stdin: true, stdout: true, stderr: false, tty: true)).connection()
            let streams = try await RemoteCommandStreams.open(on: connection, stdin: true, stdout: true, stderr: false, tty: true)
            try await streams.sendSize(width: 100, height: 30)
            let stdin = try #require(streams.stdin)
            let stdout = try #require(streams.stdout)
            var output = ""
            var iterator = stdout.inbound.makeAsyncIterator()
            // The size and the typed line travel on different streams: ask until the terminal has the size.
            let deadline = ContinuousClock.now + .seconds(20)
            while !output.contains("30 100"), ContinuousClock.now < deadline {
                try await stdin.write(ByteBuffer(string: "stty size\r"))
                guard let chunk = try await iterator.next() else { break }
                output += String(buffer: chunk)
            }
            #expect(output.contains("30 100"), "the terminal size did not reach the command: \(output)")
            try await stdin.write(ByteBuffer(string: "exit 3\r"))
            while let chunk = try await iterator.next() { output += String(buffer: chunk) }
            let status = String(buffer: try await streams.error.inbound.collect(upTo: 1 << 16))
            #expect(RemoteCommandStreams.Result(stdout: Data(), stderr: Data(), status: status).exitCode == 3, "\(status)")
            await streams.shutdown()
            await connection.closed()
        }
    }

    @Test("port-forward carries an HTTP request to the process listening on the pod's port",
          .enabled(if: StreamingHarness.python != nil, "needs python3 for the pod's HTTP server"))
    func portForward() async throws {
        try await StreamingHarness.with { harness in
            _ = try await eventually("the pod's HTTP server to listen on \(harness.podPort)") { () -> Bool? in
                await canConnect(port: harness.podPort) ? true : nil
            }
            let outcome = try await harness.upgrade("/portForward/default/web", protocols: ["portforward.k8s.io"])
            #expect(outcome.header("X-Stream-Protocol-Version") == "portforward.k8s.io")
            let connection = try outcome.connection()
            for requestID in 0..<2 {
                let streams = try await PortForwardStreams.open(on: connection, port: harness.podPort, requestID: requestID)
                let request = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                let (response, error) = try await streams.exchange(Data(request.utf8))
                let text = String(decoding: response, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.0 200 OK") || text.hasPrefix("HTTP/1.1 200 OK"), "\(text)")
                #expect(text.hasSuffix(StreamingHarness.podAnswer), "\(text)")
                #expect(error.isEmpty)
            }
            // A port nobody listens on: the kubelet's error text on the error stream.
            let closed = try freePort()
            let streams = try await PortForwardStreams.open(on: connection, port: closed, requestID: 7)
            let (response, error) = try await streams.exchange(Data())
            #expect(response.isEmpty)
            #expect(error == "error forwarding port \(closed) to pod web, uid : dial tcp 127.0.0.1:\(closed): connect: connection refused", "\(error)")
            await connection.goAway()
            await connection.close()
        }
    }

    @Test("a port-forward request whose second stream never comes is dropped after the stream creation timeout, with the kubelet's text")
    func portForwardPairingTimeout() async throws {
        try await StreamingHarness.with(configuration: StreamingConfiguration(streamCreationTimeout: .seconds(1))) { harness in
            let connection = try await harness.upgrade("/portForward/default/web", protocols: ["portforward.k8s.io"]).connection()
            let error = try await connection.openStream(headers: ["streamtype": "error", "port": String(harness.podPort), "requestid": "3"])
            _ = try await error.replyHeaders()
            let data = try await connection.openStream(headers: ["streamtype": "data", "port": String(harness.podPort), "requestid": "4"])
            _ = try await data.replyHeaders()
            // Each lone stream is answered and ended by the server; the error stream says why.
            let text = String(buffer: try await error.inbound.collect(upTo: 1 << 16))
            #expect(text == "(request=3) timed out waiting for streams")
            #expect(try await data.inbound.collect(upTo: 1 << 16).readableBytes == 0)
            await connection.goAway()
            await connection.close()
        }
    }

    @Test("protocol negotiation: v4 over SPDY even when v5 is offered, older versions when offered alone, 403 when none fits")
    func negotiation() async throws {
        try await StreamingHarness.with { harness in
            let target = StreamingHarness.execTarget(["/bin/true"])
            let cases: [([String], String?)] = [
                (StreamingHarness.recordedExecProtocols, "v4.channel.k8s.io"),
                (["v5.channel.k8s.io", "v3.channel.k8s.io"], "v3.channel.k8s.io"),
                (["v2.channel.k8s.io"], "v2.channel.k8s.io"),
                (["channel.k8s.io"], "channel.k8s.io"),
            ]
            for (offered, expected) in cases {
                let outcome = try await harness.upgrade(target, protocols: offered)
                #expect(outcome.header("X-Stream-Protocol-Version") == expected, "\(offered)")
                await (try? outcome.connection())?.close()
            }
            let refused = try await harness.upgrade(target, protocols: ["v5.channel.k8s.io"])
            guard case .refused(let status, _, let body) = refused else { Issue.record("v5 alone was upgraded over SPDY"); return }
            #expect(status == 403)
            #expect(body == "unable to upgrade: unable to negotiate protocol: client supports [v5.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]\n")
            #expect(refused.header("X-Accepted-Stream-Protocol-Versions") == "v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io")
        }
    }

    @Test("unauthenticated, unauthorized, attach, unknown pods and non-upgrade requests are refused with the kubelet's answers")
    func refusals() async throws {
        try await StreamingHarness.with { harness in
            let exec = StreamingHarness.execTarget(["/bin/true"])
            let cases: [(target: String, token: String?, code: Int, fragment: String)] = [
                (exec, nil, 401, #""reason":"Unauthorized""#),
                (exec, "viewer", 403, "Forbidden (user=viewer, verb=create, resource=nodes, subresource=proxy)"),
                (StreamingHarness.execTarget(["/bin/true"], kind: "attach"), "admin", 400, "Nomad offers no way to attach to a running task's console; use `kubectl exec -it web -c main -- sh`"),
                ("/exec/default/nope/main?command=true&output=1", "admin", 404, "pod does not exist"),
                ("/exec/default/web/main?command=true", "admin", 400, "you must specify at least 1 of stdin, stdout, stderr"),
                ("/portForward/default/nope", "admin", 404, "pod does not exist"),
            ]
            for (target, token, code, fragment) in cases {
                let outcome = try await harness.upgrade(target, token: token)
                guard case .refused(let status, _, let body) = outcome else {
                    Issue.record("\(target) with \(token ?? "no token") was upgraded")
                    continue
                }
                #expect(status == code, "\(target): \(body)")
                #expect(body.contains(fragment), "\(target): \(body)")
            }
        }
    }
}
