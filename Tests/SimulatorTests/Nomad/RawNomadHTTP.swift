import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@testable import TestSupport

/// A raw HTTP view of a Nomad agent for the simulator tests: status, headers and body as sent.
struct RawNomadHTTP {
    let address: String
    var token: String? = nil

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: WireJSON { (try? WireJSON.parse(body)) ?? .null }
        var index: UInt64? { headers.first(name: "X-Nomad-Index").flatMap(UInt64.init) }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, timeout: TimeAmount = .seconds(30)) async throws -> Answer {
        var request = HTTPClientRequest(url: address + path)
        request.method = method
        if let token { request.headers.add(name: "X-Nomad-Token", value: token) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }

    func get(_ path: String, timeout: TimeAmount = .seconds(30)) async throws -> Answer {
        try await request(.GET, path, timeout: timeout)
    }

    /// Registers `job` (a JSON object text) and returns the register answer.
    func register(_ job: String) async throws -> Answer {
        try await request(.POST, "/v1/jobs", body: #"{"Job": \#(job)}"#)
    }

    /// Polls `read` until `condition` holds or the deadline passes; fails naming `what`.
    func waitFor<T>(
        _ what: String, timeout: Duration = .seconds(20), _ read: () async throws -> T, until condition: (T) -> Bool
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var last = try await read()
        while !condition(last) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what); last value: \(last)")
                return last
            }
            try await Task.sleep(for: .milliseconds(100))
            last = try await read()
        }
        return last
    }

    /// The first allocation of a job, once it exists.
    func firstAllocation(of job: String) async throws -> WireJSON {
        let list = try await waitFor("an allocation of \(job)") {
            try await get("/v1/job/\(job)/allocations").json.array ?? []
        } until: { !$0.isEmpty }
        let id = list.first?["ID"]?.string ?? ""
        return try await get("/v1/allocation/\(id)").json
    }

    /// Waits until the allocation's task is in `state` and returns the allocation.
    func waitForTask(_ allocationID: String, _ task: String, state: String, timeout: Duration = .seconds(20)) async throws -> WireJSON {
        try await waitFor("task \(task) of \(allocationID) to be \(state)", timeout: timeout) {
            try await get("/v1/allocation/\(allocationID)").json
        } until: { $0["TaskStates"]?[task]?["State"]?.string == state }
    }
}

/// Test jobs in the shape the recordings used.
enum TestJobs {
    static func job(
        id: String, type: String = "service", script: String, taskName: String = "main", restart: String = #"{"Attempts": 2, "Interval": 60000000000, "Delay": 1000000000, "Mode": "delay"}"#,
        extraTasks: String = "", groupExtras: String = "", jobExtras: String = "", taskExtras: String = ""
    ) -> String {
        """
        {"ID": "\(id)", "Name": "\(id)", "Type": "\(type)", "Datacenters": ["dc1"], \(jobExtras)
         "TaskGroups": [{"Name": "pod", "Count": 1, \(groupExtras)
           "RestartPolicy": \(restart),
           "EphemeralDisk": {"SizeMB": 50},
           "Tasks": [\(extraTasks){"Name": "\(taskName)", "Driver": "raw_exec", \(taskExtras)
             "Config": {"command": "/bin/sh", "args": ["-c", \(jsonString(script))]},
             "Env": {"POD_NAME": "web-0"}, "Resources": {"CPU": 100, "MemoryMB": 64},
             "KillTimeout": 2000000000, "KillSignal": "SIGTERM", "LogConfig": {"MaxFiles": 2, "MaxFileSizeMB": 1}}]}]}
        """
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}

/// What the operating system says about processes (not the simulator's word).
enum OSProcess {
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie is not running.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    /// Pids whose environment contains `marker` (the tests tag their tasks with a unique env var).
    static func pids(withEnvironment marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return String(decoding: data, as: UTF8.self).split(separator: "\0").contains { $0 == marker } && alive(pid)
        }
    }
}
