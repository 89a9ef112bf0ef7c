import Foundation

/// The data half of an exec stream frame: base64 `data`, or `close: true` at the end of the stream.
public struct ExecStreamData: Codable, Hashable, Sendable {
    /// Base64 of the bytes.
    public var data: String?
    /// `true` once the stream has ended.
    public var close: Bool?

    /// A frame carrying base64 text or an end-of-stream mark.
    public init(data: String? = nil, close: Bool? = nil) {
        self.data = data
        self.close = close
    }

    /// The decoded bytes, or `nil` when there are none or the base64 is invalid.
    public var bytes: Data? { data.flatMap { Data(base64Encoded: $0) } }
}

/// A terminal size sent with `tty_size`.
public struct ExecTerminalSize: Codable, Hashable, Sendable {
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int

    /// A terminal of `width` columns and `height` rows.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// The result carried by the final `exited` frame.
public struct ExecResult: Codable, Hashable, Sendable {
    /// The command's exit code.
    public var exitCode: Int?

    /// A result with an exit code.
    public init(exitCode: Int? = nil) { self.exitCode = exitCode }

    enum CodingKeys: String, CodingKey {
        case exitCode = "exit_code"
    }
}

/// One WebSocket text message of `/v1/client/allocation/:id/exec`, in either direction (snake_case JSON):
/// the client sends `stdin` and `tty_size`, the agent sends `stdout`, `stderr` and finally
/// `{"exited": true, "result": {"exit_code": N}}`.
public struct ExecFrame: Codable, Hashable, Sendable {
    /// Input for the process.
    public var stdin: ExecStreamData?
    /// Output of the process.
    public var stdout: ExecStreamData?
    /// Error output of the process.
    public var stderr: ExecStreamData?
    /// A terminal resize (tty sessions).
    public var ttySize: ExecTerminalSize?
    /// `true` on the last frame.
    public var exited: Bool?
    /// The exit code, on the last frame.
    public var result: ExecResult?

    /// A frame; set exactly the fields of one message.
    public init(
        stdin: ExecStreamData? = nil, stdout: ExecStreamData? = nil, stderr: ExecStreamData? = nil,
        ttySize: ExecTerminalSize? = nil, exited: Bool? = nil, result: ExecResult? = nil
    ) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.ttySize = ttySize
        self.exited = exited
        self.result = result
    }

    /// Input bytes for the process.
    public static func stdin(_ bytes: Data) -> ExecFrame { ExecFrame(stdin: ExecStreamData(data: bytes.base64EncodedString())) }

    /// Closes the process's input.
    public static let stdinClose = ExecFrame(stdin: ExecStreamData(close: true))

    /// Resizes the terminal.
    public static func terminalSize(width: Int, height: Int) -> ExecFrame {
        ExecFrame(ttySize: ExecTerminalSize(width: width, height: height))
    }

    enum CodingKeys: String, CodingKey {
        case stdin, stdout, stderr, exited, result
        case ttySize = "tty_size"
    }
}

extension StreamFrame {
    /// `true` for the `{}` heartbeat frames Nomad sends while following a log.
    public var isHeartbeat: Bool { data == nil && file == nil && offset == nil && fileEvent == nil }

    /// The decoded log bytes (empty when the frame carries none).
    public var bytes: Data { data.flatMap { Data(base64Encoded: $0) } ?? Data() }
}

extension EventBatch {
    /// `true` for the `{}` heartbeat lines of the event stream.
    public var isHeartbeat: Bool { index == nil && (events ?? []).isEmpty }
}
