import CNomadSimShims
import Foundation
import Logging
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// `/v1/client/allocation/:id/exec`: runs a command in a task's environment and directory,
/// streaming stdin/stdout/stderr as Nomad's JSON WebSocket frames.
extension NomadRoutes {
    func registerWebSocket(on router: Router<Context>) {
        router.ws("/v1/client/allocation/:id/exec") { request, _ in
            Self.isCrossOrigin(request) ? .dontUpgrade : .upgrade([:])  // CrossOriginUpgradeDemoter answers first
        } onUpgrade: { inbound, outbound, context in
            let request = context.request
            let id = context.requestContext.parameters.get("id") ?? ""
            let query = request.uri.queryParameters
            let taskName = query.get("task") ?? ""
            let tty = query.get("tty") == "true"
            let commandText = query.get("command") ?? ""
            guard let alloc = await cluster.allocation(id: id), let runner = await cluster.runner(for: alloc.id) else {
                // As the real agent: code 1008 (policy violation) with the RPC's error text.
                try await outbound.close(.policyViolation, reason: "Unknown allocation \"\(id)\"")
                return
            }
            guard let task = alloc.group.tasks.first(where: { $0.name == taskName }) else {
                try await outbound.close(.unexpectedServerError, reason: "task not found")
                return
            }
            guard let command = (try? WireJSON.parse(Data(commandText.utf8)))?.array?.compactMap(\.string), !command.isEmpty else {
                try await outbound.close(.unexpectedServerError, reason: "command is not present")
                return
            }
            let spec = LaunchSpec(
                command: command[0], arguments: Array(command.dropFirst()), environment: runner.environment(for: task),
                workingDirectory: runner.taskDirectory(task.name).path, user: task.user.isEmpty ? nil : task.user)
            try await ExecSession.run(spec: spec, tty: tty, inbound: inbound, outbound: outbound)
        }
    }
}

extension NomadRoutes {
    /// The text gorilla/websocket's upgrader and Nomad's handler write for a cross-origin upgrade.
    static let crossOriginRefusal = "Forbidden\nfailed to upgrade connection: websocket: request origin not allowed by Upgrader.CheckOrigin"

    /// Whether an `Origin` header names another host[:port] than the `Host` header (compared
    /// case-insensitively), which Nomad's same-origin check refuses. No `Origin` at all is allowed.
    static func isCrossOrigin(origin: String, host: String) -> Bool {
        guard let components = URLComponents(string: origin), let originHost = components.host else { return true }
        let hostAndPort = originHost + (components.port.map { ":\($0)" } ?? "")
        return hostAndPort.lowercased() != host.lowercased()
    }

    /// ``isCrossOrigin(origin:host:)`` for a request.
    static func isCrossOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return false }
        return isCrossOrigin(origin: origin, host: request.head.authority ?? "")
    }

    /// Exec requests the WebSocket router did not upgrade: a cross-origin upgrade is answered 403,
    /// anything else 400, with the real agent's texts.
    func registerExecRefusals(on router: Router<Context>) {
        router.get("/v1/client/allocation/:id/exec") { request, _ in
            if Self.isCrossOrigin(request) { return Self.text(Self.crossOriginRefusal, status: .forbidden) }
            return Self.text(
                "Bad Request\nfailed to upgrade connection: websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header",
                status: .badRequest)
        }
    }
}

