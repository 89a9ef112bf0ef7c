import Synchronization

/// Keys waiting to be reconciled. A key queued twice before it is taken is processed once; a key
/// added while it is being processed is processed again afterwards, so no change is missed. Up to
/// `workers` different keys are processed at once, never the same key twice at once.
final class WorkQueue: Sendable {
    private struct Keys {
        /// Queued and not yet taken.
        var waiting: Set<String> = []
        /// Being processed now.
        var active: Set<String> = []
        /// Added while being processed: queued again when that processing ends.
        var again: Set<String> = []
    }

    private let keys = Mutex(Keys())
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream<String>.makeStream()
    }

    /// Queues `key` unless it is already waiting (or, if it is being processed, once that ends).
    func add(_ key: String) {
        let isNew = keys.withLock { keys in
            if keys.active.contains(key) {
                keys.again.insert(key)
                return false
            }
            return keys.waiting.insert(key).inserted
        }
        if isNew { continuation.yield(key) }
    }

    /// Queues `key` again after `delay` (a retry with backoff).
    func add(_ key: String, after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            self.add(key)
        }
    }

    /// Takes keys until the queue is finished or the task cancelled, running `body` for up to
    /// `workers` different keys at once (one key's runs never overlap, and run in queue order).
    func process(workers: Int = 1, _ body: @escaping @Sendable (String) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await key in stream {
                if running >= max(workers, 1) {
                    // Still `waiting` while it waits for a worker: adds of it meanwhile are this same run.
                    await group.next()
                    running -= 1
                }
                keys.withLock { keys in
                    keys.waiting.remove(key)
                    keys.active.insert(key)
                }
                running += 1
                group.addTask {
                    await body(key)
                    let again = self.keys.withLock { keys in
                        keys.active.remove(key)
                        return keys.again.remove(key) != nil
                    }
                    if again { self.add(key) }
                }
            }
        }
    }

    /// Ends ``process(workers:_:)`` once the keys already taken are done.
    func finish() { continuation.finish() }
}
