import Foundation
import Logging
import NIOCore
import NIOWebSocket
import NomadModels

/// Output of an exec session.
public enum NomadExecOutput: Sendable, Hashable {
    /// Bytes the command wrote to standard output (with a tty: the terminal's output).
    case stdout(Data)
    /// Bytes the command wrote to standard error (never sent with a tty).
    case stderr(Data)
}

/// A command running inside a task, over `/v1/client/allocation/:id/exec` (WebSocket).
///
/// Read ``output`` for stdout/stderr; write with ``write(_:)``, ``closeStdin()`` and ``resize(width:height:)``;
/// ``exitCode()`` waits for the command to end. Cancelling the consumer or calling ``cancel()``
/// closes the WebSocket.
public final class NomadExecSession: Sendable {
    /// The command's output; finishes when the command exits, throws a ``NomadClientError`` if the session fails.
    public let output: AsyncThrowingStream<NomadExecOutput, any Error>
    private let input: AsyncStream<ExecFrame>.Continuation
    private let run: Task<Int, any Error>

    init(output: AsyncThrowingStream<NomadExecOutput, any Error>, input: AsyncStream<ExecFrame>.Continuation, run: Task<Int, any Error>) {
        self.output = output
        self.input = input
        self.run = run
    }

    /// Sends bytes to the command's standard input.
    public func write(_ bytes: Data) { input.yield(.stdin(bytes)) }

    /// Closes the command's standard input (end of file).
    public func closeStdin() { input.yield(.stdinClose) }

    /// Tells the terminal its size (tty sessions).
    public func resize(width: Int, height: Int) { input.yield(.terminalSize(width: width, height: height)) }

    /// Waits for the command to exit and returns its exit code.
    public func exitCode() async throws -> Int { try await run.value }

    /// Closes the session.
    public func cancel() {
        input.finish()
        run.cancel()
    }
}

/// What one exec session collected, for ``NomadClient/execute(allocationID:task:command:stdin:)``.
public struct NomadExecResult: Sendable, Hashable {
    /// The exit code.
    public var exitCode: Int
    /// Everything written to standard output.
    public var stdout: Data
    /// Everything written to standard error.
    public var stderr: Data
}

