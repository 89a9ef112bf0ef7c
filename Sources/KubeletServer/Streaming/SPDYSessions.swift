import Logging
import NIOCore
import NIOPosix
import SPDY
import Synchronization

extension KubeletStreaming {
    /// Serves an upgraded SPDY connection until it closes.
    func serve(spdy connection: SPDYConnection, plan: StreamingPlan) async {
        let logger = self.logger.with(pod: plan.request.podDescription, kind: plan.request.kind)
        switch plan.target {
        case .exec(let target):
            await serveExec(connection, plan: plan, target: target, logger: logger)
        case .portForward(let host):
            await servePortForward(connection, plan: plan, host: host, logger: logger)
        }
        await connection.close()
    }

    // MARK: exec

    /// kube-apiserver opens one stream per channel (`streamtype` error, stdin, stdout, stderr,
    /// resize); the kubelet waits for all it expects, runs the command, FINs the output streams,
    /// writes the exit status on the error stream, FINs it and sends GOAWAY.
    private func serveExec(_ connection: SPDYConnection, plan: StreamingPlan, target: ExecTarget, logger: Logger) async {
        let version = RemoteCommandProtocol(rawValue: plan.subprotocol) ?? .v1
        let expected = plan.request.expectedStreamCount(version: version)
        // The deadline closes the connection itself (on its event loop): a peer that stops inside a
        // frame, or never opens its streams, loses the connection, and the collection below ends
        // with it, however busy this process's tasks are.
        let creationDeadline = connection.scheduleClose(after: configuration.streamCreationTimeout)
        let collected = await collectExecStreams(connection, expected: expected, version: version)
        creationDeadline.cancel()
        guard let streams = collected else {
            logger.info("exec client did not open its streams in time; closing", metadata: ["expected": "\(expected)"])
            return
        }
        let stdout = plan.request.stdout ? streams["stdout"] : nil
        let stderr = plan.request.stderr ? streams["stderr"] : nil
        let io = ExecClientIO(
            stdin: plan.request.stdin ? streams["stdin"]?.inbound : nil,
            resize: plan.request.tty && version.supportsResize ? streams["resize"]?.inbound : nil,
            writeStdout: { bytes in try await stdout?.write(bytes) },
            writeStderr: { bytes in try await stderr?.write(bytes) },
            onClientGone: { callback in connection.onClose(callback) }
        )
        logger.debug("exec started", metadata: ["allocation": "\(target.allocationID)", "task": "\(target.task)", "protocol": "\(plan.subprotocol)"])
        guard let status = await ExecBridge.run(nomad: nomad, target: target, request: plan.request, io: io, logger: logger) else { return }
        try? await stdout?.close()
        try? await stderr?.close()
        if let error = streams["error"] {
            let text = version.writesStatusAsJSON ? status.json : status.plainText
            if let text { try? await error.write(ByteBuffer(string: text)) }
            try? await error.close()
        }
        for name in ["stdin", "resize"] { try? await streams[name]?.close() }
        await finish(connection)
    }

    /// Replies to every stream the client opens and returns them by `streamtype` once `expected`
    /// known ones arrived; nil when the connection ended first (the client went away, or the
    /// stream creation deadline closed it).
    private func collectExecStreams(_ connection: SPDYConnection, expected: Int, version: RemoteCommandProtocol) async -> [String: SPDYStream]? {
        let known: Set = version.supportsResize ? ["error", "stdin", "stdout", "stderr", "resize"] : ["error", "stdin", "stdout", "stderr"]
        var streams: [String: SPDYStream] = [:]
        for await stream in connection.inboundStreams {
            do { try await stream.reply() } catch { return nil }
            guard let type = stream.headers.first(name: "streamtype"), known.contains(type) else { continue }
            streams[type] = stream
            if streams.count >= expected { return streams }
        }
        return nil
    }

    /// Sends GOAWAY and waits for the client to end its streams (kube-apiserver answers with
    /// RST_STREAM for each and its own GOAWAY), closing after the grace period at the latest.
    private func finish(_ connection: SPDYConnection) async {
        await connection.goAway()
        let grace = configuration.closeGracePeriod
        let closer = Task {
            try await Task.sleep(for: grace)
            await connection.close()
        }
        await connection.closed()
        closer.cancel()
    }

    // MARK: port-forward

    /// kube-apiserver opens an error and a data stream per forwarded connection, both with the
    /// same `requestid` and the `port`; each pair is tunnelled to `host:port` while the SPDY
    /// connection lasts. A pair not complete within the stream creation timeout is dropped, with the
    /// kubelet's "timed out waiting for streams" on its error stream when that one came.
    private func servePortForward(_ connection: SPDYConnection, plan: StreamingPlan, host: String, logger: Logger) async {
        let pending = PendingPortForwards()
        var pairingDeadlines: [Task<Void, Never>] = []
        await withTaskGroup(of: Void.self) { group in
            for await stream in connection.inboundStreams {
                do { try await stream.reply() } catch { break }
                let type = stream.headers.first(name: "streamtype") ?? ""
                guard type == "error" || type == "data" else {
                    logger.debug("ignoring a port-forward stream of unknown type", metadata: ["streamtype": "\(type)"])
                    continue
                }
                let requestID = stream.headers.first(name: "requestid") ?? Self.legacyRequestID(stream, type: type)
                let (complete, isNew) = pending.add(stream, isError: type == "error", requestID: requestID)
                if let complete, let data = complete.data, let error = complete.error {
                    group.addTask {
                        await self.forward(data: data, error: error, host: host, request: plan.request, logger: logger)
                    }
                } else if isNew {
                    let timeout = configuration.streamCreationTimeout
                    pairingDeadlines.append(Task {
                        guard (try? await Task.sleep(for: timeout)) != nil,
                              let stale = pending.remove(requestID) else { return }
                        logger.info("port-forward request did not open both streams in time", metadata: ["requestid": "\(requestID)"])
                        try? await stale.error?.write(ByteBuffer(string: "(request=\(requestID)) timed out waiting for streams"))
                        try? await stale.error?.close()
                        try? await stale.data?.close()
                    })
                }
            }
            for deadline in pairingDeadlines { deadline.cancel() }
        }
    }

