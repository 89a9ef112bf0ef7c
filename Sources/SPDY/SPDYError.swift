/// Everything that can go wrong in the SPDY layer: malformed or hostile frames, header blocks that
/// do not inflate, protocol rules broken by the peer, and operations the caller may not do in the
/// current state.
///
/// Shaped like AsyncHTTPClient's `HTTPClientError`: compare against the static members
/// (`error == .frameTooLarge`) to learn the kind; `description` says what happened and what to do.
public struct SPDYError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case frameTooLarge
        case headerBlockTooLarge
        case unsupportedVersion
        case invalidFrameLength
        case invalidHeaderBlock
        case compressionFailure
        case protocolViolation
        case flowControlViolation
        case invalidStreamState
        case connectionClosed
        case streamReset
    }

    private var code: Code
    private var detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "SPDYError.\(code): \(detail)" }

    public static func == (lhs: SPDYError, rhs: SPDYError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// A frame announced more payload than the configured limit.
    public static let frameTooLarge = SPDYError(.frameTooLarge, "")
    /// A header block inflated to more bytes than the configured limit.
    public static let headerBlockTooLarge = SPDYError(.headerBlockTooLarge, "")
    /// A control frame carried a SPDY version other than 3.
    public static let unsupportedVersion = SPDYError(.unsupportedVersion, "")
    /// A control frame's length does not fit its type.
    public static let invalidFrameLength = SPDYError(.invalidFrameLength, "")
    /// A name/value header block is malformed.
    public static let invalidHeaderBlock = SPDYError(.invalidHeaderBlock, "")
    /// zlib failed to deflate or inflate a header block.
    public static let compressionFailure = SPDYError(.compressionFailure, "")
    /// The peer broke a SPDY/3.1 rule that ends the session.
    public static let protocolViolation = SPDYError(.protocolViolation, "")
    /// The peer sent more than its flow-control window allowed.
    public static let flowControlViolation = SPDYError(.flowControlViolation, "")
    /// The caller asked for something the stream's or connection's state forbids.
    public static let invalidStreamState = SPDYError(.invalidStreamState, "")
    /// The connection is closed or going away.
    public static let connectionClosed = SPDYError(.connectionClosed, "")
    /// The stream was reset by either side.
    public static let streamReset = SPDYError(.streamReset, "")

    static func frameTooLarge(type: String, length: Int, limit: Int) -> SPDYError {
        SPDYError(.frameTooLarge, "a \(type) frame announced \(length) bytes of payload, more than the limit of \(limit); the peer is broken or hostile (raise SPDYFrameParser.Limits.maxFramePayloadSize if it is legitimate)")
    }

    static func headerBlockTooLarge(limit: Int) -> SPDYError {
        SPDYError(.headerBlockTooLarge, "a header block inflated to more than \(limit) bytes; the peer is broken or hostile (raise SPDYFrameParser.Limits.maxHeaderBlockSize if it is legitimate)")
    }

    static func unsupportedVersion(_ version: UInt16) -> SPDYError {
        SPDYError(.unsupportedVersion, "a control frame has SPDY version \(version); only SPDY/3 (3.1) is spoken here, check the Upgrade header the peer negotiated")
    }

    static func invalidFrameLength(type: String, length: Int, expected: String) -> SPDYError {
        SPDYError(.invalidFrameLength, "a \(type) frame has length \(length), expected \(expected)")
    }

    static func invalidHeaderBlock(_ why: String) -> SPDYError {
        SPDYError(.invalidHeaderBlock, "malformed name/value header block: \(why)")
    }

    static func compressionFailure(_ operation: String, zlibCode: Int32, message: String?) -> SPDYError {
        SPDYError(.compressionFailure, "zlib \(operation) failed with code \(zlibCode)\(message.map { " (\($0))" } ?? ""); the header compression contexts of the two sides are out of sync, the connection must be closed")
    }

    static func protocolViolation(_ why: String) -> SPDYError {
        SPDYError(.protocolViolation, "the peer broke the SPDY/3.1 protocol: \(why)")
    }

    static func flowControlViolation(_ why: String) -> SPDYError {
        SPDYError(.flowControlViolation, "flow control: \(why)")
    }

    static func invalidStreamState(_ why: String) -> SPDYError {
        SPDYError(.invalidStreamState, why)
    }

    static func connectionClosed(_ why: String) -> SPDYError {
        SPDYError(.connectionClosed, why)
    }

    static func streamReset(_ streamID: SPDYStreamID, status: SPDYStreamStatus) -> SPDYError {
        SPDYError(.streamReset, "stream \(streamID) was reset with status \(status)")
    }
}
