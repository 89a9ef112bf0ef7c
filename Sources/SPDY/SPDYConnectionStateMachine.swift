import NIOCore

/// The rules of one SPDY/3.1 session, as a value: frames and caller requests go in, actions come
/// out (frames to write, stream events to deliver, whether to close). No I/O, so every rule is
/// tested without sockets, like AsyncHTTPClient's `HTTPRequestStateMachine`.
///
/// What it enforces: stream id parity (client odd, server even) and monotonic ids; SYN_STREAM →
/// SYN_REPLY before the recipient sends; half-close by FIN (a stream ends when both sides sent
/// FIN, or on RST_STREAM); RST_STREAM with the status codes of section 2.4.2; flow control per
/// stream and per session (64 KiB initial windows, WINDOW_UPDATE, SETTINGS_INITIAL_WINDOW_SIZE),
/// queueing outbound data that does not fit, when `Configuration.flowControl` is `.enforced`; PING echo for the peer's ids and matching of answers
/// to ours; GOAWAY with the last stream id processed.
public struct SPDYConnectionStateMachine {
    /// Which end of the connection this is: the client opens odd streams (kube-apiserver), the server
    /// even ones (the kubelet, which opens none).
    public enum Role: Sendable, Hashable { case client, server }

    /// Whether the flow-control windows of SPDY/3.1 are honoured.
    public enum FlowControl: Sendable, Hashable {
        /// As SPDY/3.1 specifies: outbound data waits for window, a peer overrunning a window is an
        /// error, WINDOW_UPDATEs are sent as received data is consumed.
        case enforced
        /// As Kubernetes' SPDY stack (moby/spdystream, used by kube-apiserver, kubelet and kubectl)
        /// behaves: it announces SPDY/3.1 but neither sends WINDOW_UPDATE nor waits for one, so a
        /// side that enforced windows would stall after 64 KiB of output and reset large stdin
        /// transfers. Windows are ignored both ways; WINDOW_UPDATE and window SETTINGS are ignored.
        case disabled
    }

    /// Tunables of one session.
    public struct Configuration: Sendable, Hashable {
        /// The receive window this side offers per stream (announced by SETTINGS when not 64 KiB).
        public var initialWindowSize: UInt32
        /// How many streams the peer may have open at once; more are refused with REFUSED_STREAM.
        public var maxConcurrentPeerStreams: Int
        /// The largest data frame this side writes.
        public var maxDataFrameSize: Int
        /// Whether windows are honoured; `.disabled` by default, to interoperate with Kubernetes.
        public var flowControl: FlowControl

        /// A configuration; the defaults match what kube-apiserver expects of a kubelet.
        public init(
            initialWindowSize: UInt32 = 65_536,
            maxConcurrentPeerStreams: Int = 1_000,
            maxDataFrameSize: Int = 16_384,
            flowControl: FlowControl = .disabled
        ) {
            self.flowControl = flowControl
            self.initialWindowSize = min(initialWindowSize, UInt32(Int32.max))
            self.maxConcurrentPeerStreams = maxConcurrentPeerStreams
            self.maxDataFrameSize = max(1, min(maxDataFrameSize, 0xFF_FFFF))
        }
    }

    /// What the owner of the state machine must do.
    public enum Action: Hashable, Sendable {
        /// Encode and write this frame.
        case write(SPDYFrame)
        /// The peer opened a stream (SYN_STREAM). `fin`: it will send nothing more; `unidirectional`:
        /// this side may not send on it.
        case streamOpened(SPDYStreamID, headers: SPDYHeaders, fin: Bool, unidirectional: Bool)
        /// The peer accepted a stream this side opened (SYN_REPLY).
        case streamReplied(SPDYStreamID, headers: SPDYHeaders, fin: Bool)
        /// More headers on a stream (HEADERS).
        case headersReceived(SPDYStreamID, headers: SPDYHeaders, fin: Bool)
        /// Data on a stream; `fin`: the peer sends nothing more on it. Report the bytes with
        /// `dataConsumed(on:bytes:)` once they are used, so the peer may send more.
        case dataReceived(SPDYStreamID, ByteBuffer, fin: Bool)
        /// The stream is gone because of a reset, by the peer or by this side on a peer's error (a
        /// RST_STREAM is then among the actions), or because the peer's GOAWAY did not cover it.
        case streamReset(SPDYStreamID, SPDYStreamStatus)
        /// Both sides sent FIN: the stream ended normally and is gone.
        case streamClosed(SPDYStreamID)
        /// The peer answered this side's PING.
        case pingAnswered(UInt32)
        /// The peer sent GOAWAY: no new streams; streams above `lastGoodStreamID` were reset.
        case goAwayReceived(lastGoodStreamID: SPDYStreamID, status: SPDYGoAwayStatus)
        /// Close the connection (after writing the frames before this action): the peer broke the
        /// session (a GOAWAY saying so precedes this), or it is over.
        case closeConnection(SPDYError?)
    }

