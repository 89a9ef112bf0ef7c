import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOWebSocket
import Testing

@testable import NomadClient
@testable import TestSupport

@Suite("Nomad simulator: logs and exec of real processes", .serialized)
struct NomadSimulatorLogsAndExecTests {
    static let chatty = "i=0; while true; do echo line $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done"

    static func startChatty() async throws -> (NomadSimulator, RawNomadHTTP, String) {
        let simulator = try await NomadSimulator.start()
        let http = RawNomadHTTP(address: simulator.address)
        _ = try await http.register(TestJobs.job(id: "chatty", script: chatty, taskName: "web"))
        let id = try await http.firstAllocation(of: "chatty")["ID"]?.string ?? ""
        _ = try await http.waitForTask(id, "web", state: "running")
        _ = try await http.waitFor("a few log lines") {
            try await http.get("/v1/client/fs/logs/\(id)?task=web&type=stdout&plain=true").text
        } until: { $0.contains("line 3\n") }
        return (simulator, http, id)
    }

    @Test func plainAndFramedLogsCarryTheTaskOutput() async throws {
        let (simulator, http, id) = try await Self.startChatty()
        let plain = try await http.get("/v1/client/fs/logs/\(id)?task=web&type=stdout&origin=start&offset=0&plain=true")
        let framed = try await http.get("/v1/client/fs/logs/\(id)?task=web&type=stdout&origin=start&offset=0")
        let tail = try await http.get("/v1/client/fs/logs/\(id)?task=web&type=stderr&origin=end&offset=20&plain=true")
        await simulator.shutdown()

        #expect(plain.status == 200)
        #expect(plain.headers.first(name: "Content-Type") == "text/plain")
        #expect(plain.text.hasPrefix("line 0\nline 1\nline 2\n"))
        #expect(framed.headers.first(name: "Content-Type") == "application/json")
        let frame = framed.json
        #expect(frame["File"]?.string == "alloc/logs/web.stdout.0")
        let data = Data(base64Encoded: frame["Data"]?.string ?? "") ?? Data()
        #expect(String(decoding: data, as: UTF8.self).hasPrefix("line 0\n"))
        #expect(frame["Offset"]?.int == Int64(data.count))
        #expect(tail.body.count == 20)
        #expect(tail.text.hasSuffix("\n"))
        #expect(tail.text.contains("err "))
    }

    @Test func logErrorsMatchTheRecording() async throws {
        let (simulator, http, id) = try await Self.startChatty()
        for title in ["an unknown task", "an invalid log type", "logs of an unknown allocation"] {
            let exchange = try RecordedTraffic.exchange("nomad/03-logs.txt", titled: title)
            let target = exchange.target.replacingOccurrences(of: "d5daa190-d5dd-4802-e267-3a6a3beefc0c", with: id)
            let answer = try await http.get(target)
            #expect(answer.status == exchange.status, "\(title)")
            #expect(answer.text == exchange.responseBody, "\(title)")
            #expect(answer.headers.first(name: "Content-Type") == exchange.responseHeader("Content-Type"), "\(title)")
        }
        await simulator.shutdown()
    }

