import NIOCore

/// A SPDY stream id: 31 bits, odd for streams the client opens, even for the server's, 0 for the
/// session itself (SETTINGS, PING, GOAWAY, session WINDOW_UPDATE).
public struct SPDYStreamID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The 31-bit value on the wire.
    public var rawValue: UInt32

    /// The id frames that belong to the session, not to a stream, carry.
    public static let session: SPDYStreamID = 0

    /// The largest id SPDY can express.
    public static let maxID = SPDYStreamID(0x7FFF_FFFF)

    /// An id from its wire value; the reserved top bit is dropped.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue & 0x7FFF_FFFF }

    public init(integerLiteral value: UInt32) { self.init(value) }

    /// Whether a client opened (or would open) this stream.
    public var isClientInitiated: Bool { rawValue % 2 == 1 }

    public var description: String { String(rawValue) }

    public static func < (lhs: SPDYStreamID, rhs: SPDYStreamID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// RST_STREAM status codes (SPDY/3.1 section 2.6.3).
public struct SPDYStreamStatus: Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit value on the wire.
    public var rawValue: UInt32

    /// A status from its wire value (unknown values are kept as they are).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let protocolError = SPDYStreamStatus(rawValue: 1)
    public static let invalidStream = SPDYStreamStatus(rawValue: 2)
    public static let refusedStream = SPDYStreamStatus(rawValue: 3)
    public static let unsupportedVersion = SPDYStreamStatus(rawValue: 4)
    public static let cancel = SPDYStreamStatus(rawValue: 5)
    public static let internalError = SPDYStreamStatus(rawValue: 6)
    public static let flowControlError = SPDYStreamStatus(rawValue: 7)
    public static let streamInUse = SPDYStreamStatus(rawValue: 8)
    public static let streamAlreadyClosed = SPDYStreamStatus(rawValue: 9)
    public static let frameTooLarge = SPDYStreamStatus(rawValue: 11)

    public var description: String {
        switch rawValue {
        case 1: "PROTOCOL_ERROR"
        case 2: "INVALID_STREAM"
        case 3: "REFUSED_STREAM"
        case 4: "UNSUPPORTED_VERSION"
        case 5: "CANCEL"
        case 6: "INTERNAL_ERROR"
        case 7: "FLOW_CONTROL_ERROR"
        case 8: "STREAM_IN_USE"
        case 9: "STREAM_ALREADY_CLOSED"
        case 11: "FRAME_TOO_LARGE"
        default: "status \(rawValue)"
        }
    }
}

/// GOAWAY status codes (SPDY/3.1 section 2.6.6).
public struct SPDYGoAwayStatus: Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit value on the wire.
    public var rawValue: UInt32

    /// A status from its wire value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = SPDYGoAwayStatus(rawValue: 0)
    public static let protocolError = SPDYGoAwayStatus(rawValue: 1)
    public static let internalError = SPDYGoAwayStatus(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: "OK"
        case 1: "PROTOCOL_ERROR"
        case 2: "INTERNAL_ERROR"
        default: "status \(rawValue)"
        }
    }
}

/// One SETTINGS entry (SPDY/3.1 section 2.6.4).
public struct SPDYSetting: Hashable, Sendable {
    /// Setting ids.
    public struct Identifier: Hashable, Sendable {
        /// The 24-bit value on the wire.
        public var rawValue: UInt32
        /// An id from its wire value.
        public init(rawValue: UInt32) { self.rawValue = rawValue & 0xFF_FFFF }

        public static let uploadBandwidth = Identifier(rawValue: 1)
        public static let downloadBandwidth = Identifier(rawValue: 2)
        public static let roundTripTime = Identifier(rawValue: 3)
        public static let maxConcurrentStreams = Identifier(rawValue: 4)
        public static let currentCWND = Identifier(rawValue: 5)
        public static let downloadRetransRate = Identifier(rawValue: 6)
        public static let initialWindowSize = Identifier(rawValue: 7)
        public static let clientCertificateVectorSize = Identifier(rawValue: 8)
    }