    private struct Stream {
        var locallyInitiated: Bool
        /// SYN_REPLY sent (peer's stream) or received (own stream).
        var replied: Bool
        /// The caller may write nothing more (FIN requested, or a unidirectional peer stream).
        var localClosed = false
        /// The FIN has actually been written (queued data drained first).
        var finWritten = false
        var remoteClosed = false
        var sendWindow: Int64
        var receiveWindow: Int64
        var unacknowledgedReceived: Int64 = 0
        var pending: [ByteBuffer] = []

        var pendingBytes: Int { pending.reduce(0) { $0 + $1.readableBytes } }
    }

    /// This end's role.
    public let role: Role
    /// The configuration in force.
    public let configuration: Configuration

    private var streams: [SPDYStreamID: Stream] = [:]
    private var nextLocalStreamID: UInt32
    private var nextPingID: UInt32
    private var outstandingPings: Set<UInt32> = []
    private var highestPeerStreamID = SPDYStreamID.session
    private var peerInitialWindowSize = Int64(SPDYWire.defaultInitialWindowSize)
    private var peerMaxConcurrentStreams = Int.max
    private var sessionSendWindow = Int64(SPDYWire.defaultInitialWindowSize)
    private var sessionReceiveWindow = Int64(SPDYWire.defaultInitialWindowSize)
    private var sessionUnacknowledgedReceived: Int64 = 0
    private var goAwaySent = false
    private var goAwayReceived = false
    private var closed = false

    /// A session for one connection.
    public init(role: Role, configuration: Configuration = Configuration()) {
        self.role = role
        self.configuration = configuration
        nextLocalStreamID = role == .client ? 1 : 2
        nextPingID = role == .client ? 1 : 2
    }

    // MARK: - Queries

    private var enforcesFlowControl: Bool { configuration.flowControl == .enforced }

    /// The streams currently open (in either direction).
    public var openStreamIDs: [SPDYStreamID] { streams.keys.sorted() }

    /// Whether a GOAWAY went either way and no stream is left: the connection may be closed.
    public var isIdleAfterGoAway: Bool { (goAwaySent || goAwayReceived) && streams.isEmpty }

    /// Outbound bytes accepted by `sendData` but still waiting for flow-control window.
    public func pendingOutboundBytes(on streamID: SPDYStreamID) -> Int { streams[streamID]?.pendingBytes ?? 0 }

    /// Whether `streamID` is open and this side may still write on it.
    public func canSend(on streamID: SPDYStreamID) -> Bool {
        guard let stream = streams[streamID] else { return false }
        return !stream.localClosed && (stream.locallyInitiated || stream.replied)
    }

    // MARK: - Requests from this side

    /// The frames to write when the session starts: SETTINGS when this side's window is not the default.
    public func start() -> [Action] {
        guard enforcesFlowControl, configuration.initialWindowSize != SPDYWire.defaultInitialWindowSize else { return [] }
        return [.write(SPDYFrame(streamID: .session, payload: .settings([SPDYSetting(.initialWindowSize, configuration.initialWindowSize)], clearSettings: false)))]
    }

