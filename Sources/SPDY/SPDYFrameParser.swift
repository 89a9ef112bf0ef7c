import NIOCore

/// Turns bytes into `SPDYFrame`s, inflating header blocks with the connection's single inflate
/// context for the peer's direction (so every frame must pass through the same parser, in order).
///
/// Streaming: `nextFrame(from:)` consumes one whole frame or nothing, so partial frames wait for
/// more bytes and several frames in one buffer come out one by one. The announced length is checked
/// against `Limits` as soon as a frame header arrives, so hostile input fails before it is buffered.
/// After an error the parser stays failed: the compression context is no longer trustworthy.
/// Copies share the inflate context, so keep exactly one parser per direction of a connection.
public struct SPDYFrameParser {
    /// Bounds on what a peer may make this side buffer.
    public struct Limits: Sendable, Hashable {
        /// The largest frame payload accepted (the wire allows up to 16 MiB - 1).
        public var maxFramePayloadSize: Int
        /// The largest inflated header block accepted.
        public var maxHeaderBlockSize: Int

        /// Limits; the defaults fit kube-apiserver's exec and port-forward traffic with wide margins.
        public init(maxFramePayloadSize: Int = 1 << 20, maxHeaderBlockSize: Int = 64 << 10) {
            self.maxFramePayloadSize = maxFramePayloadSize
            self.maxHeaderBlockSize = maxHeaderBlockSize
        }
    }

    /// The limits in force.
    public let limits: Limits
    private let inflater = SPDYHeaderInflater()
    private var failure: SPDYError?

    /// A parser for one direction of one connection.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The next complete frame at the front of `buffer`, consuming it; nil when more bytes are needed.
    /// Unknown control frame types are skipped, as SPDY/3.1 requires.
    public mutating func nextFrame(from buffer: inout ByteBuffer) throws -> SPDYFrame? {
        if let failure { throw failure }
        do {
            while true {
                guard let (frame, consumed) = try parseFrame(at: buffer) else { return nil }
                buffer.moveReaderIndex(forwardBy: consumed)
                if let frame { return frame }
            }
        } catch let error as SPDYError {
            failure = error
            throw error
        }
    }