    /// Reads a followed log stream until `enough` says so or the deadline passes.
    static func follow(_ url: String, until enough: @escaping (String) -> Bool) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var received = ""
        let deadline = ContinuousClock.now + .seconds(15)
        for try await chunk in response.body {
            received += String(buffer: chunk)
            if enough(received) || ContinuousClock.now > deadline { break }
        }
        return received
    }

    @Test func followingReceivesNewOutputInBothForms() async throws {
        let (simulator, http, id) = try await Self.startChatty()
        let before = try await http.get("/v1/client/fs/logs/\(id)?task=web&type=stdout&plain=true").text
        let lastBefore = before.split(separator: "\n").count
        // Lines written after `before` was read (how many depends on the machine's speed).
        func newLines(_ text: String) -> Int {
            text.split(separator: "\n").compactMap { Int($0.dropFirst("line ".count)) }.filter { $0 >= lastBefore }.count
        }
        let plain = try await Self.follow("\(simulator.address)/v1/client/fs/logs/\(id)?task=web&type=stdout&origin=end&offset=0&follow=true&plain=true") {
            newLines($0) >= 3
        }
        let framed = try await Self.follow("\(simulator.address)/v1/client/fs/logs/\(id)?task=web&type=stdout&origin=end&offset=0&follow=true") {
            $0.components(separatedBy: #"{"Data""#).count > 4 && $0.contains("{}")
        }
        await simulator.shutdown()
        #expect(newLines(plain) >= 3, "follow delivers lines written after it started")
        // Framed: concatenated JSON frames with increasing offsets, and `{}` heartbeats.
        let frames = framed.replacingOccurrences(of: "}{", with: "}\n{").split(separator: "\n").map { (try? WireJSON.parse(Data($0.utf8))) ?? .null }
        let offsets = frames.compactMap { $0["Offset"]?.int }
        #expect(offsets.count > 3)
        #expect(offsets == offsets.sorted())
        #expect(frames.contains(.object([:])))
    }

    /// The exec endpoint of `simulator` for `command` in `task` of `allocation`.
    static func execEndpoint(_ simulator: NomadSimulator, allocation: String, task: String, command: [String], tty: Bool) throws -> NomadWebSocket.Endpoint {
        let commandJSON = String(decoding: try JSONEncoder().encode(command), as: UTF8.self)
        let encoded = commandJSON.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let port = try #require(URLComponents(string: simulator.address)?.port)
        return NomadWebSocket.Endpoint(host: "127.0.0.1", port: port, target: "/v1/client/allocation/\(allocation)/exec?task=\(task)&tty=\(tty)&command=\(encoded)")
    }

    /// Runs an exec session and returns the text frames received and the close frame's code and reason.
    static func exec(
        _ simulator: NomadSimulator, allocation: String, task: String, command: [String], tty: Bool, send: [String]
    ) async throws -> (frames: [WireJSON], close: (code: Int?, reason: String)?) {
        let endpoint = try execEndpoint(simulator, allocation: allocation, task: task, command: command, tty: tty)
        let channel = try await NomadWebSocket.connect(endpoint)
        return try await channel.executeThenClose { inbound, outbound in
            for frame in send {
                try await outbound.write(NomadWebSocket.textFrame(frame))
                try await Task.sleep(for: .milliseconds(tty ? 300 : 0))
            }
            var frames: [WireJSON] = []
            var assembler = WebSocketMessageAssembler(maxMessageSize: 1 << 20)
            for try await frame in inbound {
                switch assembler.receive(frame) {
                case .text(let text): frames.append((try? WireJSON.parse(Data(text.utf8))) ?? .null)
                case .closed(let code, let reason): return (frames, (code, reason))
                default: continue
                }
            }
            return (frames, nil)
        }
    }

    static func decoded(_ frames: [WireJSON], _ stream: String) -> String {
        frames.compactMap { $0[stream]?["data"]?.string.flatMap { Data(base64Encoded: $0) } }
            .map { String(decoding: $0, as: UTF8.self) }.joined()
    }

    @Test func execWithoutTTYReturnsOutputAndExitCode() async throws {
        let (simulator, _, id) = try await Self.startChatty()
        let result = try await Self.exec(
            simulator, allocation: id, task: "web", command: ["/bin/sh", "-c", "read x; echo got $x; echo warn >&2; echo $NOMAD_TASK_NAME; exit 7"],
            tty: false, send: [#"{"stdin": {"data": "aGVsbG8K"}}"#, #"{"stdin": {"close": true}}"#])
        await simulator.shutdown()
        #expect(Self.decoded(result.frames, "stdout") == "got hello\nweb\n")
        #expect(Self.decoded(result.frames, "stderr") == "warn\n")
        #expect(result.frames.contains(["stdout": ["close": true]]))
        #expect(result.frames.contains(["stderr": ["close": true]]))
        #expect(result.frames.last == ["exited": true, "result": ["exit_code": 7]])
        #expect(result.close?.code == 1000)
    }

    @Test func execWithTTYRunsUnderAPTYOfTheRequestedSize() async throws {
        let (simulator, _, id) = try await Self.startChatty()
        let result = try await Self.exec(
            simulator, allocation: id, task: "web", command: ["/bin/sh"], tty: true,
            send: [#"{"tty_size": {"height": 40, "width": 120}}"#, #"{"stdin": {"data": "c3R0eSBzaXplOyBleGl0IDUK"}}"#])
        await simulator.shutdown()
        let output = Self.decoded(result.frames, "stdout")
        #expect(output.contains("40 120\r\n"))
        #expect(result.frames.last == ["exited": true, "result": ["exit_code": 5]])
        #expect(!result.frames.contains { $0["stderr"] != nil })
    }

    @Test(arguments: ["a command that does not exist", "an unknown task"])
    func execFailuresCloseWithTheRecordedCodeAndReason(title: String) async throws {
        let recording = try RecordedTraffic.text("nomad/06-exec-websocket.txt")
        let section = try #require(recording.components(separatedBy: "### ").first { $0.hasPrefix(title) })
        let reason = try #require(section.components(separatedBy: "reason='").last?.components(separatedBy: "'").first)
        let (simulator, _, id) = try await Self.startChatty()
        let command = title == "an unknown task" ? ["/bin/true"] : ["/no/such/binary"]
        let result = try await Self.exec(simulator, allocation: id, task: title == "an unknown task" ? "nope" : "web", command: command, tty: false, send: [])
        await simulator.shutdown()
        #expect(result.close?.code == 1011)
        #expect(result.close?.reason == reason)
    }

    /// Nomad's upgrader (gorilla/websocket) refuses an `Origin` whose host[:port] is not the `Host`
    /// header, as the real agent answered a client that sent `Origin: http://127.0.0.1` (no port).
    @Test func execRefusesACrossOriginUpgradeAsNomadDoes() async throws {
        let (simulator, _, id) = try await Self.startChatty()
        var endpoint = try Self.execEndpoint(simulator, allocation: id, task: "web", command: ["/bin/true"], tty: false)
        endpoint.headers = [(name: "Origin", value: "http://127.0.0.1")]
        let refused = await #expect(throws: NomadWebSocket.Refused.self) { try await NomadWebSocket.connect(endpoint) }
        var outcomes: [(code: Int?, reason: String)?] = []
        for origin in ["http://\(endpoint.hostHeader)", nil] {
            endpoint.headers = origin.map { [(name: "Origin", value: $0)] } ?? []
            let channel = try await NomadWebSocket.connect(endpoint)
            outcomes.append(try await channel.executeThenClose { inbound, _ in
                var assembler = WebSocketMessageAssembler(maxMessageSize: 1 << 20)
                for try await frame in inbound {
                    if case .closed(let code, let reason) = assembler.receive(frame) { return (code, reason) }
                }
                return nil
            })
        }
        await simulator.shutdown()
        #expect(refused?.status == 403)
        #expect(refused?.body == "Forbidden\nfailed to upgrade connection: websocket: request origin not allowed by Upgrader.CheckOrigin")
        #expect(outcomes.map { $0?.code } == [1000, 1000], "same-origin and origin-less upgrades run the command")
    }

    @Test func execOfAnUnknownAllocationClosesWithPolicyViolation() async throws {
        let (simulator, _, _) = try await Self.startChatty()
        let result = try await Self.exec(simulator, allocation: "00000000-0000-0000-0000-000000000000", task: "web", command: ["/bin/true"], tty: false, send: [])
        await simulator.shutdown()
        #expect(result.close?.code == 1008)
        #expect(result.close?.reason == #"Unknown allocation "00000000-0000-0000-0000-000000000000""#)
    }

    @Test func allocationAndHostStatsComeFromProc() async throws {
        let (simulator, http, id) = try await Self.startChatty()
        let stats = try await http.get("/v1/client/allocation/\(id)/stats")
        let host = try await http.get("/v1/client/stats")
        let alivePids = (stats.json["Tasks"]?["web"]?["Pids"]?.object ?? [:]).keys.filter { OSProcess.alive(Int32($0) ?? -1) }
        await simulator.shutdown()
        let recorded = try WireJSON.parse(Data(try RecordedTraffic.exchange("nomad/07-stats-restart-stop-deregister.txt", titled: "allocation resource usage").responseBody.utf8))
        #expect(NomadWireShape.paths(stats.json).isSuperset(of: NomadWireShape.paths(recorded)))
        let pids = stats.json["Tasks"]?["web"]?["Pids"]?.object ?? [:]
        #expect(!pids.isEmpty)
        #expect(!alivePids.isEmpty)
        #expect((stats.json["ResourceUsage"]?["MemoryStats"]?["RSS"]?.int ?? 0) > 0)
        let recordedHost = try WireJSON.parse(Data(try RecordedTraffic.exchange("nomad/07-stats-restart-stop-deregister.txt", titled: "client host stats").responseBody.utf8))
        expectShape(recordedHost, host.json)
        #expect((host.json["Memory"]?["Total"]?.int ?? 0) > 0)
    }
}