    /// FLAG_SETTINGS_PERSIST_VALUE (0x1) and FLAG_SETTINGS_PERSISTED (0x2).
    public var flags: UInt8
    /// Which setting.
    public var identifier: Identifier
    /// Its value.
    public var value: UInt32

    /// A setting entry; `flags` are rarely needed.
    public init(_ identifier: Identifier, _ value: UInt32, flags: UInt8 = 0) {
        self.identifier = identifier
        self.value = value
        self.flags = flags
    }
}

/// A SPDY/3.1 frame, shaped like NIOHTTP2's `HTTP2Frame`: the stream it belongs to and what it says.
/// Header blocks are kept decoded; the parser inflates and the encoder deflates them.
public struct SPDYFrame: Hashable, Sendable {
    /// The stream the frame belongs to; `.session` for SETTINGS, PING, GOAWAY and session window updates.
    public var streamID: SPDYStreamID
    /// The frame's content.
    public var payload: Payload

    /// A frame.
    public init(streamID: SPDYStreamID, payload: Payload) {
        self.streamID = streamID
        self.payload = payload
    }

    /// What a frame carries; one case per frame type.
    public enum Payload: Hashable, Sendable {
        /// SYN_STREAM: opens a stream. FIN half-closes the sender's side at once; UNIDIRECTIONAL means
        /// the recipient may not send.
        case synStream(SynStream)
        /// SYN_REPLY: the recipient accepts a stream.
        case synReply(headers: SPDYHeaders, fin: Bool)
        /// RST_STREAM: aborts a stream.
        case rstStream(SPDYStreamStatus)
        /// SETTINGS; `clearSettings` is FLAG_SETTINGS_CLEAR_SETTINGS.
        case settings([SPDYSetting], clearSettings: Bool)
        /// PING: echoed by the recipient when the id has the sender's parity.
        case ping(UInt32)
        /// GOAWAY: no new streams; streams above `lastGoodStreamID` were not processed.
        case goAway(lastGoodStreamID: SPDYStreamID, status: SPDYGoAwayStatus)
        /// HEADERS: more headers for an open stream.
        case headers(SPDYHeaders, fin: Bool)
        /// WINDOW_UPDATE: the sender may send `delta` more bytes (on the stream, or the session when the id is 0).
        case windowUpdate(delta: UInt32)
        /// A data frame.
        case data(ByteBuffer, fin: Bool)
    }

    /// The content of a SYN_STREAM frame.
    public struct SynStream: Hashable, Sendable {
        /// The stream this one is associated with (server push), usually 0.
        public var associatedStreamID: SPDYStreamID
        /// 0 (highest) to 7.
        public var priority: UInt8
        /// CREDENTIAL slot, 0 when unused.
        public var slot: UInt8
        /// The stream's headers.
        public var headers: SPDYHeaders
        /// FLAG_FIN: the sender sends nothing more on this stream.
        public var fin: Bool
        /// FLAG_UNIDIRECTIONAL: the recipient may not send on this stream.
        public var unidirectional: Bool

        /// A SYN_STREAM's content; everything but the headers defaults to what kube-apiserver sends.
        public init(headers: SPDYHeaders, associatedStreamID: SPDYStreamID = 0, priority: UInt8 = 0, slot: UInt8 = 0, fin: Bool = false, unidirectional: Bool = false) {
            self.headers = headers
            self.associatedStreamID = associatedStreamID
            self.priority = priority & 0x7
            self.slot = slot
            self.fin = fin
            self.unidirectional = unidirectional
        }
    }
}

/// Wire constants.
enum SPDYWire {
    static let version: UInt16 = 3
    static let frameHeaderSize = 8
    static let flagFin: UInt8 = 0x01
    static let flagUnidirectional: UInt8 = 0x02
    static let flagClearSettings: UInt8 = 0x01
    /// The initial flow-control window of every stream and of the session.
    static let defaultInitialWindowSize: UInt32 = 65_536
    static let maxWindowSize = Int64(Int32.max)

    enum ControlType: UInt16 {
        case synStream = 1
        case synReply = 2
        case rstStream = 3
        case settings = 4
        case ping = 6
        case goAway = 7
        case headers = 8
        case windowUpdate = 9
    }
}