    /// Clients before the `requestid` header: the error stream's id, or the data stream's id minus 2.
    private static func legacyRequestID(_ stream: SPDYStream, type: String) -> String {
        String(type == "data" ? Int(stream.id.rawValue) - 2 : Int(stream.id.rawValue))
    }

    /// Tunnels one data stream to `host:port`; failures go to the error stream as text, as the
    /// kubelet writes them. Both streams are half-closed at the end.
    private func forward(data: SPDYStream, error: SPDYStream, host: String, request: StreamingRequest, logger: Logger) async {
        if let failure = await tunnel(data, host: host, logger: logger) {
            try? await error.write(ByteBuffer(string: failure.message(pod: request.pod, uid: request.uid ?? "")))
        }
        try? await data.close()
        try? await error.close()
    }

    /// Copies between the data stream and a new connection to the pod's port until the pod's side
    /// ends (the kubelet's copy ends there too); the client's FIN half-closes the pod connection.
    private func tunnel(_ data: SPDYStream, host: String, logger: Logger) async -> PortForwardFailure? {
        let portText = data.headers.first(name: "port") ?? ""
        guard let port = Int(portText), (1...65535).contains(port) else { return .invalidPort(portText) }
        let upstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(configuration.portForwardConnectTimeout / .milliseconds(1))))
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        } catch {
            let reason = Self.dialReason(error, host: host, port: port)
            logger.info("port-forward could not reach the pod", metadata: ["port": "\(port)", "error": "\(reason)"])
            return .dial(port: port, reason: reason)
        }
        try? await upstream.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await chunk in data.inbound { try await outbound.write(chunk) }
                    outbound.finish()
                }
                defer { group.cancelAll() }
                for try await chunk in inbound { try await data.write(chunk) }
            }
        }
        logger.debug("port-forward connection ended", metadata: ["port": "\(port)"])
        return nil
    }

    /// How Go's dialer words a failed connection.
    private static func dialReason(_ error: any Error, host: String, port: Int) -> String {
        let address = "dial tcp \(host.contains(":") ? "[\(host)]" : host):\(port)"
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "\(address): connect: connection refused" }
        if case ChannelError.connectTimeout = error { return "\(address): i/o timeout" }
        if error is NIOConnectionError { return "\(address): connect: connection refused" }
        return "\(address): \(error)"
    }
}

/// Why a forwarded connection failed, worded as the kubelet writes it on the error stream.
private enum PortForwardFailure {
    case invalidPort(String)
    case dial(port: Int, reason: String)

    func message(pod: String, uid: String) -> String {
        switch self {
        case .invalidPort(let text): "error parsing port string \(text): invalid port \"\(text)\""
        case .dial(let port, let reason): "error forwarding port \(port) to pod \(pod), uid \(uid): \(reason)"
        }
    }
}

/// The two streams of one forwarded connection, as they arrive.
private struct PortForwardPair {
    var error: SPDYStream?
    var data: SPDYStream?

    var isComplete: Bool { error != nil && data != nil }
}

/// The port-forward pairs of one connection still waiting for their second stream, shared by the
/// connection's stream loop and the pairs' creation deadlines.
private final class PendingPortForwards: Sendable {
    private let pairs = Mutex<[String: PortForwardPair]>([:])

    /// Files `stream` under `requestID`: returns the pair once both streams are there (and forgets
    /// it), and whether this stream started a new pair.
    func add(_ stream: SPDYStream, isError: Bool, requestID: String) -> (complete: PortForwardPair?, isNew: Bool) {
        pairs.withLock { pairs in
            let isNew = pairs[requestID] == nil
            var pair = pairs[requestID] ?? PortForwardPair()
            if isError { pair.error = stream } else { pair.data = stream }
            pairs[requestID] = pair.isComplete ? nil : pair
            return (pair.isComplete ? pair : nil, isNew)
        }
    }

    /// Forgets the incomplete pair of `requestID`, returning it if it was still waiting.
    func remove(_ requestID: String) -> PortForwardPair? {
        pairs.withLock { $0.removeValue(forKey: requestID) }
    }
}

extension Logger {
    /// This logger with the pod and endpoint as metadata.
    func with(pod: String, kind: StreamingRequest.Kind) -> Logger {
        var logger = self
        logger[metadataKey: "pod"] = "\(pod)"
        logger[metadataKey: "endpoint"] = "\(kind.rawValue)"
        return logger
    }
}