    /// Opens a stream with the next id of this side's parity (SYN_STREAM).
    public mutating func openStream(headers: SPDYHeaders, fin: Bool = false, unidirectional: Bool = false) throws -> (SPDYStreamID, [Action]) {
        guard !closed, !goAwaySent, !goAwayReceived else {
            throw SPDYError.connectionClosed("cannot open a stream: the session is closed or going away (GOAWAY \(goAwayReceived ? "received" : "sent"))")
        }
        guard nextLocalStreamID <= SPDYStreamID.maxID.rawValue else {
            throw SPDYError.connectionClosed("cannot open a stream: stream ids are exhausted, open a new connection")
        }
        let openedLocally = streams.values.filter(\.locallyInitiated).count
        guard openedLocally < peerMaxConcurrentStreams else {
            throw SPDYError.invalidStreamState("cannot open a stream: the peer allows \(peerMaxConcurrentStreams) concurrent streams and \(openedLocally) are open")
        }
        let id = SPDYStreamID(nextLocalStreamID)
        nextLocalStreamID += 2
        var stream = Stream(locallyInitiated: true, replied: false, sendWindow: peerInitialWindowSize, receiveWindow: Int64(configuration.initialWindowSize))
        stream.localClosed = fin
        stream.finWritten = fin
        stream.remoteClosed = unidirectional
        streams[id] = stream
        let syn = SPDYFrame.SynStream(headers: headers, fin: fin, unidirectional: unidirectional)
        return (id, [.write(SPDYFrame(streamID: id, payload: .synStream(syn)))])
    }

    /// Accepts a stream the peer opened (SYN_REPLY); required before this side sends on it.
    public mutating func reply(to streamID: SPDYStreamID, headers: SPDYHeaders = SPDYHeaders(), fin: Bool = false) throws -> [Action] {
        guard var stream = streams[streamID], !stream.locallyInitiated else {
            throw SPDYError.invalidStreamState("cannot reply to stream \(streamID): it is not an open stream the peer opened")
        }
        guard !stream.replied else { throw SPDYError.invalidStreamState("stream \(streamID) was already replied to") }
        stream.replied = true
        var actions: [Action] = [.write(SPDYFrame(streamID: streamID, payload: .synReply(headers: headers, fin: fin && !stream.localClosed)))]
        if fin && !stream.localClosed {
            stream.localClosed = true
            stream.finWritten = true
        }
        streams[streamID] = stream
        closeIfDone(streamID, &actions)
        return actions
    }

    /// Sends more headers on a stream (HEADERS).
    public mutating func sendHeaders(on streamID: SPDYStreamID, headers: SPDYHeaders, fin: Bool = false) throws -> [Action] {
        guard canSend(on: streamID), var stream = streams[streamID], stream.pending.isEmpty else {
            throw SPDYError.invalidStreamState("cannot send headers on stream \(streamID): it is not open for writing (closed, not replied to yet, or data is still queued)")
        }
        var actions: [Action] = [.write(SPDYFrame(streamID: streamID, payload: .headers(headers, fin: fin)))]
        if fin {
            stream.localClosed = true
            stream.finWritten = true
        }
        streams[streamID] = stream
        closeIfDone(streamID, &actions)
        return actions
    }

    /// Queues data (and FIN when `fin`) on a stream and returns the data frames the windows allow
    /// now; the rest goes out as the peer sends WINDOW_UPDATEs.
    public mutating func sendData(on streamID: SPDYStreamID, _ data: ByteBuffer, fin: Bool = false) throws -> [Action] {
        guard canSend(on: streamID), var stream = streams[streamID] else {
            throw SPDYError.invalidStreamState("cannot send data on stream \(streamID): it is not open for writing (closed, reset, or the peer's stream was not replied to yet)")
        }
        if data.readableBytes > 0 { stream.pending.append(data) }
        if fin { stream.localClosed = true }
        streams[streamID] = stream
        var actions: [Action] = []
        flush(streamID, &actions)
        return actions
    }

    /// Aborts a stream (RST_STREAM), dropping its queued data. Unknown streams need no reset.
    public mutating func resetStream(_ streamID: SPDYStreamID, status: SPDYStreamStatus = .cancel) -> [Action] {
        guard streams.removeValue(forKey: streamID) != nil else { return [] }
        return [.write(SPDYFrame(streamID: streamID, payload: .rstStream(status)))]
    }

