import Foundation
import NomadModels
import Testing

@Suite("Nomad value types")
struct ValueTests {
    @Test(arguments: [
        ("2026-11-25T20:46:34.164329Z", 1_795_639_594.164329),
        ("2026-11-25T20:41:25.827665584Z", 1_795_639_285.827665584),
        ("2026-11-25T20:41:27Z", 1_795_639_287.0),
    ])
    func rfc3339Times(text: String, seconds: Double) throws {
        let date = try #require(NomadTime(rawValue: text).date)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_01)
    }

    @Test(arguments: [
        ("2026-11-25T21:46:34+01:00", 1_795_639_594.0),
        ("2024-02-29T23:59:59-05:30", 1_709_270_999.0),
        ("1969-12-31T23:59:59.5Z", -0.5),
        ("2000-03-01T00:00:00z", 951_868_800.0),
    ])
    func rfc3339TimesWithOffsetsLeapDaysAndEpoch(text: String, seconds: Double) throws {
        let date = try #require(NomadTime(rawValue: text).date)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_01)
    }

    @Test(arguments: ["2026-11-25 20:46:34Z", "2026-11-25T20:46:34", "2026-11-25T20:46:34.Z", "2026-13-25T20:46:34Z", "2026-11-25T20:46:34+0100", "2026-11-25T20:46:34Zx", ""])
    func textThatIsNotRFC3339HasNoDate(text: String) {
        #expect(NomadTime(rawValue: text).date == nil)
    }

    @Test func parsingAgreesWithFoundationInEveryTimeZone() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for step in 0..<500 {
            let date = Date(timeIntervalSince1970: Double(step) * 4_938_271 - 1_000_000_000)
            formatter.timeZone = TimeZone(secondsFromGMT: (step % 29 - 14) * 1800)
            let text = formatter.string(from: date)
            #expect(NomadTime(rawValue: text).date == date, "\(text)")
        }
    }

    @Test func goZeroTimeHasNoDate() {
        #expect(NomadTime(rawValue: "0001-01-01T00:00:00Z").date == nil)
        #expect(NomadTime(rawValue: "not a time").date == nil)
    }

    @Test func formattedTimeParsesBack() throws {
        let date = Date(timeIntervalSince1970: 1_795_639_594.25)
        let parsed = try #require(NomadTime(date).date)
        #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_01)
    }

    @Test func durationsAreNanoseconds() throws {
        #expect(NomadDuration(.seconds(5)).nanoseconds == 5_000_000_000)
        #expect(NomadDuration(.milliseconds(1500)) == .milliseconds(1500))
        #expect(NomadDuration.seconds(2).duration == .seconds(2))
        let encoded = try JSONEncoder().encode(RestartPolicy(attempts: 2, interval: .seconds(60), delay: .seconds(1), mode: .delay))
        let json = try #require(JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(json["Interval"] as? Int == 60_000_000_000)
        #expect(json["Mode"] as? String == "delay")
        #expect(json["Attempts"] as? Int == 2)
    }

    @Test func unsetFieldsAreOmittedAndKeysArePascalCase() throws {
        let task = NomadTask(name: "web", driver: "raw_exec", config: TaskConfig(command: "/bin/sh", args: ["-c", "true"]), killTimeout: .seconds(5))
        let json = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(task)) as? [String: Any])
        #expect(Set(json.keys) == ["Name", "Driver", "Config", "KillTimeout"])
        let config = try #require(json["Config"] as? [String: Any])
        #expect(config["command"] as? String == "/bin/sh")
    }

    @Test func unknownDriverConfigKeysSurvive() throws {
        let text = #"{"command": "/bin/app", "args": ["x"], "image": "redis:7", "ports": ["db"], "mount": {"type": "bind", "readonly": true}, "pid_mode": "host"}"#
        let config = try JSONDecoder().decode(TaskConfig.self, from: Data(text.utf8))
        #expect(config.command == "/bin/app")
        #expect(config.pidMode == "host")
        #expect(config.extra["image"] == .string("redis:7"))
        #expect(config.extra["mount"] == .object(["type": .string("bind"), "readonly": .bool(true)]))
        let again = try JSONDecoder().decode(TaskConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
    }

    @Test func openEnumsKeepUnknownValues() throws {
        let status = try JSONDecoder().decode(AllocationClientStatus.self, from: Data(#""brand-new""#.utf8))
        #expect(status.rawValue == "brand-new")
        #expect(status != .running)
    }

    @Test func unknownFieldsAndNullsAreTolerated() throws {
        let text = #"{"ID": "a", "FutureField": {"x": 1}, "TaskStates": null, "NodePool": "gpu", "ClientStatus": "running"}"#
        let stub = try JSONDecoder().decode(AllocationListStub.self, from: Data(text.utf8))
        #expect(stub.id == "a")
        #expect(stub.taskStates == nil)
        #expect(stub.clientStatus == .running)
    }
}

@Suite("Exec and log frames")
struct FrameTests {
    /// The frames of `06-exec-websocket.txt`, no-tty session.
    @Test func recordedExecFramesDecode() throws {
        let received = try [
            #"{"stdout":{"data":"Z290IGhlbGxvCg=="}}"#,
            #"{"stderr":{"data":"d2Fybgo="}}"#,
            #"{"stderr":{"close":true}}"#,
            #"{"stdout":{"close":true}}"#,
            #"{"exited":true,"result":{"exit_code":7}}"#,
        ].map { try JSONDecoder().decode(ExecFrame.self, from: Data($0.utf8)) }
        #expect(received[0].stdout?.bytes == Data("got hello\n".utf8))
        #expect(received[1].stderr?.bytes == Data("warn\n".utf8))
        #expect(received[2].stderr?.close == true)
        #expect(received[4].exited == true)
        #expect(received[4].result?.exitCode == 7)
    }

    @Test func execFramesEncodeAsNomadExpects() throws {
        let stdin = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ExecFrame.stdin(Data("hello\n".utf8)))) as? [String: [String: String]]
        #expect(stdin?["stdin"]?["data"] == "aGVsbG8K")
        let close = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ExecFrame.stdinClose)) as? [String: [String: Bool]]
        #expect(close?["stdin"]?["close"] == true)
        let size = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ExecFrame.terminalSize(width: 120, height: 40))) as? [String: [String: Int]]
        #expect(size?["tty_size"] == ["height": 40, "width": 120])
    }

    @Test func logFramesAndHeartbeats() throws {
        let frame = try JSONDecoder().decode(StreamFrame.self, from: Data(#"{"Data":"bGluZSAzMwo=","File":"alloc/logs/web.stdout.0","Offset":262}"#.utf8))
        #expect(frame.bytes == Data("line 33\n".utf8))
        #expect(frame.offset == 262)
        #expect(!frame.isHeartbeat)
        let heartbeat = try JSONDecoder().decode(StreamFrame.self, from: Data("{}".utf8))
        #expect(heartbeat.isHeartbeat)
        let truncated = try JSONDecoder().decode(StreamFrame.self, from: Data(#"{"File":"alloc/logs/web.stdout.0","FileEvent":"file truncated"}"#.utf8))
        #expect(truncated.fileEvent == "file truncated")
        #expect(!truncated.isHeartbeat)
    }
}
