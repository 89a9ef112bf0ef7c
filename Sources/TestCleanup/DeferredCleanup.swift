import Foundation
import Synchronization
import Testing

/// Cleanups a test starts from a `defer`, which cannot `await` (stopping a harness, deleting what a
/// test made on a real cluster). Started as plain tasks they may outlive the test and be cut off
/// when the test process exits, leaving Nomad jobs running and nodes, namespaces and volumes behind
/// on real servers; started here, a test with the ``Trait/awaitsCleanup`` trait ends only once
/// they have finished.
public enum DeferredCleanup {
    @TaskLocal fileprivate static var pending: PendingCleanups?

    /// Starts `work` at once; under ``Trait/awaitsCleanup`` the test waits for it before it ends.
    public static func start(_ work: @escaping @Sendable () async -> Void) {
        let task = Task { await work() }
        pending?.add(task)
    }
}

/// The cleanups one test started.
private final class PendingCleanups: Sendable {
    private let tasks = Mutex<[Task<Void, Never>]>([])

    func add(_ task: Task<Void, Never>) {
        tasks.withLock { $0.append(task) }
    }

    /// Waits for every cleanup started so far, and for those they start in turn; a cleanup still
    /// running after `limit` is left to finish on its own (and said so), so a hung shutdown cannot
    /// hold the whole test run.
    func finish(test: String, limit: Duration = .seconds(120)) async {
        while let next = tasks.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            // Unstructured racers: a task group would wait for the cleanup anyway.
            let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let outcome = FirstOutcome(continuation)
                let timer = Task {
                    try? await Task.sleep(for: limit)
                    outcome.resume(false)
                }
                Task {
                    await next.value
                    timer.cancel()
                    outcome.resume(true)
                }
            }
            if !finished {
                FileHandle.standardError.write(Data("warning: a cleanup of test \(test) did not finish within \(limit); not waiting for it\n".utf8))
            }
        }
    }
}

/// Resumes a continuation with the first of several outcomes.
private final class FirstOutcome: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Bool) {
        continuation.withLock { pending in
            pending?.resume(returning: value)
            pending = nil
        }
    }
}

/// Makes every test of a suite wait, before it ends (passed or failed), for the cleanups it started
/// with ``DeferredCleanup/start(_:)``.
public struct AwaitsCleanupTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !test.isSuite else { return try await function() }
        let pending = PendingCleanups()
        do {
            try await DeferredCleanup.$pending.withValue(pending) { try await function() }
        } catch {
            await pending.finish(test: test.name)
            throw error
        }
        await pending.finish(test: test.name)
    }
}

extension Trait where Self == AwaitsCleanupTrait {
    /// Each test waits for the cleanups it started with ``DeferredCleanup/start(_:)`` before it ends.
    public static var awaitsCleanup: Self { Self() }
}
