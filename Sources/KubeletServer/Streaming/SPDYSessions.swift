import Logging
import NIOCore
import NIOPosix
import SPDY

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
    /// connection lasts.
    private func servePortForward(_ connection: SPDYConnection, plan: StreamingPlan, host: String, logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            var pending: [String: PortForwardPair] = [:]
            for await stream in connection.inboundStreams {
                do { try await stream.reply() } catch { break }
                let type = stream.headers.first(name: "streamtype") ?? ""
                let requestID = stream.headers.first(name: "requestid") ?? Self.legacyRequestID(stream, type: type)
                var pair = pending[requestID] ?? PortForwardPair()
                switch type {
                case "error": pair.error = stream
                case "data": pair.data = stream
                default:
                    logger.debug("ignoring a port-forward stream of unknown type", metadata: ["streamtype": "\(type)"])
                    continue
                }
                guard let error = pair.error, let data = pair.data else {
                    pending[requestID] = pair
                    continue
                }
                pending[requestID] = nil
                group.addTask {
                    await self.forward(data: data, error: error, host: host, request: plan.request, logger: logger)
                }
            }
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
