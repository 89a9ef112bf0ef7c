import CZlib
import NIOCore
import NIOEmbedded
import Testing

@testable import SPDY

/// Frame layouts written out by hand from the SPDY/3.1 specification (section 2.2 and 2.6), and
/// the parser's streaming behaviour and limits.
@Suite struct FramingTests {
    static func parseAll(_ bytes: [UInt8], limits: SPDYFrameParser.Limits = .init()) throws -> [SPDYFrame] {
        var parser = SPDYFrameParser(limits: limits)
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [SPDYFrame] = []
        while let frame = try parser.nextFrame(from: &buffer) { frames.append(frame) }
        #expect(buffer.readableBytes == 0, "bytes left after the last frame")
        return frames
    }

    static func encode(_ frame: SPDYFrame) throws -> [UInt8] {
        var encoder = SPDYFrameEncoder()
        var buffer = ByteBuffer()
        try encoder.encode(frame, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Fixed-layout frames: bytes from the spec's diagrams ⇄ frames.
    static let specVectors: [(String, [UInt8], SPDYFrame)] = [
        ("DATA stream 3 FIN 'hi'", [0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x02, 0x68, 0x69],
         SPDYFrame(streamID: 3, payload: .data(ByteBuffer(string: "hi"), fin: true))),
        ("DATA stream 0x7fffffff empty", [0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00],
         SPDYFrame(streamID: .maxID, payload: .data(ByteBuffer(), fin: false))),
        ("RST_STREAM stream 1 CANCEL", [0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 5],
         SPDYFrame(streamID: 1, payload: .rstStream(.cancel))),
        ("RST_STREAM stream 9 FLOW_CONTROL_ERROR", [0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 9, 0, 0, 0, 7],
         SPDYFrame(streamID: 9, payload: .rstStream(.flowControlError))),
        ("SETTINGS clear, persist MAX_CONCURRENT_STREAMS=100, INITIAL_WINDOW_SIZE=65536",
         [0x80, 0x03, 0x00, 0x04, 0x01, 0x00, 0x00, 0x14, 0, 0, 0, 2, 0x01, 0, 0, 4, 0, 0, 0, 100, 0x00, 0, 0, 7, 0, 1, 0, 0],
         SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.maxConcurrentStreams, 100, flags: 1), SPDYSetting(.initialWindowSize, 65_536)], clearSettings: true))),
        ("SETTINGS empty", [0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0],
         SPDYFrame(streamID: .session, payload: .settings([], clearSettings: false))),
        ("PING 1", [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1],
         SPDYFrame(streamID: .session, payload: .ping(1))),
        ("PING 0xfffffffe", [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0xFF, 0xFF, 0xFF, 0xFE],
         SPDYFrame(streamID: .session, payload: .ping(0xFFFF_FFFE))),
        ("GOAWAY last 7 PROTOCOL_ERROR", [0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 7, 0, 0, 0, 1],
         SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: 7, status: .protocolError))),
        ("WINDOW_UPDATE stream 3 +32768", [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 3, 0, 0, 0x80, 0],
         SPDYFrame(streamID: 3, payload: .windowUpdate(delta: 32_768))),
        ("WINDOW_UPDATE session +65536", [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 1, 0, 0],
         SPDYFrame(streamID: .session, payload: .windowUpdate(delta: 65_536))),
    ]

    @Test(arguments: specVectors.indices)
    func specVectorParsesAndEncodes(index: Int) throws {
        let (name, bytes, frame) = Self.specVectors[index]
        #expect(try Self.parseAll(bytes) == [frame], "\(name)")
        #expect(try Self.encode(frame) == bytes, "\(name)")
    }

    @Test func reservedBitsInStreamIDsAreIgnored() throws {
        let bytes: [UInt8] = [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0x80, 0, 0, 3, 0x80, 0, 0, 1]
        #expect(try Self.parseAll(bytes) == [SPDYFrame(streamID: 3, payload: .windowUpdate(delta: 1))])
    }

    @Test func synStreamFixedFieldsFollowTheSpecLayout() throws {
        let frame = SPDYFrame(streamID: 1, payload: .synStream(.init(headers: ["streamtype": "error"], associatedStreamID: 2, priority: 7, slot: 9, fin: true, unidirectional: true)))
        let bytes = try Self.encode(frame)
        // Control bit + version 3, type 1, flags FIN|UNIDIRECTIONAL, length; stream 1, associated 2, priority 7 in the top 3 bits, slot.
        #expect(Array(bytes[0..<5]) == [0x80, 0x03, 0x00, 0x01, 0x03])
        #expect(Int(bytes[5]) << 16 | Int(bytes[6]) << 8 | Int(bytes[7]) == bytes.count - 8)
        #expect(Array(bytes[8..<18]) == [0, 0, 0, 1, 0, 0, 0, 2, 0xE0, 9])
        #expect(try Self.parseAll(bytes) == [frame])
    }

    @Test func headersAndSynReplyRoundTrip() throws {
        var encoder = SPDYFrameEncoder()
        var parser = SPDYFrameParser()
        var buffer = ByteBuffer()
        let frames = [
            SPDYFrame(streamID: 1, payload: .synReply(headers: ["x-stream-protocol-version": "v4.channel.k8s.io"], fin: false)),
            SPDYFrame(streamID: 1, payload: .headers(["status": "200", "set-cookie": "a=1"], fin: true)),
            SPDYFrame(streamID: 3, payload: .synReply(headers: [:], fin: true)),
        ]
        for frame in frames { try encoder.encode(frame, into: &buffer) }
        var decoded: [SPDYFrame] = []
        while let frame = try parser.nextFrame(from: &buffer) { decoded.append(frame) }
        #expect(decoded == frames)
    }

    /// The uncompressed name/value block of section 2.6.10, and several values joined by NUL.
    @Test func nameValueBlockLayout() throws {
        var headers = SPDYHeaders()
        headers.add(name: "Port", value: "8080")
        headers.add(name: "streamtype", value: "data")
        headers.add(name: "port", value: "9090")
        let bytes = SPDYNameValueBlock.encode(headers)
        let expected: [UInt8] = [0, 0, 0, 2,
            0, 0, 0, 4] + Array("port".utf8) + [0, 0, 0, 9] + Array("8080\u{0}9090".utf8)
            + [0, 0, 0, 10] + Array("streamtype".utf8) + [0, 0, 0, 4] + Array("data".utf8)
        #expect(bytes == expected)
        let decoded = try SPDYNameValueBlock.decode(bytes)
        #expect(decoded["port"] == ["8080", "9090"])
        #expect(decoded.first(name: "StreamType") == "data")
    }

    @Test(arguments: [
        ("count larger than the block", [0, 0, 0, 9, 0, 0, 0, 0]),
        ("empty name", [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("upper-case name", [0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0, 0, 0]),
        ("duplicate name", [0, 0, 0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 0, 0]),
        ("name runs past the end", [0, 0, 0, 1, 0, 0, 0, 9, 0x61]),
        ("value length missing", [0, 0, 0, 1, 0, 0, 0, 1, 0x61]),
        ("bytes after the last pair", [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("too short for a count", [0, 0]),
    ] as [(String, [UInt8])])
    func malformedNameValueBlocksAreRejected(name: String, bytes: [UInt8]) {
        #expect(throws: SPDYError.invalidHeaderBlock, "\(name)") { try SPDYNameValueBlock.decode(bytes) }
    }

    @Test func dictionaryIsTheOneTheSpecNames() {
        let bytes = SPDYHeaderDictionary.bytes
        #expect(bytes.count == 1423)
        let checksum = bytes.withUnsafeBufferPointer { adler32(adler32(0, nil, 0), $0.baseAddress, uInt($0.count)) }
        #expect(checksum == 0xE3C6_A7C2, "the DICTID in every SPDY/3 zlib header")
    }

    @Test func unknownControlFramesAreSkipped() throws {
        let credential: [UInt8] = [0x80, 0x03, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x03, 1, 2, 3]
        let future: [UInt8] = [0x80, 0x03, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00]
        let ping: [UInt8] = [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]
        #expect(try Self.parseAll(credential + future + ping) == [SPDYFrame(streamID: .session, payload: .ping(1))])
    }

    @Test func otherVersionsAreRejected() {
        let spdy2Ping: [UInt8] = [0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]
        #expect(throws: SPDYError.unsupportedVersion) { try Self.parseAll(spdy2Ping) }
    }

    @Test(arguments: [
        ("RST_STREAM of 4 bytes", [0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]),
        ("PING of 8 bytes", [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 1]),
        ("GOAWAY of SPDY/2's 4 bytes", [0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]),
        ("WINDOW_UPDATE of 4 bytes", [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]),
        ("SETTINGS announcing 2 entries in 1", [0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0C, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 1]),
        ("SETTINGS with a huge count", [0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("SYN_STREAM without its fixed fields", [0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]),
        ("SYN_REPLY without a stream id", [0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00]),
    ] as [(String, [UInt8])])
    func wrongControlFrameLengthsAreRejected(name: String, bytes: [UInt8]) {
        #expect(throws: SPDYError.invalidFrameLength, "\(name)") { try Self.parseAll(bytes) }
    }

    @Test func oversizedFramesFailAsSoonAsTheirHeaderArrives() throws {
        var parser = SPDYFrameParser(limits: .init(maxFramePayloadSize: 1024))
        var header = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF])
        #expect(throws: SPDYError.frameTooLarge) { try parser.nextFrame(from: &header) }
        var next = ByteBuffer(bytes: [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1])
        #expect(throws: SPDYError.frameTooLarge, "a failed parser stays failed") { try parser.nextFrame(from: &next) }
    }

    /// A small compressed block that inflates to a megabyte must not be inflated past the limit.
    @Test func headerBlocksThatInflateBeyondTheLimitAreRejected() throws {
        let bomb = SPDYFrame(streamID: 1, payload: .synStream(.init(headers: ["x": String(repeating: "a", count: 1 << 20)])))
        let bytes = try Self.encode(bomb)
        #expect(bytes.count < 4096)
        #expect(throws: SPDYError.headerBlockTooLarge) { try Self.parseAll(bytes, limits: .init(maxHeaderBlockSize: 16 << 10)) }
        #expect(try Self.parseAll(bytes, limits: .init(maxHeaderBlockSize: 2 << 20)) == [bomb])
    }

    @Test func garbageHeaderBlocksFailCleanly() {
        // A SYN_STREAM whose header block is not a zlib stream.
        let bytes: [UInt8] = [0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0E, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]
        #expect(throws: SPDYError.compressionFailure) { try Self.parseAll(bytes) }
    }

    // MARK: streaming

    static func recordedBytes(_ direction: RecordedSPDYConnection.Direction) throws -> (ByteBuffer, [SPDYFrame]) {
        let connection = try #require(try RecordedSPDYConnection.all().first { $0.title.contains("exec -it") })
        var all = ByteBuffer()
        var frames: [SPDYFrame] = []
        var parser = SPDYFrameParser()
        for recorded in connection.frames where recorded.direction == direction {
            var bytes = recorded.bytes
            all.writeImmutableBuffer(bytes)
            frames.append(try #require(try parser.nextFrame(from: &bytes)))
        }
        return (all, frames)
    }

    @Test func severalFramesInOneBufferComeOutOneByOne() throws {
        let (all, frames) = try Self.recordedBytes(.apiserverToKubelet)
        #expect(try Self.parseAll(Array(all.readableBytesView)) == frames)
    }

    @Test func framesSplitAtEveryByteStillParse() throws {
        let (all, frames) = try Self.recordedBytes(.apiserverToKubelet)
        var parser = SPDYFrameParser()
        var pending = ByteBuffer()
        var decoded: [SPDYFrame] = []
        for byte in all.readableBytesView {
            pending.writeInteger(byte)
            while let frame = try parser.nextFrame(from: &pending) { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test func decoderInAChannelDeliversFramesAndFailsOnATruncatedEnd() throws {
        let (all, frames) = try Self.recordedBytes(.kubeletToApiserver)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SPDYFrameDecoder()))
        var remaining = all
        while remaining.readableBytes > 0 {
            try channel.writeInbound(remaining.readSlice(length: min(7, remaining.readableBytes))!)
        }
        var decoded: [SPDYFrame] = []
        while let frame = try channel.readInbound(as: SPDYFrame.self) { decoded.append(frame) }
        #expect(decoded == frames)
        try channel.writeInbound(ByteBuffer(bytes: [0x80, 0x03, 0x00, 0x06, 0x00]))
        #expect(throws: SPDYError.protocolViolation) { try channel.finish() }
    }
}
