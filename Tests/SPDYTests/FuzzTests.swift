import NIOCore
import Testing

@testable import SPDY

/// Random, truncated and corrupted input never crashes or hangs the parser: it ends either in
/// whole frames or in an `SPDYError`, with the buffer never growing beyond the limits.
@Suite struct FuzzTests {
    /// SplitMix64: a small deterministic generator so failures reproduce.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    enum Outcome: Equatable { case frames(Int), error, incomplete }

    /// Parses `bytes` as one connection's input followed by EOF, as `SPDYFrameDecoder` does: frames
    /// until an error, or until the bytes run out (leftover bytes at EOF are a truncation error).
    static func run(_ bytes: [UInt8]) -> Outcome {
        var parser = SPDYFrameParser(limits: .init(maxFramePayloadSize: 64 << 10, maxHeaderBlockSize: 16 << 10))
        var buffer = ByteBuffer(bytes: bytes)
        var count = 0
        do {
            // Every frame consumes at least 8 bytes, so this loop is bounded by the input length.
            while let _ = try parser.nextFrame(from: &buffer) { count += 1 }
        } catch is SPDYError {
            return .error
        } catch {
            Issue.record("unexpected error type \(error)")
            return .error
        }
        return buffer.readableBytes == 0 ? .frames(count) : .incomplete
    }

    /// What kube-apiserver sent on the recorded `kubectl exec -i` connection (one compression context).
    static func recordedStream() throws -> [UInt8] {
        let connection = try #require(try RecordedSPDYConnection.all().first { $0.title.contains("exec -i ") })
        return connection.frames.filter { $0.direction == .apiserverToKubelet }.flatMap { Array($0.bytes.readableBytesView) }
    }

    @Test func randomBytesEndInFramesOrAnError() {
        var random = SeededGenerator(state: 7)
        var outcomes: [Outcome] = []
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...256, using: &random)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Half the time, make it look like a SPDY/3 control frame so the deeper paths run.
            if bytes.count >= 8 && Bool.random(using: &random) {
                bytes[0] = 0x80
                bytes[1] = 0x03
                bytes[2] = 0
                bytes[3] = UInt8.random(in: 1...10, using: &random)
                bytes[5] = 0
                bytes[6] = 0
                bytes[7] = UInt8(min(bytes.count - 8, 255))
            }
            outcomes.append(Self.run(bytes))
        }
        #expect(outcomes.contains(.error))
        #expect(!outcomes.isEmpty)
    }

    @Test func everyTruncationOfRecordedTrafficIsIncompleteNeverWrong() throws {
        let bytes = try Self.recordedStream()
        var boundaries: Set<Int> = [0]
        var parser = SPDYFrameParser()
        var buffer = ByteBuffer(bytes: bytes)
        while try parser.nextFrame(from: &buffer) != nil { boundaries.insert(bytes.count - buffer.readableBytes) }
        for cut in 0...bytes.count {
            let outcome = Self.run(Array(bytes[0..<cut]))
            if boundaries.contains(cut) {
                guard case .frames = outcome else { Issue.record("cut at a frame boundary \(cut) gave \(outcome)"); continue }
            } else {
                #expect(outcome == .incomplete, "cut at \(cut)")
            }
        }
    }

    @Test func corruptedRecordedTrafficNeverCrashes() throws {
        let original = try Self.recordedStream()
        var random = SeededGenerator(state: 42)
        var errors = 0
        for _ in 0..<2_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Self.run(bytes) == .error { errors += 1 }
        }
        #expect(errors > 0, "some corruptions must be detected")
    }

    @Test func hostileLengthsNeverMakeTheParserWait() {
        // A DATA frame announcing 16 MiB - 1: refused as soon as its header is seen, not buffered.
        #expect(Self.run([0, 0, 0, 1, 0, 0xFF, 0xFF, 0xFF]) == .error)
        // A SYN_STREAM announcing 16 MiB - 1.
        #expect(Self.run([0x80, 0x03, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF]) == .error)
    }
}
