import Foundation

/// Polls `probe` until it returns a value, throwing ``WaitTimedOut`` naming `what` after `timeout`:
/// the poll-with-deadline that end-to-end tests use where no event exists to wait on.
public func eventually<T>(_ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw WaitTimedOut(what: what, timeout: timeout)
}

/// Polls `condition` until it is `true`, throwing ``WaitTimedOut`` naming `what` after `timeout`.
///
/// The overload for predicates: without it a `Bool` closure would match the generic version above
/// as a non-nil `Bool?` and return at once with `false`, waiting for nothing.
public func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    _ = try await eventually(what, timeout: timeout) { () async throws -> Bool? in try await condition() ? true : nil }
}

/// Whether any process of the process group `pgid` is alive (a task's leader and what it started).
public func processGroupExists(_ pgid: Int32) -> Bool {
    kill(-pgid, 0) == 0 || errno == EPERM
}

/// Thrown by ``eventually(_:timeout:_:)``.
public struct WaitTimedOut: Error, CustomStringConvertible {
    /// What the test was waiting for.
    public var what: String
    /// How long it waited.
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Whether a process exists, asked of the OS (`kill(pid, 0)`; EPERM means it exists under another user).
public func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}
