import CNomadSimShims
import Foundation
import Synchronization

/// How a task process ended.
struct ProcessExit: Sendable, Equatable {
    /// The exit status, or 128 + signal when killed by a signal (as Nomad's executor reports it).
    var exitCode: Int
    /// The signal that killed the process, 0 when it exited.
    var signal: Int
}

/// What to start: a command with its arguments, environment, working directory and user.
struct LaunchSpec: Sendable {
    var command: String
    var arguments: [String]
    var environment: [String: String]
    var workingDirectory: String
    /// Run as this user when the simulator runs as root and the user exists.
    var user: String?
}

/// Why a process could not be started, in the words of Go's `exec` package (Nomad's texts).
struct LaunchFailure: Error, Sendable {
    var message: String
}

/// Starts real processes in their own session (pid = process group id), waits for them on a
/// dedicated thread and signals their whole process group.
enum ProcessLauncher {
    /// Resolves `command` as Go's `exec.LookPath` does, with `PATH` from the task's environment.
    static func resolve(_ command: String, path: String?) throws(LaunchFailure) -> String {
        if command.contains("/") { return command }
        let searchPath = path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw LaunchFailure(message: "exec: \"\(command)\": executable file not found in $PATH")
    }

    /// Process groups of tasks this process started that may still have members. The watchdog
    /// (`nsim_watchdog_start`) SIGKILLs them if this process ends without shutting them down.
    private static let trackedGroups = Mutex<Set<Int32>>([])

    /// Records a new task's process group with the watchdog, forgetting groups that have emptied
    /// (their ids may be reused by unrelated processes).
    private static func track(_ pgid: Int32) {
        let emptied = trackedGroups.withLock { groups -> [Int32] in
            let emptied = Array(groups.filter { !groupAlive($0) })
            groups.subtract(emptied)
            groups.insert(pgid)
            return emptied
        }
        for group in emptied { nsim_watchdog_track(group, 0) }
        nsim_watchdog_track(pgid, 1)
    }

    /// Starts the process with the given standard streams (-1 = /dev/null) and returns its pid.
    static func spawn(
        _ spec: LaunchSpec, stdin: Int32 = -1, stdout: Int32, stderr: Int32
    ) async throws(LaunchFailure) -> Int32 {
        try await onSpawnerThread { () throws(LaunchFailure) in
            try spawnNow(spec, stdin: stdin, stdout: stdout, stderr: stderr, pty: nil).pid
        }
    }

    /// Starts the process under a new pty of the given size; returns its pid and the pty master.
    static func spawnWithPTY(_ spec: LaunchSpec, rows: UInt16, columns: UInt16) async throws(LaunchFailure) -> (pid: Int32, master: Int32) {
        try await onSpawnerThread { () throws(LaunchFailure) in
            try spawnNow(spec, stdin: -1, stdout: -1, stderr: -1, pty: (rows, columns))
        }
    }

    /// Work waiting for the spawner thread.
    private static let spawnQueue = Mutex<[@Sendable () -> Void]>([])
    private static let spawnWork = DispatchSemaphore(value: 0)
    /// One thread that lives as long as the process forks every task: children die with it
    /// (PR_SET_PDEATHSIG follows the forking thread), never with a pool thread that retires.
    private static let spawner: Void = {
        // Tasks' grandchildren escape PR_SET_PDEATHSIG; the watchdog catches them.
        _ = nsim_watchdog_start()
        let thread = Thread {
            while true {
                spawnWork.wait()
                let job = spawnQueue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                job?()
            }
        }
        thread.name = "nomad-sim-spawner"
        thread.start()
    }()

