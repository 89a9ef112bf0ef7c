import Synchronization

/// Keys waiting to be reconciled. A key queued twice before it is taken is processed once; a key
/// added while it is being processed is processed again afterwards, so no change is missed.
final class WorkQueue: Sendable {
    private let queued = Mutex<Set<String>>([])
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream<String>.makeStream()
    }

    /// Queues `key` unless it is already waiting.
    func add(_ key: String) {
        let isNew = queued.withLock { $0.insert(key).inserted }
        if isNew { continuation.yield(key) }
    }

    /// Queues `key` again after `delay` (a retry with backoff).
    func add(_ key: String, after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            self.add(key)
        }
    }

    /// Takes keys one at a time until the queue is finished or the task cancelled.
    func process(_ body: (String) async -> Void) async {
        for await key in stream {
            _ = queued.withLock { $0.remove(key) }
            await body(key)
        }
    }

    /// Ends ``process(_:)``.
    func finish() { continuation.finish() }
}
