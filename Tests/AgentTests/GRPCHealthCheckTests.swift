import Foundation
import Testing

@testable import Agent

/// The hand-made `grpc.health.v1.Health/Check` messages (the network part is exercised by probes
/// against real servers only: no gRPC server is available to the test suites).
@Suite("gRPC health check messages")
struct GRPCHealthCheckTests {
    @Test("the request is a length-prefixed HealthCheckRequest with the service as field 1")
    func request() {
        #expect(GRPCHealthCheck.requestMessage(service: "") == [0, 0, 0, 0, 0])
        #expect(GRPCHealthCheck.requestMessage(service: "db") == [0, 0, 0, 0, 4, 0x0A, 2, UInt8(ascii: "d"), UInt8(ascii: "b")])
    }

    @Test(
        "the response's ServingStatus is read from field 1, skipping unknown fields",
        arguments: [
            ([0, 0, 0, 0, 2, 0x08, 1], 1), ([0, 0, 0, 0, 2, 0x08, 2], 2), ([0, 0, 0, 0, 0], 0),
            ([0, 0, 0, 0, 6, 0x12, 2, 0x41, 0x42, 0x08, 3], 3),
        ] as [([UInt8], Int)])
    func response(bytes: [UInt8], status: Int) throws {
        #expect(try GRPCHealthCheck.servingStatus(fromMessage: bytes) == status)
    }

    @Test("a truncated or compressed response is an error, never a crash")
    func malformed() {
        #expect(throws: GRPCHealthCheck.CallError.self) { try GRPCHealthCheck.servingStatus(fromMessage: [0, 0]) }
        #expect(throws: GRPCHealthCheck.CallError.self) { try GRPCHealthCheck.servingStatus(fromMessage: [1, 0, 0, 0, 2, 0x08, 1]) }
        #expect(throws: GRPCHealthCheck.CallError.self) { try GRPCHealthCheck.servingStatus(fromMessage: [0, 0, 0, 0, 2, 0x08, 0x80]) }
        #expect(GRPCHealthCheck.servingStatusName(2) == "NOT_SERVING")
        #expect(GRPCHealthCheck.statusCodeName(12) == "Unimplemented")
    }
}
