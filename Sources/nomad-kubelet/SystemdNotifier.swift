import Agent
import Foundation
import Synchronization

/// systemd's readiness protocol (`Type=notify`), written by hand: datagrams such as `READY=1` to the
/// AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
/// Sends `READY=1` once the Node is registered, `WATCHDOG=1` every half `$WATCHDOG_USEC` while
/// heartbeats keep completing, and `STOPPING=1` at shutdown. Does nothing outside systemd.
final class SystemdNotifier: AgentLifecycleObserver {
    private let socketAddress: Data
    /// The watchdog interval systemd asked for, when it asked this process.
    private let watchdogInterval: Duration?
    /// How old the last heartbeat may be for the agent to count as alive.
    private let heartbeatDeadline: Duration
    private let lastHeartbeat = Mutex<ContinuousClock.Instant?>(nil)
    private let watchdog = Mutex<Task<Void, Never>?>(nil)

    /// A notifier for this process's environment; `nil` when not started by systemd with `Type=notify`.
    init?(environment: [String: String], leaseRenewInterval: Duration) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@") else { return nil }
        var bytes = Data(path.utf8)
        if path.hasPrefix("@") { bytes[bytes.startIndex] = 0 }  // the abstract namespace starts with a NUL byte
        socketAddress = bytes
        let forThisProcess = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if forThisProcess, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds)
        } else {
            watchdogInterval = nil
        }
        heartbeatDeadline = max(leaseRenewInterval * 3, .seconds(30))
    }

    func nodeRegistered(name: String) {
        lastHeartbeat.withLock { $0 = .now }
        send("READY=1\nSTATUS=node \(name) registered; running its pods in Nomad")
        guard let watchdogInterval else { return }
        let task = Task { [self] in
            while !Task.isCancelled {
                let alive = lastHeartbeat.withLock { last in last.map { ContinuousClock.now - $0 < heartbeatDeadline } ?? false }
                if alive { send("WATCHDOG=1") }
                try? await Task.sleep(for: watchdogInterval / 2)
            }
        }
        watchdog.withLock { $0 = task }
    }

    func heartbeatCompleted() {
        lastHeartbeat.withLock { $0 = .now }
    }

    func stopping() {
        watchdog.withLock { task in
            task?.cancel()
            task = nil
        }
        send("STOPPING=1\nSTATUS=stopping; workloads keep running in Nomad")
    }

    /// Sends one datagram; failures are ignored (systemd then reports the unit as failing to notify).
    private func send(_ message: String) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard socketAddress.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: socketAddress)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + socketAddress.count + (socketAddress.first == 0 ? 0 : 1))
        let payload = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, payload, payload.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
    }
}
