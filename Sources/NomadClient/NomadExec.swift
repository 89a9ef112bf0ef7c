import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOWebSocket
import NomadModels
import Synchronization
import WSClient

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
        let path = target("/v1/client/allocation/\(Self.pathSegment(allocationID))/exec", [("task", task), ("command", commandJSON), ("tty", tty ? "true" : "false")])
        let url = websocketBaseURL() + path

        var headers = HTTPFields()
        if let token = configuration.token, let name = HTTPField.Name("X-Nomad-Token") { headers[name] = token.secret }
        let wsConfiguration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, additionalHeaders: headers, sniHostname: configuration.tls.serverName)
        let tls = tlsConfiguration
        let logger = logger
        let displayAddress = displayAddress

        let (output, outputContinuation) = AsyncThrowingStream<NomadExecOutput, any Error>.makeStream()
        let (input, inputContinuation) = AsyncStream<ExecFrame>.makeStream()
        let exitCode = Mutex<Int?>(nil)

        let run = Task<Int, any Error> {
            do {
                let closeFrame = try await WebSocketClient.connect(url: url, configuration: wsConfiguration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await frame in input {
                                let text = String(decoding: try JSONEncoder().encode(frame), as: UTF8.self)
                                try await outbound.write(.text(text))
                            }
                        }
                        for try await message in inbound.messages(maxSize: 1 << 24) {
                            guard case .text(let text) = message else { continue }
                            let frame = try JSONDecoder().decode(ExecFrame.self, from: Data(text.utf8))
                            if let bytes = frame.stdout?.bytes, !bytes.isEmpty { outputContinuation.yield(.stdout(bytes)) }
                            if let bytes = frame.stderr?.bytes, !bytes.isEmpty { outputContinuation.yield(.stderr(bytes)) }
                            if frame.exited == true {
                                exitCode.withLock { $0 = frame.result?.exitCode ?? 0 }
                                break
                            }
                        }
                        group.cancelAll()
                    }
                }
                if let code = exitCode.withLock({ $0 }) {
                    outputContinuation.finish()
                    return code
                }
                let number = closeFrame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
                let error = NomadClientError.execFailed(
                    allocationID: allocationID, task: task, closeCode: number,
                    reason: closeFrame?.reason ?? "the agent closed the session without an exit code"
                )
                outputContinuation.finish(throwing: error)
                throw error
            } catch let error as NomadClientError {
                outputContinuation.finish(throwing: error)
                throw error
            } catch {
                let mapped: any Error
                if Task.isCancelled || error is CancellationError {
                    mapped = CancellationError()
                } else if let error = error as? WebSocketClientError, error == .webSocketUpgradeFailed {
                    mapped = NomadClientError.execFailed(
                        allocationID: allocationID, task: task, closeCode: nil,
                        reason: "the agent refused the WebSocket upgrade (unknown allocation, missing permission, or exec disabled on the client)"
                    )
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

    /// `ws://` or `wss://` plus the host and port of the configured address.
    func websocketBaseURL() -> String {
        if displayAddress.hasPrefix("https://") { return "wss://" + displayAddress.dropFirst("https://".count) }
        return "ws://" + displayAddress.dropFirst("http://".count)
    }
}
