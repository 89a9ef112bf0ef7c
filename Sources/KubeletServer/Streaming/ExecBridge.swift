import Foundation
import Logging
import NIOCore
import NomadClient

/// The client side of one exec session, whatever the transport (SPDY streams or WebSocket
/// channels): where standard input and resize events come from and where output goes.
struct ExecClientIO<Input: AsyncSequence & Sendable, Resize: AsyncSequence & Sendable>: Sendable
where Input.Element == ByteBuffer, Resize.Element == ByteBuffer {
    /// Standard input, when the client sends it; its end closes the command's input.
    var stdin: Input?
    /// The resize stream (`{"Width":W,"Height":H}` JSON objects), with a tty.
    var resize: Resize?
    /// Writes standard output (with a tty: the terminal's output).
    var writeStdout: @Sendable (ByteBuffer) async throws -> Void
    /// Writes standard error.
    var writeStderr: @Sendable (ByteBuffer) async throws -> Void
    /// Registers a callback for the client going away, so the command is stopped.
    var onClientGone: @Sendable (@escaping @Sendable () -> Void) -> Void
}

/// Runs an exec request as a Nomad exec session and reports how it ended, as the kubelet does.
enum ExecBridge {
    /// The most input bytes sent in one Nomad exec frame (base64 makes them a third larger).
    static let maxStdinFrameBytes = 4096

    /// Runs `request.command` in `target`, pumping `io` both ways until the command exits, and
    /// returns the status for the error stream (nil when the client went away first).
    static func run<Input, Resize>(
        nomad: NomadClient, target: ExecTarget, request: StreamingRequest, io: ExecClientIO<Input, Resize>, logger: Logger
    ) async -> StreamStatus? {
        let session: NomadExecSession
        do {
            session = try nomad.exec(allocationID: target.allocationID, task: target.task, command: request.command, tty: request.tty)
        } catch {
            return .internalError("error executing command in container: \(error)")
        }
        io.onClientGone { session.cancel() }
        if io.stdin == nil { session.closeStdin() }
        let wantsStdout = request.stdout
        let wantsStderr = request.stderr
        return await withTaskGroup(of: Void.self, returning: StreamStatus?.self) { group in
            if let stdin = io.stdin {
                group.addTask {
                    do {
                        for try await var chunk in stdin {
                            // Nomad's exec frames carry base64 JSON; agents cap WebSocket messages (the
                            // simulator at 16 KiB), so input goes in pieces as Nomad's own CLI sends it.
                            while let piece = chunk.readSlice(length: min(chunk.readableBytes, ExecBridge.maxStdinFrameBytes)), piece.readableBytes > 0 {
                                session.write(Data(piece.readableBytesView))
                            }
                        }
                    } catch {}
                    session.closeStdin()
                }
            }
            if let resize = io.resize {
                group.addTask {
                    var parser = TerminalSizeParser()
                    do {
                        for try await chunk in resize {
                            for size in parser.feed(chunk) { session.resize(width: size.width, height: size.height) }
                        }
                    } catch {}
                }
            }
            defer { group.cancelAll() }
            do {
                for try await output in session.output {
                    switch output {
                    case .stdout(let bytes) where wantsStdout: try await io.writeStdout(ByteBuffer(bytes: bytes))
                    case .stderr(let bytes) where wantsStderr: try await io.writeStderr(ByteBuffer(bytes: bytes))
                    case .stdout, .stderr: continue
                    }
                }
                return .exitCode(try await session.exitCode())
            } catch is CancellationError {
                session.cancel()
                return nil
            } catch let error as NomadClientError {
                session.cancel()
                logger.debug("exec failed in Nomad", metadata: ["allocation": "\(target.allocationID)", "task": "\(target.task)", "error": "\(error)"])
                return .internalError("error executing command in container: \(error)")
            } catch {
                // Writing to the client failed: it is gone.
                session.cancel()
                logger.debug("exec client went away", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }
}

/// Splits the resize stream into terminal sizes: a sequence of JSON objects
/// `{"Width":100,"Height":30}`, as Go's `json.Decoder` reads them (whitespace between values allowed).
struct TerminalSizeParser {
    /// A terminal size.
    struct Size: Hashable {
        var width: Int
        var height: Int
    }

    private var pending: [UInt8] = []
    private static let maxPending = 4096

    /// The sizes completed by `chunk`; malformed objects are skipped, as the kubelet logs and skips them.
    mutating func feed(_ chunk: ByteBuffer) -> [Size] {
        pending += chunk.readableBytesView
        var sizes: [Size] = []
        while let start = pending.firstIndex(of: UInt8(ascii: "{")) {
            guard let end = pending[start...].firstIndex(of: UInt8(ascii: "}")) else { break }
            let object = Data(pending[start...end])
            pending.removeSubrange(..<(end + 1))
            struct Wire: Decodable {
                var Width: Int?
                var Height: Int?
            }
            if let wire = try? JSONDecoder().decode(Wire.self, from: object), let width = wire.Width, let height = wire.Height, width >= 0, height >= 0 {
                sizes.append(Size(width: width, height: height))
            }
        }
        if pending.count > Self.maxPending { pending.removeAll() }
        if !pending.contains(UInt8(ascii: "{")) { pending.removeAll() }
        return sizes
    }
}