extension NomadClient {
    /// Starts `command` in `task` of an allocation (`/v1/client/allocation/:id/exec`).
    ///
    /// The ACL token goes in the `X-Nomad-Token` header of the WebSocket upgrade. Failures arrive as
    /// WebSocket close frames (code 1011 with Nomad's reason, e.g. a missing binary or
    /// `task not found`) and are thrown by ``NomadExecSession/exitCode()`` and the output sequence as
    /// ``NomadClientError`` (`.execFailed`, `.unknownTask`, `.forbidden`, `.notFound`).
    public func exec(allocationID: String, task: String, command: [String], tty: Bool = false) throws -> NomadExecSession {
        guard !command.isEmpty else { throw NomadClientError.configuration("exec needs a command: pass at least the program path") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let commandJSON = String(decoding: try encoder.encode(command), as: UTF8.self)
        let path = "/v1/client/allocation/\(Self.pathSegment(allocationID))/exec"
        var endpoint = try webSocketEndpoint(target: target(path, [("task", task), ("command", commandJSON), ("tty", tty ? "true" : "false")]))
        if let token = configuration.token { endpoint.headers.append((name: "X-Nomad-Token", value: token.secret)) }
        let displayAddress = displayAddress

        let (output, outputContinuation) = AsyncThrowingStream<NomadExecOutput, any Error>.makeStream()
        let (input, inputContinuation) = AsyncStream<ExecFrame>.makeStream()

        let run = Task<Int, any Error> {
            do {
                let channel = try await connectExecSocket(endpoint)
                let ending = try await channel.executeThenClose { inbound, outbound in
                    try await withThrowingTaskGroup(of: Void.self, returning: ExecEnding.self) { group in
                        group.addTask {
                            let encoder = JSONEncoder()
                            for await frame in input {
                                let text = String(decoding: try encoder.encode(frame), as: UTF8.self)
                                do {
                                    try await outbound.write(NomadWebSocket.textFrame(text))
                                } catch {
                                    return  // the connection is gone; the reader reports why
                                }
                            }
                        }
                        defer { group.cancelAll() }
                        var assembler = WebSocketMessageAssembler(maxMessageSize: endpoint.maxFrameSize)
                        for try await frame in inbound {
                            switch assembler.receive(frame) {
                            case .none, .binary:
                                continue
                            case .sendPong(let payload):
                                try await outbound.write(NomadWebSocket.pongFrame(payload))
                            case .text(let text):
                                let frame = try JSONDecoder().decode(ExecFrame.self, from: Data(text.utf8))
                                if let bytes = frame.stdout?.bytes, !bytes.isEmpty { outputContinuation.yield(.stdout(bytes)) }
                                if let bytes = frame.stderr?.bytes, !bytes.isEmpty { outputContinuation.yield(.stderr(bytes)) }
                                if frame.exited == true { return .exited(frame.result?.exitCode ?? 0) }
                            case .closed(let code, let reason):
                                try? await outbound.write(NomadWebSocket.closeFrame(code: UInt16(code ?? 1000)))
                                return .closed(code: code, reason: reason)
                            case .protocolError(let reason):
                                throw NomadClientError.malformedResponse(request: "exec in allocation \(allocationID)", reason: reason)
                            }
                        }
                        return .closed(code: nil, reason: "the connection ended without a close frame")
                    }
                }
                switch ending {
                case .exited(let code):
                    outputContinuation.finish()
                    return code
                case .closed(let code, let reason):
                    let error = NomadClientError.execFailed(
                        allocationID: allocationID, task: task, closeCode: code,
                        reason: reason.isEmpty ? "the agent closed the session without an exit code" : reason
                    )
                    outputContinuation.finish(throwing: error)
                    throw error
                }
            } catch let error as NomadClientError {
                outputContinuation.finish(throwing: error)
                throw error
            } catch {
                let mapped: any Error
                if Task.isCancelled || error is CancellationError {
                    mapped = CancellationError()
                } else if let refused = error as? NomadWebSocket.Refused {
                    mapped = NomadClientError.response(status: refused.status, method: "GET", path: path, resource: "exec in allocation \(allocationID)", body: refused.body)
                } else if error is DecodingError {
                    mapped = NomadClientError.malformedResponse(request: "exec in allocation \(allocationID)", reason: "a frame does not decode (\(error))")
                } else {
                    mapped = NomadClientError.unreachable(address: displayAddress, underlying: error)
                }
                outputContinuation.finish(throwing: mapped)
                throw mapped
            }
        }
        outputContinuation.onTermination = { termination in
            if case .cancelled = termination { run.cancel() }
        }
        return NomadExecSession(output: output, input: inputContinuation, run: run)
    }

    /// Opens the exec WebSocket, retrying like a read while no upgrade has happened (so the command
    /// has not started): a connection refused, reset or closed unanswered (as Nomad does beyond its
    /// per-client connection limit). An HTTP answer instead of the upgrade is not retried.
    private func connectExecSocket(_ endpoint: NomadWebSocket.Endpoint) async throws -> NIOAsyncChannel<WebSocketFrame, WebSocketFrame> {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await NomadWebSocket.connect(endpoint)
            } catch let error where !(error is NomadWebSocket.Refused) && !(error is CancellationError) && attempt < configuration.retry.maxAttempts {
                logger.debug("retrying the exec connection", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: configuration.retry.backoff(afterAttempt: attempt))
            }
        }
    }

    /// Runs `command` to completion, feeding `stdin` then closing it, and collects its output.
    public func execute(allocationID: String, task: String, command: [String], stdin: Data? = nil) async throws -> NomadExecResult {
        let session = try exec(allocationID: allocationID, task: task, command: command)
        if let stdin, !stdin.isEmpty { session.write(stdin) }
        session.closeStdin()
        var stdout = Data()
        var stderr = Data()
        for try await chunk in session.output {
            switch chunk {
            case .stdout(let bytes): stdout.append(bytes)
            case .stderr(let bytes): stderr.append(bytes)
            }
        }
        return NomadExecResult(exitCode: try await session.exitCode(), stdout: stdout, stderr: stderr)
    }

    /// The WebSocket endpoint for `target` on the configured agent: its host and port (default 80/443),
    /// TLS for `https://`, and `NOMAD_TLS_SERVER_NAME` for SNI and verification.
    func webSocketEndpoint(target: String) throws -> NomadWebSocket.Endpoint {
        guard let components = URLComponents(string: displayAddress), let host = components.host else {
            throw NomadClientError.configuration("the Nomad address \"\(displayAddress)\" has no host; set NOMAD_ADDR like http://127.0.0.1:4646")
        }
        let secure = components.scheme?.lowercased() == "https"
        return NomadWebSocket.Endpoint(
            host: host, port: components.port ?? (secure ? 443 : 80), target: target,
            tls: secure ? tlsConfiguration : nil, serverName: configuration.tls.serverName,
            connectTimeout: configuration.connectTimeout
        )
    }
}

/// How an exec session's WebSocket ended.
private enum ExecEnding {
    /// The command exited with this code.
    case exited(Int)
    /// The agent closed the connection without an exit frame.
    case closed(code: Int?, reason: String)
}
