import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// The kubelet's `grpc` probe: one unary call of the standard `grpc.health.v1.Health/Check` over
/// plaintext HTTP/2 (prior knowledge, as the kubelet dials without TLS), success when the answer
/// is `SERVING`. The request and response are encoded by hand: each message has one field.
enum GRPCHealthCheck {
    /// Checks `service` (empty: the whole server) at `host:port` within `timeout` seconds.
    static func check(host: String, port: Int, service: String, timeout: TimeInterval) async -> HandlerResult {
        let outcome = await HandlerRunner.withTimeout(timeout) { try await call(host: host, port: port, service: service) }
        switch outcome {
        case .finished(.success(let status)):
            if status == 1 { return HandlerResult(success: true, message: "") }
            return HandlerResult(success: false, message: "service unhealthy (responded with \"\(servingStatusName(status))\")")
        case .finished(.failure(let error as CallError)):
            return HandlerResult(success: false, message: "error: health rpc probe failed: \(error.text)")
        case .finished(.failure(let error)):
            return HandlerResult(success: false, message: "timeout: failed to connect service \"\(host):\(port)\" within \(Int(timeout))s: \(error)")
        case .timedOut:
            return HandlerResult(success: false, message: "timeout: health rpc did not complete within \(Int(timeout))s")
        }
    }

    /// A call that reached the server but did not answer with a status.
    struct CallError: Error {
        var text: String
    }

    /// `HealthCheckResponse.ServingStatus` names.
    static func servingStatusName(_ status: Int) -> String {
        switch status {
        case 0: "UNKNOWN"
        case 1: "SERVING"
        case 2: "NOT_SERVING"
        case 3: "SERVICE_UNKNOWN"
        default: "\(status)"
        }
    }

    /// gRPC status code names (for `rpc error: code = ...`).
    static func statusCodeName(_ code: Int) -> String {
        let names = [
            "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
            "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
        ]
        return names.indices.contains(code) ? names[code] : "Code(\(code))"
    }

    /// The length-prefixed gRPC message carrying `HealthCheckRequest{service}`.
    static func requestMessage(service: String) -> [UInt8] {
        var message: [UInt8] = []
        if !service.isEmpty {
            let bytes = Array(service.utf8)
            message = [0x0A] + varint(UInt64(bytes.count)) + bytes
        }
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + message
    }

    /// `HealthCheckResponse.status` from a length-prefixed gRPC message (0 when absent).
    static func servingStatus(fromMessage bytes: [UInt8]) throws(CallError) -> Int {
        guard bytes.count >= 5 else { throw CallError(text: "rpc error: code = Internal desc = the response has no message") }
        guard bytes[0] == 0 else { throw CallError(text: "rpc error: code = Internal desc = the response is compressed") }
        var index = 5
        var status = 0
        func readVarint() throws(CallError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw CallError(text: "rpc error: code = Internal desc = the response message is truncated")
        }
        while index < bytes.count {
            let tag = try readVarint()
            switch (tag >> 3, tag & 7) {
            case (1, 0): status = Int(truncatingIfNeeded: try readVarint())
            case (_, 0): _ = try readVarint()
            case (_, 1): index += 8
            case (_, 2): index += Int(truncatingIfNeeded: try readVarint())
            case (_, 5): index += 4
            default: throw CallError(text: "rpc error: code = Internal desc = the response message does not decode")
            }
        }
        return status
    }

    private static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }

    private static func call(host: String, port: Int, service: String) async throws -> Int {
        let (connection, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeSucceededVoidFuture()  // the server opens no streams here
                    }
                    return (channel, multiplexer)
                }
            }
        do {
            let stream = try await multiplexer.openStream { streamChannel in
                streamChannel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(wrappingChannelSynchronously: streamChannel)
                }
            }
            let status = try await stream.executeThenClose { inbound, outbound in
                var headers = HPACKHeaders()
                headers.add(name: ":method", value: "POST")
                headers.add(name: ":scheme", value: "http")
                headers.add(name: ":path", value: "/grpc.health.v1.Health/Check")
                headers.add(name: ":authority", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
                headers.add(name: "content-type", value: "application/grpc")
                headers.add(name: "te", value: "trailers")
                headers.add(name: "user-agent", value: HandlerRunner.userAgent)
                try await outbound.write(.headers(.init(headers: headers)))
                let body = ByteBuffer(bytes: requestMessage(service: service))
                try await outbound.write(.data(.init(data: .byteBuffer(body), endStream: true)))
                var message: [UInt8] = []
                var grpcStatus: Int?
                var grpcMessage = ""
                frames: for try await payload in inbound {
                    switch payload {
                    case .headers(let frame):
                        if let status = frame.headers.first(name: ":status"), status != "200" {
                            throw CallError(text: "rpc error: code = Unavailable desc = unexpected HTTP status code received from server: \(status)")
                        }
                        if let status = frame.headers.first(name: "grpc-status") {
                            grpcStatus = Int(status) ?? 2
                            grpcMessage = frame.headers.first(name: "grpc-message")?.removingPercentEncoding ?? ""
                        }
                        if frame.endStream { break frames }
                    case .data(let frame):
                        if case .byteBuffer(let buffer) = frame.data { message += Array(buffer.readableBytesView) }
                        if frame.endStream { break frames }
                    default:
                        continue
                    }
                }
                if let grpcStatus, grpcStatus != 0 {
                    throw CallError(text: "rpc error: code = \(statusCodeName(grpcStatus)) desc = \(grpcMessage)")
                }
                return try servingStatus(fromMessage: message)
            }
            try? await connection.close()
            return status
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