    /// Parses the frame at the reader index without consuming. Returns nil when incomplete, and a nil
    /// frame (with its size) for a control frame type this side ignores.
    private func parseFrame(at buffer: ByteBuffer) throws -> (SPDYFrame?, Int)? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              let flagsAndLength = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self)
        else { return nil }
        let flags = UInt8(flagsAndLength >> 24)
        let length = Int(flagsAndLength & 0xFF_FFFF)
        let isControl = first & 0x8000_0000 != 0
        let typeName = isControl ? Self.controlTypeName(UInt16(first & 0xFFFF)) : "DATA"

        if isControl {
            let version = UInt16((first >> 16) & 0x7FFF)
            guard version == SPDYWire.version else { throw SPDYError.unsupportedVersion(version) }
        }
        guard length <= limits.maxFramePayloadSize else {
            throw SPDYError.frameTooLarge(type: typeName, length: length, limit: limits.maxFramePayloadSize)
        }
        guard var payload = buffer.getSlice(at: buffer.readerIndex + SPDYWire.frameHeaderSize, length: length) else { return nil }
        let size = SPDYWire.frameHeaderSize + length

        guard isControl else {
            let frame = SPDYFrame(streamID: SPDYStreamID(first), payload: .data(payload, fin: flags & SPDYWire.flagFin != 0))
            return (frame, size)
        }
        guard let type = SPDYWire.ControlType(rawValue: UInt16(first & 0xFFFF)) else { return (nil, size) }
        let fin = flags & SPDYWire.flagFin != 0

        func requireLength(_ valid: Bool, _ expected: String) throws {
            guard valid else { throw SPDYError.invalidFrameLength(type: typeName, length: length, expected: expected) }
        }
        func readStreamID() -> SPDYStreamID { SPDYStreamID(payload.readInteger(as: UInt32.self)!) }

        let frame: SPDYFrame
        switch type {
        case .synStream:
            try requireLength(length >= 10, "at least 10")
            let streamID = readStreamID()
            let associated = readStreamID()
            let priority = payload.readInteger(as: UInt8.self)! >> 5
            let slot = payload.readInteger(as: UInt8.self)!
            let headers = try decodeHeaderBlock(payload)
            let syn = SPDYFrame.SynStream(
                headers: headers, associatedStreamID: associated, priority: priority, slot: slot,
                fin: fin, unidirectional: flags & SPDYWire.flagUnidirectional != 0)
            frame = SPDYFrame(streamID: streamID, payload: .synStream(syn))
        case .synReply:
            try requireLength(length >= 4, "at least 4")
            let streamID = readStreamID()
            frame = SPDYFrame(streamID: streamID, payload: .synReply(headers: try decodeHeaderBlock(payload), fin: fin))
        case .rstStream:
            try requireLength(length == 8, "8")
            let streamID = readStreamID()
            frame = SPDYFrame(streamID: streamID, payload: .rstStream(SPDYStreamStatus(rawValue: payload.readInteger()!)))
        case .settings:
            try requireLength(length >= 4, "4 + 8 per entry")
            let count = Int(payload.readInteger(as: UInt32.self)!)
            try requireLength(count <= (length - 4) / 8 && length == 4 + 8 * count, "4 + 8 × \(count) entries")
            var settings: [SPDYSetting] = []
            for _ in 0..<count {
                let flagsAndID = payload.readInteger(as: UInt32.self)!
                let value = payload.readInteger(as: UInt32.self)!
                settings.append(SPDYSetting(SPDYSetting.Identifier(rawValue: flagsAndID), value, flags: UInt8(flagsAndID >> 24)))
            }
            frame = SPDYFrame(streamID: .session, payload: .settings(settings, clearSettings: flags & SPDYWire.flagClearSettings != 0))
        case .ping:
            try requireLength(length == 4, "4")
            frame = SPDYFrame(streamID: .session, payload: .ping(payload.readInteger()!))
        case .goAway:
            try requireLength(length == 8, "8")
            let lastGood = readStreamID()
            frame = SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: lastGood, status: SPDYGoAwayStatus(rawValue: payload.readInteger()!)))
        case .headers:
            try requireLength(length >= 4, "at least 4")
            let streamID = readStreamID()
            frame = SPDYFrame(streamID: streamID, payload: .headers(try decodeHeaderBlock(payload), fin: fin))
        case .windowUpdate:
            try requireLength(length == 8, "8")
            let streamID = readStreamID()
            frame = SPDYFrame(streamID: streamID, payload: .windowUpdate(delta: payload.readInteger(as: UInt32.self)! & 0x7FFF_FFFF))
        }
        return (frame, size)
    }

    private func decodeHeaderBlock(_ compressed: ByteBuffer) throws -> SPDYHeaders {
        if compressed.readableBytes == 0 { return SPDYHeaders() }
        let block = try inflater.decompress(compressed.readableBytesView, limit: limits.maxHeaderBlockSize)
        return try SPDYNameValueBlock.decode(block)
    }

    static func controlTypeName(_ type: UInt16) -> String {
        switch SPDYWire.ControlType(rawValue: type) {
        case .synStream: "SYN_STREAM"
        case .synReply: "SYN_REPLY"
        case .rstStream: "RST_STREAM"
        case .settings: "SETTINGS"
        case .ping: "PING"
        case .goAway: "GOAWAY"
        case .headers: "HEADERS"
        case .windowUpdate: "WINDOW_UPDATE"
        case nil: "control type \(type)"
        }
    }
}

/// `SPDYFrameParser` as a NIO `ByteToMessageDecoder`: bytes in, `SPDYFrame`s out. Put it in a
/// `ByteToMessageHandler` in front of `SPDYConnectionHandler`.
public struct SPDYFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SPDYFrame

    private var parser: SPDYFrameParser

    /// A decoder with the given limits.
    public init(limits: SPDYFrameParser.Limits = SPDYFrameParser.Limits()) {
        parser = SPDYFrameParser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try parser.nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw SPDYError.protocolViolation("the connection ended inside a frame (\(buffer.readableBytes) bytes of an incomplete frame)")
        }
        return .needMoreData
    }
}