    private static func onSpawnerThread<R: Sendable>(_ body: @escaping @Sendable () throws(LaunchFailure) -> R) async throws(LaunchFailure) -> R {
        _ = spawner
        let result: Result<R, LaunchFailure> = await withCheckedContinuation { continuation in
            spawnQueue.withLock {
                $0.append {
                    do throws(LaunchFailure) {
                        continuation.resume(returning: .success(try body()))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
            spawnWork.signal()
        }
        return try result.get()
    }

    private static func spawnNow(
        _ spec: LaunchSpec, stdin: Int32, stdout: Int32, stderr: Int32, pty: (UInt16, UInt16)?
    ) throws(LaunchFailure) -> (pid: Int32, master: Int32) {
        let path = try resolve(spec.command, path: spec.environment["PATH"])
        var uid: Int32 = -1
        var gid: Int32 = -1
        if let user = spec.user, !user.isEmpty, geteuid() == 0 {
            var foundUID: Int32 = 0
            var foundGID: Int32 = 0
            if nsim_lookup_user(user, &foundUID, &foundGID) == 0 {
                uid = foundUID
                gid = foundGID
            }
        }
        let argv = [path] + spec.arguments
        let envp = spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var spawnErrno: Int32 = 0
        var master: Int32 = -1
        let pid = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envpPointer in
                if let (rows, columns) = pty {
                    return nsim_spawn(
                        path, argvPointer, envpPointer, spec.workingDirectory, -1, -1, -1, uid, gid, &master, rows, columns,
                        &spawnErrno)
                }
                return nsim_spawn(
                    path, argvPointer, envpPointer, spec.workingDirectory, stdin, stdout, stderr, uid, gid, nil, 0, 0,
                    &spawnErrno)
            }
        }
        guard pid > 0 else {
            let reason = String(cString: strerror(spawnErrno)).lowercased()
            throw LaunchFailure(message: "fork/exec \(path): \(reason)")
        }
        track(pid)
        return (pid, master)
    }

    /// Waits for the process on a dedicated thread (never blocking the concurrency pool).
    static func wait(for pid: Int32) async -> ProcessExit {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var exitCode: Int32 = 0
                var signal: Int32 = 0
                if nsim_wait(pid, &exitCode, &signal) != 0 {
                    continuation.resume(returning: ProcessExit(exitCode: -1, signal: 0))
                } else {
                    continuation.resume(returning: ProcessExit(exitCode: Int(exitCode), signal: Int(signal)))
                }
            }
            thread.name = "nomad-sim-wait-\(pid)"
            thread.start()
        }
    }

    /// Sends `signal` to the process group led by `pid` (the task and everything it started).
    static func signalGroup(_ pid: Int32, _ signal: Int32) {
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    /// Whether any process of the group led by `pid` is still alive.
    static func groupAlive(_ pid: Int32) -> Bool {
        kill(-pid, 0) == 0
    }

    /// The pids whose process group is `pgid`, from /proc.
    static func groupMembers(_ pgid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let stat = procStat(pid), stat.pgrp == pgid else { return nil }
            return pid
        }.sorted()
    }

    /// Fields of /proc/PID/stat: process group, user and system ticks, resident pages.
    static func procStat(_ pid: Int32) -> (pgrp: Int32, userTicks: Double, systemTicks: Double, rssBytes: Int64)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); pgrp is field 5, utime 14, stime 15, rss 24.
        guard fields.count > 21, let pgrp = Int32(fields[2]), let user = Double(fields[11]), let system = Double(fields[12]),
            let rssPages = Int64(fields[21])
        else { return nil }
        return (pgrp, user, system, rssPages * Int64(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// Maps a Nomad/Go signal name (`SIGTERM`, `SIGINT`...) to its number; SIGTERM when unknown.
    static func signalNumber(_ name: String?) -> Int32 {
        knownSignalNumber(name ?? "") ?? SIGTERM
    }

    /// The number of a signal name Nomad accepts, or `nil` when the name is unknown.
    static func knownSignalNumber(_ name: String) -> Int32? {
        switch name.uppercased() {
        case "SIGINT": return SIGINT
        case "SIGQUIT": return SIGQUIT
        case "SIGKILL": return SIGKILL
        case "SIGHUP": return SIGHUP
        case "SIGUSR1": return SIGUSR1
        case "SIGUSR2": return SIGUSR2
        case "SIGTERM": return SIGTERM
        default: return nil
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
