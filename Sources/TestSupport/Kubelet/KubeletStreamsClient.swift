import Foundation
import NIOCore
import SPDY

/// The streams kube-apiserver opens for an exec over SPDY, in its order (error, stdin, stdout,
/// stderr, resize), each waited for until the kubelet replies, as `remotecommand`'s v4 client does.
public struct RemoteCommandStreams: Sendable {
    /// The connection the streams belong to.
    public let connection: SPDYConnection
    /// The status stream.
    public let error: SPDYStream
    /// Standard input, when asked for.
    public let stdin: SPDYStream?
    /// Standard output, when asked for.
    public let stdout: SPDYStream?
    /// Standard error, when asked for (never with a tty).
    public let stderr: SPDYStream?
    /// Terminal size events, with a tty.
    public let resize: SPDYStream?

    /// Everything one exec produced.
    public struct Result: Sendable {
        /// Standard output (with a tty: the terminal).
        public var stdout: Data
        /// Standard error.
        public var stderr: Data
        /// The error stream's content: a v4 Status (JSON), or a failure's text in older versions.
        public var status: String

        /// A result.
        public init(stdout: Data, stderr: Data, status: String) {
            self.stdout = stdout
            self.stderr = stderr
            self.status = status
        }

        /// The exit code the v4 status carries: 0 for `Success`, the `ExitCode` cause otherwise.
        public var exitCode: Int? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any] else { return nil }
            if object["status"] as? String == "Success" { return 0 }
            let causes = (object["details"] as? [String: Any])?["causes"] as? [[String: Any]] ?? []
            return causes.first { $0["reason"] as? String == "ExitCode" }.flatMap { ($0["message"] as? String).flatMap(Int.init) }
        }

        /// The stdout as text.
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// The stderr as text.
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Opens the streams an exec with these options needs.
    public static func open(on connection: SPDYConnection, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) async throws -> RemoteCommandStreams {
        func open(_ type: String) async throws -> SPDYStream {
            let stream = try await connection.openStream(headers: ["streamtype": type])
            _ = try await stream.replyHeaders()
            return stream
        }
        let error = try await open("error")
        let stdinStream = stdin ? try await open("stdin") : nil
        let stdoutStream = stdout ? try await open("stdout") : nil
        let stderrStream = stderr && !tty ? try await open("stderr") : nil
        let resizeStream = tty ? try await open("resize") : nil
        return RemoteCommandStreams(connection: connection, error: error, stdin: stdinStream, stdout: stdoutStream, stderr: stderrStream, resize: resizeStream)
    }

    /// Sends a terminal size as kubectl does (`{"Width":W,"Height":H}` and a newline).
    public func sendSize(width: Int, height: Int) async throws {
        try await resize?.write(ByteBuffer(string: "{\"Width\":\(width),\"Height\":\(height)}\n"))
    }

    /// Reads stdout, stderr and the error stream to their ends.
    public func collect(limit: Int = 1 << 22) async throws -> Result {
        async let out = stdout?.inbound.collect(upTo: limit)
        async let err = stderr?.inbound.collect(upTo: limit)
        async let status = error.inbound.collect(upTo: 1 << 20)
        let stdoutBytes = try await out.map { Data($0.readableBytesView) } ?? Data()
        let stderrBytes = try await err.map { Data($0.readableBytesView) } ?? Data()
        let statusText = String(buffer: try await status)
        return Result(stdout: stdoutBytes, stderr: stderrBytes, status: statusText)
    }

    /// Ends the session as kube-apiserver does once the status arrived: RST_STREAM (CANCEL) for
    /// every stream, then GOAWAY.
    public func shutdown() async {
        for stream in [error, stdin, stdout, stderr, resize].compactMap({ $0 }) { await stream.reset(status: .cancel) }
        await connection.goAway()
    }
}

/// kube-apiserver's side of one forwarded connection over SPDY (`portforward.k8s.io`): an error
/// stream (half-closed at once, as recorded) and a data stream, both with `port` and `requestid`.
public struct PortForwardStreams: Sendable {
    /// The error stream: the kubelet writes a failure's text here.
    public let error: SPDYStream
    /// The data stream: the bytes of the tunnelled connection.
    public let data: SPDYStream

    /// Opens the pair for `port` with `requestID`.
    public static func open(on connection: SPDYConnection, port: Int, requestID: Int) async throws -> PortForwardStreams {
        let headers: SPDYHeaders = ["streamtype": "error", "port": String(port), "requestid": String(requestID)]
        let error = try await connection.openStream(headers: headers)
        _ = try await error.replyHeaders()
        try await error.close()
        let data = try await connection.openStream(headers: ["streamtype": "data", "port": String(port), "requestid": String(requestID)])
        _ = try await data.replyHeaders()
        return PortForwardStreams(error: error, data: data)
    }

    /// Sends `request`, reads the answer until the kubelet's FIN, half-closes, and returns the
    /// answer and the error stream's text.
    public func exchange(_ request: Data, limit: Int = 1 << 22) async throws -> (response: Data, error: String) {
        if !request.isEmpty { try await data.write(ByteBuffer(bytes: request)) }
        async let response = data.inbound.collect(upTo: limit)
        async let errorText = error.inbound.collect(upTo: 1 << 20)
        let answer = Data(try await response.readableBytesView)
        try? await data.close()
        return (answer, String(buffer: try await errorText))
    }
}
