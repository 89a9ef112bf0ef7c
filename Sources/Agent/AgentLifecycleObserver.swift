/// Hears the agent's lifecycle milestones; the executable forwards them to systemd (`sd_notify`).
public protocol AgentLifecycleObserver: Sendable {
    /// The Node is registered (or adopted): the agent is ready.
    func nodeRegistered(name: String)
    /// A heartbeat (Lease renewal, Nomad probe, status update) finished, whatever its outcome:
    /// the agent's loop is alive.
    func heartbeatCompleted()
    /// Graceful shutdown began; workloads keep running.
    func stopping()
}