/// Hummingbird answers every refused WebSocket upgrade with an empty 400, while Nomad's
/// gorilla/websocket upgrader answers a cross-origin one with 403 and a text. So the simulator's
/// server turns a cross-origin exec upgrade into a plain request before the upgrade handler sees
/// it; ``NomadRoutes/registerExecRefusals(on:)`` then answers it as Nomad does.
struct SameOriginWebSocketChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let connections: OpenConnections

    /// The WebSocket-upgrading HTTP/1 server of `webSocketRouter`, with the same-origin rule and
    /// the per-client connection limit.
    static func builder<WSResponderBuilder: HTTPResponderBuilder>(webSocketRouter: WSResponderBuilder, connections: OpenConnections) -> HTTPServerBuilder
    where Inner == HTTP1WebSocketUpgradeChannel, WSResponderBuilder.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            SameOriginWebSocketChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: .init()), connections: connections)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        guard connections.admit(channel) else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ChannelError.alreadyClosed)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(CrossOriginUpgradeDemoter(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// The simulator's open HTTP connections: go-connlimit as Nomad's HTTP server uses it (a client IP
/// holding `maxPerClient` connections has each further one closed as soon as it is accepted,
/// without an answer), and all of them closed when the agent stops, as Nomad's are.
final class OpenConnections: Sendable {
    private struct State {
        var perClient: [String: Int] = [:]
        var channels: [ObjectIdentifier: any Channel] = [:]
        var refused = 0
    }

    private let maxPerClient: Int
    private let state = Mutex(State())

    init(maxPerClient: Int) {
        self.maxPerClient = maxPerClient
    }

    /// Counts `channel` against its client IP until it closes; `false` when over the limit.
    func admit(_ channel: any Channel) -> Bool {
        let client = channel.remoteAddress?.ipAddress ?? ""
        let key = ObjectIdentifier(channel)
        let admitted = state.withLock { state in
            guard maxPerClient <= 0 || state.perClient[client, default: 0] < maxPerClient else {
                state.refused += 1
                return false
            }
            state.perClient[client, default: 0] += 1
            state.channels[key] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                self.state.withLock { state in
                    state.perClient[client, default: 1] -= 1
                    state.channels[key] = nil
                }
            }
        }
        return admitted
    }

    /// The connections `client` holds open now.
    func count(from client: String) -> Int { state.withLock { $0.perClient[client] ?? 0 } }

    /// The connections closed unanswered so far for being over the limit.
    var refused: Int { state.withLock { $0.refused } }

    /// Closes every open connection (idle ones too, which a graceful server shutdown would wait for).
    func closeAll() {
        for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
    }
}

/// Strips the upgrade headers from a cross-origin exec request, so it is answered as plain HTTP.
/// Leaves the pipeline at the first upgrade it lets through (the connection stops being HTTP).
final class CrossOriginUpgradeDemoter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.headers.contains(name: "Upgrade") else {
            context.fireChannelRead(data)
            return
        }
        let host = head.headers.first(name: "Host") ?? ""
        if head.uri.split(separator: "?").first?.hasSuffix("/exec") == true,
            let origin = head.headers.first(name: "Origin"), NomadRoutes.isCrossOrigin(origin: origin, host: host)
        {
            head.headers.remove(name: "Upgrade")
            head.headers.remove(name: "Connection")
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}

/// One exec session: a real process with pipes or a pty, bridged to WebSocket frames.
enum ExecSession {
    /// What the input side knows: the process's stdin (or pty master) once it exists, and what
    /// arrived before that.
    private struct Input: Sendable {
        var fd: Int32 = -1
        var pid: Int32 = 0
        var closed = false
        var closeRequested = false
        var pending: [Data] = []
        var rows: UInt16 = 24
        var columns: UInt16 = 80
    }

    /// Shared between the input task and the session.
    private final class InputState: Sendable {
        private let state = Mutex(Input())
        func withLock<R: Sendable>(_ body: (inout Input) -> R) -> R { state.withLock { body(&$0) } }
    }

    static func run(spec: LaunchSpec, tty: Bool, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let input = InputState()
        let (firstFrame, firstFrameSeen) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Input: stdin data/close and terminal size, buffered until the process exists.
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let frame = try? WireJSON.parse(Data(text.utf8)) else { continue }
                    input.withLock { input in
                        if let size = frame["tty_size"] {
                            input.rows = UInt16(clamping: size["height"]?.int ?? 24)
                            input.columns = UInt16(clamping: size["width"]?.int ?? 80)
                            if tty && input.fd >= 0 {
                                _ = nsim_set_winsize(input.fd, input.rows, input.columns)
                                ProcessLauncher.signalGroup(input.pid, SIGWINCH)
                            }
                        }
                        if let stdin = frame["stdin"], !input.closed {
                            if let data = stdin["data"]?.string.flatMap({ Data(base64Encoded: $0) }) {
                                if input.fd >= 0 {
                                    _ = data.withUnsafeBytes { write(input.fd, $0.baseAddress, $0.count) }
                                } else {
                                    input.pending.append(data)
                                }
                            }
                            if stdin["close"]?.bool == true && !tty {
                                if input.fd >= 0 {
                                    close(input.fd)
                                    input.closed = true
                                } else {
                                    input.closeRequested = true
                                }
                            }
                        }
                    }
                    firstFrameSeen.yield()
                }
                firstFrameSeen.finish()
                // The client went away: end the command.
                let pid = input.withLock { $0.pid }
                if pid > 0 { ProcessLauncher.signalGroup(pid, SIGKILL) }
            }
            // A terminal client sends its size first; give it a moment so the command starts with it.
            if tty {
                await withTaskGroup(of: Void.self) { wait in
                    wait.addTask {
                        for await _ in firstFrame { break }
                    }
                    wait.addTask { try? await Task.sleep(for: .milliseconds(300)) }
                    await wait.next()
                    wait.cancelAll()
                }
            }
            let started: (pid: Int32, stdin: Int32, stdout: Int32, stderr: Int32)
            do throws(LaunchFailure) {
                started = try await start(spec, tty: tty, size: input.withLock { ($0.rows, $0.columns) })
            } catch {
                try await outbound.close(.unexpectedServerError, reason: "rpc error: code = Unknown desc = failed to start command: \(error.message)")
                group.cancelAll()
                return
            }
            // Read the output before writing the input that waited for the process: the command may
            // echo it (cat), and with nobody reading its output it would stop reading its input, so a
            // blocking write of more than the two pipes hold would never return (and would hold one
            // of the few threads every task of this process shares).
            let stdoutChunks = readOnThread(fd: started.stdout)
            let stderrChunks = started.stderr >= 0 ? readOnThread(fd: started.stderr) : nil
            input.withLock { input in
                input.fd = started.stdin
                input.pid = started.pid
                for data in input.pending {
                    _ = data.withUnsafeBytes { write(started.stdin, $0.baseAddress, $0.count) }
                }
                input.pending.removeAll()
                if input.closeRequested {
                    close(started.stdin)
                    input.closed = true
                }
            }
            // Output, then the exit code.
            async let stdoutDone: Void = forward(stdoutChunks, name: "stdout", outbound: outbound)
            async let stderrDone: Void = forward(stderrChunks, name: "stderr", outbound: outbound)
            let exit = await ProcessLauncher.wait(for: started.pid)
            if tty { ProcessLauncher.signalGroup(started.pid, SIGHUP) }
            try await stderrDone
            try await stdoutDone
            let exited: WireJSON = ["exited": true, "result": ["exit_code": .number(exit.exitCode)]]
            try await outbound.write(.text(exited.text))
            try await outbound.close(.normalClosure, reason: nil)
            group.cancelAll()
        }
        input.withLock { input in
            if input.fd >= 0 && !input.closed {
                close(input.fd)
                input.closed = true
            }
        }
    }

    /// Starts the command with pipes, or under a pty of `size`; returns its pid, the descriptor
    /// to write stdin to, and those to read stdout/stderr from (-1 for none).
    private static func start(
        _ spec: LaunchSpec, tty: Bool, size: (rows: UInt16, columns: UInt16)
    ) async throws(LaunchFailure) -> (pid: Int32, stdin: Int32, stdout: Int32, stderr: Int32) {
        if tty {
            let started = try await ProcessLauncher.spawnWithPTY(spec, rows: size.rows, columns: size.columns)
            return (started.pid, started.master, dup(started.master), -1)
        }
        let stdin = makePipe()
        let stdout = makePipe()
        let stderr = makePipe()
        defer {
            close(stdin.read)
            close(stdout.write)
            close(stderr.write)
        }
        do {
            let pid = try await ProcessLauncher.spawn(spec, stdin: stdin.read, stdout: stdout.write, stderr: stderr.write)
            return (pid, stdin.write, stdout.read, stderr.read)
        } catch {
            close(stdin.write)
            close(stdout.read)
            close(stderr.read)
            throw error
        }
    }

    /// A pipe whose ends are closed on exec (the child gets dup2'ed copies only).
    private static func makePipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return (-1, -1) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Reads `fd` on a dedicated thread, started at once, until EOF; then closes it.
    private static func readOnThread(fd: Int32) -> AsyncStream<Data> {
        let (chunks, continuation) = AsyncStream.makeStream(of: Data.self)
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 32 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                continuation.yield(Data(buffer[0..<count]))
            }
            close(fd)
            continuation.finish()
        }
        thread.start()
        return chunks
    }

    /// Sends each chunk as a `{"<name>":{"data":...}}` frame, then the `{"<name>":{"close":true}}`
    /// frame; nothing for a stream the command does not have (stderr under a tty).
    private static func forward(_ chunks: AsyncStream<Data>?, name: String, outbound: WebSocketOutboundWriter) async throws {
        guard let chunks else { return }
        for await chunk in chunks {
            let frame: WireJSON = [.init(stringLiteral: name): ["data": .string(chunk.base64EncodedString())]]
            try await outbound.write(.text(frame.text))
        }
        let closing: WireJSON = [.init(stringLiteral: name): ["close": true]]
        try await outbound.write(.text(closing.text))
    }
}
