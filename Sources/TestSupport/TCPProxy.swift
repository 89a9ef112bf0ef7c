import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a server, which a test can take down and bring back on
/// the same port: the way to make a real server (a Nomad agent, say) unreachable for the code
/// under test without stopping it. While down, connections are refused and open ones are closed.
public final class TCPProxy: Sendable {
    /// The proxy's port on 127.0.0.1.
    public let port: Int
    private let upstreamHost: String
    private let upstreamPort: Int
    private let state = Mutex(State())

    private struct State {
        var listener: Task<Void, Never>?
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    /// `host:port` of the proxy, to put in a URL.
    public var hostAndPort: String { "127.0.0.1:\(port)" }

    private init(port: Int, upstreamHost: String, upstreamPort: Int) {
        self.port = port
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
    }

    /// Starts relaying an ephemeral port of 127.0.0.1 to `upstreamHost:upstreamPort`.
    public static func start(upstreamHost: String, upstreamPort: Int) async throws -> TCPProxy {
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close()
        let proxy = TCPProxy(port: port, upstreamHost: upstreamHost, upstreamPort: upstreamPort)
        try await proxy.up()
        return proxy
    }

    /// Listens again (after ``down()``); connections are relayed as before.
    public func up() async throws {
        guard state.withLock({ $0.serverChannel == nil }) else { return }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        let listener = Task<Void, Never> {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask { await self.relay(connection) }
                        }
                    }
                } catch {
                    // The listener was closed by down(): nothing more to accept.
                }
            }
        }
        state.withLock {
            $0.serverChannel = server.channel
            $0.listener = listener
        }
    }

    /// Stops listening (new connections are refused) and closes every relayed connection.
    public func down() async {
        let (server, listener, connections) = state.withLock { state in
            defer {
                state.serverChannel = nil
                state.listener = nil
                state.connections = [:]
            }
            return (state.serverChannel, state.listener, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
        await listener?.value
    }

    /// Takes the proxy down for good.
    public func shutdown() async { await down() }

    private func relay(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let id = ObjectIdentifier(connection.channel)
        state.withLock { $0.connections[id] = connection.channel }
        defer { state.withLock { _ = $0.connections.removeValue(forKey: id) } }
        do {
            let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: upstreamHost, port: upstreamPort) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
            let upstreamID = ObjectIdentifier(upstream.channel)
            state.withLock { $0.connections[upstreamID] = upstream.channel }
            defer { state.withLock { _ = $0.connections.removeValue(forKey: upstreamID) } }
            try await connection.executeThenClose { clientIn, clientOut in
                try await upstream.executeThenClose { serverIn, serverOut in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await bytes in clientIn { try await serverOut.write(bytes) }
                            serverOut.finish()
                        }
                        group.addTask {
                            for try await bytes in serverIn { try await clientOut.write(bytes) }
                            clientOut.finish()
                        }
                        try await group.waitForAll()
                    }
                }
            }
        } catch {
            try? await connection.channel.close()
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released), for a test process
/// that must be told its port (a pseudo-container's static host port).
public func freeLoopbackPort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    defer { try? channel.close().wait() }
    return channel.localAddress?.port ?? 0
}
