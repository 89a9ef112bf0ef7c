import Foundation
import Synchronization

/// Resource usage read from /proc for real task processes and the host, in Nomad 1.1.2's shapes.
///
/// Like Nomad's executor (gopsutil), CPU is reported as percentages over the interval since the
/// previous sample (100 = one core): `Percent`, `UserMode`, `SystemMode`, and `TotalTicks` = the MHz
/// that share consumed. The first sample of a process covers its whole life. The host's per-core
/// `User`/`System`/`Idle`/`Total` are percentages the same way, from /proc/stat.
enum ResourceStats {
    private static let processSamples = Mutex<[Int32: (user: Double, system: Double, at: Double)]>([:])
    private static let coreSamples = Mutex<[String: (busy: Double, user: Double, system: Double, total: Double)]>([:])

    private static var ticksPerSecond: Double { Double(sysconf(Int32(_SC_CLK_TCK))) }

    private static var uptime: Double {
        (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8)).flatMap { Double($0.split(separator: " ").first ?? "") } ?? 0
    }

    /// The clock of one core in MHz (`cpu MHz` of /proc/cpuinfo; 1000 when unknown).
    private static let coreMHz: Double = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            if let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) { return value }
        }
        return 1000
    }()

    /// CPU percentages of one process since its previous sample.
    private static func processPercent(_ pid: Int32, user: Double, system: Double, startTicks: Double?) -> (user: Double, system: Double) {
        let now = uptime
        return processSamples.withLock { samples in
            let previous = samples[pid] ?? (0, 0, startTicks.map { $0 / ticksPerSecond } ?? now)
            samples[pid] = (user, system, now)
            let elapsed = now - previous.at
            guard elapsed > 0.01 else { return (0, 0) }
            let scale = 100 / ticksPerSecond / elapsed
            return (max(0, user - previous.user) * scale, max(0, system - previous.system) * scale)
        }
    }

    private static func usage(rss: Int64, user: Double, system: Double, devices: WireJSON) -> WireJSON {
        let percent = user + system
        return [
            "CpuStats": [
                "Measured": ["System Mode", "User Mode", "Percent"], "Percent": .double(percent), "SystemMode": .double(system),
                "ThrottledPeriods": 0, "ThrottledTime": 0, "TotalTicks": .double(percent / 100 * coreMHz), "UserMode": .double(user),
            ],
            "DeviceStats": devices,
            "MemoryStats": [
                "Cache": 0, "KernelMaxUsage": 0, "KernelUsage": 0, "MaxUsage": 0, "Measured": ["RSS", "Swap"], "RSS": .int(rss), "Swap": 0,
                "Usage": 0,
            ],
        ]
    }

    static func allocation(_ alloc: AllocationRecord, runner: AllocationRunner) -> WireJSON {
        let now = NomadTime.nowNanos()
        var tasks: [String: WireJSON] = [:]
        var totalRSS: Int64 = 0
        var totalUser = 0.0
        var totalSystem = 0.0
        for task in alloc.group.tasks {
            var pids: [String: WireJSON] = [:]
            var rss: Int64 = 0
            var user = 0.0
            var system = 0.0
            if let leader = runner.pid(of: task.name) {
                for pid in ProcessLauncher.groupMembers(leader) {
                    guard let stat = ProcessLauncher.procStat(pid) else { continue }
                    let percent = processPercent(pid, user: stat.userTicks, system: stat.systemTicks, startTicks: startTicks(pid))
                    pids["\(pid)"] = usage(rss: stat.rssBytes, user: percent.user, system: percent.system, devices: nil)
                    rss += stat.rssBytes
                    user += percent.user
                    system += percent.system
                }
            }
            totalRSS += rss
            totalUser += user
            totalSystem += system
            tasks[task.name] = [
                "Pids": pids.isEmpty ? nil : .object(pids),
                "ResourceUsage": usage(rss: rss, user: user, system: system, devices: nil), "Timestamp": .int(now),
            ]
        }
        return [
            "ResourceUsage": usage(rss: totalRSS, user: totalUser, system: totalSystem, devices: []), "Tasks": .object(tasks),
            "Timestamp": .int(now),
        ]
    }

    /// Field 22 of /proc/PID/stat: when the process started, in ticks since boot.
    private static func startTicks(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Double(fields[19]) : nil
    }

    /// Per-core percentages since the previous host sample (since boot on the first).
    private static func cores() -> [WireJSON] {
        let text = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        var result: [WireJSON] = []
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") && !line.hasPrefix("cpu ") {
            let parts = line.split(separator: " ")
            let values = parts.dropFirst().compactMap { Double($0) }
            guard values.count >= 5 else { continue }
            let name = String(parts[0])
            let user = values[0] + values[1]
            let system = values[2] + (values.count > 6 ? values[5] + values[6] : 0)
            let idle = values[3] + values[4]
            let total = values.prefix(8).reduce(0, +)
            let previous = coreSamples.withLock { samples in
                defer { samples[name] = (total - idle, user, system, total) }
                return samples[name] ?? (0, 0, 0, 0)
            }
            let span = total - previous.total
            guard span > 0 else {
                result.append(["CPU": .string(name), "Idle": 100.0, "System": 0.0, "Total": 0.0, "User": 0.0])
                continue
            }
            let busy = (total - idle - previous.busy) / span * 100
            result.append([
                "CPU": .string(name), "Idle": .double(100 - busy), "System": .double((system - previous.system) / span * 100),
                "Total": .double(busy), "User": .double((user - previous.user) / span * 100),
            ])
        }
        return result
    }

    static func host() -> WireJSON {
        var memory: [String: Int64] = [:]
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 2, let value = Int64(parts[1]) { memory[String(parts[0].dropLast())] = value * 1024 }
            }
        }
        let total = memory["MemTotal"] ?? 0
        let free = memory["MemFree"] ?? 0
        let available = memory["MemAvailable"] ?? 0
        var disk = statvfs()
        statvfs("/", &disk)
        let size = Int64(disk.f_blocks) * Int64(disk.f_frsize)
        let availableDisk = Int64(disk.f_bavail) * Int64(disk.f_frsize)
        let used = size - Int64(disk.f_bfree) * Int64(disk.f_frsize)
        let diskStats: WireJSON = [
            "Available": .int(availableDisk), "Device": "", "InodesUsedPercent": 0.0, "Mountpoint": "", "Size": .int(size),
            "Used": .int(used), "UsedPercent": .double(size > 0 ? Double(used) / Double(size) * 100 : 0),
        ]
        var mounted = diskStats
        mounted["Mountpoint"] = "/"
        let cores = cores()
        let ticksConsumed = cores.reduce(0.0) { $0 + (($1["Total"]?.double ?? 0) / 100 * coreMHz) }
        return [
            "AllocDirStats": diskStats, "CPU": .array(cores), "CPUTicksConsumed": .double(ticksConsumed), "DeviceStats": nil, "DiskStats": [mounted],
            "Memory": ["Available": .int(available), "Free": .int(free), "Total": .int(total), "Used": .int(total - available)],
            "Timestamp": .int(NomadTime.nowNanos()), "Uptime": .int(Int64(uptime)),
        ]
    }
}