    /// Tells the peer no new streams will be accepted (GOAWAY with the last stream id processed).
    /// Open streams continue; sent once.
    public mutating func goAway(status: SPDYGoAwayStatus = .ok) -> [Action] {
        guard !goAwaySent, !closed else { return [] }
        goAwaySent = true
        var actions: [Action] = [.write(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: highestPeerStreamID, status: status)))]
        if streams.isEmpty {
            closed = true
            actions.append(.closeConnection(nil))
        }
        return actions
    }

    /// Sends a PING with the next id of this side's parity; the answer comes as `.pingAnswered`.
    public mutating func ping() -> (UInt32, [Action]) {
        let id = nextPingID
        nextPingID &+= 2
        outstandingPings.insert(id)
        return (id, [.write(SPDYFrame(streamID: .session, payload: .ping(id)))])
    }

    /// Reports that `bytes` of received data on a stream were used, returning WINDOW_UPDATEs once
    /// half a window (of the stream or the session) has been used.
    public mutating func dataConsumed(on streamID: SPDYStreamID, bytes: Int) -> [Action] {
        guard enforcesFlowControl else { return [] }
        var actions: [Action] = []
        acknowledgeSession(Int64(bytes), &actions)
        if var stream = streams[streamID], !stream.remoteClosed {
            stream.unacknowledgedReceived += Int64(bytes)
            if stream.unacknowledgedReceived >= Int64(configuration.initialWindowSize) / 2 {
                actions.append(.write(SPDYFrame(streamID: streamID, payload: .windowUpdate(delta: UInt32(stream.unacknowledgedReceived)))))
                stream.receiveWindow += stream.unacknowledgedReceived
                stream.unacknowledgedReceived = 0
            }
            streams[streamID] = stream
        }
        return actions
    }

    /// The peer's bytes could not be parsed (`SPDYFrameParser` threw): the session ends with a
    /// GOAWAY saying PROTOCOL_ERROR, as the inflate context can no longer be trusted.
    public mutating func parseFailed(_ error: SPDYError) -> [Action] {
        guard !closed else { return [] }
        var actions: [Action] = []
        sessionError(error, &actions)
        return actions
    }

    // MARK: - Frames from the peer

    /// Applies a frame the peer sent.
    public mutating func receive(_ frame: SPDYFrame) -> [Action] {
        guard !closed else { return [] }
        var actions: [Action] = []
        let id = frame.streamID
        switch frame.payload {
        case .synStream(let syn):
            receiveSynStream(id, syn, &actions)
        case .synReply(let headers, let fin):
            guard var stream = streamForPeerFrame(id, "SYN_REPLY", &actions) else { break }
            guard stream.locallyInitiated else {
                resetOnPeerError(id, .protocolError, &actions)
                break
            }
            guard !stream.replied else {
                resetOnPeerError(id, .streamInUse, &actions)
                break
            }
            stream.replied = true
            if fin { stream.remoteClosed = true }
            streams[id] = stream
            actions.append(.streamReplied(id, headers: headers, fin: fin))
            closeIfDone(id, &actions)
        case .headers(let headers, let fin):
            guard var stream = streamForPeerFrame(id, "HEADERS", &actions) else { break }
            if fin { stream.remoteClosed = true }
            streams[id] = stream
            actions.append(.headersReceived(id, headers: headers, fin: fin))
            closeIfDone(id, &actions)
        case .data(let data, let fin):
            receiveData(id, data, fin: fin, &actions)
        case .rstStream(let status):
            if streams.removeValue(forKey: id) != nil { actions.append(.streamReset(id, status)) }
        case .settings(let settings, _):
            receiveSettings(settings, &actions)
        case .windowUpdate where !enforcesFlowControl:
            break
        case .ping(let pingID):
            let peerParity: UInt32 = role == .server ? 1 : 0
            if pingID % 2 == peerParity {
                actions.append(.write(frame))
            } else if outstandingPings.remove(pingID) != nil {
                actions.append(.pingAnswered(pingID))
            }
        case .goAway(let lastGood, let status):
            goAwayReceived = true
            let refused = streams.filter { $0.value.locallyInitiated && $0.key > lastGood }.keys.sorted()
            for streamID in refused {
                streams[streamID] = nil
                actions.append(.streamReset(streamID, .refusedStream))
            }
            actions.append(.goAwayReceived(lastGoodStreamID: lastGood, status: status))
        case .windowUpdate(let delta):
            receiveWindowUpdate(id, delta: delta, &actions)
        }
        if streams.isEmpty && goAwaySent && goAwayReceived && !closed {
            closed = true
            actions.append(.closeConnection(nil))
        }
        return actions
    }

    private mutating func receiveSynStream(_ id: SPDYStreamID, _ syn: SPDYFrame.SynStream, _ actions: inout [Action]) {
        let peerOpensOdd = role == .server
        guard id != .session, id.isClientInitiated == peerOpensOdd else {
            return sessionError(.protocolViolation("SYN_STREAM for stream \(id), which the \(role == .server ? "client must open with an odd" : "server must open with an even") id"), &actions)
        }
        if streams[id] != nil {
            streams[id] = nil
            actions.append(.write(SPDYFrame(streamID: id, payload: .rstStream(.streamInUse))))
            actions.append(.streamReset(id, .streamInUse))
            return
        }
        guard id > highestPeerStreamID else {
            return sessionError(.protocolViolation("SYN_STREAM for stream \(id) after stream \(highestPeerStreamID): ids must increase"), &actions)
        }
        highestPeerStreamID = id
        if goAwaySent { return }  // SPDY/3.1 2.6.6: after GOAWAY, new streams are ignored.
        let peerStreams = streams.values.filter { !$0.locallyInitiated }.count
        guard peerStreams < configuration.maxConcurrentPeerStreams else {
            actions.append(.write(SPDYFrame(streamID: id, payload: .rstStream(.refusedStream))))
            return
        }
        var stream = Stream(locallyInitiated: false, replied: false, sendWindow: peerInitialWindowSize, receiveWindow: Int64(configuration.initialWindowSize))
        stream.remoteClosed = syn.fin
        if syn.unidirectional {
            stream.localClosed = true
            stream.finWritten = true
        }
        streams[id] = stream
        actions.append(.streamOpened(id, headers: syn.headers, fin: syn.fin, unidirectional: syn.unidirectional))
    }

    private mutating func receiveData(_ id: SPDYStreamID, _ data: ByteBuffer, fin: Bool, _ actions: inout [Action]) {
        guard id != .session else { return sessionError(.protocolViolation("a data frame on stream 0"), &actions) }
        let length = enforcesFlowControl ? Int64(data.readableBytes) : 0
        sessionReceiveWindow -= length
        guard sessionReceiveWindow >= 0 else {
            return sessionError(.flowControlViolation("the peer sent \(-sessionReceiveWindow) bytes beyond the session window"), &actions)
        }
        guard var stream = streamForPeerFrame(id, "DATA", &actions) else {
            acknowledgeSession(length, &actions)  // the bytes of a dead stream count as used
            return
        }
        if stream.locallyInitiated && !stream.replied {
            acknowledgeSession(length, &actions)
            return resetOnPeerError(id, .protocolError, &actions)
        }
        stream.receiveWindow -= length
        guard stream.receiveWindow >= 0 else {
            acknowledgeSession(length, &actions)
            return resetOnPeerError(id, .flowControlError, &actions)
        }
        if fin { stream.remoteClosed = true }
        streams[id] = stream
        actions.append(.dataReceived(id, data, fin: fin))
        closeIfDone(id, &actions)
    }

    private mutating func receiveSettings(_ settings: [SPDYSetting], _ actions: inout [Action]) {
        for setting in settings {
            switch setting.identifier {
            case .initialWindowSize where enforcesFlowControl:
                guard Int64(setting.value) <= SPDYWire.maxWindowSize else {
                    return sessionError(.flowControlViolation("SETTINGS_INITIAL_WINDOW_SIZE \(setting.value) is above 2^31-1"), &actions)
                }
                let delta = Int64(setting.value) - peerInitialWindowSize
                peerInitialWindowSize = Int64(setting.value)
                for id in streams.keys { streams[id]?.sendWindow += delta }
                if delta > 0 { flushAll(&actions) }
            case .maxConcurrentStreams:
                peerMaxConcurrentStreams = Int(setting.value)
            default:
                break
            }
        }
    }

    private mutating func receiveWindowUpdate(_ id: SPDYStreamID, delta: UInt32, _ actions: inout [Action]) {
        if id == .session {
            guard delta > 0 else { return sessionError(.protocolViolation("a session WINDOW_UPDATE with delta 0"), &actions) }
            sessionSendWindow += Int64(delta)
            guard sessionSendWindow <= SPDYWire.maxWindowSize else {
                return sessionError(.flowControlViolation("session WINDOW_UPDATEs raised the window above 2^31-1"), &actions)
            }
            return flushAll(&actions)
        }
        guard var stream = streams[id] else { return }  // may race with the stream's end
        guard delta > 0 else { return resetOnPeerError(id, .protocolError, &actions) }
        stream.sendWindow += Int64(delta)
        guard stream.sendWindow <= SPDYWire.maxWindowSize else { return resetOnPeerError(id, .flowControlError, &actions) }
        streams[id] = stream
        flush(id, &actions)
    }

    // MARK: - Helpers

    /// The stream a peer's SYN_REPLY/HEADERS/DATA refers to, or nil after answering as SPDY/3.1 says:
    /// INVALID_STREAM for ids never opened, STREAM_ALREADY_CLOSED after the peer's FIN. Frames for
    /// streams that ended earlier are ignored (they may have crossed a RST_STREAM on the wire).
    private mutating func streamForPeerFrame(_ id: SPDYStreamID, _ type: String, _ actions: inout [Action]) -> Stream? {
        guard let stream = streams[id] else {
            let peerOpened = id.isClientInitiated == (role == .server)
            let everOpened = peerOpened ? id <= highestPeerStreamID : id.rawValue < nextLocalStreamID
            if !everOpened && !goAwaySent && id != .session {
                actions.append(.write(SPDYFrame(streamID: id, payload: .rstStream(.invalidStream))))
            }
            return nil
        }
        guard !stream.remoteClosed else {
            resetOnPeerError(id, .streamAlreadyClosed, &actions)
            return nil
        }
        return stream
    }

    private mutating func resetOnPeerError(_ id: SPDYStreamID, _ status: SPDYStreamStatus, _ actions: inout [Action]) {
        streams[id] = nil
        actions.append(.write(SPDYFrame(streamID: id, payload: .rstStream(status))))
        actions.append(.streamReset(id, status))
    }

    private mutating func sessionError(_ error: SPDYError, _ actions: inout [Action]) {
        closed = true
        streams.removeAll()
        let status: SPDYGoAwayStatus = .protocolError
        if !goAwaySent {
            goAwaySent = true
            actions.append(.write(SPDYFrame(streamID: .session, payload: .goAway(lastGoodStreamID: highestPeerStreamID, status: status))))
        }
        actions.append(.closeConnection(error))
    }

    private mutating func acknowledgeSession(_ bytes: Int64, _ actions: inout [Action]) {
        guard enforcesFlowControl else { return }
        sessionUnacknowledgedReceived += bytes
        if sessionUnacknowledgedReceived >= Int64(SPDYWire.defaultInitialWindowSize) / 2 {
            actions.append(.write(SPDYFrame(streamID: .session, payload: .windowUpdate(delta: UInt32(sessionUnacknowledgedReceived)))))
            sessionReceiveWindow += sessionUnacknowledgedReceived
            sessionUnacknowledgedReceived = 0
        }
    }

    private mutating func flushAll(_ actions: inout [Action]) {
        for id in streams.keys.sorted() where !(streams[id]?.pending.isEmpty ?? true) {
            flush(id, &actions)
        }
    }

    /// Writes as much queued data as both windows allow, then the FIN once the queue is empty.
    private mutating func flush(_ id: SPDYStreamID, _ actions: inout [Action]) {
        guard var stream = streams[id] else { return }
        let enforced = enforcesFlowControl
        while !stream.pending.isEmpty && (!enforced || (stream.sendWindow > 0 && sessionSendWindow > 0)) {
            let window = enforced ? min(stream.sendWindow, sessionSendWindow) : Int64.max
            let allowed = Int(min(window, Int64(configuration.maxDataFrameSize)))
            let chunk = stream.pending[0].readSlice(length: min(allowed, stream.pending[0].readableBytes))!
            if stream.pending[0].readableBytes == 0 { stream.pending.removeFirst() }
            stream.sendWindow -= Int64(chunk.readableBytes)
            sessionSendWindow -= Int64(chunk.readableBytes)
            let fin = stream.pending.isEmpty && stream.localClosed
            if fin { stream.finWritten = true }
            actions.append(.write(SPDYFrame(streamID: id, payload: .data(chunk, fin: fin))))
        }
        if stream.pending.isEmpty && stream.localClosed && !stream.finWritten {
            stream.finWritten = true
            actions.append(.write(SPDYFrame(streamID: id, payload: .data(ByteBuffer(), fin: true))))
        }
        streams[id] = stream
        closeIfDone(id, &actions)
    }

    private mutating func closeIfDone(_ id: SPDYStreamID, _ actions: inout [Action]) {
        guard let stream = streams[id], stream.finWritten, stream.remoteClosed else { return }
        streams[id] = nil
        actions.append(.streamClosed(id))
        if goAwaySent && streams.isEmpty && !closed {
            closed = true
            actions.append(.closeConnection(nil))
        }
    }
}
